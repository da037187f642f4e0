//! The REST API v1 (axum): routes (`mod.rs`), the check routes (`checks`), request parsing
//! (`request`), content negotiation (`negotiate`), the answer's renderings (`render`: this API's
//! JSON in `dto`, ORCA in `orca`, FHIR in `fhir`, their words in `labels`), RFC 9457 problems
//! (`problem`) and the OpenAPI document (`openapi`).
//!
//! Invariants: the only module that knows the REST JSON (`dto`) and maps errors to HTTP
//! (`problem`); request bodies are never logged; a request naming a My Number is refused before
//! it is deserialised, and its value goes nowhere.

pub mod access;
mod audit;
mod charges;
mod checks;
mod lookups;
pub use charges::quote_offline;
pub mod dto;
mod fhir;
pub mod json_cache;
pub mod labels;
pub mod negotiate;
pub mod openapi;
mod orca;
mod params;
pub mod problem;
mod receipt_checks;
pub mod reception;
mod render;
mod renderings;
pub mod request;
pub mod vocab;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::{Caller, Scope};
use crate::metrics::Metrics;
use crate::service::{BreakerState, SubsidyService};
use crate::store::{Hasher, Operation, Store};
use access::{Access, Guard, Required};
use problem::Problem;

/// What every handler shares, behind one reference count: a request clones one `Arc`, not one
/// per part (the per-request clones and drops showed in profiles).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }

    /// The parts, to change before the state is shared (a benchmark peer swaps the store);
    /// `None` once it is.
    pub fn parts_mut(&mut self) -> Option<&mut AppParts> {
        Arc::get_mut(&mut self.0)
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppParts {
    pub service: Arc<SubsidyService>,
    pub metrics: Arc<Metrics>,
    pub body_limit: usize,
    /// Who may call.
    pub access: Arc<Access>,
    /// The audit and the answers of earlier checks.
    pub store: Arc<dyn Store>,
    /// Keyed hashes of patients and 照会番号 for the audit.
    pub hasher: Arc<Hasher>,
    /// How long an answer stays readable by its check id.
    pub answer_retention: Duration,
    /// When the client certificate for PMH expires (`None` in terminal mode).
    pub client_certificate_expires: Option<DateTime<Utc>>,
    /// The `face/` watcher's lease, as this replica sees it.
    pub lease: Arc<crate::store::LeaseBoard>,
    /// Answers written once per mapping, for cached checks.
    pub json_cache: Arc<json_cache::JsonCache>,
    /// The shared bodies of the kept answers (`answers`).
    pub bodies: Arc<crate::answers::Bodies>,
    /// Whether the gateway is served over TLS (the reception cookie is then `Secure`).
    pub tls: bool,
    /// The month-end receipt checks running here, and their reports.
    pub receipt_checks: Arc<crate::receipts::ReceiptChecks>,
    /// Set when the server stops: long-lived answers (the reception page's live feed) end, so
    /// that the drain does not wait for them.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

/// An answer for the renderings' tests: one certificate per payer number body (check digits
/// completed, recipient numbers 12345i), valid around 2026-11-21 and mapped for that day with the
/// embedded masters; `confirmed`, no source, origin or basis, check id `c`.
#[cfg(test)]
pub(crate) fn test_outcome(payer_bodies: &[&str]) -> crate::service::CheckOutcome {
    use chrono::{NaiveDate, TimeZone};

    use crate::domain::check_digit::complete;
    use crate::domain::{Certificate, ServiceDate};
    use crate::mapping::{VisitContext, map};

    let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let certs: Vec<Certificate> = payer_bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            Certificate::simple(
                &complete(body).unwrap(),
                Some(&complete(&format!("12345{i}")).unwrap()),
                day - chrono::Duration::days(30),
                day + chrono::Duration::days(300),
            )
        })
        .collect();
    let mapped = map(
        &certs,
        &crate::masters::embedded(),
        &VisitContext::on(ServiceDate::new(day)),
    );
    crate::service::CheckOutcome {
        status: crate::service::Status::Confirmed,
        source: None,
        service_date: ServiceDate::new(day),
        checked_at: Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap(),
        obtained_at: None,
        origin: None,
        mapped: mapped.into(),
        degradation: None,
        masters_version: String::new(),
        check_id: "c".into(),
        basis: None,
    }
}

/// `/readyz` says `degraded` this long before the client certificate expires.
pub const CERTIFICATE_WARNING: chrono::Duration = chrono::Duration::days(30);

/// One route: method, path, and what the caller needs. The router is built from [`ROUTES`]
/// alone, so a route cannot be added without saying who may call it (a test walks this list).
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub required: Required,
}

const fn route(method: &'static str, path: &'static str, required: Required) -> RouteSpec {
    RouteSpec {
        method,
        path,
        required,
    }
}

pub const ROUTES: &[RouteSpec] = &[
    route("POST", "/v1/subsidy-checks", Required::Scope(Scope::Check)),
    route("GET", "/v1/subsidy-checks", Required::Scope(Scope::CheckIn)),
    route(
        "POST",
        "/v1/subsidy-checks/by-reference",
        Required::Scope(Scope::CheckIn),
    ),
    route(
        "GET",
        "/v1/subsidy-checks/{check_id}",
        Required::Scope(Scope::Check),
    ),
    route(
        "POST",
        "/v1/subsidy-checks/orca",
        Required::Scope(Scope::Check),
    ),
    route(
        "POST",
        "/v1/subsidy-checks/orca-xml",
        Required::Scope(Scope::Check),
    ),
    route(
        "POST",
        "/v1/subsidy-checks/fhir",
        Required::Scope(Scope::Check),
    ),
    route(
        "POST",
        "/v1/subsidy-checks/by-reference/orca",
        Required::Scope(Scope::CheckIn),
    ),
    route(
        "POST",
        "/v1/subsidy-checks/by-reference/orca-xml",
        Required::Scope(Scope::CheckIn),
    ),
    route(
        "POST",
        "/v1/subsidy-checks/by-reference/fhir",
        Required::Scope(Scope::CheckIn),
    ),
    route(
        "GET",
        "/v1/subsidy-checks/{check_id}/orca",
        Required::Scope(Scope::Check),
    ),
    route(
        "GET",
        "/v1/subsidy-checks/{check_id}/orca-xml",
        Required::Scope(Scope::Check),
    ),
    route(
        "GET",
        "/v1/subsidy-checks/{check_id}/fhir",
        Required::Scope(Scope::Check),
    ),
    route("POST", "/v1/charge-quotes", Required::Scope(Scope::Charges)),
    route("POST", "/v1/charges", Required::Scope(Scope::Charges)),
    route(
        "DELETE",
        "/v1/charges/{visit_id}",
        Required::Scope(Scope::Charges),
    ),
    route(
        "POST",
        "/v1/ledger-entries",
        Required::Scope(Scope::Charges),
    ),
    route(
        "DELETE",
        "/v1/ledger-entries/{id}",
        Required::Scope(Scope::Charges),
    ),
    route("GET", "/v1/ledgers", Required::Scope(Scope::Charges)),
    route(
        "POST",
        "/v1/ledgers/search",
        Required::Scope(Scope::Charges),
    ),
    route(
        "POST",
        "/v1/receipt-checks",
        Required::Scope(Scope::ReceiptCheck),
    ),
    route(
        "GET",
        "/v1/receipt-checks/{id}",
        Required::Scope(Scope::ReceiptCheck),
    ),
    route(
        "POST",
        "/v1/receipt-checks/{id}/keep",
        Required::Scope(Scope::ReceiptCheck),
    ),
    route("GET", "/v1/masters", Required::Authenticated),
    route("POST", "/v1/masters/reload", Required::Scope(Scope::Admin)),
    route("GET", "/v1/audit", Required::Scope(Scope::Admin)),
    route("POST", "/v1/audit/search", Required::Scope(Scope::Admin)),
    route("GET", "/metrics", Required::Scope(Scope::Admin)),
    route("GET", "/readyz", Required::Optional),
    route("GET", "/healthz", Required::Open),
    route("GET", "/openapi.json", Required::Open),
    route("GET", "/problems/{kind}", Required::Open),
];

/// The handler of a route in [`ROUTES`].
fn handler(spec: &RouteSpec) -> MethodRouter<AppState> {
    match (spec.method, spec.path) {
        ("POST", "/v1/subsidy-checks") => post(checks::create_subsidy_check),
        ("GET", "/v1/subsidy-checks") => get(checks::subsidy_check_by_reference),
        ("POST", "/v1/subsidy-checks/by-reference") => post(lookups::by_reference),
        ("GET", "/v1/subsidy-checks/{check_id}") => get(checks::earlier_check),
        ("POST", "/v1/subsidy-checks/orca") => post(renderings::create_orca),
        ("POST", "/v1/subsidy-checks/orca-xml") => post(renderings::create_orca_xml),
        ("POST", "/v1/subsidy-checks/fhir") => post(renderings::create_fhir),
        ("POST", "/v1/subsidy-checks/by-reference/orca") => post(renderings::reference_orca),
        ("POST", "/v1/subsidy-checks/by-reference/orca-xml") => {
            post(renderings::reference_orca_xml)
        }
        ("POST", "/v1/subsidy-checks/by-reference/fhir") => post(renderings::reference_fhir),
        ("GET", "/v1/subsidy-checks/{check_id}/orca") => get(renderings::earlier_orca),
        ("GET", "/v1/subsidy-checks/{check_id}/orca-xml") => get(renderings::earlier_orca_xml),
        ("GET", "/v1/subsidy-checks/{check_id}/fhir") => get(renderings::earlier_fhir),
        ("POST", "/v1/charge-quotes") => post(charges::quote),
        ("POST", "/v1/charges") => post(charges::commit),
        ("DELETE", "/v1/charges/{visit_id}") => delete(charges::void),
        ("POST", "/v1/ledger-entries") => post(charges::add_entry),
        ("DELETE", "/v1/ledger-entries/{id}") => delete(charges::void_entry),
        ("GET", "/v1/ledgers") => get(charges::ledger),
        ("POST", "/v1/ledgers/search") => post(lookups::ledger),
        ("GET", "/v1/masters") => get(masters),
        ("POST", "/v1/masters/reload") => post(reload_masters),
        ("GET", "/v1/audit") => get(audit::search),
        ("POST", "/v1/audit/search") => post(lookups::audit),
        ("GET", "/metrics") => get(metrics),
        ("GET", "/readyz") => get(readyz),
        ("GET", "/healthz") => get(healthz),
        ("POST", "/v1/receipt-checks") => post(receipt_checks::create)
            .layer(DefaultBodyLimit::max(crate::receipts::MAX_FILE_BYTES)),
        ("GET", "/v1/receipt-checks/{id}") => get(receipt_checks::read),
        ("POST", "/v1/receipt-checks/{id}/keep") => post(receipt_checks::keep),
        ("GET", "/openapi.json") => get(openapi_json),
        ("GET", "/problems/{kind}") => get(problem_type),
        // ROUTES and this match are side by side; a test builds the router from every row.
        _ => get(|| async { Problem::internal("route without a handler").into_response() }),
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.body_limit;
    let mut r = Router::new();
    for spec in ROUTES {
        let guard = Guard {
            access: state.access.clone(),
            metrics: state.metrics.clone(),
            required: spec.required,
        };
        r = r.route(
            spec.path,
            handler(spec).route_layer(axum::middleware::from_fn_with_state(guard, access::guard)),
        );
    }
    r.merge(reception::router())
        .fallback(|| async { Problem::not_found("no such route; see /openapi.json") })
        .layer(DefaultBodyLimit::max(limit))
        // Answers hold personal data: no cache on the way (a proxy, the browser) keeps them.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                // Never the query string (identifiers travel there in the GET forms), and no
                // path segment that holds one.
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::debug_span!(
                        "request",
                        method = %req.method(),
                        path = %loggable_path(req.uri().path()),
                    )
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG),
                ),
        )
        .with_state(state)
}

/// A request's path for a log line: no query string (the caller never gives it here), and a
/// segment with a digit — a 照会番号, a check id, a visit id, an entry id — written `{…}`.
pub fn loggable_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.bytes().any(|b| b.is_ascii_digit()) && !matches!(seg, "v1") {
                "{…}"
            } else if seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                seg
            } else {
                "{…}"
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Cuts a request off at `limit` (`server.request_timeout_ms`): a slow body or a stuck handler
/// gets a `503` problem instead of holding the connection.
pub async fn request_deadline(
    State((limit, metrics)): State<(Duration, Arc<Metrics>)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            metrics.http_request_timeouts.inc();
            Problem::request_timeout(limit).into_response()
        }
    }
}

/// The master tables in use.
#[utoipa::path(get, tag = "operations", operation_id = "list_masters", path = "/v1/masters", responses((status = 200, description = "Files, versions, row counts, load time")))]
async fn masters(State(st): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let m = st.service.masters();
    let mut rec = audit::begin(&st, &caller, Operation::Operations);
    rec.http_status = Some(200);
    rec.detail = Some("GET /v1/masters".into());
    let body = Json(serde_json::json!({
        "version": m.version(),
        "loaded_at": crate::domain::date::jst_rfc3339(m.loaded_at),
        "source": match &m.source {
            crate::masters::MasterSource::Embedded => "embedded".to_owned(),
            crate::masters::MasterSource::Dir(d) => d.display().to_string(),
        },
        "files": m.files,
    }))
    .into_response();
    audit::then(&st, rec, body).await
}

/// Reloads the master tables from their source. A bad file never replaces the snapshot in force:
/// the answer is 422 with every `file:line` problem, and the old tables keep serving.
#[utoipa::path(
    post,
    tag = "operations", operation_id = "reload_masters",
    path = "/v1/masters/reload",
    responses(
        (status = 200, description = "Reloaded"),
        (status = 422, description = "Rejected; the previous snapshot keeps serving", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn reload_masters(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let store = st.service.master_store().clone();
    let mut rec = audit::begin(&st, &caller, Operation::MastersReload);
    let response = match tokio::task::spawn_blocking(move || store.reload()).await {
        Ok(Ok(m)) => Json(serde_json::json!({
            "reloaded": true,
            "version": m.version(),
            "loaded_at": crate::domain::date::jst_rfc3339(m.loaded_at),
            "files": m.files,
        }))
        .into_response(),
        Ok(Err(e)) => Problem::masters_rejected(e.rows()).into_response(),
        Err(_) => Problem::masters_rejected(Vec::new()).into_response(),
    };
    rec.http_status = Some(response.status().as_u16());
    audit::then(&st, rec, response).await
}

/// What a problem `type` means: the page its URI (`/problems/<kind>`) resolves to, with the
/// status it comes with, what it means and what to do, in Japanese and English.
#[utoipa::path(
    get,
    tag = "operations", operation_id = "get_problem_type",
    path = "/problems/{kind}",
    params(("kind" = String, Path, description = "The last segment of a problem's `type`", pattern = r"^[a-z-]{1,40}$")),
    responses(
        (status = 200, description = "The problem type's description", content_type = "text/html", body = String),
        (status = 404, description = "No problem type of that name", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn problem_type(axum::extract::Path(kind): axum::extract::Path<String>) -> Response {
    let Some(k) = problem::ProblemKind::from_slug(&kind) else {
        return Problem::not_found("no such problem type; each one is listed in /openapi.json")
            .into_response();
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        problem_page(k),
    )
        .into_response()
}

/// The page a problem `type` resolves to.
fn problem_page(k: problem::ProblemKind) -> String {
    use maud::{DOCTYPE, html};
    let (ja, en) = k.explanation();
    html! {
        (DOCTYPE)
        html lang="ja" {
            head { meta charset="utf-8"; title { (k.uri()) " — pmh-gateway" } }
            body {
                h1 { code { (k.uri()) } }
                p { "HTTP " (k.status()) }
                p { (ja) }
                p lang="en" { (en) }
            }
        }
    }
    .into_string()
}

/// Liveness: the process answers.
#[utoipa::path(get, tag = "operations", operation_id = "check_liveness", path = "/healthz", responses((status = 200, description = "Alive")))]
async fn healthz() -> Json<Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: masters loaded and the state store answering; `degraded` when the upstream
/// breaker is not closed or the last master reload was refused (a degraded gateway still
/// answers — stale or unavailable, with the previous masters — so it stays ready);
/// `unavailable` (503) when the store does not answer (no access could be recorded, so none is
/// answered). The details (masters, breaker, store) are for a caller with `admin`.
#[utoipa::path(get, tag = "operations", operation_id = "check_readiness", path = "/readyz", responses(
    (status = 200, description = "`ready` or `degraded`; details for admin callers"),
    (status = 503, description = "`unavailable`: the state store does not answer"),
))]
async fn readyz(State(st): State<AppState>, caller: Option<Extension<Caller>>) -> Response {
    let breaker = st.service.breaker_state();
    let m = st.service.masters();
    let failure = st.service.master_store().last_failure();
    let answers = st.store.ping().await.is_ok();
    let now = st.service.now();
    let expiring = st
        .client_certificate_expires
        .is_some_and(|t| t - now < CERTIFICATE_WARNING);
    let degraded = breaker != BreakerState::Closed || failure.is_some() || expiring;
    let status = match (answers, degraded) {
        (false, _) => "unavailable",
        (true, true) => "degraded",
        (true, false) => "ready",
    };
    let code = if answers {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    if !caller.is_some_and(|c| c.may(Scope::Admin)) {
        return (code, Json(serde_json::json!({ "status": status }))).into_response();
    }
    // The sizes count the tables: only for an operator who asks.
    let store = match st.store.info().await {
        Ok(info) => serde_json::to_value(info).unwrap_or(Value::Null),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    (
        code,
        Json(serde_json::json!({
            "status": status,
            "masters": {
                "version": m.version(),
                "loaded_at": crate::domain::date::jst_rfc3339(m.loaded_at),
                "last_reload_failure": failure,
            },
            "upstream": {
                "breaker": breaker.as_str(),
                "client_certificate": st.client_certificate_expires.map(|t| serde_json::json!({
                    "expires_at": crate::domain::date::jst_rfc3339(t),
                    "days_left": (t - now).num_days(),
                    "renew_soon": expiring,
                })),
            },
            "store": store,
            "lease": st.lease.report(),
        })),
    )
        .into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, tag = "operations", operation_id = "get_metrics", path = "/metrics", responses((status = 200, description = "Prometheus / OpenMetrics text")))]
async fn metrics(State(st): State<AppState>) -> Response {
    st.metrics
        .breaker_state
        .set(st.service.breaker_state().gauge());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::document())
}

#[cfg(test)]
mod log_tests {
    #[test]
    fn a_logged_path_holds_no_identifier() {
        assert_eq!(super::loggable_path("/v1/ledgers"), "/v1/ledgers");
        assert_eq!(
            super::loggable_path("/reception/patients/0000000004/print"),
            "/reception/patients/{…}/print"
        );
        assert_eq!(
            super::loggable_path("/v1/subsidy-checks/0193a1b2-0000-7000-8000-000000000000"),
            "/v1/subsidy-checks/{…}"
        );
        assert_eq!(super::loggable_path("/v1/charges/V%201"), "/v1/charges/{…}");
    }
}
