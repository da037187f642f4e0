//! Configuration: one TOML file (unknown keys rejected) plus environment overrides for secrets
//! and paths, resolved into a [`GatewayConfig`] with certificates loaded and checked, so that a
//! bad setting fails at startup with a message naming it.
//!
//! Environment overrides (each replaces the file's value):
//! `PMH_GATEWAY_LISTEN`, `PMH_GATEWAY_INSTITUTION_CODE`, `PMH_GATEWAY_UPSTREAM_BASE_URL`,
//! `PMH_GATEWAY_UPSTREAM_CA_CERT`, `PMH_GATEWAY_UPSTREAM_CLIENT_CERT`,
//! `PMH_GATEWAY_UPSTREAM_CLIENT_KEY`, `PMH_GATEWAY_MASTERS_DIR`, `PMH_GATEWAY_LOG_FORMAT`,
//! `PMH_GATEWAY_LOG_LEVEL`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::MedicalInstitutionCode;
use crate::errors::ConfigError;
use crate::masters::MasterSource;
use crate::service::ServiceConfig;
use crate::upstream::UpstreamTls;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    pub base_url: String,
    pub ca_cert: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
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
    pub upstream_base_url: String,
    pub upstream_tls: UpstreamTls,
    pub connect_timeout: Duration,
    pub service: ServiceConfig,
    pub masters: MasterSource,
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
            self.upstream.base_url = v;
        }
        if let Some(v) = var("PMH_GATEWAY_UPSTREAM_CA_CERT") {
            self.upstream.ca_cert = v.into();
        }
        if let Some(v) = var("PMH_GATEWAY_UPSTREAM_CLIENT_CERT") {
            self.upstream.client_cert = v.into();
        }
        if let Some(v) = var("PMH_GATEWAY_UPSTREAM_CLIENT_KEY") {
            self.upstream.client_key = v.into();
        }
        if let Some(v) = var("PMH_GATEWAY_MASTERS_DIR") {
            self.masters.dir = Some(v.into());
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
        if !self.upstream.base_url.starts_with("https://") {
            return Err(invalid(
                "upstream.base_url",
                format!(
                    "{:?} must start with https:// (the upstream is only spoken to over TLS)",
                    self.upstream.base_url
                ),
            ));
        }
        let path = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let ca_pem = read_pem(
            "upstream.ca_cert",
            &path(&self.upstream.ca_cert),
            "CERTIFICATE",
        )?;
        let cert_pem = read_pem(
            "upstream.client_cert",
            &path(&self.upstream.client_cert),
            "CERTIFICATE",
        )?;
        let key_pem = read_pem(
            "upstream.client_key",
            &path(&self.upstream.client_key),
            "PRIVATE KEY",
        )?;
        let mut identity_pem = cert_pem;
        if !identity_pem.ends_with(b"\n") {
            identity_pem.push(b'\n');
        }
        identity_pem.extend_from_slice(&key_pem);
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
            upstream_base_url: self.upstream.base_url,
            upstream_tls: UpstreamTls {
                ca_pem,
                identity_pem,
            },
            connect_timeout: Duration::from_millis(self.upstream.connect_timeout_ms.max(1)),
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
            log_format: self.log.format,
            log_level: self.log.level,
        })
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
        assert_eq!(cfg.upstream.ca_cert, PathBuf::from("/nonexistent/ca.pem"));
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
        cfg.upstream.base_url = "http://pmh".into();
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
    }

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
