//! The sandbox: an emulated PMH upstream for `demo`, tests and benchmarks.
//!
//! - HTTPS (tokio-rustls) implementing the provisional contract of `pmh`; a client
//!   without a certificate signed by the sandbox CA is refused during the handshake.
//! - A seeded synthetic population (`population`).
//! - A plain-HTTP admin API on loopback: `GET /admin/personas`, `GET /admin/stats`,
//!   `PUT /admin/faults` (`ok`, `down`, `hang`, `error`, `garbage`, plus `latency_ms`).
//!
//! Invariant: inbound only; it never makes outbound connections.

mod pki;
mod population;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod terminal;
pub mod uke;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

pub use pki::Pki;
pub use population::{DEMO_INSTITUTION, OTHER_INSTITUTION, Persona, PersonaInsured, Population};

use pmh_formats::pmh::{self, EligibilityRequest, EligibilityResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    #[default]
    Ok,
    /// Connections are accepted and dropped at once (no TLS, no HTTP).
    Down,
    /// The request is read and never answered.
    Hang,
    /// HTTP 503 with `processingResultStatus` 2.
    Error,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// HTTP 307 to another path ([`REDIRECT_TARGET`]), which counts what reaches it.
    Redirect,
    /// HTTP 200 with a valid answer padded to 8 MiB.
    Huge,
    /// HTTP 200, `processingResultStatus` 1, no `medicalSubsidies` at all.
    NoSubsidies,
    /// The person's certificates with the payer number left out of each.
    NoPayer,
}

/// Where [`FaultMode::Redirect`] sends the gateway; a request arriving there is counted.
pub const REDIRECT_TARGET: &str = "/elsewhere";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    pub mode: FaultMode,
    #[serde(default)]
    pub latency_ms: u64,
}

#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    dropped_connections: AtomicU64,
    tls_handshake_failures: AtomicU64,
    eligibility_requests: AtomicU64,
    answered_with_certificates: AtomicU64,
    answered_empty: AtomicU64,
    bad_requests: AtomicU64,
    redirected_requests: AtomicU64,
}

struct Shared {
    population: Population,
    faults: watch::Sender<Faults>,
    stats: Stats,
}

/// Where and how to run the sandbox.
pub struct SandboxOptions {
    pub https: TcpListener,
    /// Plain HTTP; bind it to loopback.
    pub admin: Option<TcpListener>,
    pub pki: Pki,
    pub seed: u64,
    pub today: chrono::NaiveDate,
    pub population_size: usize,
}

/// A running sandbox. Dropping the handle does not stop it: call [`SandboxHandle::shutdown`].
pub struct SandboxHandle {
    pub https_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    pub pki: Pki,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SandboxHandle {
    pub fn population(&self) -> &Population {
        &self.shared.population
    }
    pub fn set_faults(&self, f: Faults) {
        self.shared.faults.send_replace(f);
    }
    pub fn eligibility_requests(&self) -> u64 {
        self.shared
            .stats
            .eligibility_requests
            .load(Ordering::SeqCst)
    }
    /// Requests that followed a [`FaultMode::Redirect`].
    pub fn redirected_requests(&self) -> u64 {
        self.shared.stats.redirected_requests.load(Ordering::SeqCst)
    }
    pub fn tls_handshake_failures(&self) -> u64 {
        self.shared
            .stats
            .tls_handshake_failures
            .load(Ordering::SeqCst)
    }
    pub fn base_url(&self) -> String {
        format!("https://localhost:{}", self.https_addr.port())
    }
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox TLS setup failed: {0}")]
    Tls(#[from] pmh_tls::TlsError),
    #[error("sandbox socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot generate sandbox certificates: {0}")]
    Pki(pmh_pki::Error),
    #[error("cannot write sandbox certificates to {path}: {source}")]
    CertDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set up the terminal folder {path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

pub async fn start(opts: SandboxOptions) -> Result<SandboxHandle, SandboxError> {
    let tls = server_config(&opts.pki)?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let (faults, _) = watch::channel(Faults::default());
    let shared = Arc::new(Shared {
        population: Population::generate(opts.seed, opts.today, opts.population_size),
        faults,
        stats: Stats::default(),
    });
    let (stop, stop_rx) = watch::channel(false);
    let https_addr = opts.https.local_addr()?;
    let mut tasks = vec![tokio::spawn(serve_https(
        opts.https,
        acceptor,
        shared.clone(),
        stop_rx.clone(),
    ))];
    let admin_addr = match opts.admin {
        Some(l) => {
            let addr = l.local_addr()?;
            let app = admin_router(shared.clone());
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(l, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.changed().await;
                    })
                    .await;
            }));
            Some(addr)
        }
        None => None,
    };
    Ok(SandboxHandle {
        https_addr,
        admin_addr,
        pki: opts.pki,
        shared,
        stop,
        tasks,
    })
}

async fn serve_https(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route(pmh::ELIGIBILITY_PATH, post(eligibility))
        .route(REDIRECT_TARGET, axum::routing::any(elsewhere))
        .with_state(shared.clone());
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(error = %e, "sandbox accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        if shared.faults.borrow().mode == FaultMode::Down {
            shared
                .stats
                .dropped_connections
                .fetch_add(1, Ordering::Relaxed);
            drop(tcp);
            continue;
        }
        let acceptor = acceptor.clone();
        let app = app.clone();
        let shared = shared.clone();
        conns.spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    shared
                        .stats
                        .tls_handshake_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, "sandbox refused a TLS client");
                    return;
                }
            };
            let svc = hyper_util::service::TowerToHyperService::new(app);
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), svc);
            // Going `down` also cuts connections already open (a client's keep-alive pool
            // must not keep a dead upstream looking alive).
            let mut faults = shared.faults.subscribe();
            let down = async move {
                loop {
                    if faults.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    if faults.borrow().mode == FaultMode::Down {
                        break;
                    }
                }
            };
            tokio::select! {
                _ = conn => {}
                _ = down => {}
            }
        });
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
}

/// A request that followed the redirect: counted, and answered as if it were PMH.
async fn elsewhere(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .stats
        .redirected_requests
        .fetch_add(1, Ordering::SeqCst);
    Json(serde_json::json!({"processingResultStatus": "1", "medicalSubsidies": []})).into_response()
}

async fn eligibility(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let faults = *shared.faults.borrow();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    shared
        .stats
        .eligibility_requests
        .fetch_add(1, Ordering::SeqCst);
    match faults.mode {
        FaultMode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        FaultMode::Error => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(error_response(
                    "E503",
                    "sandbox fault: service unavailable",
                    None,
                )),
            )
                .into_response();
        }
        FaultMode::Garbage => {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"processingResultStatus\": 1, <<garbage",
            )
                .into_response();
        }
        FaultMode::Redirect => {
            return (
                StatusCode::TEMPORARY_REDIRECT,
                [("location", REDIRECT_TARGET)],
            )
                .into_response();
        }
        FaultMode::Huge => {
            let mut body = br#"{"processingResultStatus": "1", "medicalSubsidies": []"#.to_vec();
            body.resize(8 << 20, b' ');
            body.push(b'}');
            return (StatusCode::OK, [("content-type", "application/json")], body).into_response();
        }
        FaultMode::NoSubsidies => {
            return Json(serde_json::json!({"processingResultStatus": "1"})).into_response();
        }
        FaultMode::Ok | FaultMode::Down | FaultMode::NoPayer => {}
    }
    let req: EligibilityRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            shared.stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::BAD_REQUEST,
                Json(error_response(
                    "E400",
                    &format!("invalid request: {e}"),
                    None,
                )),
            )
                .into_response();
        }
    };
    let mut certificates = shared
        .population
        .lookup(&req)
        .map(|p| p.certificates.clone())
        .unwrap_or_default();
    if faults.mode == FaultMode::NoPayer {
        for c in &mut certificates {
            c.medical_subsidy_insurer_number.clear();
        }
    }
    let counter = if certificates.is_empty() {
        &shared.stats.answered_empty
    } else {
        &shared.stats.answered_with_certificates
    };
    counter.fetch_add(1, Ordering::Relaxed);
    Json(EligibilityResponse {
        processing_result_status: pmh::STATUS_OK.into(),
        processed_at: Some(
            chrono::Utc::now()
                .with_timezone(&pmh_core::domain::date::jst())
                .to_rfc3339(),
        ),
        arbitrary_identifier: Some(req.arbitrary_identifier),
        error_code: None,
        error_message: None,
        medical_subsidies: Some(certificates),
    })
    .into_response()
}

fn error_response(code: &str, message: &str, id: Option<String>) -> EligibilityResponse {
    EligibilityResponse {
        processing_result_status: pmh::STATUS_ERROR.into(),
        processed_at: None,
        arbitrary_identifier: id,
        error_code: Some(code.into()),
        error_message: Some(message.into()),
        medical_subsidies: None,
    }
}

fn admin_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/admin/personas", get(personas))
        .route("/admin/stats", get(stats))
        .route("/admin/faults", put(set_faults).get(get_faults))
        .with_state(shared)
}

async fn personas(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "seed": s.population.seed,
        "today": s.population.today.to_string(),
        "count": s.population.personas.len(),
        "personas": s.population.personas,
    }))
}

async fn stats(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let st = &s.stats;
    let l = |a: &AtomicU64| a.load(Ordering::SeqCst);
    Json(serde_json::json!({
        "eligibility_requests": l(&st.eligibility_requests),
        "answered_with_certificates": l(&st.answered_with_certificates),
        "answered_empty": l(&st.answered_empty),
        "bad_requests": l(&st.bad_requests),
        "redirected_requests": l(&st.redirected_requests),
        "connections": l(&st.connections),
        "dropped_connections": l(&st.dropped_connections),
        "tls_handshake_failures": l(&st.tls_handshake_failures),
        "faults": *s.faults.borrow(),
    }))
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Json<Faults> {
    Json(*s.faults.borrow())
}

async fn set_faults(
    State(s): State<Arc<Shared>>,
    body: Result<Json<Faults>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(f)) => {
            s.faults.send_replace(f);
            tracing::info!(mode = ?f.mode, latency_ms = f.latency_ms, "sandbox faults set");
            Json(f).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            format!(
                "expected {{\"mode\": \"ok\"|\"down\"|\"hang\"|\"error\"|\"garbage\", \"latency_ms\": N}}: {}",
                e.body_text()
            ),
        )
            .into_response(),
    }
}

/// The HTTPS server's TLS: the sandbox's certificate, and a client certificate signed by its CA
/// required (HTTP/2 or HTTP/1.1).
fn server_config(pki: &Pki) -> Result<rustls::ServerConfig, SandboxError> {
    let mut cfg = pmh_tls::server_config(
        pki.server_cert_pem.as_bytes(),
        pki.server_key_pem.as_bytes(),
        Some(pki.ca_pem.as_bytes()),
        true,
    )?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}
