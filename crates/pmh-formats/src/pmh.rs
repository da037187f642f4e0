//! The PMH wire contract: the shared vocabulary of the HTTP upstream (`upstream::client`), the
//! オン資 result's PMH block (`onshi::pmh_block`) and the sandbox that emulates PMH.
//!
//! The clinic-side wire format of PMH is not public. This module is the one place that knows the
//! provisional one, built from the field names of PMH's published municipality-side API
//! (`medicalSubsidyInsurerNumber`, `incomeSegment`, `maxCopaymentAmount` …; ARCHITECTURE.md,
//! "The provisional PMH contract"), so that the real one replaces it here:
//! `POST {base}/v1/medical-subsidies/eligibility`, JSON both ways, dates as `YYYYMMDD`.
//!
//! Invariant: depends on `domain` only; `WireSubsidy::to_certificate` is the one boundary parse
//! of a PMH certificate, whichever way it arrived.

use std::fmt;

use serde::{Deserialize, Serialize};

use pmh_core::domain::date::{self, DateError};
use pmh_core::domain::{
    Certificate, CertificateDetail, CopayCaps, DesignatedInstitution, InsuredIdentity,
    MaxCopayment, PayerNumber, Redacted, Validity, Yen,
};

pub const ELIGIBILITY_PATH: &str = "/v1/medical-subsidies/eligibility";

/// `processingResultStatus`: 1 = processed, 2 = error.
pub const STATUS_OK: &str = "1";
pub const STATUS_ERROR: &str = "2";

/// The query. `Debug` shows the institution, date and check id only.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityRequest {
    pub medical_institution_code: String,
    pub qualification_confirmation_date: String,
    pub insurer_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_card_symbol: Option<String>,
    pub insured_identification_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_branch_number: Option<String>,
    pub birthdate: String,
    pub arbitrary_identifier: String,
}

impl EligibilityRequest {
    /// The request of the institution `institution` about `insured` on `date`; the check id
    /// travels as `arbitraryIdentifier`.
    pub fn new(
        institution: &str,
        insured: &InsuredIdentity,
        date: chrono::NaiveDate,
        check_id: &str,
    ) -> Self {
        Self {
            medical_institution_code: institution.to_owned(),
            qualification_confirmation_date: date::format_compact(date),
            insurer_number: insured.insurer_number().to_string(),
            insured_card_symbol: insured.symbol().map(str::to_owned),
            insured_identification_number: insured.number().to_owned(),
            insured_branch_number: insured.branch().map(str::to_owned),
            birthdate: date::format_compact(insured.birthdate()),
            arbitrary_identifier: check_id.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityResponse {
    pub processing_result_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbitrary_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Absent is not "none": an OK answer without the list is a protocol error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_subsidies: Option<Vec<WireSubsidy>>,
}

/// One certificate on the wire. `Debug` leaves out the recipient number and the face items.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WireSubsidy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_specific_certificate_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification_name: Option<String>,
    /// Empty when absent: the certificate is kept, with a warning.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub medical_subsidy_insurer_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_subsidy_recipient_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub income_segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_conditions: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub designated_medical_institutions: Vec<WireInstitution>,
    #[serde(default)]
    pub is_always_reimbursement: bool,
    #[serde(default)]
    pub is_not_disclosed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_copayment_amount: Option<WireMaxCopayment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certification_detail: Vec<WireDetail>,
    /// Fields that were present but could not be read (e.g. an amount that is not a number in
    /// the オン資 PMH block), by their path in this contract. Never on the JSON wire: there a bad
    /// value makes the whole answer a protocol error.
    #[serde(skip)]
    pub unreadable: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WireInstitution {
    pub medical_institution_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WireMaxCopayment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outpatient: Option<WireCaps>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inpatient: Option<WireCaps>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WireCaps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_month: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_visit: Option<u64>,
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WireDetail {
    pub item_name: String,
    pub item_value: String,
}

impl fmt::Debug for EligibilityRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EligibilityRequest")
            .field("medical_institution_code", &self.medical_institution_code)
            .field(
                "qualification_confirmation_date",
                &self.qualification_confirmation_date,
            )
            .field("insured", &Redacted::Present)
            .field("arbitrary_identifier", &self.arbitrary_identifier)
            .finish()
    }
}

impl fmt::Debug for WireSubsidy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireSubsidy")
            .field(
                "medical_subsidy_insurer_number",
                &self.medical_subsidy_insurer_number,
            )
            .field(
                "medical_subsidy_recipient_number",
                &Redacted::opt(&self.medical_subsidy_recipient_number),
            )
            .field("income_segment", &self.income_segment)
            .field("additional_conditions", &self.additional_conditions)
            .field("max_copayment_amount", &self.max_copayment_amount)
            .field("valid_from", &self.valid_from)
            .field("valid_to", &self.valid_to)
            .field(
                "certification_detail",
                &Redacted::list(&self.certification_detail),
            )
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WireDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireDetail")
            .field("item_name", &self.item_name)
            .field("item_value", &Redacted::Present)
            .finish()
    }
}

fn caps(w: Option<WireCaps>) -> CopayCaps {
    let w = w.unwrap_or_default();
    CopayCaps {
        per_month: w.per_month.map(Yen),
        per_day: w.per_day.map(Yen),
        per_visit: w.per_visit.map(Yen),
    }
}

fn opt_date(s: &Option<String>) -> Result<Option<chrono::NaiveDate>, DateError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => date::parse_compact(s).map(Some),
    }
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl WireSubsidy {
    /// The boundary parse: never fails; doubtful values are kept with their parse result.
    pub fn to_certificate(&self) -> Certificate {
        let validity = opt_date(&self.valid_from)
            .and_then(|from| opt_date(&self.valid_to).map(|to| Validity { from, to }));
        Certificate {
            certificate_type_id: non_empty(&self.org_specific_certificate_type_id),
            certification_name: non_empty(&self.certification_name),
            payer_number_raw: self.medical_subsidy_insurer_number.clone(),
            payer_number: PayerNumber::parse(&self.medical_subsidy_insurer_number),
            recipient_number_raw: self.medical_subsidy_recipient_number.clone(),
            segment: non_empty(&self.segment),
            income_segment: non_empty(&self.income_segment),
            additional_conditions: self
                .additional_conditions
                .as_deref()
                .unwrap_or("")
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            designated_institutions: self
                .designated_medical_institutions
                .iter()
                .map(|i| DesignatedInstitution {
                    code: i.medical_institution_code.trim().to_owned(),
                    name: i.name.clone(),
                })
                .collect(),
            always_reimbursement: self.is_always_reimbursement,
            not_disclosed: self.is_not_disclosed,
            max_copayment: MaxCopayment {
                outpatient: caps(self.max_copayment_amount.and_then(|m| m.outpatient)),
                inpatient: caps(self.max_copayment_amount.and_then(|m| m.inpatient)),
            },
            validity,
            unreadable: self.unreadable.iter().map(|s| (*s).to_owned()).collect(),
            details: self
                .certification_detail
                .iter()
                .map(|d| CertificateDetail {
                    name: d.item_name.clone(),
                    value: d.item_value.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_parses_and_ignores_unknown_fields_including_a_my_number() {
        let json = r#"{
            "processingResultStatus": "1",
            "processedAt": "2026-11-21T10:00:00+09:00",
            "myNumber": "123456789012",
            "medicalSubsidies": [{
                "medicalSubsidyInsurerNumber": "54136015",
                "medicalSubsidyRecipientNumber": "1234566",
                "incomeSegment": "一般I",
                "additionalConditions": "01-1; 02-3",
                "maxCopaymentAmount": {"outpatient": {"perMonth": 10000}},
                "validFrom": "20260401", "validTo": "20270331",
                "somethingNew": 1
            }]
        }"#;
        let r: EligibilityResponse = serde_json::from_str(json).unwrap();
        let c = r.medical_subsidies.as_ref().unwrap()[0].to_certificate();
        assert!(c.payer_number.is_ok());
        assert_eq!(c.additional_conditions, ["01-1", "02-3"]);
        assert_eq!(c.max_copayment.outpatient.per_month, Some(Yen(10000)));
        assert!(c.validity.is_ok());
        assert!(!format!("{r:?}").contains("123456789012"), "never kept");
    }

    #[test]
    fn bad_dates_and_numbers_are_kept_not_fatal() {
        let w = WireSubsidy {
            medical_subsidy_insurer_number: "5413601".into(),
            valid_from: Some("2026-04-01".into()),
            ..Default::default()
        };
        let c = w.to_certificate();
        assert!(c.payer_number.is_err());
        assert!(c.validity.is_err());
        assert_eq!(c.payer_number_raw, "5413601");
    }
}
