//! The folders of the terminal's share, touched only through directory handles.
//!
//! Whoever can write the share can replace a folder by a symbolic link at any moment. A path
//! resolved again for each operation would then be followed: a purge of `processed/` would
//! delete files wherever the link points (the gateway's own state included). So a [`ShareDir`]
//! remembers the folder it found at start (device and inode); each operation opens the folder
//! again without following a link, refuses it unless it is that same folder, and then works
//! on names relative to that handle (`openat`, `renameat2`, `unlinkat`), never on a path
//! resolved twice. Only a plain name (no `/`, not `.` or `..`) is accepted.
//!
//! A network share can also stop answering: a call then blocks in the kernel until the server
//! comes back. [`ShareIo`] runs those calls on the blocking pool, a bounded number at a time,
//! and gives up waiting after its deadline, so that a hung share stalls neither the runtime's
//! workers nor anything that does not touch the share.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::ReadError;

/// What is at a name in a share folder, without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A regular file: its size, modification and change times.
    File {
        size: u64,
        modified: SystemTime,
        changed: SystemTime,
    },
    Link,
    /// Anything else (a folder, a device, a FIFO): never read.
    Other,
}

/// A folder of the share as found at start (see the module).
#[derive(Debug, Clone)]
pub struct ShareDir {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

fn io(e: Errno) -> std::io::Error {
    e.into()
}

fn time(secs: i64, nanos: i64) -> SystemTime {
    let secs = u64::try_from(secs).unwrap_or(0);
    let nanos = u32::try_from(nanos).unwrap_or(0).min(999_999_999);
    SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
}

fn entry_of(st: &rustix::fs::Stat) -> Entry {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Entry::File {
            size: u64::try_from(st.st_size).unwrap_or(0),
            #[allow(clippy::unnecessary_cast)]
            modified: time(st.st_mtime as i64, st.st_mtime_nsec as i64),
            #[allow(clippy::unnecessary_cast)]
            changed: time(st.st_ctime as i64, st.st_ctime_nsec as i64),
        },
        FileType::Symlink => Entry::Link,
        _ => Entry::Other,
    }
}

/// A plain name in a folder: not empty, no `/`, no NUL, not `.` or `..`.
fn plain(name: &str) -> std::io::Result<&str> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(std::io::Error::other(format!(
            "{:?} is not a plain file name",
            super::escape_name(name)
        )));
    }
    Ok(name)
}

impl ShareDir {
    /// The folder at `path` as it is now: a real folder, not a link.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let fd = Self::open_no_follow(path)?;
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        #[allow(clippy::unnecessary_cast)]
        Ok(Self {
            path: path.to_path_buf(),
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_no_follow(path: &Path) -> std::io::Result<OwnedFd> {
        rustix::fs::open(
            path,
            OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == Errno::LOOP || e == Errno::NOTDIR {
                std::io::Error::other(format!(
                    "{} is no longer a folder (a symbolic link or a file stands there): the gateway does not follow it",
                    path.display()
                ))
            } else {
                io(e)
            }
        })
    }

    /// A handle on the folder, refused unless it is still the folder found at start.
    pub fn handle(&self) -> std::io::Result<OwnedFd> {
        let fd = Self::open_no_follow(&self.path)?;
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        #[allow(clippy::unnecessary_cast)]
        if (st.st_dev as u64, st.st_ino as u64) != (self.dev, self.ino) {
            return Err(std::io::Error::other(format!(
                "{} was replaced by another folder since the gateway started: not touched",
                self.path.display()
            )));
        }
        Ok(fd)
    }

    /// The names in the folder with what each is (links not followed).
    pub fn entries(&self) -> std::io::Result<Vec<(String, Entry)>> {
        let fd = self.handle()?;
        self.entries_of(&fd)
    }

    /// What is at `name` now; `None` when nothing is.
    pub fn stat(&self, name: &str) -> std::io::Result<Option<Entry>> {
        let fd = self.handle()?;
        match rustix::fs::statat(&fd, plain(name)?, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(entry_of(&st))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Opens the regular file `name` for reading (a link or anything else is refused; a FIFO is
    /// opened without waiting for a writer, and then refused).
    fn open_file(&self, dir: &OwnedFd, name: &str) -> Result<File, ReadError> {
        let fd = rustix::fs::openat(
            dir,
            plain(name)?,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == Errno::LOOP {
                ReadError::Link
            } else {
                ReadError::Io(io(e))
            }
        })?;
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(ReadError::NotAFile);
        }
        Ok(File::from(fd))
    }

    /// Reads the regular file `name` whole, at most `limit` bytes (as [`super::read_limited`]).
    pub fn read_limited(&self, name: &str, limit: u64) -> Result<Vec<u8>, ReadError> {
        let dir = self.handle()?;
        let f = self.open_file(&dir, name)?;
        super::read_bounded(f, limit)
    }

    /// Reads the start of `name` (at most `limit` bytes).
    pub fn read_head(&self, name: &str, limit: u64) -> Result<Vec<u8>, ReadError> {
        let dir = self.handle()?;
        let f = self.open_file(&dir, name)?;
        let mut bytes = Vec::new();
        f.take(limit).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Removes `name` (a file or a link itself, never what a link points to).
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        let fd = self.handle()?;
        rustix::fs::unlinkat(&fd, plain(name)?, AtFlags::empty()).map_err(io)
    }

    /// Writes a new owner-only file `name` (fails if anything is there).
    pub fn create_new(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let fd = self.handle()?;
        let mut f = Self::create_at(&fd, plain(name)?)?;
        f.write_all(bytes)?;
        f.flush()
    }

    fn create_at(dir: &OwnedFd, name: &str) -> std::io::Result<File> {
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )
        .map_err(io)?;
        Ok(File::from(fd))
    }

    /// Writes `bytes` under `.<name>.tmp`, then renames it over `name`: a reader never sees
    /// half a file, and a link at `name` is replaced, never followed.
    pub fn replace(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let fd = self.handle()?;
        let name = plain(name)?;
        let tmp = format!(".{name}.tmp");
        match rustix::fs::unlinkat(&fd, tmp.as_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(io(e)),
        }
        {
            let mut f = Self::create_at(&fd, &tmp)?;
            f.write_all(bytes)?;
            f.flush()?;
        }
        rustix::fs::renameat(&fd, tmp.as_str(), &fd, name).map_err(io)
    }

    /// Moves the regular file `name` into `to` under the first free name of `candidates`
    /// (nothing there is ever replaced), and makes it owner-only; the name it got. Across file
    /// systems it is copied, then removed here.
    pub fn move_into(
        &self,
        name: &str,
        to: &ShareDir,
        candidates: impl IntoIterator<Item = String>,
    ) -> std::io::Result<String> {
        let from = self.handle()?;
        let dest = to.handle()?;
        let name = plain(name)?;
        match rustix::fs::statat(&from, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {}
            Ok(_) => return Err(super::link_refused(&self.path.join(name))),
            Err(e) => return Err(io(e)),
        }
        for target in candidates {
            let target_name = plain(&target)?;
            match rustix::fs::renameat_with(&from, name, &dest, target_name, RenameFlags::NOREPLACE)
            {
                Ok(()) => {
                    Self::owner_only_at(&dest, target_name)?;
                    return Ok(target);
                }
                Err(Errno::EXIST) => continue,
                Err(Errno::XDEV) | Err(Errno::INVAL) | Err(Errno::NOSYS) => {
                    // Another file system (or one without RENAME_NOREPLACE): copy, then remove.
                    let mut src = self.open_file(&from, name).map_err(|e| match e {
                        ReadError::Io(e) => e,
                        e => std::io::Error::other(e.to_string()),
                    })?;
                    let mut dst = match Self::create_at(&dest, target_name) {
                        Ok(f) => f,
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(e),
                    };
                    std::io::copy(&mut src, &mut dst)?;
                    dst.flush()?;
                    rustix::fs::unlinkat(&from, name, AtFlags::empty()).map_err(io)?;
                    return Ok(target);
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(std::io::Error::other("no free name"))
    }

    /// Copies the regular file `name` into a new owner-only file in `to` under the first free
    /// name of `candidates`; the name it got.
    pub fn copy_into(
        &self,
        name: &str,
        to: &ShareDir,
        candidates: impl IntoIterator<Item = String>,
    ) -> Result<String, ReadError> {
        let from = self.handle()?;
        let dest = to.handle()?;
        let mut src = self.open_file(&from, name)?;
        for target in candidates {
            let mut dst = match Self::create_at(&dest, plain(&target)?) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            };
            std::io::copy(&mut src, &mut dst)?;
            dst.flush()?;
            return Ok(target);
        }
        Err(ReadError::Io(std::io::Error::other("no free name")))
    }

    fn owner_only_at(dir: &OwnedFd, name: &str) -> std::io::Result<()> {
        // The file was just renamed in by this process and is not a link (checked before the
        // rename); chmodat without following one.
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(io)?;
        rustix::fs::fchmod(fd.as_fd(), Mode::RUSR | Mode::WUSR).map_err(io)
    }

    /// Removes the regular files of this folder that `ours` says the gateway wrote and that
    /// were put here (their change time: a rename or a write sets it) before `cutoff`. Links,
    /// folders and any other name are left alone. Returns how many were removed.
    pub fn purge(&self, cutoff: SystemTime, ours: impl Fn(&str) -> bool) -> std::io::Result<usize> {
        let fd = self.handle()?;
        let mut removed = 0;
        for (name, entry) in self.entries_of(&fd)? {
            let Entry::File { changed, .. } = entry else {
                continue;
            };
            if changed < cutoff
                && ours(&name)
                && rustix::fs::unlinkat(&fd, name.as_str(), AtFlags::empty()).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn entries_of(&self, fd: &OwnedFd) -> std::io::Result<Vec<(String, Entry)>> {
        let mut dir = rustix::fs::Dir::read_from(fd).map_err(io)?;
        let mut out = Vec::new();
        while let Some(e) = dir.read() {
            let e = e.map_err(io)?;
            let raw = e.file_name().to_bytes();
            let Ok(name) = std::str::from_utf8(raw) else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            if let Ok(st) =
                rustix::fs::statat(fd, OsStr::from_bytes(raw), AtFlags::SYMLINK_NOFOLLOW)
            {
                out.push((name.to_owned(), entry_of(&st)));
            }
        }
        Ok(out)
    }
}

/// Why a call on the share gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("the share did not answer within {} ms", .0.as_millis())]
    NotAnswering(Duration),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ShareError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Holds a call that is about to touch `name` until the test lets it go: a share that does not
/// answer, for the tests that show it stalls nothing else.
pub type Stall = Arc<dyn Fn(&str) + Send + Sync>;

/// Runs blocking calls on the share off the async runtime: at most `concurrency` at once (a
/// call that never returns keeps its place, so a hung share holds a bounded number of
/// threads), each waited for at most `deadline`.
#[derive(Clone)]
pub struct ShareIo {
    permits: Arc<tokio::sync::Semaphore>,
    deadline: Duration,
    stall: Option<Stall>,
}

impl std::fmt::Debug for ShareIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareIo")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl ShareIo {
    /// Calls at once on one share: a burst at opening reads 8 files at once by default.
    pub const CONCURRENCY: usize = 16;
    /// Five seconds: a share that answers serves a listing or a read of a few KiB in
    /// milliseconds.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

    pub fn new(concurrency: usize, deadline: Duration) -> Self {
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
            deadline,
            stall: None,
        }
    }

    /// The same runner whose calls about a name first pass through `stall` (tests).
    #[doc(hidden)]
    pub fn stalled_by(mut self, stall: Stall) -> Self {
        self.stall = Some(stall);
        self
    }

    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Runs `f` (a call about `name`) on the blocking pool, within the deadline.
    pub async fn run<T: Send + 'static>(
        &self,
        name: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ShareError> {
        let late = || ShareError::NotAnswering(self.deadline);
        let start = tokio::time::Instant::now();
        let permit = tokio::time::timeout(self.deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| late())?
            .map_err(|_| late())?;
        let stall = self.stall.clone();
        let name = name.to_owned();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            if let Some(stall) = stall {
                stall(&name);
            }
            f()
        });
        let left = self.deadline.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, task).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(ShareError::Io(std::io::Error::other(e.to_string()))),
            Err(_) => Err(late()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const OLD: Duration = Duration::from_secs(3600);

    fn ours(name: &str) -> bool {
        name.starts_with("OQS")
    }

    #[test]
    fn a_purge_never_follows_a_folder_replaced_by_a_link() {
        let root = tempfile::tempdir().unwrap();
        let processed = root.path().join("processed");
        std::fs::create_dir(&processed).unwrap();
        let dir = ShareDir::open(&processed).unwrap();
        // The gateway's state, elsewhere, with names a purge would take.
        let state = root.path().join("state");
        std::fs::create_dir(&state).unwrap();
        for n in ["audit.key", "state.db", "OQSsiquc01res_x.xml"] {
            std::fs::write(state.join(n), b"keep").unwrap();
        }
        // The folder found at start is moved aside, not removed: while it exists no new folder
        // can be given its inode (a removed one's may be reused at once).
        std::fs::rename(&processed, root.path().join("original")).unwrap();
        symlink(&state, &processed).unwrap();
        let later = SystemTime::now() + OLD;
        assert!(dir.purge(later, ours).is_err(), "a link is not the folder");
        assert!(dir.purge(later, |_| true).is_err());
        // Another real folder in its place is not the folder found at start either.
        std::fs::rename(&processed, root.path().join("aside")).unwrap();
        std::fs::create_dir(&processed).unwrap();
        std::fs::write(processed.join("OQSsiquc01res_y.xml"), b"x").unwrap();
        assert!(dir.purge(later, ours).is_err());
        assert!(dir.remove("OQSsiquc01res_y.xml").is_err());
        for n in ["audit.key", "state.db", "OQSsiquc01res_x.xml"] {
            assert!(state.join(n).exists(), "{n} was removed");
        }
    }

    #[test]
    fn a_purge_removes_only_its_own_old_names() {
        let root = tempfile::tempdir().unwrap();
        let dir = ShareDir::open(root.path()).unwrap();
        for n in ["OQSsiquc01res_a.xml", "state.db", "notes.txt"] {
            std::fs::write(root.path().join(n), b"x").unwrap();
        }
        std::fs::create_dir(root.path().join("OQSfolder")).unwrap();
        symlink("/etc/hostname", root.path().join("OQSlink")).unwrap();
        assert_eq!(
            dir.purge(SystemTime::now() - OLD, ours).unwrap(),
            0,
            "none old yet"
        );
        assert_eq!(dir.purge(SystemTime::now() + OLD, ours).unwrap(), 1);
        let mut left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["OQSfolder", "OQSlink", "notes.txt", "state.db"]);
    }

    #[test]
    fn names_are_plain_and_links_are_never_read_or_moved() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        let b = root.path().join("b");
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let (da, db) = (ShareDir::open(&a).unwrap(), ShareDir::open(&b).unwrap());
        std::fs::write(root.path().join("secret"), b"secret").unwrap();
        for bad in ["../secret", "", ".", "..", "x/y"] {
            assert!(da.read_limited(bad, 100).is_err(), "{bad}");
            assert!(da.remove(bad).is_err(), "{bad}");
            assert!(da.create_new(bad, b"x").is_err(), "{bad}");
        }
        symlink(root.path().join("secret"), a.join("link.xml")).unwrap();
        assert!(matches!(
            da.read_limited("link.xml", 100),
            Err(ReadError::Link)
        ));
        assert!(da.move_into("link.xml", &db, ["link.xml".into()]).is_err());
        assert!(da.copy_into("link.xml", &db, ["link.xml".into()]).is_err());
        // A FIFO is refused without waiting for a writer.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            a.join("fifo.xml"),
            FileType::Fifo,
            Mode::RUSR | Mode::WUSR,
            0,
        )
        .unwrap();
        assert!(matches!(
            da.read_limited("fifo.xml", 100),
            Err(ReadError::NotAFile)
        ));
        // A move never replaces what is there; the next candidate is taken.
        std::fs::write(a.join("f.xml"), b"new").unwrap();
        std::fs::write(b.join("f.xml"), b"old").unwrap();
        let got = da
            .move_into("f.xml", &db, ["f.xml".into(), "f~1.xml".into()])
            .unwrap();
        assert_eq!(got, "f~1.xml");
        assert_eq!(std::fs::read(b.join("f.xml")).unwrap(), b"old");
        assert_eq!(std::fs::read(b.join("f~1.xml")).unwrap(), b"new");
        assert!(super::super::is_owner_only(&b.join("f~1.xml")).unwrap());
        assert!(!a.join("f.xml").exists());
        // Replacing writes through no link.
        db.replace("link2", b"x").unwrap();
        assert_eq!(
            std::fs::read(root.path().join("secret")).unwrap(),
            b"secret"
        );
    }

    #[tokio::test]
    async fn a_call_that_never_returns_is_given_up_and_holds_one_place() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let stall: Stall = Arc::new(move |name: &str| {
            if name == "hung" {
                let _ = rx.lock().unwrap().recv();
            }
        });
        let share = ShareIo::new(2, Duration::from_millis(200)).stalled_by(stall);
        let hung = share.run("hung", || 1).await;
        assert!(matches!(hung, Err(ShareError::NotAnswering(_))));
        // The other place still serves other names.
        assert_eq!(share.run("other", || 2).await.unwrap(), 2);
        // With both places hung, a call is refused at its deadline instead of piling up threads.
        assert!(share.run("hung", || 1).await.is_err());
        assert!(matches!(
            share.run("other", || 3).await,
            Err(ShareError::NotAnswering(_))
        ));
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        drop(tx);
        assert_eq!(share.run("other", || 4).await.unwrap(), 4);
    }
}
