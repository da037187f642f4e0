//! The renderings' words: the stable strings the ORCA and FHIR renderings and the audit use for
//! the service's and the mapping's enums — the REST answers' own vocabularies (`dto::vocab`), so
//! every rendering says the same — and the advice for the clerk. Part of the API contract
//! (documented in the OpenAPI document); the service and the mapping know none of them.

use super::vocab::{
    AdviceCode, AnswerSource, AnswerStatus, CareWord, ClaimWord, CopayMethodDto, FlagDto,
    SubsidyStatusDto, WarningCodeDto,
};
use crate::domain::{Care, Claim};
use crate::mapping::{Flag, SubsidyStatus, WarningCode};
use crate::masters::CopayMethod;
use crate::service::{CheckOutcome, Source, Status};

pub fn status_label(s: Status) -> &'static str {
    AnswerStatus::from(s).as_str()
}

pub fn source_label(s: Source) -> &'static str {
    AnswerSource::from(s).as_str()
}

pub fn method_label(m: CopayMethod) -> &'static str {
    CopayMethodDto::from(m).as_str()
}

pub fn claim_label(c: Claim) -> &'static str {
    ClaimWord::from(c).as_str()
}

pub fn care_label(c: Care) -> &'static str {
    CareWord::from(c).as_str()
}

pub fn warning_code(c: WarningCode) -> &'static str {
    WarningCodeDto::from(c).as_str()
}

pub fn flag_label(f: Flag) -> &'static str {
    FlagDto::from(f).as_str()
}

pub fn subsidy_status_label(s: SubsidyStatus) -> &'static str {
    SubsidyStatusDto::from(s).as_str()
}

/// What the receipt computer should tell the clerk, when there is something to say.
pub fn advice_code(o: &CheckOutcome) -> Option<AdviceCode> {
    match (o.status, o.source) {
        (Status::NoneFound, _) => Some(AdviceCode::NoneFoundAskForPaper),
        (Status::Unavailable, _) => Some(AdviceCode::UnavailableAskForPaper),
        (Status::Confirmed, Some(Source::Stale)) => Some(AdviceCode::StaleCheckPaperIfInDoubt),
        _ => None,
    }
}

/// [`advice_code`]'s words: Japanese, then English.
pub fn advice(o: &CheckOutcome) -> Option<&'static str> {
    advice_code(o).map(AdviceCode::text)
}
