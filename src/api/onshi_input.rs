//! Checks asked with an オン資 result instead of JSON (`Content-Type: application/xml`), and the
//! query parameters that carry the visit's setting when there is no JSON body.

use std::collections::HashMap;

use crate::domain::date;
use crate::domain::{Care, Certificate, Claim, ServiceDate};
use crate::onshi::OnshiResult;
use crate::service::CheckRequest;

use super::problem::Problem;

/// `claim` (`medical`, `pharmacy`) and `care` (`outpatient`, `inpatient`) from the query string.
pub fn setting_from_query(q: &HashMap<String, String>) -> Result<(Claim, Care), Problem> {
    let claim = match q
        .get("claim")
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("medical") => Claim::Medical,
        Some("pharmacy") => Claim::Pharmacy,
        Some(_) => {
            return Err(Problem::invalid_field(
                "claim",
                "must be `medical` (医科) or `pharmacy` (調剤)",
            ));
        }
    };
    let care = match q
        .get("care")
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("outpatient") => Care::Outpatient,
        Some("inpatient") => Care::Inpatient,
        Some(_) => {
            return Err(Problem::invalid_field(
                "care",
                "must be `outpatient` (外来) or `inpatient` (入院)",
            ));
        }
    };
    Ok((claim, care))
}

/// A check from a posted result message: its one person, its date (unless `service_date` is in
/// the query), its insurance context, and its PMH block's certificates when it carries one.
pub fn parse_result_body(
    body: &[u8],
    q: &HashMap<String, String>,
    today: ServiceDate,
) -> Result<(CheckRequest, Option<Vec<Certificate>>), Problem> {
    let r = OnshiResult::parse(body).map_err(|e| {
        Problem::invalid_field("body", format!("not a readable オン資 result: {e}"))
    })?;
    if let Some(name) = r.my_number_element {
        return Err(Problem::my_number(format!("body/{name}")));
    }
    let q1 = match r.results.as_slice() {
        [one] => one,
        [] => {
            return Err(Problem::invalid_field(
                "body",
                format!(
                    "the result holds no ResultOfQualificationConfirmation (ProcessingResultStatus {}, QualificationValidity {})",
                    r.processing_result_status,
                    r.qualification_validity.as_deref().unwrap_or("absent")
                ),
            ));
        }
        many => {
            return Err(Problem::invalid_field(
                "body",
                format!(
                    "the result holds {} ResultOfQualificationConfirmation; post one person's result",
                    many.len()
                ),
            ));
        }
    };
    let insured = q1.insured.clone().map_err(|reason| {
        Problem::invalid_field("body/ResultOfQualificationConfirmation", reason)
    })?;
    let service_date = match q.get("service_date") {
        Some(s) => date::parse_iso(s)
            .map(ServiceDate::new)
            .map_err(|e| Problem::invalid_field("service_date", e.to_string()))?,
        None => r
            .header
            .qualification_confirmation_date
            .map(ServiceDate::new)
            .unwrap_or(today),
    };
    if insured.birthdate() > service_date.date() {
        return Err(Problem::invalid_field(
            "body/ResultOfQualificationConfirmation/Birthdate",
            "is after the service date",
        ));
    }
    let (claim, care) = setting_from_query(q)?;
    Ok((
        CheckRequest {
            insured,
            service_date: Some(service_date),
            claim,
            care,
            insurance: Some(q1.insurance_context()),
        },
        q1.certificates(),
    ))
}
