//! The copay rule of each local programme per setting and income class (the 助成方法, 定額・定率,
//! 上限 and 回数 columns of the 地単公費マスター).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::csvfile::{opt_small, opt_yen};
use super::reporter;
use super::{CopayMethod, LocalProgramme, RowError};
use crate::domain::{Care, Claim, CopayCaps, HighCostClass, Rounding, Yen};

#[derive(Debug, Deserialize)]
pub(super) struct Row {
    payer_number: String,
    care: Care,
    claim: Claim,
    income_segment: String,
    method: CopayMethod,
    rate_percent: String,
    amount_yen: String,
    cap_visit_yen: String,
    cap_day_yen: String,
    cap_month_yen: String,
    charged_times_per_month: String,
    source: String,
    rounding: Rounding,
    count_unit: String,
    count_scope: String,
    count_when: String,
    class_without_certificate: String,
}

/// What one charge of a fixed amount is: a visit, a day, or a 初診.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountUnit {
    /// Each consultation (a second department joining a visit already charged is not another;
    /// a second consultation on the same day is).
    #[default]
    Visit,
    /// Each day with a consultation.
    Day,
    /// Each 初診 (first consultation) only: 初診時一部負担金.
    FirstVisit,
}

/// Whose visits count toward `charged_times_per_month`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountScope {
    /// This institution's visits of the month.
    #[default]
    Institution,
    /// The patient's visits at every institution (the others' from the paper 管理票).
    All,
}

/// Which visits count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountWhen {
    /// Only those with a payment under the programme.
    #[default]
    Charged,
    /// Every one, also those another 公費 made free.
    Any,
}

/// How a programme counts the charges of its fixed amount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitCounting {
    pub unit: CountUnit,
    pub scope: CountScope,
    pub when: CountWhen,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalRule {
    pub method: CopayMethod,
    /// For `rate`: the patient's share in percent.
    pub rate_percent: Option<u8>,
    /// For `per_visit` / `per_day`: the fixed amount.
    pub amount: Option<Yen>,
    pub caps: CopayCaps,
    /// The fixed amount is charged at most this many times a month at one institution.
    pub charged_times_per_month: Option<u16>,
    /// `None` for the row that applies to every class.
    pub income_segment: Option<String>,
    pub source: String,
    /// 端数条件: how the share under the programme is rounded.
    pub rounding: Rounding,
    /// How the fixed amount's charges are counted.
    pub counting: VisitCounting,
    /// Without a 限度額適用認定証 (no 高額 class given) the programme pays only up to this
    /// class's limit; above it the patient pays (and claims 高額療養費 later).
    pub class_without_certificate: Option<HighCostClass>,
}

type Key = (String, Care, Claim, Option<String>);

#[derive(Debug, Default)]
pub struct LocalRules {
    rows: HashMap<Key, LocalRule>,
}

impl LocalRules {
    /// The rule for a programme (by its key), setting and income class: the row for the class,
    /// else the row for every class. A 調剤 claim is always 外来.
    pub fn lookup(
        &self,
        key: &str,
        care: Care,
        claim: Claim,
        segment: Option<&str>,
    ) -> Option<&LocalRule> {
        let care = if claim == Claim::Pharmacy {
            Care::Outpatient
        } else {
            care
        };
        let seg = segment.map(str::trim).filter(|s| !s.is_empty());
        seg.and_then(|s| {
            self.rows
                .get(&(key.to_owned(), care, claim, Some(s.to_owned())))
        })
        .or_else(|| self.rows.get(&(key.to_owned(), care, claim, None)))
    }

    pub(super) fn knows_segment(&self, key: &str, segment: &str) -> bool {
        self.rows
            .keys()
            .any(|(k, _, _, s)| k == key && s.as_deref() == Some(segment))
    }
}

const SOURCES: [&str; 3] = ["tokyo-guide", "municipality-page", "illustrative"];

/// The settings a programme must have a rule for.
fn required(p: &LocalProgramme) -> Vec<(Care, Claim)> {
    let mut out = Vec::new();
    if p.covers(Care::Outpatient) {
        out.push((Care::Outpatient, Claim::Medical));
        out.push((Care::Outpatient, Claim::Pharmacy));
    }
    if p.covers(Care::Inpatient) {
        out.push((Care::Inpatient, Claim::Medical));
    }
    out
}

pub(super) fn index(
    file: &str,
    programmes_file: &str,
    rows: Vec<(u64, Row)>,
    programmes: &[&LocalProgramme],
    errors: &mut Vec<RowError>,
) -> LocalRules {
    let mut out = LocalRules::default();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        let Some(programme) = programmes.iter().find(|p| p.payer_match == r.payer_number) else {
            bad(format!(
                "payer_number {} is not a row of local_programmes.csv",
                r.payer_number
            ));
            continue;
        };
        if r.claim == Claim::Pharmacy && r.care == Care::Inpatient {
            bad("a pharmacy (調剤) claim is always care outpatient".into());
            continue;
        }
        if !programme.covers(r.care) {
            bad(format!(
                "the programme's care_scope does not include {:?}",
                r.care
            ));
            continue;
        }
        let parsed = (|| {
            let rate = opt_small(&r.rate_percent, 100).map_err(|e| format!("rate_percent {e}"))?;
            let amount = opt_yen(&r.amount_yen).map_err(|e| format!("amount_yen {e}"))?;
            let caps = CopayCaps {
                per_visit: opt_yen(&r.cap_visit_yen).map_err(|e| format!("cap_visit_yen {e}"))?,
                per_day: opt_yen(&r.cap_day_yen).map_err(|e| format!("cap_day_yen {e}"))?,
                per_month: opt_yen(&r.cap_month_yen).map_err(|e| format!("cap_month_yen {e}"))?,
            };
            let times = opt_small(&r.charged_times_per_month, 31)
                .map_err(|e| format!("charged_times_per_month {e}"))?;
            match r.method {
                CopayMethod::Free if rate.is_some() || amount.is_some() || !caps.is_empty() => {
                    return Err("method free takes no rate, amount or caps".to_owned());
                }
                CopayMethod::Rate | CopayMethod::CopayRate
                    if rate.is_none_or(|v| v == 0) || amount.is_some() =>
                {
                    return Err(
                        "methods rate and copay_rate need rate_percent 1–100 and no amount_yen"
                            .to_owned(),
                    );
                }
                CopayMethod::PerVisit | CopayMethod::PerDay
                    if amount.is_none() || rate.is_some() =>
                {
                    return Err(
                        "a fixed-amount method needs amount_yen and no rate_percent".to_owned()
                    );
                }
                _ => {}
            }
            if times == Some(0) {
                return Err("charged_times_per_month must be 1 or more, or empty".to_owned());
            }
            if times.is_some() && !matches!(r.method, CopayMethod::PerVisit | CopayMethod::PerDay) {
                return Err("charged_times_per_month applies to fixed amounts only".to_owned());
            }
            let fixed = matches!(r.method, CopayMethod::PerVisit | CopayMethod::PerDay);
            let unit = match (r.count_unit.as_str(), r.method) {
                ("", CopayMethod::PerDay) | ("day", _) => CountUnit::Day,
                ("", _) | ("visit", _) => CountUnit::Visit,
                ("first_visit", _) => CountUnit::FirstVisit,
                (other, _) => {
                    return Err(format!(
                        "count_unit `{other}` is not visit, day or first_visit"
                    ));
                }
            };
            if r.method == CopayMethod::PerDay && unit != CountUnit::Day {
                return Err("method per_day counts days (count_unit day or empty)".to_owned());
            }
            let scope = match r.count_scope.as_str() {
                "" | "institution" => CountScope::Institution,
                "all" => CountScope::All,
                other => return Err(format!("count_scope `{other}` is not institution or all")),
            };
            let when = match r.count_when.as_str() {
                "" | "charged" => CountWhen::Charged,
                "any" => CountWhen::Any,
                other => return Err(format!("count_when `{other}` is not charged or any")),
            };
            let counting = VisitCounting { unit, scope, when };
            if !fixed && counting != VisitCounting::default() {
                return Err(
                    "count_unit, count_scope and count_when apply to fixed amounts only".to_owned(),
                );
            }
            let class = match r.class_without_certificate.as_str() {
                "" => None,
                c => Some(
                    HighCostClass::parse(c)
                        .map_err(|e| format!("class_without_certificate: {e}"))?,
                ),
            };
            Ok((rate.map(|v| v as u8), amount, caps, times, counting, class))
        })();
        let (rate_percent, amount, caps, charged_times_per_month, counting, class) = match parsed {
            Ok(p) => p,
            Err(e) => {
                bad(e);
                continue;
            }
        };
        if !SOURCES.contains(&r.source.as_str()) {
            bad(format!("source must be one of {}", SOURCES.join(", ")));
            continue;
        }
        let segment = match r.income_segment.as_str() {
            "" => {
                bad("income_segment must be * or a 所得区分".into());
                continue;
            }
            "*" => None,
            s => Some(s.to_owned()),
        };
        let key = (r.payer_number.clone(), r.care, r.claim, segment.clone());
        let rule = LocalRule {
            method: r.method,
            rate_percent,
            amount,
            caps,
            charged_times_per_month,
            income_segment: segment,
            source: r.source,
            rounding: r.rounding,
            counting,
            class_without_certificate: class,
        };
        if out.rows.insert(key, rule).is_some() {
            bad("this payer_number, care, claim and income_segment appear twice".into());
        }
    }
    for p in programmes {
        for (care, claim) in required(p) {
            if !out
                .rows
                .contains_key(&(p.payer_match.clone(), care, claim, None))
            {
                errors.push(RowError {
                    file: programmes_file.to_owned(),
                    line: p.line,
                    reason: format!(
                        "{} has no `*` rule for {care:?} {claim:?} in {file}",
                        p.payer_match
                    ),
                });
            }
        }
    }
    out
}
