//! The renderings' words: the stable strings the REST JSON, ORCA and FHIR renderings use for the
//! service's and the mapping's enums, and the advice for the clerk. Part of the API contract
//! (documented in the OpenAPI document); the service and the mapping know none of them.

use crate::domain::{Care, Claim};
use crate::mapping::{Flag, SubsidyStatus, WarningCode};
use crate::masters::CopayMethod;
use crate::service::{CheckOutcome, Source, Status};

pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Confirmed => "confirmed",
        Status::NoneFound => "none_found",
        Status::Unavailable => "unavailable",
    }
}

pub fn source_label(s: Source) -> &'static str {
    match s {
        Source::Upstream => "upstream",
        Source::Cache => "cache",
        Source::Stale => "stale",
        Source::OnshiResult => "onshi_result",
    }
}

pub fn method_label(m: CopayMethod) -> &'static str {
    match m {
        CopayMethod::Free => "free",
        CopayMethod::Rate => "rate",
        CopayMethod::PerVisit => "per_visit",
        CopayMethod::PerDay => "per_day",
        CopayMethod::CopayRate => "copay_rate",
    }
}

pub fn claim_label(c: Claim) -> &'static str {
    match c {
        Claim::Medical => "medical",
        Claim::Pharmacy => "pharmacy",
    }
}

pub fn care_label(c: Care) -> &'static str {
    match c {
        Care::Outpatient => "outpatient",
        Care::Inpatient => "inpatient",
    }
}

pub fn warning_code(c: WarningCode) -> &'static str {
    use WarningCode::*;
    match c {
        PayerNumberCheckDigit => "payer_number_check_digit",
        PayerNumberMalformed => "payer_number_malformed",
        PayerNumberMissing => "payer_number_missing",
        RecipientNumberCheckDigit => "recipient_number_check_digit",
        RecipientNumberMalformed => "recipient_number_malformed",
        RecipientNumberMissing => "recipient_number_missing",
        RecipientNumberUnexpected => "recipient_number_unexpected",
        UnknownProgramme => "unknown_programme",
        InvalidValidity => "invalid_validity",
        DesignatedInstitutionMismatch => "designated_institution_mismatch",
        SingleOnlyCombined => "single_only_combined",
        TooManySubsidies => "too_many_subsidies",
        DuplicateCertificate => "duplicate_certificate",
        ReceiptTypeUnavailable => "receipt_type_unavailable",
        SettingNotCovered => "setting_not_covered",
        IncomeClassUnknown => "income_class_unknown",
        CapUnknown => "cap_unknown",
        CapConflict => "cap_conflict",
        AgeOutsideProgramme => "age_outside_programme",
        InsuranceKindNotCovered => "insurance_kind_not_covered",
        ProgrammeNotInForce => "programme_not_in_force",
        CalcCodeMissing => "calc_code_missing",
        RecipientNumberNotReceiptable => "recipient_number_not_receiptable",
        BurdenCodeMissing => "burden_code_missing",
        CertificateFieldUnreadable => "certificate_field_unreadable",
    }
}

pub fn flag_label(f: Flag) -> &'static str {
    match f {
        Flag::ReimbursementOnly => "reimbursement_only",
        Flag::NotDisclosed => "not_disclosed",
        Flag::DesignatedInstitutionLimited => "designated_institution_limited",
        Flag::DesignatedInstitutionMismatch => "designated_institution_mismatch",
        Flag::SingleOnly => "single_only",
    }
}

pub fn subsidy_status_label(s: SubsidyStatus) -> &'static str {
    match s {
        SubsidyStatus::Active => "active",
        SubsidyStatus::Expired => "expired",
        SubsidyStatus::NotYetValid => "not_yet_valid",
        SubsidyStatus::ValidityUnknown => "validity_unknown",
    }
}

/// What the receipt computer should tell the clerk, when there is something to say.
pub fn advice(o: &CheckOutcome) -> Option<&'static str> {
    match (o.status, o.source) {
        (Status::NoneFound, _) => Some(
            "PMH returned no subsidy: the patient may not have consented or the municipality may not have registered it. Ask for the paper certificate.",
        ),
        (Status::Unavailable, _) => Some(
            "Subsidies could not be confirmed (upstream failure). Ask for the paper certificate; this does not mean the patient has none.",
        ),
        (Status::Confirmed, Some(Source::Stale)) => Some(
            "The upstream is failing; this is the last confirmed answer. Check the paper certificate if in doubt.",
        ),
        _ => None,
    }
}
