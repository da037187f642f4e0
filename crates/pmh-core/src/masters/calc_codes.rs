//! The PROVISIONAL calculation-module code set: programme + income class + additional condition
//! → the codes a 共通算定モジュール-style calculator takes. PMH's official code list is not
//! public (PMH distributes 「【PMH】共通算定モジュールとの連携コード値一覧」 to vendors only); this table keeps the project's own codes as data so that the official
//! list can replace it without a code change.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::income_caps::{IncomeCaps, is_condition_code};
use super::local_rules::LocalRules;
use super::reporter;
use super::{LocalProgramme, NationalProgramme, RowError};
use crate::domain::LawCode;

#[derive(Debug, Deserialize)]
pub(super) struct Row {
    programme: String,
    income_segment: String,
    condition: String,
    subsidy_code: String,
    income_class_code: String,
    condition_code: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, serde::Deserialize)]
pub struct CalcCodes {
    pub subsidy_code: String,
    pub income_class_code: String,
    pub condition_code: String,
}

/// A key part: any value, no value (only conditions), or one value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Part {
    Any,
    None,
    Is(String),
}

#[derive(Debug, Default)]
pub struct CalcCodeTable {
    rows: HashMap<(String, Part, Part), CalcCodes>,
}

impl CalcCodeTable {
    /// The most specific row for `programme` (法別 or local key): exact class before `*`, and
    /// within each, a condition of the certificate (in its order) before "no condition" before `*`.
    pub fn lookup(
        &self,
        programme: &str,
        segment: Option<&str>,
        conditions: &[String],
    ) -> Option<&CalcCodes> {
        let seg = segment.map(str::trim).filter(|s| !s.is_empty());
        let mut cond_parts: Vec<Part> = conditions
            .iter()
            .map(|c| Part::Is(c.trim().to_owned()))
            .collect();
        cond_parts.push(Part::None);
        cond_parts.push(Part::Any);
        let seg_parts = seg
            .map(|s| vec![Part::Is(s.to_owned()), Part::Any])
            .unwrap_or_else(|| vec![Part::Any]);
        seg_parts.iter().find_map(|s| {
            cond_parts
                .iter()
                .find_map(|c| self.rows.get(&(programme.to_owned(), s.clone(), c.clone())))
        })
    }
}

fn code_ok(s: &str, len: std::ops::RangeInclusive<usize>, digits_only: bool) -> bool {
    len.contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (!digits_only && (b.is_ascii_uppercase() || b == b'-')))
}

pub(super) struct Refs<'a> {
    pub national: &'a std::collections::BTreeMap<LawCode, NationalProgramme>,
    pub local: &'a [&'a LocalProgramme],
    pub caps: &'a IncomeCaps,
    pub local_rules: &'a LocalRules,
}

pub(super) fn index(
    file: &str,
    rows: Vec<(u64, Row)>,
    refs: &Refs<'_>,
    errors: &mut Vec<RowError>,
) -> CalcCodeTable {
    let mut out = CalcCodeTable::default();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        let national = LawCode::parse(&r.programme)
            .ok()
            .filter(|l| refs.national.contains_key(l));
        let is_local = refs.local.iter().any(|p| p.payer_match == r.programme);
        if national.is_none() && !is_local {
            bad(format!(
                "programme {} is neither a national 法別 nor a local payer_number key",
                r.programme
            ));
            continue;
        }
        let segment = match r.income_segment.as_str() {
            "" => {
                bad("income_segment must be * or a 所得区分".into());
                continue;
            }
            "*" => Part::Any,
            s => {
                let known = match national {
                    Some(l) => refs.caps.knows_segment(l, s),
                    None => refs.local_rules.knows_segment(&r.programme, s),
                };
                if !known {
                    bad(format!(
                        "income_segment {s} is not a class of programme {} in the cap or rule tables",
                        r.programme
                    ));
                    continue;
                }
                Part::Is(s.to_owned())
            }
        };
        let condition = match r.condition.as_str() {
            "" => Part::None,
            "*" => Part::Any,
            c if !is_condition_code(c) => {
                bad(format!(
                    "condition `{c}` is not *, empty or a code like 01-1"
                ));
                continue;
            }
            c => {
                if let Some(l) = national
                    && !refs.caps.knows_condition(l, c)
                {
                    bad(format!(
                        "condition {c} is not a condition of 法別 {l} in national_income_caps.csv"
                    ));
                    continue;
                }
                Part::Is(c.to_owned())
            }
        };
        if !code_ok(&r.subsidy_code, 1..=8, false) {
            bad("subsidy_code must be 1–8 characters of A–Z, 0–9, -".into());
            continue;
        }
        if !code_ok(&r.income_class_code, 2..=2, true) {
            bad("income_class_code must be 2 digits".into());
            continue;
        }
        if !code_ok(&r.condition_code, 1..=1, true) {
            bad("condition_code must be 1 digit".into());
            continue;
        }
        let codes = CalcCodes {
            subsidy_code: r.subsidy_code,
            income_class_code: r.income_class_code,
            condition_code: r.condition_code,
        };
        if out
            .rows
            .insert((r.programme, segment, condition), codes)
            .is_some()
        {
            bad("this programme, income_segment and condition appear twice".into());
        }
    }
    out
}
