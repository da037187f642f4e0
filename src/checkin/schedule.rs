//! The watcher's scheduling core, without a file system or a clock: which files are known, when
//! one is complete and ready to read, how many are read at once, and what happens after a read.
//! The shell (`watcher.rs`) feeds it what it sees (events, listings, file versions) with the time
//! it saw it, and does what it is told (stat, read, dispose).
//!
//! A file is ready when its writer closed it or renamed it in (an event says so), or when its
//! version (size, modification time) has not changed for `settle`. A read that looked cut off
//! makes it wait for a change; unchanged for `incomplete_grace`, it is rejected. A file read to
//! the end is not read again in this run while its version stays the same (nor, when files stay
//! in place, across runs: the shell's ledger answers `handled_before`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The folder a result file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    Face,
    Res,
}

impl Folder {
    pub fn label(self) -> &'static str {
        match self {
            Self::Face => "face",
            Self::Res => "res",
        }
    }
}

/// A file's identity as far as the watcher cares: a change of either means new content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub size: u64,
    pub mtime: SystemTime,
}

/// How a file's processing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Processed,
    Rejected,
    /// Looked cut off; read again after it changes (or reject after the grace).
    Partial(String),
    /// Changed while it was read, or vanished.
    Again,
}

/// What the shell is to do with a file that is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub path: PathBuf,
    pub folder: Folder,
    pub version: Version,
    /// Set when this version was read before and looked cut off, and has not changed for the
    /// grace: reject it with this reason, without reading it again.
    pub reject_as_partial: Option<String>,
}

#[derive(Debug)]
struct Pending {
    folder: Folder,
    version: Version,
    /// When `version` was last seen to change.
    changed_at: Instant,
    /// When the file was last seen at all (a listing begun before then does not forget it).
    seen_at: Instant,
    ready: bool,
    /// The last read of this version looked cut off.
    partial: Option<String>,
}

/// The scheduling state of one watcher run.
#[derive(Debug)]
pub struct Schedule {
    settle: Duration,
    incomplete_grace: Duration,
    concurrency: usize,
    pending: HashMap<PathBuf, Pending>,
    in_flight: HashSet<PathBuf>,
    /// Files handled in this run, and when (a later sighting of the same version is ignored).
    handled: HashMap<PathBuf, (Version, Instant)>,
}

impl Schedule {
    pub fn new(settle: Duration, incomplete_grace: Duration, concurrency: usize) -> Self {
        Self {
            settle,
            incomplete_grace,
            concurrency: concurrency.max(1),
            pending: HashMap::new(),
            in_flight: HashSet::new(),
            handled: HashMap::new(),
        }
    }

    /// Files known and not yet finished: waiting, ready, or being read.
    pub fn outstanding(&self) -> usize {
        self.pending.len() + self.in_flight.len()
    }

    /// Notes a file seen by an event (`complete` when the writer closed or renamed it) or a
    /// listing. `handled_before` tells whether an earlier run handled this version (the ledger).
    /// Returns true when the file is new to this run (to count it as seen).
    pub fn observe(
        &mut self,
        path: PathBuf,
        folder: Folder,
        v: Version,
        complete: bool,
        now: Instant,
        handled_before: impl FnOnce() -> bool,
    ) -> bool {
        if self.in_flight.contains(&path) || self.handled.get(&path).map(|h| h.0) == Some(v) {
            return false;
        }
        if let Some(p) = self.pending.get_mut(&path) {
            p.seen_at = now;
            if p.version != v {
                p.version = v;
                p.changed_at = now;
                p.ready = false;
                p.partial = None;
            }
            if complete && p.partial.is_none() {
                p.ready = true;
            }
            return false;
        }
        if handled_before() {
            return false;
        }
        self.pending.insert(
            path,
            Pending {
                folder,
                version: v,
                changed_at: now,
                seen_at: now,
                ready: complete,
                partial: None,
            },
        );
        true
    }

    /// Whether the file is known and waiting (to settle, or ready to be read).
    pub fn is_pending(&self, path: &Path) -> bool {
        self.pending.contains_key(path)
    }

    /// A file is gone (moved away by us or someone else): forget it unless it is being read.
    pub fn gone(&mut self, path: &Path) {
        self.pending.remove(path);
    }

    /// A full listing of the folders, begun at `began`: what it did not list is forgotten —
    /// unless it was seen or handled after the listing began (a listing is not newer than
    /// what was learnt while it ran).
    pub fn listed(&mut self, present: &HashSet<&PathBuf>, began: Instant) {
        let in_flight = &self.in_flight;
        self.pending.retain(|p, pending| {
            present.contains(p) || in_flight.contains(p) || pending.seen_at >= began
        });
        self.handled
            .retain(|p, (_, at)| present.contains(p) || *at >= began);
    }

    /// The files whose settle time has passed at `now` and whose version the shell is to look
    /// at again (then [`Schedule::restat`]).
    pub fn due(&self, now: Instant) -> Vec<PathBuf> {
        self.pending
            .iter()
            .filter(|(_, p)| !p.ready && now.duration_since(p.changed_at) >= self.settle)
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// The version of a due file now (`None`: gone). Unchanged since it was last seen, it is
    /// ready — unless its last read looked cut off, which waits for the grace.
    pub fn restat(&mut self, path: &Path, now_version: Option<Version>, now: Instant) {
        let Some(v) = now_version else {
            self.pending.remove(path);
            return;
        };
        let Some(p) = self.pending.get_mut(path) else {
            return;
        };
        if v != p.version {
            p.version = v;
            p.changed_at = now;
            p.partial = None;
        } else if p.partial.is_none() || now.duration_since(p.changed_at) >= self.incomplete_grace {
            p.ready = true;
        }
    }

    /// The next file to read, oldest first, while fewer than `concurrency` are being read.
    pub fn next_job(&mut self) -> Option<Job> {
        if self.in_flight.len() >= self.concurrency {
            return None;
        }
        let path = self
            .pending
            .iter()
            .filter(|(_, p)| p.ready)
            .min_by(|(a, pa), (b, pb)| {
                (pa.version.mtime, a.as_path()).cmp(&(pb.version.mtime, b.as_path()))
            })
            .map(|(k, _)| k.clone())?;
        let p = self.pending.remove(&path)?;
        self.in_flight.insert(path.clone());
        Some(Job {
            path,
            folder: p.folder,
            version: p.version,
            reject_as_partial: p.partial,
        })
    }

    /// A read ended. Returns true when the shell is to look at the file again (`Again`: it
    /// changed while it was read) and [`Schedule::observe`] what it finds.
    pub fn finished(&mut self, job: &Job, done: Done, now: Instant) -> bool {
        self.in_flight.remove(&job.path);
        match done {
            Done::Processed | Done::Rejected => {
                self.handled.insert(job.path.clone(), (job.version, now));
                false
            }
            Done::Partial(reason) => {
                self.pending.insert(
                    job.path.clone(),
                    Pending {
                        folder: job.folder,
                        version: job.version,
                        changed_at: now,
                        seen_at: now,
                        ready: false,
                        partial: Some(reason),
                    },
                );
                false
            }
            Done::Again => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_millis(300);
    const GRACE: Duration = Duration::from_millis(1000);

    fn v(size: u64, secs: u64) -> Version {
        Version {
            size,
            mtime: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    fn p(name: &str) -> PathBuf {
        PathBuf::from(format!("/face/{name}"))
    }

    fn schedule(concurrency: usize) -> Schedule {
        Schedule::new(SETTLE, GRACE, concurrency)
    }

    #[test]
    fn a_closed_file_is_ready_at_once_and_read_once() {
        let t0 = Instant::now();
        let mut s = schedule(4);
        assert!(s.observe(p("a"), Folder::Face, v(10, 1), true, t0, || false));
        let job = s.next_job().unwrap();
        assert_eq!(
            (job.path.clone(), job.reject_as_partial.clone()),
            (p("a"), None)
        );
        // While it is read, a sighting changes nothing; after, the same version is ignored.
        assert!(!s.observe(p("a"), Folder::Face, v(10, 1), true, t0, || false));
        assert!(!s.finished(&job, Done::Processed, t0));
        assert!(!s.observe(p("a"), Folder::Face, v(10, 1), true, t0, || false));
        assert!(s.next_job().is_none());
        assert_eq!(s.outstanding(), 0);
    }

    #[test]
    fn a_file_without_a_close_event_waits_until_it_stops_changing() {
        let t0 = Instant::now();
        let mut s = schedule(4);
        s.observe(p("a"), Folder::Face, v(10, 1), false, t0, || false);
        assert!(s.due(t0 + SETTLE / 2).is_empty());
        assert!(s.next_job().is_none());
        // Grown meanwhile: the settle time starts again.
        let t1 = t0 + SETTLE;
        assert_eq!(s.due(t1), vec![p("a")]);
        s.restat(&p("a"), Some(v(20, 2)), t1);
        assert!(s.next_job().is_none());
        let t2 = t1 + SETTLE;
        s.restat(&p("a"), Some(v(20, 2)), t2);
        assert_eq!(s.next_job().unwrap().version, v(20, 2));
    }

    #[test]
    fn a_cut_off_read_waits_for_a_change_and_is_rejected_after_the_grace() {
        let t0 = Instant::now();
        let mut s = schedule(4);
        s.observe(p("a"), Folder::Face, v(10, 1), true, t0, || false);
        let job = s.next_job().unwrap();
        s.finished(&job, Done::Partial("cut off".into()), t0);
        // A close event for the same version does not make it ready again.
        s.observe(p("a"), Folder::Face, v(10, 1), true, t0, || false);
        assert!(s.next_job().is_none());
        // Unchanged past the settle, but within the grace: still waiting.
        s.restat(&p("a"), Some(v(10, 1)), t0 + SETTLE);
        assert!(s.next_job().is_none());
        // Past the grace: rejected without another read.
        s.restat(&p("a"), Some(v(10, 1)), t0 + GRACE);
        let job = s.next_job().unwrap();
        assert_eq!(job.reject_as_partial.as_deref(), Some("cut off"));
    }

    #[test]
    fn a_cut_off_file_that_changes_is_read_again() {
        let t0 = Instant::now();
        let mut s = schedule(4);
        s.observe(p("a"), Folder::Face, v(10, 1), true, t0, || false);
        let job = s.next_job().unwrap();
        s.finished(&job, Done::Partial("cut off".into()), t0);
        s.observe(p("a"), Folder::Face, v(30, 2), true, t0, || false);
        let job = s.next_job().unwrap();
        assert_eq!((job.version, job.reject_as_partial), (v(30, 2), None));
    }

    #[test]
    fn reads_are_bounded_and_oldest_first() {
        let t0 = Instant::now();
        let mut s = schedule(2);
        for (name, secs) in [("c", 3), ("a", 1), ("b", 2)] {
            s.observe(p(name), Folder::Face, v(1, secs), true, t0, || false);
        }
        let first = s.next_job().unwrap();
        let second = s.next_job().unwrap();
        assert_eq!((first.path.clone(), second.path), (p("a"), p("b")));
        assert!(s.next_job().is_none(), "two at once");
        s.finished(&first, Done::Processed, t0);
        assert_eq!(s.next_job().unwrap().path, p("c"));
    }

    #[test]
    fn handled_before_and_vanished_files_are_not_read() {
        let t0 = Instant::now();
        let mut s = schedule(4);
        assert!(!s.observe(p("old"), Folder::Res, v(1, 1), true, t0, || true));
        s.observe(p("gone"), Folder::Face, v(1, 1), false, t0, || false);
        s.restat(&p("gone"), None, t0 + SETTLE);
        s.observe(p("moved"), Folder::Face, v(1, 1), false, t0, || false);
        s.listed(&HashSet::new(), t0 + Duration::from_secs(3600));
        assert!(s.next_job().is_none());
        assert_eq!(s.outstanding(), 0);
    }

    /// Listings and looks run beside each other: a listing begun before a file was seen (or
    /// handled) does not forget it, so it is neither counted as new again nor read twice.
    #[test]
    fn a_listing_older_than_a_sighting_does_not_forget_it() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = schedule(4);
        assert!(s.observe(p("new"), Folder::Face, v(1, 1), false, t0 + ms(1), || false));
        s.listed(&HashSet::new(), t0);
        assert!(
            !s.observe(p("new"), Folder::Face, v(1, 1), true, t0 + ms(2), || false),
            "not new again"
        );
        let job = s.next_job().unwrap();
        assert!(!s.finished(&job, Done::Processed, t0 + ms(3)));
        s.listed(&HashSet::new(), t0 + ms(2));
        assert!(
            !s.observe(p("new"), Folder::Face, v(1, 1), true, t0 + ms(4), || false),
            "handled after the listing began: still handled"
        );
        // A listing begun after both forgets it.
        s.listed(&HashSet::new(), t0 + ms(5));
        assert_eq!(s.outstanding(), 0);
    }

    #[test]
    fn a_file_changed_during_its_read_is_looked_at_again() {
        let t0 = Instant::now();
        let mut s = schedule(4);
        s.observe(p("a"), Folder::Face, v(1, 1), true, t0, || false);
        let job = s.next_job().unwrap();
        assert!(s.finished(&job, Done::Again, t0));
        assert!(s.observe(p("a"), Folder::Face, v(2, 2), false, t0, || false));
    }
}
