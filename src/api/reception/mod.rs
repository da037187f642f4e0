//! The reception page: today's check-ins and their subsidies, for the clerk, in a browser — served
//! by the gateway itself, in Japanese, with its own styles and script (no external asset).
//!
//! - Sign-in (`/reception`, `POST /reception/sign-in`) with a client token that has the
//!   `reception` scope; the session ([`session`]) is an HttpOnly, SameSite=Strict cookie.
//! - Today's check-ins (`/reception`), kept up to date by server-sent events
//!   (`/reception/events`) from the service's [`crate::service::Board`].
//! - One patient (`/reception/patients/{reference}`, its print view `…/print`): drawn from the
//!   API's JSON answer for the 照会番号, recorded in the audit as that access under the client's
//!   name; amounts from the paper 管理票 (`POST …/ledger-entries`) go through the ledger route.
//! - The gateway's health (`/reception/health`).
//!
//! Invariants: every page but sign-in needs a live session; every form that changes something
//! carries the session's CSRF token (and the sign-in form its own); every view of patients is
//! recorded before it is sent; the page loads nothing from elsewhere (a Content-Security-Policy
//! of `'self'` says so to the browser).

pub mod html;
pub mod session;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};

use axum::extract::{ConnectInfo, Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::AppState;
use super::access::Peer;
use super::audit;
use super::checks::PageAnswer;
use super::dto::{CareDto, LedgerEntryRequest, SubsidyCheckResponse};
use crate::auth::Scope;
use crate::domain::{Care, Claim};
use crate::service::CheckIn;
use crate::store::Operation;
use session::{COOKIE, SIGN_IN_COOKIE, Session};

const CSS: &str = include_str!("reception.css");
const JS: &str = include_str!("reception.js");

/// How often the live feed checks that its session is still alive (and sends a comment to keep
/// proxies from closing it).
const FEED_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// The page's routes, with their own guard (`Host` allow-list, security headers).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reception", get(home))
        .route("/reception/sign-in", post(sign_in))
        .route("/reception/sign-out", post(sign_out))
        .route("/reception/events", get(events))
        .route("/reception/health", get(health))
        .route("/reception/patients/{reference}", get(patient))
        .route("/reception/patients/{reference}/print", get(print))
        .route(
            "/reception/patients/{reference}/ledger-entries",
            post(ledger_entry),
        )
        .route(
            "/reception/receipts",
            get(receipts_page)
                .post(receipts_start)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::receipts::MAX_FILE_BYTES,
                )),
        )
        .route("/reception/receipts/{id}", get(receipts_report))
        .route("/reception/receipts/{id}/keep", post(receipts_keep))
        .route("/reception/assets/{name}", get(asset))
        .layer(axum::middleware::from_fn(headers))
}

/// Security headers on every page: nothing from elsewhere, no framing, no referrer.
async fn headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn now() -> Instant {
    Instant::now()
}

/// A page that says one thing (a refusal, an error, not found): `title` in the window,
/// `heading` and `text` on the page, the signed-in header when there is a session.
fn message_page(
    status: StatusCode,
    session: Option<&Session>,
    title: &str,
    heading: &str,
    text: &str,
) -> Response {
    let signed_in = session.map(|s| (s.caller.name.as_str(), s.csrf.as_str()));
    html(
        status,
        html::page(title, signed_in, html::message(heading, text)),
    )
}

/// The `Host` allow-list (a rebound name is refused), as for the API; a request without a
/// `Host` (not a browser's) is let through to the session check.
fn host_allowed(st: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}"))
        .is_none_or(|host| st.access.host_allowed(host))
}

/// Why a request has no session to act under.
enum NoSession {
    /// A rebound host name.
    Host,
    /// A page view: to the sign-in page.
    SignIn,
    /// A form or the feed: refused.
    Refused,
    /// The store, which holds the sessions, does not answer.
    Unavailable,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            Self::Host => message_page(
                StatusCode::FORBIDDEN,
                None,
                "拒否",
                "拒否されました",
                "このホスト名では利用できません。",
            ),
            Self::SignIn => Redirect::to("/reception").into_response(),
            Self::Refused => message_page(
                StatusCode::FORBIDDEN,
                None,
                "サインインが必要です",
                "サインインが必要です",
                "セッションが切れました。もう一度サインインしてください。",
            ),
            Self::Unavailable => store_unavailable(),
        }
    }
}

/// The live session, or why there is none: the sign-in page for a page view, 403 for a form or
/// the feed.
async fn signed_in(st: &AppState, headers: &HeaderMap, page: bool) -> Result<Session, NoSession> {
    if !host_allowed(st, headers) {
        return Err(NoSession::Host);
    }
    match session::find(st, headers, page).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) if page => Err(NoSession::SignIn),
        Ok(None) => Err(NoSession::Refused),
        Err(e) => {
            tracing::error!(error = %e, "the reception sessions cannot be read");
            Err(NoSession::Unavailable)
        }
    }
}

/// The page when the store, which holds the sessions, does not answer.
fn store_unavailable() -> Response {
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "一時的に利用できません",
        "一時的に利用できません",
        "状態の保存先（データベース）に接続できません。しばらくしてから開き直してください。",
    )
}

/// The live session of a client with `scope`, or the page that says why not (`missing` when
/// the scope is lacking); for a form, its CSRF token is checked first.
async fn session_with(
    st: &AppState,
    headers: &HeaderMap,
    form: Option<&HashMap<String, String>>,
    scope: Scope,
    missing: fn(&Session) -> Response,
) -> Result<Session, Response> {
    let s = signed_in(st, headers, true)
        .await
        .map_err(IntoResponse::into_response)?;
    if form.is_some_and(|f| !csrf_ok(&s, f)) {
        return Err(csrf_refused());
    }
    may(s, scope).map_err(|s| missing(&s))
}

/// The session if its client has `scope`; else it is handed back, to say why not.
fn may(s: Session, scope: Scope) -> Result<Session, Session> {
    if s.caller.may(scope) { Ok(s) } else { Err(s) }
}

/// A form's CSRF token against the session's.
fn csrf_ok(s: &Session, form: &HashMap<String, String>) -> bool {
    form.get("csrf").is_some_and(|t| session::same(t, &s.csrf))
}

fn csrf_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        None,
        "拒否",
        "拒否されました",
        "フォームの確認用トークンが一致しません。ページを開き直してください。",
    )
}

/// Commits a reception record; the page is withheld when the access cannot be recorded.
async fn recorded(
    st: &AppState,
    s: &Session,
    op: Operation,
    detail: &str,
    page: Response,
) -> Response {
    let mut rec = audit::begin(st, &s.caller, op);
    rec.http_status = Some(page.status().as_u16());
    rec.detail = Some(detail.to_owned());
    audit::then(st, rec, page).await
}

fn today(st: &AppState) -> String {
    st.service.today().date().format("%Y-%m-%d").to_string()
}

/// The list of today's check-ins, or the sign-in page.
async fn home(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if !host_allowed(&st, &headers) {
        return NoSession::Host.into_response();
    }
    let found = match session::find(&st, &headers, true).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "the reception sessions cannot be read");
            return store_unavailable();
        }
    };
    let Some(s) = found else {
        let csrf = session::random_token();
        let mut r = html(StatusCode::OK, html::sign_in(&csrf, None));
        set(
            &mut r,
            &session::set_cookie(SIGN_IN_COOKIE, &csrf, st.tls, None),
        );
        return r;
    };
    let rows = st.service.board().rows_for(st.service.today());
    let body = html::page(
        "本日の受付",
        Some((&s.caller.name, &s.csrf)),
        html::list(&today(&st), &rows),
    );
    // The list shows every row's 照会番号: the record names them (keyed), so that "who saw this
    // patient" finds this view too.
    let mut rec = audit::begin(&st, &s.caller, Operation::ReceptionList);
    rec.http_status = Some(200);
    rec.detail = Some("GET /reception".into());
    rec.shown = rows
        .iter()
        .map(|r| st.hasher.reference(&r.reference))
        .collect();
    audit::then(&st, rec, html(StatusCode::OK, body)).await
}

fn set(r: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Signs in with a client token that has the `reception` scope. Failures count towards the
/// same per-address limit as the API's.
async fn sign_in(
    State(st): State<AppState>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !host_allowed(&st, &headers) {
        return NoSession::Host.into_response();
    }
    let expected = session::cookie(&headers, SIGN_IN_COOKIE).unwrap_or("");
    if !form.get("csrf").is_some_and(|t| session::same(t, expected)) {
        return csrf_refused();
    }
    let ip = peer
        .and_then(|p| p.0.0.addr)
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let t = now();
    let again = |problem: &str| {
        let csrf = session::random_token();
        let mut r = html(
            StatusCode::UNAUTHORIZED,
            html::sign_in(&csrf, Some(problem)),
        );
        set(
            &mut r,
            &session::set_cookie(SIGN_IN_COOKIE, &csrf, st.tls, None),
        );
        r
    };
    let token = form.get("token").map(|t| t.trim()).unwrap_or("");
    let caller = match st.access.by_token(token) {
        Some(c) if c.may(Scope::Reception) => c.clone(),
        Some(_) => return again("このトークンには受付画面（reception）の権限がありません。"),
        None => {
            // A valid token is never refused; a wrong one repeated from this address waits.
            let attempt = crate::auth::Attempt::token(ip, token);
            if st.access.blocked(&attempt, t).is_some() {
                return again("失敗が続いたため、しばらくサインインできません。");
            }
            st.access.failed(attempt, t);
            st.metrics
                .auth_failures
                .get_or_create(&vec![("reason", "invalid")])
                .inc();
            return again("トークンが正しくありません。");
        }
    };
    let s = match session::open(&st, caller).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "a reception session cannot be opened");
            return store_unavailable();
        }
    };
    let mut r = Redirect::to("/reception").into_response();
    set(&mut r, &session::set_cookie(COOKIE, &s.id, st.tls, None));
    set(
        &mut r,
        &session::set_cookie(SIGN_IN_COOKIE, "", st.tls, Some(0)),
    );
    recorded(
        &st,
        &s,
        Operation::ReceptionSignIn,
        "POST /reception/sign-in",
        r,
    )
    .await
}

async fn sign_out(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match signed_in(&st, &headers, false).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if !csrf_ok(&s, &form) {
        return csrf_refused();
    }
    if let Err(e) = session::close(&st, &s.id).await {
        tracing::error!(error = %e, "a reception session cannot be ended");
        return store_unavailable();
    }
    let mut r = Redirect::to("/reception").into_response();
    set(&mut r, &session::set_cookie(COOKIE, "", st.tls, Some(0)));
    recorded(
        &st,
        &s,
        Operation::ReceptionSignOut,
        "POST /reception/sign-out",
        r,
    )
    .await
}

/// Today's rows as they change: an `row` event with the row's HTML per change, `reload` when
/// the feed fell behind, and the stream ends when the session does.
async fn events(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let s = match signed_in(&st, &headers, false).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let rx = st.service.board().subscribe();
    let state = (st.clone(), headers.clone(), rx, s.caller.clone());
    let stream = futures::stream::unfold(Some(state), |state| async move {
        let (st, headers, mut rx, caller) = state?;
        let mut stopping = st.stopping.subscribe();
        loop {
            if *stopping.borrow_and_update() {
                return None;
            }
            let next = tokio::select! {
                next = tokio::time::timeout(FEED_CHECK, rx.recv()) => next,
                _ = stopping.changed() => return None,
            };
            if !matches!(session::find(&st, &headers, false).await, Ok(Some(_))) {
                let e = Event::default().event("signed-out").data("");
                return Some((Ok::<_, Infallible>(e), None));
            }
            match next {
                Err(_) => {
                    let e = Event::default().comment("alive");
                    return Some((Ok(e), Some((st, headers, rx, caller))));
                }
                Ok(Ok(row)) if row.service_date == st.service.today() => {
                    // A row shown is an access to its 照会番号, recorded before it is sent; a
                    // feed that cannot record ends (the page reconnects, and is recorded then).
                    let mut rec = audit::begin(&st, &caller, Operation::ReceptionList);
                    rec.http_status = Some(200);
                    rec.detail = Some("GET /reception/events: a row".into());
                    rec.shown = vec![st.hasher.reference(&row.reference)];
                    if let Err(e) = st.store.append(rec).await {
                        tracing::error!(error = %e, "the reception feed's access cannot be recorded: the feed ends");
                        return None;
                    }
                    let e = Event::default()
                        .event("row")
                        .id(row.seq.to_string())
                        .data(html::row_at(&row, st.service.now()));
                    return Some((Ok(e), Some((st, headers, rx, caller))));
                }
                Ok(Ok(_)) => {}
                Ok(Err(RecvError::Lagged(_))) => {
                    let e = Event::default().event("reload").data("");
                    return Some((Ok(e), Some((st, headers, rx, caller))));
                }
                Ok(Err(RecvError::Closed)) => return None,
            }
        }
    });
    let r = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    recorded(
        &st,
        &s,
        Operation::ReceptionList,
        "GET /reception/events",
        r,
    )
    .await
}

/// The visit setting of the patient's page: `outpatient` (default), `inpatient`, `pharmacy`.
fn setting(q: &HashMap<String, String>) -> (&'static str, (Claim, Care)) {
    match q.get("setting").map(String::as_str) {
        Some("inpatient") => ("inpatient", (Claim::Medical, Care::Inpatient)),
        Some("pharmacy") => ("pharmacy", (Claim::Pharmacy, Care::Outpatient)),
        _ => ("outpatient", (Claim::Medical, Care::Outpatient)),
    }
}

/// A 照会番号 as the API accepts it.
fn reference_ok(r: &str) -> bool {
    !r.trim().is_empty() && r.chars().count() <= 50
}

/// The API's typed answer for the patient and the check-in (with the person), recorded as that
/// access under the client's name.
async fn answer(
    st: &AppState,
    s: &Session,
    reference: &str,
    visit: (Claim, Care),
    detail: &str,
) -> Result<(Box<SubsidyCheckResponse>, Arc<CheckIn>), Response> {
    let reference = reference.trim();
    let mut rec = audit::begin(st, &s.caller, Operation::CheckByReference);
    rec.detail = Some(detail.to_owned());
    rec.reference = Some(st.hasher.reference(reference));
    match super::checks::page_answer(st, rec, reference, visit).await {
        PageAnswer::Answer(answer, check_in) => Ok((answer, check_in)),
        PageAnswer::NotFound => Err(message_page(
            StatusCode::NOT_FOUND,
            Some(s),
            "見つかりません",
            "見つかりません",
            "この照会番号の受付は36時間以内にありません。",
        )),
        // The access could not be recorded — never shown as "no subsidy".
        PageAnswer::Withheld => Err(message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(s),
            "表示できません",
            "表示できません",
            "ゲートウェイが記録できないため表示できません。時間をおいて開き直してください。",
        )),
    }
}

async fn patient_page(
    st: AppState,
    headers: HeaderMap,
    reference: String,
    q: HashMap<String, String>,
    print: bool,
) -> Response {
    let s = match signed_in(&st, &headers, true).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if !reference_ok(&reference) {
        return message_page(
            StatusCode::BAD_REQUEST,
            Some(&s),
            "照会番号",
            "照会番号が正しくありません",
            "50文字以内の照会番号を指定してください。",
        );
    }
    let (name, visit) = setting(&q);
    let detail = if print {
        "reception print view"
    } else {
        "reception patient view"
    };
    let (answer, check_in) = match answer(&st, &s, &reference, visit, detail).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let sheets = kanrihyo(&st, &answer).await;
    let main = html::patient(&html::PatientPage {
        answer: &answer,
        person: check_in.person.as_ref(),
        reference: reference.trim(),
        ledger_csrf: s.caller.may(Scope::Charges).then_some(s.csrf.as_str()),
        today: &today(&st),
        setting: name,
        print,
        sheets: &sheets,
    });
    let title = format!("照会番号 {}", reference.trim());
    html(
        StatusCode::OK,
        html::page(&title, Some((&s.caller.name, &s.csrf)), main),
    )
}

/// The month's 自己負担上限額管理票 of each shared-cap subsidy of the answer (by payer and
/// recipient number), from the ledger: the rows in force, in date order. A ledger that cannot
/// be read is `Err` for that subsidy (the page says so).
async fn kanrihyo(st: &AppState, answer: &SubsidyCheckResponse) -> html::Sheets {
    let mut sheets = html::Sheets::new();
    for sub in answer
        .subsidies
        .iter()
        .filter(|s| s.copay.monthly_cap_shared)
    {
        let (payer, recipient) = (
            sub.payer_number.as_str(),
            sub.recipient_number.as_deref().unwrap_or_default(),
        );
        let Some(card) =
            st.hasher
                .shared_card(true, payer, Some(recipient).filter(|r| !r.is_empty()))
        else {
            continue;
        };
        let rows =
            crate::billing::month(super::charges::books(st), card, st.service.today().date())
                .await
                .map_err(|e| tracing::error!(error = %e, "the 管理票 cannot be read for the page"))
                .map(|mut rows| {
                    rows.sort_by_key(|r| (r.date, r.id));
                    rows.into_iter()
                        .map(|r| html::SheetLine {
                            date: r.date,
                            institution: match r.source {
                                crate::store::LedgerSource::Own => None,
                                crate::store::LedgerSource::Other => {
                                    Some(r.institution.unwrap_or_default())
                                }
                            },
                            total_cost: r.total_cost.map(|y| y.0),
                            amount: r.amount.0,
                        })
                        .collect()
                });
        sheets.insert((payer.to_owned(), recipient.to_owned()), rows);
    }
    sheets
}

async fn patient(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    patient_page(st, headers, reference, q, false).await
}

async fn print(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    patient_page(st, headers, reference, q, true).await
}

/// An amount from the paper 自己負担上限額管理票, through `POST /v1/ledger-entries` (its checks,
/// its audit record under the client's name); back to the patient's page, or the refusal.
async fn ledger_entry(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match session_with(&st, &headers, Some(&form), Scope::Charges, |s| {
        message_page(
            StatusCode::FORBIDDEN,
            Some(s),
            "拒否",
            "拒否されました",
            "管理票の金額の入力には charges 権限が必要です。",
        )
    })
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let number = |k: &str| field(k).and_then(|v| v.parse::<i64>().ok());
    let Some(amount) = number("amount") else {
        return message_page(
            StatusCode::BAD_REQUEST,
            Some(&s),
            "入力エラー",
            "入力エラー",
            "金額を円で入力してください。",
        );
    };
    let req = LedgerEntryRequest {
        entry_id: None,
        payer_number: field("payer_number").unwrap_or_default().to_owned(),
        recipient_number: field("recipient_number").unwrap_or_default().to_owned(),
        date: field("date").unwrap_or_default().to_owned(),
        amount,
        total_cost: None,
        care: Some(if field("care") == Some("inpatient") {
            CareDto::Inpatient
        } else {
            CareDto::Outpatient
        }),
        institution: field("institution").map(str::to_owned),
        monthly_cap: number("monthly_cap"),
    };
    let rec = audit::begin(&st, &s.caller, Operation::LedgerEntry);
    // Without an entry id the fingerprint is not used.
    match super::charges::added_entry(&st, &s.caller, rec, req, "").await {
        Ok(_) => Redirect::to(&format!(
            "/reception/patients/{}",
            html::seg(reference.trim())
        ))
        .into_response(),
        Err(p) => {
            let why = if p.errors.is_empty() {
                p.detail.clone()
            } else {
                p.errors
                    .iter()
                    .map(|e| format!("{} {}", e.field, e.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            message_page(status, Some(&s), "入力エラー", "追加できませんでした", &why)
        }
    }
}

/// The session's client lacks `receipt_check`: the 月次点検 is refused.
fn no_receipt_scope(s: &Session) -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        Some(s),
        "拒否",
        "拒否されました",
        "月次点検には receipt_check 権限が必要です。管理者に権限の追加を依頼してください。",
    )
}

/// No report of this client under that id.
fn report_not_found(s: &Session) -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        Some(s),
        "見つかりません",
        "点検結果が見つかりません",
        "保存期間を過ぎたか、別のクライアントの点検です。",
    )
}

/// The 月次点検 page: choose the month's UKE file.
async fn receipts_page(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let s = match session_with(&st, &headers, None, Scope::ReceiptCheck, no_receipt_scope).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    html(
        StatusCode::OK,
        html::page(
            "月次点検",
            Some((&s.caller.name, &s.csrf)),
            html::receipts_upload(&s.csrf),
        ),
    )
}

/// The page's script sends the file's bytes with the session's CSRF token in a header; the
/// answer is JSON: where the report is, or why not (`message`, for the clerk).
async fn receipts_start(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let answer = |status: StatusCode, v: serde_json::Value| (status, axum::Json(v)).into_response();
    let s = match signed_in(&st, &headers, false).await {
        Ok(s) => s,
        Err(_) => {
            return answer(
                StatusCode::FORBIDDEN,
                serde_json::json!({"message": "サインインし直してください。"}),
            );
        }
    };
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !session::same(token, &s.csrf) {
        return answer(
            StatusCode::FORBIDDEN,
            serde_json::json!({"message": "ページを開き直してください（確認用トークンが一致しません）。"}),
        );
    }
    if !s.caller.may(Scope::ReceiptCheck) {
        return answer(
            StatusCode::FORBIDDEN,
            serde_json::json!({"message": "月次点検には receipt_check 権限が必要です。"}),
        );
    }
    let mut rec = audit::begin(&st, &s.caller, Operation::ReceiptCheckStart);
    rec.detail = Some("reception".into());
    let (status, v) = match st.receipt_checks.start(&s.caller.name, &body).await {
        Ok(report) => {
            rec.check_id = Some(report.id.clone());
            (
                StatusCode::ACCEPTED,
                serde_json::json!({"location": format!("/reception/receipts/{}", report.id)}),
            )
        }
        Err(crate::receipts::StartError::Unreadable(problems)) => {
            let first = problems
                .iter()
                .take(3)
                .map(|p| format!("{}行目：{}", p.line, p.reason))
                .collect::<Vec<_>>()
                .join("／");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({"message": format!("レセプトを1件も読めませんでした。UKEファイルを選んでください。{first}")}),
            )
        }
        Err(crate::receipts::StartError::Busy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"message": "ほかの点検が実行中です。少し待ってからもう一度送ってください。"}),
        ),
        Err(crate::receipts::StartError::Store(e)) => {
            tracing::error!(error = %e, "cannot start a receipt check");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"message": "状態の保存先に接続できません。しばらくしてから送ってください。"}),
            )
        }
    };
    rec.http_status = Some(status.as_u16());
    audit::then(&st, rec, answer(status, v)).await
}

/// A receipt check's report (or its progress), for its owner.
async fn receipts_report(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match session_with(&st, &headers, None, Scope::ReceiptCheck, no_receipt_scope).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let report = match super::receipt_checks::owned(&st, &s.caller, &id).await {
        Ok(r) => r,
        Err(p) if p.status == 503 => return store_unavailable(),
        Err(_) => return report_not_found(&s),
    };
    let page = html(
        StatusCode::OK,
        html::page(
            "月次点検の結果",
            Some((&s.caller.name, &s.csrf)),
            html::receipts_report(&report, &s.csrf),
        ),
    );
    let mut rec = audit::begin(&st, &s.caller, Operation::ReceiptCheckRead);
    rec.http_status = Some(200);
    rec.check_id = Some(report.id.clone());
    rec.detail = Some("reception".into());
    audit::then(&st, rec, page).await
}

/// Keeps a report past the retention.
async fn receipts_keep(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match session_with(
        &st,
        &headers,
        Some(&form),
        Scope::ReceiptCheck,
        no_receipt_scope,
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(report) = super::receipt_checks::owned(&st, &s.caller, &id).await else {
        return report_not_found(&s);
    };
    let id = report.id.clone();
    let kept = st.receipt_checks.keep(report).await;
    let mut rec = audit::begin(&st, &s.caller, Operation::ReceiptCheckRead);
    rec.check_id = Some(id.clone());
    rec.detail = Some("kept (reception)".into());
    let page = match kept {
        Ok(_) => Redirect::to(&format!("/reception/receipts/{}", html::seg(&id))).into_response(),
        Err(crate::receipts::KeepError::Running) => message_page(
            StatusCode::CONFLICT,
            Some(&s),
            "点検中",
            "まだ点検中です",
            "点検が終わってから保存してください。",
        ),
        Err(crate::receipts::KeepError::Store(e)) => {
            tracing::error!(error = %e, "cannot keep a receipt check's report");
            store_unavailable()
        }
    };
    rec.http_status = Some(page.status().as_u16());
    audit::then(&st, rec, page).await
}

/// The gateway's health for the clinic's IT person.
async fn health(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let s = match signed_in(&st, &headers, true).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let mut items: Vec<html::HealthItem> = Vec::new();
    let breaker = st.service.breaker_state();
    items.push(html::HealthItem::new(
        "PMH への接続",
        match breaker {
            crate::service::BreakerState::Closed => "正常（ブレーカー閉）".to_owned(),
            crate::service::BreakerState::Open => {
                "接続できていません（ブレーカー開：しばらく問い合わせを止めています）".to_owned()
            }
            crate::service::BreakerState::HalfOpen => {
                "回復を確認中（ブレーカー半開：試しに問い合わせています）".to_owned()
            }
        },
        breaker == crate::service::BreakerState::Closed,
    ));
    let m = st.service.masters();
    let failure = st.service.master_store().last_failure();

    items.push(html::HealthItem::new(
        "マスタの読込",
        match &failure {
            None => format!(
                "{} に読込",
                m.loaded_at
                    .with_timezone(&crate::domain::date::jst())
                    .format("%Y-%m-%d %H:%M")
            ),
            Some(f) => format!(
                "{} の再読込は拒否されました（{} 件の誤り、前のマスタを使用中）",
                f.at.with_timezone(&crate::domain::date::jst())
                    .format("%Y-%m-%d %H:%M"),
                f.errors.len()
            ),
        },
        failure.is_none(),
    ));
    let now = st.service.now();
    match st.client_certificate_expires {
        Some(t) => items.push(html::HealthItem::new(
            "クライアント証明書の期限",
            format!(
                "{}（残り {} 日）",
                t.with_timezone(&crate::domain::date::jst())
                    .format("%Y-%m-%d"),
                (t - now).num_days()
            ),
            t - now >= super::CERTIFICATE_WARNING,
        )),
        None => items.push(html::HealthItem::new(
            "クライアント証明書",
            "なし（オン資端末のファイルを利用）",
            true,
        )),
    }
    items.extend(checkin_items(&st.metrics.checkin_counts()));
    match st.store.info().await {
        Ok(i) => {
            items.push(html::HealthItem::new(
                "記録（保存先）",
                format!(
                    "{}・{:.1} MB・スキーマ {}",
                    match i.backend {
                        "sqlite" => "SQLite（このPCのファイル）",
                        "postgres" => "PostgreSQL（共有データベース）",
                        other => other,
                    },
                    i.size_bytes as f64 / 1e6,
                    i.schema_version
                ),
                true,
            ));
            items.push(html::HealthItem::new(
                "記録の件数",
                format!(
                    "監査 {}・回答 {}・上限額管理 {}・受付ファイル {}",
                    i.audit_records, i.answers, i.ledger_rows, i.checkin_files
                ),
                true,
            ));
        }
        Err(e) => items.push(html::HealthItem::new(
            "記録（保存先）",
            format!("応答しません（{e}）"),
            false,
        )),
    }
    let lease = st.lease.report();
    let who = match (lease.mode, lease.held, lease.holder.as_deref()) {
        (crate::store::LeaseMode::None, ..) => "受付フォルダの監視なし".to_owned(),
        (crate::store::LeaseMode::Local, ..) => format!("このゲートウェイ（{}）", lease.replica),
        (_, true, _) => format!("このレプリカ（{}）", lease.replica),
        (_, false, Some(h)) => format!("別のレプリカ（{h}）"),
        (_, false, None) => "未定（記録に問い合わせ中）".to_owned(),
    };
    let fine = lease.error.is_none();
    let who = match lease.error {
        Some(e) => format!("{who}・記録に問い合わせできません: {e}"),
        None => who,
    };
    items.push(html::HealthItem::new("受付フォルダの担当", who, fine));
    let page = html::page(
        "ゲートウェイの状態",
        Some((&s.caller.name, &s.csrf)),
        html::health(&items, &m.version()),
    );
    recorded(
        &st,
        &s,
        Operation::ReceptionHealth,
        "GET /reception/health",
        html(StatusCode::OK, page),
    )
    .await
}

/// The check-in folder's counters as health items: seen, processed, rejected by reason (not
/// fine), and the files not yet finished.
fn checkin_items(c: &crate::metrics::CheckinCounts) -> Vec<html::HealthItem> {
    let mut items = Vec::new();
    for f in &c.folders {
        let folder = label_ja(f.folder);
        items.push(html::HealthItem::new(
            format!("受付ファイル：検出（{folder}）"),
            f.seen.to_string(),
            true,
        ));
        items.push(html::HealthItem::new(
            format!("受付ファイル：処理済（{folder}）"),
            f.processed.to_string(),
            true,
        ));
        for (reason, n) in &f.rejected {
            items.push(html::HealthItem::new(
                format!("受付ファイル：拒否（{folder}・{}）", label_ja(reason)),
                n.to_string(),
                false,
            ));
        }
    }
    items.push(html::HealthItem::new(
        "受付ファイル：未処理",
        c.outstanding.to_string(),
        true,
    ));
    items
}

/// The check-in counters' label values in Japanese (folders and reasons of refusal).
fn label_ja(v: &str) -> &str {
    match v {
        "face" => "顔認証（face）",
        "res" => "結果（res）",
        "unreadable" => "読み取れない",
        "partial" => "書き込み途中",
        "identity" => "本人の情報がない",
        "my_number" => "個人番号を含む",
        "no_person" => "該当者なし",
        "other_institution" => "他の医療機関",
        "link" => "リンク",
        "too_large" => "大きすぎる",
        other => other,
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "reception.css" => (CSS, "text/css; charset=utf-8"),
        "reception.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CheckinCounts, FolderCounts};

    #[test]
    fn check_in_counters_read_as_health_items() {
        let items = checkin_items(&CheckinCounts {
            folders: vec![FolderCounts {
                folder: "face",
                seen: 30,
                processed: 27,
                rejected: vec![("partial", 2), ("my_number", 1)],
            }],
            outstanding: 0,
        });
        let shown: Vec<(&str, &str, bool)> = items
            .iter()
            .map(|i| (i.name.as_str(), i.value.as_str(), i.fine))
            .collect();
        assert_eq!(
            shown,
            [
                ("受付ファイル：検出（顔認証（face））", "30", true),
                ("受付ファイル：処理済（顔認証（face））", "27", true),
                (
                    "受付ファイル：拒否（顔認証（face）・書き込み途中）",
                    "2",
                    false
                ),
                (
                    "受付ファイル：拒否（顔認証（face）・個人番号を含む）",
                    "1",
                    false
                ),
                ("受付ファイル：未処理", "0", true),
            ]
        );
    }

    #[test]
    fn every_rejection_reason_reads_in_japanese() {
        for r in crate::metrics::REJECTION_REASONS {
            assert_ne!(label_ja(r), r, "{r} has no Japanese label");
        }
    }
}
