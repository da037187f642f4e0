//! The record of result files handled but left in place (`after_processing = "leave"`), so that a
//! restart does not prefetch them again. One line per file: `folder<TAB>name<TAB>size<TAB>mtime`
//! (nanoseconds since the epoch); a file that changed since (other size or time) is new again.
//! Only file names are kept, never contents.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// A file as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    pub folder: String,
    pub name: String,
    pub size: u64,
    pub mtime_ns: u128,
}

impl Entry {
    pub fn new(folder: &str, name: &str, size: u64, mtime: SystemTime) -> Self {
        Self {
            folder: folder.to_owned(),
            name: name.to_owned(),
            size,
            mtime_ns: mtime
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        }
    }

    fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\n",
            self.folder, self.name, self.size, self.mtime_ns
        )
    }

    fn parse(line: &str) -> Option<Self> {
        let mut it = line.split('\t');
        let e = Self {
            folder: it.next()?.to_owned(),
            name: it.next()?.to_owned(),
            size: it.next()?.parse().ok()?,
            mtime_ns: it.next()?.trim_end().parse().ok()?,
        };
        it.next().is_none().then_some(e)
    }
}

pub struct Ledger {
    entries: HashSet<Entry>,
    file: std::fs::File,
}

impl Ledger {
    /// Opens (or creates) the ledger and drops entries whose file is gone or changed, so that it
    /// does not grow without bound. `exists` tells whether an entry still names a file as it was.
    pub fn open(path: &Path, exists: impl Fn(&Entry) -> bool) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let entries: HashSet<Entry> = text
            .lines()
            .filter_map(Entry::parse)
            .filter(|e| exists(e))
            .collect();
        // Rewrite compacted, atomically.
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            for e in &entries {
                f.write_all(e.line().as_bytes())?;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        Ok(Self { entries, file })
    }

    pub fn contains(&self, e: &Entry) -> bool {
        self.entries.contains(e)
    }

    /// Records a handled file (appended and flushed to the OS at once).
    pub fn record(&mut self, e: Entry) -> std::io::Result<()> {
        if self.entries.contains(&e) {
            return Ok(());
        }
        self.file.write_all(e.line().as_bytes())?;
        self.file.flush()?;
        self.entries.insert(e);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_and_vanished_files_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/ledger.tsv");
        let t = UNIX_EPOCH + std::time::Duration::from_nanos(1_700_000_000_123_456_789);
        let a = Entry::new("face", "OQSsiquc01res_face_a.xml", 10, t);
        let b = Entry::new("face", "OQSsiquc01res_face_b.xml", 20, t);
        {
            let mut l = Ledger::open(&path, |_| true).unwrap();
            l.record(a.clone()).unwrap();
            l.record(b.clone()).unwrap();
            l.record(b.clone()).unwrap();
        }
        let l = Ledger::open(&path, |_| true).unwrap();
        assert!(l.contains(&a) && l.contains(&b));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        let l = Ledger::open(&path, |e| e.name.ends_with("a.xml")).unwrap();
        assert!(l.contains(&a) && !l.contains(&b));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        // A file with the same name but another size is not the recorded one.
        assert!(!l.contains(&Entry::new("face", "OQSsiquc01res_face_a.xml", 11, t)));
    }
}
