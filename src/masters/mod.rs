//! Master tables: CSV files under `masters/`, parsed and validated into an immutable snapshot.
//!
//! Invariants: a snapshot is only built when every row of every file is valid (the loader
//! reports `file:line: reason` for each bad row); a snapshot never changes after it is built
//! (callers swap whole snapshots). The files shipped in the repository are embedded in the
//! binary, so the gateway runs without a masters directory.

mod csvfile;
pub mod local;
pub mod national;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use thiserror::Error;

use crate::domain::{LawCode, PayerNumber};
pub use local::LocalProgramme;
pub use national::NationalProgramme;
pub use store::{MasterStore, ReloadFailure};

pub const NATIONAL_FILE: &str = "national_programmes.csv";
pub const LOCAL_FILE: &str = "local_programmes.csv";

const EMBEDDED: [(&str, &str); 2] = [
    (
        NATIONAL_FILE,
        include_str!("../../masters/national_programmes.csv"),
    ),
    (
        LOCAL_FILE,
        include_str!("../../masters/local_programmes.csv"),
    ),
];

/// One bad row (or a bad file), located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub reason: String,
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

/// An immutable, indexed view of all master tables.
#[derive(Debug)]
pub struct MasterSnapshot {
    national: BTreeMap<LawCode, NationalProgramme>,
    local_exact: HashMap<String, LocalProgramme>,
    /// Sorted longest prefix first.
    local_prefix: Vec<(String, LocalProgramme)>,
    pub files: Vec<FileInfo>,
    pub loaded_at: DateTime<Utc>,
    pub source: MasterSource,
}

impl MasterSnapshot {
    pub fn load(source: &MasterSource) -> Result<Self, MastersError> {
        let texts: Vec<(String, String)> = match source {
            MasterSource::Embedded => EMBEDDED
                .iter()
                .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
                .collect(),
            MasterSource::Dir(dir) => [NATIONAL_FILE, LOCAL_FILE]
                .iter()
                .map(|n| read(dir, n).map(|t| ((*n).to_owned(), t)))
                .collect::<Result<_, _>>()?,
        };
        let mut errors = Vec::new();
        let mut files = Vec::new();
        let (nat_name, nat_text) = &texts[0];
        let (loc_name, loc_text) = &texts[1];
        let national = csvfile::parse::<national::Row>(nat_name, nat_text, &mut errors)
            .map(|(info, rows)| {
                files.push(info);
                national::index(nat_name, rows, &mut errors)
            })
            .unwrap_or_default();
        let (local_exact, local_prefix) =
            csvfile::parse::<local::Row>(loc_name, loc_text, &mut errors)
                .map(|(info, rows)| {
                    files.push(info);
                    local::index(loc_name, rows, &national, &mut errors)
                })
                .unwrap_or_default();
        if !errors.is_empty() {
            return Err(MastersError::Invalid(errors));
        }
        Ok(Self {
            national,
            local_exact,
            local_prefix,
            files,
            loaded_at: Utc::now(),
            source: source.clone(),
        })
    }

    pub fn embedded() -> Self {
        Self::load(&MasterSource::Embedded).expect("the embedded masters are valid (tested)")
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

    /// A short version string naming every file's version.
    pub fn version(&self) -> String {
        self.files
            .iter()
            .map(|f| format!("{}@{}", f.file.trim_end_matches(".csv"), f.version))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn read(dir: &Path, name: &str) -> Result<String, MastersError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|source| MastersError::Read { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_masters_load_and_cover_every_national_programme() {
        let m = MasterSnapshot::embedded();
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

    #[test]
    fn a_broken_directory_copy_is_rejected_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in EMBEDDED {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        assert!(MasterSnapshot::load(&MasterSource::Dir(dir.path().into())).is_ok());
        let broken = EMBEDDED[1].1.replace("88138243,", "88138244,");
        std::fs::write(dir.path().join(LOCAL_FILE), broken).unwrap();
        let err = MasterSnapshot::load(&MasterSource::Dir(dir.path().into())).unwrap_err();
        let MastersError::Invalid(rows) = err else {
            panic!("{err}")
        };
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].file, LOCAL_FILE);
        assert_eq!(rows[0].line, 8);
        assert!(
            rows[0].reason.contains("check digit should be 3"),
            "{}",
            rows[0].reason
        );
    }
}
