//! The lookups that take personal identifiers, as POST forms with a JSON body: a 照会番号, a
//! certificate's numbers, a patient's insurance identity in a query string end up in proxy and
//! server logs, browser histories and shell histories; in a body they do not. Each answers
//! exactly as its GET form (kept for compatibility), from the same handler: the body's fields
//! are the GET form's parameters.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::dto::{CareDto, ClaimDto};
use super::params::{AuditFormatParam, OperationParam};
use super::problem::Problem;
use super::request::{json_body, parse_json};
use crate::auth::Caller;

/// `POST /v1/subsidy-checks/by-reference`: the parameters of `GET /v1/subsidy-checks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reference": "0000000004", "claim": "medical", "care": "outpatient"}))]
pub struct ReferenceLookup {
    /// 照会番号 (ReferenceNumber) of the オン資 result.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[!-~]([ -~]{0,48}[!-~])?$"
    )]
    pub reference: String,
    #[schema(value_type = Option<ClaimDto>)]
    pub claim: Option<String>,
    #[schema(value_type = Option<CareDto>)]
    pub care: Option<String>,
    /// Deprecated: the rendering operations (`…/by-reference/orca`, `…/orca-xml`, `…/fhir`).
    #[schema(ignore)]
    pub format: Option<String>,
}

/// `POST /v1/ledgers/search`: the parameters of `GET /v1/ledgers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payer_number": "21136015", "recipient_number": "1234566", "month": "2026-04"}))]
pub struct LedgerLookup {
    /// 公費負担者番号.
    #[schema(pattern = r"^[0-9]{8}$")]
    pub payer_number: String,
    /// 公費受給者番号: 1–30 digits, letters or hyphens (half- or full-width).
    #[schema(pattern = "^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ-]{1,30}$")]
    pub recipient_number: String,
    /// YYYY-MM.
    #[schema(pattern = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub month: String,
}

/// `POST /v1/audit/search`: the criteria of `GET /v1/audit` (all optional, all must match).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patient": {"insurer_number": "06132013", "number": "1234", "birthdate": "1980-04-01"}, "format": "csv"}))]
pub struct AuditSearch {
    #[schema(min_length = 1, max_length = 64)]
    pub client: Option<String>,
    #[schema(value_type = Option<OperationParam>)]
    pub operation: Option<String>,
    /// Inclusive; RFC 3339, or YYYY-MM-DD (JST midnight).
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub from: Option<String>,
    /// Exclusive; RFC 3339, or YYYY-MM-DD (JST midnight).
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub to: Option<String>,
    /// A patient's records, by the whole insurance identity (hashed with the store's secret,
    /// never kept).
    pub patient: Option<AuditPatient>,
    /// 照会番号.
    #[schema(pattern = r"^[!-~]([ -~]{0,48}[!-~])?$")]
    pub reference: Option<String>,
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100000)]
    pub limit: Option<serde_json::Number>,
    #[schema(value_type = Option<AuditFormatParam>)]
    pub format: Option<String>,
}

/// A patient's insurance identity, as on the card.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditPatient {
    #[schema(pattern = r"^[0-9\uFF10-\uFF19]{6}([0-9\uFF10-\uFF19]{2})?$")]
    pub insurer_number: String,
    /// 記号.
    #[schema(
        pattern = r"^[0-9A-Za-z\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\u3041-\u3096\u30A1-\u30FA\u4E00-\u9FFF\uFF0D-]{1,20}$"
    )]
    pub symbol: Option<String>,
    /// 番号.
    #[schema(
        pattern = r"^[0-9A-Za-z\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\u3041-\u3096\u30A1-\u30FA\u4E00-\u9FFF\uFF0D-]{1,20}$"
    )]
    pub number: String,
    /// 枝番.
    #[schema(pattern = r"^[0-9\uFF10-\uFF19]{2}$")]
    pub branch: Option<String>,
    #[schema(
        value_type = chrono::NaiveDate,
        pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$"
    )]
    pub birthdate: String,
}

fn form<T: super::dto::RequestBody>(
    st: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Problem> {
    let body = json_body(st.body_limit, headers, body)?;
    parse_json(&body)
}

fn params(
    pairs: impl IntoIterator<Item = (&'static str, Option<String>)>,
) -> HashMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v?)))
        .collect()
}

/// The answer for a patient who checked in, by 照会番号, with the 照会番号 in the body.
#[utoipa::path(
    post,
    tag = "check-ins", operation_id = "find_check_in_answer",
    path = "/v1/subsidy-checks/by-reference",
    request_body = ReferenceLookup,
    responses(
        (status = 200, description = "As `GET /v1/subsidy-checks`", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
        (status = 400, description = "A bad body, `reference`, `claim`, `care` or `format`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No check-in with this 照会番号", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
    )
)]
pub(super) async fn by_reference(
    State(st): State<AppState>,
    caller: Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    by_reference_as(st, caller.0, headers, body, None).await
}

/// [`by_reference`] in `forced` (a rendering operation, whose body has no `format`), else as
/// the body's `format` or `Accept` say.
pub(super) async fn by_reference_as(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    forced: Option<super::negotiate::Rendering>,
) -> Response {
    let q: ReferenceLookup = match form(&st, &headers, body) {
        Ok(q) => q,
        Err(p) => return refused(&st, &caller, crate::store::Operation::CheckByReference, p).await,
    };
    let query = params([
        ("reference", Some(q.reference)),
        ("claim", q.claim),
        ("care", q.care),
        ("format", q.format),
    ]);
    match forced {
        Some(r) => {
            super::checks::subsidy_check_by_reference_as(st, caller, query, headers, Some(r)).await
        }
        None => {
            super::checks::subsidy_check_by_reference(
                State(st),
                Extension(caller),
                Query(query),
                headers,
            )
            .await
        }
    }
}

/// A certificate's month, with its numbers in the body.
#[utoipa::path(
    post,
    tag = "ledger", operation_id = "find_ledger_month",
    path = "/v1/ledgers/search",
    request_body = LedgerLookup,
    responses(
        (status = 200, description = "As `GET /v1/ledgers`", body = super::dto::LedgerDto),
        (status = 400, description = "A field does not match the document (every such field is listed)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every field matches the document, but the payer number's check digit does not fit its other digits (`/problems/inconsistent-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn ledger(
    State(st): State<AppState>,
    caller: Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let q: LedgerLookup = match form(&st, &headers, body) {
        Ok(q) => q,
        Err(p) => return refused(&st, &caller, crate::store::Operation::LedgerRead, p).await,
    };
    let query = params([
        ("payer_number", Some(q.payer_number)),
        ("recipient_number", Some(q.recipient_number)),
        ("month", Some(q.month)),
    ]);
    super::charges::ledger(State(st), caller, Query(query)).await
}

/// Search the audit (admin), with a patient's identity in the body.
#[utoipa::path(
    post,
    tag = "audit", operation_id = "find_audit_records",
    path = "/v1/audit/search",
    request_body = AuditSearch,
    responses(
        (status = 200, description = "As `GET /v1/audit`: the records, newest first"),
        (status = 400, description = "A criterion cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The patient's parts do not go together", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn audit(
    State(st): State<AppState>,
    caller: Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let q: AuditSearch = match form(&st, &headers, body) {
        Ok(q) => q,
        Err(p) => return refused(&st, &caller, crate::store::Operation::AuditSearch, p).await,
    };
    let mut errors = Vec::new();
    let limit = match &q.limit {
        None => Some(1000),
        Some(n) => super::audit::limit_of(whole(n), &mut errors),
    };
    let criteria = crate::store::export::Criteria {
        client: q.client,
        operation: q.operation,
        from: q.from,
        to: q.to,
        patient: q.patient.map(|p| crate::store::export::PatientCriteria {
            insurer_number: p.insurer_number,
            symbol: p.symbol,
            number: p.number,
            branch: p.branch,
            birthdate: p.birthdate,
        }),
        reference: q.reference,
        limit: limit.unwrap_or(1),
    };
    let rec = super::audit::begin(&st, &caller, crate::store::Operation::AuditSearch);
    super::audit::answer(&st, rec, criteria, q.format.as_deref(), errors).await
}

/// A JSON number as a whole number: `98.0` as `98` (JSON Schema's integers include it);
/// `None` for anything else, for the handler to refuse.
fn whole(n: &serde_json::Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=1e15).contains(f))
            .map(|f| f as u64)
    })
}

/// A body refused before its lookup: recorded as that lookup's refusal.
async fn refused(
    st: &AppState,
    caller: &Caller,
    operation: crate::store::Operation,
    p: Problem,
) -> Response {
    let rec = super::audit::begin(st, caller, operation);
    super::audit::reject(st, rec, p).await
}

impl super::dto::RequestBody for ReferenceLookup {
    const ARRAYS: &'static [&'static str] = &[];
}

impl super::dto::RequestBody for LedgerLookup {
    const ARRAYS: &'static [&'static str] = &[];
}

impl super::dto::RequestBody for AuditSearch {
    const ARRAYS: &'static [&'static str] = &[];
}
