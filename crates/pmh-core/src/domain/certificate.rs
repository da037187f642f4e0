//! A subsidy certificate (受給者証) as PMH holds it (the field names of PMH's published municipality-side API), after the boundary parse.
//!
//! Upstream data is not trusted to be clean: numbers are kept as received together with the
//! result of parsing them, so that a bad check digit becomes a warning on that subsidy instead
//! of a crash or a silent drop.

use std::fmt;

use chrono::NaiveDate;

use super::date::DateError;
use super::days::Validity;
use super::money::Yen;
use super::numbers::{NumberError, PayerNumber};
use super::redact::Redacted;

/// 自己負担上限額 for one setting (外来 or 入院).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CopayCaps {
    pub per_month: Option<Yen>,
    pub per_day: Option<Yen>,
    pub per_visit: Option<Yen>,
}

impl CopayCaps {
    pub fn is_empty(&self) -> bool {
        self.per_month.is_none() && self.per_day.is_none() && self.per_visit.is_none()
    }
}

/// PMH `maxCopaymentAmount`, split by 外来 / 入院.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaxCopayment {
    pub outpatient: CopayCaps,
    pub inpatient: CopayCaps,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DesignatedInstitution {
    /// As received; compared with the configured 医療機関コード.
    pub code: String,
    pub name: Option<String>,
}

/// One item printed on the certificate face (`certificationDetail`); its value may name the
/// patient's disease, so `Debug` shows the item's name only.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateDetail {
    pub name: String,
    pub value: String,
}

impl fmt::Debug for CertificateDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateDetail")
            .field("name", &self.name)
            .field("value", &Redacted::Present)
            .finish()
    }
}

/// A PMH certificate as received, with its numbers parsed leniently. `Debug` leaves out the
/// recipient number and the face items.
///
/// Serialised (for the durable stale stand-in and check-ins) in a kept form that holds what was
/// received and how it was read: the payer number is read again from its raw form on the way
/// back, and an unreadable validity stays unreadable.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "Kept", from = "Kept")]
pub struct Certificate {
    pub certificate_type_id: Option<String>,
    /// 受給者証名 (a certificate title, not a person's name).
    pub certification_name: Option<String>,
    /// 公費負担者番号 exactly as registered.
    pub payer_number_raw: String,
    pub payer_number: Result<PayerNumber, NumberError>,
    /// 公費受給者番号 exactly as registered (absent for 法別 30). Whether the 7-digit national
    /// form applies depends on the programme, so the mapping parses it.
    pub recipient_number_raw: Option<String>,
    pub segment: Option<String>,
    pub income_segment: Option<String>,
    /// `追加条件項目コード-追加条件コード` items, split on `;`.
    pub additional_conditions: Vec<String>,
    pub designated_institutions: Vec<DesignatedInstitution>,
    pub always_reimbursement: bool,
    pub not_disclosed: bool,
    pub max_copayment: MaxCopayment,
    pub validity: Result<Validity, DateError>,
    pub details: Vec<CertificateDetail>,
    /// Fields that were present but could not be read, by their path in the PMH contract (e.g.
    /// `maxCopaymentAmount.outpatient.perMonth`): a doubt to report, never a silent "none".
    pub unreadable: Vec<String>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("certificate_type_id", &self.certificate_type_id)
            .field("payer_number", &self.payer_number_raw)
            .field(
                "recipient_number",
                &Redacted::opt(&self.recipient_number_raw),
            )
            .field("segment", &self.segment)
            .field("income_segment", &self.income_segment)
            .field("additional_conditions", &self.additional_conditions)
            .field("designated_institutions", &self.designated_institutions)
            .field("always_reimbursement", &self.always_reimbursement)
            .field("not_disclosed", &self.not_disclosed)
            .field("max_copayment", &self.max_copayment)
            .field("validity", &self.validity)
            .field("details", &Redacted::list(&self.details))
            .field("unreadable", &self.unreadable)
            .finish_non_exhaustive()
    }
}

/// The validity as kept: read, or why it could not be.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum KeptValidity {
    Read(Validity),
    /// `DateError::Format`, by the format's name.
    Format(String),
    OutOfRange(i32),
}

/// [`Certificate`]'s serialised form.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    certificate_type_id: Option<String>,
    certification_name: Option<String>,
    payer_number: String,
    recipient_number: Option<String>,
    segment: Option<String>,
    income_segment: Option<String>,
    additional_conditions: Vec<String>,
    designated_institutions: Vec<DesignatedInstitution>,
    always_reimbursement: bool,
    not_disclosed: bool,
    max_copayment: MaxCopayment,
    validity: KeptValidity,
    details: Vec<CertificateDetail>,
    unreadable: Vec<String>,
}

impl From<Certificate> for Kept {
    fn from(c: Certificate) -> Self {
        Self {
            certificate_type_id: c.certificate_type_id,
            certification_name: c.certification_name,
            payer_number: c.payer_number_raw,
            recipient_number: c.recipient_number_raw,
            segment: c.segment,
            income_segment: c.income_segment,
            additional_conditions: c.additional_conditions,
            designated_institutions: c.designated_institutions,
            always_reimbursement: c.always_reimbursement,
            not_disclosed: c.not_disclosed,
            max_copayment: c.max_copayment,
            validity: match c.validity {
                Ok(v) => KeptValidity::Read(v),
                Err(DateError::Format { format }) => KeptValidity::Format(format.to_owned()),
                Err(DateError::OutOfRange(y)) => KeptValidity::OutOfRange(y),
            },
            details: c.details,
            unreadable: c.unreadable,
        }
    }
}

impl From<Kept> for Certificate {
    fn from(k: Kept) -> Self {
        Self {
            certificate_type_id: k.certificate_type_id,
            certification_name: k.certification_name,
            payer_number: PayerNumber::parse(&k.payer_number),
            payer_number_raw: k.payer_number,
            recipient_number_raw: k.recipient_number,
            segment: k.segment,
            income_segment: k.income_segment,
            additional_conditions: k.additional_conditions,
            designated_institutions: k.designated_institutions,
            always_reimbursement: k.always_reimbursement,
            not_disclosed: k.not_disclosed,
            max_copayment: k.max_copayment,
            validity: match k.validity {
                KeptValidity::Read(v) => Ok(v),
                KeptValidity::Format(f) => Err(DateError::Format {
                    format: super::date::format_named(&f),
                }),
                KeptValidity::OutOfRange(y) => Err(DateError::OutOfRange(y)),
            },
            details: k.details,
            unreadable: k.unreadable,
        }
    }
}

impl Certificate {
    /// A certificate built from the parts that matter to most tests and to the sandbox.
    pub fn simple(payer: &str, recipient: Option<&str>, from: NaiveDate, to: NaiveDate) -> Self {
        Self {
            certificate_type_id: None,
            certification_name: None,
            payer_number_raw: payer.to_owned(),
            payer_number: PayerNumber::parse(payer),
            recipient_number_raw: recipient.map(str::to_owned),
            segment: None,
            income_segment: None,
            additional_conditions: Vec::new(),
            designated_institutions: Vec::new(),
            always_reimbursement: false,
            not_disclosed: false,
            max_copayment: MaxCopayment::default(),
            validity: Ok(Validity {
                from: Some(from),
                to: Some(to),
            }),
            details: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}
