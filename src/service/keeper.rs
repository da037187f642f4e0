//! Keeps the stand-ins in the durable state after the answer, never within a check's deadline.
//!
//! A check that PMH answered hands the person's new stand-in (or its removal) to one task that
//! writes them in the order they were handed in (a "forget" after a "keep" stays last), and
//! answers at once: a slow or failing store never turns a good PMH answer into `stale` or
//! `unavailable`. The queue is bounded; when it is full a write is dropped and counted, and the
//! memory still holds the stand-in. `flush` waits until everything handed in so far is written
//! (shutdown, tests).

use std::sync::{Arc, OnceLock};

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
    /// A person's stand-in, or its removal (`None`).
    Put(InsuredIdentity, Option<Saved>),
    Flush(oneshot::Sender<()>),
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

    /// Hands the write of `person`'s stand-in (or its removal) to the task; returns at once.
    pub(super) fn put(&self, person: InsuredIdentity, saved: Option<Saved>) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_all(rx, self.durable.clone(), self.counts.clone()));
            tx
        });
        if queue.try_send(Job::Put(person, saved)).is_err() {
            count(&self.counts, ITEM, "dropped");
            tracing::warn!(
                item = ITEM,
                "the durable state is behind; a write was dropped (memory still holds it)"
            );
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
            Job::Put(person, saved) => {
                let op = if saved.is_some() { "kept" } else { "forgotten" };
                match durable.put(Lookup::StandIn(&person), saved).await {
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
