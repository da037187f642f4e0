//! オン資 result messages (`OQSsiquc01res_*.xml`, face results): what the gateway uses, extracted
//! from the element tree. Personal items the gateway has no use for (name, kana, address, post
//! number, sex) are not read at all.

use chrono::NaiveDate;

use super::decode::{Charset, decode};
use super::tree::{self, Element};
use super::{OnshiError, pmh_block};
use crate::pmh::WireSubsidy;
use pmh_core::domain::date::parse_compact;
use pmh_core::domain::text::quoted;
use pmh_core::domain::{Beneficiary, InsuranceContext, InsuranceKind, InsuredIdentity, Redacted};

#[derive(Debug, Clone, Default)]
pub struct ResultHeader {
    pub process_execution_time: Option<String>,
    pub qualification_confirmation_date: Option<NaiveDate>,
    pub medical_institution_code: Option<String>,
    pub arbitrary_file_identifier: Option<String>,
    /// 1 card, 2 insurance-card data.
    pub reference_classification: Option<String>,
    /// 1 ok, 2 in progress, 9 error.
    pub segment_of_result: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// `CharacterCodeIdentifier` as declared in the header.
    pub character_code: Option<Charset>,
}

/// 限度額適用 (高額療養費) class and validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitInfo {
    /// A01–A06 / B01–B10.
    pub classification_flag: Option<String>,
    pub classification: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

/// 医療扶助 医療券 (`MedicalTicketInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalTicket {
    pub ticket_type: Option<String>,
    pub self_pay_amount: Option<u64>,
    pub designated_medical_institution_code: Option<String>,
}

/// One `ResultOfQualificationConfirmation`. `Debug` leaves out the 照会番号 (the clinic's
/// patient key); the identity is redacted by its own type.
#[derive(Clone)]
pub struct Qualification {
    /// The insured identity; an error names what was wrong (never the value).
    pub insured: Result<InsuredIdentity, String>,
    /// 01 一般 …, A1 医療扶助.
    pub card_classification: Option<String>,
    /// `PersonalFamilyClassification`: 1 本人, 2 家族.
    pub family: Option<bool>,
    /// 未就学.
    pub preschool: bool,
    /// 高齢受給者 負担割合 as given ("2" / "3" 割 or "020" / "030" …).
    pub elderly_ratio: Option<String>,
    /// 後期高齢者 `InsuredPartialContributionRatio` ("010" = 1割).
    pub late_elderly_ratio: Option<String>,
    pub limit: Option<LimitInfo>,
    pub medical_tickets: Vec<MedicalTicket>,
    /// 照会番号: the clinic's patient key (≤ 50 characters).
    pub reference_number: Option<String>,
    /// Every `…ConsFlg` element: name and whether consent was given (`1`).
    pub consents: Vec<(String, bool)>,
    /// The PMH block, when the file carries one (`None` = absent, not "no subsidy").
    pub subsidies: Option<Vec<WireSubsidy>>,
    /// `Name`, `NameKana`, `Sex1` and the birthdate, for the clerk (`None` when the identity
    /// cannot be read).
    pub person: Option<pmh_core::domain::PatientDetails>,
}

impl std::fmt::Debug for Qualification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qualification")
            .field("insured", &self.insured)
            .field("card_classification", &self.card_classification)
            .field("family", &self.family)
            .field("preschool", &self.preschool)
            .field("elderly_ratio", &self.elderly_ratio)
            .field("late_elderly_ratio", &self.late_elderly_ratio)
            .field("limit", &self.limit)
            .field("reference_number", &Redacted::opt(&self.reference_number))
            .field("consents", &self.consents)
            .field("subsidies", &self.subsidies)
            .finish_non_exhaustive()
    }
}

/// A parsed result message.
#[derive(Debug, Clone)]
pub struct OnshiResult {
    /// The encoding the file was decoded with.
    pub charset: Charset,
    pub header: ResultHeader,
    /// 1 ok, 2 error.
    pub processing_result_status: String,
    pub processing_result_code: Option<String>,
    pub processing_result_message: Option<String>,
    /// 1 valid, 2 invalid, 3 invalid-new-exists, 4 none, 5 multiple, 6 valid-unregistered.
    pub qualification_validity: Option<String>,
    pub results: Vec<Qualification>,
    /// The name of an element that looks like a My Number (個人番号), if the message has one;
    /// its content is never read. The gateway refuses such a message.
    pub my_number_element: Option<String>,
}

/// Element names that would carry a My Number, compared without case, `_` and `-`.
const MY_NUMBER_NAMES: [&str; 4] = ["mynumber", "individualnumber", "kojinbango", "個人番号"];

fn find_my_number(e: &Element) -> Option<String> {
    let norm: String = e
        .name
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    if MY_NUMBER_NAMES.iter().any(|m| norm.contains(m)) {
        return Some(e.name.clone());
    }
    e.children.iter().find_map(find_my_number)
}

fn date(e: &Element, name: &str) -> Option<NaiveDate> {
    e.text_of(name).and_then(|t| parse_compact(t).ok())
}

fn owned(e: &Element, name: &str) -> Option<String> {
    e.text_of(name).map(str::to_owned)
}

fn require<'a>(
    e: &'a Element,
    name: &'static str,
    path: &'static str,
) -> Result<&'a Element, OnshiError> {
    e.child(name).ok_or(OnshiError::Missing(path))
}

impl Qualification {
    fn from_element(r: &Element) -> Result<Self, OnshiError> {
        let insurer = r.raw_text_of("InsurerNumber").ok_or(OnshiError::Missing(
            "ResultOfQualificationConfirmation/InsurerNumber",
        ))?;
        let number = r
            .text_of("InsuredIdentificationNumber")
            .ok_or(OnshiError::Missing(
                "ResultOfQualificationConfirmation/InsuredIdentificationNumber",
            ))?;
        let birth = r.text_of("Birthdate").ok_or(OnshiError::Missing(
            "ResultOfQualificationConfirmation/Birthdate",
        ))?;
        let insured = parse_compact(birth)
            .map_err(|e| format!("Birthdate {e}"))
            .and_then(|bd| {
                InsuredIdentity::new(
                    insurer,
                    r.text_of("InsuredCardSymbol"),
                    number,
                    r.text_of("InsuredBranchNumber"),
                    bd,
                )
                .map_err(|e| e.to_string())
            });
        let limit = r
            .child("LimitApplicationCertificateRelatedInfo")
            .map(|l| LimitInfo {
                classification_flag: owned(l, "LimitApplicationCertificateClassificationFlag"),
                classification: owned(l, "LimitApplicationCertificateClassification"),
                valid_from: date(l, "LimitApplicationCertificateValidStartDate"),
                valid_to: date(l, "LimitApplicationCertificateValidEndDate"),
            });
        let medical_tickets = r
            .child("PublicExpenseResultList")
            .map(|l| {
                l.children_named("MedicalTicketInfo")
                    .map(|t| MedicalTicket {
                        ticket_type: owned(t, "TicketType"),
                        self_pay_amount: t.text_of("SelfPayAmount").and_then(|v| v.parse().ok()),
                        designated_medical_institution_code: owned(
                            t,
                            "DesignatedMedicalInstitutionCode",
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let consents = r
            .children
            .iter()
            .filter(|c| c.name.ends_with("ConsFlg"))
            .map(|c| (c.name.clone(), c.text.trim() == "1"))
            .collect();
        let subsidies = r.child(pmh_block::LIST).map(|l| {
            l.children_named(pmh_block::INFO)
                .map(pmh_block::subsidy)
                .collect()
        });
        let person = insured.as_ref().ok().map(|i| {
            pmh_core::domain::PatientDetails::new(
                r.text_of("Name"),
                r.text_of("NameKana"),
                r.text_of("Sex1"),
                i.birthdate(),
            )
        });
        Ok(Self {
            person,
            insured,
            card_classification: owned(r, "InsuredCardClassification"),
            family: r.text_of("PersonalFamilyClassification").map(|v| v == "2"),
            preschool: r.text_of("PreschoolClassification") == Some("1"),
            elderly_ratio: r
                .child("ElderlyRecipientCertificateInfo")
                .and_then(|e| owned(e, "ElderlyRecipientContributionRatio")),
            late_elderly_ratio: owned(r, "InsuredPartialContributionRatio"),
            limit,
            medical_tickets,
            reference_number: owned(r, "ReferenceNumber"),
            consents,
            subsidies,
        })
    }

    /// The PMH block's certificates, through the same boundary parse as the upstream's answer;
    /// `None` when the result carries no block (which says nothing about subsidies).
    pub fn certificates(&self) -> Option<Vec<pmh_core::domain::Certificate>> {
        self.subsidies
            .as_ref()
            .map(|b| b.iter().map(WireSubsidy::to_certificate).collect())
    }

    /// The insurance side of the visit, for the レセプト種別: 後期 when the card carries a 後期
    /// ratio (or its 法別 39 insurer number), 公費のみ for a 医療扶助 card (A1), else 医保; the
    /// beneficiary from 高齢受給者 ratio, 未就学, 本人/家族.
    pub fn insurance_context(&self) -> InsuranceContext {
        let late = self.late_elderly_ratio.is_some()
            || self
                .insured
                .as_ref()
                .is_ok_and(|i| i.insurer_number().starts_with("39"));
        let kind = if self.card_classification.as_deref() == Some("A1") {
            InsuranceKind::None
        } else if late {
            InsuranceKind::LateElderly
        } else {
            InsuranceKind::HealthInsurance
        };
        let high = |r: &str| r.trim_start_matches('0').starts_with('3');
        let beneficiary = match kind {
            InsuranceKind::LateElderly => {
                if self.late_elderly_ratio.as_deref().is_some_and(high) {
                    Beneficiary::ElderlyHigh
                } else {
                    Beneficiary::ElderlyGeneral
                }
            }
            _ => match (&self.elderly_ratio, self.preschool, self.family) {
                (Some(r), _, _) if high(r) => Beneficiary::ElderlyHigh,
                (Some(_), _, _) => Beneficiary::ElderlyGeneral,
                (None, true, _) => Beneficiary::Preschool,
                (None, false, Some(true)) => Beneficiary::Family,
                _ => Beneficiary::Insured,
            },
        };
        InsuranceContext { kind, beneficiary }
    }
}

impl OnshiResult {
    /// Parses a result file's bytes (UTF-8 or Shift_JIS).
    pub fn parse(bytes: &[u8]) -> Result<Self, OnshiError> {
        let (text, charset) = decode(bytes)?;
        let root = tree::parse(&text)?;
        if root.name != "XmlMsg" {
            return Err(OnshiError::WrongRoot(quoted(&root.name, 64)));
        }
        let h = require(&root, "MessageHeader", "XmlMsg/MessageHeader")?;
        let body = require(&root, "MessageBody", "XmlMsg/MessageBody")?;
        let header = ResultHeader {
            process_execution_time: owned(h, "ProcessExecutionTime"),
            qualification_confirmation_date: date(h, "QualificationConfirmationDate"),
            medical_institution_code: owned(h, "MedicalInstitutionCode"),
            arbitrary_file_identifier: owned(h, "ArbitraryFileIdentifier"),
            reference_classification: owned(h, "ReferenceClassification"),
            segment_of_result: owned(h, "SegmentOfResult"),
            error_code: owned(h, "ErrorCode"),
            error_message: owned(h, "ErrorMessage"),
            character_code: match h.text_of("CharacterCodeIdentifier") {
                Some("0") => Some(Charset::Utf8),
                Some("1") => Some(Charset::ShiftJis),
                _ => None,
            },
        };
        if header.segment_of_result.as_deref() == Some("9") {
            return Err(OnshiError::ResultError {
                code: quoted(header.error_code.as_deref().unwrap_or_default(), 32),
            });
        }
        let status = body
            .text_of("ProcessingResultStatus")
            .ok_or(OnshiError::Missing("MessageBody/ProcessingResultStatus"))?
            .to_owned();
        let results = body
            .child("ResultList")
            .map(|l| {
                l.children_named("ResultOfQualificationConfirmation")
                    .map(Qualification::from_element)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            charset,
            header,
            processing_result_status: status,
            processing_result_code: owned(body, "ProcessingResultCode"),
            processing_result_message: owned(body, "ProcessingResultMessage"),
            qualification_validity: owned(body, "QualificationValidity"),
            results,
            my_number_element: find_my_number(&root),
        })
    }
}
