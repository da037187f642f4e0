//! Master tables: CSV files under `masters/`, parsed and validated into an immutable snapshot.
//!
//! Invariants: a snapshot is only built when every row of every file is valid (the loader
//! reports `file:line: reason` for each bad row); a snapshot never changes after it is built
//! (callers swap whole snapshots). The files shipped in the repository are embedded in the
//! binary, so the gateway runs without a masters directory.

mod burden;
mod calc_codes;
mod csvfile;
mod high_cost;
mod income_caps;
mod local;
mod local_rules;
mod meals;
mod national;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::{Care, LawCode, PayerNumber};
pub use burden::{BurdenCode, BurdenCodes, Payers};
pub use calc_codes::{CalcCodeTable, CalcCodes};
pub use high_cost::{HighCostLimit, HighCostLimits, LimitKey, LimitStatus};
pub use income_caps::{CapLookup, IncomeCap, IncomeCaps, segment_key};
pub use local::LocalProgramme;
pub use local_rules::{CountScope, CountUnit, CountWhen, LocalRule, LocalRules, VisitCounting};
pub use meals::{MealCharge, MealCharges, MealClass, MealRule, MealRules, ProgrammeMealRule};
pub use national::NationalProgramme;

pub const NATIONAL_FILE: &str = "national_programmes.csv";
pub const INCOME_CAPS_FILE: &str = "national_income_caps.csv";
pub const LOCAL_FILE: &str = "local_programmes.csv";
pub const LOCAL_RULES_FILE: &str = "local_copay_rules.csv";
pub const CALC_CODES_FILE: &str = "calc_module_codes.csv";
pub const BURDEN_FILE: &str = "burden_codes.csv";
pub const HIGH_COST_FILE: &str = "high_cost_limits.csv";
pub const MEAL_CHARGES_FILE: &str = "meal_charges.csv";
pub const MEAL_RULES_FILE: &str = "meal_programme_rules.csv";

/// Every master file, in load order (later files refer to earlier ones).
pub const FILES: [&str; 9] = [
    NATIONAL_FILE,
    INCOME_CAPS_FILE,
    LOCAL_FILE,
    LOCAL_RULES_FILE,
    CALC_CODES_FILE,
    BURDEN_FILE,
    HIGH_COST_FILE,
    MEAL_CHARGES_FILE,
    MEAL_RULES_FILE,
];

const EMBEDDED: [(&str, &str); 9] = [
    (
        NATIONAL_FILE,
        include_str!("../../../../masters/national_programmes.csv"),
    ),
    (
        INCOME_CAPS_FILE,
        include_str!("../../../../masters/national_income_caps.csv"),
    ),
    (
        LOCAL_FILE,
        include_str!("../../../../masters/local_programmes.csv"),
    ),
    (
        LOCAL_RULES_FILE,
        include_str!("../../../../masters/local_copay_rules.csv"),
    ),
    (
        CALC_CODES_FILE,
        include_str!("../../../../masters/calc_module_codes.csv"),
    ),
    (
        BURDEN_FILE,
        include_str!("../../../../masters/burden_codes.csv"),
    ),
    (
        HIGH_COST_FILE,
        include_str!("../../../../masters/high_cost_limits.csv"),
    ),
    (
        MEAL_CHARGES_FILE,
        include_str!("../../../../masters/meal_charges.csv"),
    ),
    (
        MEAL_RULES_FILE,
        include_str!("../../../../masters/meal_programme_rules.csv"),
    ),
];

/// The text of a shipped master file (for tests and `masters check` baselines).
pub fn embedded_text(file: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == file).map(|(_, t)| *t)
}

/// 外来 / 入院 coverage of a programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CareScope {
    Both,
    Outpatient,
    Inpatient,
}

impl CareScope {
    pub fn covers(self, care: Care) -> bool {
        matches!(
            (self, care),
            (CareScope::Both, _)
                | (CareScope::Outpatient, Care::Outpatient)
                | (CareScope::Inpatient, Care::Inpatient)
        )
    }
}

/// What a national programme does at a 調剤 (pharmacy) claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PharmacyRule {
    /// The same rate and caps as at the clinic.
    Same,
    /// Nothing is charged at the pharmacy.
    Free,
    /// The programme does not cover pharmacy claims.
    NotCovered,
}

/// How the patient's share is set (地単公費マスター 助成方法).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopayMethod {
    /// Nothing to pay.
    Free,
    /// A share in percent (before caps).
    Rate,
    /// A fixed amount per visit.
    PerVisit,
    /// A fixed amount per day.
    PerDay,
    /// A share in percent of the copay left to the programme (before caps): e.g. half of it.
    CopayRate,
}

/// The 高額療養費 limit of the part of a bill a national programme covers (保発第42号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KohiLimitRule {
    /// 特定給付対象療養 (結核, 自立支援医療, 肝炎 …): one limit whatever the patient's class.
    Specific,
    /// The patient's own class (難病, 小慢, 特定疾患), with 多数回.
    PatientClass,
    /// 生活保護 with insurance.
    Welfare,
    /// Billed alone (no insurance on the receipt): no 高額療養費.
    None,
}

/// How a national programme's rate meets the insurance rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateRule {
    /// The programme's own rate.
    Programme,
    /// The programme's rate, or the insurance rate when that is lower (難病, 小慢).
    LowerOfInsurance,
}

/// One bad row (or a bad file), located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// The error sink of one row: `bad(reason)` records `file:line: reason`.
pub(super) fn reporter<'a>(
    file: &'a str,
    line: u64,
    errors: &'a mut Vec<RowError>,
) -> impl FnMut(String) + 'a {
    move |reason| {
        errors.push(RowError {
            file: file.to_owned(),
            line,
            reason,
        })
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

#[derive(Debug, Error)]
pub enum MastersError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} invalid row(s):\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<RowError>),
}

impl MastersError {
    /// Every problem as a located row error (a file that cannot be read is line 0).
    pub fn rows(&self) -> Vec<RowError> {
        match self {
            Self::Invalid(rows) => rows.clone(),
            Self::Read { path, source } => vec![RowError {
                file: path.display().to_string(),
                line: 0,
                reason: format!("cannot read: {source}"),
            }],
        }
    }
}

/// Where masters come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterSource {
    /// The files shipped with this build.
    Embedded,
    Dir(PathBuf),
}

#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub file: String,
    pub version: String,
    pub effective: NaiveDate,
    pub rows: usize,
}

/// The files' versions as one text: `national@2026.11,income_caps@…`.
fn version_of(files: &[FileInfo]) -> String {
    files
        .iter()
        .map(|f| format!("{}@{}", f.file.trim_end_matches(".csv"), f.version))
        .collect::<Vec<_>>()
        .join(",")
}

/// An immutable, indexed view of all master tables.
#[derive(Debug)]
pub struct MasterSnapshot {
    national: BTreeMap<LawCode, NationalProgramme>,
    local_exact: HashMap<String, LocalProgramme>,
    /// Sorted longest prefix first.
    local_prefix: Vec<(String, LocalProgramme)>,
    income_caps: IncomeCaps,
    local_rules: LocalRules,
    calc_codes: CalcCodeTable,
    burden: BurdenCodes,
    high_cost: HighCostLimits,
    meal_charges: MealCharges,
    meal_rules: MealRules,
    pub files: Vec<FileInfo>,
    pub loaded_at: DateTime<Utc>,
    pub source: MasterSource,
    /// The files' versions, as answers name them (computed once).
    version: String,
    /// Tells this snapshot apart from every other one this process built (a key for what is
    /// derived from it: a reload gives new keys, so nothing mapped with the old tables is reused).
    generation: u64,
}

impl MasterSnapshot {
    /// The texts of the files shipped with this build, in [`FILES`] order.
    pub fn embedded_texts() -> Vec<String> {
        EMBEDDED.iter().map(|(_, t)| (*t).to_owned()).collect()
    }

    /// Parses and validates the texts of the master files, in [`FILES`] order. `source` and
    /// `loaded_at` are only recorded (reading the files and the clock are the caller's).
    pub fn from_texts(
        texts: &[String],
        source: &MasterSource,
        loaded_at: DateTime<Utc>,
    ) -> Result<Self, MastersError> {
        assert_eq!(texts.len(), FILES.len(), "one text per master file");
        let mut errors = Vec::new();
        let mut files = Vec::new();
        fn parse_file<R: serde::de::DeserializeOwned>(
            i: usize,
            texts: &[String],
            files: &mut Vec<FileInfo>,
            errors: &mut Vec<RowError>,
        ) -> Option<Vec<(u64, R)>> {
            let (info, rows) = csvfile::parse(FILES[i], &texts[i], errors)?;
            files.push(info);
            Some(rows)
        }
        let national = parse_file(0, texts, &mut files, &mut errors)
            .map(|rows| national::index(NATIONAL_FILE, rows, &mut errors))
            .unwrap_or_default();
        let income_caps = parse_file(1, texts, &mut files, &mut errors)
            .map(|rows| income_caps::index(INCOME_CAPS_FILE, rows, &national, &mut errors))
            .unwrap_or_default();
        let (local_exact, local_prefix) = parse_file(2, texts, &mut files, &mut errors)
            .map(|rows| local::index(LOCAL_FILE, rows, &national, &mut errors))
            .unwrap_or_default();
        let locals = in_file_order(&local_exact, &local_prefix);
        let local_rules = parse_file(3, texts, &mut files, &mut errors)
            .map(|rows| {
                local_rules::index(LOCAL_RULES_FILE, LOCAL_FILE, rows, &locals, &mut errors)
            })
            .unwrap_or_default();
        let refs = calc_codes::Refs {
            national: &national,
            local: &locals,
            caps: &income_caps,
            local_rules: &local_rules,
        };
        let calc_codes = parse_file(4, texts, &mut files, &mut errors)
            .map(|rows| calc_codes::index(CALC_CODES_FILE, rows, &refs, &mut errors))
            .unwrap_or_default();
        let burden = parse_file(5, texts, &mut files, &mut errors)
            .map(|rows| burden::index(BURDEN_FILE, rows, &mut errors))
            .unwrap_or_default();
        let high_cost = parse_file(6, texts, &mut files, &mut errors)
            .map(|rows| high_cost::index(HIGH_COST_FILE, rows, &mut errors))
            .unwrap_or_default();
        let meal_charges = parse_file(7, texts, &mut files, &mut errors)
            .map(|rows| meals::index_charges(MEAL_CHARGES_FILE, rows, &mut errors))
            .unwrap_or_default();
        let meal_rules = parse_file(8, texts, &mut files, &mut errors)
            .map(|rows| meals::index_rules(MEAL_RULES_FILE, rows, &national, &locals, &mut errors))
            .unwrap_or_default();
        if !errors.is_empty() {
            return Err(MastersError::Invalid(errors));
        }
        static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(Self {
            national,
            local_exact,
            local_prefix,
            income_caps,
            local_rules,
            calc_codes,
            burden,
            high_cost,
            meal_charges,
            meal_rules,
            version: version_of(&files),
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            files,
            loaded_at,
            source: source.clone(),
        })
    }

    /// Checks the text of one master file (`FILES[index]`) against the other tables of this
    /// snapshot — its rows parsed and validated, its references resolved in this snapshot's
    /// tables — without building a new snapshot. Every problem is a located row error.
    pub fn check_file(&self, index: usize, text: &str) -> Result<(), Vec<RowError>> {
        let mut errors = Vec::new();
        let file = FILES[index % FILES.len()];
        fn rows<R: serde::de::DeserializeOwned>(
            file: &'static str,
            text: &str,
            errors: &mut Vec<RowError>,
        ) -> Option<Vec<(u64, R)>> {
            csvfile::parse(file, text, errors).map(|(_, rows)| rows)
        }
        let locals = || in_file_order(&self.local_exact, &self.local_prefix);
        match index % FILES.len() {
            0 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    national::index(NATIONAL_FILE, r, &mut errors);
                }
            }
            1 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    income_caps::index(INCOME_CAPS_FILE, r, &self.national, &mut errors);
                }
            }
            2 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    local::index(LOCAL_FILE, r, &self.national, &mut errors);
                }
            }
            3 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    local_rules::index(LOCAL_RULES_FILE, LOCAL_FILE, r, &locals(), &mut errors);
                }
            }
            4 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    let locals = locals();
                    let refs = calc_codes::Refs {
                        national: &self.national,
                        local: &locals,
                        caps: &self.income_caps,
                        local_rules: &self.local_rules,
                    };
                    calc_codes::index(CALC_CODES_FILE, r, &refs, &mut errors);
                }
            }
            5 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    burden::index(BURDEN_FILE, r, &mut errors);
                }
            }
            6 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    high_cost::index(HIGH_COST_FILE, r, &mut errors);
                }
            }
            7 => {
                if let Some(r) = rows(file, text, &mut errors) {
                    meals::index_charges(MEAL_CHARGES_FILE, r, &mut errors);
                }
            }
            _ => {
                if let Some(r) = rows(file, text, &mut errors) {
                    meals::index_rules(MEAL_RULES_FILE, r, &self.national, &locals(), &mut errors);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The tables shipped with this build, recorded as loaded at `loaded_at`.
    pub fn embedded_at(loaded_at: DateTime<Utc>) -> Self {
        Self::from_texts(&Self::embedded_texts(), &MasterSource::Embedded, loaded_at)
            .expect("the embedded masters are valid (tested)")
    }

    pub fn national(&self, law: LawCode) -> Option<&NationalProgramme> {
        self.national.get(&law)
    }

    pub fn national_programmes(&self) -> impl Iterator<Item = &NationalProgramme> {
        self.national.values()
    }

    /// The local programme for a payer number: an exact row, else the longest matching prefix.
    pub fn local(&self, payer: &PayerNumber) -> Option<&LocalProgramme> {
        self.local_exact.get(payer.as_str()).or_else(|| {
            self.local_prefix
                .iter()
                .find(|(p, _)| payer.as_str().starts_with(p.as_str()))
                .map(|(_, l)| l)
        })
    }

    pub fn income_cap(
        &self,
        law: LawCode,
        segment: Option<&str>,
        conditions: &[String],
    ) -> CapLookup<'_> {
        self.income_caps.lookup(law, segment, conditions)
    }

    /// The programme's income classes (`None` when its caps do not go by class here).
    pub fn income_classes(&self, law: LawCode) -> Option<Vec<&str>> {
        self.income_caps
            .has_classes(law)
            .then(|| self.income_caps.segments(law))
    }

    pub fn local_rules(&self) -> &LocalRules {
        &self.local_rules
    }

    pub fn calc_codes(&self) -> &CalcCodeTable {
        &self.calc_codes
    }

    pub fn burden_code(&self, payers: Payers) -> Option<&BurdenCode> {
        self.burden.get(payers)
    }

    /// The payers a 負担区分 code stands for.
    pub fn burden_payers(&self, code: char) -> Option<Payers> {
        self.burden.payers_of(code)
    }

    /// The 高額療養費 limits (and the limits of 公費 parts).
    pub fn meal_charges(&self) -> &MealCharges {
        &self.meal_charges
    }

    pub fn meal_rules(&self) -> &MealRules {
        &self.meal_rules
    }

    pub fn high_cost(&self) -> &HighCostLimits {
        &self.high_cost
    }

    /// The version of one file.
    pub fn file_version(&self, file: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.file == file)
            .map(|f| f.version.as_str())
    }

    /// A short version string naming every file's version.
    pub fn version(&self) -> String {
        self.version.clone()
    }

    /// Unique to this snapshot within the process.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// The local programmes, exact and prefix rules together, in the order of their file's lines
/// (what the tables after them refer to).
fn in_file_order<'a>(
    exact: &'a HashMap<String, LocalProgramme>,
    prefix: &'a [(String, LocalProgramme)],
) -> Vec<&'a LocalProgramme> {
    let mut locals: Vec<&LocalProgramme> = exact
        .values()
        .chain(prefix.iter().map(|(_, p)| p))
        .collect();
    locals.sort_by_key(|p| p.line);
    locals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_is_checked_against_the_other_tables() {
        let m = MasterSnapshot::embedded_at(DateTime::UNIX_EPOCH);
        let texts = MasterSnapshot::embedded_texts();
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(m.check_file(i, t), Ok(()), "{}", FILES[i]);
        }
        // A local programme whose 法別 the national table lacks: located.
        let broken = format!("{}\n99999999,,,,,,,,,,,\n", texts[2]);
        let errors = m.check_file(2, &broken).unwrap_err();
        assert!(
            errors.iter().all(|e| e.file == LOCAL_FILE && e.line > 0),
            "{errors:?}"
        );
    }

    #[test]
    fn embedded_masters_load_and_cover_every_national_programme() {
        let m = MasterSnapshot::embedded_at(DateTime::UNIX_EPOCH);
        let laws: Vec<u8> = m
            .national_programmes()
            .map(|p| p.law_code.value())
            .collect();
        for l in [
            10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 28, 29, 30, 38, 51, 52,
            53, 54, 62, 66, 79,
        ] {
            assert!(laws.contains(&l), "法別 {l} missing");
        }
        let p = PayerNumber::parse("88138243").unwrap();
        assert_eq!(m.local(&p).unwrap().short_name, "マル乳");
        let by_prefix =
            PayerNumber::parse(&crate::domain::check_digit::complete("8013601").unwrap()).unwrap();
        assert_eq!(m.local(&by_prefix).unwrap().short_name, "マル障");
        assert!(m.version().contains("national_programmes@"));
    }
}
