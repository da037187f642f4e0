//! Check-in prefetch: オン資 result files from the terminal's shared folder (`face`, and `res`)
//! become cached answers before the receipt computer asks.
//!
//! `prefetch` turns one result file into cached answers: parse, the insurance context, the PMH
//! block when the file has one (else a query to the upstream), the check-in index by 照会番号.
//! `watcher` finds the files (notify events plus a periodic rescan), waits until a file is
//! complete, and disposes of it afterwards (`processed/` or left in place, `rejected/` with a
//! reason file); `handled` remembers files left in place across restarts (the `ledger_file`).
//!
//! Invariants: a file is either processed or rejected — never dropped silently; a file is read
//! only once it is complete (closed, renamed in, or unchanged for the settle time); processing is
//! idempotent (a file processed twice leaves the same cache and index); only this module reads
//! the terminal's `face` and `res` folders (the terminal upstream reads its own results in `res`).

mod handled;
mod schedule;
mod watcher;

use chrono::{DateTime, Utc};

use crate::metrics::Metrics;
use crate::service::{
    Intake, ResultError, ResultVisit, SubsidyService, checks_from_result, metric_source,
    metric_status,
};
use crate::store::{AuditRecord, Operation, ProcessedFile, Recorder};

/// The name the watcher's own accesses are recorded under in the audit.
pub const WATCHER_CLIENT: &str = "checkin-watcher";

pub use watcher::{Disposal, WatchError, WatchOptions, Watcher};

/// Why a file was not processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file may still be being written; read it again once it stops changing.
    #[error("{0}")]
    Partial(ResultError),
    #[error("{0}")]
    Invalid(ResultError),
    /// Read and prefetched, but neither recorded as processed nor audited (the store did not
    /// answer): the file stays, to be read again.
    #[error("the store did not record the file: {0}")]
    Unrecorded(String),
}

/// What a processed file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefetched {
    /// Results (persons) prefetched.
    pub results: usize,
    /// Of those, how many carried the PMH block.
    pub with_block: usize,
    /// The store had it recorded as processed already (read again after a restart, or by
    /// another replica): nothing was done twice.
    pub already_processed: bool,
}

/// Prefetches the answers of one result file through the service's one path for オン資 results
/// (`checks_from_result`, then `check_result` per person): the PMH block's certificates (or an
/// upstream query), cached under the person and the file's date, and the check-in indexed by
/// its 照会番号.
///
/// With an audit, processing is exactly once per file (its name and bytes, by a keyed hash):
/// a file the store has recorded is not processed again, and the file's record and its
/// accesses are committed together — so a file read by two replicas, or again after a crash
/// between the commit and its disposal, is audited once.
///
/// A file with an unreadable identity, or naming a My Number, is invalid as a whole (nothing is
/// prefetched from it).
pub async fn prefetch(
    service: &SubsidyService,
    metrics: &Metrics,
    audit: Option<&Recorder>,
    bytes: &[u8],
    file_name: &str,
    arrived_at: DateTime<Utc>,
) -> Result<Prefetched, FileError> {
    let key = audit.map(|a| a.hasher.checkin_file(file_name, bytes));
    if let (Some(a), Some(key)) = (audit, &key)
        && a.store
            .file_processed(key.clone())
            .await
            .map_err(|e| FileError::Unrecorded(e.to_string()))?
    {
        return Ok(Prefetched {
            already_processed: true,
            ..Prefetched::default()
        });
    }
    let checks = checks_from_result(
        bytes,
        ResultVisit::default(),
        service.today(),
        service.institution(),
    )
    .map_err(|e| {
        if e.could_be_partial() {
            FileError::Partial(e)
        } else {
            FileError::Invalid(e)
        }
    })?;
    let mut done = Prefetched::default();
    let mut records = Vec::new();
    for rc in checks {
        let started = std::time::Instant::now();
        done.with_block += usize::from(rc.block.is_some());
        let intake = Intake::CheckIn {
            file_name: file_name.to_owned(),
            arrived_at,
        };
        let rec = audit.map(|a| {
            let mut rec = AuditRecord::new(service.now(), WATCHER_CLIENT, Operation::Prefetch);
            rec.patient = Some(a.hasher.patient(&rc.request.insured));
            rec.reference = rc.reference.as_deref().map(|r| a.hasher.reference(r));
            rec.detail = Some(if rc.block.is_some() {
                "check-in: the file's PMH block entered the cache".into()
            } else {
                "check-in: asked the upstream".into()
            });
            rec
        });
        let out = service.check_result(rc, intake).await;
        if let Some(mut rec) = rec {
            rec.status = Some(metric_status(out.status).to_owned());
            rec.source = out.source.map(|s| metric_source(s).to_owned());
            rec.subsidies = Some(out.mapped.active.len() as u32);
            rec.check_id = Some(out.check_id.clone());
            records.push(rec);
        }
        metrics
            .prefetch_latency
            .observe(started.elapsed().as_secs_f64());
        metrics
            .arrival_to_cached
            .observe(seconds_between(arrived_at, Utc::now()));
        done.results += 1;
    }
    if let (Some(a), Some(key)) = (audit, key) {
        let n = records.len();
        let file = ProcessedFile {
            key,
            at: service.now(),
            holder: a.holder.clone(),
            records,
        };
        match a.store.record_file(file).await {
            Ok(true) => (0..n).for_each(|_| metrics.audit_record(true)),
            Ok(false) => done.already_processed = true,
            Err(e) => {
                (0..n).for_each(|_| metrics.audit_record(false));
                return Err(FileError::Unrecorded(e.to_string()));
            }
        }
    }
    Ok(done)
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from)
        .to_std()
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

// The prefetch tests run on the sandbox population.
#[cfg(all(test, feature = "emulator"))]
mod tests;
