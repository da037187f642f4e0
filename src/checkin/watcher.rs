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
}

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
        let mut dirs = vec![opts.face_dir.clone(), opts.rejected_dir.clone()];
        dirs.extend(opts.res_dir.clone());
        if let Disposal::Move(d) = &opts.disposal {
            dirs.push(d.clone());
        }
        for d in &dirs {
            std::fs::create_dir_all(d).map_err(|source| WatchError::Folder {
                path: d.clone(),
                source,
            })?;
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
    };
    let poll = (opts.settle / 4).clamp(Duration::from_millis(5), Duration::from_millis(50));
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first scan finds what arrived while the gateway was down.
    let mut last_scan: Option<Instant> = None;
    let mut events_open = true;
    loop {
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

/// The version of a regular file; `None` when it is gone or not a regular file.
fn stat(path: &Path) -> Option<Version> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| version_of(&m))
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

    fn event(&mut self, path: PathBuf, hint: Hint) {
        let Some(folder) = self.folder_of(&path) else {
            return;
        };
        match stat(&path) {
            Some(v) => self.observe(path, folder, v, matches!(hint, Hint::Complete)),
            None => self.schedule.gone(&path),
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
                for e in rd.flatten() {
                    if let Ok(m) = e.metadata()
                        && m.is_file()
                    {
                        out.push((e.path(), version_of(&m)));
                    }
                }
            }
            out
        })
        .await
        .unwrap_or_default();
        let present: HashSet<&PathBuf> = listed.iter().map(|(p, _)| p).collect();
        self.schedule.listed(&present);
        for (path, v) in listed {
            if let Some(folder) = self.folder_of(&path) {
                self.observe(path, folder, v, false);
            }
        }
        self.shared.metrics.checkin_scans.inc();
    }

    /// Looks again at files whose settle time has passed.
    fn restat_due(&mut self) {
        let now = Instant::now();
        for path in self.schedule.due(now) {
            let v = stat(&path);
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
        if self.schedule.finished(&job, done, Instant::now())
            && let Some(v) = stat(&job.path)
        {
            self.observe(job.path, job.folder, v, false);
        }
    }
}

/// Reads, prefetches and disposes of one file. `partial` is set when this version was already
/// read and looked cut off, and has not changed for the grace: it is rejected without reading.
async fn handle(shared: &Shared, job: &Job) -> Done {
    let (path, folder, version) = (job.path.as_path(), job.folder, job.version);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if let Some(reason) = &job.reject_as_partial {
        return reject(shared, path, folder, &name, version, reason).await;
    }
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(_) => return Done::Again,
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
            tracing::debug!(file = %name, results = p.results, with_block = p.with_block, "check-in prefetched");
            shared
                .metrics
                .checkin_files_processed
                .get_or_create(&vec![("folder", folder.label())])
                .inc();
            let disposed = match (&shared.opts.disposal, folder) {
                (Disposal::Move(dir), Folder::Face) => {
                    move_into(path, dir, &name).await.map(|_| ())
                }
                _ => record(shared, folder, &name, version),
            };
            if let Err(e) = disposed {
                shared.metrics.checkin_disposal_failures.inc();
                tracing::error!(file = %name, error = %e, "processed, but cannot move or record the file");
            }
            Done::Processed
        }
        Err(FileError::Partial(e)) => {
            let age = SystemTime::now()
                .duration_since(version.mtime)
                .unwrap_or_default();
            if age >= shared.opts.incomplete_grace {
                reject(shared, path, folder, &name, version, &e.to_string()).await
            } else {
                Done::Partial(e.to_string())
            }
        }
        Err(FileError::Invalid(reason)) => {
            reject(shared, path, folder, &name, version, &reason.to_string()).await
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
    reason: &str,
) -> Done {
    shared
        .metrics
        .checkin_files_rejected
        .get_or_create(&vec![("folder", folder.label())])
        .inc();
    tracing::warn!(file = %name, folder = folder.label(), reason, "オン資 result file rejected");
    let dir = &shared.opts.rejected_dir;
    let leave = matches!(shared.opts.disposal, Disposal::Leave { .. }) || folder == Folder::Res;
    let stored = if leave {
        copy_into(path, dir, name).await
    } else {
        move_into(path, dir, name).await
    };
    let result = match stored {
        Ok(target) => {
            let mut reason_file = target.into_os_string();
            reason_file.push(".reason.txt");
            let text = format!(
                "{name}: {reason}\nrejected at {}\n",
                crate::domain::date::jst_rfc3339(Utc::now())
            );
            tokio::fs::write(PathBuf::from(reason_file), text)
                .await
                .and_then(|_| {
                    if leave {
                        record(shared, folder, name, version)
                    } else {
                        Ok(())
                    }
                })
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        shared.metrics.checkin_disposal_failures.inc();
        tracing::error!(file = %name, error = %e, "cannot store the rejected file and its reason");
    }
    Done::Rejected
}

/// A free name in `dir`: `name`, else `stem~1.ext`, `stem~2.ext` …
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    (1..)
        .map(|i| dir.join(format!("{stem}~{i}.{ext}")))
        .find(|p| !p.exists())
        .expect("some free name")
}

async fn move_into(path: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let target = free_name(dir, name);
    match tokio::fs::rename(path, &target).await {
        Ok(()) => Ok(target),
        // Another file system (e.g. a network share): copy, then remove.
        Err(_) => {
            tokio::fs::copy(path, &target).await?;
            tokio::fs::remove_file(path).await?;
            Ok(target)
        }
    }
}

async fn copy_into(path: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let target = free_name(dir, name);
    tokio::fs::copy(path, &target).await?;
    Ok(target)
}
