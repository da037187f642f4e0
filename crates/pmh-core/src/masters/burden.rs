//! 負担区分コード: the one-character code on each billed line saying which payers cover it
//! (医保 and 第1〜第4公費), per the receipt specification's table (記録条件仕様, 負担区分コード).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::RowError;
use super::reporter;

#[derive(Debug, Deserialize)]
pub(super) struct Row {
    insurance: bool,
    kohi1: bool,
    kohi2: bool,
    kohi3: bool,
    kohi4: bool,
    code: String,
    source: String,
}

/// A set of payers: bit 0 = 医保, bits 1–4 = 第1〜第4公費.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Payers(u8);

impl Payers {
    /// `None` when the set is empty or names a subsidy beyond the 4th.
    pub fn new(insurance: bool, subsidies: &[u8]) -> Option<Self> {
        let mut bits = u8::from(insurance);
        for &s in subsidies {
            if !(1..=4).contains(&s) {
                return None;
            }
            bits |= 1 << s;
        }
        (bits != 0).then_some(Payers(bits))
    }

    pub fn insurance(self) -> bool {
        self.0 & 1 != 0
    }

    /// The subsidies in the set, 1-based (1 = 第1公費).
    pub fn subsidies(self) -> Vec<u8> {
        (1..=4).filter(|i| self.0 & (1 << i) != 0).collect()
    }

    /// `医保+公1+公2` style label.
    pub fn label(self) -> String {
        let mut parts = Vec::new();
        if self.insurance() {
            parts.push("医保".to_owned());
        }
        parts.extend(self.subsidies().iter().map(|i| format!("公{i}")));
        parts.join("+")
    }

    /// Every non-empty set of payers for a visit with `subsidies` active subsidies, with or
    /// without insurance, in a stable order (by bits).
    pub fn all_for(insurance: bool, subsidies: usize) -> Vec<Payers> {
        let n = subsidies.min(4);
        let mask: u8 = u8::from(insurance) | (((1u8 << n) - 1) << 1);
        (1..=0x1f_u8)
            .filter(|b| b & !mask == 0)
            .map(Payers)
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BurdenCode {
    pub code: char,
    /// `spec-example` (the recording specification's own examples) or `spec-table` (its table).
    pub source: String,
}

#[derive(Debug, Default)]
pub struct BurdenCodes {
    rows: HashMap<Payers, BurdenCode>,
}

impl BurdenCodes {
    pub fn get(&self, payers: Payers) -> Option<&BurdenCode> {
        self.rows.get(&payers)
    }

    /// The payers of a 負担区分 code.
    pub fn payers_of(&self, code: char) -> Option<Payers> {
        self.rows
            .iter()
            .find(|(_, c)| c.code == code)
            .map(|(p, _)| *p)
    }
}

const SOURCES: [&str; 2] = ["spec-example", "spec-table"];

pub(super) fn index(file: &str, rows: Vec<(u64, Row)>, errors: &mut Vec<RowError>) -> BurdenCodes {
    let mut out = BurdenCodes::default();
    let mut codes = HashMap::new();
    let mut last_line = 1;
    for (line, r) in rows {
        last_line = line;
        let mut bad = reporter(file, line, errors);
        let subsidies: Vec<u8> = [r.kohi1, r.kohi2, r.kohi3, r.kohi4]
            .iter()
            .zip(1..)
            .filter_map(|(on, i)| on.then_some(i))
            .collect();
        let Some(payers) = Payers::new(r.insurance, &subsidies) else {
            bad("at least one payer must be true".into());
            continue;
        };
        let mut chars = r.code.chars();
        let (Some(code), None) = (chars.next(), chars.next()) else {
            bad("code must be one character".into());
            continue;
        };
        if !code.is_ascii_digit() && !code.is_ascii_uppercase() {
            bad("code must be 0–9 or A–Z".into());
            continue;
        }
        if !SOURCES.contains(&r.source.as_str()) {
            bad(format!("source must be one of {}", SOURCES.join(", ")));
            continue;
        }
        if let Some(other) = codes.insert(code, payers) {
            bad(format!("code {code} is also used for {}", other.label()));
            continue;
        }
        if out
            .rows
            .insert(
                payers,
                BurdenCode {
                    code,
                    source: r.source,
                },
            )
            .is_some()
        {
            bad(format!("{} appears twice", payers.label()));
        }
    }
    let missing: Vec<String> = Payers::all_for(true, 4)
        .into_iter()
        .filter(|p| !out.rows.contains_key(p))
        .map(Payers::label)
        .collect();
    if !missing.is_empty() && !out.rows.is_empty() {
        errors.push(RowError {
            file: file.to_owned(),
            line: last_line,
            reason: format!("combinations without a code: {}", missing.join(", ")),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_sets_for_a_visit() {
        let all = Payers::all_for(true, 2);
        let labels: Vec<String> = all.iter().map(|p| p.label()).collect();
        assert_eq!(
            labels,
            [
                "医保",
                "公1",
                "医保+公1",
                "公2",
                "医保+公2",
                "公1+公2",
                "医保+公1+公2"
            ]
        );
        assert_eq!(Payers::all_for(false, 1).len(), 1);
        assert_eq!(Payers::all_for(true, 4).len(), 31);
        assert_eq!(Payers::all_for(true, 9).len(), 31);
        assert!(Payers::new(false, &[]).is_none());
        assert!(Payers::new(true, &[5]).is_none());
    }
}
