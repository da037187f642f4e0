//! File operations for folders the gateway shares with other programs (the オン資 terminal's
//! share) and for the state it keeps: owner-only modes, symbolic links never followed, reads
//! bounded in size, and file names escaped before they reach a log or a record.
//!
//! Invariants: every file and folder created here is owner-only (0600 / 0700); nothing here
//! opens, reads, writes or moves through a symbolic link (the last component is opened with
//! `O_NOFOLLOW`, folders are refused when they are links); a read never takes more than its
//! limit (+1 byte to tell that the limit was passed).

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

mod share;
pub use share::{Entry, ShareDir, ShareError, ShareIo, Stall};

/// Why a bounded, link-refusing read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("a symbolic link (never followed)")]
    Link,
    #[error("not a regular file")]
    NotAFile,
    #[error("{size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ReadError {
    /// The file is not there (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Whether `path` itself is a symbolic link (not following it).
pub fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn no_follow(o: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW);
    }
    o
}

fn owner_only_mode(o: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Maps the error of opening a link with `O_NOFOLLOW` (ELOOP) to [`ReadError::Link`].
fn open_error(path: &Path, e: std::io::Error) -> ReadError {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) || is_link(path) {
        return ReadError::Link;
    }
    #[cfg(not(unix))]
    let _ = path;
    ReadError::Io(e)
}

/// Opens a regular file for reading, refusing a symbolic link.
pub fn open_no_follow(path: &Path) -> Result<File, ReadError> {
    let f = no_follow(OpenOptions::new().read(true))
        .open(path)
        .map_err(|e| open_error(path, e))?;
    if !f.metadata()?.is_file() {
        return Err(ReadError::NotAFile);
    }
    Ok(f)
}

/// Reads a whole regular file of at most `limit` bytes, refusing a symbolic link. A larger file
/// is refused from its size, without reading it; one that grows past the limit while read is
/// refused after `limit + 1` bytes.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_bounded(open_no_follow(path)?, limit)
}

/// Reads an open file whole, at most `limit` bytes (see [`read_limited`]).
fn read_bounded(f: File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let size = f.metadata()?.len();
    if size > limit {
        return Err(ReadError::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    f.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Creates `dir` (and its parents) with mode 0700 where it does not exist, and tightens an
/// existing `dir` to 0700. A `dir` that is a symbolic link is refused.
pub fn owner_only_dir(dir: &Path) -> std::io::Result<()> {
    if is_link(dir) {
        return Err(link_refused(dir));
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The error for a path that is a symbolic link where a real file or folder is needed.
pub fn link_refused(path: &Path) -> std::io::Error {
    std::io::Error::other(format!(
        "{} is a symbolic link, which the gateway never follows",
        path.display()
    ))
}

/// Refuses a folder that is a symbolic link or not a folder.
pub fn check_real_dir(dir: &Path) -> std::io::Result<()> {
    let m = std::fs::symlink_metadata(dir)?;
    if m.file_type().is_symlink() {
        return Err(link_refused(dir));
    }
    if !m.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a folder",
            dir.display()
        )));
    }
    Ok(())
}

/// Creates a new file readable and writable by its owner only (0600); fails if anything (a
/// file or a link) is already there.
pub fn create_owner_only(path: &Path) -> std::io::Result<File> {
    owner_only_mode(no_follow(OpenOptions::new().write(true).create_new(true))).open(path)
}

/// Writes a new owner-only file (fails if anything is already there).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = create_owner_only(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Opens an owner-only file for appending, creating it when absent; a link is refused.
pub fn append_owner_only(path: &Path) -> std::io::Result<File> {
    owner_only_mode(no_follow(OpenOptions::new().append(true).create(true))).open(path)
}

/// Writes `bytes` under a temporary name next to `path`, then renames it over `path`: a reader
/// never sees half a file, and a link at `path` is replaced, never followed.
pub fn replace_atomically(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let tmp = temp_name(path);
    let _ = std::fs::remove_file(&tmp);
    {
        let mut f = create_owner_only(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
    }
    std::fs::rename(&tmp, path)
}

/// `.<name>.tmp` beside `path` (a leading dot: programs that list result files skip it).
pub fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Copies a regular file (not a link) into a new owner-only file at `to`.
pub fn copy_no_follow(from: &Path, to: &Path) -> Result<u64, ReadError> {
    let mut src = open_no_follow(from)?;
    let mut dst = create_owner_only(to)?;
    let n = std::io::copy(&mut src, &mut dst)?;
    dst.flush()?;
    Ok(n)
}

/// Sets an existing file to 0600.
pub fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether only the owner may read or write `path` (always true where modes do not exist).
pub fn is_owner_only(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(std::fs::symlink_metadata(path)?.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(true)
    }
}

/// Whether a secret file the operator provides (the store's hashing secret) is private: nothing
/// for others, and nothing for the group either — except reading when root owns the file, which
/// is how Kubernetes (with `fsGroup`) and secret managers hand a secret to a service's group (the
/// rule PostgreSQL applies to its server key). The link is followed: mounted secrets often are
/// links.
pub fn is_private_secret(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        let mode = m.mode();
        Ok(mode & 0o007 == 0 && (mode & 0o070 == 0 || (m.uid() == 0 && mode & 0o070 == 0o040)))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(true)
    }
}

/// A file name made safe for a log line or a record (see `domain::text::escape_text`).
pub fn escape_name(name: &str) -> Cow<'_, str> {
    pmh_core::domain::text::escape_text(name)
}

/// Reads the start of a file (at most `limit` bytes, no link followed) as text with control
/// characters escaped: for a log line about a file whose content is not trusted.
pub fn head_escaped(path: &Path, limit: u64) -> Result<String, ReadError> {
    let f = open_no_follow(path)?;
    let mut bytes = Vec::new();
    f.take(limit).read_to_end(&mut bytes)?;
    Ok(escape_name(String::from_utf8_lossy(&bytes).trim()).into_owned())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_private_when_owner_only_or_group_read_under_root() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("audit.key");
        std::fs::write(&key, [0u8; 32]).unwrap();
        let link = dir.path().join("link.key");
        std::os::unix::fs::symlink(&key, &link).unwrap();
        let root = std::fs::metadata(&key).unwrap().uid() == 0;
        for (mode, private) in [
            (0o600, true),
            (0o400, true),
            (0o640, root),
            (0o440, root),
            (0o660, false),
            (0o604, false),
            (0o644, false),
        ] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(is_private_secret(&key).unwrap(), private, "{mode:o}");
            assert_eq!(
                is_private_secret(&link).unwrap(),
                private,
                "{mode:o} via a link"
            );
        }
    }

    #[test]
    fn links_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, b"secret").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(read_limited(&link, 100), Err(ReadError::Link)));
        assert!(matches!(open_no_follow(&link), Err(ReadError::Link)));
        assert!(matches!(
            copy_no_follow(&link, &dir.path().join("copy")),
            Err(ReadError::Link)
        ));
        // Writing where a link stands fails, and the link's target is untouched.
        assert!(create_owner_only(&link).is_err());
        assert!(append_owner_only(&link).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        // A folder that is a link is refused.
        let dlink = dir.path().join("dlink");
        std::os::unix::fs::symlink(dir.path(), &dlink).unwrap();
        assert!(owner_only_dir(&dlink).is_err());
        assert!(check_real_dir(&dlink).is_err());
        // Replacing a link replaces the link itself.
        replace_atomically(&link, b"new", false).unwrap();
        assert!(!is_link(&link));
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'x'; 2000]).unwrap();
        assert!(matches!(
            read_limited(&p, 1000),
            Err(ReadError::TooLarge { size: 2000, .. })
        ));
        assert_eq!(read_limited(&p, 2000).unwrap().len(), 2000);
        assert_eq!(head_escaped(&p, 10).unwrap().len(), 10);
    }

    #[test]
    fn created_files_and_folders_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        owner_only_dir(&d).unwrap();
        assert!(is_owner_only(&d).unwrap());
        let f = d.join("f");
        write_new(&f, b"x").unwrap();
        assert!(is_owner_only(&f).unwrap());
        let g = d.join("g");
        std::fs::write(&g, b"y").unwrap();
        assert!(copy_no_follow(&g, &d.join("h")).is_ok());
        assert!(is_owner_only(&d.join("h")).unwrap());
        replace_atomically(&d.join("r"), b"z", true).unwrap();
        assert!(is_owner_only(&d.join("r")).unwrap());
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(escape_name("OQSsiquc01res_a.xml"), "OQSsiquc01res_a.xml");
        assert_eq!(escape_name("a\nb\tc"), "a\\u{a}b\\u{9}c");
        assert_eq!(escape_name("a\u{202E}lmx.exe"), "a\\u{202e}lmx.exe");
        assert_eq!(escape_name("a\\u{a}"), "a\\u{5c}u{a}");
        assert!(!escape_name("x\u{1b}[31m").contains('\u{1b}'));
    }
}
