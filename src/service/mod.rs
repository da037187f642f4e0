//! The one place where policy lives: cache lookup with request coalescing, the upstream call
//! with a deadline, freshness, stale-if-error, the circuit breaker and the mapping.
//!
//! Invariants:
//! - an upstream failure is never reported as `none_found`: it is `stale` (the last confirmed
//!   answer, only while some of its subsidies are valid on the service date) or `unavailable`;
//! - errors are never cached; concurrent misses on one key make one upstream call;
//! - freshness follows the injectable [`Clock`], not moka's timers (moka's TTL is a backstop);
//! - every check answers by its deadline.

pub mod breaker;
pub mod clock;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::future::Cache;
use tokio::time::Instant;

pub use breaker::{Breaker, BreakerState};
pub use clock::{Clock, ManualClock, SystemClock};

use crate::domain::date::end_of_jst_day;
use crate::domain::{Certificate, InsuredIdentity, MedicalInstitutionCode, ServiceDate};
use crate::mapping::{self, Care, Claim, InsuranceContext, Mapped, VisitContext};
use crate::masters::{MasterSnapshot, MasterStore};
use crate::metrics::Metrics;
use crate::upstream::{Query, Upstream, UpstreamError};

/// Tunables of the service (see `config` for their defaults and names).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Every check answers within this.
    pub deadline: Duration,
    /// Confirmed answers are fresh until the end of the service date (JST) or this, whichever
    /// comes first.
    pub confirmed_max_age: Duration,
    /// `none_found` answers are fresh this long (the patient may consent a minute later).
    pub none_found_max_age: Duration,
    /// The last confirmed answer may stand in for a failed upstream this long.
    pub stale_max_age: Duration,
    pub cache_capacity: u64,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            deadline: Duration::from_millis(3000),
            confirmed_max_age: Duration::from_secs(12 * 3600),
            none_found_max_age: Duration::from_secs(60),
            stale_max_age: Duration::from_secs(7 * 24 * 3600),
            cache_capacity: 100_000,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(15),
        }
    }
}

/// What the receipt computer asks.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub insured: InsuredIdentity,
    /// Defaults to today (JST).
    pub service_date: Option<ServiceDate>,
    pub claim: Claim,
    pub care: Care,
    /// The insurance side (本人/家族, 後期 …), when known: enables the レセプト種別.
    pub insurance: Option<InsuranceContext>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// PMH returned certificates (which may all be inactive on the service date).
    Confirmed,
    /// PMH returned nothing: unknown (no consent, or not registered); ask for the paper
    /// certificate. Never means "expired".
    NoneFound,
    /// The upstream failed and nothing usable is cached.
    Unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Upstream,
    Cache,
    Stale,
}

/// Why an answer is unavailable or stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Degradation {
    Upstream(UpstreamError),
    BreakerOpen,
    Deadline(u64),
}

impl Degradation {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Upstream(e) => e.kind(),
            Self::BreakerOpen => "breaker_open",
            Self::Deadline(_) => "deadline",
        }
    }
    pub fn detail(&self) -> String {
        match self {
            Self::Upstream(e) => e.to_string(),
            Self::BreakerOpen => {
                "the upstream failed repeatedly; calls are paused (circuit breaker open)".into()
            }
            Self::Deadline(ms) => format!("no upstream answer within the {ms} ms deadline"),
        }
    }
}

/// The service's answer.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub status: Status,
    pub source: Option<Source>,
    pub service_date: ServiceDate,
    pub checked_at: DateTime<Utc>,
    /// When the data was obtained from the upstream.
    pub obtained_at: Option<DateTime<Utc>>,
    pub mapped: Mapped,
    pub degradation: Option<Degradation>,
    pub masters_version: String,
    pub correlation_id: String,
}

impl CheckOutcome {
    pub fn age_seconds(&self) -> Option<i64> {
        self.obtained_at
            .map(|t| (self.checked_at - t).num_seconds().max(0))
    }
}

/// An upstream answer as cached.
#[derive(Debug)]
struct Fetched {
    certificates: Vec<Certificate>,
    obtained_at: DateTime<Utc>,
    fresh_until: DateTime<Utc>,
}

type Key = (InsuredIdentity, ServiceDate);

pub struct SubsidyService {
    upstream: Arc<dyn Upstream>,
    masters: Arc<MasterStore>,
    clock: Arc<dyn Clock>,
    cfg: ServiceConfig,
    institution: Option<MedicalInstitutionCode>,
    fresh: Cache<Key, Arc<Fetched>>,
    last_confirmed: Cache<InsuredIdentity, Arc<Fetched>>,
    breaker: Breaker,
    metrics: Arc<Metrics>,
}

impl SubsidyService {
    pub fn new(
        upstream: Arc<dyn Upstream>,
        masters: Arc<MasterStore>,
        clock: Arc<dyn Clock>,
        cfg: ServiceConfig,
        institution: Option<MedicalInstitutionCode>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let fresh = Cache::builder()
            .max_capacity(cfg.cache_capacity)
            .time_to_live(cfg.confirmed_max_age.max(cfg.none_found_max_age))
            .build();
        let last_confirmed = Cache::builder()
            .max_capacity(cfg.cache_capacity)
            .time_to_live(cfg.stale_max_age)
            .build();
        let breaker = Breaker::new(cfg.breaker_threshold, cfg.breaker_cooldown, clock.clone());
        Self {
            upstream,
            masters,
            clock,
            cfg,
            institution,
            fresh,
            last_confirmed,
            breaker,
            metrics,
        }
    }

    /// The snapshot in force; checks in flight finish with the one they started with.
    pub fn masters(&self) -> Arc<MasterSnapshot> {
        self.masters.current()
    }

    pub fn master_store(&self) -> &Arc<MasterStore> {
        &self.masters
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    pub fn today(&self) -> ServiceDate {
        ServiceDate::today_at(self.clock.now())
    }

    /// Forgets what is cached about a person (e.g. a new オン資 result arrived).
    pub async fn invalidate(&self, insured: &InsuredIdentity, date: ServiceDate) {
        self.fresh.invalidate(&(insured.clone(), date)).await;
    }

    pub async fn check(&self, req: CheckRequest) -> CheckOutcome {
        let started = std::time::Instant::now();
        let out = self.check_inner(req).await;
        self.metrics
            .check_latency
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .checks
            .get_or_create(&vec![
                ("status", status_label(out.status)),
                ("source", out.source.map(source_label).unwrap_or("none")),
            ])
            .inc();
        self.metrics.breaker_state.set(self.breaker.state().gauge());
        out
    }

    async fn check_inner(&self, req: CheckRequest) -> CheckOutcome {
        let now = self.clock.now();
        // Keep a margin for mapping and writing the answer, so the caller has it by the deadline.
        let margin = (self.cfg.deadline / 10).min(Duration::from_millis(100));
        let deadline = Instant::now() + self.cfg.deadline - margin;
        let service_date = req
            .service_date
            .unwrap_or_else(|| ServiceDate::today_at(now));
        let masters = self.masters();
        let ctx = VisitContext {
            service_date,
            claim: req.claim,
            care: req.care,
            institution: self.institution.clone(),
            insurance: req.insurance,
            birthdate: Some(req.insured.birthdate()),
        };
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let key = (req.insured.clone(), service_date);
        let answer = |status, source, fetched: Option<&Fetched>, degradation| {
            let mapped = fetched
                .map(|f| mapping::map(&f.certificates, &masters, &ctx))
                .unwrap_or_default();
            CheckOutcome {
                status,
                source,
                service_date,
                checked_at: now,
                obtained_at: fetched.map(|f| f.obtained_at),
                mapped,
                degradation,
                masters_version: masters.version(),
                correlation_id: correlation_id.clone(),
            }
        };
        let found = |f: &Fetched| {
            if f.certificates.is_empty() {
                Status::NoneFound
            } else {
                Status::Confirmed
            }
        };

        if let Some(f) = self.fresh.get(&key).await {
            if f.fresh_until > now {
                self.metrics.cache_hits.inc();
                return answer(found(&f), Some(Source::Cache), Some(&f), None);
            }
            self.fresh.invalidate(&key).await;
        }
        self.metrics.cache_misses.inc();

        let result =
            tokio::time::timeout_at(deadline, self.fetch(key, &correlation_id, deadline)).await;
        let degradation = match result {
            Ok(Ok(f)) => {
                let source = if f.obtained_at >= now {
                    Source::Upstream
                } else {
                    Source::Cache
                };
                return answer(found(&f), Some(source), Some(&f), None);
            }
            Ok(Err(e)) => (*e).clone(),
            Err(_) => Degradation::Deadline(self.cfg.deadline.as_millis() as u64),
        };

        // Stale-if-error: the last confirmed answer, only while it still applies.
        if let Some(last) = self.last_confirmed.get(&req.insured).await {
            let age = now - last.obtained_at;
            if age.to_std().unwrap_or_default() <= self.cfg.stale_max_age {
                let a = answer(
                    Status::Confirmed,
                    Some(Source::Stale),
                    Some(&last),
                    Some(degradation.clone()),
                );
                if !a.mapped.active.is_empty() {
                    return a;
                }
            }
        }
        answer(Status::Unavailable, None, None, Some(degradation))
    }

    /// One upstream call per key at a time; the deadline is enforced inside the shared future
    /// so that a caller that goes away cannot stall the others.
    async fn fetch(
        &self,
        key: Key,
        correlation_id: &str,
        deadline: Instant,
    ) -> Result<Arc<Fetched>, Arc<Degradation>> {
        let insured = key.0.clone();
        let date = key.1;
        let init = async {
            if self.breaker.permit() == breaker::Permit::Refused {
                return Err(Degradation::BreakerOpen);
            }
            let q = Query {
                insured: insured.clone(),
                date: date.date(),
                correlation_id: correlation_id.to_owned(),
            };
            let t0 = std::time::Instant::now();
            let r = match tokio::time::timeout_at(deadline, self.upstream.query(&q, deadline)).await
            {
                Ok(r) => r,
                Err(_) => Err(UpstreamError::Timeout(self.cfg.deadline.as_millis() as u64)),
            };
            self.metrics
                .upstream_latency
                .observe(t0.elapsed().as_secs_f64());
            let outcome = r.as_ref().map(|_| "ok").unwrap_or_else(|e| e.kind());
            self.metrics
                .upstream_calls
                .get_or_create(&vec![("outcome", outcome)])
                .inc();
            match r {
                Ok(a) => {
                    self.breaker.record_success();
                    let now = self.clock.now();
                    let fresh_until = if a.certificates.is_empty() {
                        now + chrono_dur(self.cfg.none_found_max_age)
                    } else {
                        (now + chrono_dur(self.cfg.confirmed_max_age))
                            .min(end_of_jst_day(date.date()))
                    };
                    let f = Arc::new(Fetched {
                        certificates: a.certificates,
                        obtained_at: now,
                        fresh_until,
                    });
                    if !f.certificates.is_empty() {
                        self.last_confirmed.insert(insured.clone(), f.clone()).await;
                    }
                    Ok(f)
                }
                Err(e) => {
                    // A refusal about this request is not a sign of an unhealthy upstream.
                    if !matches!(e, UpstreamError::Rejected { .. }) {
                        self.breaker.record_failure();
                    }
                    self.metrics
                        .upstream_errors
                        .get_or_create(&vec![("kind", e.kind())])
                        .inc();
                    tracing::warn!(kind = e.kind(), error = %e.log_safe(), "upstream query failed");
                    Err(Degradation::Upstream(e))
                }
            }
        };
        self.fresh.try_get_with(key, init).await
    }
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Confirmed => "confirmed",
        Status::NoneFound => "none_found",
        Status::Unavailable => "unavailable",
    }
}

pub fn source_label(s: Source) -> &'static str {
    match s {
        Source::Upstream => "upstream",
        Source::Cache => "cache",
        Source::Stale => "stale",
    }
}

#[cfg(test)]
mod tests;
