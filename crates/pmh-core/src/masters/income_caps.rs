//! Monthly caps by income class (所得区分) and additional condition, for the national
//! programmes whose law fixes them (難病 54, 小児慢性 52, 自立支援医療 15/16/21).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::csvfile::opt_yen;
use super::reporter;
use super::{NationalProgramme, RowError};
use crate::domain::{LawCode, Yen};

#[derive(Debug, Deserialize)]
pub(super) struct Row {
    law_code: String,
    income_segment: String,
    condition: String,
    condition_name: String,
    monthly_cap_yen: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncomeCap {
    pub law_code: LawCode,
    /// 所得区分 as PMH spells it (`incomeSegment`).
    pub income_segment: String,
    /// An `additionalConditions` code (`01-1` …), `None` for the general row.
    pub condition: Option<String>,
    pub condition_name: Option<String>,
    /// `None`: the law fixes no cap of its own for this class (高額療養費 applies).
    pub monthly_cap: Option<Yen>,
}

/// Rows are keyed by the class's [`segment_key`]: the same class however it is typed.
type Key = (LawCode, String, Option<String>);

/// A 所得区分 as compared: NFKC (full-width letters and digits, Roman numeral signs), no spaces,
/// and a trailing Roman numeral read as its digit — `一般所得Ⅱ`, `一般所得 II`, `一般所得２` and
/// `一般所得2` are one class. (The masters spell 難病's classes with Ⅰ/Ⅱ, 自立支援医療's with
/// 1/2, as the programmes' tables do; a certificate or a clerk may write either.)
pub fn segment_key(segment: &str) -> String {
    let mut s: String = crate::domain::text::nfkc(segment)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for (roman, digit) in [("III", "3"), ("II", "2"), ("IV", "4"), ("I", "1")] {
        if let Some(stem) = s.strip_suffix(roman)
            && !stem.ends_with(|c: char| c.is_ascii_alphabetic())
        {
            s = format!("{stem}{digit}");
            break;
        }
    }
    s
}

#[derive(Debug, Default)]
pub struct IncomeCaps {
    rows: HashMap<Key, IncomeCap>,
    programmes: std::collections::BTreeSet<LawCode>,
}

/// What the master says about a certificate's income class.
#[derive(Debug, Clone, Copy)]
pub enum CapLookup<'a> {
    /// The programme has no income-class caps in the master.
    NotApplicable,
    /// The certificate names no income class, though the programme has caps by class.
    NoSegment,
    /// The class (with this condition) is not in the master.
    UnknownSegment,
    Found(&'a IncomeCap),
}

impl IncomeCaps {
    /// The cap row for a certificate: the lowest cap among the rows of its conditions, else the
    /// general row of its class.
    pub fn lookup(
        &self,
        law: LawCode,
        segment: Option<&str>,
        conditions: &[String],
    ) -> CapLookup<'_> {
        if !self.programmes.contains(&law) {
            return CapLookup::NotApplicable;
        }
        let Some(segment) = segment.map(str::trim).filter(|s| !s.is_empty()) else {
            return CapLookup::NoSegment;
        };
        let segment = segment_key(segment);
        let with_condition = conditions
            .iter()
            .filter_map(|c| {
                self.rows
                    .get(&(law, segment.clone(), Some(c.trim().to_owned())))
            })
            .min_by_key(|r| r.monthly_cap.map(|y| y.0).unwrap_or(u64::MAX));
        match with_condition.or_else(|| self.rows.get(&(law, segment, None))) {
            Some(r) => CapLookup::Found(r),
            None => CapLookup::UnknownSegment,
        }
    }

    /// Every (programme, condition) pair the table knows: conditions may be referenced by the
    /// calculation-module codes.
    pub(super) fn knows_condition(&self, law: LawCode, condition: &str) -> bool {
        self.rows
            .keys()
            .any(|(l, _, c)| *l == law && c.as_deref() == Some(condition))
    }

    pub(super) fn knows_segment(&self, law: LawCode, segment: &str) -> bool {
        let segment = segment_key(segment);
        self.rows.keys().any(|(l, s, _)| *l == law && *s == segment)
    }

    /// Whether the programme's caps go by income class here.
    pub fn has_classes(&self, law: LawCode) -> bool {
        self.programmes.contains(&law)
    }

    /// The programme's income classes as the master spells them, in the file's order of caps
    /// (lowest first), each once.
    pub fn segments(&self, law: LawCode) -> Vec<&str> {
        let mut rows: Vec<&IncomeCap> = self
            .rows
            .values()
            .filter(|r| r.law_code == law && r.condition.is_none())
            .collect();
        rows.sort_by_key(|r| {
            (
                r.monthly_cap.map_or(u64::MAX, |y| y.0),
                r.income_segment.clone(),
            )
        });
        rows.into_iter()
            .map(|r| r.income_segment.as_str())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Whether `s` has the `追加条件項目コード-追加条件コード` shape (`01-1`).
pub(super) fn is_condition_code(s: &str) -> bool {
    let Some((item, code)) = s.split_once('-') else {
        return false;
    };
    let digits = |t: &str| !t.is_empty() && t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit());
    digits(item) && digits(code)
}

pub(super) fn index(
    file: &str,
    rows: Vec<(u64, Row)>,
    national: &BTreeMap<LawCode, NationalProgramme>,
    errors: &mut Vec<RowError>,
) -> IncomeCaps {
    let mut out = IncomeCaps::default();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        let law_code = match LawCode::parse(&r.law_code) {
            Ok(l) if national.contains_key(&l) => l,
            Ok(l) => {
                bad(format!("law_code {l} is not in national_programmes.csv"));
                continue;
            }
            Err(e) => {
                bad(format!("law_code {e}"));
                continue;
            }
        };
        if r.income_segment.is_empty() {
            bad("income_segment must not be empty".into());
            continue;
        }
        let condition = Some(r.condition).filter(|c| !c.is_empty());
        match (&condition, r.condition_name.is_empty()) {
            (Some(c), _) if !is_condition_code(c) => {
                bad(format!(
                    "condition `{c}` is not an additionalConditions code like 01-1"
                ));
                continue;
            }
            (Some(_), true) => {
                bad("condition_name is required with a condition".into());
                continue;
            }
            (None, false) => {
                bad("condition_name without a condition".into());
                continue;
            }
            _ => {}
        }
        let monthly_cap = match opt_yen(&r.monthly_cap_yen) {
            Ok(c) => c,
            Err(e) => {
                bad(format!("monthly_cap_yen {e}"));
                continue;
            }
        };
        let key = (law_code, segment_key(&r.income_segment), condition.clone());
        let row = IncomeCap {
            law_code,
            income_segment: r.income_segment,
            condition,
            condition_name: Some(r.condition_name).filter(|c| !c.is_empty()),
            monthly_cap,
        };
        if out.rows.insert(key, row).is_some() {
            bad("this 法別, income_segment and condition appear twice (classes are compared as typed alike: full-width, spaces and Roman numerals aside)".into());
            continue;
        }
        out.programmes.insert(law_code);
    }
    out
}

#[cfg(test)]
mod segment_tests {
    use super::segment_key;

    #[test]
    fn a_class_is_the_same_however_it_is_typed() {
        for typed in [
            "一般所得Ⅱ",
            "一般所得II",
            "一般所得 Ⅱ",
            "一般所得２",
            "一般所得2",
            "　一般所得Ⅱ ",
        ] {
            assert_eq!(segment_key(typed), "一般所得2", "{typed}");
        }
        assert_eq!(segment_key("低所得Ⅰ"), segment_key("低所得1"));
        assert_eq!(segment_key("中間所得1"), "中間所得1");
        assert_eq!(segment_key("上位所得"), "上位所得");
        assert_ne!(segment_key("一般所得Ⅰ"), segment_key("一般所得Ⅱ"));
    }
}
