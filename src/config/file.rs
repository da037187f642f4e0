//! The configuration file's format: one TOML document, unknown keys rejected, every section and
//! key with its default (README.md's configuration table lists them).

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use crate::checkin::WatchOptions;
use crate::service::ServiceConfig;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8421";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    pub institution: InstitutionSection,
    pub upstream: UpstreamSection,
    #[serde(default)]
    pub service: ServiceSection,
    #[serde(default)]
    pub masters: MastersSection,
    #[serde(default)]
    pub onshi: OnshiSection,
    #[serde(default)]
    pub log: LogSection,
    /// The named callers (`[[clients]]`).
    #[serde(default)]
    pub clients: Vec<ClientSection>,
    #[serde(default)]
    pub auth: AuthSection,
    /// `[store]` (or, as before, `[state]`).
    #[serde(default, alias = "state")]
    pub store: StateSection,
    #[serde(default)]
    pub audit: AuditSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Loopback by default: the receipt computer runs on the same machine or is let in by the
    /// clinic's own proxy.
    pub listen: String,
    pub body_limit_bytes: usize,
    /// Host names (and addresses) callers may use in `Host`, besides the loopback names and the
    /// listen address; anything else is refused (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// TLS for the REST listener (PEM): required to listen beyond loopback.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// A CA whose client certificates identify clients (`clients.certificate_name`).
    pub client_ca: Option<PathBuf>,
    /// A client must send a request's headers within this.
    pub header_read_timeout_ms: u64,
    /// A request (its body included) must be answered within this.
    pub request_timeout_ms: u64,
    /// Open connections at most (beyond: the oldest that sent nothing yet is closed, else 503).
    pub max_connections: usize,
    /// Connections that have not authenticated, from one address, at most.
    pub max_connections_per_address: usize,
    /// Part of `max_connections` kept for connections that have authenticated.
    pub reserved_connections: usize,
    /// A connection that sends nothing for this long is closed.
    pub first_byte_timeout_ms: u64,
    /// On shutdown, requests in flight get this long.
    pub shutdown_grace_ms: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.into(),
            body_limit_bytes: 64 * 1024,
            allowed_hosts: Vec::new(),
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connections: 512,
            max_connections_per_address: 64,
            reserved_connections: 128,
            first_byte_timeout_ms: 2_000,
            shutdown_grace_ms: 10_000,
        }
    }
}

/// One named caller: a receipt computer, a pharmacy system, a person's browser.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    pub name: String,
    /// `check`, `check_in`, `onshi_post`, `charges`, `admin`, `reception`.
    pub scopes: Vec<String>,
    /// `sha256:<hex>` of the client's bearer token (`pmh-gateway clients add` prints it).
    pub token_sha256: Option<String>,
    /// The common name of the client's certificate (with `server.client_ca`).
    pub certificate_name: Option<String>,
}

/// Failed authentication attempts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// Failed attempts from one address within `failure_window_secs` before it is blocked.
    pub max_failures: u32,
    pub failure_window_secs: u64,
    pub block_secs: u64,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            max_failures: 10,
            failure_window_secs: 60,
            block_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// WAL, `synchronous = NORMAL`: survives the process being killed.
    #[default]
    Normal,
    /// `synchronous = FULL`: survives a power cut too, at a cost per commit.
    Full,
}

/// Where the gateway keeps its state (the audit, earlier answers, stand-ins and check-ins, the
/// ledger, the hashing secret): SQLite in `dir`, or a PostgreSQL database shared by replicas.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateSection {
    /// Relative to the configuration file; created owner-only.
    pub dir: PathBuf,
    pub fsync: Fsync,
    /// `postgres://…` (or libpq key=value): the shared database instead of SQLite in `dir`.
    pub url: Option<String>,
    /// The CA (PEM) of the database server's certificate: TLS to the database.
    pub ca_cert: Option<PathBuf>,
    /// Connections to the database at most.
    pub pool_size: usize,
    /// The hashing secret (default `dir/audit.key`); with a shared database every replica needs
    /// the same one.
    pub key_file: Option<PathBuf>,
    /// With a shared database: the watcher of `face/` runs on the replica holding the lease;
    /// another takes over within this when the holder stops renewing it.
    pub lease_ttl_ms: u64,
}

impl std::fmt::Debug for StateSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSection")
            .field("dir", &self.dir)
            .field("fsync", &self.fsync)
            .field("url", &self.url.as_deref().map(crate::store::where_of))
            .field("ca_cert", &self.ca_cert)
            .field("pool_size", &self.pool_size)
            .field("key_file", &self.key_file)
            .field("lease_ttl_ms", &self.lease_ttl_ms)
            .finish()
    }
}

impl Default for StateSection {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("state"),
            fsync: Fsync::Normal,
            url: None,
            ca_cert: None,
            pool_size: 16,
            key_file: None,
            lease_ttl_ms: 10_000,
        }
    }
}

/// How long records are kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// Audit records older than this are removed (README says why 1,825 days by default).
    pub retention_days: u64,
    /// Answers of earlier checks (`GET /v1/subsidy-checks/{check_id}`) are kept this long.
    pub answer_retention_hours: u64,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            retention_days: 1825,
            answer_retention_hours: 24,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionSection {
    /// 医療機関コード (10 digits).
    pub code: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamMode {
    /// Query PMH over HTTPS with the institution's client certificate.
    #[default]
    Pmh,
    /// Ask through the オン資 terminal's `req` / `res` folders (`[onshi]`).
    Terminal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    #[serde(default)]
    pub mode: UpstreamMode,
    /// Required in `pmh` mode.
    pub base_url: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// An HTTP(S) proxy to PMH; none unless set here (the environment's proxy variables are
    /// never used).
    pub proxy: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AfterProcessing {
    /// Move processed files into `processed_dir`.
    #[default]
    Move,
    /// Leave them (the receipt computer reads the folder too); `ledger_file` remembers them.
    Leave,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
pub enum RequestEncoding {
    #[serde(rename = "shift_jis")]
    #[default]
    ShiftJis,
    #[serde(rename = "utf-8")]
    Utf8,
}

/// The オン資 terminal's shared folder: check-in prefetch and the terminal upstream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnshiSection {
    /// The shared folder (often `OQS`) with `face`, `req`, `res`; unset = no オン資 integration.
    pub folder: Option<PathBuf>,
    /// Each defaults to `<folder>/face` etc.
    pub face_dir: Option<PathBuf>,
    pub req_dir: Option<PathBuf>,
    pub res_dir: Option<PathBuf>,
    /// Prefetch when a result file arrives in `face`.
    pub watch_face: bool,
    /// Also prefetch results of the receipt computer's own requests in `res` (left in place:
    /// needs `after_processing = "leave"`).
    pub watch_res: bool,
    pub after_processing: AfterProcessing,
    /// Default `<face_dir>/processed`.
    pub processed_dir: Option<PathBuf>,
    /// Default `<face_dir>/rejected`.
    pub rejected_dir: Option<PathBuf>,
    /// Required with `after_processing = "leave"`.
    pub ledger_file: Option<PathBuf>,
    pub rescan_interval_ms: u64,
    pub settle_ms: u64,
    pub incomplete_grace_ms: u64,
    /// Use file-system events; off on shares where they do not arrive (rescans only).
    pub use_events: bool,
    pub concurrency: usize,
    /// The encoding of the gateway's requests in terminal mode.
    pub request_encoding: RequestEncoding,
    /// How often `res` is looked at while a terminal-mode request waits.
    pub poll_ms: u64,
    /// Result files larger than this are rejected unread (default 1 MiB).
    pub max_file_bytes: u64,
    /// Days files are kept in the processed and rejected folders (default 3; 0 = removed at
    /// once).
    pub retention_days: u64,
    /// A call on the share (a listing, a read, a move, a terminal request) is given up after
    /// this long (default 5000).
    pub share_timeout_ms: u64,
}

impl Default for OnshiSection {
    fn default() -> Self {
        let w = WatchOptions::for_face_dir("face");
        Self {
            folder: None,
            face_dir: None,
            req_dir: None,
            res_dir: None,
            watch_face: true,
            watch_res: false,
            after_processing: AfterProcessing::Move,
            processed_dir: None,
            rejected_dir: None,
            ledger_file: None,
            rescan_interval_ms: w.rescan_interval.as_millis() as u64,
            settle_ms: w.settle.as_millis() as u64,
            incomplete_grace_ms: w.incomplete_grace.as_millis() as u64,
            use_events: w.events,
            concurrency: w.concurrency,
            request_encoding: RequestEncoding::ShiftJis,
            poll_ms: 20,
            max_file_bytes: w.max_file_bytes,
            retention_days: w.retention.as_secs() / 86_400,
            share_timeout_ms: w.share_timeout.as_millis() as u64,
        }
    }
}

fn default_connect_timeout_ms() -> u64 {
    1000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSection {
    pub deadline_ms: u64,
    pub confirmed_max_age_secs: u64,
    pub none_found_max_age_secs: u64,
    pub stale_max_age_secs: u64,
    pub cache_capacity: u64,
    pub breaker_threshold: u32,
    pub breaker_cooldown_secs: u64,
}

impl Default for ServiceSection {
    fn default() -> Self {
        let d = ServiceConfig::default();
        Self {
            deadline_ms: d.deadline.as_millis() as u64,
            confirmed_max_age_secs: d.confirmed_max_age.as_secs(),
            none_found_max_age_secs: d.none_found_max_age.as_secs(),
            stale_max_age_secs: d.stale_max_age.as_secs(),
            cache_capacity: d.cache_capacity,
            breaker_threshold: d.breaker_threshold,
            breaker_cooldown_secs: d.breaker_cooldown.as_secs(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MastersSection {
    /// A directory with the master CSV files; the embedded copies when absent.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `pmh_gateway=debug`.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl FileConfig {
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }
}
