//! The one path from an オン資 result to checks, whether the result was posted to the API
//! (`application/xml`) or dropped by the terminal into its shared folder.
//!
//! [`checks_from_result`] reads the message and gives, per person, the check to make (identity,
//! date, setting, insurance context), the PMH block's certificates when the result carries one,
//! and the 照会番号. [`SubsidyService::check_result`](super::SubsidyService::check_result) then
//! answers each the same way, whichever door it came through.

use crate::domain::{
    Care, Certificate, Claim, MedicalInstitutionCode, PatientDetails, Redacted, ServiceDate,
};
use crate::onshi::{OnshiError, OnshiResult};

use super::CheckRequest;

/// The visit a result is checked for: the setting, and the service date when the caller names
/// one (else the result's `QualificationConfirmationDate`, else today).
#[derive(Debug, Clone, Copy, Default)]
pub struct ResultVisit {
    pub claim: Claim,
    pub care: Care,
    pub service_date: Option<ServiceDate>,
}

/// One person's check from an オン資 result. `Debug` leaves out the 照会番号.
#[derive(Clone)]
pub struct ResultCheck {
    pub request: CheckRequest,
    /// The PMH block's certificates; `None` when the result carries no block (which says
    /// nothing about subsidies: the upstream is asked).
    pub block: Option<Vec<Certificate>>,
    /// 照会番号, when the result has one.
    pub reference: Option<String>,
    /// Name, kana, sex and birthdate, for the reception page only.
    pub person: Option<PatientDetails>,
}

impl std::fmt::Debug for ResultCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCheck")
            .field("request", &self.request)
            .field("block", &self.block)
            .field("reference", &Redacted::opt(&self.reference))
            .field("person", &Redacted::opt(&self.person))
            .finish()
    }
}

/// Why a result gives no checks. Messages name elements and offsets, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    #[error("not a readable オン資 result: {0}")]
    Unreadable(OnshiError),
    #[error("the message has a <{0}> element (a My Number is never accepted)")]
    MyNumber(String),
    #[error(
        "the result holds no ResultOfQualificationConfirmation (ProcessingResultStatus {status}, QualificationValidity {validity})"
    )]
    NoPerson { status: String, validity: String },
    #[error("ResultOfQualificationConfirmation {index}: {reason}")]
    Identity { index: usize, reason: String },
    #[error("ResultOfQualificationConfirmation {index}: Birthdate is after the service date")]
    BornAfterServiceDate { index: usize },
    #[error(
        "the result is for medical institution {found}, not this one ({configured}): MedicalInstitutionCode does not match"
    )]
    OtherInstitution { found: String, configured: String },
}

impl ResultError {
    /// Whether a file still being written could give this error (see
    /// [`OnshiError::could_be_partial`]).
    pub fn could_be_partial(&self) -> bool {
        matches!(self, Self::Unreadable(e) if e.could_be_partial())
    }

    /// A fixed label for metrics and the audit.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "unreadable",
            Self::MyNumber(_) => "my_number",
            Self::NoPerson { .. } => "no_person",
            Self::Identity { .. } | Self::BornAfterServiceDate { .. } => "identity",
            Self::OtherInstitution { .. } => "other_institution",
        }
    }
}

/// Reads an オン資 result message and gives the checks it asks for, one per person, in the
/// message's order. A result naming a My Number, with any person whose identity cannot be
/// read, or (when `institution` is known) whose `MedicalInstitutionCode` names another
/// institution, gives none: it is refused as a whole.
pub fn checks_from_result(
    bytes: &[u8],
    visit: ResultVisit,
    today: ServiceDate,
    institution: Option<&MedicalInstitutionCode>,
) -> Result<Vec<ResultCheck>, ResultError> {
    let result = OnshiResult::parse(bytes).map_err(ResultError::Unreadable)?;
    if let Some(name) = result.my_number_element {
        return Err(ResultError::MyNumber(name));
    }
    if let (Some(configured), Some(found)) = (institution, &result.header.medical_institution_code)
        && found.trim() != configured.as_str()
    {
        return Err(ResultError::OtherInstitution {
            found: crate::domain::text::printable(found, 16),
            configured: configured.as_str().to_owned(),
        });
    }
    if result.results.is_empty() {
        return Err(ResultError::NoPerson {
            status: result.processing_result_status,
            validity: result
                .qualification_validity
                .unwrap_or_else(|| "absent".into()),
        });
    }
    let service_date = visit
        .service_date
        .or(result
            .header
            .qualification_confirmation_date
            .map(ServiceDate::new))
        .unwrap_or(today);
    result
        .results
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let index = i + 1;
            let insured = q
                .insured
                .clone()
                .map_err(|reason| ResultError::Identity { index, reason })?;
            if insured.birthdate() > service_date.date() {
                return Err(ResultError::BornAfterServiceDate { index });
            }
            Ok(ResultCheck {
                request: CheckRequest {
                    insured,
                    service_date: Some(service_date),
                    claim: visit.claim,
                    care: visit.care,
                    insurance: Some(q.insurance_context()),
                },
                block: q.certificates(),
                reference: q.reference_number.clone().filter(|r| !r.is_empty()),
                person: q.person.clone(),
            })
        })
        .collect()
}
