//! `/v1/receipt-checks`: the month-end receipt pre-check (`receipts`). A UKE file is posted as
//! it is; the check runs in the background and its report is read by its id — as JSON, or as CSV
//! for a spreadsheet — by the client that posted it (or an `admin`).

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::audit;
use super::dto::{ReceiptCheckDto, receipt_check_csv};
use super::problem::{FieldError, Problem};
use crate::auth::{Caller, Scope};
use crate::receipts::{KeepError, Report, StartError};
use crate::store::Operation;

/// Checks a month's claims before they are sent: the UKE file (レセプト電算処理システム, as the
/// receipt computer writes it for 支払基金 or 国保連合会; Shift_JIS or UTF-8) as the body. Each
/// receipt is checked from itself and the masters, its patient against PMH for the claim month
/// (one check per distinct patient, through the gateway's cache and audit), and its KOs against
/// the 管理票 ledger. The check runs in the background: the answer is its id and the counts;
/// follow `Location` for the progress and then the report.
#[utoipa::path(
    post,
    tag = "receipt-checks", operation_id = "create_receipt_check",
    path = "/v1/receipt-checks",
    request_body(content = String, content_type = "application/octet-stream", description = "The month's UKE file, as written by the receipt computer (at most 64 MiB)"),
    responses(
        (status = 202, description = "Accepted: the check runs; its report is at `Location`", body = ReceiptCheckDto),
        (status = 413, description = "The file is larger than 64 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/octet-stream`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No receipt could be read from the file (`/problems/unreadable-file`: every line problem in `errors`, by line number)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Two checks already run on this replica (`/problems/receipt-checks-busy`), or the access could not be recorded; try again after `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn create(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::ReceiptCheckStart);
    let refused = |p: Problem, rec| audit::reject(&st, rec, p);
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !media
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/octet-stream"))
    {
        return refused(
            Problem::unsupported_media_type_for("application/octet-stream", media),
            rec,
        )
        .await;
    }
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refused(Problem::too_large(crate::receipts::MAX_FILE_BYTES), rec).await;
        }
        Err(e) => {
            return refused(Problem::invalid_field("body", e.body_text()), rec).await;
        }
    };
    match st.receipt_checks.start(&caller.name, &body).await {
        Ok(report) => {
            rec.http_status = Some(202);
            rec.check_id = Some(report.id.clone());
            rec.detail = Some(format!(
                "{} receipts, {} patients",
                report.receipts, report.patients
            ));
            let mut r = (
                StatusCode::ACCEPTED,
                axum::Json(ReceiptCheckDto::from(&report)),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/v1/receipt-checks/{}", report.id)) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            audit::then(&st, rec, r).await
        }
        Err(StartError::Unreadable(problems)) => {
            let errors = problems
                .iter()
                .take(100)
                .map(|p| FieldError {
                    field: format!(
                        "line {}{}{}",
                        p.line,
                        p.record
                            .as_deref()
                            .map(|r| format!(" {r}"))
                            .unwrap_or_default(),
                        p.field
                            .as_deref()
                            .map(|f| format!(" {f}"))
                            .unwrap_or_default()
                    ),
                    reason: p.reason.clone(),
                })
                .collect();
            refused(Problem::unreadable_file(errors), rec).await
        }
        Err(StartError::Busy) => refused(Problem::receipt_checks_busy(), rec).await,
        Err(StartError::Store(e)) => {
            tracing::error!(error = %e, "cannot start a receipt check");
            refused(Problem::audit_unavailable(), rec).await
        }
    }
}

/// A receipt check's report: while `running`, its progress (`patients_done` of `patients`);
/// once `done`, the receipts to review with their findings. As JSON, or CSV (`format=csv` or
/// `Accept: text/csv`: a row per finding). Kept for `audit.answer_retention_hours` unless kept.
#[utoipa::path(
    get,
    tag = "receipt-checks", operation_id = "get_receipt_check",
    path = "/v1/receipt-checks/{id}",
    params(
        ("id" = String, Path, description = "The check's id (a UUID)", pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"),
        ("format" = Option<String>, Query, description = "`json` (the default) or `csv`", pattern = "^(json|csv)$"),
    ),
    responses(
        (status = 200, description = "The report (or its progress while running)", content(
            (ReceiptCheckDto = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "An id that is not a UUID, or another `format`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No check of this client with this id (never made, another client's, or past its retention)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn read(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::ReceiptCheckRead);
    let csv = match query.get("format").map(String::as_str) {
        Some("csv") => true,
        Some("json") => false,
        Some(_) => {
            return audit::reject(&st, rec, Problem::invalid_field("format", "is json or csv"))
                .await;
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv")),
    };
    let report = match owned(&st, &caller, &id).await {
        Ok(r) => r,
        Err(p) => return audit::reject(&st, rec, p).await,
    };
    rec.http_status = Some(200);
    rec.check_id = Some(report.id.clone());
    let response = if csv {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"receipt-check.csv\"",
                ),
            ],
            receipt_check_csv(&report),
        )
            .into_response()
    } else {
        axum::Json(ReceiptCheckDto::from(&report)).into_response()
    };
    audit::then(&st, rec, response).await
}

/// Keeps a finished report past the retention (its `expires_at` becomes `null`), e.g. while the
/// receipts are corrected.
#[utoipa::path(
    post,
    tag = "receipt-checks", operation_id = "keep_receipt_check",
    path = "/v1/receipt-checks/{id}/keep",
    params(
        ("id" = String, Path, description = "The check's id (a UUID)", pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"),
    ),
    responses(
        (status = 200, description = "Kept: the report", body = ReceiptCheckDto),
        (status = 400, description = "An id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No check of this client with this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The check is still running, or was interrupted (`/problems/conflict`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn keep(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::ReceiptCheckRead);
    rec.detail = Some("kept".into());
    let refuse = |p: Problem, rec| audit::reject(&st, rec, p);
    let report = match owned(&st, &caller, &id).await {
        Ok(r) => r,
        Err(p) => return refuse(p, rec).await,
    };
    match st.receipt_checks.keep(report).await {
        Ok(report) => {
            rec.http_status = Some(200);
            rec.check_id = Some(report.id.clone());
            let r = axum::Json(ReceiptCheckDto::from(&report)).into_response();
            audit::then(&st, rec, r).await
        }
        Err(KeepError::Running) => {
            refuse(Problem::conflict(KeepError::Running.to_string()), rec).await
        }
        Err(KeepError::Store(e)) => {
            tracing::error!(error = %e, "cannot keep a receipt check's report");
            refuse(Problem::audit_unavailable(), rec).await
        }
    }
}

fn not_found() -> Problem {
    Problem::not_found(
        "no receipt check of this client with this id (never made, or past its retention)",
    )
}

/// The report of `id` if the caller may read it: its owner, or an `admin`. Another client's is
/// not found, as if it did not exist.
pub(super) async fn owned(st: &AppState, caller: &Caller, id: &str) -> Result<Report, Problem> {
    let Some(id) = super::request::check_id(id) else {
        return Err(Problem::invalid_field("id", "is a UUID (the check's id)"));
    };
    match st.receipt_checks.report(&id).await {
        Ok(Some(r)) if r.owner == caller.name || caller.may(Scope::Admin) => Ok(r),
        Ok(_) => Err(not_found()),
        Err(e) => {
            tracing::error!(error = %e, "cannot read a receipt check's report");
            Err(Problem::audit_unavailable())
        }
    }
}
