//! The `face/` watcher under a lease. With SQLite the process owning the store's file is the
//! only one and runs the watcher from the start; with a shared PostgreSQL the replicas take the
//! store's lease in turn, and only its holder watches.
//!
//! The loop asks the store every third of the lease's time to live: to take the lease (free or
//! expired), or to renew it. The holder starts the watcher when it takes the lease and stops
//! it when the store says another has it — or fences itself when the store has not confirmed
//! the lease for two thirds of its time to live, before the lease can expire in the store. A
//! replica that dies stops renewing: another takes the lease within the time to live and a
//! third. Two watchers overlapping (a paused holder) is harmless: a file is recorded, and
//! audited, once (`checkin::prefetch`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::checkin::Watcher;
use crate::metrics::Metrics;
use crate::store::{LeaseBoard, Store, WATCHER_LEASE};

use super::StartupError;

/// This replica's name in the store: the host's name and the process id (a container's
/// restarted process keeps its name, and retakes its lease at once).
pub fn replica_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "gateway".into());
    format!("{host}/{}", std::process::id())
}

/// The lease loop and the watcher it runs.
pub struct LeasedWatcher {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LeasedWatcher {
    /// Stops the loop: the watcher finishes the files in flight, and the lease is released so
    /// that another replica takes it at once.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// What the loop needs.
pub struct LeaseLoop {
    pub store: Arc<dyn Store>,
    pub board: Arc<LeaseBoard>,
    pub metrics: Arc<Metrics>,
    pub replica: String,
    pub ttl: Duration,
}

impl LeaseLoop {
    /// Starts the loop; `start` starts the watcher whenever this replica takes the lease.
    pub fn spawn(
        self,
        start: impl FnMut() -> Result<Watcher, StartupError> + Send + 'static,
    ) -> LeasedWatcher {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(self.run(start, stop_rx));
        LeasedWatcher { stop, task }
    }

    async fn run(
        self,
        mut start: impl FnMut() -> Result<Watcher, StartupError> + Send,
        mut stop: watch::Receiver<bool>,
    ) {
        let every = (self.ttl / 3).max(Duration::from_millis(20));
        let fence_after = self.ttl * 2 / 3;
        let mut watcher: Option<Watcher> = None;
        // When the store last confirmed this replica's lease (the moment it was asked).
        let mut confirmed: Option<Instant> = None;
        let change = |c: &'static str| {
            self.metrics
                .lease_changes
                .get_or_create(&vec![("change", c)])
                .inc();
        };
        loop {
            let asked = Instant::now();
            let answer = tokio::time::timeout(
                every,
                self.store
                    .lease(WATCHER_LEASE.into(), self.replica.clone(), self.ttl),
            )
            .await;
            let now = chrono::Utc::now();
            match answer {
                Ok(Ok(lease)) => {
                    self.board.update(|r| {
                        r.holder = Some(lease.holder.clone());
                        r.term = Some(lease.term);
                        r.checked_at = Some(now);
                        r.error = None;
                    });
                    if lease.held {
                        confirmed = Some(asked);
                        if watcher.is_none() {
                            match start() {
                                Ok(w) => {
                                    watcher = Some(w);
                                    change("taken");
                                    self.metrics.lease_held.set(1);
                                    self.board.update(|r| {
                                        r.held = true;
                                        r.held_since = Some(now);
                                    });
                                    tracing::info!(
                                        term = lease.term,
                                        "took the lease: this replica watches the check-in folder"
                                    );
                                }
                                Err(e) => {
                                    tracing::error!(error = %e, "took the lease but cannot watch the check-in folder: giving it up");
                                    self.board.update(|r| r.error = Some(e.to_string()));
                                    let _ = self
                                        .store
                                        .release_lease(WATCHER_LEASE.into(), self.replica.clone())
                                        .await;
                                }
                            }
                        }
                    } else if let Some(w) = watcher.take() {
                        tracing::warn!(
                            holder = %lease.holder,
                            term = lease.term,
                            "the lease passed to another replica: stopping the watcher"
                        );
                        w.shutdown().await;
                        change("lost");
                        self.lost();
                    }
                }
                failed => {
                    let reason = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("the store did not answer within {} ms", every.as_millis()),
                    };
                    self.board.update(|r| r.error = Some(reason.clone()));
                    if watcher.is_some() && confirmed.is_none_or(|t| t.elapsed() >= fence_after) {
                        tracing::warn!(error = %reason, "the lease cannot be renewed: stopping the watcher before it expires");
                        if let Some(w) = watcher.take() {
                            w.shutdown().await;
                        }
                        change("fenced");
                        self.lost();
                    } else {
                        tracing::warn!(error = %reason, "cannot ask the store for the lease");
                    }
                }
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(every.saturating_sub(asked.elapsed())) => {}
            }
        }
        if let Some(w) = watcher.take() {
            w.shutdown().await;
            let released = self
                .store
                .release_lease(WATCHER_LEASE.into(), self.replica.clone())
                .await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "cannot release the lease: another replica takes it when it expires");
            }
            change("released");
            self.lost();
        }
    }

    fn lost(&self) {
        self.metrics.lease_held.set(0);
        self.board.update(|r| {
            r.held = false;
            r.held_since = None;
        });
    }
}
