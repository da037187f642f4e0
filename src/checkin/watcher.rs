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

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::ledger::{Entry, Ledger};
use super::schedule::{Done, Folder, Job, Schedule, Version};
use super::{FileError, prefetch};
use crate::files::{self, ReadError, escape_name};
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
    ledger: Option<Mutex<Ledger>>,
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
        mut opts: WatchOptions,
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
        let ledger = match &opts.disposal {
            Disposal::Leave { ledger } => {
                let folder_dir = |f: &str| match f {
                    "face" => Some(opts.face_dir.clone()),
                    "res" => opts.res_dir.clone(),
                    _ => None,
                };
                let l = Ledger::open(ledger, |e| {
                    folder_dir(&e.folder)
                        .and_then(|d| std::fs::metadata(d.join(&e.name)).ok())
                        .and_then(|m| {
                            Some(Entry::new(&e.folder, &e.name, m.len(), m.modified().ok()?))
                        })
                        .is_some_and(|now| &now == e)
                })
                .map_err(|source| WatchError::Ledger {
                    path: ledger.clone(),
                    source,
                })?;
                Some(Mutex::new(l))
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

/// The watcher's state, owned by its task: the scheduling core and the reads in flight.
struct State {
    shared: Arc<Shared>,
    schedule: Schedule,
    tasks: JoinSet<(Job, Done)>,
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
        if last_purge.is_none_or(|t| t.elapsed() >= purge_every) {
            last_purge = Some(Instant::now());
            st.purge().await;
        }
        if last_scan.is_none_or(|t| t.elapsed() >= opts.rescan_interval) {
            last_scan = Some(Instant::now());
            st.scan().await;
        }
        st.restat_due();
        st.dispatch();
        st.shared
            .metrics
            .checkin_files_outstanding
            .set(st.schedule.outstanding() as i64);
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(done) = st.tasks.join_next(), if !st.tasks.is_empty() => st.finished(done),
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
}

fn version_of(m: &std::fs::Metadata) -> Version {
    Version {
        size: m.len(),
        mtime: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    }
}

/// What is at a path, without following a link.
enum Seen {
    File(Version),
    Link,
    /// Gone, or neither a regular file nor a link.
    Nothing,
}

fn seen(m: &std::fs::Metadata) -> Seen {
    if m.file_type().is_symlink() {
        Seen::Link
    } else if m.is_file() {
        Seen::File(version_of(m))
    } else {
        Seen::Nothing
    }
}

fn stat(path: &Path) -> Seen {
    std::fs::symlink_metadata(path)
        .map(|m| seen(&m))
        .unwrap_or(Seen::Nothing)
}

/// The version of a regular file (not a link); `None` otherwise.
fn file_version(path: &Path) -> Option<Version> {
    match stat(path) {
        Seen::File(v) => Some(v),
        _ => None,
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
            let done = reject(&shared, &job.path, folder, &name, job.version, &r).await;
            (job, done)
        });
    }

    fn event(&mut self, path: PathBuf, hint: Hint) {
        let Some(folder) = self.folder_of(&path) else {
            return;
        };
        match stat(&path) {
            Seen::File(v) => {
                self.links.remove(&path);
                self.observe(path, folder, v, matches!(hint, Hint::Complete));
            }
            Seen::Link => self.link(path, folder),
            Seen::Nothing => {
                self.links.remove(&path);
                self.schedule.gone(&path);
            }
        }
    }

    async fn scan(&mut self) {
        let opts = &self.shared.opts;
        let dirs: Vec<PathBuf> = std::iter::once(opts.face_dir.clone())
            .chain(opts.res_dir.clone())
            .collect();
        let listed = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for d in dirs {
                let Ok(rd) = std::fs::read_dir(&d) else {
                    tracing::warn!(dir = %d.display(), "cannot list the folder");
                    continue;
                };
                // `DirEntry::metadata` does not follow links.
                for e in rd.flatten() {
                    if let Ok(m) = e.metadata() {
                        match seen(&m) {
                            Seen::Nothing => {}
                            s => out.push((e.path(), s)),
                        }
                    }
                }
            }
            out
        })
        .await
        .unwrap_or_default();
        let present: HashSet<&PathBuf> = listed
            .iter()
            .filter(|(_, s)| matches!(s, Seen::File(_)))
            .map(|(p, _)| p)
            .collect();
        self.schedule.listed(&present);
        let links: HashSet<PathBuf> = listed
            .iter()
            .filter(|(_, s)| matches!(s, Seen::Link))
            .map(|(p, _)| p.clone())
            .collect();
        self.links.retain(|p| links.contains(p));
        for (path, s) in listed {
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

    /// Removes what has been kept in the processed and rejected folders beyond the retention.
    async fn purge(&mut self) {
        let opts = &self.shared.opts;
        let mut dirs = vec![opts.rejected_dir.clone()];
        if let Disposal::Move(d) = &opts.disposal {
            dirs.push(d.clone());
        }
        let cutoff = SystemTime::now()
            .checked_sub(opts.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let removed = tokio::task::spawn_blocking(move || {
            dirs.iter().map(|d| purge_before(d, cutoff)).sum::<usize>()
        })
        .await
        .unwrap_or_default();
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
    fn restat_due(&mut self) {
        let now = Instant::now();
        for path in self.schedule.due(now) {
            let v = file_version(&path);
            self.schedule.restat(&path, v, now);
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
        if self.schedule.finished(&job, done, Instant::now())
            && let Some(v) = file_version(&job.path)
        {
            self.observe(job.path, job.folder, v, false);
        }
    }
}

/// Removes the regular files in `dir` put there (moved, copied, written: the inode's change
/// time) before `cutoff`; links and folders are left alone. Returns how many were removed.
fn purge_before(dir: &Path, cutoff: SystemTime) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in rd.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if !m.is_file() {
            continue;
        }
        if put_there_at(&m) < cutoff && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// When a file was put where it is: its change time (a rename sets it), else its modification.
fn put_there_at(m: &std::fs::Metadata) -> SystemTime {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let secs = u64::try_from(m.ctime()).unwrap_or(0);
        let nanos = u32::try_from(m.ctime_nsec()).unwrap_or(0);
        SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
    }
    #[cfg(not(unix))]
    {
        m.modified().unwrap_or(SystemTime::UNIX_EPOCH)
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
            reason: e.to_string(),
            keep,
        }
    }
}

/// Reads, prefetches and disposes of one file. `partial` is set when this version was already
/// read and looked cut off, and has not changed for the grace: it is rejected without reading.
async fn handle(shared: &Shared, job: &Job) -> Done {
    let (path, folder, version) = (job.path.as_path(), job.folder, job.version);
    let name = name_of(path);
    if let Some(reason) = &job.reject_as_partial {
        let r = Rejection {
            kind: "partial",
            reason: reason.clone(),
            keep: Keep::Store,
        };
        return reject(shared, path, folder, &name, version, &r).await;
    }
    let limit = shared.opts.max_file_bytes;
    if version.size > limit {
        let r = Rejection::too_large(version.size, limit);
        return reject(shared, path, folder, &name, version, &r).await;
    }
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || files::read_limited(&owned, limit)).await;
    let bytes = match read {
        Ok(Ok(b)) => b,
        Ok(Err(ReadError::Link)) => {
            return reject(shared, path, folder, &name, version, &Rejection::link()).await;
        }
        Ok(Err(ReadError::TooLarge { size, limit })) => {
            let r = Rejection::too_large(size, limit);
            return reject(shared, path, folder, &name, version, &r).await;
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
            let disposed = match (&shared.opts.disposal, folder) {
                (Disposal::Move(dir), Folder::Face) => {
                    move_into(path, dir, &name).await.map(|_| ())
                }
                _ => record(shared, folder, &name, version),
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
                reject(shared, path, folder, &name, version, &Rejection::of(&e)).await
            } else {
                Done::Partial(e.to_string())
            }
        }
        Err(FileError::Invalid(e)) => {
            reject(shared, path, folder, &name, version, &Rejection::of(&e)).await
        }
        Err(e @ FileError::Unrecorded(_)) => {
            tracing::error!(file = %escape_name(&name), error = %e, "a check-in stays in the folder until the store records it");
            Done::Again
        }
    }
}

fn record(shared: &Shared, folder: Folder, name: &str, v: Version) -> std::io::Result<()> {
    match &shared.ledger {
        Some(l) => {
            l.lock()
                .expect("ledger lock")
                .record(Entry::new(folder.label(), name, v.size, v.mtime))
        }
        None => Ok(()),
    }
}

async fn reject(
    shared: &Shared,
    path: &Path,
    folder: Folder,
    name: &str,
    version: Version,
    r: &Rejection,
) -> Done {
    shared
        .metrics
        .checkin_files_rejected
        .get_or_create(&vec![("folder", folder.label()), ("reason", r.kind)])
        .inc();
    let shown = escape_name(name);
    tracing::warn!(file = %shown, folder = folder.label(), reason = %r.reason, "オン資 result file rejected");
    let dir = &shared.opts.rejected_dir;
    let leave = matches!(shared.opts.disposal, Disposal::Leave { .. }) || folder == Folder::Res;
    let text = format!(
        "{shown}: {}\nrejected at {}\n",
        r.reason,
        crate::domain::date::jst_rfc3339(Utc::now())
    );
    let result = match r.keep {
        Keep::Store => {
            let stored = if leave {
                copy_into(path, dir, name).await
            } else {
                move_into(path, dir, name).await
            };
            match stored {
                Ok(target) => {
                    let mut reason_file = target.into_os_string();
                    reason_file.push(".reason.txt");
                    write_reason(PathBuf::from(reason_file), text, false).await
                }
                Err(e) => Err(e),
            }
        }
        Keep::Untouched | Keep::Discard => {
            let removed = if r.keep == Keep::Discard && !leave {
                tokio::fs::remove_file(path).await
            } else {
                Ok(())
            };
            let reason_file = dir.join(format!("{name}.reason.txt"));
            match removed {
                Ok(()) => write_reason(reason_file, text, true).await,
                Err(e) => Err(e),
            }
        }
    }
    .and_then(|()| {
        if leave && r.keep != Keep::Untouched {
            record(shared, folder, name, version)
        } else {
            Ok(())
        }
    });
    if let Err(e) = result {
        shared.metrics.checkin_disposal_failures.inc();
        tracing::error!(file = %shown, error = %e, "cannot store the rejected file and its reason");
    }
    Done::Rejected
}

/// Writes a reason file (owner-only, never through a link); `replace` for the reason of a file
/// that stays where it is (the same name each time it is rejected again).
async fn write_reason(path: PathBuf, text: String, replace: bool) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            files::check_real_dir(dir)?;
        }
        if replace {
            files::replace_atomically(&path, text.as_bytes(), false)
        } else {
            files::write_new(&path, text.as_bytes())
        }
    })
    .await
    .map_err(std::io::Error::other)?
}

/// A free name in `dir`: `name`, else `stem~1.ext`, `stem~2.ext` … (a link counts as taken).
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let taken = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let first = dir.join(name);
    if !taken(&first) {
        return first;
    }
    let (stem, ext): (Cow<'_, str>, &str) = match name.rsplit_once('.') {
        Some((s, e)) => (Cow::Borrowed(s), e),
        None => (Cow::Borrowed(name), ""),
    };
    (1..)
        .map(|i| dir.join(format!("{stem}~{i}.{ext}")))
        .find(|p| !taken(p))
        .expect("some free name")
}

/// Moves a file (never a link: the caller read it as a regular file) into `dir`, which must be
/// a real folder; the moved file is made owner-only.
async fn move_into(path: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let (path, dir, name) = (path.to_path_buf(), dir.to_path_buf(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        files::check_real_dir(&dir)?;
        if files::is_link(&path) {
            return Err(files::link_refused(&path));
        }
        let target = free_name(&dir, &name);
        if std::fs::rename(&path, &target).is_err() {
            // Another file system (e.g. a network share): copy, then remove.
            files::copy_no_follow(&path, &target).map_err(std::io::Error::other)?;
            std::fs::remove_file(&path)?;
        }
        files::restrict_to_owner(&target)?;
        Ok(target)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Copies a file (never through a link) into a new owner-only file in `dir`.
async fn copy_into(path: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let (path, dir, name) = (path.to_path_buf(), dir.to_path_buf(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        files::check_real_dir(&dir)?;
        let target = free_name(&dir, &name);
        files::copy_no_follow(&path, &target).map_err(std::io::Error::other)?;
        Ok(target)
    })
    .await
    .map_err(std::io::Error::other)?
}
