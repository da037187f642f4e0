//! Who may call which route: the `Host` allow-list (DNS rebinding), the caller's credential
//! (a client certificate's name from the listener, or `Authorization: Bearer`), the route's
//! scope, and the failure limiter. 401 and 403 are problems with a stable `type`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use crate::auth::{AccessConfig, Attempt, Caller, Clients, FailureLimiter, Scope};
use crate::metrics::Metrics;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// Anyone (liveness, the OpenAPI document): no `Host` check, no credential.
    Open,
    /// Anyone; a caller that identifies itself is known to the handler (readiness details for
    /// `admin`). A bad credential is still refused.
    Optional,
    /// Any known client.
    Authenticated,
    /// A client with this scope.
    Scope(Scope),
}

impl Required {
    /// How the OpenAPI document and README name it.
    pub fn describe(self) -> String {
        match self {
            Self::Open | Self::Optional => "none".into(),
            Self::Authenticated => "any client".into(),
            Self::Scope(s) => format!("scope `{}`", s.as_str()),
        }
    }
}

/// The connection a request came on, as the listener saw it (absent in-process).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    pub addr: Option<SocketAddr>,
    /// The common name of a verified client certificate.
    pub certificate_name: Option<String>,
    /// Told when a request on this connection authenticates (the server keeps part of its
    /// capacity for such connections).
    pub proof: Option<ConnectionProof>,
}

/// What the guard calls when a request authenticates, for the connection it came on.
#[derive(Clone)]
pub struct ConnectionProof(Arc<dyn Fn() + Send + Sync>);

impl ConnectionProof {
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub fn proven(&self) {
        (self.0)()
    }
}

impl std::fmt::Debug for ConnectionProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionProof")
    }
}

impl PartialEq for ConnectionProof {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ConnectionProof {}

/// The access policy in force.
pub struct Access {
    config: AccessConfig,
    clients: Clients,
    limiter: FailureLimiter,
}

impl Access {
    pub fn new(config: AccessConfig) -> Self {
        Self {
            clients: Clients::new(&config.clients),
            limiter: FailureLimiter::new(config.max_failures, config.failure_window, config.block),
            config,
        }
    }

    pub fn has_clients(&self) -> bool {
        !self.clients.is_empty()
    }

    /// Whether a request naming `host` is let in (the DNS-rebinding allow-list).
    pub fn host_allowed(&self, host: &str) -> bool {
        self.config.host_allowed(host)
    }

    /// The client with this token.
    pub fn by_token(&self, token: &str) -> Option<&Caller> {
        self.clients.by_token(token)
    }

    /// The client of this name.
    pub fn by_name(&self, name: &str) -> Option<&Caller> {
        self.clients.by_name(name)
    }

    /// How long a credential that failed is still refused from its address (see
    /// [`FailureLimiter`]: a valid credential is never asked about).
    pub fn blocked(
        &self,
        attempt: &Attempt,
        now: tokio::time::Instant,
    ) -> Option<std::time::Duration> {
        self.limiter.blocked(attempt, now)
    }

    /// Counts a failed credential; `Some(block)` when this failure blocks it.
    pub fn failed(
        &self,
        attempt: Attempt,
        now: tokio::time::Instant,
    ) -> Option<std::time::Duration> {
        self.limiter.failed(attempt, now)
    }
}

/// The state the guard needs.
#[derive(Clone)]
pub struct Guard {
    pub access: Arc<Access>,
    pub metrics: Arc<Metrics>,
    pub required: Required,
}

fn refuse(metrics: &Metrics, reason: &'static str, p: Problem) -> Response {
    metrics
        .auth_failures
        .get_or_create(&vec![("reason", reason)])
        .inc();
    p.into_response()
}

/// Checks the `Host`, identifies the caller and its scope, and hands the request on with the
/// [`Caller`] in its extensions.
pub async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    if g.required == Required::Open {
        return next.run(req).await;
    }
    // A browser always names the host it thinks it talks to; a rebound name is refused. (A
    // request without any — not a browser's — is let through to the credential check.)
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if let Some(host) = host
        && !g.access.config.host_allowed(host)
    {
        return refuse(&g.metrics, "host", Problem::host_not_allowed());
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let ip = peer
        .addr
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let by_certificate = peer
        .certificate_name
        .as_deref()
        .and_then(|n| g.access.clients.by_certificate(n));
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let caller: Option<Caller> = match (by_certificate, bearer) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(t)) => g.access.clients.by_token(t).cloned(),
        (None, None) => None,
    };
    if g.required == Required::Optional && bearer.is_none() && by_certificate.is_none() {
        return next.run(req).await;
    }
    // A valid credential is never refused, whatever failed before from its address. A wrong
    // token is counted with its address; repeated, that pair is answered 401
    // `/problems/too-many-failures` with `Retry-After` for a while (growing), without a lookup.
    // A missing one is counted in the metrics only: it must not lock others out.
    let Some(caller) = caller else {
        let reason = if let Some(token) = bearer {
            let attempt = Attempt::token(ip, token);
            let now = tokio::time::Instant::now();
            if let Some(wait) = g.access.limiter.blocked(&attempt, now) {
                let mut r = refuse(&g.metrics, "blocked", Problem::too_many_failures(wait));
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"pmh-gateway\", error=\"invalid_token\"",
                    ),
                );
                return r;
            }
            g.access.limiter.failed(attempt, now);
            "invalid"
        } else {
            "missing"
        };
        let mut r = refuse(
            &g.metrics,
            reason,
            Problem::unauthenticated(bearer.is_some()),
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(if bearer.is_some() {
                "Bearer realm=\"pmh-gateway\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"pmh-gateway\""
            }),
        );
        return r;
    };
    if let Some(proof) = &peer.proof {
        proof.proven();
    }
    if let Required::Scope(scope) = g.required
        && !caller.may(scope)
    {
        return refuse(
            &g.metrics,
            "forbidden",
            Problem::forbidden(&caller.name, scope),
        );
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}
