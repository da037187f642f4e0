//! The record of result files handled but left in place (`after_processing = "leave"`), so that a
//! restart does not prefetch them again. One line per file: `folder<TAB>name<TAB>size<TAB>mtime`
//! (nanoseconds since the epoch); a file that changed since (other size or time) is new again.
//! Only file names are kept, never contents. A name's control, bidi and zero-width characters
//! and `%` are written as `%XX` (its UTF-8 bytes), so that no name can break a line or a field,
//! or hide itself from whoever reads the file. The ledger is owner-only and never written
//! through a link.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::files;

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
            encode_name(&self.folder),
            encode_name(&self.name),
            self.size,
            self.mtime_ns
        )
    }

    fn parse(line: &str) -> Option<Self> {
        let mut it = line.split('\t');
        let e = Self {
            folder: decode_name(it.next()?)?,
            name: decode_name(it.next()?)?,
            size: it.next()?.parse().ok()?,
            mtime_ns: it.next()?.trim_end().parse().ok()?,
        };
        it.next().is_none().then_some(e)
    }
}

fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() || c == '%' || crate::domain::text::is_invisible_format(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn decode_name(field: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(field.len());
    let mut it = field.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex = [it.next()?, it.next()?];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// The largest ledger read at start (a line is under 300 bytes; a day's files are a few
/// thousand).
const MAX_LEDGER_BYTES: u64 = 64 << 20;

pub struct HandledFiles {
    entries: HashSet<Entry>,
    file: std::fs::File,
}

impl HandledFiles {
    /// Opens (or creates) the ledger and drops entries whose file is gone or changed, so that it
    /// does not grow without bound. `exists` tells whether an entry still names a file as it was.
    pub fn open(path: &Path, exists: impl Fn(&Entry) -> bool) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::owner_only_dir(dir)?;
        }
        let bytes = match files::read_limited(path, MAX_LEDGER_BYTES) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(files::ReadError::Io(e)) => return Err(e),
            Err(e) => {
                return Err(std::io::Error::other(format!("{}: {e}", path.display())));
            }
        };
        let entries: HashSet<Entry> = String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(Entry::parse)
            .filter(|e| exists(e))
            .collect();
        // Rewrite compacted, atomically.
        let text: String = entries.iter().map(Entry::line).collect();
        files::replace_atomically(path, text.as_bytes(), true)?;
        let file = files::append_owner_only(path)?;
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
            let mut l = HandledFiles::open(&path, |_| true).unwrap();
            l.record(a.clone()).unwrap();
            l.record(b.clone()).unwrap();
            l.record(b.clone()).unwrap();
        }
        let l = HandledFiles::open(&path, |_| true).unwrap();
        assert!(l.contains(&a) && l.contains(&b));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        let l = HandledFiles::open(&path, |e| e.name.ends_with("a.xml")).unwrap();
        assert!(l.contains(&a) && !l.contains(&b));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        // A file with the same name but another size is not the recorded one.
        assert!(!l.contains(&Entry::new("face", "OQSsiquc01res_face_a.xml", 11, t)));
    }

    #[test]
    fn names_with_control_characters_stay_on_one_line_and_come_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.tsv");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let odd = "OQSsiquc01res_a\tb\nc%41\u{202e}d\u{1b}[31m.xml";
        let e = Entry::new("face", odd, 10, t);
        {
            let mut l = HandledFiles::open(&path, |_| true).unwrap();
            l.record(e.clone()).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\t' && c != '\n')
        );
        assert!(!text.contains('\u{202e}'));
        assert_eq!(text.matches('\t').count(), 3);
        let l = HandledFiles::open(&path, |_| true).unwrap();
        assert!(l.contains(&e));
        assert!(files::is_owner_only(&path).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_ledger_that_is_a_link_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.txt");
        std::fs::write(&target, "not a ledger\n").unwrap();
        let path = dir.path().join("ledger.tsv");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(HandledFiles::open(&path, |_| true).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a ledger\n");
    }
}
