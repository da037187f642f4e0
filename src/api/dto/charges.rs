//! The JSON of the charge routes: `POST /v1/charge-quotes`, `POST /v1/charges`,
//! `DELETE /v1/charges/{visit_id}`, `POST /v1/ledger-entries`, `GET /v1/ledgers`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::request::{CareDto, ClaimDto, InsuranceKindDto};
use crate::domain::Redacted;

/// What would this visit cost at the window (`POST /v1/charge-quotes`), or commit it
/// (`POST /v1/charges`, with `visit.visit_id`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "check_id": "c2f6a1d0-2b1e-4c53-9a57-1e2f0d6b9a10",
    "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
    "visit": {"visit_id": "R2026-0412-0007", "date": "2026-04-12", "claim": "medical", "care": "outpatient",
              "parts": [{"points": 1520, "subsidies": [1, 2]}, {"points": 300}]},
    "earlier_visits": [{"visit_id": "R2026-0403-0002", "date": "2026-04-03", "parts": [{"points": 980, "subsidies": [1, 2]}]}]
}))]
pub struct ChargeQuoteRequest {
    /// The subsidies of an earlier check (`check_id` of its answer); the parts then name them
    /// by that answer's `order`. Give this or `subsidies`.
    #[schema(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )]
    pub check_id: Option<String>,
    /// The subsidies typed from paper certificates. The parts name them by their position here
    /// (1 = the first), never reordered; the charge is computed in the priority rules' order,
    /// which the answer gives as each subsidy's `receipt_order` (and warns when it differs).
    /// Give this or `check_id`. At most 4 (第1公費 to 第4公費).
    #[schema(max_items = 4)]
    pub subsidies: Option<Vec<InlineSubsidyDto>>,
    pub insurance: ChargeInsuranceDto,
    /// The visit to quote (or commit).
    pub visit: ChargeVisitDto,
    /// This month's earlier visits at this institution, each with its `visit_id`: they set how
    /// much of the monthly caps and 高額療養費 limits is used. Committed visits not listed here
    /// count through the ledger.
    #[serde(default)]
    pub earlier_visits: Vec<ChargeVisitDto>,
    /// `POST /v1/charges` only: replace a committed visit whose request differs (a new version).
    pub correction: Option<bool>,
}

/// A paper certificate (受給者証) typed in. `Debug` leaves out the recipient number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineSubsidyDto {
    /// 公費負担者番号, 8 digits.
    #[schema(example = "54136015", pattern = r"^[0-9]{8}$")]
    pub payer_number: String,
    /// 公費受給者番号: required for a programme whose monthly cap is shared across institutions
    /// (the 管理票 ledger is kept under it), unless `no_ledger` is set.
    #[schema(example = "1234566", pattern = "^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ-]{1,30}$")]
    pub recipient_number: Option<String>,
    /// 所得区分 as printed (難病: 一般所得Ⅰ …; 自立支援: 中間所得1 …): the master's cap. Matched
    /// as typed alike (full-width, spaces, Ⅱ or 2); a class the programme does not have is
    /// refused (422, with the valid ones).
    #[schema(example = "一般所得Ⅰ")]
    pub income_class: Option<String>,
    /// 追加条件 codes (`01-1` 高額かつ長期 …).
    pub conditions: Option<Vec<String>>,
    /// The monthly cap (自己負担上限額) printed on the certificate; wins over the master.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub monthly_cap: Option<i64>,
    /// 生活保護: the 医療券's 本人支払額 for the month.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub own_payment: Option<i64>,
    /// The caller keeps no 管理票 ledger for this certificate: a shared monthly cap is then
    /// quoted without a recipient number, from this request's visits alone (nothing is read
    /// from or written to the ledger for it).
    #[serde(default)]
    pub no_ledger: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpecificDiseaseDto {
    /// 特定疾病 (マル長): 10,000 yen a month.
    Standard,
    /// 人工透析 under 70 in ア/イ: 20,000 yen.
    DialysisHighIncome,
}

/// The insurance side of the month. `Debug` leaves out the birthdate.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeInsuranceDto {
    pub kind: InsuranceKindDto,
    /// The patient's share under the insurance: 10, 20 or 30 (not with `none`). Without it, a
    /// `birthdate` gives 2割 for 未就学 and 3割 under 70 on health insurance.
    #[schema(example = 30, minimum = 10, maximum = 30, multiple_of = 10)]
    pub share_percent: Option<u8>,
    /// 高額療養費 class as the オン資 result codes it: A01–A06 (under 70), B01–B10 (70 and
    /// over); or as the receipt's 特記事項 code: 26–30 (区ア–区オ), 41, 42 (区カ, 区キ), and
    /// 31–35, 43, 44 (多ア–多オ, 多カ, 多キ: also 多数回). Without it the receipt is not held to a
    /// class limit, and the answer warns.
    #[schema(
        example = "A03",
        pattern = r"^(A0[1-6]|B0[1-9]|B10|2[6-9]|3[0-5]|4[1-4])$"
    )]
    pub high_cost_class: Option<String>,
    /// The patient's birthdate: 70歳以上, 未就学 (2割) and the 75歳到達月 are taken from it for
    /// the visit's month (the share too, when not given, for a child or a patient under 70);
    /// a flag given here wins, and the answer warns when it contradicts the birthdate. Used for
    /// the computation only: never stored, logged or echoed.
    #[schema(example = "1958-07-14", format = Date, pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$")]
    pub birthdate: Option<String>,
    /// 70歳以上 (implied by a B class; taken from `birthdate` when not given).
    pub seventy_plus: Option<bool>,
    /// 多数回該当.
    #[serde(default)]
    pub many_times: bool,
    /// The month of the 75th birthday (not born on the 1st): the limits are halved (taken from
    /// `birthdate` when not given).
    pub turning_75: Option<bool>,
    pub specific_disease: Option<SpecificDiseaseDto>,
    /// The class of the meal charge in hospital; without it, the 高額 class (住民税非課税,
    /// 低所得Ⅰ) and the 公費 (指定難病・小慢) decide, else 一般.
    pub meal_class: Option<MealClassDto>,
    /// More than 90 days in hospital in the last 12 months (長期該当): the lower 住民税非課税
    /// meal charge.
    #[serde(default)]
    pub long_stay: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeVisitDto {
    /// The receipt computer's id for the visit (1–64 of `A-Z a-z 0-9 . _ : -`; no personal
    /// data). Required to commit, and for earlier visits.
    #[schema(example = "R2026-0412-0007", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    pub visit_id: Option<String>,
    #[schema(example = "2026-04-12", format = Date, pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$")]
    pub date: String,
    /// `medical` (default) or `pharmacy`.
    pub claim: Option<ClaimDto>,
    /// `outpatient` (default) or `inpatient`.
    pub care: Option<CareDto>,
    /// The bill in parts, one per set of payers (負担区分).
    #[schema(min_items = 1)]
    pub parts: Vec<ChargePartDto>,
    /// Inpatient only: the meals in hospital by day (入院時食事療養・生活療養), 1 to 3 a day, each
    /// day once, in the visit's month. The patient's 標準負担額 comes from the masters by date and
    /// class; it is a line of its own, outside the 高額 limits and the 公費 caps.
    #[serde(default)]
    pub meals: Vec<MealDayDto>,
    /// 初診 (a first consultation): a programme that charges at 初診 only reads it.
    #[serde(default)]
    pub first_visit: bool,
    /// The day counts as a treatment day (診療実日数; default true): false for, e.g., a
    /// prescription or a document alone — a local programme then charges no fixed amount for
    /// it and does not count it.
    pub treatment_day: Option<bool>,
    /// A second department joining a visit of the same day already charged: counted and
    /// charged as one visit with it (a second consultation on the same day is not this).
    #[serde(default)]
    pub joins_visit: bool,
}

/// The meals of one day in hospital.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"date": "2026-04-12", "count": 3}))]
pub struct MealDayDto {
    #[schema(format = Date, pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$")]
    pub date: String,
    #[schema(minimum = 1, maximum = 3)]
    pub count: u8,
}

/// The class of the patient's meal charge (標準負担額).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MealClassDto {
    /// 一般.
    General,
    /// 指定難病・小児慢性特定疾病 patients of 一般所得.
    DesignatedDisease,
    /// 住民税非課税 (under 70 オ, 70歳以上 低所得Ⅱ).
    LowIncomeIi,
    /// The same after 90 days in hospital (長期該当).
    LowIncomeIiLong,
    /// 70歳以上 低所得Ⅰ.
    LowIncomeI,
    /// 入院時生活療養 (Ⅰ) 食費.
    LivingI,
    /// 入院時生活療養 (Ⅱ) 食費.
    LivingIi,
}

/// Items with one set of payers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargePartDto {
    /// 点数 (× 10 yen). Give this or `yen`.
    #[schema(example = 1520, minimum = 0, maximum = 1_000_000_000)]
    pub points: Option<i64>,
    /// The 10割 cost in yen.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub yen: Option<i64>,
    /// The 公費 covering it, by their position in the request's `subsidies` (or the check
    /// answer's `order`), 1 = the first, 4 at most. Or give `burden_code`; neither: insurance
    /// only.
    pub subsidies: Option<Vec<u8>>,
    /// 負担区分 (1, 2, 3, 5, …): its 第N公費 are the request's subsidies in the order given.
    #[schema(example = "2", pattern = "^[0-9A-Z]$")]
    pub burden_code: Option<String>,
}

/// What the visit costs at the window, and how.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargeQuoteResponse {
    pub visit_id: Option<String>,
    #[schema(example = "2026-04-12", format = Date)]
    pub date: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `medical_inpatient`, `medical_outpatient`, `pharmacy`.
    pub setting: String,
    /// What the patient pays at the window for this visit: rounded to 10 yen (5 up), or to the
    /// yen when a cap or limit sets it (`to_the_yen`).
    #[schema(example = 1500)]
    pub window_charge: u64,
    /// The same before rounding: the month's patient total so far with this visit minus without.
    pub charge_before_rounding: u64,
    /// A cap or a limit sets this visit's amount (a monthly 公費 cap or 本人支払額 reached, a
    /// 高額 limit holding the receipt): the window charge is then the month's total so far minus
    /// what the earlier windows collected, to the yen, not rounded — the month's windows add up
    /// to the cap or limit exactly.
    pub to_the_yen: bool,
    /// Of the window charge, the visit's meals in hospital (their own line).
    pub meal_charge: u64,
    /// When the visit lowers the month's total (a 公費 part now joins the class limit): what is
    /// due back; the charge is then 0.
    pub refund: u64,
    /// The visit's receipt for the month (every visit given): the KO amounts.
    pub receipt: ReceiptAmountsDto,
    pub subsidies: Vec<ChargeSubsidyDto>,
    /// The provisional master rows the computation used (it is then provisional too).
    pub provisional: Vec<String>,
    /// Doubts about the subsidies (from the mapping) that the clerk should see.
    pub warnings: Vec<super::WarningDto>,
    /// Every step, in words: which limit, which cap, which rounding — each with a stable code,
    /// in Japanese for the clerk and in English.
    pub trace: Vec<TraceLineDto>,
    pub masters_version: String,
    /// `POST /v1/charges`: the version written (or the earlier commit repeated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committed: Option<CommittedDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommittedDto {
    pub version: u32,
    /// The same request was committed before: this is its answer.
    pub repeated: bool,
}

/// One receipt's amounts (医科 入院, 医科 外来 or 調剤).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptAmountsDto {
    pub setting: String,
    pub visits: usize,
    /// 10割.
    pub cost: u64,
    /// 請求点数 (the cost in points), when the cost is a whole number of points.
    pub points: Option<u64>,
    pub insurance: u64,
    /// 高額療養費 in kind.
    pub high_cost: u64,
    /// What the insurer bears: insurance + 高額療養費.
    pub insurer_total: u64,
    /// 負担金額 (医療保険) of the HO record: the copay under the insurance after its 高額
    /// limits (cost − insurer_total), before any 公費 pays part of it.
    pub insurance_copay: u64,
    pub patient: u64,
    /// One per 公費 on the receipt: the KO record's amounts.
    pub subsidies: Vec<KoAmountsDto>,
    /// The meals of an inpatient receipt: outside the 高額 limits and the 公費 caps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meals: Option<ReceiptMealsDto>,
}

/// The meals in hospital on a receipt: the HO record's 食事療養・生活療養 回数 and 標準負担額.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptMealsDto {
    pub count: u32,
    pub class: MealClassDto,
    /// 標準負担額 of the meals.
    pub standard_charge: u64,
    /// What the patient pays for them.
    pub patient: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KoAmountsDto {
    /// The KO record's place: 1 = 第1公費, in the order the priority rules give.
    pub receipt_order: u8,
    /// The subsidy as the request's parts name it (its position in `subsidies`, or the check
    /// answer's `order`; 1 = the first).
    pub position: u8,
    /// 請求点数 (公費): the points of the items it covers, when a whole number of points.
    pub points: Option<u64>,
    /// 負担金額 (公費): the patient's share under it, in yen.
    pub patient_share: u64,
    /// 公費給付対象外来一部負担金 (on an outpatient receipt).
    pub covered_copay_outpatient: Option<u64>,
    /// 公費給付対象入院一部負担金 (on an inpatient receipt).
    pub covered_copay_inpatient: Option<u64>,
    /// What the 公費 pays (of the care).
    pub pays: u64,
    /// What it pays of the meals' 標準負担額 (the KO record's 食事 amount).
    pub meals_pays: u64,
}

/// A subsidy of the quote and its month.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargeSubsidyDto {
    /// As the request's parts name it: its position among the typed `subsidies` (1 = the
    /// first), or the check answer's `order`. The answer lists the subsidies in this order.
    pub position: u8,
    /// Its place on the receipt as the priority rules give it (1 = 第1公費): the order the
    /// charge was computed in. When it differs from `position`, the answer warns
    /// (`subsidy_order_differs`).
    pub receipt_order: u8,
    pub payer_number: String,
    pub law_code: Option<String>,
    pub short_name: String,
    pub monthly_cap: Option<u64>,
    /// The cap is shared across institutions (自己負担上限額管理票).
    pub shared_cap: bool,
    /// This visit's addition to the patient's share under it (the 管理票 row).
    pub this_visit: u64,
    /// The month so far, when the cap is shared and the certificate has a recipient number.
    pub month_to_date: Option<MonthToDateDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonthToDateDto {
    /// This institution: committed visits not in the request, and the visits of the request
    /// up to and with this one.
    pub own: u64,
    /// Other institutions, from the paper 管理票.
    pub others: u64,
    pub total: u64,
    pub remaining: Option<u64>,
}

/// One step of a charge's computation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "window_rounded", "depth": 0,
    "ja": "窓口：月の患者負担の累計は、この受診を含めて1,520円、含めないで0円。この受診の分は1,520円、10円未満を四捨五入して（健康保険法第75条）1,520円。",
    "en": "Window: the month's patient total so far is 1,520円 with this visit and 0円 without it: the visit adds 1,520円; rounded to 10 yen (5 yen and over up, 健康保険法 §75): 1,520円."}))]
pub struct TraceLineDto {
    /// A stable code (an open list: a later `/v1` may add one).
    #[schema(schema_with = crate::api::vocab::trace_code_schema)]
    pub code: crate::api::vocab::TraceCodeDto,
    /// 0: the month and the window; 1: a receipt's steps; 2: within a part's step.
    #[schema(minimum = 0, maximum = 2)]
    pub depth: u8,
    /// For the clerk, in Japanese.
    pub ja: String,
    /// The same, in English.
    pub en: String,
}

impl From<&crate::charges::TraceLine> for TraceLineDto {
    fn from(l: &crate::charges::TraceLine) -> Self {
        Self {
            code: l.code.into(),
            depth: l.depth,
            ja: l.ja.clone(),
            en: l.en.clone(),
        }
    }
}

/// An amount from the paper 自己負担上限額管理票 (another institution's). `Debug` leaves out
/// the recipient number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-01",
    "amount": 500, "total_cost": 5000, "care": "outpatient", "institution": "さくら薬局"}))]
pub struct LedgerEntryRequest {
    /// The receipt computer's own id for this entry (the visit-id grammar): sent again with
    /// the same body (a retry), the entry is added once and the month answered again (200);
    /// another body under the same id is refused (409). Without it every request adds a row.
    #[schema(example = "K-0402-1", pattern = r"^[A-Za-z0-9._:-]{1,64}$")]
    pub entry_id: Option<String>,
    #[schema(pattern = r"^[0-9]{8}$")]
    pub payer_number: String,
    /// 公費受給者番号: 1–30 digits, letters or hyphens (half- or full-width).
    #[schema(pattern = "^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ-]{1,30}$")]
    pub recipient_number: String,
    #[schema(format = Date, pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$")]
    pub date: String,
    /// 自己負担額 as written on the 管理票; 0 for a visit without an amount (it still counts
    /// toward a programme's visit limit where the programme counts other institutions' visits).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub amount: i64,
    /// 医療費総額 (10割), when written.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub total_cost: Option<i64>,
    /// `outpatient` (default) or `inpatient`.
    pub care: Option<CareDto>,
    /// The institution as the 管理票 names it (up to 40 characters, no control characters).
    #[schema(
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\xad\\u061c\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]{0,40}$"
    )]
    pub institution: Option<String>,
    /// The certificate's monthly cap, to show the remainder.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub monthly_cap: Option<i64>,
}

/// A certificate's month: `GET /v1/ledgers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerDto {
    pub month: String,
    /// The cap of the latest row that names one.
    pub cap: Option<u64>,
    pub own: u64,
    pub others: u64,
    pub total: u64,
    pub remaining: Option<u64>,
    pub entries: Vec<LedgerEntryDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryDto {
    pub id: i64,
    /// `own` (a committed visit) or `other` (from the paper 管理票).
    pub source: String,
    pub visit_id: Option<String>,
    pub version: Option<u32>,
    #[schema(format = Date)]
    pub date: String,
    pub amount: u64,
    pub total_cost: Option<u64>,
    pub care: String,
    pub institution: Option<String>,
    /// Who entered it.
    pub client: String,
    /// When it was written (RFC 3339, JST).
    #[schema(format = DateTime)]
    pub at: String,
}

/// A voided visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoidDto {
    pub visit_id: String,
    /// The void's version.
    pub version: u32,
    /// It was void already (nothing written).
    pub already_void: bool,
}

/// A shared monthly cap's month as the ledger knows it, in a check's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthTotalsDto {
    /// `YYYY-MM` (the service date's month).
    pub month: String,
    /// The cap on the certificate (or the master's).
    pub cap: Option<u64>,
    /// This institution's committed visits.
    pub own: u64,
    /// Other institutions, from the paper 管理票.
    pub others: u64,
    pub total: u64,
    pub remaining: Option<u64>,
}

impl MonthTotalsDto {
    /// A certificate's month from its ledger rows, against `cap`.
    pub fn of(
        month: chrono::NaiveDate,
        cap: Option<u64>,
        rows: &[crate::store::LedgerRow],
    ) -> Self {
        let (own, others) = crate::store::ledger_totals(rows);
        Self {
            month: crate::store::month_key(month),
            cap,
            own,
            others,
            total: own + others,
            remaining: cap.map(|c| c.saturating_sub(own + others)),
        }
    }
}

impl std::fmt::Debug for ChargeInsuranceDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargeInsuranceDto")
            .field("kind", &self.kind)
            .field("share_percent", &self.share_percent)
            .field("high_cost_class", &self.high_cost_class)
            .field("birthdate", &Redacted::opt(&self.birthdate))
            .field("seventy_plus", &self.seventy_plus)
            .field("many_times", &self.many_times)
            .field("turning_75", &self.turning_75)
            .field("specific_disease", &self.specific_disease)
            .field("meal_class", &self.meal_class)
            .field("long_stay", &self.long_stay)
            .finish()
    }
}

impl std::fmt::Debug for InlineSubsidyDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineSubsidyDto")
            .field("payer_number", &self.payer_number)
            .field("recipient_number", &Redacted::opt(&self.recipient_number))
            .field("income_class", &self.income_class)
            .field("conditions", &self.conditions)
            .field("monthly_cap", &self.monthly_cap)
            .field("own_payment", &self.own_payment)
            .field("no_ledger", &self.no_ledger)
            .finish()
    }
}

impl std::fmt::Debug for LedgerEntryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerEntryRequest")
            .field("entry_id", &self.entry_id)
            .field("payer_number", &self.payer_number)
            .field("recipient_number", &Redacted::Present)
            .field("date", &self.date)
            .field("amount", &self.amount)
            .field("total_cost", &self.total_cost)
            .field("care", &self.care)
            .field("institution", &self.institution)
            .field("monthly_cap", &self.monthly_cap)
            .finish()
    }
}

impl super::RequestBody for ChargeQuoteRequest {
    const ARRAYS: &'static [&'static str] = &[
        "conditions",
        "earlier_visits",
        "meals",
        "parts",
        "subsidies",
    ];
}

impl super::RequestBody for LedgerEntryRequest {
    const ARRAYS: &'static [&'static str] = &[];
}
