//! The subsidy-check routes: `POST /v1/subsidy-checks` (JSON or an オン資 result) and
//! `GET /v1/subsidy-checks?reference=` (a checked-in patient by 照会番号).

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::audit;
use super::dto::MonthTotalsDto;
use super::dto::{CareDto, ClaimDto, SubsidyCheckRequest};
use super::negotiate::{BodyKind, Rendering, body_kind, rendering};
use super::problem::Problem;
use super::render::{answer_status, render};
use super::request::{body_bytes, parse_check_request, parse_result_body, setting_from_query};
use crate::auth::{Caller, Scope};
use crate::domain::{Care, Claim};
use crate::mapping::MappedSubsidy;
use crate::service::{CheckIn, CheckOutcome, Checked, Intake};
use crate::store::{AuditRecord, LedgerRow, Operation, StoreError};

/// A refused check: counted by reason, recorded, answered with its problem.
async fn reject(st: &AppState, rec: AuditRecord, p: Problem) -> Response {
    st.metrics
        .rejected
        .get_or_create(&vec![("reason", p.metric_reason())])
        .inc();
    audit::reject(st, rec, p).await
}

/// The rendering: the one given (a rendering operation's own, or what a base operation negotiated),
/// else `?format=` or `Accept` read here — which, for a base operation, cannot be read: refused.
fn chosen(
    forced: Option<Rendering>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Rendering, Problem> {
    forced.map_or_else(
        || rendering(query.get("format").map(String::as_str), headers),
        Ok,
    )
}

/// The rendering `?format=` or `Accept` ask a base operation for (`None` when they cannot be
/// read: the handler refuses that), negotiated once; and whether it is another than the
/// operation's JSON — the way before the rendering operations (`…/orca`, `…/orca-xml`,
/// `…/fhir`), kept working and marked deprecated.
fn negotiated(query: &HashMap<String, String>, headers: &HeaderMap) -> (Option<Rendering>, bool) {
    let asked = rendering(query.get("format").map(String::as_str), headers).ok();
    (asked, asked.is_some_and(|r| r != Rendering::Json))
}

/// `r`, with the deprecation headers of the compatibility policy when `legacy`.
fn deprecated_if(legacy: bool, mut r: Response) -> Response {
    if legacy {
        let h = r.headers_mut();
        // RFC 9745: deprecated since this version (2026-12-05 00:00 JST as a Unix time).
        h.insert("deprecation", HeaderValue::from_static("@1796396400"));
        h.insert(
            header::LINK,
            HeaderValue::from_static(
                "</openapi.json>; rel=\"deprecation\"; type=\"application/json\"",
            ),
        );
    }
    r
}

/// A subsidy's month as the ledger knows it, when the ledger has rows for it. A ledger that
/// cannot be read leaves the totals out (logged); the answer itself does not depend on them.
fn month(
    o: &CheckOutcome,
    s: &MappedSubsidy,
    rows: Result<Vec<LedgerRow>, StoreError>,
) -> Option<MonthTotalsDto> {
    match rows {
        Ok(rows) if rows.is_empty() => None,
        Ok(rows) => Some(MonthTotalsDto::of(
            o.service_date.date(),
            s.copay.caps.per_month.map(|c| c.0),
            &rows,
        )),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the ledger for an answer");
            None
        }
    }
}

/// Commits an answered check — its audit record, its kept answer (for
/// `GET /v1/subsidy-checks/{check_id}`), the stand-in its PMH call changed and the ledger
/// months its shared caps show, in one transaction — then sends it in `rendering`. No answer
/// without its committed record (503).
async fn answered(
    st: &AppState,
    rec: AuditRecord,
    checked: Checked,
    rendering: Rendering,
    check_in: Option<&CheckIn>,
) -> Response {
    let Checked { outcome, stand_in } = checked;
    let recorded = record(st, rec, &outcome, stand_in).await;
    sent(st, recorded, &outcome, rendering, check_in)
}

/// The answer's audit record, kept answer and stand-in change, committed together; the ledger
/// months of its shared caps as read in that commit.
async fn record(
    st: &AppState,
    mut rec: AuditRecord,
    outcome: &CheckOutcome,
    stand_in: Option<crate::service::StandInChange>,
) -> Result<crate::answers::Months, StoreError> {
    audit::outcome(&mut rec, outcome, answer_status(outcome));
    crate::answers::record(
        &*st.store,
        &st.hasher,
        &st.bodies,
        st.answer_retention,
        rec,
        outcome,
        stand_in,
        st.service.now(),
    )
    .await
}

/// What the reception page gets for a 照会番号: the answer as the API's typed JSON body and the
/// check-in it was prefetched for (with the person, which no API answer holds).
pub(super) enum PageAnswer {
    Answer(
        Box<super::dto::SubsidyCheckResponse>,
        std::sync::Arc<CheckIn>,
    ),
    /// No check-in under this 照会番号 in the last 36 hours.
    NotFound,
    /// The access could not be recorded: the answer is withheld.
    Withheld,
}

/// [`answer_by_reference`] for the reception page: the same check, audit record and kept
/// answer, given as the typed body instead of a rendering.
pub(super) async fn page_answer(
    st: &AppState,
    mut rec: AuditRecord,
    reference: &str,
    (claim, care): (Claim, Care),
) -> PageAnswer {
    let Some((checked, c)) = st.service.check_by_reference(reference, claim, care).await else {
        let p = Problem::not_found("no check-in with this 照会番号 in the last 36 hours");
        audit::refused(&mut rec, &p);
        return match audit::commit(st, rec).await {
            Ok(()) => PageAnswer::NotFound,
            Err(_) => PageAnswer::Withheld,
        };
    };
    rec.patient = Some(st.hasher.patient(&c.insured));
    let Checked { outcome, stand_in } = checked;
    let recorded = record(st, rec, &outcome, stand_in).await;
    let Ok(read) = audit::recorded(st, recorded) else {
        return PageAnswer::Withheld;
    };
    let mut body = super::dto::SubsidyCheckResponse::new(&outcome);
    body.check_in = Some((&*c).into());
    for ((dto, s), rows) in body
        .subsidies
        .iter_mut()
        .zip(&outcome.mapped.active)
        .zip(read)
    {
        dto.month_to_date = rows.and_then(|rows| month(&outcome, s, rows));
    }
    PageAnswer::Answer(Box::new(body), c)
}

/// The answer rendered with the ledger months read in its commit, or withheld (503) when its
/// record could not be committed.
fn sent(
    st: &AppState,
    recorded: Result<crate::answers::Months, StoreError>,
    outcome: &CheckOutcome,
    rendering: Rendering,
    check_in: Option<&CheckIn>,
) -> Response {
    let read = match audit::recorded(st, recorded) {
        Ok(r) => r,
        Err(withheld) => return withheld.into_response(),
    };
    let months: Vec<Option<MonthTotalsDto>> = outcome
        .mapped
        .active
        .iter()
        .zip(read)
        .map(|(s, rows)| month(outcome, s, rows?))
        .collect();
    render(&st.json_cache, outcome, rendering, check_in, &months)
}

/// Ask which subsidies apply to a patient on a service date.
///
/// The body is this API's JSON, or an オン資 result message as the terminal wrote it
/// (`Content-Type: application/xml`, UTF-8 or Shift_JIS as declared, one person): its insurance
/// context gives the レセプト種別, its date the service date (unless `service_date` is in the
/// query), its PMH block (when present) the certificates; `claim` and `care` come from the query.
///
/// This API's JSON answer. The same answer as ORCA `PublicInsurance_Information` (JSON or xmlio2
/// XML) or HL7 FHIR JP Core `Coverage` resources: `POST /v1/subsidy-checks/orca`, `…/orca-xml`,
/// `…/fhir` (one shape each). (`?format=` and `Accept` still choose a rendering here, marked
/// with a `Deprecation` header.)
#[utoipa::path(
    post,
    tag = "subsidy-checks", operation_id = "create_subsidy_check",
    path = "/v1/subsidy-checks",
    request_body(description = "This API's JSON, or an オン資 result message (OQSsiquc01res…xml, UTF-8 or Shift_JIS as declared)", content(
        (SubsidyCheckRequest = "application/json"),
        (String = "application/xml"),
    )),
    params(
        ("claim" = Option<ClaimDto>, Query, description = "With an XML body: `medical` (default) or `pharmacy`"),
        ("care" = Option<CareDto>, Query, description = "With an XML body: `outpatient` (default) or `inpatient`"),
        ("service_date" = Option<chrono::NaiveDate>, Query, description = "With an XML body: YYYY-MM-DD (1900–2199); the result's QualificationConfirmationDate by default", pattern = r"^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$"),
    ),
    responses(
        (status = 200, description = "`confirmed` or `none_found`, this API's JSON (other renderings: the `…/orca`, `…/orca-xml`, `…/fhir` operations)", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
        (status = 400, description = "Invalid input, or a My Number was sent", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor XML", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Well-formed, but the parts do not fit together (`/problems/inconsistent-request`: the birthdate is after the service date), or an XML body that is not one person's readable オン資 result (`/problems/unreadable-result`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the upstream failed and nothing usable is cached. The body is a full answer.", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
    )
)]
pub(super) async fn create_subsidy_check(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (asked, legacy) = negotiated(&query, &headers);
    let r = create_subsidy_check_as(st, caller, query, headers, body, asked).await;
    deprecated_if(legacy, r)
}

/// [`create_subsidy_check`] in `forced` (a rendering operation), else as `format` / `Accept`
/// say.
pub(super) async fn create_subsidy_check_as(
    st: AppState,
    caller: Caller,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    forced: Option<Rendering>,
) -> Response {
    let kind = body_kind(&headers);
    let operation = match kind {
        Ok(BodyKind::OnshiXml) => Operation::CheckWithResult,
        _ => Operation::Check,
    };
    let mut rec = audit::begin(&st, &caller, operation);
    let rendering = match chosen(forced, &query, &headers) {
        Ok(r) => r,
        Err(p) => return reject(&st, rec, p).await,
    };
    let body = match body_bytes(st.body_limit, body) {
        Ok(b) => b,
        Err(p) => return reject(&st, rec, p).await,
    };
    // The query is the document's whatever the body: a malformed one is refused.
    if let Err(p) = super::request::check_query(&query) {
        return reject(&st, rec, p).await;
    }
    let today = st.service.today();
    let outcome = match kind {
        Err(p) => return reject(&st, rec, p).await,
        Ok(BodyKind::Json) => match parse_check_request(&body, today) {
            Ok(req) => {
                rec.patient = Some(st.hasher.patient(&req.insured));
                st.service.check_to_record(req).await
            }
            Err(p) => return reject(&st, rec, p).await,
        },
        Ok(BodyKind::OnshiXml) => {
            match parse_result_body(&body, &query, today, st.service.institution()) {
                Ok(rc) => {
                    rec.patient = Some(st.hasher.patient(&rc.request.insured));
                    let trusted = caller.may(Scope::OnshiPost);
                    if rc.block.is_some() {
                        rec.detail = Some(if trusted {
                            "PMH block entered the cache (onshi_post)".into()
                        } else {
                            "PMH block used for this answer only (no onshi_post)".into()
                        });
                    }
                    st.service
                        .check_result_to_record(rc, Intake::Posted { trusted })
                        .await
                }
                Err(p) => return reject(&st, rec, p).await,
            }
        }
    };
    answered(&st, rec, outcome, rendering, None).await
}

/// The answer for a patient who checked in at the オン資 terminal, by 照会番号.
///
/// The gateway prefetched it when the terminal's result file arrived; this answers from the
/// cache (or asks again if the cached answer has expired), mapped for the visit's setting
/// (`claim`, `care`) with the result's insurance context. `check_in` says from which file and
/// when.
#[utoipa::path(
    get,
    tag = "check-ins", operation_id = "get_check_in_answer",
    path = "/v1/subsidy-checks",
    params(
        ("reference" = String, Query, description = "照会番号 (ReferenceNumber) of the オン資 result: up to 50 characters (half-width letters, digits and signs)", min_length = 1, max_length = 50, pattern = r"^[!-~]([ -~]{0,48}[!-~])?$"),
        ("claim" = Option<ClaimDto>, Query, description = "`medical` (default) or `pharmacy`"),
        ("care" = Option<CareDto>, Query, description = "`outpatient` (default) or `inpatient`"),
    ),
    responses(
        (status = 200, description = "`confirmed` or `none_found`, this API's JSON (other renderings: the `…/orca`, `…/orca-xml`, `…/fhir` operations)", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
        (status = 400, description = "No or bad `reference`, `claim`, `care`, `format`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No check-in with this 照会番号", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
    )
)]
pub(super) async fn subsidy_check_by_reference(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (asked, legacy) = negotiated(&query, &headers);
    let r = subsidy_check_by_reference_as(st, caller, query, headers, asked).await;
    deprecated_if(legacy, r)
}

/// [`subsidy_check_by_reference`] in `forced`, else as `format` / `Accept` say.
pub(super) async fn subsidy_check_by_reference_as(
    st: AppState,
    caller: Caller,
    query: HashMap<String, String>,
    headers: HeaderMap,
    forced: Option<Rendering>,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::CheckByReference);
    let rendering = match chosen(forced, &query, &headers) {
        Ok(r) => r,
        Err(p) => return reject(&st, rec, p).await,
    };
    let reference = query.get("reference").map_or("", String::as_str);
    if !super::request::reference_ok(reference) {
        let p = Problem::invalid_field(
            "reference",
            "is required: the 照会番号 (ReferenceNumber) of a checked-in patient, 1–50 printable ASCII characters without a space at either end",
        );
        return reject(&st, rec, p).await;
    }
    rec.reference = Some(st.hasher.reference(reference));
    let (claim, care) = match setting_from_query(&query) {
        Ok(s) => s,
        Err(p) => return reject(&st, rec, p).await,
    };
    answer_by_reference(&st, rec, reference, (claim, care), rendering).await
}

/// The answer for a checked-in patient by 照会番号 (a valid one), recorded under `rec` (whose
/// `reference` the caller has set): the route above and the reception page's patient view.
pub(super) async fn answer_by_reference(
    st: &AppState,
    mut rec: AuditRecord,
    reference: &str,
    (claim, care): (Claim, Care),
    rendering: Rendering,
) -> Response {
    match st.service.check_by_reference(reference, claim, care).await {
        Some((checked, c)) => {
            rec.patient = Some(st.hasher.patient(&c.insured));
            answered(st, rec, checked, rendering, Some(&c)).await
        }
        None => {
            let p = Problem::not_found(
                "no check-in with this 照会番号 in the last 36 hours (none arrived since the gateway started, or the folder watcher is off); ask with POST /v1/subsidy-checks",
            );
            audit::reject(st, rec, p).await
        }
    }
}

/// The answer of an earlier check, by its `check_id` (for a second screen, or the charge of a
/// visit), in any rendering. Answers are kept for `audit.answer_retention_hours` (24 by
/// default), then removed: 404.
#[utoipa::path(
    get,
    tag = "subsidy-checks", operation_id = "get_earlier_subsidy_check",
    path = "/v1/subsidy-checks/{check_id}",
    params(
        ("check_id" = String, Path, description = "The `check_id` of an earlier answer (a UUID, hyphenated)", pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"),
    ),
    responses(
        (status = 200, description = "The earlier answer, as it was given, this API's JSON (other renderings: the `…/orca`, `…/orca-xml`, `…/fhir` operations)", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
        (status = 400, description = "A bad `format`, or a `check_id` that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No kept answer with this check id (never given, or past its retention)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The earlier answer was `unavailable`", body = super::dto::SubsidyCheckResponse, content_type = "application/json"),
    )
)]
pub(super) async fn earlier_check(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(check_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (asked, legacy) = negotiated(&query, &headers);
    let r = earlier_check_as(st, caller, check_id, query, headers, asked).await;
    deprecated_if(legacy, r)
}

/// [`earlier_check`] in `forced`, else as `format` / `Accept` say.
pub(super) async fn earlier_check_as(
    st: AppState,
    caller: Caller,
    check_id: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    forced: Option<Rendering>,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::EarlierCheck);
    let rendering = match chosen(forced, &query, &headers) {
        Ok(r) => r,
        Err(p) => return reject(&st, rec, p).await,
    };
    // A check id is a UUID the gateway gave: anything else is refused before it could reach
    // the audit (the refusal is recorded without it).
    let Some(check_id) = super::request::check_id(&check_id) else {
        return reject(
            &st,
            rec,
            Problem::invalid_field("check_id", "is a check id (a UUID the gateway answered)"),
        )
        .await;
    };
    rec.check_id = Some(check_id.clone());
    let kept =
        match crate::answers::earlier(&*st.store, &st.hasher, check_id, st.service.now()).await {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "cannot read a kept answer");
                return Problem::internal("the kept answers could not be read").into_response();
            }
        };
    let outcome = kept.and_then(|(patient, outcome)| {
        rec.patient = patient;
        outcome
    });
    match outcome {
        Some(outcome) => {
            audit::outcome(&mut rec, &outcome, answer_status(&outcome));
            let recorded =
                crate::answers::record_reread(&*st.store, &st.hasher, rec, &outcome).await;
            sent(&st, recorded, &outcome, rendering, None)
        }
        None => {
            let p = Problem::not_found(
                "no answer with this check id is kept (never given, or older than the answer retention)",
            );
            audit::reject(&st, rec, p).await
        }
    }
}
