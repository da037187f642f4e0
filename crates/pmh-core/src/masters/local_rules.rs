//! The copay rule of each local programme per setting and income class (the 助成方法, 定額・定率,
//! 上限 and 回数 columns of the 地単公費マスター).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::csvfile::{opt_small, opt_yen};
use super::reporter;
use super::{CopayMethod, LocalProgramme, RowError};
use crate::domain::{Care, Claim, CopayCaps, Rounding, Yen};

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
                CopayMethod::Rate if rate.is_none_or(|v| v == 0) || amount.is_some() => {
                    return Err("method rate needs rate_percent 1–100 and no amount_yen".to_owned());
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
            Ok((rate.map(|v| v as u8), amount, caps, times))
        })();
        let (rate_percent, amount, caps, charged_times_per_month) = match parsed {
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
