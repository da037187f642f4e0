//! Local programmes (地方単独医療費助成), keyed by payer number or payer-number prefix.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::csvfile::{opt_date, opt_small};
use super::reporter;
use super::{CareScope, NationalProgramme, RowError};
use crate::domain::{Care, InsuranceKind, LawCode, PayerNumber};

#[derive(Debug, Deserialize)]
pub(super) struct Row {
    payer_number: String,
    prefecture: String,
    municipality_code: String,
    name: String,
    short_name: String,
    law_code: String,
    valid_from: String,
    valid_to: String,
    age_min: String,
    age_max: String,
    care_scope: CareScope,
    insurance_kinds: String,
    priority: u16,
    orca_class: String,
    source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalProgramme {
    /// The exact payer number, or a prefix followed by `*`.
    pub payer_match: String,
    pub prefecture: String,
    pub municipality_code: Option<String>,
    pub name: String,
    pub short_name: String,
    pub law_code: LawCode,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// 年度年齢 range (inclusive); `None` = no limit.
    pub age_min: Option<u16>,
    pub age_max: Option<u16>,
    pub care_scope: CareScope,
    /// The insurance a patient must have for this programme.
    pub insurance_kinds: Vec<InsuranceKind>,
    /// Order among local programmes: lower applies first.
    pub priority: u16,
    /// ORCA's 3-digit 公費の種類 for this programme, where known.
    pub orca_class: Option<String>,
    /// Where the payer number comes from: `published`, `tokyo-convention`, `illustrative`.
    pub source: String,
    /// The row's line in its file, for errors found by other tables.
    #[serde(skip)]
    pub line: u64,
}

impl LocalProgramme {
    /// Whether the programme covers this 外来 / 入院 setting.
    pub fn covers(&self, care: Care) -> bool {
        self.care_scope.covers(care)
    }
}

const SOURCES: [&str; 3] = ["published", "tokyo-convention", "illustrative"];

fn insurance_kinds(s: &str) -> Result<Vec<InsuranceKind>, String> {
    let mut out = Vec::new();
    for part in s.split('|').map(str::trim) {
        let k = match part {
            "health_insurance" => InsuranceKind::HealthInsurance,
            "late_elderly" => InsuranceKind::LateElderly,
            "none" => InsuranceKind::None,
            other => {
                return Err(format!(
                    "`{other}` is not one of health_insurance, late_elderly, none"
                ));
            }
        };
        if out.contains(&k) {
            return Err(format!("`{part}` appears twice"));
        }
        out.push(k);
    }
    Ok(out)
}

type Index = (
    HashMap<String, LocalProgramme>,
    Vec<(String, LocalProgramme)>,
);

pub(super) fn index(
    file: &str,
    rows: Vec<(u64, Row)>,
    national: &BTreeMap<LawCode, NationalProgramme>,
    errors: &mut Vec<RowError>,
) -> Index {
    let mut exact = HashMap::new();
    let mut prefix = Vec::new();
    for (line, r) in rows {
        let mut bad = reporter(file, line, errors);
        let law_code = match LawCode::parse(&r.law_code) {
            Ok(l) => l,
            Err(e) => {
                bad(format!("law_code {e}"));
                continue;
            }
        };
        if national.contains_key(&law_code) {
            bad(format!(
                "law_code {law_code} is a national programme, not a local one"
            ));
            continue;
        }
        if r.prefecture.len() != 2 || !r.prefecture.bytes().all(|b| b.is_ascii_digit()) {
            bad("prefecture must be the 2-digit 都道府県番号".into());
            continue;
        }
        if !r.municipality_code.is_empty()
            && (r.municipality_code.len() != 6
                || !r.municipality_code.bytes().all(|b| b.is_ascii_digit())
                || !r.municipality_code.starts_with(&r.prefecture))
        {
            bad("municipality_code must be the 6-digit 全国地方公共団体コード within the prefecture".into());
            continue;
        }
        let (valid_from, valid_to) = match (opt_date(&r.valid_from), opt_date(&r.valid_to)) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(e), _) => {
                bad(format!("valid_from {e}"));
                continue;
            }
            (_, Err(e)) => {
                bad(format!("valid_to {e}"));
                continue;
            }
        };
        if let (Some(f), Some(t)) = (valid_from, valid_to)
            && t < f
        {
            bad("valid_to is before valid_from".into());
            continue;
        }
        if r.name.is_empty() || r.short_name.is_empty() {
            bad("name and short_name must not be empty".into());
            continue;
        }
        let (age_min, age_max) = match (opt_small(&r.age_min, 120), opt_small(&r.age_max, 120)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) => {
                bad(format!("age_min {e}"));
                continue;
            }
            (_, Err(e)) => {
                bad(format!("age_max {e}"));
                continue;
            }
        };
        if let (Some(a), Some(b)) = (age_min, age_max)
            && b < a
        {
            bad(format!("age_max {b} is below age_min {a}"));
            continue;
        }
        let kinds = match insurance_kinds(&r.insurance_kinds) {
            Ok(k) => k,
            Err(e) => {
                bad(format!("insurance_kinds: {e}"));
                continue;
            }
        };
        if !r.orca_class.is_empty()
            && (r.orca_class.len() != 3 || !r.orca_class.bytes().all(|b| b.is_ascii_digit()))
        {
            bad("orca_class must be 3 digits or empty".into());
            continue;
        }
        if !SOURCES.contains(&r.source.as_str()) {
            bad(format!("source must be one of {}", SOURCES.join(", ")));
            continue;
        }
        let matcher = r.payer_number.clone();
        if let Some(p) = matcher.strip_suffix('*') {
            let shape_ok = (2..8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
            if !shape_ok {
                bad("payer_number prefix must be 2 to 7 digits followed by *".into());
                continue;
            }
            if &p[..2] != law_code.to_string().as_str() || (p.len() >= 4 && p[2..4] != r.prefecture)
            {
                bad("payer_number prefix disagrees with law_code or prefecture".into());
                continue;
            }
        } else {
            match PayerNumber::parse(&matcher) {
                Ok(pn) if pn.law_code() != law_code || pn.prefecture() != r.prefecture => {
                    bad("payer_number disagrees with law_code or prefecture".into());
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    bad(format!("payer_number {e}"));
                    continue;
                }
            }
        }
        let programme = LocalProgramme {
            payer_match: matcher.clone(),
            prefecture: r.prefecture,
            municipality_code: Some(r.municipality_code).filter(|m| !m.is_empty()),
            name: r.name,
            short_name: r.short_name,
            law_code,
            valid_from,
            valid_to,
            age_min,
            age_max,
            care_scope: r.care_scope,
            insurance_kinds: kinds,
            priority: r.priority,
            orca_class: Some(r.orca_class).filter(|c| !c.is_empty()),
            source: r.source,
            line,
        };
        if let Some(p) = matcher.strip_suffix('*') {
            if prefix.iter().any(|(q, _): &(String, _)| q == p) {
                bad(format!("payer_number {matcher} appears twice"));
                continue;
            }
            prefix.push((p.to_owned(), programme));
        } else if exact.insert(matcher.clone(), programme).is_some() {
            bad(format!("payer_number {matcher} appears twice"));
        }
    }
    prefix.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then(a.cmp(b)));
    (exact, prefix)
}
