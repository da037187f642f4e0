//! The audit of the API: every access by a known caller is recorded — who, what, the outcome,
//! the check id and the patient as a keyed hash — and committed before its answer is sent; an
//! access that cannot be recorded gets no answer (503). `GET /v1/audit` searches the records.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::labels::{source_label, status_label};
use super::params::{AuditFormatParam, OperationParam};
use super::problem::Problem;
use crate::auth::Caller;
use crate::service::CheckOutcome;
use crate::store::{AuditQuery, AuditRecord, Operation, StoreError, export};

/// A record of `operation` by `caller`, now.
pub(super) fn begin(st: &AppState, caller: &Caller, operation: Operation) -> AuditRecord {
    AuditRecord::new(st.service.now(), &caller.name, operation)
}

/// Fills in a check's outcome.
pub(super) fn outcome(rec: &mut AuditRecord, o: &CheckOutcome, http: StatusCode) {
    rec.http_status = Some(http.as_u16());
    rec.status = Some(status_label(o.status).to_owned());
    rec.source = o.source.map(|s| source_label(s).to_owned());
    rec.subsidies = Some(o.mapped.active.len() as u32);
    rec.check_id = Some(o.check_id.clone());
}

/// Fills in a refusal.
pub(super) fn refused(rec: &mut AuditRecord, p: &Problem) {
    rec.http_status = Some(p.status);
    rec.status = Some(p.kind.to_owned());
}

/// Commits the record; `Err` is the response to send instead of the answer.
pub(super) async fn commit(st: &AppState, rec: AuditRecord) -> Result<(), Response> {
    recorded(st, st.store.append(rec).await)
        .map(drop)
        .map_err(IntoResponse::into_response)
}

/// An answer withheld because its access could not be recorded: answered 503.
pub(super) struct Withheld;

impl IntoResponse for Withheld {
    fn into_response(self) -> Response {
        Problem::audit_unavailable().into_response()
    }
}

/// The outcome of committing an access record (alone, or with what commits beside it): counted;
/// a failure is logged, and the answer is [`Withheld`].
pub(super) fn recorded<T>(st: &AppState, committed: Result<T, StoreError>) -> Result<T, Withheld> {
    st.metrics.audit_record(committed.is_ok());
    committed.map_err(|e| {
        tracing::error!(error = %e, "cannot record an access: the answer is withheld");
        Withheld
    })
}

/// Commits the record, then sends `response` (or the refusal to answer).
pub(super) async fn then(st: &AppState, rec: AuditRecord, response: Response) -> Response {
    match commit(st, rec).await {
        Ok(()) => response,
        Err(r) => r,
    }
}

/// Search the audit (admin): who asked about whom, when, with what outcome.
///
/// Criteria (all optional, all must match): `client`, `operation`, `from` / `to` (RFC 3339 or
/// `YYYY-MM-DD`, `to` exclusive), a patient by insurance identity (`insurer_number`, `symbol`,
/// `number`, `branch`, `birthdate` — hashed with the store's secret, never kept) or by
/// `reference` (照会番号), `limit` (default 1000). `format`: `json` (default), `jsonl`, `csv`.
#[utoipa::path(
    get,
    tag = "operations",
    path = "/v1/audit",
    params(
        ("client" = Option<String>, Query, description = "The caller's name"),
        ("operation" = Option<OperationParam>, Query, description = "The kind of access"),
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Inclusive; RFC 3339, or YYYY-MM-DD (JST midnight)"),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Exclusive; RFC 3339, or YYYY-MM-DD (JST midnight)"),
        ("insurer_number" = Option<String>, Query, description = "With number and birthdate: a patient", pattern = r"^[0-9]{6}([0-9]{2})?$"),
        ("symbol" = Option<String>, Query, description = "記号", pattern = r"^[0-9A-Za-z\u3041-\u3096\u30A1-\u30FA\u4E00-\u9FFF-]{1,20}$"),
        ("number" = Option<String>, Query, description = "番号", pattern = r"^[0-9A-Za-z\u3041-\u3096\u30A1-\u30FA\u4E00-\u9FFF-]{1,20}$"),
        ("branch" = Option<String>, Query, description = "枝番", pattern = r"^[0-9]{2}$"),
        ("birthdate" = Option<chrono::NaiveDate>, Query, description = "YYYY-MM-DD (1900–2199)", pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$"),
        ("reference" = Option<String>, Query, description = "照会番号"),
        ("limit" = Option<u32>, Query, description = "At most this many records, newest first (default 1000)", minimum = 1, maximum = 100000),
        ("format" = Option<AuditFormatParam>, Query, description = "json (default), jsonl, csv"),
    ),
    responses(
        (status = 200, description = "The records, newest first"),
        (status = 400, description = "A criterion cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The patient's parts do not go together (insurer_number, number and birthdate are needed together)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn search(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut rec = begin(&st, &caller, Operation::AuditSearch);
    let query = match audit_query(&st, &q) {
        Ok(query) => query,
        Err(p) => {
            refused(&mut rec, &p);
            return then(&st, rec, p.into_response()).await;
        }
    };
    let format = q.get("format").map_or("json", |f| f.as_str());
    if !["json", "jsonl", "csv"].contains(&format) {
        let p = Problem::invalid_field("format", "must be json, jsonl or csv");
        refused(&mut rec, &p);
        return then(&st, rec, p.into_response()).await;
    }
    rec.patient = query.patient.clone();
    rec.reference = query.reference.clone();
    let records = match st.store.search(query).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "audit search failed");
            return Problem::internal("the audit could not be searched").into_response();
        }
    };
    rec.http_status = Some(200);
    rec.detail = Some(format!("{} records", records.len()));
    let (content_type, body) = match format {
        "jsonl" => ("application/jsonl", export::to_jsonl(&records)),
        "csv" => ("text/csv; charset=utf-8", export::to_csv(&records)),
        _ => (
            "application/json",
            serde_json::to_string(&records).unwrap_or_else(|_| "[]".into()),
        ),
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    then(&st, rec, r).await
}

fn audit_query(st: &AppState, q: &HashMap<String, String>) -> Result<AuditQuery, Problem> {
    let limit = match q.get("limit") {
        None => 1000,
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=100_000).contains(l))
            .ok_or_else(|| Problem::invalid_field("limit", "must be between 1 and 100000"))?,
    };
    let get = |k: &str| q.get(k).cloned();
    export::Criteria {
        client: get("client"),
        operation: get("operation"),
        from: get("from"),
        to: get("to"),
        insurer_number: get("insurer_number"),
        symbol: get("symbol"),
        number: get("number"),
        branch: get("branch"),
        birthdate: get("birthdate"),
        reference: get("reference"),
        limit,
    }
    .to_query(&st.hasher)
    .map_err(|e| {
        if e.cross_field {
            Problem::inconsistent(vec![super::problem::FieldError {
                field: e.field.into(),
                reason: e.reason,
            }])
        } else {
            Problem::invalid_field(e.field, e.reason)
        }
    })
}
