//! The answers' vocabularies (below `dto` and `labels`, which both use them): every closed set of words the REST answers use, as a typed enum
//! whose OpenAPI schema, wire string and mapping from the service's or the mapping's enum come
//! from one list (the `vocabulary!` macro), so that the three cannot drift; `labels` gives the
//! same words to the other renderings and the audit.
//!
//! Three sets are open by the compatibility policy (README, "Compatibility of `/v1`"): warning
//! codes, flags and a charge trace's codes may gain values within `/v1`. Their schemas list today's values and admit
//! any string (`anyOf`), so that a generated client does not fail on a value it does not know.

use serde::{Serialize, Serializer};
use utoipa::ToSchema;
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};

use crate::billing::ChargeNotice;
use crate::charges::TraceCode;
use crate::domain::{Care, Claim};
use crate::mapping::{CapsSource, Flag, ProgrammeKind, SubsidyStatus, WarningCode};
use crate::masters::CopayMethod;
use crate::service::{DegradationKind, Source, Status};

/// A vocabulary: the enum (its schema names are the wire strings), `ALL`, `as_str`, a
/// `Serialize` writing `as_str`, and `From` the domain's enum (a `match`: every domain value has
/// a word).
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident from $domain:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal <= $($pat:pat_param)|+ ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
        pub enum $name {
            $( $(#[$vmeta])* #[schema(rename = $text)] $variant ),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl From<$domain> for $name {
            fn from(d: $domain) -> Self {
                #[allow(unused_imports)]
                use $domain as D;
                match d {
                    $( $($pat)|+ => Self::$variant ),+
                }
            }
        }
    };
}

vocabulary! {
    /// `confirmed`: PMH returned certificates. `none_found`: PMH returned nothing — unknown, ask
    /// for the paper certificate (never "expired"). `unavailable`: the upstream failed and
    /// nothing usable is cached.
    AnswerStatus from Status {
        Confirmed = "confirmed" <= Status::Confirmed,
        NoneFound = "none_found" <= Status::NoneFound,
        Unavailable = "unavailable" <= Status::Unavailable,
    }
}

vocabulary! {
    /// Where the answer came from: a PMH query now (`upstream`), the cache, the last confirmed
    /// answer because PMH failed (`stale`), or the PMH block of an オン資 result.
    AnswerSource from Source {
        Upstream = "upstream" <= Source::Upstream,
        Cache = "cache" <= Source::Cache,
        Stale = "stale" <= Source::Stale,
        OnshiResult = "onshi_result" <= Source::OnshiResult,
    }
}

vocabulary! {
    /// How the patient's share is computed: nothing (`free`), a rate of the 10割 cost, a rate
    /// of the copay left to the programme, a fixed amount per visit or per day.
    CopayMethodDto from CopayMethod {
        Free = "free" <= CopayMethod::Free,
        Rate = "rate" <= CopayMethod::Rate,
        CopayRate = "copay_rate" <= CopayMethod::CopayRate,
        PerVisit = "per_visit" <= CopayMethod::PerVisit,
        PerDay = "per_day" <= CopayMethod::PerDay,
    }
}

vocabulary! {
    /// Where the caps come from: the certificate (PMH `maxCopaymentAmount`), the master by
    /// income class, the master by programme, or nowhere.
    CapsSourceDto from CapsSource {
        Certificate = "certificate" <= CapsSource::Certificate,
        MasterIncomeClass = "master_income_class" <= CapsSource::MasterIncomeClass,
        MasterProgramme = "master_programme" <= CapsSource::MasterProgramme,
        None = "none" <= CapsSource::None,
    }
}

vocabulary! {
    /// 医科 (`medical`) or 調剤 (`pharmacy`).
    ClaimWord from Claim {
        Medical = "medical" <= Claim::Medical,
        Pharmacy = "pharmacy" <= Claim::Pharmacy,
    }
}

vocabulary! {
    /// 外来 (`outpatient`) or 入院 (`inpatient`).
    CareWord from Care {
        Outpatient = "outpatient" <= Care::Outpatient,
        Inpatient = "inpatient" <= Care::Inpatient,
    }
}

vocabulary! {
    /// A certificate on the service date.
    SubsidyStatusDto from SubsidyStatus {
        Active = "active" <= SubsidyStatus::Active,
        Expired = "expired" <= SubsidyStatus::Expired,
        NotYetValid = "not_yet_valid" <= SubsidyStatus::NotYetValid,
        ValidityUnknown = "validity_unknown" <= SubsidyStatus::ValidityUnknown,
    }
}

vocabulary! {
    /// A national programme (法別 from the national list), a local one (municipal 医療費助成),
    /// or one the masters do not know.
    ProgrammeKindDto from ProgrammeKind {
        National = "national" <= ProgrammeKind::National,
        Local = "local" <= ProgrammeKind::Local,
        Unknown = "unknown" <= ProgrammeKind::Unknown,
    }
}

vocabulary! {
    /// Why the answer is stale or unavailable.
    UpstreamProblemKind from DegradationKind {
        Connect = "connect" <= DegradationKind::Connect,
        Timeout = "timeout" <= DegradationKind::Timeout,
        Status = "status" <= DegradationKind::Status,
        Protocol = "protocol" <= DegradationKind::Protocol,
        Rejected = "rejected" <= DegradationKind::Rejected,
        Other = "other" <= DegradationKind::Other,
        BreakerOpen = "breaker_open" <= DegradationKind::BreakerOpen,
        Deadline = "deadline" <= DegradationKind::Deadline,
    }
}

vocabulary! {
    /// Something about a certificate the receipt computer acts on.
    FlagDto from Flag {
        ReimbursementOnly = "reimbursement_only" <= Flag::ReimbursementOnly,
        NotDisclosed = "not_disclosed" <= Flag::NotDisclosed,
        DesignatedInstitutionLimited = "designated_institution_limited" <= Flag::DesignatedInstitutionLimited,
        DesignatedInstitutionMismatch = "designated_institution_mismatch" <= Flag::DesignatedInstitutionMismatch,
        SingleOnly = "single_only" <= Flag::SingleOnly,
    }
}

vocabulary! {
    /// A warning's stable code.
    WarningCodeDto from WarningCode {
        PayerNumberCheckDigit = "payer_number_check_digit" <= WarningCode::PayerNumberCheckDigit,
        PayerNumberMalformed = "payer_number_malformed" <= WarningCode::PayerNumberMalformed,
        PayerNumberMissing = "payer_number_missing" <= WarningCode::PayerNumberMissing,
        RecipientNumberCheckDigit = "recipient_number_check_digit" <= WarningCode::RecipientNumberCheckDigit,
        RecipientNumberMalformed = "recipient_number_malformed" <= WarningCode::RecipientNumberMalformed,
        RecipientNumberMissing = "recipient_number_missing" <= WarningCode::RecipientNumberMissing,
        RecipientNumberUnexpected = "recipient_number_unexpected" <= WarningCode::RecipientNumberUnexpected,
        UnknownProgramme = "unknown_programme" <= WarningCode::UnknownProgramme,
        InvalidValidity = "invalid_validity" <= WarningCode::InvalidValidity,
        DesignatedInstitutionMismatch = "designated_institution_mismatch" <= WarningCode::DesignatedInstitutionMismatch,
        SingleOnlyCombined = "single_only_combined" <= WarningCode::SingleOnlyCombined,
        TooManySubsidies = "too_many_subsidies" <= WarningCode::TooManySubsidies,
        DuplicateCertificate = "duplicate_certificate" <= WarningCode::DuplicateCertificate,
        ReceiptTypeUnavailable = "receipt_type_unavailable" <= WarningCode::ReceiptTypeUnavailable,
        SettingNotCovered = "setting_not_covered" <= WarningCode::SettingNotCovered,
        IncomeClassUnknown = "income_class_unknown" <= WarningCode::IncomeClassUnknown,
        CapUnknown = "cap_unknown" <= WarningCode::CapUnknown,
        CapConflict = "cap_conflict" <= WarningCode::CapConflict,
        AgeOutsideProgramme = "age_outside_programme" <= WarningCode::AgeOutsideProgramme,
        InsuranceKindNotCovered = "insurance_kind_not_covered" <= WarningCode::InsuranceKindNotCovered,
        ProgrammeNotInForce = "programme_not_in_force" <= WarningCode::ProgrammeNotInForce,
        CalcCodeMissing = "calc_code_missing" <= WarningCode::CalcCodeMissing,
        RecipientNumberNotReceiptable = "recipient_number_not_receiptable" <= WarningCode::RecipientNumberNotReceiptable,
        BurdenCodeMissing = "burden_code_missing" <= WarningCode::BurdenCodeMissing,
        CertificateFieldUnreadable = "certificate_field_unreadable" <= WarningCode::CertificateFieldUnreadable,
    }
}

/// What the receipt computer should tell the clerk, as a stable code (the text beside it is
/// Japanese, then English).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
pub enum AdviceCode {
    /// PMH returned nothing: unknown — ask for the paper certificate.
    #[schema(rename = "none_found_ask_for_paper")]
    NoneFoundAskForPaper,
    /// PMH could not be reached: unknown — ask for the paper certificate.
    #[schema(rename = "unavailable_ask_for_paper")]
    UnavailableAskForPaper,
    /// The last confirmed answer while PMH fails: check the paper certificate if in doubt.
    #[schema(rename = "stale_check_paper_if_in_doubt")]
    StaleCheckPaperIfInDoubt,
}

impl AdviceCode {
    pub const ALL: &'static [Self] = &[
        Self::NoneFoundAskForPaper,
        Self::UnavailableAskForPaper,
        Self::StaleCheckPaperIfInDoubt,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoneFoundAskForPaper => "none_found_ask_for_paper",
            Self::UnavailableAskForPaper => "unavailable_ask_for_paper",
            Self::StaleCheckPaperIfInDoubt => "stale_check_paper_if_in_doubt",
        }
    }

    /// The words for the clerk: Japanese, then English.
    pub const fn text(self) -> &'static str {
        match self {
            Self::NoneFoundAskForPaper => {
                "PMHに公費の登録がありません（同意がない、または自治体が未登録の可能性があります）。紙の受給者証を確認してください。 / PMH returned no subsidy: the patient may not have consented or the municipality may not have registered it. Ask for the paper certificate."
            }
            Self::UnavailableAskForPaper => {
                "PMHに接続できず、公費を確認できません。公費がないという意味ではありません。紙の受給者証を確認してください。 / Subsidies could not be confirmed (upstream failure). Ask for the paper certificate; this does not mean the patient has none."
            }
            Self::StaleCheckPaperIfInDoubt => {
                "PMHに接続できないため、前回確認した情報です。疑わしいときは紙の受給者証を確認してください。 / The upstream is failing; this is the last confirmed answer. Check the paper certificate if in doubt."
            }
        }
    }
}

impl Serialize for AdviceCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A warning's code in an answer: one of the mapping's, or one of the charge routes' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyWarningCode {
    Mapping(WarningCodeDto),
    Charge(ChargeNotice),
}

impl AnyWarningCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mapping(c) => c.as_str(),
            Self::Charge(c) => c.as_str(),
        }
    }
}

impl Serialize for AnyWarningCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl From<WarningCode> for AnyWarningCode {
    fn from(c: WarningCode) -> Self {
        Self::Mapping(c.into())
    }
}

impl From<ChargeNotice> for AnyWarningCode {
    fn from(c: ChargeNotice) -> Self {
        Self::Charge(c)
    }
}

/// An open vocabulary's schema: today's values, or any other string (a later `/v1` may add
/// one; a client shows it as it is).
fn open(values: &[&str], description: &str) -> Schema {
    Schema::AnyOf(
        AnyOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(values.iter().copied())),
            )
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(description))
            .build(),
    )
}

/// The schema of a warning's `code`.
pub fn warning_code_schema() -> Schema {
    open(
        &WarningCodeDto::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(ChargeNotice::ALL.iter().map(|c| c.as_str()))
            .collect::<Vec<_>>(),
        "A warning's stable code: one of these today; a later /v1 may add codes (show an unknown one as a warning with its message)",
    )
}

vocabulary! {
    /// What a charge's trace line says (README, "Window charges": the trace).
    TraceCodeDto from TraceCode {
        Month = "month" <= TraceCode::Month,
        FromBirthdate = "from_birthdate" <= TraceCode::FromBirthdate,
        KanrihyoElsewhere = "kanrihyo_elsewhere" <= TraceCode::KanrihyoElsewhere,
        Receipt = "receipt" <= TraceCode::Receipt,
        PartInsured = "part_insured" <= TraceCode::PartInsured,
        PartUninsured = "part_uninsured" <= TraceCode::PartUninsured,
        PartLimitNoClass = "part_limit_no_class" <= TraceCode::PartLimitNoClass,
        PartLimitOver = "part_limit_over" <= TraceCode::PartLimitOver,
        PartLimitWithin = "part_limit_within" <= TraceCode::PartLimitWithin,
        LateElderlyCareOver = "late_elderly_care_over" <= TraceCode::LateElderlyCareOver,
        LateElderlyCareWithin = "late_elderly_care_within" <= TraceCode::LateElderlyCareWithin,
        Meals = "meals" <= TraceCode::Meals,
        Subsidy = "subsidy" <= TraceCode::Subsidy,
        PartNotJoined = "part_not_joined" <= TraceCode::PartNotJoined,
        ReceiptNoClass = "receipt_no_class" <= TraceCode::ReceiptNoClass,
        ReceiptLimitWithin = "receipt_limit_within" <= TraceCode::ReceiptLimitWithin,
        ReceiptLimitOver = "receipt_limit_over" <= TraceCode::ReceiptLimitOver,
        ReceiptTotal = "receipt_total" <= TraceCode::ReceiptTotal,
        MonthTotal = "month_total" <= TraceCode::MonthTotal,
        LaterVisits = "later_visits" <= TraceCode::LaterVisits,
        WindowRefund = "window_refund" <= TraceCode::WindowRefund,
        WindowSettled = "window_settled" <= TraceCode::WindowSettled,
        WindowRounded = "window_rounded" <= TraceCode::WindowRounded,
    }
}

/// The schema of a trace line's `code`: open, as warning codes are.
pub fn trace_code_schema() -> Schema {
    open(
        &TraceCodeDto::ALL
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        "A trace line's stable code: one of these today; a later /v1 may add codes (show an unknown one's text as it is)",
    )
}

/// The schema of a subsidy's `flags`.
pub fn flags_schema() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(utoipa::openapi::RefOr::T(open(
            &FlagDto::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "One of these today; a later /v1 may add flags (show an unknown one as it is)",
        )))
        .build()
}

/// The values a schema's `enum` lists (for the tests that keep a vocabulary and its schema in
/// step).
#[cfg(test)]
pub(super) fn schema_names<T: utoipa::PartialSchema>() -> Vec<String> {
    let v = serde_json::to_value(T::schema()).unwrap();
    v["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::schema_names as names;
    use super::*;

    fn words<T: Copy>(all: &[T], f: impl Fn(T) -> &'static str) -> Vec<String> {
        all.iter().map(|&v| f(v).to_owned()).collect()
    }

    #[test]
    fn each_vocabulary_is_its_schema_and_its_wire_string() {
        assert_eq!(
            names::<AnswerStatus>(),
            words(AnswerStatus::ALL, AnswerStatus::as_str)
        );
        assert_eq!(
            names::<AnswerSource>(),
            words(AnswerSource::ALL, AnswerSource::as_str)
        );
        assert_eq!(
            names::<CopayMethodDto>(),
            words(CopayMethodDto::ALL, CopayMethodDto::as_str)
        );
        assert_eq!(
            names::<CapsSourceDto>(),
            words(CapsSourceDto::ALL, CapsSourceDto::as_str)
        );
        assert_eq!(
            names::<ClaimWord>(),
            words(ClaimWord::ALL, ClaimWord::as_str)
        );
        assert_eq!(names::<CareWord>(), words(CareWord::ALL, CareWord::as_str));
        assert_eq!(
            names::<SubsidyStatusDto>(),
            words(SubsidyStatusDto::ALL, SubsidyStatusDto::as_str)
        );
        assert_eq!(
            names::<ProgrammeKindDto>(),
            words(ProgrammeKindDto::ALL, ProgrammeKindDto::as_str)
        );
        assert_eq!(
            names::<UpstreamProblemKind>(),
            words(UpstreamProblemKind::ALL, UpstreamProblemKind::as_str)
        );
        assert_eq!(names::<FlagDto>(), words(FlagDto::ALL, FlagDto::as_str));
        assert_eq!(
            names::<WarningCodeDto>(),
            words(WarningCodeDto::ALL, WarningCodeDto::as_str)
        );
        assert_eq!(
            serde_json::to_value(AnswerStatus::NoneFound).unwrap(),
            serde_json::json!("none_found")
        );
    }
}
