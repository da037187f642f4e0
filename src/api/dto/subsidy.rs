//! One subsidy in the JSON answer, with its copay rule, codes, receipt fields and warnings; the
//! 負担区分 of the visit.

use serde::Serialize;
use utoipa::ToSchema;

use crate::api::vocab::{
    AnyWarningCode, CapsSourceDto, CareWord, ClaimWord, CopayMethodDto, FlagDto, ProgrammeKindDto,
    SubsidyStatusDto,
};
use crate::domain::CopayCaps;
use crate::mapping::{BurdenEntry, KoRecord, MappedSubsidy, Warning};

#[derive(Debug, Serialize, ToSchema)]
pub struct SubsidyDto {
    /// 1 = 第1公費; absent for inactive subsidies.
    pub order: Option<u8>,
    pub status: SubsidyStatusDto,
    /// 公費負担者番号 as registered.
    pub payer_number: String,
    /// 公費受給者番号 as registered (absent for 法別 30).
    pub recipient_number: Option<String>,
    /// 法別番号.
    pub law_code: Option<String>,
    pub programme_name: Option<String>,
    pub programme_short_name: Option<String>,
    pub programme_kind: ProgrammeKindDto,
    #[schema(format = Date)]
    pub valid_from: Option<String>,
    #[schema(format = Date)]
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
    /// `designated_institution_mismatch`, `single_only` (an open list: a later `/v1` may add one).
    #[schema(schema_with = crate::api::vocab::flags_schema)]
    pub flags: Vec<FlagDto>,
    pub warnings: Vec<WarningDto>,
    /// Items printed on the certificate; withheld when not disclosed.
    pub details: Vec<DetailDto>,
    /// A shared monthly cap: this month's total and what is left, when the ledger has rows for
    /// the certificate (`POST /v1/charges`, `POST /v1/ledger-entries`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month_to_date: Option<super::MonthTotalsDto>,
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
    /// Absent when the rule is unknown.
    pub method: Option<CopayMethodDto>,
    /// For `rate` and `copay_rate`: the patient's share in percent, before caps.
    pub rate_percent: Option<u8>,
    /// For `per_visit` / `per_day`: the fixed amount in yen.
    pub amount_yen: Option<u64>,
    /// The setting the rule was resolved for.
    pub applies_to: CareWord,
    pub claim: ClaimWord,
    /// The caps that apply to this visit.
    pub caps: CapsDto,
    /// The fixed amount is charged at most this many times a month at one institution.
    pub charged_times_per_month: Option<u16>,
    /// The monthly cap is shared with other institutions (自己負担上限額管理票): the month-to-date
    /// amount is on the patient's paper 管理票, not in PMH.
    pub monthly_cap_shared: bool,
    /// The additional condition the cap was chosen by (高額かつ長期, 人工呼吸器等装着者 …).
    pub condition_name: Option<String>,
    pub source: CapsSourceDto,
    /// The certificate's maxCopaymentAmount as received.
    pub certificate: CertificateCapsDto,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CertificateCapsDto {
    pub outpatient: CapsDto,
    pub inpatient: CapsDto,
}

#[derive(Debug, Default, Serialize, ToSchema)]
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
    pub layout: ClaimWord,
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
    /// `spec-example` (the recording specification's own examples) or `spec-table` (its table).
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
            layout: k.layout.into(),
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
    /// A stable code, e.g. `payer_number_check_digit` (an open list: a later `/v1` may add one).
    #[schema(schema_with = crate::api::vocab::warning_code_schema)]
    pub code: AnyWarningCode,
    /// This occurrence in English, with its details (never a personal number).
    pub message: String,
    /// What the code means for the clerk, in Japanese (one text per code).
    #[schema(example = "公費負担者番号の検証番号が合いません。受給者証の番号を確認してください。")]
    pub message_ja: String,
}

impl From<&Warning> for WarningDto {
    fn from(w: &Warning) -> Self {
        Self {
            code: w.code.into(),
            message: w.message.clone(),
            message_ja: w.code.text_ja().to_owned(),
        }
    }
}

fn iso(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl SubsidyDto {
    /// `calc_table_version`: the version of the code table the subsidy's codes come from.
    pub fn new(s: &MappedSubsidy, calc_table_version: &str) -> Self {
        let c = &s.copay;
        Self {
            order: s.order,
            status: s.status.into(),
            payer_number: s.payer_number.clone(),
            recipient_number: s.recipient_number.clone(),
            law_code: s.programme.law_code.map(|l| l.to_string()),
            programme_name: s.programme.name.clone(),
            programme_short_name: s.programme.short_name.clone(),
            programme_kind: s.programme.kind.into(),
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
                method: c.method.map(Into::into),
                rate_percent: c.rate_percent,
                amount_yen: c.amount.map(|y| y.0),
                applies_to: c.care.into(),
                claim: c.claim.into(),
                caps: c.caps.into(),
                charged_times_per_month: c.charged_times_per_month,
                monthly_cap_shared: c.monthly_cap_shared,
                condition_name: c.condition_name.clone(),
                source: c.source.into(),
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
            flags: s.flags.iter().map(|f| FlagDto::from(*f)).collect(),
            warnings: s.warnings.iter().map(WarningDto::from).collect(),
            details: s
                .details
                .iter()
                .map(|d| DetailDto {
                    name: d.name.clone(),
                    value: d.value.clone(),
                })
                .collect(),
            month_to_date: None,
        }
    }
}
