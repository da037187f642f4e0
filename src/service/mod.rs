//! The one place where policy lives: cache lookup with request coalescing, the upstream call
//! with a deadline, freshness, stale-if-error, the circuit breaker and the mapping.
//!
//! Invariants:
//! - an upstream failure is never reported as `none_found`: it is `stale` (the last confirmed
//!   answer, only while some of its subsidies are valid on the service date) or `unavailable`;
//! - errors are never cached; concurrent misses on one key make one upstream call;
//! - freshness follows the injectable [`Clock`], not moka's timers (moka's TTL is a backstop);
//! - every check answers by its deadline.

mod board;
mod breaker;
mod clock;
mod durable;
mod fetched;
mod fresh;
mod intake;
mod keeper;

use std::sync::Arc;

pub use board::{Alert, Board, BoardRow, RowStatus};
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::future::Cache;
use tokio::time::Instant;

pub use breaker::{Breaker, BreakerState};
pub use clock::{Clock, ManualClock, SystemClock};
pub use durable::{Durable, DurableError, Forgetful, ListRow, Lookup, Saved};
use fetched::Fetched;
pub use intake::{ResultCheck, ResultError, ResultVisit, checks_from_result};
pub use keeper::StandInChange;

use crate::domain::date::end_of_jst_day;
use crate::domain::{
    Care, Certificate, Claim, InsuranceContext, InsuredIdentity, MedicalInstitutionCode,
    ServiceDate,
};
use crate::mapping::{self, Mapped, VisitContext};
use crate::masters::{MasterSnapshot, MasterStore};
use crate::metrics::Metrics;
use crate::upstream::{Query, Upstream, UpstreamError};

/// Tunables of the service (see `config` for their defaults and names).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Every check answers within this.
    pub deadline: Duration,
    /// Confirmed answers are fresh until the end of the service date (JST; of today for a past
    /// date) or this, whichever comes first.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// PMH returned certificates (which may all be inactive on the service date).
    Confirmed,
    /// PMH returned nothing: unknown (no consent, or not registered); ask for the paper
    /// certificate. Never means "expired".
    NoneFound,
    /// The upstream failed and nothing usable is cached.
    Unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Source {
    Upstream,
    Cache,
    Stale,
    /// The PMH block of the オン資 result this check came with.
    OnshiResult,
}

/// Which door an オン資 result came through.
#[derive(Debug, Clone)]
pub enum Intake {
    /// Posted to the API; `trusted` when the caller may let a PMH block into the cache
    /// (scope `onshi_post`). An untrusted block answers that one request only.
    Posted { trusted: bool },
    /// A file in the terminal's shared folder: its name (no directory) and when it was written.
    CheckIn {
        file_name: String,
        arrived_at: DateTime<Utc>,
    },
}

/// Where cached certificates came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Origin {
    /// A query to the upstream (PMH, or the terminal in terminal mode).
    Upstream,
    /// The PMH block of an オン資 result: a file in the terminal's folder (its name only) or a
    /// posted body (`None`).
    OnshiResult { file: Option<String> },
}

/// A patient's check-in at the オン資 terminal, as the watcher saw it; indexed by 照会番号.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub insured: InsuredIdentity,
    pub service_date: ServiceDate,
    pub insurance: Option<InsuranceContext>,
    /// The result file's name (no directory).
    pub file_name: String,
    /// When the file was written (its modification time).
    pub arrived_at: DateTime<Utc>,
    /// When the prefetched answer was in the cache.
    pub cached_at: DateTime<Utc>,
    /// How the prefetch ended.
    pub status: Status,
    /// The person as the result names them (name, kana, sex, birthdate): for the reception
    /// page only, never in an API answer.
    pub person: Option<crate::domain::PatientDetails>,
}

/// Why an answer is unavailable or stale.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Degradation {
    Upstream(UpstreamError),
    BreakerOpen,
    Deadline(u64),
}

/// What kind of failure a [`Degradation`] is, without its detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DegradationKind {
    Connect,
    Timeout,
    Status,
    Protocol,
    Rejected,
    Other,
    BreakerOpen,
    Deadline,
}

impl Degradation {
    pub fn kind_of(&self) -> DegradationKind {
        use DegradationKind as K;
        match self {
            Self::Upstream(UpstreamError::Connect(_)) => K::Connect,
            Self::Upstream(UpstreamError::Timeout(_)) => K::Timeout,
            Self::Upstream(UpstreamError::Status(_)) => K::Status,
            Self::Upstream(UpstreamError::Protocol(_)) => K::Protocol,
            Self::Upstream(UpstreamError::Rejected { .. }) => K::Rejected,
            Self::Upstream(UpstreamError::Other(_)) => K::Other,
            Self::BreakerOpen => K::BreakerOpen,
            Self::Deadline(_) => K::Deadline,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Upstream(e) => e.kind(),
            Self::BreakerOpen => "breaker_open",
            Self::Deadline(_) => "deadline",
        }
    }
    /// What a caller is told: the gateway's own words per kind (Japanese, then English), with
    /// the HTTP status, the time limit or PMH's error code where there is one — never PMH's
    /// address, TLS internals or PMH's message (the log keeps the detail, `log_safe`).
    pub fn detail(&self) -> String {
        use crate::upstream::UpstreamError as E;
        match self {
            Self::Upstream(E::Connect(_)) => {
                "PMHに接続できません / cannot connect to PMH (network or TLS; see the gateway's log)".into()
            }
            Self::Upstream(E::Timeout(ms)) => {
                format!("PMHが{ms}ミリ秒以内に応答しません / PMH did not answer within {ms} ms")
            }
            Self::Upstream(E::Status(code)) => {
                format!("PMHがHTTP {code}を返しました / PMH answered HTTP {code}")
            }
            Self::Upstream(E::Protocol(_)) => {
                "PMHの応答を読めません / PMH's answer could not be read (see the gateway's log)".into()
            }
            Self::Upstream(E::Rejected { code, .. }) => format!(
                "PMHがエラーを返しました（コード {} ） / PMH reported an error (code {})",
                crate::domain::text::printable(code, 16),
                crate::domain::text::printable(code, 16)
            ),
            Self::Upstream(E::Other(_)) => {
                "PMHへの要求が失敗しました / the request to PMH failed (see the gateway's log)".into()
            }
            Self::BreakerOpen => "PMHへの要求が続けて失敗したため、一時停止しています / PMH failed repeatedly; calls are paused (circuit breaker open)".into(),
            Self::Deadline(ms) => {
                format!("{ms}ミリ秒以内にPMHの応答がありません / no PMH answer within the {ms} ms deadline")
            }
        }
    }
}

/// The service's answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckOutcome {
    pub status: Status,
    pub source: Option<Source>,
    pub service_date: ServiceDate,
    pub checked_at: DateTime<Utc>,
    /// When the data was obtained from the upstream.
    pub obtained_at: Option<DateTime<Utc>>,
    /// Where the certificates came from.
    pub origin: Option<Origin>,
    pub mapped: Arc<Mapped>,
    pub degradation: Option<Degradation>,
    pub masters_version: String,
    pub check_id: String,
    /// Which memoised mapping `mapped` is. Two answers with the same basis and no degradation
    /// differ only in their per-check fields (check id, times, source): a key for what is
    /// derived from the mapped part (rendered bytes, a kept body). `None` when nothing was
    /// mapped or the answer was read back from the store.
    #[serde(skip)]
    pub basis: Option<u64>,
}

/// A check's answer, with the stand-in change its PMH call decided (when this check made the
/// call): the caller that records the check writes it in the same commit, or drops it and the
/// keeper writes it.
pub struct Checked {
    pub outcome: CheckOutcome,
    pub stand_in: Option<StandInChange>,
}

impl Checked {
    fn new(outcome: CheckOutcome, slot: Slot) -> Self {
        Self {
            outcome,
            stand_in: slot.0.into_inner().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// Where a check's own PMH call leaves its stand-in change.
#[derive(Default)]
struct Slot(std::sync::Mutex<Option<StandInChange>>);

impl Slot {
    fn put(&self, change: StandInChange) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(change);
    }
}

impl CheckOutcome {
    pub fn age_seconds(&self) -> Option<i64> {
        self.obtained_at
            .map(|t| (self.checked_at - t).num_seconds().max(0))
    }
}

/// What a mapping depends on besides the person: the certificates (by the `Fetched` they came
/// in), the visit and the master tables (by snapshot). The institution is the service's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MapKey {
    fetched: u64,
    service_date: ServiceDate,
    claim: Claim,
    care: Care,
    insurance: Option<InsuranceContext>,
    masters: u64,
}

/// How many mappings are memoised: the patients of the last hour or so at a busy clinic, in
/// their usual settings. A mapping of three subsidies holds a few kilobytes (2,048 of them held
/// 7.5 MB, benches/allocs.rs); one not held is made again from the cached certificates, about
/// 70 µs of CPU with its rendering and a new shared body (measured with the memo off,
/// deploy/bench/run), never an upstream call. What is derived per basis (the rendered JSON, the
/// shared body) is never used once its mapping has left: a mapping made again has a new basis.
pub const MAPPED_CAPACITY: u64 = 512;

/// How many stand-ins stay in memory when a durable state keeps them all: a clinic's day. Beyond
/// it one is read from the durable state (one indexed read), and only while the upstream fails;
/// 4,096 held about 1.2 MB (benches/allocs.rs).
pub const STAND_INS_IN_MEMORY: u64 = 1024;

/// A number no other `Fetched` or mapping of this process has.
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub struct SubsidyService {
    upstream: Arc<dyn Upstream>,
    masters: Arc<MasterStore>,
    clock: Arc<dyn Clock>,
    cfg: ServiceConfig,
    institution: Option<MedicalInstitutionCode>,
    fresh: fresh::FreshCache,
    last_confirmed: Cache<InsuredIdentity, Fetched>,
    breaker: Breaker,
    metrics: Arc<Metrics>,
    /// 照会番号 → the latest check-in.
    check_ins: Cache<String, Arc<CheckIn>>,
    /// Where stand-ins and check-ins outlive the process.
    durable: Arc<dyn Durable>,
    /// Writes the stand-ins there after the answer (`keeper.rs`).
    keeper: keeper::Keeper,
    /// Mappings of cached answers, so that a cached check does not map again; with its basis.
    mapped: moka::sync::Cache<MapKey, (u64, Arc<Mapped>)>,
    /// Today's check-ins for the reception page.
    board: Board,
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
        let fresh = fresh::FreshCache::new(cfg.cache_capacity);
        let last_confirmed = Cache::builder()
            .max_capacity(cfg.cache_capacity)
            .time_to_live(cfg.stale_max_age)
            .build();
        let breaker = Breaker::new(cfg.breaker_threshold, cfg.breaker_cooldown, clock.clone());
        let check_ins = Cache::builder()
            .max_capacity(cfg.cache_capacity)
            .time_to_live(CHECK_IN_MAX_AGE)
            .build();
        Self {
            upstream,
            masters,
            clock,
            cfg,
            institution,
            fresh,
            last_confirmed,
            breaker,
            keeper: keeper::Keeper::new(Arc::new(Forgetful), metrics.durable_state.clone()),
            metrics,
            check_ins,
            durable: Arc::new(Forgetful),
            mapped: moka::sync::Cache::new(MAPPED_CAPACITY),
            board: Board::default(),
        }
    }

    /// Keeps the stale stand-ins and the check-in index in `durable` as well as in memory, and
    /// reads them from it when memory misses (after a restart, or written by another replica).
    ///
    /// Stand-ins are then read from the durable state when memory misses, so memory keeps only
    /// the most recent [`STAND_INS_IN_MEMORY`] of them (a clinic's day) instead of a
    /// week's worth: they are only asked for while the upstream fails.
    pub fn with_durable(mut self, durable: Arc<dyn Durable>) -> Self {
        self.keeper = keeper::Keeper::new(durable.clone(), self.metrics.durable_state.clone());
        self.durable = durable;
        self.last_confirmed = Cache::builder()
            .max_capacity(self.cfg.cache_capacity.min(STAND_INS_IN_MEMORY))
            .time_to_live(self.cfg.stale_max_age)
            .build();
        self
    }

    /// Today's check-ins, as they arrive and end.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// Waits until every stand-in handed to the durable state so far is written (the stand-ins
    /// are written after their answers: see `keeper.rs`).
    pub async fn flush_kept(&self) {
        self.keeper.flush().await;
    }

    /// The snapshot in force; checks in flight finish with the one they started with.
    pub fn masters(&self) -> Arc<MasterSnapshot> {
        self.masters.current()
    }

    pub fn master_store(&self) -> &Arc<MasterStore> {
        &self.masters
    }

    /// The institution this gateway serves, when configured.
    pub fn institution(&self) -> Option<&MedicalInstitutionCode> {
        self.institution.as_ref()
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Now, by the service's clock (the audit's time, too).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn today(&self) -> ServiceDate {
        ServiceDate::today_at(self.clock.now())
    }

    /// Forgets what is cached about a person (e.g. a new オン資 result arrived).
    pub async fn invalidate(&self, insured: &InsuredIdentity, date: ServiceDate) {
        self.fresh.remove(&self.fresh.key(insured, date));
    }

    /// Answers one person's check from an オン資 result, whichever door it came through. With the
    /// result's PMH block, its certificates are the answer and replace what is cached for the
    /// person and date (no upstream call); without one, the cached entry is dropped and the
    /// upstream asked again (the patient may have just given consent at the terminal). A
    /// check-in from the terminal's folder is then indexed by its 照会番号.
    ///
    /// A block is never the stale stand-in (`last confirmed`): only PMH's own answers are, so
    /// neither a posted nor a filed file can bring its content back when the upstream fails. A
    /// posted block from a caller without `onshi_post` does not enter the cache at all.
    pub async fn check_result(&self, rc: ResultCheck, intake: Intake) -> CheckOutcome {
        self.check_result_to_record(rc, intake).await.outcome
    }

    /// [`Service::check_result`], with the stand-in change for the caller that records it.
    pub async fn check_result_to_record(&self, rc: ResultCheck, intake: Intake) -> Checked {
        let slot = Slot::default();
        let outcome = self.check_result_in(rc, intake, &slot).await;
        Checked::new(outcome, slot)
    }

    async fn check_result_in(&self, rc: ResultCheck, intake: Intake, slot: &Slot) -> CheckOutcome {
        let ResultCheck {
            request,
            block,
            reference,
            person,
        } = rc;
        let (insured, insurance) = (request.insured.clone(), request.insurance);
        let (file, cacheable) = match &intake {
            Intake::Posted { trusted } => (None, *trusted),
            Intake::CheckIn { file_name, .. } => (Some(file_name.clone()), true),
        };
        if let (Intake::CheckIn { arrived_at, .. }, Some(reference)) = (&intake, &reference) {
            let day = request
                .service_date
                .unwrap_or_else(|| ServiceDate::today_at(self.clock.now()));
            if let Some(row) = self
                .board
                .pending(reference, person.clone(), day, *arrived_at)
            {
                self.keep_row(&row).await;
            }
        }
        let out = match block {
            Some(certificates) => {
                let asked = Asked::new(request, self.clock.now(), self.masters());
                let origin = Origin::OnshiResult { file };
                let f = self.fetched(certificates, asked.service_date, origin);
                if cacheable {
                    self.fresh.insert(asked.key(&self.fresh), f.clone());
                    if f.certificates().is_empty() {
                        // The block is PMH's "none": no older answer stands in for it.
                        slot.put(self.forget_stand_in(&insured, f.obtained_at()).await);
                    }
                }
                self.answer(&asked, found(&f), Some(Source::OnshiResult), Some(&f), None)
            }
            None => {
                let day = request
                    .service_date
                    .unwrap_or_else(|| ServiceDate::today_at(self.clock.now()));
                self.fresh.remove(&self.fresh.key(&request.insured, day));
                self.check_inner(request, slot).await
            }
        };
        match intake {
            Intake::Posted { .. } => self.count(&out),
            Intake::CheckIn {
                file_name,
                arrived_at,
            } => {
                self.metrics
                    .prefetches
                    .get_or_create(&vec![("status", metric_status(out.status))])
                    .inc();
                // The latest check-in under a 照会番号 is the one that arrived last: an older file
                // handled after a newer one (files are handled several at once) is answered and
                // cached, but does not replace the newer one's index.
                let newer = match &reference {
                    Some(r) => self
                        .check_ins
                        .get(r)
                        .await
                        .is_none_or(|prev| prev.arrived_at <= arrived_at),
                    None => false,
                };
                if let Some(reference) = reference.filter(|_| newer) {
                    if let Some(row) = self
                        .board
                        .done(&reference, person.clone(), arrived_at, &out)
                    {
                        self.keep_row(&row).await;
                    }
                    let answer = self.fresh.get(&self.fresh.key(&insured, out.service_date));
                    let c = CheckIn {
                        insured,
                        service_date: out.service_date,
                        insurance,
                        file_name,
                        arrived_at,
                        cached_at: self.clock.now(),
                        status: out.status,
                        person,
                    };
                    // Answerable from memory at once; the durable copy follows.
                    let c = Arc::new(c);
                    self.check_ins.insert(reference.clone(), c.clone()).await;
                    self.keep_check_in(&reference, &c, answer.as_ref()).await;
                }
            }
        }
        out
    }

    /// The latest check-in under this 照会番号, if one arrived within the last day and a half
    /// (no check is made): from memory, or else from the durable state (then with the answer
    /// its prefetch cached, while that is fresh).
    pub async fn check_in(&self, reference: &str) -> Option<Arc<CheckIn>> {
        if let Some(c) = self.check_ins.get(reference).await {
            return Some(c);
        }
        let now = self.clock.now();
        let bytes = self
            .durable_get(Lookup::CheckIn(reference), "check_in", now)
            .await?;
        let Some((c, answer)) = serde_json::from_slice::<durable::KeptCheckIn>(&bytes)
            .ok()
            .and_then(durable::KeptCheckIn::into_parts)
        else {
            self.durable_count("check_in", "failed");
            tracing::warn!("a kept check-in could not be read back; it is ignored");
            return None;
        };
        if now - c.cached_at > chrono_dur(CHECK_IN_MAX_AGE) {
            return None;
        }
        if let Some(f) = answer.filter(|f| f.fresh_until() > now) {
            let key = self.fresh.key(&c.insured, c.service_date);
            if self.fresh.get(&key).is_none() {
                self.fresh.insert(key, f);
            }
        }
        let c = Arc::new(c);
        self.check_ins.insert(reference.to_owned(), c.clone()).await;
        Some(c)
    }

    /// The last confirmed answer of a person: from memory, or else from the durable state if it
    /// answers by `by` (the check's own deadline; a slow store is "not known here").
    async fn stand_in(
        &self,
        insured: &InsuredIdentity,
        now: DateTime<Utc>,
        by: Instant,
    ) -> Option<Fetched> {
        if let Some(f) = self.last_confirmed.get(insured).await {
            return Some(f);
        }
        let read = self.durable_get(Lookup::StandIn(insured), "stand_in", now);
        let Ok(bytes) = tokio::time::timeout_at(by, read).await else {
            self.durable_count("stand_in", "late");
            tracing::warn!("the durable state did not answer by the deadline; no stand-in");
            return None;
        };
        let bytes = bytes?;
        let Ok(kept) = serde_json::from_slice::<durable::KeptFetched>(&bytes) else {
            self.durable_count("stand_in", "failed");
            tracing::warn!("a kept stand-in could not be read back; it is ignored");
            return None;
        };
        let f = kept.into_fetched();
        self.last_confirmed.insert(insured.clone(), f.clone()).await;
        Some(f)
    }

    async fn durable_get(
        &self,
        at: Lookup<'_>,
        item: &'static str,
        now: DateTime<Utc>,
    ) -> Option<Vec<u8>> {
        match self.durable.get(at, now).await {
            Ok(Some(b)) => {
                self.durable_count(item, "loaded");
                Some(b)
            }
            Ok(None) => None,
            Err(e) => {
                self.durable_count(item, "failed");
                tracing::warn!(item, error = %e, "cannot read the durable state");
                None
            }
        }
    }

    async fn durable_put(&self, at: Lookup<'_>, item: &'static str, saved: Option<Saved>) {
        let op = if saved.is_some() { "kept" } else { "forgotten" };
        match self.durable.put(at, saved, self.clock.now()).await {
            Ok(()) => self.durable_count(item, op),
            Err(e) => {
                self.durable_count(item, "failed");
                tracing::warn!(item, error = %e, "cannot write the durable state");
            }
        }
    }

    fn durable_count(&self, item: &'static str, op: &'static str) {
        keeper::count(&self.metrics.durable_state, item, op);
    }

    /// A confirmed answer from PMH becomes the person's stand-in: in memory at once, in the
    /// durable state after the answer (the change returned).
    async fn keep_stand_in(&self, insured: &InsuredIdentity, f: &Fetched) -> StandInChange {
        self.last_confirmed.insert(insured.clone(), f.clone()).await;
        let body = serde_json::to_vec(&durable::KeptFetched::of(f)).unwrap_or_default();
        let saved = Saved {
            expires_at: f.obtained_at() + chrono_dur(self.cfg.stale_max_age),
            body,
        };
        self.keeper
            .change(insured.clone(), Some(saved), f.obtained_at())
    }

    /// PMH now says "none" (at `at`): an older confirmed answer must not come back as the
    /// stand-in.
    async fn forget_stand_in(&self, insured: &InsuredIdentity, at: DateTime<Utc>) -> StandInChange {
        self.last_confirmed.invalidate(insured).await;
        self.keeper.change(insured.clone(), None, at)
    }

    /// A change of the reception list, written to the durable list the replicas share.
    async fn keep_row(&self, row: &BoardRow) {
        let body = serde_json::to_vec(&durable::KeptRow::of(row)).unwrap_or_default();
        match self
            .durable
            .add_row(row.service_date, body, self.clock.now())
            .await
        {
            Ok(()) => self.durable_count("board_row", "kept"),
            Err(e) => {
                self.durable_count("board_row", "failed");
                tracing::warn!(error = %e, "cannot write the reception list's row");
            }
        }
    }

    /// Reads today's rows of the durable list written after `after` into the board (another
    /// replica's check-ins, or those from before a restart); returns the last number read, to
    /// pass next time.
    pub async fn sync_board(&self, after: i64) -> i64 {
        let rows = match self.durable.rows(self.today(), after).await {
            Ok(rows) => rows,
            Err(e) => {
                self.durable_count("board_row", "failed");
                tracing::warn!(error = %e, "cannot read the reception list");
                return after;
            }
        };
        let mut last = after;
        for (seq, body) in rows {
            last = last.max(seq);
            match serde_json::from_slice::<durable::KeptRow>(&body) {
                Ok(r) => {
                    self.board.merge(r.into_row());
                }
                Err(_) => self.durable_count("board_row", "failed"),
            }
        }
        last
    }

    async fn keep_check_in(&self, reference: &str, c: &CheckIn, answer: Option<&Fetched>) {
        let body = serde_json::to_vec(&durable::KeptCheckIn::of(c, answer)).unwrap_or_default();
        let saved = Saved {
            expires_at: c.cached_at + chrono_dur(CHECK_IN_MAX_AGE),
            body,
        };
        self.durable_put(Lookup::CheckIn(reference), "check_in", Some(saved))
            .await;
    }

    /// The answer for the latest check-in under this 照会番号 (within the last day and a half),
    /// mapped for `claim` and `care` with the check-in's insurance context: from the cache the
    /// prefetch filled, or asked again when that has expired. `None` when no such check-in.
    pub async fn check_by_reference(
        &self,
        reference: &str,
        claim: Claim,
        care: Care,
    ) -> Option<(Checked, Arc<CheckIn>)> {
        let c = self.check_in(reference).await?;
        let out = self
            .check_to_record(CheckRequest {
                insured: c.insured.clone(),
                service_date: Some(c.service_date),
                claim,
                care,
                insurance: c.insurance,
            })
            .await;
        Some((out, c))
    }

    fn fetched(
        &self,
        certificates: Vec<Certificate>,
        date: ServiceDate,
        origin: Origin,
    ) -> Fetched {
        let now = self.clock.now();
        // A confirmed answer is fresh until the day it is about ends — or, about a past day (a
        // month's receipts checked after it), until today ends: what PMH said now about that
        // day does not change by the minute, and the second setting of a patient's month is
        // then mapped from it instead of asked again.
        let fresh_until = if certificates.is_empty() {
            now + chrono_dur(self.cfg.none_found_max_age)
        } else {
            let day = date.date().max(ServiceDate::today_at(now).date());
            (now + chrono_dur(self.cfg.confirmed_max_age)).min(end_of_jst_day(day))
        };
        Fetched::new(&certificates, now, fresh_until, origin)
    }

    pub async fn check(&self, req: CheckRequest) -> CheckOutcome {
        self.check_to_record(req).await.outcome
    }

    /// [`Service::check`], with the stand-in change for the caller that records it.
    pub async fn check_to_record(&self, req: CheckRequest) -> Checked {
        let started = std::time::Instant::now();
        let slot = Slot::default();
        let out = self.check_inner(req, &slot).await;
        self.metrics
            .check_latency
            .observe(started.elapsed().as_secs_f64());
        self.count(&out);
        Checked::new(out, slot)
    }

    fn count(&self, out: &CheckOutcome) {
        self.metrics
            .checks
            .get_or_create(&vec![
                ("status", metric_status(out.status)),
                ("source", out.source.map(metric_source).unwrap_or("none")),
            ])
            .inc();
        self.metrics.breaker_state.set(self.breaker.state().gauge());
    }

    /// Maps what was fetched (if anything) for this request into an answer.
    fn answer(
        &self,
        asked: &Asked,
        status: Status,
        source: Option<Source>,
        fetched: Option<&Fetched>,
        degradation: Option<Degradation>,
    ) -> CheckOutcome {
        let req = &asked.req;
        let masters = &asked.masters;
        let (basis, mapped) = match fetched {
            Some(f) => {
                let key = MapKey {
                    fetched: f.id(),
                    service_date: asked.service_date,
                    claim: req.claim,
                    care: req.care,
                    insurance: req.insurance,
                    masters: masters.generation(),
                };
                let (basis, mapped) = self.mapped.get_with(key, || {
                    let ctx = VisitContext {
                        service_date: asked.service_date,
                        claim: req.claim,
                        care: req.care,
                        institution: self.institution.clone(),
                        insurance: req.insurance,
                        birthdate: Some(req.insured.birthdate()),
                    };
                    (
                        next_id(),
                        Arc::new(mapping::map(&f.certificates().to_vec(), masters, &ctx)),
                    )
                });
                (Some(basis), mapped)
            }
            None => (None, Arc::default()),
        };
        CheckOutcome {
            status,
            source,
            service_date: asked.service_date,
            checked_at: asked.now,
            obtained_at: fetched.map(Fetched::obtained_at),
            origin: fetched.map(Fetched::origin),
            mapped,
            degradation,
            masters_version: masters.version(),
            check_id: asked.check_id.clone(),
            basis,
        }
    }

    async fn check_inner(&self, req: CheckRequest, slot: &Slot) -> CheckOutcome {
        let asked = Asked::new(req, self.clock.now(), self.masters());
        // Keep a margin for mapping and writing the answer, so the caller has it by the deadline.
        let margin = (self.cfg.deadline / 10).min(Duration::from_millis(100));
        let end = Instant::now() + self.cfg.deadline;
        let deadline = end - margin;
        let key = asked.key(&self.fresh);
        let now = asked.now;

        if let Some(f) = self.fresh.get(&key) {
            if f.fresh_until() > now {
                self.metrics.cache_hits.inc();
                return self.answer(&asked, found(&f), Some(Source::Cache), Some(&f), None);
            }
            self.fresh.remove(&key);
        }
        self.metrics.cache_misses.inc();

        let result =
            tokio::time::timeout_at(deadline, self.fetch(key, &asked, deadline, slot)).await;
        self.metrics.cache_entries.set(self.fresh.len() as i64);
        let degradation = match result {
            Ok(Ok(f)) => {
                let source = if f.obtained_at() >= now {
                    Source::Upstream
                } else {
                    Source::Cache
                };
                return self.answer(&asked, found(&f), Some(source), Some(&f), None);
            }
            Ok(Err(e)) => (*e).clone(),
            Err(_) => Degradation::Deadline(self.cfg.deadline.as_millis() as u64),
        };

        // Stale-if-error: the last confirmed answer, only while it still applies.
        if let Some(last) = self.stand_in(&asked.req.insured, now, end).await {
            let age = now - last.obtained_at();
            if age.to_std().unwrap_or_default() <= self.cfg.stale_max_age {
                let a = self.answer(
                    &asked,
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
        self.answer(&asked, Status::Unavailable, None, None, Some(degradation))
    }

    /// One upstream call per key at a time; the deadline is enforced inside the shared future
    /// so that a caller that goes away cannot stall the others.
    async fn fetch(
        &self,
        key: fresh::Key,
        asked: &Asked,
        deadline: Instant,
        slot: &Slot,
    ) -> Result<Fetched, Arc<Degradation>> {
        let (insured, date, check_id) = (&asked.req.insured, asked.service_date, &asked.check_id);
        let init = async {
            if self.breaker.permit() == breaker::Permit::Refused {
                return Err(Degradation::BreakerOpen);
            }
            let q = Query {
                insured: insured.clone(),
                date: date.date(),
                check_id: check_id.to_owned(),
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
                    let f = self.fetched(a.certificates, date, Origin::Upstream);
                    // Only the caller whose call this is (not those waiting on it) gets the change.
                    slot.put(if f.certificates().is_empty() {
                        self.forget_stand_in(insured, f.obtained_at()).await
                    } else {
                        self.keep_stand_in(insured, &f).await
                    });
                    Ok(f)
                }
                Err(e) => {
                    // Only what says the upstream is unwell counts, once per person.
                    if e.is_unwell() {
                        self.breaker.record_failure(person_hash(insured));
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
        self.fresh.get_or_fetch(key, init).await
    }
}

/// How long a check-in stays findable by its 照会番号.
const CHECK_IN_MAX_AGE: Duration = Duration::from_secs(36 * 3600);

/// A request as the service handles it: the service date settled, the time and check id
/// fixed when it arrived.
struct Asked {
    req: CheckRequest,
    service_date: ServiceDate,
    now: DateTime<Utc>,
    check_id: String,
    /// The tables in force when the check started: a reload meanwhile does not change its answer.
    masters: Arc<MasterSnapshot>,
}

impl Asked {
    fn new(req: CheckRequest, now: DateTime<Utc>, masters: Arc<MasterSnapshot>) -> Self {
        let service_date = req
            .service_date
            .unwrap_or_else(|| ServiceDate::today_at(now));
        Self {
            req,
            service_date,
            now,
            // Time-ordered (UUID version 7: the millisecond, then 74 random bits): the store's
            // index of kept answers grows at its end instead of at random pages, which lifted
            // audited checks from ~19k to ~26k a second (deploy/bench/run). The time it shows is
            // the check's own `checked_at`, which the answer states anyway.
            check_id: uuid::Uuid::now_v7().to_string(),
            masters,
        }
    }
    fn key(&self, fresh: &fresh::FreshCache) -> fresh::Key {
        fresh.key(&self.req.insured, self.service_date)
    }
}

/// A hash of a person for the breaker's count (in memory only, per process).
fn person_hash(insured: &InsuredIdentity) -> u64 {
    use std::hash::BuildHasher;
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(Default::default).hash_one(insured)
}

fn found(f: &Fetched) -> Status {
    if f.certificates().is_empty() {
        Status::NoneFound
    } else {
        Status::Confirmed
    }
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The service's own words for a status, in metrics labels and audit records (fixed; README's
/// metrics table). The API's words for answers are the renderings' (`api::labels`).
pub fn metric_status(s: Status) -> &'static str {
    match s {
        Status::Confirmed => "confirmed",
        Status::NoneFound => "none_found",
        Status::Unavailable => "unavailable",
    }
}

/// The service's own words for a source (metrics labels, audit records).
pub fn metric_source(s: Source) -> &'static str {
    match s {
        Source::Upstream => "upstream",
        Source::Cache => "cache",
        Source::Stale => "stale",
        Source::OnshiResult => "onshi_result",
    }
}

#[cfg(test)]
mod tests;
