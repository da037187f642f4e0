//! The REST API v1 (axum): routes, request parsing, responses, OpenAPI.
//!
//! Invariants: the only module that knows the REST JSON (`dto`) and maps errors to HTTP
//! (`problem`); request bodies are never logged; a request naming a My Number is refused before
//! it is deserialised, and its value goes nowhere.

pub mod dto;
pub mod fhir;
pub mod onshi_input;
pub mod openapi;
pub mod orca;
pub mod problem;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use crate::domain::date::{self, DateError};
use crate::domain::{InsuredError, InsuredIdentity, ServiceDate};
use crate::metrics::Metrics;
use crate::service::{BreakerState, CheckIn, CheckRequest, Origin, Status, SubsidyService};
use dto::{SubsidyCheckRequest, SubsidyCheckResponse};
use problem::{FieldError, Problem};

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<SubsidyService>,
    pub metrics: Arc<Metrics>,
    pub body_limit: usize,
}

pub fn router(state: AppState) -> Router {
    let limit = state.body_limit;
    Router::new()
        .route(
            "/v1/subsidy-checks",
            post(create_subsidy_check).get(subsidy_check_by_reference),
        )
        .route("/v1/masters", get(masters))
        .route("/v1/masters/reload", post(reload_masters))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .fallback(|| async { Problem::not_found("no such route; see /openapi.json") })
        .layer(DefaultBodyLimit::max(limit))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::DEBUG),
                )
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG),
                ),
        )
        .with_state(state)
}

/// Keys that name a My Number (個人番号), compared without case, `_`, `-` or spaces.
const MY_NUMBER_KEYS: [&str; 6] = [
    "mynumber",
    "individualnumber",
    "kojinbango",
    "kojinbangou",
    "個人番号",
    "マイナンバー",
];

/// The JSON path of the first key that names a My Number, if any.
fn find_my_number(v: &Value, path: &str) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| {
            let norm: String = k
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | ' '))
                .flat_map(char::to_lowercase)
                .collect();
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if MY_NUMBER_KEYS.iter().any(|m| norm.contains(m)) {
                Some(here)
            } else {
                find_my_number(v, &here)
            }
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_my_number(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

fn insured_field_error(e: InsuredError) -> FieldError {
    let field = match &e {
        InsuredError::Insurer(_) => "insurer_number",
        InsuredError::Empty { field }
        | InsuredError::TooLong { field, .. }
        | InsuredError::Control { field } => field,
        InsuredError::Branch => "branch",
    };
    let reason = match e {
        InsuredError::Insurer(n) => format!("保険者番号 {n}"),
        other => other.to_string(),
    };
    FieldError {
        field: format!("insured.{field}"),
        reason,
    }
}

fn date_field(
    field: &str,
    r: Result<chrono::NaiveDate, DateError>,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::NaiveDate> {
    r.map_err(|e| {
        errors.push(FieldError {
            field: field.into(),
            reason: e.to_string(),
        })
    })
    .ok()
}

/// What a check's body is, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    /// An オン資 result message.
    OnshiXml,
}

pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, Problem> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(BodyKind::Json)
    } else if mime == "application/xml" || mime == "text/xml" {
        Ok(BodyKind::OnshiXml)
    } else {
        Err(Problem::unsupported_media_type(ct))
    }
}

/// Turns a JSON body (the caller has checked `body_kind`) into a domain request, collecting every
/// field error.
pub fn parse_check_request(body: &[u8], today: ServiceDate) -> Result<CheckRequest, Problem> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::invalid_field(
            "body",
            format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    if let Some(field) = find_my_number(&value, "") {
        return Err(Problem::my_number(field));
    }
    let req: SubsidyCheckRequest = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        Problem::invalid_field(field, e.into_inner().to_string())
    })?;

    let mut errors = Vec::new();
    let birthdate = date_field(
        "insured.birthdate",
        date::parse_iso(&req.insured.birthdate),
        &mut errors,
    );
    // `None` when absent (the service decides "today") or unreadable (an error is recorded).
    let service_date = req.service_date.as_deref().and_then(|s| {
        date_field("service_date", date::parse_iso(s), &mut errors).map(ServiceDate::new)
    });
    let insured = birthdate.and_then(|bd| {
        InsuredIdentity::new(
            &req.insured.insurer_number,
            req.insured.symbol.as_deref(),
            &req.insured.number,
            req.insured.branch.as_deref(),
            bd,
        )
        .map_err(|e| errors.push(insured_field_error(e)))
        .ok()
    });
    // Compared with the date the check is for; skipped when that date is itself unreadable.
    let reference = match req.service_date {
        None => Some(today),
        Some(_) => service_date,
    };
    if let (Some(bd), Some(day)) = (birthdate, reference)
        && bd > day.date()
    {
        errors.push(FieldError {
            field: "insured.birthdate".into(),
            reason: "is after the service date".into(),
        });
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let setting = req.setting.unwrap_or_default();
    Ok(CheckRequest {
        insured: insured.expect("no errors"),
        service_date,
        claim: setting.claim.map(Into::into).unwrap_or_default(),
        care: setting.care.map(Into::into).unwrap_or_default(),
        insurance: req.insurance.map(Into::into),
    })
}

/// The representation of an answer a caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// This API's own JSON.
    Json,
    /// ORCA `PublicInsurance_Information`, JSON.
    Orca,
    /// ORCA `PublicInsurance_Information`, `xmlio2` XML.
    OrcaXml,
    /// HL7 FHIR JP Core `Coverage` resources in a Bundle.
    Fhir,
}

pub const FORMATS: &str = "json, orca, orca-xml, fhir";

/// `?format=` wins; otherwise the first media range of `Accept` that names a rendering
/// (`application/fhir+json` → FHIR, `application/xml` or `text/xml` → ORCA XML); else JSON.
pub fn rendering(format: Option<&str>, headers: &HeaderMap) -> Result<Rendering, Problem> {
    if let Some(f) = format {
        return match f.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Rendering::Json),
            "orca" => Ok(Rendering::Orca),
            "orca-xml" => Ok(Rendering::OrcaXml),
            "fhir" => Ok(Rendering::Fhir),
            _ => Err(Problem::invalid_field(
                "format",
                format!("must be one of {FORMATS}"),
            )),
        };
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    for range in accept.split(',') {
        match range.split(';').next().unwrap_or("").trim() {
            "application/fhir+json" => return Ok(Rendering::Fhir),
            "application/xml" | "text/xml" => return Ok(Rendering::OrcaXml),
            "application/json" | "*/*" | "application/*" => return Ok(Rendering::Json),
            _ => {}
        }
    }
    Ok(Rendering::Json)
}

/// A refused check: counted by reason, answered with its problem.
fn reject(st: &AppState, p: Problem) -> Response {
    st.metrics
        .rejected
        .get_or_create(&vec![("reason", p.metric_reason())])
        .inc();
    p.into_response()
}

fn render(
    outcome: &crate::service::CheckOutcome,
    rendering: Rendering,
    check_in: Option<&CheckIn>,
) -> Response {
    let status = if outcome.status == Status::Unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let (content_type, body): (&'static str, Vec<u8>) = match rendering {
        Rendering::Json => {
            let mut body = SubsidyCheckResponse::new(outcome);
            body.check_in = check_in.map(Into::into);
            (
                "application/json",
                serde_json::to_vec(&body).unwrap_or_default(),
            )
        }
        Rendering::Orca => (
            "application/json",
            serde_json::to_vec(&orca::OrcaAnswer::new(outcome).to_json()).unwrap_or_default(),
        ),
        Rendering::OrcaXml => (
            "application/xml; charset=utf-8",
            orca::OrcaAnswer::new(outcome).to_xml().into_bytes(),
        ),
        Rendering::Fhir => (
            "application/fhir+json",
            serde_json::to_vec(&fhir::render(outcome, dto::advice(outcome))).unwrap_or_default(),
        ),
    };
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::VARY, HeaderValue::from_static("accept"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    r
}

/// Ask which subsidies apply to a patient on a service date.
///
/// The body is this API's JSON, or an オン資 result message as the terminal wrote it
/// (`Content-Type: application/xml`, UTF-8 or Shift_JIS as declared, one person): its insurance
/// context gives the レセプト種別, its date the service date (unless `service_date` is in the
/// query), its PMH block (when present) the certificates; `claim` and `care` come from the query.
///
/// The same answer comes in three renderings, chosen by `?format=` or `Accept`: this API's JSON
/// (default), ORCA `PublicInsurance_Information` (`format=orca` JSON, `format=orca-xml` or
/// `Accept: application/xml` for ORCA's xmlio2 XML), and HL7 FHIR JP Core `Coverage` resources
/// in a Bundle (`format=fhir` or `Accept: application/fhir+json`).
#[utoipa::path(
    post,
    path = "/v1/subsidy-checks",
    request_body(description = "This API's JSON, or an オン資 result message (OQSsiquc01res…xml, UTF-8 or Shift_JIS as declared)", content(
        (SubsidyCheckRequest = "application/json"),
        (String = "application/xml"),
    )),
    params(
        ("format" = Option<String>, Query, description = "`json` (default), `orca`, `orca-xml`, `fhir`; wins over `Accept`"),
        ("claim" = Option<String>, Query, description = "With an XML body: `medical` (default) or `pharmacy`"),
        ("care" = Option<String>, Query, description = "With an XML body: `outpatient` (default) or `inpatient`"),
        ("service_date" = Option<String>, Query, description = "With an XML body: YYYY-MM-DD; the result's QualificationConfirmationDate by default"),
    ),
    responses(
        (status = 200, description = "`confirmed` or `none_found`", content(
            (SubsidyCheckResponse = "application/json"),
            (Object = "application/fhir+json"),
            (String = "application/xml"),
        )),
        (status = 400, description = "Invalid input, or a My Number was sent", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor XML", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the upstream failed and nothing usable is cached. The body is a full answer.", body = SubsidyCheckResponse),
    )
)]
async fn create_subsidy_check(
    State(st): State<AppState>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let rendering = match rendering(query.get("format").map(String::as_str), &headers) {
        Ok(r) => r,
        Err(p) => return reject(&st, p),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return reject(&st, Problem::too_large(st.body_limit));
        }
        Err(e) => return Problem::invalid_field("body", e.body_text()).into_response(),
    };
    let today = st.service.today();
    let outcome = match body_kind(&headers) {
        Err(p) => return reject(&st, p),
        Ok(BodyKind::Json) => match parse_check_request(&body, today) {
            Ok(req) => st.service.check(req).await,
            Err(p) => return reject(&st, p),
        },
        Ok(BodyKind::OnshiXml) => match onshi_input::parse_result_body(&body, &query, today) {
            Ok((req, Some(certificates))) => {
                let origin = Origin::OnshiResult { file: None };
                st.service
                    .check_with_result(req, Some((certificates, origin)))
                    .await
            }
            Ok((req, None)) => st.service.check(req).await,
            Err(p) => return reject(&st, p),
        },
    };
    render(&outcome, rendering, None)
}

/// The answer for a patient who checked in at the オン資 terminal, by 照会番号.
///
/// The gateway prefetched it when the terminal's result file arrived; this answers from the
/// cache (or asks again if the cached answer has expired), mapped for the visit's setting
/// (`claim`, `care`) with the result's insurance context. `check_in` says from which file and
/// when.
#[utoipa::path(
    get,
    path = "/v1/subsidy-checks",
    params(
        ("reference" = String, Query, description = "照会番号 (ReferenceNumber) of the オン資 result, up to 50 characters"),
        ("claim" = Option<String>, Query, description = "`medical` (default) or `pharmacy`"),
        ("care" = Option<String>, Query, description = "`outpatient` (default) or `inpatient`"),
        ("format" = Option<String>, Query, description = "`json` (default), `orca`, `orca-xml`, `fhir`; wins over `Accept`"),
    ),
    responses(
        (status = 200, description = "`confirmed` or `none_found`", body = SubsidyCheckResponse),
        (status = 400, description = "No or bad `reference`, `claim`, `care`, `format`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No check-in with this 照会番号", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`", body = SubsidyCheckResponse),
    )
)]
async fn subsidy_check_by_reference(
    State(st): State<AppState>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let rendering = match rendering(query.get("format").map(String::as_str), &headers) {
        Ok(r) => r,
        Err(p) => return reject(&st, p),
    };
    let reference = query.get("reference").map(|r| r.trim()).unwrap_or("");
    if reference.is_empty() || reference.chars().count() > 50 {
        return reject(
            &st,
            Problem::invalid_field(
                "reference",
                "is required: the 照会番号 (ReferenceNumber) of a checked-in patient, up to 50 characters",
            ),
        );
    }
    let (claim, care) = match onshi_input::setting_from_query(&query) {
        Ok(s) => s,
        Err(p) => return reject(&st, p),
    };
    let Some(c) = st.service.check_in(reference).await else {
        return Problem::not_found(
            "no check-in with this 照会番号 in the last 36 hours (none arrived since the gateway started, or the folder watcher is off); ask with POST /v1/subsidy-checks",
        )
        .into_response();
    };
    let outcome = st
        .service
        .check(CheckRequest {
            insured: c.insured.clone(),
            service_date: Some(c.service_date),
            claim,
            care,
            insurance: Some(c.insurance),
        })
        .await;
    render(&outcome, rendering, Some(&c))
}

/// The master tables in use.
#[utoipa::path(get, path = "/v1/masters", responses((status = 200, description = "Files, versions, row counts, load time")))]
async fn masters(State(st): State<AppState>) -> Json<Value> {
    let m = st.service.masters();
    Json(serde_json::json!({
        "version": m.version(),
        "loaded_at": m.loaded_at.to_rfc3339(),
        "source": match &m.source {
            crate::masters::MasterSource::Embedded => "embedded".to_owned(),
            crate::masters::MasterSource::Dir(d) => d.display().to_string(),
        },
        "files": m.files,
    }))
}

/// Reloads the master tables from their source. A bad file never replaces the snapshot in force:
/// the answer is 422 with every `file:line` problem, and the old tables keep serving.
#[utoipa::path(
    post,
    path = "/v1/masters/reload",
    responses(
        (status = 200, description = "Reloaded"),
        (status = 422, description = "Rejected; the previous snapshot keeps serving", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn reload_masters(State(st): State<AppState>) -> Response {
    let store = st.service.master_store().clone();
    match tokio::task::spawn_blocking(move || store.reload()).await {
        Ok(Ok(m)) => Json(serde_json::json!({
            "reloaded": true,
            "version": m.version(),
            "loaded_at": m.loaded_at.to_rfc3339(),
            "files": m.files,
        }))
        .into_response(),
        Ok(Err(e)) => Problem::masters_rejected(e.rows()).into_response(),
        Err(_) => Problem::masters_rejected(Vec::new()).into_response(),
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive")))]
async fn healthz() -> Json<Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: masters loaded; `degraded` when the upstream breaker is not closed or the last
/// master reload was refused. A degraded gateway still answers (stale or unavailable, with the
/// previous masters), so it stays ready.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready, possibly degraded")))]
async fn readyz(State(st): State<AppState>) -> Json<Value> {
    let breaker = st.service.breaker_state();
    let m = st.service.masters();
    let failure = st.service.master_store().last_failure();
    let degraded = breaker != BreakerState::Closed || failure.is_some();
    Json(serde_json::json!({
        "status": if degraded { "degraded" } else { "ready" },
        "masters": {
            "version": m.version(),
            "loaded_at": m.loaded_at.to_rfc3339(),
            "last_reload_failure": failure,
        },
        "upstream": {"breaker": breaker.as_str()},
    }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus / OpenMetrics text")))]
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
mod tests {
    use super::*;

    #[test]
    fn my_number_keys_are_found_anywhere() {
        let v: Value = serde_json::json!({"insured": {"number": "1", "My_Number": "123456789012"}});
        assert_eq!(find_my_number(&v, "").as_deref(), Some("insured.My_Number"));
        let v: Value = serde_json::json!({"x": [{"individualNumber": 1}]});
        assert_eq!(
            find_my_number(&v, "").as_deref(),
            Some("x[0].individualNumber")
        );
        let v: Value = serde_json::json!({"insured": {"number": "123456789012"}});
        assert_eq!(find_my_number(&v, ""), None);
    }
}
