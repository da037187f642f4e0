//! National programmes by 法別番号 (診療報酬請求書等の記載要領, 法別番号 and the order of 公費).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::reporter;
use super::{CareScope, KohiLimitRule, PharmacyRule, RateRule, RowError};
use crate::domain::LawCode;
use crate::domain::Rounding;

#[derive(Debug, Deserialize)]
pub(super) struct Row {
    law_code: String,
    name: String,
    short_name: String,
    priority_rank: u16,
    single_only: bool,
    recipient_number_required: bool,
    default_rate_percent: u8,
    designated_institution_required: bool,
    care_scope: CareScope,
    pharmacy_rule: PharmacyRule,
    monthly_cap_shared: bool,
    kohi_limit: KohiLimitRule,
    rate_rule: RateRule,
    rounding: Rounding,
}

#[derive(Debug, Clone, Serialize)]
pub struct NationalProgramme {
    pub law_code: LawCode,
    pub name: String,
    pub short_name: String,
    /// 1 = applied first (第1公費).
    pub priority_rank: u16,
    /// No health insurance and no other subsidy on the same receipt (公費単独のみ).
    pub single_only: bool,
    pub recipient_number_required: bool,
    /// The patient's share of the cost under this programme, in percent, before caps.
    pub default_rate_percent: u8,
    pub designated_institution_required: bool,
    /// 外来 / 入院 the programme covers (結核入院, 措置入院 … are 入院 only).
    pub care_scope: CareScope,
    /// What the programme does at a 調剤 claim.
    pub pharmacy_rule: PharmacyRule,
    /// The monthly cap is shared across institutions (自己負担上限額管理票).
    pub monthly_cap_shared: bool,
    /// The 高額療養費 limit of the part the programme covers.
    pub kohi_limit: KohiLimitRule,
    /// Whether the programme's rate gives way to a lower insurance rate.
    pub rate_rule: RateRule,
    /// How the patient's share under the programme is rounded.
    pub rounding: Rounding,
}

pub(super) fn index(
    file: &str,
    rows: Vec<(u64, Row)>,
    errors: &mut Vec<RowError>,
) -> BTreeMap<LawCode, NationalProgramme> {
    let mut out = BTreeMap::new();
    let mut ranks = BTreeMap::new();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        let law_code = match LawCode::parse(&r.law_code) {
            Ok(l) => l,
            Err(e) => {
                bad(format!("law_code {e}"));
                continue;
            }
        };
        if r.name.is_empty() || r.short_name.is_empty() {
            bad("name and short_name must not be empty".into());
            continue;
        }
        if r.default_rate_percent > 100 {
            bad(format!(
                "default_rate_percent {} is over 100",
                r.default_rate_percent
            ));
            continue;
        }
        if r.single_only != (r.kohi_limit == KohiLimitRule::None) {
            bad("kohi_limit is none exactly for the programmes billed alone (single_only)".into());
            continue;
        }
        if r.priority_rank == 0 {
            bad("priority_rank must be 1 or more".into());
            continue;
        }
        if let Some(other) = ranks.insert(r.priority_rank, law_code) {
            bad(format!(
                "priority_rank {} is also used by 法別 {other}",
                r.priority_rank
            ));
            continue;
        }
        let p = NationalProgramme {
            law_code,
            name: r.name,
            short_name: r.short_name,
            priority_rank: r.priority_rank,
            single_only: r.single_only,
            recipient_number_required: r.recipient_number_required,
            default_rate_percent: r.default_rate_percent,
            designated_institution_required: r.designated_institution_required,
            care_scope: r.care_scope,
            pharmacy_rule: r.pharmacy_rule,
            monthly_cap_shared: r.monthly_cap_shared,
            kohi_limit: r.kohi_limit,
            rate_rule: r.rate_rule,
            rounding: r.rounding,
        };
        if out.insert(law_code, p).is_some() {
            bad(format!("法別 {law_code} appears twice"));
        }
    }
    out
}
