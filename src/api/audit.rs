//! The audit of the API: every access by a known caller is recorded — who, what, the outcome,
//! the check id and the patient as a keyed hash — and committed before its answer is sent; an
//! access that cannot be recorded gets no answer (503). `GET /v1/audit` searches the records.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::labels::{source_label, status_label};
use super::params::{AuditFormatParam, OperationParam};
use super::problem::{FieldError, Problem};
use crate::auth::Caller;
use crate::service::CheckOutcome;
use crate::store::{AuditRecord, Operation, StoreError, export};

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

/// A refusal `p`, recorded with `rec`, then sent (or the refusal to answer).
pub(super) async fn reject(st: &AppState, mut rec: AuditRecord, p: Problem) -> Response {
    refused(&mut rec, &p);
    then(st, rec, p.into_response()).await
}

/// Commits the record, then sends `response` (or the refusal to answer).
pub(super) async fn then(st: &AppState, rec: AuditRecord, response: Response) -> Response {
    match commit(st, rec).await {
        Ok(()) => response,
        Err(r) => r,
    }
}

/// One access as the audit search answers it (JSON, and each line of JSON Lines).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecordDto {
    /// Assigned by the store, increasing.
    pub seq: Option<i64>,
    /// When it was recorded (RFC 3339, JST).
    #[schema(format = DateTime)]
    pub at: String,
    /// The caller's name (a configured client, or `checkin-watcher`).
    pub client: String,
    #[schema(value_type = OperationParam)]
    pub operation: &'static str,
    /// The HTTP status answered (none for the watcher).
    pub http_status: Option<u16>,
    /// `confirmed`, `none_found`, `unavailable`, or a refusal's problem type.
    pub status: Option<String>,
    /// `upstream`, `cache`, `stale`, `onshi_result`.
    pub source: Option<String>,
    /// Active subsidies in the answer.
    pub subsidies: Option<u32>,
    pub check_id: Option<String>,
    /// Keyed hash of the insured identity.
    pub patient: Option<String>,
    /// Keyed hash of the 照会番号, for accesses by reference.
    pub reference: Option<String>,
    /// A note in the gateway's words.
    pub detail: Option<String>,
    /// Keyed hash of a certificate (payer and recipient number), for charges and the ledger.
    pub card: Option<String>,
    /// Keyed hashes of the 照会番号 the access showed beyond `reference` (the reception list).
    pub shown: Vec<String>,
}

impl From<&AuditRecord> for AuditRecordDto {
    fn from(r: &AuditRecord) -> Self {
        let hash = |h: &crate::store::KeyedHash| h.as_str().to_owned();
        Self {
            seq: r.seq,
            at: crate::domain::date::jst_rfc3339(r.at),
            client: r.client.clone(),
            operation: r.operation.as_str(),
            http_status: r.http_status,
            status: r.status.clone(),
            source: r.source.clone(),
            subsidies: r.subsidies,
            check_id: r.check_id.clone(),
            patient: r.patient.as_ref().map(hash),
            reference: r.reference.as_ref().map(hash),
            detail: r.detail.clone(),
            card: r.card.as_ref().map(hash),
            shown: r.shown.iter().map(hash).collect(),
        }
    }
}

/// Search the audit (admin): who asked about whom, when, with what outcome.
///
/// Criteria (all optional, all must match): `client`, `operation`, `from` / `to` (RFC 3339 or
/// `YYYY-MM-DD`, `to` exclusive), `reference` (照会番号, hashed with the store's secret), `limit`
/// (default 1000). `format`: `json` (default), `jsonl`, `csv`. A patient's records are found by
/// their insurance identity in the body of `POST /v1/audit/search`: identifiers stay out of URLs
/// (which end up in proxy logs and histories), so the identity's parameters are refused here.
#[utoipa::path(
    get,
    tag = "audit", operation_id = "list_audit_records",
    path = "/v1/audit",
    params(
        ("client" = Option<String>, Query, description = "The caller's name", min_length = 1, max_length = 64),
        ("operation" = Option<OperationParam>, Query, description = "The kind of access"),
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Inclusive; RFC 3339, or YYYY-MM-DD (JST midnight)"),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Exclusive; RFC 3339, or YYYY-MM-DD (JST midnight)"),
        ("reference" = Option<String>, Query, description = "照会番号", pattern = r"^[!-~]([ -~]{0,48}[!-~])?$"),
        ("limit" = Option<u32>, Query, description = "At most this many records, newest first (default 1000)", minimum = 1, maximum = 100000),
        ("format" = Option<AuditFormatParam>, Query, description = "json (default), jsonl, csv"),
    ),
    responses(
        (status = 200, description = "The records, newest first", content(
            (Vec<AuditRecordDto> = "application/json"),
            (String = "application/jsonl"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A criterion cannot be read (every one that cannot is listed), or a patient's identity in the URL", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn search(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rec = begin(&st, &caller, Operation::AuditSearch);
    let mut errors = Vec::new();
    for key in ["insurer_number", "symbol", "number", "branch", "birthdate"] {
        if q.contains_key(key) {
            errors.push(FieldError {
                field: key.into(),
                reason: "a patient is searched with POST /v1/audit/search (identifiers stay out of URLs)".into(),
            });
        }
    }
    let limit = match q.get("limit") {
        None => Some(1000),
        Some(l) => limit_of(l.trim().parse::<u64>().ok(), &mut errors),
    };
    let criteria = export::Criteria {
        client: q.get("client").cloned(),
        operation: q.get("operation").cloned(),
        from: q.get("from").cloned(),
        to: q.get("to").cloned(),
        patient: None,
        reference: q.get("reference").cloned(),
        limit: limit.unwrap_or(1),
    };
    let format = q.get("format").map(String::as_str);
    answer(&st, rec, criteria, format, errors).await
}

/// `limit` from 1 to 100 000, or the error.
pub(super) fn limit_of(n: Option<u64>, errors: &mut Vec<FieldError>) -> Option<usize> {
    match n.filter(|l| (1..=100_000).contains(l)) {
        Some(l) => usize::try_from(l).ok(),
        None => {
            errors.push(FieldError {
                field: "limit".into(),
                reason: "must be a whole number between 1 and 100000".into(),
            });
            None
        }
    }
}

/// Answers an audit search (both forms): every criterion that cannot be read is reported
/// together with `errors` found before; the search is itself recorded.
pub(super) async fn answer(
    st: &AppState,
    mut rec: AuditRecord,
    criteria: export::Criteria,
    format: Option<&str>,
    mut errors: Vec<FieldError>,
) -> Response {
    let format = format.unwrap_or("json");
    if !["json", "jsonl", "csv"].contains(&format) {
        errors.push(FieldError {
            field: "format".into(),
            reason: "must be json, jsonl or csv".into(),
        });
    }
    if let Some(c) = &criteria.client
        && !(1..=64).contains(&c.chars().count())
    {
        errors.push(FieldError {
            field: "client".into(),
            reason: "is a client's name (1–64 characters)".into(),
        });
    }
    if let Some(r) = &criteria.reference
        && !super::request::reference_ok(r)
    {
        errors.push(FieldError {
            field: "reference".into(),
            reason: "is a 照会番号 (1–50 printable ASCII characters, no space at either end)"
                .into(),
        });
    }
    if let Some(p) = &criteria.patient {
        errors.extend(super::request::identity_errors(
            "patient.",
            &p.insurer_number,
            p.symbol.as_deref(),
            &p.number,
            p.branch.as_deref(),
        ));
    }
    let query = criteria.to_query(&st.hasher).map_err(|e| FieldError {
        field: e.field.into(),
        reason: e.reason,
    });
    let query = match query {
        Ok(q) if errors.is_empty() => q,
        Ok(_) => return refuse_all(st, rec, errors).await,
        Err(e) => {
            errors.push(e);
            return refuse_all(st, rec, errors).await;
        }
    };
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
    let dtos = || records.iter().map(AuditRecordDto::from);
    let (content_type, body) = match format {
        "jsonl" => (
            "application/jsonl",
            dtos()
                .filter_map(|r| serde_json::to_string(&r).ok())
                .map(|l| l + "\n")
                .collect(),
        ),
        "csv" => ("text/csv; charset=utf-8", export::to_csv(&records)),
        _ => (
            "application/json",
            serde_json::to_string(&dtos().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into()),
        ),
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    then(st, rec, r).await
}

async fn refuse_all(st: &AppState, mut rec: AuditRecord, errors: Vec<FieldError>) -> Response {
    let p = Problem::invalid(errors);
    refused(&mut rec, &p);
    then(st, rec, p.into_response()).await
}
