//! The folder watcher: finds オン資 result files (`OQSsiquc01res_*.xml`) in `face` (and `res`),
//! reads each once it is complete, prefetches, and disposes of it.
//!
//! Finding: notify events (inotify on Linux) and, as a fallback for network shares where events
//! do not arrive, a rescan of the folders every `rescan_interval`. A file is complete when its
//! writer closed it or renamed it in (events), or when its size and modification time have not
//! changed for `settle`. A file that then fails to parse as a cut-off document is read again
//! when it changes, and rejected only once it has not changed for `incomplete_grace`.
//!
//! Disposal: processed files move to `processed_dir` (or stay, recorded in the ledger);
//! rejected ones move (or, when files stay, are copied) to `rejected_dir` with
//! `<name>.reason.txt`. Files in `res` always stay (they answer the receipt computer's requests). A name already taken there gets a `~N` suffix: nothing is overwritten.
//! Unprocessed files stay where they are, so a restart picks them up again.
//!
//! Hostile files: a symbolic link is never read, moved or written through — it is rejected with
//! a reason file and left as it is; a file larger than `max_file_bytes` is rejected from its
//! size, unread; a file naming a My Number is never copied (moved-mode: removed from `face`;
//! left-mode: left, recorded). File names reach logs, reason files and the ledger escaped.
//! Files in `processed` and `rejected` are removed `retention` after they were put there.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::handled::{Entry, HandledFiles};
use super::schedule::{Done, Folder, Job, Schedule, Version};
use super::{FileError, prefetch};
use crate::domain::text::without_controls;
use crate::files::{self, ReadError, ShareDir, ShareError, ShareIo, escape_name};
use crate::metrics::Metrics;
use crate::service::SubsidyService;
use crate::store::Recorder;

/// What happens to a processed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposal {
    /// Move it into this folder.
    Move(PathBuf),
    /// Leave it where it is (the receipt computer reads the folder too); the ledger file records
    /// it so that a restart does not process it again.
    Leave { ledger: PathBuf },
}

#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub face_dir: PathBuf,
    /// Results of requests (the receipt computer's); optional.
    pub res_dir: Option<PathBuf>,
    pub disposal: Disposal,
    pub rejected_dir: PathBuf,
    /// Full rescans of the folders (the fallback when events do not arrive).
    pub rescan_interval: Duration,
    /// A file unchanged this long is complete (when no close event was seen).
    pub settle: Duration,
    /// A file that looks cut off is rejected once unchanged this long.
    pub incomplete_grace: Duration,
    /// Use notify events (off: rescans only).
    pub events: bool,
    /// Files processed at once.
    pub concurrency: usize,
    /// Result files with this prefix after `OQSsiquc01res_` belong to the terminal upstream.
    pub skip_prefix: Option<String>,
    /// Larger files are rejected without being read (a real result is a few KiB).
    pub max_file_bytes: u64,
    /// Files in the processed and rejected folders are removed this long after they were put
    /// there.
    pub retention: Duration,
    /// A call on the share (a listing, a read, a move) is given up after this long: a network
    /// share that stops answering holds a few threads, never the watcher or the API.
    pub share_timeout: Duration,
}

/// 1 MiB: a real result is a few KiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 20;
/// Three days: a file rejected on a Friday evening can still be looked at on Monday; the
/// gateway itself needs none of it after processing.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);

impl WatchOptions {
    /// Defaults for a face folder, with `processed/` and `rejected/` inside it.
    pub fn for_face_dir(face_dir: impl Into<PathBuf>) -> Self {
        let face_dir = face_dir.into();
        Self {
            disposal: Disposal::Move(face_dir.join("processed")),
            rejected_dir: face_dir.join("rejected"),
            face_dir,
            res_dir: None,
            rescan_interval: Duration::from_secs(2),
            settle: Duration::from_millis(500),
            incomplete_grace: Duration::from_secs(5),
            events: true,
            concurrency: 8,
            skip_prefix: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            retention: DEFAULT_RETENTION,
            share_timeout: ShareIo::DEFAULT_DEADLINE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot use the folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the ledger {path}: {source}")]
    Ledger {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot watch {path} for changes: {source}")]
    Notify {
        path: PathBuf,
        source: notify::Error,
    },
}

/// The result-file name pattern.
pub fn is_result_file(name: &str) -> bool {
    name.starts_with("OQSsiquc01res_")
        && name.len() > "OQSsiquc01res_.xml".len()
        && name.to_ascii_lowercase().ends_with(".xml")
}

/// A name the watcher itself writes into its folders: a result file (or its `~N` variant),
/// its `<name>.reason.txt`, or the temporary `.<name>.tmp` of a reason being replaced. The
/// retention purge removes these names and no other.
pub fn is_own_name(name: &str) -> bool {
    let name = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .unwrap_or(name);
    is_result_file(name) || name.strip_suffix(".reason.txt").is_some_and(is_result_file)
}

#[derive(Debug, Clone, Copy)]
enum Hint {
    /// Closed after writing, or renamed in: complete now.
    Complete,
    Changed,
}

struct Shared {
    service: Arc<SubsidyService>,
    metrics: Arc<Metrics>,
    audit: Option<Recorder>,
    opts: WatchOptions,
    /// The folders as found at start (see `files::ShareDir`).
    face: ShareDir,
    res: Option<ShareDir>,
    processed: Option<ShareDir>,
    rejected: ShareDir,
    share: ShareIo,
    ledger: Option<Arc<Mutex<HandledFiles>>>,
}

impl Shared {
    fn dir(&self, folder: Folder) -> &ShareDir {
        match (folder, &self.res) {
            (Folder::Res, Some(res)) => res,
            _ => &self.face,
        }
    }

    /// Runs a call on the share off the runtime, within the share's deadline; a share that does
    /// not answer is counted.
    async fn on_share<T: Send + 'static>(
        &self,
        name: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ShareError> {
        let r = self.share.run(name, f).await;
        if matches!(r, Err(ShareError::NotAnswering(_))) {
            self.metrics.checkin_share_timeouts.inc();
        }
        r
    }
}

/// A running watcher. [`Watcher::shutdown`] stops taking new files and waits for those in
/// flight, so that a file is never half handled.
pub struct Watcher {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _notify: Option<notify::RecommendedWatcher>,
}

impl Watcher {
    /// Starts watching; `audit` records every prefetch (a write into the cache) in the audit.
    pub fn start(
        opts: WatchOptions,
        service: Arc<SubsidyService>,
        metrics: Arc<Metrics>,
        audit: Option<Recorder>,
    ) -> Result<Self, WatchError> {
        let share = ShareIo::new(ShareIo::CONCURRENCY, opts.share_timeout);
        Self::start_on(opts, share, service, metrics, audit)
    }

    /// [`Watcher::start`] with the runner of calls on the share given (a test's share that
    /// stops answering).
    pub fn start_on(
        mut opts: WatchOptions,
        share: ShareIo,
        service: Arc<SubsidyService>,
        metrics: Arc<Metrics>,
        audit: Option<Recorder>,
    ) -> Result<Self, WatchError> {
        let folder_error = |d: &PathBuf| {
            let path = d.clone();
            move |source| WatchError::Folder { path, source }
        };
        // The terminal's folders: used as they are (created owner-only when missing), never
        // through a link.
        for d in std::iter::once(&opts.face_dir).chain(opts.res_dir.as_ref()) {
            if std::fs::symlink_metadata(d).is_ok() {
                files::check_real_dir(d).map_err(folder_error(d))?;
            } else {
                files::owner_only_dir(d).map_err(folder_error(d))?;
            }
        }
        // The gateway's own folders: owner-only.
        let mut own = vec![opts.rejected_dir.clone()];
        if let Disposal::Move(d) = &opts.disposal {
            own.push(d.clone());
        }
        for d in &own {
            files::owner_only_dir(d).map_err(folder_error(d))?;
        }
        // Events and listings then name files the same way.
        let canonical = |d: &PathBuf| {
            std::fs::canonicalize(d).map_err(|source| WatchError::Folder {
                path: d.clone(),
                source,
            })
        };
        opts.face_dir = canonical(&opts.face_dir)?;
        if let Some(r) = &opts.res_dir {
            opts.res_dir = Some(canonical(r)?);
        }
        let found = |d: &PathBuf| ShareDir::open(d).map_err(folder_error(d));
        let face = found(&opts.face_dir)?;
        let res = opts.res_dir.as_ref().map(found).transpose()?;
        let rejected = found(&opts.rejected_dir)?;
        let processed = match &opts.disposal {
            Disposal::Move(d) => Some(found(d)?),
            Disposal::Leave { .. } => None,
        };
        let ledger = match &opts.disposal {
            Disposal::Leave { ledger } => {
                let dir_of = |f: &str| match f {
                    "face" => Some(&face),
                    "res" => res.as_ref(),
                    _ => None,
                };
                let l = HandledFiles::open(ledger, |e| {
                    dir_of(&e.folder)
                        .and_then(|d| d.stat(&e.name).ok().flatten())
                        .and_then(|entry| match entry {
                            files::Entry::File { size, modified, .. } => {
                                Some(Entry::new(&e.folder, &e.name, size, modified))
                            }
                            _ => None,
                        })
                        .is_some_and(|now| &now == e)
                })
                .map_err(|source| WatchError::Ledger {
                    path: ledger.clone(),
                    source,
                })?;
                Some(Arc::new(Mutex::new(l)))
            }
            Disposal::Move(_) => None,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let notify = if opts.events {
            Some(start_notify(&opts, tx)?)
        } else {
            drop(tx);
            None
        };
        let (stop, stop_rx) = watch::channel(false);
        tracing::info!(
            face = %opts.face_dir.display(),
            res = ?opts.res_dir.as_ref().map(|d| d.display().to_string()),
            events = opts.events,
            "watching the オン資 terminal's folders for check-ins"
        );
        let shared = Arc::new(Shared {
            service,
            metrics,
            audit,
            opts,
            face,
            res,
            processed,
            rejected,
            share,
            ledger,
        });
        let task = tokio::spawn(run(shared, rx, stop_rx));
        Ok(Self {
            stop,
            task,
            _notify: notify,
        })
    }

    /// Stops taking new files, finishes those in flight, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn start_notify(
    opts: &WatchOptions,
    tx: mpsc::UnboundedSender<(PathBuf, Hint)>,
) -> Result<notify::RecommendedWatcher, WatchError> {
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    use notify::{EventKind, Watcher as _};
    let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let Ok(ev) = ev else { return };
        let (paths, hint): (Vec<PathBuf>, Hint) = match ev.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => (ev.paths, Hint::Complete),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => (ev.paths, Hint::Complete),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                (ev.paths.into_iter().skip(1).collect(), Hint::Complete)
            }
            EventKind::Access(_) => return,
            _ => (ev.paths, Hint::Changed),
        };
        for p in paths {
            let _ = tx.send((p, hint));
        }
    })
    .map_err(|source| WatchError::Notify {
        path: opts.face_dir.clone(),
        source,
    })?;
    for d in std::iter::once(&opts.face_dir).chain(opts.res_dir.as_ref()) {
        w.watch(d, notify::RecursiveMode::NonRecursive)
            .map_err(|source| WatchError::Notify {
                path: d.clone(),
                source,
            })?;
    }
    Ok(w)
}

/// Why the watcher looks at a file again.
#[derive(Debug, Clone, Copy)]
enum Look {
    /// An event named it.
    Event(Hint),
    /// Its settle time passed.
    Settled,
    /// Its read ended and it may have changed meanwhile.
    AfterRead,
}

impl Look {
    /// Which of two looks asked for at once to keep: a closed file's event over a change's,
    /// either over a settle or a look after a read.
    fn rank(self) -> u8 {
        match self {
            Self::Settled => 0,
            Self::AfterRead => 1,
            Self::Event(Hint::Changed) => 2,
            Self::Event(Hint::Complete) => 3,
        }
    }
}

/// What a look at one file found (`None`: the share did not answer; looked at again later).
/// With when the look began (a listing begun later is newer, and wins).
type Looked = (PathBuf, Folder, Look, Option<Seen>, Instant);

/// A listing of the folders: each result file's path, folder and what is there.
/// With when the listing began.
type Listing = Option<(Vec<(PathBuf, Folder, Seen)>, Instant)>;

/// The watcher's state, owned by its task: the scheduling core and what is in flight. Every call
/// on the share runs in a task of its own (a listing, a look at a file, a read, a purge), so a
/// share that stops answering delays only what touches it.
struct State {
    shared: Arc<Shared>,
    schedule: Schedule,
    tasks: JoinSet<(Job, Done)>,
    looks: JoinSet<Looked>,
    /// Files being looked at (one look at a time per file), with the look asked for meanwhile
    /// (the strongest: a closed file's event is not lost behind an earlier look).
    looking: HashMap<PathBuf, Option<Look>>,
    scan: Option<tokio::task::JoinHandle<Listing>>,
    /// When the latest listing applied began.
    listed_at: Option<Instant>,
    purge: Option<tokio::task::JoinHandle<usize>>,
    /// Symbolic links already rejected (they stay where they are; rejected once while there).
    links: HashSet<PathBuf>,
}

async fn run(
    shared: Arc<Shared>,
    mut events: mpsc::UnboundedReceiver<(PathBuf, Hint)>,
    mut stop: watch::Receiver<bool>,
) {
    let opts = &shared.opts;
    let mut st = State {
        shared: shared.clone(),
        schedule: Schedule::new(opts.settle, opts.incomplete_grace, opts.concurrency),
        tasks: JoinSet::new(),
        looks: JoinSet::new(),
        looking: HashMap::new(),
        scan: None,
        listed_at: None,
        purge: None,
        links: HashSet::new(),
    };
    let poll = (opts.settle / 4).clamp(Duration::from_millis(5), Duration::from_millis(50));
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let purge_every =
        (opts.retention / 4).clamp(Duration::from_millis(50), Duration::from_secs(3600));
    // The first scan finds what arrived while the gateway was down.
    let mut last_scan: Option<Instant> = None;
    let mut last_purge: Option<Instant> = None;
    let mut events_open = true;
    loop {
        if st.purge.is_none() && last_purge.is_none_or(|t| t.elapsed() >= purge_every) {
            last_purge = Some(Instant::now());
            st.start_purge();
        }
        if st.scan.is_none() && last_scan.is_none_or(|t| t.elapsed() >= opts.rescan_interval) {
            last_scan = Some(Instant::now());
            st.start_scan();
        }
        st.look_at_due();
        st.dispatch();
        st.shared
            .metrics
            .checkin_files_outstanding
            .set(st.schedule.outstanding() as i64);
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(done) = st.tasks.join_next(), if !st.tasks.is_empty() => st.finished(done),
            Some(Ok(looked)) = st.looks.join_next(), if !st.looks.is_empty() => st.looked(looked),
            listed = async { st.scan.as_mut().expect("a scan").await }, if st.scan.is_some() => {
                st.scan = None;
                if let Ok(Some((listed, began))) = listed {
                    st.listed(listed, began);
                }
            }
            purged = async { st.purge.as_mut().expect("a purge").await }, if st.purge.is_some() => {
                st.purge = None;
                st.purged(purged.unwrap_or_default());
            }
            ev = events.recv(), if events_open => match ev {
                Some((path, hint)) => st.event(path, hint),
                None => events_open = false,
            },
            _ = tick.tick() => {}
        }
    }
    // Finish what is in flight; what is pending stays in the folder for the next start.
    while let Some(done) = st.tasks.join_next().await {
        st.finished(done);
    }
    if let Some(purge) = st.purge.take() {
        purge.abort();
    }
}

fn version_of(size: u64, mtime: SystemTime) -> Version {
    Version { size, mtime }
}

/// What is at a path, without following a link.
#[derive(Debug, Clone, Copy)]
enum Seen {
    File(Version),
    Link,
    /// Gone, or neither a regular file nor a link.
    Nothing,
}

fn seen(e: Option<files::Entry>) -> Seen {
    match e {
        Some(files::Entry::File { size, modified, .. }) => Seen::File(version_of(size, modified)),
        Some(files::Entry::Link) => Seen::Link,
        Some(files::Entry::Other) | None => Seen::Nothing,
    }
}

impl State {
    fn folder_of(&self, path: &Path) -> Option<Folder> {
        let opts = &self.shared.opts;
        let dir = path.parent()?;
        let name = path.file_name()?.to_str()?;
        if !is_result_file(name) {
            return None;
        }
        if let Some(prefix) = &opts.skip_prefix
            && name["OQSsiquc01res_".len()..].starts_with(prefix.as_str())
        {
            return None;
        }
        if dir == opts.face_dir {
            Some(Folder::Face)
        } else if opts.res_dir.as_deref() == Some(dir) {
            Some(Folder::Res)
        } else {
            None
        }
    }

    /// Notes a file seen by an event or a scan.
    fn observe(&mut self, path: PathBuf, folder: Folder, v: Version, complete: bool) {
        let shared = &self.shared;
        let in_ledger = || {
            let Some(ledger) = &shared.ledger else {
                return false;
            };
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            ledger
                .lock()
                .is_ok_and(|l| l.contains(&Entry::new(folder.label(), name, v.size, v.mtime)))
        };
        let in_ledger = in_ledger();
        if self
            .schedule
            .observe(path, folder, v, complete, Instant::now(), || in_ledger)
        {
            self.shared
                .metrics
                .checkin_files_seen
                .get_or_create(&vec![("folder", folder.label())])
                .inc();
        }
    }

    /// A result file's name that is a symbolic link: rejected once, left as it is.
    fn link(&mut self, path: PathBuf, folder: Folder) {
        self.schedule.gone(&path);
        if !self.links.insert(path.clone()) {
            return;
        }
        let shared = self.shared.clone();
        self.tasks.spawn(async move {
            let name = name_of(&path);
            let job = Job {
                path,
                folder,
                version: Version {
                    size: 0,
                    mtime: SystemTime::UNIX_EPOCH,
                },
                reject_as_partial: None,
            };
            let r = Rejection::link();
            let done = reject(&shared, folder, &name, job.version, &r).await;
            (job, done)
        });
    }

    /// Looks at a file on the share in a task of its own (one look per file at a time).
    fn look(&mut self, path: PathBuf, folder: Folder, why: Look) {
        if let Some(pending) = self.looking.get_mut(&path) {
            *pending = Some(match *pending {
                Some(p) if p.rank() >= why.rank() => p,
                _ => why,
            });
            return;
        }
        self.looking.insert(path.clone(), None);
        let shared = self.shared.clone();
        self.looks.spawn(async move {
            let began = Instant::now();
            let name = name_of(&path);
            let dir = shared.dir(folder).clone();
            let found = shared
                .on_share(&name.clone(), move || dir.stat(&name))
                .await;
            let found = match found {
                Ok(Ok(e)) => Some(seen(e)),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Some(Seen::Nothing),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot look at a check-in file");
                    None
                }
                Err(_) => None,
            };
            (path, folder, why, found, began)
        });
    }

    fn event(&mut self, path: PathBuf, hint: Hint) {
        let Some(folder) = self.folder_of(&path) else {
            return;
        };
        self.look(path, folder, Look::Event(hint));
    }

    fn looked(&mut self, (path, folder, why, found, began): Looked) {
        let again = self.looking.remove(&path).flatten();
        if let Some(again) = again {
            // Asked for while this look was on the share: look again (the file may have been
            // closed since).
            self.look(path.clone(), folder, again);
        }
        let Some(found) = found else {
            return; // the share did not answer: the next event, settle or scan looks again
        };
        if self.listed_at.is_some_and(|l| l > began) && !self.schedule.is_pending(&path) {
            // A listing begun after this look is newer, and it did not list the file: what it
            // found stands (a file moved away since this look must not come back as a new
            // one). A file it listed takes the look (a closed file's event is not lost).
            return;
        }
        match why {
            Look::Event(hint) => match found {
                Seen::File(v) => {
                    self.links.remove(&path);
                    self.observe(path, folder, v, matches!(hint, Hint::Complete));
                }
                Seen::Link => self.link(path, folder),
                Seen::Nothing => {
                    self.links.remove(&path);
                    self.schedule.gone(&path);
                }
            },
            Look::Settled => {
                let v = match found {
                    Seen::File(v) => Some(v),
                    _ => None,
                };
                self.schedule.restat(&path, v, Instant::now());
            }
            Look::AfterRead => {
                if let Seen::File(v) = found
                    && !self.links.contains(&path)
                {
                    self.observe(path, folder, v, false);
                }
            }
        }
    }

    /// Lists the folders in a task of its own.
    fn start_scan(&mut self) {
        let shared = self.shared.clone();
        self.scan = Some(tokio::spawn(async move {
            let began = Instant::now();
            let mut dirs = vec![(Folder::Face, shared.face.clone())];
            dirs.extend(shared.res.clone().map(|r| (Folder::Res, r)));
            let mut out = Vec::new();
            for (folder, dir) in dirs {
                let base = dir.path().to_path_buf();
                let listed = shared.on_share("", move || dir.entries()).await;
                match listed {
                    Ok(Ok(entries)) => out.extend(
                        entries
                            .into_iter()
                            .map(|(name, e)| (base.join(name), folder, seen(Some(e)))),
                    ),
                    Ok(Err(e)) => {
                        tracing::warn!(dir = %base.display(), error = %e, "cannot list the folder");
                        return None;
                    }
                    Err(e) => {
                        tracing::warn!(dir = %base.display(), error = %e, "cannot list the folder");
                        return None;
                    }
                }
            }
            Some((out, began))
        }));
    }

    fn listed(&mut self, listed: Vec<(PathBuf, Folder, Seen)>, began: Instant) {
        self.listed_at = Some(began);
        let present: HashSet<&PathBuf> = listed
            .iter()
            .filter(|(_, _, s)| matches!(s, Seen::File(_)))
            .map(|(p, _, _)| p)
            .collect();
        self.schedule.listed(&present, began);
        let links: HashSet<PathBuf> = listed
            .iter()
            .filter(|(_, _, s)| matches!(s, Seen::Link))
            .map(|(p, _, _)| p.clone())
            .collect();
        self.links.retain(|p| links.contains(p));
        for (path, _, s) in listed {
            if let Some(folder) = self.folder_of(&path) {
                match s {
                    Seen::File(v) => self.observe(path, folder, v, false),
                    Seen::Link => self.link(path, folder),
                    Seen::Nothing => {}
                }
            }
        }
        self.shared.metrics.checkin_scans.inc();
    }

    /// Removes, in a task of its own, what has been kept in the processed and rejected folders
    /// beyond the retention: only names the watcher wrote, through handles on the folders it
    /// found at start.
    fn start_purge(&mut self) {
        let shared = self.shared.clone();
        self.purge = Some(tokio::spawn(async move {
            let mut dirs = vec![shared.rejected.clone()];
            dirs.extend(shared.processed.clone());
            let cutoff = SystemTime::now()
                .checked_sub(shared.opts.retention)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let mut removed = 0;
            for dir in dirs {
                let shown = dir.path().display().to_string();
                match shared
                    .on_share("", move || dir.purge(cutoff, is_own_name))
                    .await
                {
                    Ok(Ok(n)) => removed += n,
                    Ok(Err(e)) => {
                        shared.metrics.checkin_disposal_failures.inc();
                        tracing::error!(dir = %shown, error = %e, "cannot purge the folder");
                    }
                    Err(e) => tracing::warn!(dir = %shown, error = %e, "cannot purge the folder"),
                }
            }
            removed
        }));
    }

    fn purged(&mut self, removed: usize) {
        if removed > 0 {
            self.shared
                .metrics
                .checkin_files_purged
                .inc_by(removed as u64);
            tracing::info!(
                removed,
                "removed processed and rejected files past their retention"
            );
        }
    }

    /// Looks again at files whose settle time has passed.
    fn look_at_due(&mut self) {
        for path in self.schedule.due(Instant::now()) {
            if let Some(folder) = self.folder_of(&path) {
                self.look(path, folder, Look::Settled);
            }
        }
    }

    fn dispatch(&mut self) {
        while let Some(job) = self.schedule.next_job() {
            let shared = self.shared.clone();
            self.tasks.spawn(async move {
                let done = handle(&shared, &job).await;
                (job, done)
            });
        }
    }

    fn finished(&mut self, r: Result<(Job, Done), tokio::task::JoinError>) {
        let Ok((job, done)) = r else {
            tracing::error!("a check-in task failed");
            return;
        };
        if self.links.contains(&job.path) {
            return;
        }
        if self.schedule.finished(&job, done, Instant::now()) {
            self.look(job.path, job.folder, Look::AfterRead);
        }
    }
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}

/// Why a file is rejected, and what becomes of it.
struct Rejection {
    /// A fixed label (metrics).
    kind: &'static str,
    /// Without control characters: it may quote the file (an element or entity name, quoted
    /// escaped by the parser; checked again here).
    reason: String,
    keep: Keep,
}

/// What becomes of a rejected file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Kept for a person to look at: moved (or, when files stay, copied) into `rejected`.
    Store,
    /// Not touched at all (a symbolic link): only the reason is written.
    Untouched,
    /// Never copied (it names a My Number): removed from `face` when the gateway moves files,
    /// else left and recorded; only the reason is written.
    Discard,
}

impl Rejection {
    fn link() -> Self {
        Self {
            kind: "link",
            reason: "a symbolic link: never followed, read or moved; left as it is".into(),
            keep: Keep::Untouched,
        }
    }

    fn too_large(size: u64, limit: u64) -> Self {
        Self {
            kind: "too_large",
            reason: format!(
                "{size} bytes, more than onshi.max_file_bytes ({limit}): not read (a result is a few KiB)"
            ),
            keep: Keep::Store,
        }
    }

    fn of(e: &crate::service::ResultError) -> Self {
        let keep = if matches!(e, crate::service::ResultError::MyNumber(_)) {
            Keep::Discard
        } else {
            Keep::Store
        };
        Self {
            kind: e.kind(),
            reason: without_controls(&e.to_string()).into_owned(),
            keep,
        }
    }

    fn partial(reason: &str) -> Self {
        Self {
            kind: "partial",
            reason: without_controls(reason).into_owned(),
            keep: Keep::Store,
        }
    }
}

/// Reads, prefetches and disposes of one file. `partial` is set when this version was already
/// read and looked cut off, and has not changed for the grace: it is rejected without reading.
async fn handle(shared: &Shared, job: &Job) -> Done {
    let (path, folder, version) = (job.path.as_path(), job.folder, job.version);
    let name = name_of(path);
    if let Some(reason) = &job.reject_as_partial {
        return reject(shared, folder, &name, version, &Rejection::partial(reason)).await;
    }
    let limit = shared.opts.max_file_bytes;
    if version.size > limit {
        let r = Rejection::too_large(version.size, limit);
        return reject(shared, folder, &name, version, &r).await;
    }
    let dir = shared.dir(folder).clone();
    let owned = name.clone();
    let read = shared
        .on_share(&name, move || dir.read_limited(&owned, limit))
        .await;
    let bytes = match read {
        Ok(Ok(b)) => b,
        Ok(Err(ReadError::Link)) => {
            return reject(shared, folder, &name, version, &Rejection::link()).await;
        }
        Ok(Err(ReadError::TooLarge { size, limit })) => {
            let r = Rejection::too_large(size, limit);
            return reject(shared, folder, &name, version, &r).await;
        }
        Ok(Err(_)) | Err(_) => return Done::Again,
    };
    shared.metrics.checkin_file_reads.inc();
    if bytes.len() as u64 != version.size {
        return Done::Again;
    }
    let arrived_at: DateTime<Utc> = version.mtime.into();
    match prefetch(
        &shared.service,
        &shared.metrics,
        shared.audit.as_ref(),
        &bytes,
        &name,
        arrived_at.min(Utc::now()),
    )
    .await
    {
        Ok(p) => {
            if p.already_processed {
                tracing::debug!(file = %escape_name(&name), "check-in recorded as processed already");
                shared.metrics.checkin_files_repeated.inc();
            } else {
                tracing::debug!(file = %escape_name(&name), results = p.results, with_block = p.with_block, "check-in prefetched");
                shared
                    .metrics
                    .checkin_files_processed
                    .get_or_create(&vec![("folder", folder.label())])
                    .inc();
            }
            let disposed = match (&shared.processed, folder) {
                (Some(processed), Folder::Face) => {
                    move_into(shared, folder, &name, processed.clone())
                        .await
                        .map(|_| ())
                }
                _ => record(shared, folder, &name, version).await,
            };
            if let Err(e) = disposed {
                shared.metrics.checkin_disposal_failures.inc();
                tracing::error!(file = %escape_name(&name), error = %e, "processed, but cannot move or record the file");
            }
            Done::Processed
        }
        Err(FileError::Partial(e)) => {
            let age = SystemTime::now()
                .duration_since(version.mtime)
                .unwrap_or_default();
            if age >= shared.opts.incomplete_grace {
                reject(shared, folder, &name, version, &Rejection::of(&e)).await
            } else {
                Done::Partial(e.to_string())
            }
        }
        Err(FileError::Invalid(e)) => {
            reject(shared, folder, &name, version, &Rejection::of(&e)).await
        }
        Err(e @ FileError::Unrecorded(_)) => {
            tracing::error!(file = %escape_name(&name), error = %e, "a check-in stays in the folder until the store records it");
            Done::Again
        }
    }
}

/// Records a file left in place in the ledger (off the runtime: the ledger may live on the
/// share too).
async fn record(shared: &Shared, folder: Folder, name: &str, v: Version) -> std::io::Result<()> {
    let Some(ledger) = shared.ledger.clone() else {
        return Ok(());
    };
    let entry = Entry::new(folder.label(), name, v.size, v.mtime);
    shared
        .on_share(name, move || {
            ledger
                .lock()
                .map_err(|_| std::io::Error::other("the ledger's lock is poisoned"))?
                .record(entry)
        })
        .await
        .map_err(std::io::Error::other)?
}

async fn reject(
    shared: &Shared,
    folder: Folder,
    name: &str,
    version: Version,
    r: &Rejection,
) -> Done {
    debug_assert!(
        crate::metrics::REJECTION_REASONS.contains(&r.kind),
        "the health page reads every reason: add {} to REJECTION_REASONS",
        r.kind
    );
    shared
        .metrics
        .checkin_files_rejected
        .get_or_create(&vec![("folder", folder.label()), ("reason", r.kind)])
        .inc();
    let shown = escape_name(name);
    tracing::warn!(file = %shown, folder = folder.label(), reason = %r.reason, "オン資 result file rejected");
    let leave = matches!(shared.opts.disposal, Disposal::Leave { .. }) || folder == Folder::Res;
    let text = format!(
        "{shown}: {}\nrejected at {}\n",
        r.reason,
        crate::domain::date::jst_rfc3339(Utc::now())
    );
    let rejected = shared.rejected.clone();
    let result = match r.keep {
        Keep::Store => {
            let stored = if leave {
                copy_into(shared, folder, name, rejected.clone()).await
            } else {
                move_into(shared, folder, name, rejected.clone()).await
            };
            match stored {
                Ok(target) => {
                    write_reason(
                        shared,
                        rejected,
                        format!("{target}.reason.txt"),
                        text,
                        false,
                    )
                    .await
                }
                Err(e) => Err(e),
            }
        }
        Keep::Untouched | Keep::Discard => {
            let removed = if r.keep == Keep::Discard && !leave {
                let dir = shared.dir(folder).clone();
                let owned = name.to_owned();
                shared
                    .on_share(name, move || dir.remove(&owned))
                    .await
                    .map_err(std::io::Error::other)
                    .and_then(|r| r)
            } else {
                Ok(())
            };
            match removed {
                Ok(()) => {
                    write_reason(shared, rejected, format!("{name}.reason.txt"), text, true).await
                }
                Err(e) => Err(e),
            }
        }
    };
    let result = match result {
        Ok(()) if leave && r.keep != Keep::Untouched => record(shared, folder, name, version).await,
        other => other,
    };
    if let Err(e) = result {
        shared.metrics.checkin_disposal_failures.inc();
        tracing::error!(file = %shown, error = %e, "cannot store the rejected file and its reason");
    }
    Done::Rejected
}

/// Writes a reason file into `dir` (owner-only, never through a link); `replace` for the reason
/// of a file that stays where it is (the same name each time it is rejected again).
async fn write_reason(
    shared: &Shared,
    dir: ShareDir,
    name: String,
    text: String,
    replace: bool,
) -> std::io::Result<()> {
    shared
        .on_share(&name.clone(), move || {
            if replace {
                dir.replace(&name, text.as_bytes())
            } else {
                dir.create_new(&name, text.as_bytes())
            }
        })
        .await
        .map_err(std::io::Error::other)?
}

/// `name`, then `stem~1.ext`, `stem~2.ext` …: the names a file moved or copied into a folder
/// may take (the first free one is used; nothing is overwritten).
fn candidates(name: &str) -> impl Iterator<Item = String> + use<> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_owned(), e.to_owned()),
        None => (name.to_owned(), String::new()),
    };
    std::iter::once(name.to_owned()).chain((1..10_000).map(move |i| format!("{stem}~{i}.{ext}")))
}

/// Moves a file (never a link) from its folder into `to`, made owner-only; the name it got.
async fn move_into(
    shared: &Shared,
    folder: Folder,
    name: &str,
    to: ShareDir,
) -> std::io::Result<String> {
    into(shared, folder, name, move |from, owned| {
        from.move_into(owned, &to, candidates(owned))
    })
    .await
}

/// Copies a file (never through a link) into a new owner-only file in `to`; the name it got.
async fn copy_into(
    shared: &Shared,
    folder: Folder,
    name: &str,
    to: ShareDir,
) -> std::io::Result<String> {
    into(shared, folder, name, move |from, owned| {
        from.copy_into(owned, &to, candidates(owned))
            .map_err(|e| match e {
                ReadError::Io(e) => e,
                e => std::io::Error::other(e.to_string()),
            })
    })
    .await
}

/// Runs `put` (a move or a copy of `name` out of its folder) on the share.
async fn into(
    shared: &Shared,
    folder: Folder,
    name: &str,
    put: impl FnOnce(&ShareDir, &str) -> std::io::Result<String> + Send + 'static,
) -> std::io::Result<String> {
    let from = shared.dir(folder).clone();
    let owned = name.to_owned();
    shared
        .on_share(name, move || put(&from, &owned))
        .await
        .map_err(std::io::Error::other)?
}
