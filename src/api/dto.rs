//! The REST JSON: request and response bodies of API v1. Only this module knows their shape.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{
    Beneficiary, Care, Claim, CopayCaps, InsuranceContext, InsuranceKind, ServiceDate,
};
use crate::mapping::{
    BurdenEntry, CapsSource, Flag, KoRecord, MappedSubsidy, ProgrammeKind, SubsidyStatus, Warning,
    WarningCode,
};
use crate::masters::CopayMethod;
use crate::service::{CheckOutcome, Origin, Status, source_label, status_label};

/// `POST /v1/subsidy-checks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubsidyCheckRequest {
    pub insured: InsuredDto,
    /// `YYYY-MM-DD`; today in JST when absent.
    #[schema(example = "2026-11-21")]
    pub service_date: Option<String>,
    pub setting: Option<SettingDto>,
    /// The insurance side of the visit, as the オン資 result tells it; with it the answer
    /// carries the レセプト種別.
    pub insurance: Option<InsuranceDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsuranceDto {
    pub kind: InsuranceKindDto,
    /// Defaults to `insured` (本人), or `elderly_general` for `late_elderly`.
    pub beneficiary: Option<BeneficiaryDto>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceKindDto {
    /// 医保 (社保・国保).
    HealthInsurance,
    /// 後期高齢者医療.
    LateElderly,
    /// 公費のみ (no health insurance).
    None,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BeneficiaryDto {
    /// 本人.
    Insured,
    /// 家族.
    Family,
    /// 未就学者.
    Preschool,
    /// 高齢受給者 一般・低所得.
    ElderlyGeneral,
    /// 高齢受給者 7割.
    ElderlyHigh,
}

impl From<InsuranceDto> for InsuranceContext {
    fn from(d: InsuranceDto) -> Self {
        let kind = match d.kind {
            InsuranceKindDto::HealthInsurance => InsuranceKind::HealthInsurance,
            InsuranceKindDto::LateElderly => InsuranceKind::LateElderly,
            InsuranceKindDto::None => InsuranceKind::None,
        };
        let beneficiary = match (d.beneficiary, kind) {
            (Some(BeneficiaryDto::Insured), _) => Beneficiary::Insured,
            (Some(BeneficiaryDto::Family), _) => Beneficiary::Family,
            (Some(BeneficiaryDto::Preschool), _) => Beneficiary::Preschool,
            (Some(BeneficiaryDto::ElderlyGeneral), _) => Beneficiary::ElderlyGeneral,
            (Some(BeneficiaryDto::ElderlyHigh), _) => Beneficiary::ElderlyHigh,
            (None, InsuranceKind::LateElderly) => Beneficiary::ElderlyGeneral,
            (None, _) => Beneficiary::Insured,
        };
        Self { kind, beneficiary }
    }
}

/// The insured person as on the health-insurance card (never a My Number).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsuredDto {
    /// 保険者番号: 6 or 8 digits.
    #[schema(example = "06132013")]
    pub insurer_number: String,
    /// 記号.
    pub symbol: Option<String>,
    /// 番号.
    pub number: String,
    /// 枝番 (2 digits).
    pub branch: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(example = "1980-04-01")]
    pub birthdate: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingDto {
    pub claim: Option<ClaimDto>,
    pub care: Option<CareDto>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClaimDto {
    /// 医科.
    Medical,
    /// 調剤.
    Pharmacy,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CareDto {
    /// 外来.
    Outpatient,
    /// 入院.
    Inpatient,
}

impl From<ClaimDto> for Claim {
    fn from(c: ClaimDto) -> Self {
        match c {
            ClaimDto::Medical => Claim::Medical,
            ClaimDto::Pharmacy => Claim::Pharmacy,
        }
    }
}

impl From<CareDto> for Care {
    fn from(c: CareDto) -> Self {
        match c {
            CareDto::Outpatient => Care::Outpatient,
            CareDto::Inpatient => Care::Inpatient,
        }
    }
}

/// The answer to a subsidy check.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubsidyCheckResponse {
    /// Identifies this check (also sent upstream as `arbitraryIdentifier`).
    pub check_id: String,
    /// `confirmed`: PMH returned certificates. `none_found`: PMH returned nothing — unknown,
    /// ask for the paper certificate (never "expired"). `unavailable`: the upstream failed and
    /// nothing usable is cached.
    #[schema(value_type = String, example = "confirmed")]
    pub status: &'static str,
    /// `upstream`, `cache` or `stale` (the last confirmed answer, served because the upstream
    /// failed); absent when unavailable.
    #[schema(value_type = Option<String>, example = "upstream")]
    pub source: Option<&'static str>,
    #[schema(value_type = String, example = "2026-11-21")]
    pub service_date: ServiceDate,
    pub checked_at: String,
    /// When the data was obtained from PMH.
    pub obtained_at: Option<String>,
    pub age_seconds: Option<i64>,
    /// Subsidies valid on the service date, 第1公費 first.
    pub subsidies: Vec<SubsidyDto>,
    /// Certificates PMH returned that do not apply on the service date (expired, not yet
    /// valid, unreadable validity).
    pub inactive_subsidies: Vec<SubsidyDto>,
    /// Warnings about the combination of subsidies.
    pub warnings: Vec<WarningDto>,
    /// レセプト種別 (4 digits) for this visit, when `insurance` was given.
    #[schema(example = "1122")]
    pub receipt_type: Option<String>,
    /// 負担区分 for every combination of this visit's payers: insurance (unless `insurance.kind`
    /// is `none`) and the active subsidies by order, so billed lines can be tagged.
    pub burden_codes: Vec<BurdenCodeDto>,
    /// Where the certificates came from: a PMH query, or the PMH block of an オン資 result.
    pub origin: Option<OriginDto>,
    /// The check-in this answer was prefetched for (answers by 照会番号 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in: Option<CheckInDto>,
    /// Why the answer is stale or unavailable.
    pub upstream_problem: Option<UpstreamProblemDto>,
    /// What the receipt computer should tell the clerk.
    pub advice: Option<&'static str>,
    pub masters_version: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OriginDto {
    /// `upstream` (a PMH query) or `onshi_result` (the PMH block of an オン資 result).
    #[schema(value_type = String, example = "onshi_result")]
    pub kind: &'static str,
    /// The result file's name (no folder), when the block came from the terminal's folder.
    pub file_name: Option<String>,
}

/// A check-in at the オン資 terminal: the result file the answer was prefetched from.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInDto {
    /// The result file's name (no folder).
    #[schema(example = "OQSsiquc01res_face_20261121100000000001.xml")]
    pub file_name: String,
    /// When the file was written (its modification time).
    pub arrived_at: String,
    /// When its answer was in the cache.
    pub cached_at: String,
    /// The prefetch's answer: `confirmed`, `none_found` or `unavailable`.
    #[schema(value_type = String)]
    pub prefetch_status: &'static str,
}

impl From<&crate::service::CheckIn> for CheckInDto {
    fn from(c: &crate::service::CheckIn) -> Self {
        Self {
            file_name: c.file_name.clone(),
            arrived_at: jst_rfc3339(c.arrived_at),
            cached_at: jst_rfc3339(c.cached_at),
            prefetch_status: status_label(c.status),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamProblemDto {
    /// `connect`, `timeout`, `status`, `protocol`, `rejected`, `breaker_open`, `deadline`, `other`.
    #[schema(value_type = String)]
    pub kind: &'static str,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubsidyDto {
    /// 1 = 第1公費; absent for inactive subsidies.
    pub order: Option<u8>,
    /// `active`, `expired`, `not_yet_valid`, `validity_unknown`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// 公費負担者番号 as registered.
    pub payer_number: String,
    /// 公費受給者番号 as registered (absent for 法別 30).
    pub recipient_number: Option<String>,
    /// 法別番号.
    pub law_code: Option<String>,
    pub programme_name: Option<String>,
    pub programme_short_name: Option<String>,
    /// `national`, `local` or `unknown`.
    #[schema(value_type = String)]
    pub programme_kind: &'static str,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub certificate_type_id: Option<String>,
    /// 受給者証名; withheld when the certificate is not disclosed.
    pub certification_name: Option<String>,
    pub segment: Option<String>,
    pub income_segment: Option<String>,
    pub additional_conditions: Vec<String>,
    pub designated_institutions: Vec<DesignatedInstitutionDto>,
    pub copay: CopayDto,
    /// Codes for the calculation module; PROVISIONAL (the official list is not public).
    pub calc_module: Option<CalcModuleDto>,
    /// The KO (公費) record identity fields for this visit's claim layout.
    pub receipt: KoRecordDto,
    /// `reimbursement_only`, `not_disclosed`, `designated_institution_limited`,
    /// `designated_institution_mismatch`, `single_only`.
    #[schema(value_type = Vec<String>)]
    pub flags: Vec<&'static str>,
    pub warnings: Vec<WarningDto>,
    /// Items printed on the certificate; withheld when not disclosed.
    pub details: Vec<DetailDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DesignatedInstitutionDto {
    pub code: String,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DetailDto {
    pub name: String,
    pub value: String,
}

/// The effective copay rule for this visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct CopayDto {
    /// `free`, `rate`, `per_visit`, `per_day`; absent when the rule is unknown.
    #[schema(value_type = Option<String>, example = "rate")]
    pub method: Option<&'static str>,
    /// For `rate`: the patient's share in percent, before caps.
    pub rate_percent: Option<u8>,
    /// For `per_visit` / `per_day`: the fixed amount in yen.
    pub amount_yen: Option<u64>,
    /// The setting the rule was resolved for: `outpatient` or `inpatient`.
    #[schema(value_type = String)]
    pub applies_to: &'static str,
    /// `medical` or `pharmacy`.
    #[schema(value_type = String)]
    pub claim: &'static str,
    /// The caps that apply to this visit.
    pub caps: CapsDto,
    /// The fixed amount is charged at most this many times a month at one institution.
    pub charged_times_per_month: Option<u16>,
    /// The monthly cap is shared with other institutions (自己負担上限額管理票): the month-to-date
    /// amount is on the patient's paper 管理票, not in PMH.
    pub monthly_cap_shared: bool,
    /// The additional condition the cap was chosen by (高額かつ長期, 人工呼吸器等装着者 …).
    pub condition_name: Option<String>,
    /// Where the caps come from: `certificate` (PMH maxCopaymentAmount), `master_income_class`,
    /// `master_programme`, or `none`.
    #[schema(value_type = String)]
    pub source: &'static str,
    /// The certificate's maxCopaymentAmount as received.
    pub certificate: CertificateCapsDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateCapsDto {
    pub outpatient: CapsDto,
    pub inpatient: CapsDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CapsDto {
    pub per_month: Option<u64>,
    pub per_day: Option<u64>,
    pub per_visit: Option<u64>,
}

/// PROVISIONAL calculation-module codes (masters/calc_module_codes.csv).
#[derive(Debug, Serialize, ToSchema)]
pub struct CalcModuleDto {
    /// Always true until the official PMH code list replaces the table.
    pub provisional: bool,
    pub table_version: String,
    pub subsidy_code: String,
    pub income_class_code: String,
    pub condition_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KoRecordDto {
    /// `KO`.
    #[schema(value_type = String)]
    pub record: &'static str,
    /// `medical` (医科) or `pharmacy` (調剤).
    #[schema(value_type = String)]
    pub layout: &'static str,
    /// In record order, after the record id.
    pub fields: Vec<RecordFieldDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordFieldDto {
    #[schema(value_type = String, example = "負担者番号")]
    pub name: &'static str,
    /// Empty = leave blank.
    pub value: String,
    pub max_length: u8,
    pub fixed_length: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BurdenCodeDto {
    /// `insurance`, `kohi1` … `kohi4`.
    #[schema(value_type = Vec<String>)]
    pub payers: Vec<&'static str>,
    #[schema(example = "医保+公1")]
    pub label: String,
    /// One character; absent when the master has none for this combination.
    pub code: Option<String>,
    /// `domain` or `spec-table`.
    pub source: Option<String>,
}

impl From<&BurdenEntry> for BurdenCodeDto {
    fn from(e: &BurdenEntry) -> Self {
        const KOHI: [&str; 4] = ["kohi1", "kohi2", "kohi3", "kohi4"];
        let mut payers = Vec::new();
        if e.payers.insurance() {
            payers.push("insurance");
        }
        payers.extend(
            e.payers
                .subsidies()
                .iter()
                .map(|i| KOHI[usize::from(*i) - 1]),
        );
        Self {
            payers,
            label: e.payers.label(),
            code: e.code.as_ref().map(|c| c.code.to_string()),
            source: e.code.as_ref().map(|c| c.source.clone()),
        }
    }
}

impl From<&KoRecord> for KoRecordDto {
    fn from(k: &KoRecord) -> Self {
        Self {
            record: "KO",
            layout: claim_label(k.layout),
            fields: k
                .fields
                .iter()
                .map(|f| RecordFieldDto {
                    name: f.name,
                    value: f.value.clone(),
                    max_length: f.max_len,
                    fixed_length: f.fixed,
                })
                .collect(),
        }
    }
}

pub fn method_label(m: CopayMethod) -> &'static str {
    match m {
        CopayMethod::Free => "free",
        CopayMethod::Rate => "rate",
        CopayMethod::PerVisit => "per_visit",
        CopayMethod::PerDay => "per_day",
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

impl From<CopayCaps> for CapsDto {
    fn from(c: CopayCaps) -> Self {
        Self {
            per_month: c.per_month.map(|y| y.0),
            per_day: c.per_day.map(|y| y.0),
            per_visit: c.per_visit.map(|y| y.0),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarningDto {
    /// A stable code, e.g. `payer_number_check_digit`.
    #[schema(value_type = String)]
    pub code: &'static str,
    pub message: String,
}

impl From<&Warning> for WarningDto {
    fn from(w: &Warning) -> Self {
        Self {
            code: warning_code(w.code),
            message: w.message.clone(),
        }
    }
}

pub fn warning_code(c: WarningCode) -> &'static str {
    use WarningCode::*;
    match c {
        PayerNumberCheckDigit => "payer_number_check_digit",
        PayerNumberMalformed => "payer_number_malformed",
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
    }
}

fn flag(f: Flag) -> &'static str {
    match f {
        Flag::ReimbursementOnly => "reimbursement_only",
        Flag::NotDisclosed => "not_disclosed",
        Flag::DesignatedInstitutionLimited => "designated_institution_limited",
        Flag::DesignatedInstitutionMismatch => "designated_institution_mismatch",
        Flag::SingleOnly => "single_only",
    }
}

fn subsidy_status(s: SubsidyStatus) -> &'static str {
    match s {
        SubsidyStatus::Active => "active",
        SubsidyStatus::Expired => "expired",
        SubsidyStatus::NotYetValid => "not_yet_valid",
        SubsidyStatus::ValidityUnknown => "validity_unknown",
    }
}

fn iso(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

use crate::domain::date::jst_rfc3339;

impl SubsidyDto {
    /// `calc_table_version`: the version of the code table the subsidy's codes come from.
    pub fn new(s: &MappedSubsidy, calc_table_version: &str) -> Self {
        let c = &s.copay;
        Self {
            order: s.order,
            status: subsidy_status(s.status),
            payer_number: s.payer_number.clone(),
            recipient_number: s.recipient_number.clone(),
            law_code: s.programme.law_code.map(|l| l.to_string()),
            programme_name: s.programme.name.clone(),
            programme_short_name: s.programme.short_name.clone(),
            programme_kind: match s.programme.kind {
                ProgrammeKind::National => "national",
                ProgrammeKind::Local => "local",
                ProgrammeKind::Unknown => "unknown",
            },
            valid_from: s.validity.and_then(|v| v.from).map(iso),
            valid_to: s.validity.and_then(|v| v.to).map(iso),
            certificate_type_id: s.certificate_type_id.clone(),
            certification_name: s.certification_name.clone(),
            segment: s.segment.clone(),
            income_segment: s.income_segment.clone(),
            additional_conditions: s.additional_conditions.clone(),
            designated_institutions: s
                .designated_institutions
                .iter()
                .map(|d| DesignatedInstitutionDto {
                    code: d.code.clone(),
                    name: d.name.clone(),
                })
                .collect(),
            copay: CopayDto {
                method: c.method.map(method_label),
                rate_percent: c.rate_percent,
                amount_yen: c.amount.map(|y| y.0),
                applies_to: care_label(c.care),
                claim: claim_label(c.claim),
                caps: c.caps.into(),
                charged_times_per_month: c.charged_times_per_month,
                monthly_cap_shared: c.monthly_cap_shared,
                condition_name: c.condition_name.clone(),
                source: match c.source {
                    CapsSource::Certificate => "certificate",
                    CapsSource::MasterIncomeClass => "master_income_class",
                    CapsSource::MasterProgramme => "master_programme",
                    CapsSource::None => "none",
                },
                certificate: CertificateCapsDto {
                    outpatient: c.certificate.outpatient.into(),
                    inpatient: c.certificate.inpatient.into(),
                },
            },
            calc_module: s.calc_codes.as_ref().map(|k| CalcModuleDto {
                provisional: true,
                table_version: calc_table_version.to_owned(),
                subsidy_code: k.subsidy_code.clone(),
                income_class_code: k.income_class_code.clone(),
                condition_code: k.condition_code.clone(),
            }),
            receipt: (&s.ko).into(),
            flags: s.flags.iter().map(|f| flag(*f)).collect(),
            warnings: s.warnings.iter().map(WarningDto::from).collect(),
            details: s
                .details
                .iter()
                .map(|d| DetailDto {
                    name: d.name.clone(),
                    value: d.value.clone(),
                })
                .collect(),
        }
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
        (Status::Confirmed, Some(crate::service::Source::Stale)) => Some(
            "The upstream is failing; this is the last confirmed answer. Check the paper certificate if in doubt.",
        ),
        _ => None,
    }
}

impl SubsidyCheckResponse {
    pub fn new(o: &CheckOutcome) -> Self {
        let version = o.mapped.calc_codes_version.as_str();
        Self {
            check_id: o.check_id.clone(),
            status: status_label(o.status),
            source: o.source.map(source_label),
            service_date: o.service_date,
            checked_at: jst_rfc3339(o.checked_at),
            obtained_at: o.obtained_at.map(jst_rfc3339),
            age_seconds: o.age_seconds(),
            subsidies: o
                .mapped
                .active
                .iter()
                .map(|s| SubsidyDto::new(s, version))
                .collect(),
            inactive_subsidies: o
                .mapped
                .inactive
                .iter()
                .map(|s| SubsidyDto::new(s, version))
                .collect(),
            warnings: o.mapped.warnings.iter().map(WarningDto::from).collect(),
            receipt_type: o.mapped.receipt_type.clone(),
            burden_codes: o.mapped.burden_codes.iter().map(Into::into).collect(),
            origin: o.origin.as_ref().map(|origin| match origin {
                Origin::Upstream => OriginDto {
                    kind: "upstream",
                    file_name: None,
                },
                Origin::OnshiResult { file } => OriginDto {
                    kind: "onshi_result",
                    file_name: file.clone(),
                },
            }),
            check_in: None,
            upstream_problem: o.degradation.as_ref().map(|d| UpstreamProblemDto {
                kind: d.kind(),
                detail: d.detail(),
            }),
            advice: advice(o),
            masters_version: o.masters_version.clone(),
        }
    }
}
