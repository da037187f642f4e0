//! The live master snapshot and its reloads: a new snapshot replaces the old one atomically and
//! only when every file is valid; a failed reload is remembered (for `/readyz` and the reload
//! response) while the old snapshot keeps serving.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{MasterSnapshot, MasterSource, MastersError, RowError, load};

/// Why the last reload was refused.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadFailure {
    pub at: DateTime<Utc>,
    pub errors: Vec<RowError>,
}

pub struct MasterStore {
    source: MasterSource,
    current: RwLock<Arc<MasterSnapshot>>,
    last_failure: RwLock<Option<ReloadFailure>>,
}

impl MasterStore {
    pub fn open(source: MasterSource) -> Result<Self, MastersError> {
        let snapshot = load(&source)?;
        Ok(Self::with_snapshot(source, snapshot))
    }

    pub fn with_snapshot(source: MasterSource, snapshot: MasterSnapshot) -> Self {
        Self {
            source,
            current: RwLock::new(Arc::new(snapshot)),
            last_failure: RwLock::new(None),
        }
    }

    /// The embedded tables.
    pub fn embedded() -> Self {
        Self::with_snapshot(MasterSource::Embedded, super::embedded())
    }

    pub fn source(&self) -> &MasterSource {
        &self.source
    }

    /// The snapshot in force; a check keeps the one it started with.
    pub fn current(&self) -> Arc<MasterSnapshot> {
        self.current.read().expect("masters lock").clone()
    }

    /// Loads the source again; on success swaps the snapshot in, on failure keeps the old one
    /// and remembers why.
    pub fn reload(&self) -> Result<Arc<MasterSnapshot>, MastersError> {
        match load(&self.source) {
            Ok(s) => {
                let s = Arc::new(s);
                *self.current.write().expect("masters lock") = s.clone();
                *self.last_failure.write().expect("masters lock") = None;
                tracing::info!(version = %s.version(), "master tables reloaded");
                Ok(s)
            }
            Err(e) => {
                let rows = e.rows();
                for r in &rows {
                    tracing::error!(error = %r, "master tables rejected; the previous snapshot keeps serving");
                }
                *self.last_failure.write().expect("masters lock") = Some(ReloadFailure {
                    at: Utc::now(),
                    errors: rows,
                });
                Err(e)
            }
        }
    }

    pub fn last_failure(&self) -> Option<ReloadFailure> {
        self.last_failure.read().expect("masters lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masters::{FILES, LOCAL_FILE, embedded_text};

    #[test]
    fn a_bad_reload_keeps_the_old_snapshot_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        for name in FILES {
            std::fs::write(dir.path().join(name), embedded_text(name).unwrap()).unwrap();
        }
        let store = MasterStore::open(MasterSource::Dir(dir.path().into())).unwrap();
        let before = store.current();
        std::fs::write(
            dir.path().join(LOCAL_FILE),
            "# version: x\n# effective: 2026-04-01\nbroken",
        )
        .unwrap();
        assert!(store.reload().is_err());
        assert!(
            Arc::ptr_eq(&before, &store.current()),
            "the old snapshot keeps serving"
        );
        let failure = store.last_failure().unwrap();
        assert_eq!(failure.errors[0].file, LOCAL_FILE);

        std::fs::write(
            dir.path().join(LOCAL_FILE),
            embedded_text(LOCAL_FILE).unwrap(),
        )
        .unwrap();
        let after = store.reload().unwrap();
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(store.last_failure().is_none());
    }
}
