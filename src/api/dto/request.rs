//! The request body of `POST /v1/subsidy-checks` (JSON).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Beneficiary, Care, Claim, InsuranceContext, InsuranceKind};

/// `POST /v1/subsidy-checks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "insured": {"insurer_number": "06132013", "symbol": "12", "number": "345", "branch": "01", "birthdate": "1980-04-01"},
    "service_date": "2026-11-21",
    "setting": {"claim": "medical", "care": "outpatient"},
    "insurance": {"kind": "health_insurance", "beneficiary": "insured"}
}))]
pub struct SubsidyCheckRequest {
    pub insured: InsuredDto,
    /// `YYYY-MM-DD` (1900–2199); today in JST when absent.
    #[schema(example = "2026-11-21", format = Date, pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$")]
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
    /// 保険者番号: 6 or 8 digits (full-width digits are read as the same).
    #[schema(
        example = "06132013",
        pattern = r"^[0-9\uFF10-\uFF19]{6}([0-9\uFF10-\uFF19]{2})?$"
    )]
    pub insurer_number: String,
    /// 記号: digits, letters, kana, kanji, `-` (full-width forms are folded; zero-width and
    /// bidirectional characters are refused).
    #[schema(
        example = "12",
        pattern = r"^[0-9A-Za-z\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\u3041-\u3096\u30A1-\u30FA\u4E00-\u9FFF\uFF0D-]{1,20}$"
    )]
    pub symbol: Option<String>,
    /// 番号, as 記号.
    #[schema(
        example = "345",
        pattern = r"^[0-9A-Za-z\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\u3041-\u3096\u30A1-\u30FA\u4E00-\u9FFF\uFF0D-]{1,20}$"
    )]
    pub number: String,
    /// 枝番 (2 digits).
    #[schema(example = "01", pattern = r"^[0-9\uFF10-\uFF19]{2}$")]
    pub branch: Option<String>,
    /// `YYYY-MM-DD` (1900–2199), not after the service date (else 422).
    #[schema(example = "1980-04-01", format = Date, pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$")]
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

impl super::RequestBody for SubsidyCheckRequest {
    const ARRAYS: &'static [&'static str] = &[];
}
