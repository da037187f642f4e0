//! Environment overrides: `PMH_GATEWAY_*` variables replace the file's value (paths, secrets,
//! the listen address, logging).

use super::ConfigError;
use super::file::{FileConfig, LogFormat};

impl FileConfig {
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
        if let Some(v) = var("PMH_GATEWAY_STATE_DIR") {
            self.store.dir = v.into();
        }
        if let Some(v) = var("PMH_GATEWAY_STORE_URL") {
            self.store.url = Some(v);
        }
        if let Some(v) = var("PMH_GATEWAY_STORE_KEY_FILE") {
            self.store.key_file = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_STORE_CA_CERT") {
            self.store.ca_cert = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_TLS_CERT") {
            self.server.tls_cert = Some(v.into());
        }
        if let Some(v) = var("PMH_GATEWAY_TLS_KEY") {
            self.server.tls_key = Some(v.into());
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
}
