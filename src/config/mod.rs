//! Configuration: one TOML file (unknown keys rejected) plus environment overrides for secrets
//! and paths, resolved into a [`GatewayConfig`] with certificates loaded and checked, so that a
//! bad setting fails at startup with a message naming it.
//!
//! Environment overrides (each replaces the file's value):
//! `PMH_GATEWAY_LISTEN`, `PMH_GATEWAY_INSTITUTION_CODE`, `PMH_GATEWAY_UPSTREAM_BASE_URL`,
//! `PMH_GATEWAY_UPSTREAM_CA_CERT`, `PMH_GATEWAY_UPSTREAM_CLIENT_CERT`,
//! `PMH_GATEWAY_UPSTREAM_CLIENT_KEY`, `PMH_GATEWAY_MASTERS_DIR`, `PMH_GATEWAY_ONSHI_FOLDER`,
//! `PMH_GATEWAY_STATE_DIR`, `PMH_GATEWAY_TLS_CERT`, `PMH_GATEWAY_TLS_KEY`,
//! `PMH_GATEWAY_LOG_FORMAT`, `PMH_GATEWAY_LOG_LEVEL`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::auth::AccessConfig;
use crate::checkin::WatchOptions;
use crate::domain::MedicalInstitutionCode;
use crate::masters::MasterSource;
use crate::service::ServiceConfig;
use crate::store::StoreConfig;
use crate::tls::ServerTlsMaterial;
use crate::upstream::{TerminalUpstreamOptions, UpstreamTls};

mod access;
mod env;
mod file;
mod sections;
mod values;

pub use file::{
    AfterProcessing, AuditSection, AuthSection, ClientSection, DEFAULT_LISTEN, FileConfig, Fsync,
    InstitutionSection, LogFormat, LogSection, MastersSection, OnshiSection, RequestEncoding,
    ServerSection, ServiceSection, StateSection, UpstreamMode, UpstreamSection,
};

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
    #[error("clients[{index}]: {reason}")]
    Client { index: usize, reason: String },
    #[error("environment variable {var}: {reason}")]
    Env { var: &'static str, reason: String },
}

/// How the gateway reaches PMH.
#[derive(Debug, Clone)]
pub enum UpstreamConfig {
    Pmh {
        base_url: String,
        tls: UpstreamTls,
        connect_timeout: Duration,
        /// The only proxy used; `None`: a direct connection.
        proxy: Option<String>,
    },
    Terminal(TerminalUpstreamOptions),
}

/// The server's limits (`[server]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A client must send a request's headers within this.
    pub header_read_timeout: Duration,
    /// A request (body included) must be answered within this, else `503`.
    pub request_timeout: Duration,
    /// Open connections at most; beyond, a new one takes the place of the oldest that has sent
    /// nothing yet, or gets `503` and is closed.
    pub max_connections: usize,
    /// Connections that have not authenticated (no request with a valid credential, no client
    /// certificate) from one address at most.
    pub max_connections_per_address: usize,
    /// Of `max_connections`, this many are kept for connections that have authenticated: the
    /// others are capped at `max_connections - reserved_connections`.
    pub reserved_connections: usize,
    /// A connection that sends nothing for this long after it opened is closed.
    pub first_byte_timeout: Duration,
    /// On shutdown, requests in flight get this long to finish.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_connections_per_address: 64,
            reserved_connections: 128,
            first_byte_timeout: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Everything `run` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// TLS on the REST listener (required beyond loopback).
    pub server_tls: Option<ServerTlsMaterial>,
    /// The clients, the `Host` allow-list, the failure limiter.
    pub access: AccessConfig,
    /// The state folder (audit, earlier answers) and retention.
    pub store: StoreConfig,
    pub body_limit_bytes: usize,
    /// Timeouts and the connection cap of the REST server.
    pub limits: ServerLimits,
    pub institution: MedicalInstitutionCode,
    pub upstream: UpstreamConfig,
    pub service: ServiceConfig,
    pub masters: MasterSource,
    /// The check-in watcher, when the terminal's folder is configured and watching is on.
    pub checkin: Option<WatchOptions>,
    pub log_format: LogFormat,
    pub log_level: String,
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

#[cfg(test)]
mod tests;
