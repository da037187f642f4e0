//! Keeps the stand-ins in the durable state after the answer, never within a check's deadline.
//!
//! A check that PMH answered decides the person's new stand-in (or its removal): a
//! [`StandInChange`]. The caller that records the check writes it in the check's own commit
//! (`answers::record`: one store trip per answered check); one it drops unwritten (a check-in's
//! prefetch, a commit that failed) goes to one task that writes such changes in the order they
//! come. Either way the answer never waits for it: a slow or failing store never turns a good
//! PMH answer into `stale` or `unavailable`, and each change carries when it was decided, so a
//! late write never undoes a later one. The queue is bounded; when it is full a write is
//! dropped and counted, and the memory still holds the stand-in. `flush` waits until everything
//! handed in so far is written (shutdown, tests).

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::{mpsc, oneshot};

use super::durable::{Durable, Lookup, Saved};
use crate::domain::InsuredIdentity;

/// How many writes may wait. A clinic's opening burst is a few hundred checks; a store that
/// keeps this many waiting is down, and the writes after it are dropped and counted.
const QUEUE: usize = 4096;

type Counts = Family<Vec<(&'static str, &'static str)>, Counter>;

/// The item the keeper writes, as the metrics name it.
const ITEM: &str = "stand_in";

enum Job {
    /// A person's stand-in, or its removal (`None`), decided at the time given.
    Put(InsuredIdentity, Option<Saved>, DateTime<Utc>),
    Flush(oneshot::Sender<()>),
}

/// A stand-in change not yet written: the recording caller writes it ([`StandInChange::saved`],
/// then [`StandInChange::written`]); dropped otherwise, the keeper's task writes it.
pub struct StandInChange {
    person: InsuredIdentity,
    saved: Option<Saved>,
    decided: DateTime<Utc>,
    /// Where it goes when dropped unwritten; `None` once written.
    keeper: Option<(mpsc::Sender<Job>, Counts)>,
}

impl StandInChange {
    pub fn person(&self) -> &InsuredIdentity {
        &self.person
    }
    /// The new stand-in, or `None` to forget the person's.
    pub fn saved(&self) -> Option<&Saved> {
        self.saved.as_ref()
    }
    /// When the change was decided (the answer's time): a change never undoes a later one.
    pub fn decided(&self) -> DateTime<Utc> {
        self.decided
    }
    /// The change was written with the check's commit: counted, and not handed to the keeper.
    pub fn written(mut self) {
        if let Some((_, counts)) = self.keeper.take() {
            count(&counts, ITEM, op(self.saved.is_some()));
        }
    }
}

impl Drop for StandInChange {
    fn drop(&mut self) {
        if let Some((queue, counts)) = self.keeper.take() {
            let job = Job::Put(self.person.clone(), self.saved.take(), self.decided);
            if queue.try_send(job).is_err() {
                count(&counts, ITEM, "dropped");
                tracing::warn!(
                    item = ITEM,
                    "the durable state is behind; a write was dropped (memory still holds it)"
                );
            }
        }
    }
}

fn op(kept: bool) -> &'static str {
    if kept { "kept" } else { "forgotten" }
}

pub(super) struct Keeper {
    durable: Arc<dyn Durable>,
    counts: Counts,
    /// Started at the first write, on the runtime that asks for it.
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Keeper {
    pub(super) fn new(durable: Arc<dyn Durable>, counts: Counts) -> Self {
        Self {
            durable,
            counts,
            queue: OnceLock::new(),
        }
    }

    /// A change of `person`'s stand-in (or its removal), decided at `decided`: written by the
    /// caller that records the check, or by the keeper's task.
    pub(super) fn change(
        &self,
        person: InsuredIdentity,
        saved: Option<Saved>,
        decided: DateTime<Utc>,
    ) -> StandInChange {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_all(rx, self.durable.clone(), self.counts.clone()));
            tx
        });
        StandInChange {
            person,
            saved,
            decided,
            keeper: Some((queue.clone(), self.counts.clone())),
        }
    }

    /// Waits until every write handed in before this call is done (or failed).
    pub(super) async fn flush(&self) {
        let Some(queue) = self.queue.get() else {
            return;
        };
        let (done, wait) = oneshot::channel();
        if queue.send(Job::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_all(mut rx: mpsc::Receiver<Job>, durable: Arc<dyn Durable>, counts: Counts) {
    while let Some(job) = rx.recv().await {
        match job {
            Job::Put(person, saved, decided) => {
                let op = op(saved.is_some());
                match durable.put(Lookup::StandIn(&person), saved, decided).await {
                    Ok(()) => count(&counts, ITEM, op),
                    Err(e) => {
                        count(&counts, ITEM, "failed");
                        tracing::warn!(item = ITEM, error = %e, "cannot write the durable state");
                    }
                }
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Counts an operation on the durable state (`pmh_gateway_durable_state_total`).
pub(super) fn count(counts: &Counts, item: &'static str, op: &'static str) {
    counts
        .get_or_create(&vec![("item", item), ("op", op)])
        .inc();
}
