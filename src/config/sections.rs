//! Resolution: the file's values checked (each mistake names its key), paths made absolute
//! against the file's directory, certificates read, into a [`GatewayConfig`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::*;
use super::values::{in_range, read_pem};
use super::{ConfigError, GatewayConfig, UpstreamConfig};
use crate::checkin::{Disposal, WatchOptions};
use crate::domain::MedicalInstitutionCode;
use crate::masters::MasterSource;
use crate::onshi::Charset;
use crate::service::ServiceConfig;
use crate::upstream::{TerminalUpstreamOptions, UpstreamTls};

impl FileConfig {
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
        let s = &self.service;
        const DAY: u64 = 24 * 3600;
        // Each number within what the gateway can honour: a cache age past a year or a capacity
        // past ten million entries is a typo, and would otherwise fail deep inside the cache.
        for (field, value, min, max) in [
            ("service.deadline_ms", s.deadline_ms, 1, 300_000),
            (
                "service.confirmed_max_age_secs",
                s.confirmed_max_age_secs,
                1,
                7 * DAY,
            ),
            (
                "service.none_found_max_age_secs",
                s.none_found_max_age_secs,
                0,
                DAY,
            ),
            (
                "service.stale_max_age_secs",
                s.stale_max_age_secs,
                0,
                366 * DAY,
            ),
            ("service.cache_capacity", s.cache_capacity, 1, 10_000_000),
            (
                "service.breaker_threshold",
                u64::from(s.breaker_threshold),
                1,
                10_000,
            ),
            (
                "service.breaker_cooldown_secs",
                s.breaker_cooldown_secs,
                1,
                DAY,
            ),
            (
                "upstream.connect_timeout_ms",
                self.upstream.connect_timeout_ms,
                1,
                60_000,
            ),
            (
                "server.body_limit_bytes",
                self.server.body_limit_bytes as u64,
                1024,
                16 * 1024 * 1024,
            ),
            (
                "server.header_read_timeout_ms",
                self.server.header_read_timeout_ms,
                100,
                600_000,
            ),
            (
                "server.request_timeout_ms",
                self.server.request_timeout_ms,
                100,
                600_000,
            ),
            (
                "server.max_connections",
                self.server.max_connections as u64,
                1,
                100_000,
            ),
            (
                "server.shutdown_grace_ms",
                self.server.shutdown_grace_ms,
                0,
                600_000,
            ),
            (
                "server.max_connections_per_address",
                self.server.max_connections_per_address as u64,
                1,
                100_000,
            ),
            (
                "server.first_byte_timeout_ms",
                self.server.first_byte_timeout_ms,
                100,
                600_000,
            ),
        ] {
            in_range(field, value, min, max)?;
        }
        if self.server.reserved_connections >= self.server.max_connections {
            return Err(invalid(
                "server.reserved_connections",
                "must be less than server.max_connections (the rest serves connections that have not authenticated yet)".into(),
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
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            invalid(
                "log.level",
                format!("{:?} is not a tracing filter: {e}", self.log.level),
            )
        })?;
        let server_tls = super::access::server_tls(&self.server, listen, &path)?;
        let access = super::access::access(
            &self.server,
            &self.clients,
            &self.auth,
            listen,
            server_tls
                .as_ref()
                .is_some_and(|t| t.client_ca_pem.is_some()),
        )?;
        let store = super::access::store(&self.store, &self.audit, &path)?;
        Ok(GatewayConfig {
            listen,
            server_tls,
            access,
            store,
            body_limit_bytes: self.server.body_limit_bytes,
            limits: super::ServerLimits {
                header_read_timeout: Duration::from_millis(self.server.header_read_timeout_ms),
                request_timeout: Duration::from_millis(self.server.request_timeout_ms),
                max_connections: self.server.max_connections,
                max_connections_per_address: self.server.max_connections_per_address,
                reserved_connections: self.server.reserved_connections,
                first_byte_timeout: Duration::from_millis(self.server.first_byte_timeout_ms),
                shutdown_grace: Duration::from_millis(self.server.shutdown_grace_ms),
            },
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
        if let Some(p) = &self.proxy
            && !(p.starts_with("http://") || p.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                field: "upstream.proxy",
                reason: format!("{p:?} must be an http:// or https:// URL"),
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
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            proxy: self.proxy.clone(),
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
            ("onshi.share_timeout_ms", self.share_timeout_ms, 100),
        ] {
            in_range(field, v, min, 3_600_000)?;
        }
        in_range("onshi.max_file_bytes", self.max_file_bytes, 4096, 64 << 20)?;
        in_range("onshi.retention_days", self.retention_days, 0, 3650)?;
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
            max_file_bytes: self.max_file_bytes,
            retention: Duration::from_secs(self.retention_days * 86_400),
            share_timeout: Duration::from_millis(self.share_timeout_ms),
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
                share_timeout: Duration::from_millis(self.share_timeout_ms),
            },
            watch,
        }))
    }
}
