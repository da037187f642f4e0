//! The master tables as the gateway holds them. The tables themselves (parsed, checked,
//! indexed; no I/O) are `pmh_core::masters`, re-exported here; this module reads them from
//! their folder and keeps the live snapshot across reloads (`live.rs`).

mod live;

use std::path::Path;

use chrono::Utc;

pub use live::{MasterStore, ReloadFailure};
pub use pmh_core::masters::*;

/// Reads and checks the master files of `source` (the embedded ones, or a folder's).
pub fn load(source: &MasterSource) -> Result<MasterSnapshot, MastersError> {
    let texts: Vec<String> = match source {
        MasterSource::Embedded => MasterSnapshot::embedded_texts(),
        MasterSource::Dir(dir) => FILES
            .iter()
            .map(|n| read(dir, n))
            .collect::<Result<_, _>>()?,
    };
    MasterSnapshot::from_texts(&texts, source, Utc::now())
}

/// The tables shipped with this build, loaded now.
pub fn embedded() -> MasterSnapshot {
    MasterSnapshot::embedded_at(Utc::now())
}

fn read(dir: &Path, name: &str) -> Result<String, MastersError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|source| MastersError::Read { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_directory_copy_is_rejected_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        for name in FILES {
            std::fs::write(dir.path().join(name), embedded_text(name).unwrap()).unwrap();
        }
        assert!(load(&MasterSource::Dir(dir.path().into())).is_ok());
        let broken = embedded_text(LOCAL_FILE)
            .unwrap()
            .replace("88138243,", "88138244,");
        std::fs::write(dir.path().join(LOCAL_FILE), broken).unwrap();
        let err = load(&MasterSource::Dir(dir.path().into())).unwrap_err();
        let MastersError::Invalid(rows) = err else {
            panic!("{err}")
        };
        // The programme row, and the rule rows that now refer to a key that is gone.
        assert_eq!(rows[0].file, LOCAL_FILE);
        assert_eq!(rows[0].line, 13);
        let located: Vec<String> = rows[1..]
            .iter()
            .map(|r| format!("{}:{}", r.file, r.line))
            .collect();
        assert_eq!(
            located,
            [
                "local_copay_rules.csv:20",
                "local_copay_rules.csv:21",
                "local_copay_rules.csv:22",
                "calc_module_codes.csv:112",
                "meal_programme_rules.csv:28",
            ],
            "{rows:?}"
        );
        assert!(
            rows[0].reason.contains("check digit should be 3"),
            "{}",
            rows[0].reason
        );
    }
}
