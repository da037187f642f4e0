//! Configuration: one TOML file (unknown keys rejected) plus environment overrides for secrets
//! and paths, resolved into a [`GatewayConfig`] with certificates loaded and checked, so that a
//! bad setting fails at startup with a message naming it.
//!
//! Environment overrides (each replaces the file's value):
//! `PMH_GATEWAY_LISTEN`, `PMH_GATEWAY_INSTITUTION_CODE`, `PMH_GATEWAY_UPSTREAM_BASE_URL`,
//! `PMH_GATEWAY_UPSTREAM_CA_CERT`, `PMH_GATEWAY_UPSTREAM_CLIENT_CERT`,
//! `PMH_GATEWAY_UPSTREAM_CLIENT_KEY`, `PMH_GATEWAY_MASTERS_DIR`, `PMH_GATEWAY_ONSHI_FOLDER`,
//! `PMH_GATEWAY_LOG_FORMAT`, `PMH_GATEWAY_LOG_LEVEL`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::checkin::{Disposal, WatchOptions};
use crate::domain::MedicalInstitutionCode;
use crate::masters::MasterSource;
use crate::onshi::Charset;
use crate::service::ServiceConfig;
use crate::upstream::{TerminalUpstreamOptions, UpstreamTls};

/// A configuration problem, named by its key (`section.key`), file or variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file is not valid: {0}")]
    Parse(String),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{field}: cannot use {path}: {reason}")]
    Certificate {
        field: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("environment variable {var}: {reason}")]
    Env { var: &'static str, reason: String },
}

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Loopback by default: the receipt computer runs on the same machine or is let in by the
    /// clinic's own proxy.
    pub listen: String,
    pub body_limit_bytes: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.into(),
            body_limit_bytes: 64 * 1024,
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
        }
    }
}

/// How the gateway reaches PMH.
#[derive(Debug, Clone)]
pub enum UpstreamConfig {
    Pmh {
        base_url: String,
        tls: UpstreamTls,
        connect_timeout: Duration,
    },
    Terminal(TerminalUpstreamOptions),
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

/// Everything `run` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub body_limit_bytes: usize,
    pub institution: MedicalInstitutionCode,
    pub upstream: UpstreamConfig,
    pub service: ServiceConfig,
    pub masters: MasterSource,
    /// The check-in watcher, when the terminal's folder is configured and watching is on.
    pub checkin: Option<WatchOptions>,
    pub log_format: LogFormat,
    pub log_level: String,
}

impl FileConfig {
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    /// Applies `PMH_GATEWAY_*` overrides from `env` (a lookup, so tests need not touch the
    /// process environment).
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(v) = var("PMH_GATEWAY_LISTEN") {
            self.server.listen = v;
        }
        if let Some(v) = var("PMH_GATEWAY_INSTITUTION_CODE") {
            self.institution.code = v;
        }
        if let Some(v) = var("PMH_GATEWAY_UPSTREAM_BASE_URL") {
            self.upstream.base_url = Some(v);
        }
        if let Some(v) = var("PMH_GATEWAY_UPSTREAM_CA_CERT") {
            self.upstream.ca_cert = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_UPSTREAM_CLIENT_CERT") {
            self.upstream.client_cert = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_UPSTREAM_CLIENT_KEY") {
            self.upstream.client_key = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_MASTERS_DIR") {
            self.masters.dir = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_ONSHI_FOLDER") {
            self.onshi.folder = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_LOG_FORMAT") {
            self.log.format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Env {
                        var: "PMH_GATEWAY_LOG_FORMAT",
                        reason: "must be `text` or `json`".into(),
                    });
                }
            };
        }
        if let Some(v) = var("PMH_GATEWAY_LOG_LEVEL") {
            self.log.level = v;
        }
        Ok(())
    }

    /// Relative paths are taken relative to `base` (the config file's directory).
    pub fn resolve(self, base: &Path) -> Result<GatewayConfig, ConfigError> {
        let invalid = |field: &'static str, reason: String| ConfigError::Invalid { field, reason };
        let listen: SocketAddr = self.server.listen.parse().map_err(|_| {
            invalid(
                "server.listen",
                format!(
                    "{:?} is not an address:port such as {DEFAULT_LISTEN}",
                    self.server.listen
                ),
            )
        })?;
        if self.server.body_limit_bytes < 1024 {
            return Err(invalid(
                "server.body_limit_bytes",
                "must be at least 1024".into(),
            ));
        }
        let institution = MedicalInstitutionCode::parse(&self.institution.code)
            .map_err(|e| invalid("institution.code", format!("医療機関コード {e}")))?;
        let path = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let onshi = self.onshi.resolve(&path)?;
        let upstream = match self.upstream.mode {
            UpstreamMode::Pmh => self.upstream.resolve_pmh(&path)?,
            UpstreamMode::Terminal => match &onshi {
                Some(o) => UpstreamConfig::Terminal(o.terminal.clone()),
                None => {
                    return Err(invalid(
                        "upstream.mode",
                        "\"terminal\" needs the terminal's folder: set onshi.folder".into(),
                    ));
                }
            },
        };
        let s = &self.service;
        if s.deadline_ms == 0 || s.deadline_ms > 300_000 {
            return Err(invalid(
                "service.deadline_ms",
                "must be between 1 and 300000".into(),
            ));
        }
        if s.cache_capacity == 0 {
            return Err(invalid(
                "service.cache_capacity",
                "must be at least 1".into(),
            ));
        }
        if s.breaker_threshold == 0 {
            return Err(invalid(
                "service.breaker_threshold",
                "must be at least 1".into(),
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            invalid(
                "log.level",
                format!("{:?} is not a tracing filter: {e}", self.log.level),
            )
        })?;
        Ok(GatewayConfig {
            listen,
            body_limit_bytes: self.server.body_limit_bytes,
            institution,
            upstream,
            service: ServiceConfig {
                deadline: Duration::from_millis(s.deadline_ms),
                confirmed_max_age: Duration::from_secs(s.confirmed_max_age_secs),
                none_found_max_age: Duration::from_secs(s.none_found_max_age_secs),
                stale_max_age: Duration::from_secs(s.stale_max_age_secs),
                cache_capacity: s.cache_capacity,
                breaker_threshold: s.breaker_threshold,
                breaker_cooldown: Duration::from_secs(s.breaker_cooldown_secs),
            },
            masters: match self.masters.dir {
                Some(d) => MasterSource::Dir(path(&d)),
                None => MasterSource::Embedded,
            },
            checkin: onshi.and_then(|o| o.watch),
            log_format: self.log.format,
            log_level: self.log.level,
        })
    }
}

impl UpstreamSection {
    fn resolve_pmh(&self, path: &dyn Fn(&Path) -> PathBuf) -> Result<UpstreamConfig, ConfigError> {
        let required = |field: &'static str| ConfigError::Invalid {
            field,
            reason: "is required when upstream.mode = \"pmh\" (the default)".into(),
        };
        let base_url = self
            .base_url
            .clone()
            .ok_or_else(|| required("upstream.base_url"))?;
        if !base_url.starts_with("https://") {
            return Err(ConfigError::Invalid {
                field: "upstream.base_url",
                reason: format!(
                    "{base_url:?} must start with https:// (the upstream is only spoken to over TLS)"
                ),
            });
        }
        let ca = self
            .ca_cert
            .as_ref()
            .ok_or_else(|| required("upstream.ca_cert"))?;
        let cert = self
            .client_cert
            .as_ref()
            .ok_or_else(|| required("upstream.client_cert"))?;
        let key = self
            .client_key
            .as_ref()
            .ok_or_else(|| required("upstream.client_key"))?;
        let ca_pem = read_pem("upstream.ca_cert", &path(ca), "CERTIFICATE")?;
        let mut identity_pem = read_pem("upstream.client_cert", &path(cert), "CERTIFICATE")?;
        let key_pem = read_pem("upstream.client_key", &path(key), "PRIVATE KEY")?;
        if !identity_pem.ends_with(b"\n") {
            identity_pem.push(b'\n');
        }
        identity_pem.extend_from_slice(&key_pem);
        Ok(UpstreamConfig::Pmh {
            base_url,
            tls: UpstreamTls {
                ca_pem,
                identity_pem,
            },
            connect_timeout: Duration::from_millis(self.connect_timeout_ms.max(1)),
        })
    }
}

/// The `[onshi]` section resolved: the terminal upstream's folders, and the watcher if on.
struct ResolvedOnshi {
    terminal: TerminalUpstreamOptions,
    watch: Option<WatchOptions>,
}

impl OnshiSection {
    fn resolve(
        &self,
        path: &dyn Fn(&Path) -> PathBuf,
    ) -> Result<Option<ResolvedOnshi>, ConfigError> {
        let invalid = |field: &'static str, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.into(),
        };
        let Some(folder) = self.folder.as_deref().map(path) else {
            if self.face_dir.is_some() || self.req_dir.is_some() || self.res_dir.is_some() {
                return Err(invalid(
                    "onshi.folder",
                    "is required when face_dir, req_dir or res_dir is set (the other folders default to it)",
                ));
            }
            return Ok(None);
        };
        let dir =
            |d: &Option<PathBuf>, name: &str| d.as_deref().map(path).unwrap_or(folder.join(name));
        let face = dir(&self.face_dir, "face");
        let req = dir(&self.req_dir, "req");
        let res = dir(&self.res_dir, "res");
        for (field, v, min) in [
            ("onshi.rescan_interval_ms", self.rescan_interval_ms, 10),
            ("onshi.settle_ms", self.settle_ms, 1),
            ("onshi.incomplete_grace_ms", self.incomplete_grace_ms, 1),
            ("onshi.poll_ms", self.poll_ms, 1),
        ] {
            if v < min || v > 3_600_000 {
                return Err(invalid(
                    field,
                    &format!("must be between {min} and 3600000"),
                ));
            }
        }
        if self.incomplete_grace_ms < self.settle_ms {
            return Err(invalid(
                "onshi.incomplete_grace_ms",
                "must be at least onshi.settle_ms",
            ));
        }
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(invalid("onshi.concurrency", "must be between 1 and 256"));
        }
        if self.watch_res && self.after_processing == AfterProcessing::Move {
            return Err(invalid(
                "onshi.watch_res",
                "needs after_processing = \"leave\" with a ledger_file: results in res/ belong to the receipt computer and are never moved",
            ));
        }
        let disposal = match self.after_processing {
            AfterProcessing::Move => Disposal::Move(
                self.processed_dir
                    .as_deref()
                    .map(path)
                    .unwrap_or(face.join("processed")),
            ),
            AfterProcessing::Leave => Disposal::Leave {
                ledger: self.ledger_file.as_deref().map(path).ok_or_else(|| {
                    invalid(
                        "onshi.ledger_file",
                        "is required with after_processing = \"leave\" (it remembers which files were handled)",
                    )
                })?,
            },
        };
        let watch = (self.watch_face || self.watch_res).then(|| WatchOptions {
            rejected_dir: self
                .rejected_dir
                .as_deref()
                .map(path)
                .unwrap_or(face.join("rejected")),
            face_dir: face.clone(),
            res_dir: self.watch_res.then(|| res.clone()),
            disposal,
            rescan_interval: Duration::from_millis(self.rescan_interval_ms),
            settle: Duration::from_millis(self.settle_ms),
            incomplete_grace: Duration::from_millis(self.incomplete_grace_ms),
            events: self.use_events,
            concurrency: self.concurrency,
            skip_prefix: Some(crate::upstream::OWN_PREFIX.into()),
        });
        Ok(Some(ResolvedOnshi {
            terminal: TerminalUpstreamOptions {
                req_dir: req,
                res_dir: res,
                charset: match self.request_encoding {
                    RequestEncoding::ShiftJis => Charset::ShiftJis,
                    RequestEncoding::Utf8 => Charset::Utf8,
                },
                poll: Duration::from_millis(self.poll_ms),
            },
            watch,
        }))
    }
}

/// Reads the file, applies the environment, resolves paths against the file's directory.
pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut cfg = FileConfig::from_toml(&text)?;
    cfg.apply_env(|k| std::env::var(k).ok())?;
    cfg.resolve(path.parent().unwrap_or(Path::new(".")))
}

fn read_pem(field: &'static str, path: &Path, label: &str) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::Certificate {
        field,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    if !text.contains("-----BEGIN ") || !text.contains(label) {
        return Err(ConfigError::Certificate {
            field,
            path: path.to_path_buf(),
            reason: format!("no PEM block containing \"{label}\" found"),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [institution]
        code = "1311111111"
        [upstream]
        base_url = "https://localhost:8443"
        ca_cert = "ca.pem"
        client_cert = "client.pem"
        client_key = "client.key"
    "#;

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err =
            FileConfig::from_toml(&format!("{MINIMAL}\n[service]\ndeadline = 5")).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `deadline`"),
            "{err}"
        );
    }

    #[test]
    fn environment_overrides_and_missing_certificates() {
        let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
        cfg.apply_env(|k| {
            (k == "PMH_GATEWAY_UPSTREAM_CA_CERT").then(|| "/nonexistent/ca.pem".into())
        })
        .unwrap();
        assert_eq!(
            cfg.upstream.ca_cert,
            Some(PathBuf::from("/nonexistent/ca.pem"))
        );
        let err = cfg.resolve(Path::new("/tmp")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("upstream.ca_cert") && msg.contains("/nonexistent/ca.pem"),
            "{msg}"
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
        cfg.institution.code = "123".into();
        let msg = cfg.resolve(Path::new("/tmp")).unwrap_err().to_string();
        assert!(msg.starts_with("institution.code"), "{msg}");
        let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
        cfg.upstream.base_url = Some("http://pmh".into());
        assert!(
            cfg.resolve(Path::new("/tmp"))
                .unwrap_err()
                .to_string()
                .contains("https://")
        );
        let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
        assert!(
            cfg.apply_env(|k| (k == "PMH_GATEWAY_LOG_FORMAT").then(|| "xml".into()))
                .is_err()
        );
    }

    #[test]
    fn the_documented_example_parses_and_matches_the_defaults() {
        let cfg = FileConfig::from_toml(include_str!("../deploy/gateway.example.toml")).unwrap();
        let d = ServiceSection::default();
        assert_eq!(cfg.service.deadline_ms, d.deadline_ms);
        assert_eq!(cfg.service.confirmed_max_age_secs, d.confirmed_max_age_secs);
        assert_eq!(
            cfg.service.none_found_max_age_secs,
            d.none_found_max_age_secs
        );
        assert_eq!(cfg.service.stale_max_age_secs, d.stale_max_age_secs);
        assert_eq!(cfg.service.breaker_threshold, d.breaker_threshold);
        assert_eq!(cfg.server.listen, DEFAULT_LISTEN);
        let o = OnshiSection::default();
        assert_eq!(
            (
                cfg.onshi.rescan_interval_ms,
                cfg.onshi.settle_ms,
                cfg.onshi.incomplete_grace_ms,
                cfg.onshi.concurrency,
                cfg.onshi.poll_ms,
                cfg.onshi.use_events,
                cfg.onshi.watch_face,
                cfg.onshi.request_encoding,
            ),
            (
                o.rescan_interval_ms,
                o.settle_ms,
                o.incomplete_grace_ms,
                o.concurrency,
                o.poll_ms,
                o.use_events,
                o.watch_face,
                o.request_encoding,
            )
        );
    }

    #[test]
    fn the_terminal_folder_gives_the_watcher_and_the_terminal_upstream() {
        let text = r#"
            [institution]
            code = "1311111111"
            [upstream]
            mode = "terminal"
            [onshi]
            folder = "OQS"
            after_processing = "leave"
            ledger_file = "/var/lib/pmh-gateway/ledger.tsv"
            watch_res = true
            request_encoding = "utf-8"
        "#;
        let cfg = FileConfig::from_toml(text)
            .unwrap()
            .resolve(Path::new("/srv"))
            .unwrap();
        let UpstreamConfig::Terminal(t) = &cfg.upstream else {
            panic!("terminal mode")
        };
        assert_eq!(t.req_dir, PathBuf::from("/srv/OQS/req"));
        assert_eq!(t.charset, Charset::Utf8);
        let w = cfg.checkin.unwrap();
        assert_eq!(w.face_dir, PathBuf::from("/srv/OQS/face"));
        assert_eq!(w.res_dir, Some(PathBuf::from("/srv/OQS/res")));
        assert_eq!(w.rejected_dir, PathBuf::from("/srv/OQS/face/rejected"));
        assert_eq!(
            w.disposal,
            Disposal::Leave {
                ledger: "/var/lib/pmh-gateway/ledger.tsv".into()
            }
        );
        assert_eq!(w.skip_prefix.as_deref(), Some("PMHG"));
    }

    #[test]
    fn onshi_mistakes_name_their_setting() {
        let base = r#"
            [institution]
            code = "1311111111"
            [upstream]
            mode = "terminal"
        "#;
        for (extra, field) in [
            ("", "upstream.mode"),
            ("[onshi]\nface_dir = \"f\"", "onshi.folder"),
            (
                "[onshi]\nfolder = \"OQS\"\nafter_processing = \"leave\"",
                "onshi.ledger_file",
            ),
            (
                "[onshi]\nfolder = \"OQS\"\nsettle_ms = 0",
                "onshi.settle_ms",
            ),
            (
                "[onshi]\nfolder = \"OQS\"\nsettle_ms = 900\nincomplete_grace_ms = 100",
                "onshi.incomplete_grace_ms",
            ),
        ] {
            let msg = FileConfig::from_toml(&format!("{base}\n{extra}"))
                .unwrap()
                .resolve(Path::new("/srv"))
                .unwrap_err()
                .to_string();
            assert!(msg.starts_with(field), "{field}: {msg}");
        }
        // PMH mode without a URL names it.
        let msg = FileConfig::from_toml("[institution]\ncode = \"1311111111\"\n[upstream]\n")
            .unwrap()
            .resolve(Path::new("/srv"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("upstream.base_url"), "{msg}");
    }

    #[cfg(feature = "emulator")]
    #[test]
    fn a_complete_config_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let pki = crate::sandbox::Pki::generate("1311111111").unwrap();
        pki.write_to(dir.path()).unwrap();
        let cfg = FileConfig::from_toml(MINIMAL)
            .unwrap()
            .resolve(dir.path())
            .unwrap();
        assert_eq!(cfg.listen.to_string(), DEFAULT_LISTEN);
        assert!(cfg.listen.ip().is_loopback());
        assert_eq!(cfg.masters, MasterSource::Embedded);
    }
}
