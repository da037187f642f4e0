//! The PMH query client: reqwest over rustls, client certificate, private CA pinned, a deadline
//! per request and at most one retry when the connection could not be made.
//!
//! Against a hostile or broken upstream: redirects are never followed (a 307/308 would send the
//! patient's data elsewhere; a 3xx is an error), the answer is read up to
//! [`MAX_ANSWER_BYTES`] only, a proxy is used only when configured (never one from the
//! environment), and an answer without `medicalSubsidies` is a protocol error, never "none".

use std::time::Duration;

use tokio::time::Instant;

use futures::future::BoxFuture;

use super::{Answer, Query, Upstream, UpstreamError};
use crate::domain::MedicalInstitutionCode;
use crate::domain::text::quoted;
use crate::pmh::{self, EligibilityRequest, EligibilityResponse};

/// The largest answer read (a real one is a few KiB; a person has a handful of certificates).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// PEM material for the upstream connection.
#[derive(Clone)]
pub struct UpstreamTls {
    /// The private CA that signed the upstream's server certificate; the only trusted root.
    pub ca_pem: Vec<u8>,
    /// The institution's client certificate chain followed by its private key.
    pub identity_pem: Vec<u8>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamTls(<pem>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("the upstream CA certificate is not valid PEM: {0}")]
    Ca(String),
    #[error(
        "the client certificate and key are not valid PEM (certificate chain then private key): {0}"
    )]
    Identity(String),
    #[error("the upstream base URL {0:?} is not a valid https:// URL")]
    BaseUrl(String),
    #[error("the upstream proxy {0:?} is not a valid http:// or https:// URL")]
    Proxy(String),
    #[error("cannot build the HTTPS client: {0}")]
    Build(String),
}

pub struct PmhClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    institution: MedicalInstitutionCode,
}

/// The least time worth a retry.
const MIN_RETRY_BUDGET: Duration = Duration::from_millis(50);

impl PmhClient {
    /// `proxy`: the only proxy used (`HTTPS_PROXY` and its kin in the environment are ignored).
    pub fn new(
        base_url: &str,
        tls: &UpstreamTls,
        institution: MedicalInstitutionCode,
        connect_timeout: Duration,
        proxy: Option<&str>,
    ) -> Result<Self, ClientBuildError> {
        let base = reqwest::Url::parse(base_url)
            .ok()
            .filter(|u| u.scheme() == "https")
            .ok_or_else(|| ClientBuildError::BaseUrl(base_url.to_owned()))?;
        let endpoint = base
            .join(pmh::ELIGIBILITY_PATH)
            .map_err(|_| ClientBuildError::BaseUrl(base_url.to_owned()))?;
        let ca = reqwest::Certificate::from_pem(&tls.ca_pem)
            .map_err(|e| ClientBuildError::Ca(e.to_string()))?;
        // reqwest's from_pem is lazy: check the PEM really holds a certificate now, not at the
        // first request.
        check_pem_has(&tls.ca_pem, "CERTIFICATE").map_err(ClientBuildError::Ca)?;
        let identity = reqwest::Identity::from_pem(&tls.identity_pem)
            .map_err(|e| ClientBuildError::Identity(e.to_string()))?;
        let builder = reqwest::Client::builder()
            // Never from the environment: only what the configuration names.
            .no_proxy();
        let builder = match proxy {
            None => builder,
            Some(p) => {
                let ok = reqwest::Url::parse(p)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
                let proxy = reqwest::Proxy::https(p)
                    .ok()
                    .filter(|_| ok)
                    .ok_or_else(|| ClientBuildError::Proxy(p.to_owned()))?;
                builder.proxy(proxy)
            }
        };
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([ca])
            .identity(identity)
            .https_only(true)
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("pmh-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientBuildError::Build(e.to_string()))?;
        Ok(Self {
            http,
            endpoint,
            institution,
        })
    }

    async fn attempt(
        &self,
        body: &EligibilityRequest,
        budget: Duration,
    ) -> Result<Answer, Attempt> {
        let ms = budget.as_millis() as u64;
        let send = self.http.post(self.endpoint.clone()).json(body).send();
        let resp = match tokio::time::timeout(budget, send).await {
            Err(_) => return Err(Attempt::Final(UpstreamError::Timeout(ms))),
            Ok(Err(e)) if e.is_connect() => {
                return Err(Attempt::Retryable(UpstreamError::Connect(describe(&e))));
            }
            Ok(Err(e)) if e.is_timeout() => return Err(Attempt::Final(UpstreamError::Timeout(ms))),
            Ok(Err(e)) => return Err(Attempt::Final(UpstreamError::Other(describe(&e)))),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if status.is_redirection() {
            // Not followed: the request (with the patient's identity) stays with PMH.
            return Err(Attempt::Final(UpstreamError::Status(status.as_u16())));
        }
        let remaining = budget.saturating_sub(Duration::from_millis(1));
        let bytes =
            match tokio::time::timeout(remaining, read_limited(resp, MAX_ANSWER_BYTES)).await {
                Err(_) => return Err(Attempt::Final(UpstreamError::Timeout(ms))),
                Ok(Err(e)) => return Err(Attempt::Final(e)),
                Ok(Ok(b)) => b,
            };
        if !status.is_success() {
            return Err(Attempt::Final(UpstreamError::Status(status.as_u16())));
        }
        parse_answer(&bytes).map_err(Attempt::Final)
    }
}

/// Reads a body of at most `limit` bytes: a larger one (announced or streamed) is refused.
async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, UpstreamError> {
    let too_large =
        || UpstreamError::Protocol(format!("the answer is larger than {limit} bytes: not read"));
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| UpstreamError::Other(describe(&e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The boundary parse of an answer's body: JSON into the wire types, then [`into_answer`].
/// Errors name a position and an expectation, never a value.
pub fn parse_answer(bytes: &[u8]) -> Result<Answer, UpstreamError> {
    let parsed: EligibilityResponse = serde_json::from_slice(bytes).map_err(|e| {
        UpstreamError::Protocol(format!(
            "line {} column {}: {}",
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Eof => "truncated",
                serde_json::error::Category::Data => "unexpected shape",
                serde_json::error::Category::Io => "read error",
            }
        ))
    })?;
    into_answer(parsed)
}

/// Interprets a parsed response.
pub fn into_answer(r: EligibilityResponse) -> Result<Answer, UpstreamError> {
    match r.processing_result_status.as_str() {
        pmh::STATUS_OK => Ok(Answer {
            certificates: r
                .medical_subsidies
                .ok_or_else(|| {
                    UpstreamError::Protocol(
                        "processingResultStatus 1 without medicalSubsidies: subsidies unknown"
                            .into(),
                    )
                })?
                .iter()
                .map(|s| s.to_certificate())
                .collect(),
            processed_at: r.processed_at,
        }),
        pmh::STATUS_ERROR => Err(UpstreamError::Rejected {
            code: quoted(r.error_code.as_deref().unwrap_or("unknown"), 32),
            message: quoted(r.error_message.as_deref().unwrap_or("no message"), 200),
        }),
        other => Err(UpstreamError::Protocol(format!(
            "processingResultStatus {:?} is neither 1 nor 2",
            quoted(other, 8)
        ))),
    }
}

enum Attempt {
    Retryable(UpstreamError),
    Final(UpstreamError),
}

/// The error and its causes, without the URL's query (there is none) or any body.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

fn check_pem_has(pem: &[u8], label: &str) -> Result<(), String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not UTF-8 text".to_owned())?;
    if text.contains(&format!("-----BEGIN {label}-----")) {
        Ok(())
    } else {
        Err(format!("no \"BEGIN {label}\" block found"))
    }
}

impl Upstream for PmhClient {
    fn query<'a>(
        &'a self,
        q: &'a Query,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Answer, UpstreamError>> {
        Box::pin(async move {
            let body =
                EligibilityRequest::new(self.institution.as_str(), &q.insured, q.date, &q.check_id);
            let budget = deadline.saturating_duration_since(Instant::now());
            match self.attempt(&body, budget).await {
                Ok(a) => Ok(a),
                Err(Attempt::Final(e)) => Err(e),
                Err(Attempt::Retryable(e)) => {
                    let budget = deadline.saturating_duration_since(Instant::now());
                    if budget < MIN_RETRY_BUDGET {
                        return Err(e);
                    }
                    tracing::debug!(error = %e.log_safe(), "upstream connection failed; retrying once");
                    match self.attempt(&body, budget).await {
                        Ok(a) => Ok(a),
                        Err(Attempt::Final(e) | Attempt::Retryable(e)) => Err(e),
                    }
                }
            }
        })
    }
}
