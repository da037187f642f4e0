//! Error policy.
//!
//! - Each module owns a `thiserror` enum for what can go wrong inside it (`NumberError`,
//!   `MastersError`, `UpstreamError`, `ConfigError`, …). Variants carry what a person needs to
//!   fix the problem: the field, the file and line, the expected check digit.
//! - No error message carries personal data: never a recipient number, an insured number, a
//!   name or a birthdate (payer numbers are public and may appear). So every error may be logged.
//! - Errors a user can cause through the REST API become RFC 9457 `application/problem+json`
//!   responses in `api::problem`, with a stable `type`, and per-field reasons; that module is the
//!   only place that maps errors to HTTP.
//! - Upstream failures are not errors of the answer: the service turns them into `stale` or
//!   `unavailable` answers with the failure's kind, never into `none_found`.
//! - Startup problems (`StartupError`) stop the process with a message naming the setting.
//! - Panics are bugs; upstream data never panics the gateway.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
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

#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("master tables: {0}")]
    Masters(#[from] crate::masters::MastersError),
    #[error("upstream client: {0}")]
    Upstream(#[from] crate::upstream::client::ClientBuildError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("sandbox: {0}")]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error("cannot set up the folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("check-in watcher: {0}")]
    CheckIn(crate::checkin::watcher::WatchError),
    #[error("cannot generate sandbox certificates: {0}")]
    Pki(#[from] rcgen::Error),
    #[error("cannot write sandbox certificates to {path}: {source}")]
    CertDir {
        path: PathBuf,
        source: std::io::Error,
    },
}
