//! Check-in prefetch: オン資 result files from the terminal's shared folder (`face`, and `res`)
//! become cached answers before the receipt computer asks.
//!
//! `prefetch` turns one result file into cached answers: parse, the insurance context, the PMH
//! block when the file has one (else a query to the upstream), the check-in index by 照会番号.
//! `watcher` finds the files (notify events plus a periodic rescan), waits until a file is
//! complete, and disposes of it afterwards (`processed/` or left in place, `rejected/` with a
//! reason file); `ledger` remembers files left in place across restarts.
//!
//! Invariants: a file is either processed or rejected — never dropped silently; a file is read
//! only once it is complete (closed, renamed in, or unchanged for the settle time); processing is
//! idempotent (a file processed twice leaves the same cache and index); only this module reads
//! the terminal's `face` and `res` folders (the terminal upstream reads its own results in `res`).

pub mod ledger;
pub mod watcher;

use chrono::{DateTime, Utc};

use crate::domain::{Care, Claim, ServiceDate};
use crate::metrics::Metrics;
use crate::onshi::{OnshiError, OnshiResult};
use crate::service::{CheckIn, CheckRequest, Origin, SubsidyService, status_label};

pub use watcher::{Disposal, WatchOptions, Watcher};

/// Why a file was not processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file may still be being written; read it again once it stops changing.
    #[error("{0}")]
    Partial(OnshiError),
    #[error("{0}")]
    Invalid(String),
}

/// What a processed file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefetched {
    /// Results (persons) prefetched.
    pub results: usize,
    /// Of those, how many carried the PMH block.
    pub with_block: usize,
}

/// Prefetches the answers of one result file: for each `ResultOfQualificationConfirmation`, the
/// PMH block's certificates (or an upstream query), mapped with the file's insurance context and
/// cached under the person and the file's date; the check-in is indexed by its 照会番号.
///
/// A file with an unreadable identity is invalid as a whole (nothing is prefetched from it).
pub async fn prefetch(
    service: &SubsidyService,
    metrics: &Metrics,
    bytes: &[u8],
    file_name: &str,
    arrived_at: DateTime<Utc>,
) -> Result<Prefetched, FileError> {
    let result = OnshiResult::parse(bytes).map_err(|e| {
        if e.could_be_partial() {
            FileError::Partial(e)
        } else {
            FileError::Invalid(e.to_string())
        }
    })?;
    if let Some(name) = &result.my_number_element {
        return Err(FileError::Invalid(format!(
            "the message has a <{name}> element (a My Number is never accepted)"
        )));
    }
    let mut persons = Vec::with_capacity(result.results.len());
    for (i, q) in result.results.iter().enumerate() {
        match &q.insured {
            Ok(insured) => persons.push((insured.clone(), q)),
            Err(reason) => {
                return Err(FileError::Invalid(format!(
                    "ResultOfQualificationConfirmation {}: {reason}",
                    i + 1
                )));
            }
        }
    }
    let date = result
        .header
        .qualification_confirmation_date
        .map(ServiceDate::new)
        .unwrap_or_else(|| service.today());
    let mut done = Prefetched::default();
    for (insured, q) in persons {
        let started = std::time::Instant::now();
        let block = q.certificates().map(|c| {
            (
                c,
                Origin::OnshiResult {
                    file: Some(file_name.to_owned()),
                },
            )
        });
        done.with_block += usize::from(block.is_some());
        let insurance = q.insurance_context();
        let req = CheckRequest {
            insured: insured.clone(),
            service_date: Some(date),
            claim: Claim::default(),
            care: Care::default(),
            insurance: Some(insurance),
        };
        let out = service.check_with_result(req, block).await;
        let cached_at = Utc::now();
        metrics
            .prefetch_latency
            .observe(started.elapsed().as_secs_f64());
        metrics
            .arrival_to_cached
            .observe(seconds_between(arrived_at, cached_at));
        metrics
            .prefetches
            .get_or_create(&vec![("status", status_label(out.status))])
            .inc();
        if let Some(reference) = q.reference_number.clone().filter(|r| !r.is_empty()) {
            service
                .record_check_in(
                    reference,
                    CheckIn {
                        insured,
                        service_date: date,
                        insurance,
                        file_name: file_name.to_owned(),
                        arrived_at,
                        cached_at,
                        status: out.status,
                    },
                )
                .await;
        }
        done.results += 1;
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
