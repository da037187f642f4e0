//! Durable state behind one interface ([`Store`]): the audit trail of who asked about whom, and
//! the answers of earlier checks. The embedded backend is SQLite (`sqlite/`: one file under the
//! state directory, WAL, owner-only); a second backend implements the same trait. Schema changes
//! are versioned migrations (`migrations/NNNN_name.sql`), applied in order at open.
//!
//! Invariants: the audit is append-only — there is no update path, and the only delete is the
//! retention purge of records older than the configured age; no personal identifier is stored
//! in the audit in plain — a patient is a keyed hash (`keyed.rs`); every file and folder the
//! store creates is owner-only. Stored answers do hold certificates (recipient numbers): the
//! database file is owner-only and README says so.

mod columns;
pub mod export;
mod keyed;
mod lease;
mod ledger;
#[cfg(feature = "postgres")]
mod postgres;
mod sql;
mod sqlite;
#[cfg(test)]
mod suite;

use futures::future::BoxFuture;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use keyed::{Hasher, KEY_BYTES, KeyedHash, Sealer, key_path};
pub use lease::{LeaseBoard, LeaseMode, LeaseReport, WATCHER_LEASE};
pub use ledger::{
    ChargeCommit, ChargeRecord, CommitOutcome, EntryAdded, EntryKey, EntryOf, EntryVoid,
    EntryVoidOutcome, LedgerRow, LedgerSource, LegacyCharge, NewLedgerEntry, Reseal, VoidOutcome,
    is_sealed_charge, ledger_totals, month_key,
};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, where_of};
pub use sqlite::{DB_FILE, SqliteStore};

/// Where the database is and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// A libpq-style URL or key=value string; may hold a password, so `Debug` shows only where.
    pub url: String,
    /// The CA (PEM) the server's certificate must chain to; with it, TLS is required.
    pub ca_pem: Option<Vec<u8>>,
    /// Connections at most.
    pub pool_size: usize,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("at", &where_of(&self.url))
            .field("tls", &self.ca_pem.is_some())
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// Where a connection string points, in a build without PostgreSQL (nothing is parsed).
#[cfg(not(feature = "postgres"))]
pub fn where_of(_url: &str) -> String {
    "a PostgreSQL database (this build has no PostgreSQL support)".into()
}

/// What can go wrong with the store; messages name files, never records.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use the state folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot use the hashing secret {path}: {source}")]
    Key {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the hashing secret {path} may be read by others: make it owner-only (chmod 600; or owned by root and readable by the gateway's group alone, chmod 640) or remove it"
    )]
    KeyPermissions { path: PathBuf },
    #[error("the database {path}: {reason}")]
    Database { path: PathBuf, reason: String },
    /// PostgreSQL: where (no credentials) and what it said.
    #[error("the database {at}: {reason}")]
    Remote { at: String, reason: String },
    #[error("migration {version} ({name}) failed: {reason}")]
    Migration {
        version: u32,
        name: &'static str,
        reason: String,
    },
    #[error(
        "the database was written by a newer version (schema {found}, this build knows {known})"
    )]
    NewerSchema { found: u32, known: u32 },
    #[error("the store has stopped")]
    Stopped,
    #[error(
        "the hashing secret {path} is not the one this database was written with: give every replica the same secret (or restore the original); a new secret would make the audit unsearchable and the kept rows unreadable"
    )]
    OtherSecret { path: PathBuf },
    #[error(
        "no store at {path}: the gateway has not run with this configuration (check store.dir, store.url and store.key_file: the same as `serve` uses)"
    )]
    NoStore { path: PathBuf },
    /// The configuration asks for what this build leaves out.
    #[error("{0}")]
    Unsupported(&'static str),
}

/// Where the state lives and how long records are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// SQLite's folder (and, by default, the hashing secret's).
    pub dir: PathBuf,
    /// A PostgreSQL database shared by replicas, instead of SQLite in `dir`.
    pub postgres: Option<PostgresConfig>,
    /// The hashing secret, when not `dir/audit.key` (required with PostgreSQL: replicas share it).
    pub key_file: Option<PathBuf>,
    /// How long a replica's lease on the check-in watcher lasts unrenewed.
    pub lease_ttl: std::time::Duration,
    /// `synchronous = FULL` (survives a power cut) instead of `NORMAL`.
    pub full_sync: bool,
    pub audit_retention: std::time::Duration,
    pub answer_retention: std::time::Duration,
}

/// What was done. Stable labels (stored, searched, exported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /v1/subsidy-checks` with JSON.
    Check,
    /// `POST /v1/subsidy-checks` with an オン資 result.
    CheckWithResult,
    /// `GET /v1/subsidy-checks?reference=`.
    CheckByReference,
    /// `GET /v1/subsidy-checks/{check_id}`.
    EarlierCheck,
    /// A check-in file from the terminal's folder, prefetched by the watcher.
    Prefetch,
    /// `POST /v1/masters/reload`.
    MastersReload,
    /// `GET /v1/audit`.
    AuditSearch,
    /// `GET /metrics`, `GET /readyz` with details, `GET /v1/masters`.
    Operations,
    /// `POST /v1/charge-quotes`.
    ChargeQuote,
    /// `POST /v1/charges`.
    ChargeCommit,
    /// `DELETE /v1/charges/{visit_id}`.
    ChargeVoid,
    /// `POST /v1/ledger-entries`.
    LedgerEntry,
    /// `DELETE /v1/ledger-entries/{id}`.
    LedgerEntryVoid,
    /// `GET /v1/ledgers`.
    LedgerRead,
    /// The reception page: a person signed in with a client's token.
    ReceptionSignIn,
    /// The reception page: signed out (or the session ended).
    ReceptionSignOut,
    /// The reception page: today's check-ins listed (or their live feed opened).
    ReceptionList,
    /// The reception page: the gateway's health viewed.
    ReceptionHealth,
    /// `POST /v1/receipt-checks` (or the reception page's 月次点検): a month's UKE file
    /// accepted for checking.
    ReceiptCheckStart,
    /// A receipt check's PMH check of one patient (one record per distinct patient of the file).
    ReceiptPrecheck,
    /// `GET /v1/receipt-checks/{id}` (or the page's view of a report), or a report kept.
    ReceiptCheckRead,
}

impl Operation {
    pub const ALL: [Operation; 21] = [
        Self::Check,
        Self::CheckWithResult,
        Self::CheckByReference,
        Self::EarlierCheck,
        Self::Prefetch,
        Self::MastersReload,
        Self::AuditSearch,
        Self::Operations,
        Self::ChargeQuote,
        Self::ChargeCommit,
        Self::ChargeVoid,
        Self::LedgerEntry,
        Self::LedgerEntryVoid,
        Self::LedgerRead,
        Self::ReceptionSignIn,
        Self::ReceptionSignOut,
        Self::ReceptionList,
        Self::ReceptionHealth,
        Self::ReceiptCheckStart,
        Self::ReceiptPrecheck,
        Self::ReceiptCheckRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::CheckWithResult => "check_with_result",
            Self::CheckByReference => "check_by_reference",
            Self::EarlierCheck => "earlier_check",
            Self::Prefetch => "prefetch",
            Self::MastersReload => "masters_reload",
            Self::AuditSearch => "audit_search",
            Self::Operations => "operations",
            Self::ChargeQuote => "charge_quote",
            Self::ChargeCommit => "charge_commit",
            Self::ChargeVoid => "charge_void",
            Self::LedgerEntry => "ledger_entry",
            Self::LedgerEntryVoid => "ledger_entry_void",
            Self::LedgerRead => "ledger_read",
            Self::ReceptionSignIn => "reception_sign_in",
            Self::ReceptionSignOut => "reception_sign_out",
            Self::ReceptionList => "reception_list",
            Self::ReceptionHealth => "reception_health",
            Self::ReceiptCheckStart => "receipt_check_start",
            Self::ReceiptPrecheck => "receipt_precheck",
            Self::ReceiptCheckRead => "receipt_check_read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One access, as recorded. Holds no personal identifier in plain: `patient` and `reference`
/// are keyed hashes, `detail` is the gateway's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Assigned by the store, increasing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(serialize_with = "pmh_core::domain::date::serialize_jst")]
    pub at: DateTime<Utc>,
    /// The caller's name (a configured client, or `checkin-watcher`).
    pub client: String,
    pub operation: Operation,
    /// The HTTP status answered (none for the watcher).
    pub http_status: Option<u16>,
    /// `confirmed`, `none_found`, `unavailable`, or a refusal's problem type.
    pub status: Option<String>,
    /// `upstream`, `cache`, `stale`, `onshi_result`.
    pub source: Option<String>,
    /// Active subsidies in the answer.
    pub subsidies: Option<u32>,
    pub check_id: Option<String>,
    /// HMAC of the insured identity.
    pub patient: Option<KeyedHash>,
    /// HMAC of the 照会番号, for accesses by reference.
    pub reference: Option<KeyedHash>,
    /// A note in the gateway's words (e.g. that a posted PMH block entered the cache).
    pub detail: Option<String>,
    /// HMAC of a certificate (payer and recipient number), for charges and the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<KeyedHash>,
    /// HMACs of the 照会番号 the access showed beyond `reference` (the reception page's list of
    /// today's check-ins); a search by 照会番号 finds these accesses too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shown: Vec<KeyedHash>,
}

impl Serialize for KeyedHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyedHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KeyedHash::parse(&s).ok_or_else(|| serde::de::Error::custom("not a keyed hash"))
    }
}

impl AuditRecord {
    /// A record of `operation` by `client` at `at`, with nothing else known yet.
    pub fn new(at: DateTime<Utc>, client: &str, operation: Operation) -> Self {
        Self {
            seq: None,
            at,
            client: client.to_owned(),
            operation,
            http_status: None,
            status: None,
            source: None,
            subsidies: None,
            check_id: None,
            patient: None,
            reference: None,
            detail: None,
            card: None,
            shown: Vec::new(),
        }
    }
}

/// What a component needs to append audit records of its own (the check-in watcher).
#[derive(Clone)]
pub struct Recorder {
    pub store: std::sync::Arc<dyn Store>,
    pub hasher: std::sync::Arc<Hasher>,
    /// This replica, as its records of processed files name it.
    pub holder: String,
}

/// A search of the audit: every given criterion must match; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub client: Option<String>,
    pub operation: Option<Operation>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    pub patient: Option<KeyedHash>,
    pub reference: Option<KeyedHash>,
    pub card: Option<KeyedHash>,
    /// At most this many records (newest first).
    pub limit: usize,
}

/// The answer of a check, kept for `GET /v1/subsidy-checks/{check_id}` until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub check_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Whom it is about (a keyed hash), so that reading it again is audited with the patient.
    pub patient: Option<KeyedHash>,
    /// The serialised answer (or its per-check part, with the key of its body), sealed under a
    /// key derived from the check id (`Hasher::answer`): the store holds no certificate that
    /// reads without the check id.
    pub sealed: Vec<u8>,
    /// The body this answer shares with other checks of the same cached answer, by id.
    pub body_id: Option<String>,
    /// The body's sealed bytes: when writing, present if the body is not stored yet (it is
    /// inserted unless one with its id is); when reading, the stored body.
    pub body: Option<Vec<u8>>,
}

/// Bodies without answers are removed once older than this: a body is shared by new checks for
/// at most half of it (then a new one is written), so one in use is never removed.
pub const BODY_KEEP: chrono::Duration = chrono::Duration::hours(2);

/// An answered check, committed in one transaction — one trip to the store per answer: its
/// audit record, its kept answer, and the ledger rows (read in the same transaction) of the
/// shared monthly caps the answer shows.
#[derive(Debug, Clone)]
pub struct CheckCommit {
    pub audit: AuditRecord,
    pub answer: Option<StoredAnswer>,
    /// The cards whose month the answer shows, in the answer's order.
    pub cards: Vec<KeyedHash>,
    /// A day in the month.
    pub month: NaiveDate,
    /// The person's stand-in, when the check's answer changed it.
    pub kept: Option<KeptChange>,
}

/// What a check's commit read and kept beside its audit record.
#[derive(Debug)]
pub struct CheckCommitted {
    /// Whether the answer was kept: a failure here is not fatal, the access is recorded.
    pub answer_kept: Result<(), StoreError>,
    /// Whether the stand-in change was made (`Ok` when there was none); not fatal either.
    pub kept: Result<(), StoreError>,
    /// Per card of the commit, in order: its rows in the month, or why they could not be read.
    pub ledger: Vec<Result<Vec<LedgerRow>, StoreError>>,
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub audit_records: u64,
    pub answers: u64,
    /// Committed charges and ledger rows older than the audit's retention.
    pub ledger_rows: u64,
    /// Kept stand-ins and check-ins past their expiry.
    pub kept: u64,
    /// Records of processed check-in files older than the audit's retention.
    pub checkin_files: u64,
    /// Receipt checks' reports past their expiry.
    pub receipt_reports: u64,
}

/// Sizes for `/readyz`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreInfo {
    pub backend: &'static str,
    pub location: String,
    pub schema_version: u32,
    pub audit_records: u64,
    pub answers: u64,
    pub ledger_rows: u64,
    /// Kept stand-ins and check-ins (expired ones until the next purge).
    pub kept: u64,
    /// Check-in files recorded as processed.
    pub checkin_files: u64,
    pub size_bytes: u64,
}

impl StoreConfig {
    /// SQLite in `dir`, with the secret beside it.
    pub fn local(dir: PathBuf) -> Self {
        Self {
            dir,
            postgres: None,
            key_file: None,
            full_sync: false,
            audit_retention: std::time::Duration::from_secs(1825 * 24 * 3600),
            answer_retention: std::time::Duration::from_secs(24 * 3600),
            lease_ttl: std::time::Duration::from_secs(10),
        }
    }

    /// Where the hashing secret is.
    pub fn key_path(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| key_path(&self.dir))
    }
}

/// What the service keeps across restarts (and shares between replicas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeptItem {
    /// The last confirmed answer of a person (the stale stand-in).
    StandIn,
    /// The latest check-in under a 照会番号, with the answer its prefetch cached.
    CheckIn,
}

impl KeptItem {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandIn => "stand_in",
            Self::CheckIn => "check_in",
        }
    }
}

/// A kept item: under a keyed hash of what it is looked up by, sealed under a key derived from
/// that value (`Hasher::stand_in`, `Hasher::check_in`). The store reads neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRow {
    pub item: KeptItem,
    pub key: KeyedHash,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub sealed: Vec<u8>,
}

/// A change to the service's durable state. Each carries when it was decided: a change never
/// undoes one decided later, whatever order the writes arrive in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptChange {
    /// Keep the row (its `updated_at` is when it was decided).
    Keep(KeptRow),
    /// Forget what is kept under the item and key, unless it was kept after `at`.
    Forget {
        item: KeptItem,
        key: KeyedHash,
        at: DateTime<Utc>,
    },
}

/// The audit of who asked about whom, and the answers kept for re-reading.
pub trait Audit: Send + Sync + 'static {
    /// Appends a record; returns once it is committed (an answer is sent only after).
    fn append(&self, record: AuditRecord) -> BoxFuture<'_, Result<i64, StoreError>>;
    /// The records matching `q`, newest first.
    fn search(&self, q: AuditQuery) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>>;
    /// Commits an answered check (see [`CheckCommit`]; its kept answer replaces one with the same
    /// check id); `Err` when its audit record could not be committed — then the answer must not
    /// be sent.
    fn record_check(&self, c: CheckCommit) -> BoxFuture<'_, Result<CheckCommitted, StoreError>>;
    /// The answer of `check_id`, unless it expired before `now`.
    fn answer(
        &self,
        check_id: String,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<StoredAnswer>, StoreError>>;
    /// Removes audit records older than `audit_before` and answers expired at `now`.
    fn purge(
        &self,
        audit_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Purged, StoreError>>;
}

/// Committed charges and the 管理票 ledger.
pub trait Charges: Send + Sync + 'static {
    /// Commits a visit's charge and its ledger rows, in one transaction: a new version, the
    /// earlier answer for the same request, or a conflict.
    fn commit_charge(&self, c: ChargeCommit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>>;
    /// The latest version of `owner`'s committed visit.
    fn charge(
        &self,
        owner: String,
        visit_id: String,
    ) -> BoxFuture<'_, Result<Option<ChargeRecord>, StoreError>>;
    /// Rewrites the charges an earlier build kept with a plain fingerprint or a plain answer
    /// (see [`LegacyCharge`]); how many it rewrote. Called at start, after the key check.
    fn reseal_charges(&self, reseal: Reseal) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// Voids `owner`'s committed visit (a new version written by `client`; its ledger rows no
    /// longer count).
    fn void_charge(
        &self,
        owner: String,
        visit_id: String,
        client: String,
        at: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<VoidOutcome, StoreError>>;
    /// Adds an amount from the paper 管理票 (another institution's); with an entry id, once per
    /// owner and id.
    fn add_ledger_entry(&self, e: NewLedgerEntry) -> BoxFuture<'_, Result<EntryAdded, StoreError>>;
    /// Voids another institution's entry (a mistyped amount) with a row that names it; returns
    /// the entry's certificate and date with the outcome, for the answer and the audit. Only
    /// an entry of `owner`'s, unless `owner` is `None` (an `admin`).
    fn void_ledger_entry(
        &self,
        id: i64,
        owner: Option<String>,
        client: String,
        at: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<EntryVoid, StoreError>>;
    /// The rows in force for a certificate and month, oldest first.
    fn ledger(
        &self,
        card: KeyedHash,
        month: NaiveDate,
    ) -> BoxFuture<'_, Result<Vec<LedgerRow>, StoreError>>;
}

/// The service's durable state: stand-ins and check-ins, sealed under keyed hashes.
pub trait Kept: Send + Sync + 'static {
    /// Keeps an item (replacing an older one under the same item and key) or forgets one.
    fn change_kept(&self, change: KeptChange) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The sealed bytes kept under an item and key, unless they expired before `now`.
    fn kept(
        &self,
        item: KeptItem,
        key: KeyedHash,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, StoreError>>;
}

/// Check-in files processed once across replicas, and the leases that choose who watches.
pub trait CheckinFiles: Send + Sync + 'static {
    /// Whether a check-in file (`Hasher::checkin_file`) was recorded as processed.
    fn file_processed(&self, key: KeyedHash) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Records a processed check-in file with the audit records of its prefetch, in one
    /// transaction; `false`, appending nothing, when the file was recorded already (by this
    /// replica or another).
    fn record_file(&self, file: ProcessedFile) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Takes the lease `name` for `holder` when it is free or expired, or renews it when
    /// `holder` has it, for `ttl` by the store's clock (PostgreSQL's, which replicas share);
    /// says who holds it afterwards.
    fn lease(
        &self,
        name: String,
        holder: String,
        ttl: std::time::Duration,
    ) -> BoxFuture<'_, Result<LeaseState, StoreError>>;
    /// Gives the lease up, if `holder` has it (another may take it at once).
    fn release_lease(&self, name: String, holder: String) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// The reception page's sessions, shared by every replica: a session is known by a keyed hash
/// of its id; when it expires (idle, lifetime) is the caller's rule, passed in.
pub trait Sessions: Send + Sync + 'static {
    /// Opens a session for `client` at `now`, in one transaction: sessions expired by `expiry`
    /// end, and so do that client's oldest beyond `per_client` (never another client's).
    fn open_session(
        &self,
        key: KeyedHash,
        client: String,
        now: DateTime<Utc>,
        expiry: SessionExpiry,
        per_client: usize,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The client of the session under `key` if it has not expired by `now` (an expired one
    /// ends); `touch` counts `now` as its last use.
    fn session(
        &self,
        key: KeyedHash,
        now: DateTime<Utc>,
        expiry: SessionExpiry,
        touch: bool,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>>;
    /// Ends a session (signing out).
    fn close_session(&self, key: KeyedHash) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// A row of the reception list as stored: its sequence number and its sealed bytes.
pub type SealedRow = (i64, Vec<u8>);

/// The reception page's list of the day's check-ins, shared by every replica: sealed rows in
/// the order written.
pub trait BoardRows: Send + Sync + 'static {
    /// Appends a sealed row for the service day `day`, written at `at`; rows of days before
    /// `keep_from` go. Returns the row's sequence number.
    fn add_board_row(
        &self,
        day: NaiveDate,
        row: Vec<u8>,
        at: DateTime<Utc>,
        keep_from: NaiveDate,
    ) -> BoxFuture<'_, Result<i64, StoreError>>;
    /// The day's rows written after sequence number `after`, in order (at most `limit`).
    fn board_rows(
        &self,
        day: NaiveDate,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<SealedRow>, StoreError>>;
}

/// When a session expires: after `idle` without use, or `lifetime` after it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpiry {
    pub idle: std::time::Duration,
    pub lifetime: std::time::Duration,
}

impl SessionExpiry {
    /// The oldest last use and the oldest opening still alive at `now`, in milliseconds.
    pub(crate) fn cutoffs(&self, now: DateTime<Utc>) -> (i64, i64) {
        let ms_of = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let now = now.timestamp_millis();
        (
            now.saturating_sub(ms_of(self.idle)),
            now.saturating_sub(ms_of(self.lifetime)),
        )
    }
}

/// A month-end receipt check's report as stored: sealed, under a keyed hash of its id.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub key: KeyedHash,
    /// The client that started the check.
    pub owner: String,
    pub created_at: DateTime<Utc>,
    /// When the purge removes it; `None` while the clerk keeps it.
    pub expires_at: Option<DateTime<Utc>>,
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for StoredReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredReport")
            .field("owner", &self.owner)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("sealed_bytes", &self.sealed.len())
            .finish()
    }
}

/// The month-end receipt checks' reports, shared by every replica.
pub trait Reports: Send + Sync + 'static {
    /// Writes `report`, replacing one under the same key (a finished report replaces the
    /// running one; keeping it clears its expiry).
    fn put_report(&self, report: StoredReport) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The report under `key`, unless it expired before `now`.
    fn report(
        &self,
        key: KeyedHash,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<StoredReport>, StoreError>>;
}

/// The durable state, whichever backend holds it: each kind of data behind its own trait (a
/// backend implements each in a file of its own), and what concerns the store as a whole.
pub trait Store: Audit + Charges + Kept + CheckinFiles + Sessions + BoardRows + Reports {
    /// Sizes (counts every table: for operators, not for every probe).
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>>;
    /// Whether the store answers at all (cheap: readiness probes call it).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Records `check` (the secret's keyed hash of a fixed text) at first use; afterwards says
    /// whether `check` is the one recorded.
    fn key_check(&self, check: String) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Closes the store once what was sent before is committed: later calls fail with
    /// [`StoreError::Stopped`]. Returns when the files (SQLite) or connections (PostgreSQL) are
    /// closed, so that a stopped gateway leaves its state folder still.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// A check-in file processed, and the accesses its prefetch made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedFile {
    /// `Hasher::checkin_file` of its name and bytes.
    pub key: KeyedHash,
    pub at: DateTime<Utc>,
    /// The replica that processed it (`LeaseState::holder`'s form).
    pub holder: String,
    pub records: Vec<AuditRecord>,
}

/// A lease after a take or renewal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseState {
    /// Whether the asking holder has it.
    pub held: bool,
    /// Who has it (the asker when `held`); the last holder when it has expired.
    pub holder: String,
    /// 1 for the first holder, one more with each change of holder.
    pub term: i64,
}

/// A migration: its version (1, 2, …), its name and its SQL for each backend (the same schema
/// in each dialect).
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// The table that records the migrations applied: the same SQL in both dialects.
const SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// The one rule of the migration runners: the next migration a database at schema `current`
/// needs (`None` when it is up to date), or a refusal when a newer build wrote it.
fn next_migration(current: u32) -> Result<Option<&'static Migration>, StoreError> {
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > known {
        return Err(StoreError::NewerSchema {
            found: current,
            known,
        });
    }
    Ok(MIGRATIONS.iter().find(|m| m.version > current))
}

/// The schema, in order. A released migration is never edited: a change is a new one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "audit_and_answers",
        sqlite: include_str!("migrations/0001_audit_and_answers.sql"),
        postgres: include_str!("migrations/postgres/0001_audit_and_answers.sql"),
    },
    Migration {
        version: 2,
        name: "charges_and_ledger",
        sqlite: include_str!("migrations/0002_charges_and_ledger.sql"),
        postgres: include_str!("migrations/postgres/0002_charges_and_ledger.sql"),
    },
    Migration {
        version: 3,
        name: "kept_state",
        sqlite: include_str!("migrations/0003_kept_state.sql"),
        postgres: include_str!("migrations/postgres/0003_kept_state.sql"),
    },
    Migration {
        version: 4,
        name: "sealed_answers",
        sqlite: include_str!("migrations/0004_sealed_answers.sql"),
        postgres: include_str!("migrations/postgres/0004_sealed_answers.sql"),
    },
    Migration {
        version: 5,
        name: "key_check",
        sqlite: include_str!("migrations/0005_key_check.sql"),
        postgres: include_str!("migrations/postgres/0005_key_check.sql"),
    },
    Migration {
        version: 6,
        name: "leases_and_checkin_files",
        sqlite: include_str!("migrations/0006_leases_and_checkin_files.sql"),
        postgres: include_str!("migrations/postgres/0006_leases_and_checkin_files.sql"),
    },
    Migration {
        version: 7,
        name: "answer_bodies",
        sqlite: include_str!("migrations/0007_answer_bodies.sql"),
        postgres: include_str!("migrations/postgres/0007_answer_bodies.sql"),
    },
    Migration {
        version: 8,
        name: "partial_audit_indexes",
        sqlite: include_str!("migrations/0008_partial_audit_indexes.sql"),
        postgres: include_str!("migrations/postgres/0008_partial_audit_indexes.sql"),
    },
    Migration {
        version: 9,
        name: "charge_owners",
        sqlite: include_str!("migrations/0009_charge_owners.sql"),
        postgres: include_str!("migrations/postgres/0009_charge_owners.sql"),
    },
    Migration {
        version: 10,
        name: "audit_shown",
        sqlite: include_str!("migrations/0010_audit_shown.sql"),
        postgres: include_str!("migrations/postgres/0010_audit_shown.sql"),
    },
    Migration {
        version: 11,
        name: "ledger_entry_ids",
        sqlite: include_str!("migrations/0011_ledger_entry_ids.sql"),
        postgres: include_str!("migrations/postgres/0011_ledger_entry_ids.sql"),
    },
    Migration {
        version: 12,
        name: "reception_sessions",
        sqlite: include_str!("migrations/0012_reception_sessions.sql"),
        postgres: include_str!("migrations/postgres/0012_reception_sessions.sql"),
    },
    Migration {
        version: 13,
        name: "board_rows",
        sqlite: include_str!("migrations/0013_board_rows.sql"),
        postgres: include_str!("migrations/postgres/0013_board_rows.sql"),
    },
    Migration {
        version: 14,
        name: "receipt_reports",
        sqlite: include_str!("migrations/0014_receipt_reports.sql"),
        postgres: include_str!("migrations/postgres/0014_receipt_reports.sql"),
    },
];
