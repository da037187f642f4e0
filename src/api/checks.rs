//! The subsidy-check routes: `POST /v1/subsidy-checks` (JSON or an オン資 result) and
//! `GET /v1/subsidy-checks?reference=` (a checked-in patient by 照会番号).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::dto::{SubsidyCheckRequest, SubsidyCheckResponse};
use super::negotiate::{BodyKind, body_kind, rendering};
use super::problem::Problem;
use super::render::render;
use super::request::{parse_check_request, parse_result_body, setting_from_query};
use crate::service::Intake;

/// A refused check: counted by reason, answered with its problem.
fn reject(st: &AppState, p: Problem) -> Response {
    st.metrics
        .rejected
        .get_or_create(&vec![("reason", p.metric_reason())])
        .inc();
    p.into_response()
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
    tag = "subsidy-checks",
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
pub(super) async fn create_subsidy_check(
    State(st): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
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
        Ok(BodyKind::OnshiXml) => match parse_result_body(&body, &query, today) {
            Ok(rc) => st.service.check_result(rc, Intake::Posted).await,
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
    tag = "subsidy-checks",
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
pub(super) async fn subsidy_check_by_reference(
    State(st): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
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
    let (claim, care) = match setting_from_query(&query) {
        Ok(s) => s,
        Err(p) => return reject(&st, p),
    };
    match st.service.check_by_reference(reference, claim, care).await {
        Some((outcome, c)) => render(&outcome, rendering, Some(&c)),
        None => Problem::not_found(
            "no check-in with this 照会番号 in the last 36 hours (none arrived since the gateway started, or the folder watcher is off); ask with POST /v1/subsidy-checks",
        )
        .into_response(),
    }
}
