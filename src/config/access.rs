//! Resolution of who may call and how: the REST listener's TLS, the `Host` allow-list, the
//! clients and their credentials, the failure limiter, and the state folder with its retention.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ConfigError;
use super::file::{AuditSection, AuthSection, ClientSection, Fsync, ServerSection, StateSection};
use super::values::{in_range, read_pem};
use crate::auth::{AccessConfig, Client, Scope, TokenHash, valid_client_name};
use crate::store::StoreConfig;
use crate::tls::ServerTlsMaterial;

/// The listener's TLS material, if configured. Listening beyond loopback without it is refused.
pub fn server_tls(
    s: &ServerSection,
    listen: SocketAddr,
    path: &dyn Fn(&Path) -> PathBuf,
) -> Result<Option<ServerTlsMaterial>, ConfigError> {
    let tls = match (&s.tls_cert, &s.tls_key) {
        (Some(cert), Some(key)) => Some(ServerTlsMaterial {
            cert_chain_pem: read_pem("server.tls_cert", &path(cert), "CERTIFICATE")?,
            key_pem: read_pem("server.tls_key", &path(key), "PRIVATE KEY")?,
            client_ca_pem: s
                .client_ca
                .as_ref()
                .map(|ca| read_pem("server.client_ca", &path(ca), "CERTIFICATE"))
                .transpose()?,
        }),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::Invalid {
                field: "server.tls_key",
                reason: "server.tls_cert and server.tls_key go together".into(),
            });
        }
    };
    if tls.is_none() && s.client_ca.is_some() {
        return Err(ConfigError::Invalid {
            field: "server.client_ca",
            reason: "client certificates need TLS: set server.tls_cert and server.tls_key".into(),
        });
    }
    if tls.is_none() && !listen.ip().is_loopback() {
        return Err(ConfigError::Invalid {
            field: "server.listen",
            reason: format!(
                "{listen} is reachable beyond this machine: patients' data must not cross the network in plain text. Set server.tls_cert and server.tls_key (`pmh-gateway pki` makes them), or listen on 127.0.0.1"
            ),
        });
    }
    Ok(tls)
}

/// Clients, the `Host` allow-list and the failure limiter.
pub fn access(
    server: &ServerSection,
    clients: &[ClientSection],
    auth: &AuthSection,
    listen: SocketAddr,
    client_certificates: bool,
) -> Result<AccessConfig, ConfigError> {
    let mut allowed_hosts = AccessConfig::default_hosts(listen);
    for (i, h) in server.allowed_hosts.iter().enumerate() {
        let h = h.trim().to_ascii_lowercase();
        if h.is_empty() || h.contains(['/', ' ', '@']) || h.contains(':') && !h.starts_with('[') {
            return Err(ConfigError::Invalid {
                field: "server.allowed_hosts",
                reason: format!("entry {} is not a host name or address without port", i + 1),
            });
        }
        if !allowed_hosts.contains(&h) {
            allowed_hosts.push(h);
        }
    }
    let mut names = BTreeSet::new();
    let clients = clients
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let bad = |reason: String| ConfigError::Client { index, reason };
            let name = c.name.trim();
            if !valid_client_name(name) {
                return Err(bad(
                    "name must be 1-64 characters of A-Z a-z 0-9 . _ -".into(),
                ));
            }
            if !names.insert(name.to_owned()) {
                return Err(bad(format!("the name {name:?} is used twice")));
            }
            if c.scopes.is_empty() {
                return Err(bad(format!(
                    "scopes: give at least one of {}",
                    Scope::vocabulary()
                )));
            }
            let scopes = c
                .scopes
                .iter()
                .map(|s| {
                    Scope::parse(s).ok_or_else(|| {
                        bad(format!(
                            "scopes: {s:?} is not a scope ({})",
                            Scope::vocabulary()
                        ))
                    })
                })
                .collect::<Result<BTreeSet<_>, _>>()?;
            let token = c
                .token_sha256
                .as_deref()
                .map(|t| {
                    TokenHash::parse(t).ok_or_else(|| {
                        bad("token_sha256 must be sha256: and 64 hex digits (as `pmh-gateway clients add` prints it)".into())
                    })
                })
                .transpose()?;
            let certificate_name = c
                .certificate_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            if certificate_name.is_some() && !client_certificates {
                return Err(bad(
                    "certificate_name needs server.client_ca (client certificates on the REST listener)".into(),
                ));
            }
            if token.is_none() && certificate_name.is_none() {
                return Err(bad(
                    "give token_sha256 or certificate_name: a client must be able to prove who it is"
                        .into(),
                ));
            }
            Ok(Client {
                name: name.to_owned(),
                scopes,
                token,
                certificate_name,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    in_range("auth.max_failures", u64::from(auth.max_failures), 1, 10_000)?;
    in_range(
        "auth.failure_window_secs",
        auth.failure_window_secs,
        1,
        86_400,
    )?;
    in_range("auth.block_secs", auth.block_secs, 1, 86_400)?;
    Ok(AccessConfig {
        clients,
        allowed_hosts,
        max_failures: auth.max_failures,
        failure_window: Duration::from_secs(auth.failure_window_secs),
        block: Duration::from_secs(auth.block_secs),
    })
}

/// The state folder and how long records are kept.
pub fn store(
    state: &StateSection,
    audit: &AuditSection,
    path: &dyn Fn(&Path) -> PathBuf,
) -> Result<StoreConfig, ConfigError> {
    in_range("audit.retention_days", audit.retention_days, 1, 36_500)?;
    in_range(
        "audit.answer_retention_hours",
        audit.answer_retention_hours,
        1,
        24 * 366,
    )?;
    let invalid = |field: &'static str, reason: String| ConfigError::Invalid { field, reason };
    in_range("store.pool_size", state.pool_size as u64, 1, 512)?;
    in_range("store.lease_ttl_ms", state.lease_ttl_ms, 1_000, 600_000)?;
    let postgres = match &state.url {
        None => {
            if state.ca_cert.is_some() {
                return Err(invalid(
                    "store.ca_cert",
                    "is for a PostgreSQL database: set store.url too, or remove it".into(),
                ));
            }
            None
        }
        #[cfg(not(feature = "postgres"))]
        Some(_) => {
            return Err(invalid(
                "store.url",
                "this build has no PostgreSQL support: build it with `--features postgres`, or remove store.url to keep the state in SQLite".into(),
            ));
        }
        #[cfg(feature = "postgres")]
        Some(url) => {
            let parsed: Result<tokio_postgres::Config, _> = url.parse();
            if let Err(e) = parsed {
                return Err(invalid(
                    "store.url",
                    format!("not a PostgreSQL connection string: {e}"),
                ));
            }
            if state.key_file.is_none() {
                return Err(invalid(
                    "store.key_file",
                    "with a shared database every replica needs the same hashing secret: create it once (32 random bytes, owner-only: `head -c 32 /dev/urandom > audit.key && chmod 600 audit.key`) and name it here".into(),
                ));
            }
            let ca_pem = state
                .ca_cert
                .as_ref()
                .map(|p| read_pem("store.ca_cert", &path(p), "CERTIFICATE"))
                .transpose()?;
            Some(crate::store::PostgresConfig {
                url: url.clone(),
                ca_pem,
                pool_size: state.pool_size,
            })
        }
    };
    Ok(StoreConfig {
        dir: path(&state.dir),
        full_sync: state.fsync == Fsync::Full,
        audit_retention: Duration::from_secs(audit.retention_days * 24 * 3600),
        answer_retention: Duration::from_secs(audit.answer_retention_hours * 3600),
        postgres,
        key_file: state.key_file.as_deref().map(path),
        lease_ttl: Duration::from_millis(state.lease_ttl_ms),
    })
}
