//! The reception page in process: sign-in, sessions, CSRF, refusals, the audit of every view;
//! and in a real browser (headless Chromium by WebDriver) against a real gateway watching a
//! `face/` folder: a check-in appears without reloading, the patient's numbers match the API's
//! answer, a 管理票 amount changes the month, the print view is one A4 page.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::common::*;
use crate::webdriver::Browser;
use pmh_gateway::api::reception::html::seg;
use pmh_gateway::api::reception::session::{COOKIE, IDLE, SIGN_IN_COOKIE};
use pmh_gateway::store::{AuditQuery, Operation};

struct Page {
    status: StatusCode,
    cookies: HashMap<String, String>,
    set_cookie: Vec<String>,
    location: Option<String>,
    body: String,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Page {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let set_cookie: Vec<String> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let cookies = set_cookie
        .iter()
        .filter_map(|c| c.split(';').next()?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let location = r
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let body =
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Page {
        status,
        cookies,
        set_cookie,
        location,
        body,
    }
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", seg(v)))
        .collect();
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.join("&")))
        .unwrap()
}

/// The value of a hidden input `name` in a page.
fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!(r#"name="{name}" value=""#))
        .unwrap_or_else(|| panic!("no {name} in {body}"));
    let rest = &body[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Signs in with `token`; the session cookie and the page's CSRF token.
async fn signed_in(app: &axum::Router, token: &str) -> (String, String) {
    let page = send(app, get("/reception", "")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("サインイン"), "{}", page.body);
    let pre = &page.cookies[SIGN_IN_COOKIE];
    let csrf = hidden(&page.body, "csrf");
    let r = send(
        app,
        post(
            "/reception/sign-in",
            &format!("{SIGN_IN_COOKIE}={pre}"),
            &[("csrf", &csrf), ("token", token)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let session = r.cookies[COOKIE].clone();
    let cookie = format!("{COOKIE}={session}");
    let list = send(app, get("/reception", &cookie)).await;
    assert!(list.body.contains("本日の受付"), "{}", list.body);
    (cookie, hidden(&list.body, "csrf"))
}

#[tokio::test(start_paused = true)]
async fn the_page_signs_in_by_token_keeps_a_strict_cookie_and_refuses_without_a_session_or_csrf() {
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());

    // The sign-in form's own token must come back with it.
    let page = send(&app, get("/reception", "")).await;
    let pre = page.cookies[SIGN_IN_COOKIE].clone();
    let csrf = hidden(&page.body, "csrf");
    let forged = send(
        &app,
        post(
            "/reception/sign-in",
            &format!("{SIGN_IN_COOKIE}={pre}"),
            &[("csrf", "forged"), ("token", RECEPTION_TOKEN)],
        ),
    )
    .await;
    assert_eq!(forged.status, 403);
    // A token without the scope, and a wrong one.
    for (token, status, says) in [
        (TEST_TOKEN, 401, "reception"),
        ("pmhg_wrong", 401, "トークンが正しくありません"),
    ] {
        let r = send(
            &app,
            post(
                "/reception/sign-in",
                &format!("{SIGN_IN_COOKIE}={pre}"),
                &[("csrf", &csrf), ("token", token)],
            ),
        )
        .await;
        assert_eq!(r.status, status);
        assert!(r.body.contains(says), "{}", r.body);
        assert!(!r.cookies.contains_key(COOKIE));
    }

    let (cookie, csrf) = signed_in(&app, RECEPTION_TOKEN).await;
    let r = send(&app, get("/reception", "")).await;
    assert!(r.body.contains("サインイン"), "no cookie, no list");
    // The session cookie: HttpOnly, SameSite=Strict, the page's paths.
    let page = send(&app, get("/reception", "")).await;
    let pre = page.cookies[SIGN_IN_COOKIE].clone();
    let r = send(
        &app,
        post(
            "/reception/sign-in",
            &format!("{SIGN_IN_COOKIE}={pre}"),
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("token", RECEPTION_TOKEN),
            ],
        ),
    )
    .await;
    let set = r.set_cookie.iter().find(|c| c.starts_with(COOKIE)).unwrap();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/reception"),
        "{set}"
    );

    // Without a session: pages go to sign-in, the feed and forms are refused.
    let r = send(&app, get("/reception/patients/0000000001", "")).await;
    assert_eq!(
        (r.status, r.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/reception"))
    );
    let r = send(&app, get("/reception/events", "")).await;
    assert_eq!(r.status, 403);
    let r = send(
        &app,
        post(
            "/reception/patients/1/ledger-entries",
            "",
            &[("csrf", &csrf)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // With a session but a bad CSRF token.
    let r = send(
        &app,
        post(
            "/reception/patients/1/ledger-entries",
            &cookie,
            &[("csrf", "bad"), ("amount", "100")],
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("確認用トークン"), "{}", r.body);
    let r = send(
        &app,
        post("/reception/sign-out", &cookie, &[("csrf", "bad")]),
    )
    .await;
    assert_eq!(r.status, 403);

    // Pages carry the policy that nothing loads from elsewhere.
    let r = app
        .clone()
        .oneshot(get("/reception", &cookie))
        .await
        .unwrap();
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");

    // Idle for the timeout: signed out.
    p.clock.advance(chrono::Duration::from_std(IDLE).unwrap());
    let r = send(&app, get("/reception", &cookie)).await;
    assert!(r.body.contains("サインイン"), "idle session ended");

    // Sign-out ends a session at once.
    let (cookie, csrf) = signed_in(&app, RECEPTION_TOKEN).await;
    let r = send(
        &app,
        post("/reception/sign-out", &cookie, &[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&app, get("/reception/health", &cookie)).await;
    assert_eq!(r.location.as_deref(), Some("/reception"));

    // Each sign-in, list and sign-out is in the audit under the client's name.
    let records = p
        .state
        .store
        .search(AuditQuery {
            client: Some(RECEPTION_CLIENT.into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let count = |op: Operation| records.iter().filter(|r| r.operation == op).count();
    assert_eq!(count(Operation::ReceptionSignIn), 3);
    assert!(count(Operation::ReceptionList) >= 3);
    assert_eq!(count(Operation::ReceptionSignOut), 1);
}

#[tokio::test]
async fn a_client_without_the_charges_scope_cannot_add_a_kanrihyo_amount() {
    let p = in_process();
    let mut config = p.config.clone();
    config.store.dir = state_dir();
    config.access.clients.push(pmh_gateway::demo::client(
        "viewer",
        "pmhg_viewer_token_0123456789abcdef0123456789abcdef",
        &[pmh_gateway::auth::Scope::Reception],
    ));
    let st = pmh_gateway::app::state_with_upstream(&config, p.upstream.clone(), p.clock.clone())
        .unwrap();
    let app = pmh_gateway::api::router(st.clone());
    let (cookie, csrf) =
        signed_in(&app, "pmhg_viewer_token_0123456789abcdef0123456789abcdef").await;
    let r = send(
        &app,
        post(
            "/reception/patients/0000000004/ledger-entries",
            &cookie,
            &[
                ("csrf", &csrf),
                ("payer_number", "21136015"),
                ("recipient_number", "7294523"),
                ("date", &today().to_string()),
                ("amount", "500"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("charges 権限"), "{}", r.body);
    let ledger_entries = st
        .store
        .search(AuditQuery {
            operation: Some(Operation::LedgerEntry),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(ledger_entries.is_empty(), "nothing reached the ledger");
}

#[tokio::test]
async fn a_rebound_host_name_is_refused() {
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());
    let r = send(
        &app,
        Request::get("/reception")
            .header(header::HOST, "evil.example:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(!r.cookies.contains_key(SIGN_IN_COOKIE));
}

#[tokio::test]
async fn the_health_page_shows_upstream_masters_and_store() {
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());
    let (cookie, _) = signed_in(&app, RECEPTION_TOKEN).await;
    let r = send(&app, get("/reception/health", &cookie)).await;
    assert_eq!(r.status, 200);
    for says in [
        "PMH への接続",
        "正常",
        "マスタ",
        "national_programmes@",
        "記録（保存先）",
        "SQLite（このPCのファイル）",
        "マスタの版",
    ] {
        assert!(r.body.contains(says), "{says}: {}", r.body);
    }
    let assets = send(&app, get("/reception/assets/reception.js", "")).await;
    assert_eq!(assets.status, 200);
    assert!(assets.body.contains("EventSource"));
    assert_eq!(
        send(&app, get("/reception/assets/other.js", ""))
            .await
            .status,
        404
    );
}

/// Over real sockets: a live feed that is open when the server stops ends cleanly at once, so
/// the drain does not wait for it (were it still open at the end of the grace, the connection
/// would be cut and the read would fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_live_feed_ends_when_the_server_stops() {
    pmh_gateway::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let _terminal = pmh_gateway::sandbox::terminal::Terminal::start(crate::terminal::emulator(
        dir.path(),
        None,
    ))
    .unwrap();
    let mut cfg = crate::terminal::terminal_config(dir.path(), 1000);
    cfg.limits.shutdown_grace = Duration::from_secs(30);
    let gw = Gateway::start(cfg).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(gw.url("/reception")).send().await.unwrap();
    let pre = page
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .next()
        .unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let signed = client
        .post(gw.url("/reception/sign-in"))
        .header(header::COOKIE, &pre)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&token={RECEPTION_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let session = signed
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with(COOKIE))
        .unwrap();
    let feed = client
        .get(gw.url("/reception/events"))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(feed.headers()[header::CONTENT_TYPE], "text/event-stream");
    let (read, ()) = tokio::join!(feed.bytes(), gw.stop());
    assert!(read.is_ok(), "the feed ended cleanly: {read:?}");
}

/// In Chromium: sign in, watch a check-in arrive without reloading, open the patient, compare
/// with the API, add a 管理票 amount, print; a forged CSRF token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_check_in_arrives_live_and_the_patient_page_matches_the_api() {
    use pmh_gateway::checkin::WatchOptions;
    use pmh_gateway::sandbox::terminal::{Terminal, TerminalOptions, check_in_xml, reference_of};

    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let term = Terminal::start(TerminalOptions {
        ..crate::terminal::emulator(&root, None)
    })
    .unwrap();
    let mut cfg = crate::terminal::terminal_config(&root, 3000);
    cfg.checkin = Some(WatchOptions {
        settle: Duration::from_millis(50),
        ..WatchOptions::for_face_dir(Terminal::face_dir(&root))
    });
    let gw = Gateway::start(cfg).await;
    let base = format!("http://{}", gw.addr);

    sign_in_with_the_browser(&browser, &base).await;
    browser
        .run(
            "window.__notReloaded = true; return 1;",
            serde_json::json!([]),
        )
        .await;

    // A check-in lands in face/: its row appears without a reload.
    let persona = term
        .population()
        .find(&["showcase", "triple"])
        .unwrap()
        .clone();
    let reference = reference_of(&persona);
    let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());
    let xml = check_in_xml(&persona, 0, today, "1311111111", "000000000001").unwrap();
    let face = Terminal::face_dir(&root);
    let tmp = root.join("landing.tmp");
    std::fs::write(&tmp, xml).unwrap();
    let landed = std::time::Instant::now();
    std::fs::rename(
        &tmp,
        face.join("OQSsiquc01res_face_20261121100000000001.xml"),
    )
    .unwrap();
    let row_css = format!(r#"tr[data-ref="{reference}"].subsidies"#);
    let row = browser.wait(&row_css, 20).await;
    let appeared = landed.elapsed();
    let still = browser
        .run(
            "return window.__notReloaded === true;",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(still, true, "the row came without reloading the page");
    let text = browser.text(&row).await;
    assert!(text.contains("公費あり"), "{text}");
    // The filter box: the row stays for its own 照会番号 and its status, and goes for another.
    let hidden = |css: String| {
        let browser = &browser;
        async move {
            browser
                .run(
                    "return document.querySelector(arguments[0]).hidden;",
                    serde_json::json!([css]),
                )
                .await
        }
    };
    let filter = browser.wait("#filter", 5).await;
    browser.type_into(&filter, &reference[..4]).await;
    assert_eq!(hidden(row_css.clone()).await, false, "its own 照会番号");
    browser.type_into(&filter, "x").await;
    assert_eq!(hidden(row_css.clone()).await, true, "another 照会番号");
    browser
        .run(
            "const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); \
             const s = document.getElementById('filter-status'); s.value = 'none'; s.dispatchEvent(new Event('change')); return 1;",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(hidden(row_css.clone()).await, true, "not 情報なし");
    browser
        .run(
            "const s = document.getElementById('filter-status'); s.value = ''; s.dispatchEvent(new Event('change')); return 1;",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(hidden(row_css.clone()).await, false, "すべて");
    println!(
        "reception: a file in face/ to its row in the browser: {} ms",
        appeared.as_millis()
    );
    let weight = browser.page_weight().await;
    println!(
        "reception: list view weight (navigation transfer, body; assets transfer, body): {weight}"
    );
    browser.screenshot("reception-list.png").await;

    // The patient: the numbers are the API's.
    let link = browser.wait(&format!("{row_css} a"), 5).await;
    browser.click(&link).await;
    browser.wait("article.patient", 10).await;
    let api = gw
        .get_json(&format!("/v1/subsidy-checks?reference={reference}"))
        .await;
    let subsidies = api["subsidies"].as_array().unwrap();
    assert_eq!(subsidies.len(), 3, "{api}");
    let sections = browser.all("section.subsidy").await;
    assert_eq!(sections.len(), subsidies.len());
    let payers = browser.all("dd[data-field=payer_number] .num").await;
    let recipients = browser.all("dd[data-field=recipient_number] .num").await;
    for (i, s) in subsidies.iter().enumerate() {
        assert_eq!(
            browser.text(&payers[i]).await,
            s["payer_number"].as_str().unwrap()
        );
        assert_eq!(
            browser.text(&recipients[i]).await,
            s["recipient_number"].as_str().unwrap()
        );
    }
    let receipt = browser.wait("[data-field=receipt_type]", 2).await;
    assert_eq!(
        browser.text(&receipt).await,
        api["receipt_type"].as_str().unwrap_or("—")
    );
    browser.screenshot("reception-patient.png").await;
    // The view is an access in the audit, under the client's name, about this patient.
    let audit = gw
        .get_json(&format!(
            "/v1/audit?client={RECEPTION_CLIENT}&operation=check_by_reference&reference={reference}"
        ))
        .await;
    let records = audit.as_array().unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(records.len(), 1, "{audit}");
    assert_eq!(records[0]["detail"], "reception patient view", "{audit}");
    assert!(records[0]["patient"].is_string(), "{audit}");

    // A 管理票 amount for the first shared cap: the month goes up by it.
    let before = month_total(&browser).await;
    let amount = browser.wait("form.entry input[name=amount]", 5).await;
    browser.type_into(&amount, "1500").await;
    let institution = browser.wait("form.entry input[name=institution]", 5).await;
    browser.type_into(&institution, "サンプル病院").await;
    browser
        .click(&browser.wait("form.entry button", 5).await)
        .await;
    let after = month_total_other_than(&browser, before).await;
    assert_eq!(
        after,
        before + 1500,
        "the month to date after the 管理票 amount"
    );

    // A forged CSRF token is refused, and nothing is added.
    browser
        .run(
            "document.querySelector('form.entry input[name=csrf]').value = 'forged'; \
             document.querySelector('form.entry input[name=amount]').value = '700'; \
             document.querySelector('form.entry').submit(); return 1;",
            serde_json::json!([]),
        )
        .await;
    let refused = browser.wait("main h1", 10).await;
    assert_eq!(browser.text(&refused).await, "拒否されました");

    // The health page, for the IT person: the folder's counts are there.
    browser.goto(&format!("{base}/reception/health")).await;
    let health = browser.wait("table.health", 10).await;
    assert!(browser.text(&health).await.contains("受付ファイル：処理済"));
    browser.screenshot("reception-health.png").await;

    // The print view: one A4 page.
    browser
        .goto(&format!("{base}/reception/patients/{reference}/print"))
        .await;
    browser.wait("article.patient.print", 10).await;
    browser.screenshot("reception-print.png").await;
    let pdf = browser.print_pdf().await;
    std::fs::write(
        crate::webdriver::artifacts().join("reception-print.pdf"),
        &pdf,
    )
    .unwrap();
    assert_eq!(count_pages(&pdf), 1, "the print view fits one A4 page");
    browser
        .goto(&format!("{base}/reception/patients/{reference}"))
        .await;
    let after_forgery = month_total(&browser).await;
    assert_eq!(after_forgery, after, "the forged form added nothing");

    // Signed out: the page is gone, and so is the feed.
    let csrf_out = browser.wait("nav form button", 5).await;
    browser.click(&csrf_out).await;
    browser.wait("#token", 10).await;
    browser
        .goto(&format!("{base}/reception/patients/{reference}"))
        .await;
    browser.wait("#token", 10).await;

    browser.quit().await;
    gw.stop().await;
    drop(term);
}

/// Signs in to the page at `base` with the reception token, as the clerk would; back on the list.
pub async fn sign_in_with_the_browser(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/reception")).await;
    let token = browser.wait("#token", 10).await;
    browser.type_into(&token, RECEPTION_TOKEN).await;
    browser
        .click(&browser.wait("form.card button", 5).await)
        .await;
    browser.wait("#rows", 10).await;
}

/// The month to date of the first shared cap on the patient's page.
async fn month_total(b: &Browser) -> u64 {
    let el = b.wait(".mtd", 5).await;
    b.attr(&el, "data-total").await.unwrap().parse().unwrap()
}

/// The month to date once the page after a form's submission shows another than `before`
/// (the page before the navigation may still be the one found; its element then goes stale).
async fn month_total_other_than(b: &Browser, before: u64) -> u64 {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let el = b.wait(".mtd", 10).await;
        if let Ok(Some(v)) = b.try_attr(&el, "data-total").await {
            let v: u64 = v.parse().unwrap();
            if v != before {
                return v;
            }
        }
        assert!(
            std::time::Instant::now() < end,
            "the month to date stayed {before}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pages in a PDF: `/Type /Page` objects that are not `/Pages`.
fn count_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    let alt = b"/Type/Page";
    let mut n = 0;
    for pat in [&needle[..], &alt[..]] {
        let mut i = 0;
        while let Some(at) = pdf[i..].windows(pat.len()).position(|w| w == pat) {
            let end = i + at + pat.len();
            if pdf.get(end) != Some(&b's') {
                n += 1;
            }
            i = end;
        }
    }
    n
}

/// The list of today's check-ins and its live feed show 照会番号 with programme names: each view
/// and each row sent is recorded with the keyed 照会番号 it showed, so that a search of the audit
/// by 照会番号 ("who saw this patient") finds them.
#[tokio::test]
async fn the_list_and_its_feed_are_audited_with_every_reference_they_show() {
    use futures::StreamExt;
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());
    let first_ref = handle_check_in(&p.state, 0).await;
    let (cookie, _) = signed_in(&app, RECEPTION_TOKEN).await;
    let list = send(&app, get("/reception", &cookie)).await;
    assert!(list.body.contains(&first_ref), "the list shows it");
    // The filter box, and each row's status for it.
    assert!(list.body.contains(r#"id="filter""#), "{}", list.body);
    assert!(
        ["subsidies", "check", "none"]
            .iter()
            .any(|s| list.body.contains(&format!(r#"data-status="{s}""#))),
        "{}",
        list.body
    );
    // The feed: a row for a new check-in is recorded before it is sent.
    let feed = app
        .clone()
        .oneshot(get("/reception/events", &cookie))
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let mut body = feed.into_body().into_data_stream();
    let second_ref = handle_check_in(&p.state, 1).await;
    let mut seen = String::new();
    while !seen.contains("event: row") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("a row arrives")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(&second_ref), "{seen}");
    // The time of the change, in JST by the gateway's clock (10:00 in these tests).
    assert!(seen.contains(r#"data-updated="10:00:00""#), "{seen}");
    let who_saw = |reference: &str| {
        let st = p.state.clone();
        let key = st.hasher.reference(reference);
        async move {
            st.store
                .search(AuditQuery {
                    reference: Some(key),
                    limit: 100,
                    ..AuditQuery::default()
                })
                .await
                .unwrap()
        }
    };
    let saw_first = who_saw(&first_ref).await;
    assert!(
        saw_first
            .iter()
            .any(|r| r.operation == Operation::ReceptionList
                && r.client == RECEPTION_CLIENT
                && r.detail.as_deref() == Some("GET /reception")),
        "{saw_first:?}"
    );
    let saw_second = who_saw(&second_ref).await;
    assert!(
        saw_second
            .iter()
            .any(|r| r.operation == Operation::ReceptionList
                && r.detail.as_deref() == Some("GET /reception/events: a row")),
        "{saw_second:?}"
    );
}

/// Two application states on one store, with one secret: what two replicas (or a gateway before
/// and after a restart) share.
fn replica(
    store: std::sync::Arc<dyn pmh_gateway::store::Store>,
    hasher: std::sync::Arc<pmh_gateway::store::Hasher>,
) -> axum::Router {
    pmh_gateway::api::router(replica_state(store, hasher))
}

fn replica_state(
    store: std::sync::Arc<dyn pmh_gateway::store::Store>,
    hasher: std::sync::Arc<pmh_gateway::store::Hasher>,
) -> pmh_gateway::api::AppState {
    let p = in_process();
    pmh_gateway::app::state_with_store(
        &p.config,
        p.upstream.clone(),
        p.clock.clone(),
        store,
        hasher,
    )
    .unwrap()
}

/// A check-in of the population's `n`-th persona handled by `st` (its prefetch), and its
/// 照会番号.
async fn handle_check_in(st: &pmh_gateway::api::AppState, n: usize) -> String {
    let pop = pmh_gateway::sandbox::Population::generate(SEED, today(), 300);
    let person = &pop.personas[n];
    let xml = pmh_gateway::sandbox::terminal::check_in_xml(
        person,
        n as u64,
        today(),
        "1311111111",
        &format!("{n:012}"),
    )
    .unwrap();
    pmh_gateway::checkin::prefetch(
        &st.service,
        &st.metrics,
        None,
        &xml,
        &format!("OQSsiquc01res_face_{n:06}.xml"),
        ten_am_jst(),
    )
    .await
    .unwrap();
    pmh_gateway::sandbox::terminal::reference_of(person)
}

/// A signed-in page on `app`, and its CSRF token, or `None` when `cookie` has no session there.
async fn page_on(app: &axum::Router, cookie: &str) -> Option<String> {
    let r = send(app, get("/reception", cookie)).await;
    r.body
        .contains("本日の受付")
        .then(|| hidden(&r.body, "csrf"))
}

#[tokio::test]
async fn a_restart_signs_nobody_out() {
    // A session opened before the restart is there after it (the store keeps it, under a keyed
    // hash of its id); the CSRF token is the same, derived from the id by any process.
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let store = pmh_gateway::store::SqliteStore::open(dir.path(), false).unwrap();
        let hasher =
            pmh_gateway::store::Hasher::open_or_create(&dir.path().join("audit.key")).unwrap();
        (store, std::sync::Arc::new(hasher))
    };
    let (store, hasher) = open();
    let before = replica(std::sync::Arc::new(store), hasher);
    let (cookie, csrf) = signed_in(&before, RECEPTION_TOKEN).await;
    drop(before);
    // The first store is dropped with the router; the process opens the folder again.
    let (store, hasher) = open();
    let after = replica(std::sync::Arc::new(store), hasher);
    assert_eq!(page_on(&after, &cookie).await, Some(csrf));
    // The raw store holds no session id.
    let id = cookie.split_once('=').unwrap().1.to_owned();
    for suffix in ["", "-wal"] {
        let file = dir
            .path()
            .join(format!("{}{suffix}", pmh_gateway::store::DB_FILE));
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
            "the session id is not in {}",
            file.display()
        );
    }
}

#[tokio::test]
async fn any_replica_serves_any_session() {
    // Two gateways on one PostgreSQL with one secret: signed in through A, the clerk keeps
    // working through B (the same CSRF token), signs out through B, and A no longer knows it.
    let Some(shared) = SharedDatabase::start_or_skip("shared sessions").await else {
        return;
    };
    let gateway = || async { pmh_gateway::api::router(shared.gateway().await) };
    let (a, b) = (gateway().await, gateway().await);
    let (cookie, csrf) = signed_in(&a, RECEPTION_TOKEN).await;
    assert_eq!(page_on(&b, &cookie).await, Some(csrf.clone()));
    let r = send(&b, post("/reception/sign-out", &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(page_on(&a, &cookie).await, None);
}

#[tokio::test]
async fn every_replica_lists_every_check_in_and_a_restart_keeps_the_list() {
    // Two gateways on one PostgreSQL: a check-in handled by A is on B's list once B has read
    // the shared list (what its sync loop does every 500 ms), with its outcome; a third
    // gateway started afterwards (a restart) has the day's list at its first read.
    let Some(shared) = SharedDatabase::start_or_skip("shared list").await else {
        return;
    };
    let gateway = || shared.gateway();
    let (a, b) = (gateway().await, gateway().await);
    let first = handle_check_in(&a, 0).await;
    let second = handle_check_in(&a, 1).await;
    let last = b.service.sync_board(0).await;
    assert!(last > 0);
    let app_b = pmh_gateway::api::router(b.clone());
    let (cookie, _) = signed_in(&app_b, RECEPTION_TOKEN).await;
    let list = send(&app_b, get("/reception", &cookie)).await;
    assert!(
        list.body.contains(&first) && list.body.contains(&second),
        "{}",
        list.body
    );
    // Newest first, each with its outcome (not 取得中).
    assert!(list.body.find(&second) < list.body.find(&first));
    assert!(!list.body.contains("取得中"), "{}", list.body);
    // Read again: nothing new, nothing changes.
    assert_eq!(b.service.sync_board(last).await, last);
    assert_eq!(b.service.board().rows_for(b.service.today()).len(), 2);
    // A's own rows read back do not turn its outcomes into 取得中.
    a.service.sync_board(0).await;
    assert!(
        a.service
            .board()
            .rows_for(a.service.today())
            .iter()
            .all(|r| r.status != pmh_gateway::service::RowStatus::Pending)
    );
    // A restart: a new gateway on the same database lists both.
    let c = gateway().await;
    c.service.sync_board(0).await;
    assert_eq!(c.service.board().rows_for(c.service.today()).len(), 2);
}

#[tokio::test]
async fn the_month_of_a_shared_cap_is_a_kanrihyo_table_also_in_print() {
    // The triple persona (精神通院, 難病 with shared caps, マル障): two amounts from other
    // institutions' paper 管理票 entered on the page; the table has the paper form's columns and
    // its running total, on the page and in the print view.
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());
    let pop = pmh_gateway::sandbox::Population::generate(SEED, today(), 300);
    let n = pop
        .personas
        .iter()
        .position(|x| x.tags.contains(&"triple"))
        .unwrap();
    let reference = handle_check_in(&p.state, n).await;
    let (cookie, csrf) = signed_in(&app, RECEPTION_TOKEN).await;
    let page = send(
        &app,
        get(&format!("/reception/patients/{reference}"), &cookie),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let payer = hidden(&page.body, "payer_number");
    let recipient = hidden(&page.body, "recipient_number");
    for (amount, institution) in [("1200", "さくら薬局"), ("800", "みどり病院")] {
        let r = send(
            &app,
            post(
                &format!("/reception/patients/{reference}/ledger-entries"),
                &cookie,
                &[
                    ("csrf", &csrf),
                    ("payer_number", &payer),
                    ("recipient_number", &recipient),
                    ("date", &today().to_string()),
                    ("amount", amount),
                    ("institution", institution),
                ],
            ),
        )
        .await;
        assert!(
            r.status.is_redirection() || r.status == 200,
            "{}: {}",
            r.status,
            r.body
        );
    }
    for path in [
        format!("/reception/patients/{reference}"),
        format!("/reception/patients/{reference}/print"),
    ] {
        let page = send(&app, get(&path, &cookie)).await;
        for says in [
            "自己負担上限額管理票（今月）",
            "<th scope=\"col\">医療費総額</th>",
            "<th scope=\"col\">累積額</th>",
            "さくら薬局",
            "みどり病院",
            "<td>1,200円</td><td>1,200円</td>",
            "<td>800円</td><td>2,000円</td>",
        ] {
            assert!(page.body.contains(says), "{path}: {says}\n{}", page.body);
        }
    }
}

/// A response's body as text, asked with `token`.
async fn text_as(app: &axum::Router, token: &str, path: &str) -> (StatusCode, String) {
    let r = app
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_patients_name_is_shown_to_reception_only_and_kept_only_sealed() {
    // A check-in's name (kanji and kana, as the file gives them, ● included), sex and
    // birthdate are on the reception list and the patient's page; not in any API answer a
    // `check` caller gets (every rendering), the metrics, the audit, the logs at TRACE, or the
    // raw store files (where the row and the check-in are sealed). The API's client has every
    // scope but `reception`.
    let (logs, _guard) = capture_logs("trace");
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());
    let pop = pmh_gateway::sandbox::Population::generate(SEED, today(), 300);
    // A persona whose family name is written ●橋 (髙橋: 髙 is outside JIS X 0208).
    let n = (0..pop.personas.len())
        .find(|&i| {
            pmh_gateway::sandbox::terminal::name_of(&pop.personas[i])
                .name
                .contains('●')
        })
        .unwrap();
    let who = pmh_gateway::sandbox::terminal::name_of(&pop.personas[n]);
    let reference = handle_check_in(&p.state, n).await;

    let (cookie, _) = signed_in(&app, RECEPTION_TOKEN).await;
    let list = send(&app, get("/reception", &cookie)).await;
    assert!(list.body.contains(&who.name), "{}", list.body);
    assert!(list.body.contains(&who.kana), "{}", list.body);
    let patient = send(
        &app,
        get(&format!("/reception/patients/{reference}"), &cookie),
    )
    .await;
    assert_eq!(patient.status, 200);
    assert!(patient.body.contains(&who.name), "{}", patient.body);
    let born = chrono::NaiveDate::parse_from_str(&pop.personas[n].insured.birthdate, "%Y-%m-%d")
        .unwrap()
        .format("%Y/%m/%d")
        .to_string();
    assert!(patient.body.contains(&born), "{}", patient.body);

    // Everything else.
    let mut seen = Vec::new();
    for format in ["json", "orca", "orca-xml", "fhir"] {
        let (status, body) = text_as(
            &app,
            TEST_TOKEN,
            &format!("/v1/subsidy-checks?reference={reference}&format={format}"),
        )
        .await;
        assert_eq!(status, 200, "{format}: {body}");
        seen.push((format!("the {format} answer"), body));
    }
    let (_, metrics) = text_as(&app, TEST_TOKEN, "/metrics").await;
    seen.push(("the metrics".into(), metrics));
    let (status, audit) = text_as(&app, TEST_TOKEN, "/v1/audit?format=jsonl").await;
    assert_eq!(status, 200);
    assert!(audit.lines().count() >= 3, "{audit}");
    seen.push(("the audit".into(), audit));
    seen.push(("the logs".into(), logs.text()));
    assert!(logs.text().len() > 1000, "the logs were captured");
    for (what, text) in &seen {
        for s in [&who.name, &who.kana] {
            assert!(!text.contains(s.as_str()), "{what} holds {s}");
        }
    }
    assert_nothing_personal_in(
        &p.config.store.dir,
        &[("name", who.name.clone()), ("kana", who.kana.clone())],
    );

    // Sealed, not lost: a replica that starts on the same store lists the person.
    let again = replica_state(p.state.store.clone(), p.state.hasher.clone());
    again.service.sync_board(0).await;
    let app = pmh_gateway::api::router(again);
    let list = send(&app, get("/reception", &cookie)).await;
    assert!(list.body.contains(&who.name), "{}", list.body);
}

/// The 月次点検 view: the file sent as the page's script sends it (its bytes, the CSRF token in a
/// header), then the report grouped by receipt with each patient's name as the file gives it,
/// printable and kept on request; an upload without the session's CSRF token is refused.
#[tokio::test]
async fn the_month_end_check_runs_from_the_page_and_shows_each_receipt_by_name() {
    let (state, _) = in_process_state();
    let app = pmh_gateway::api::router(state);
    let (cookie, csrf) = signed_in(&app, RECEPTION_TOKEN).await;
    let page = send(&app, get("/reception/receipts", &cookie)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="uke-form""#), "{}", page.body);
    let pop = pmh_gateway::sandbox::Population::generate(SEED, today(), 300);
    let masters = pmh_gateway::masters::embedded();
    let month = chrono::Datelike::with_day(&today(), 1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .unwrap();
    let file = pmh_gateway::sandbox::uke::month_file(&pop, &masters, month, 40);
    let upload = |token: &str| {
        Request::post("/reception/receipts")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", token)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(file.bytes.clone()))
            .unwrap()
    };
    let refused = send(&app, upload("wrong")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let started = send(&app, upload(&csrf)).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let v: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    let location = v["location"].as_str().unwrap().to_owned();
    let report = loop {
        let p = send(&app, get(&location, &cookie)).await;
        assert_eq!(p.status, 200);
        if !p.body.contains("uke-progress") {
            break p.body;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    // Every planted receipt, by its number and the name the file gives.
    for (n, code) in &file.planted {
        assert!(
            report.contains(&format!("レセプト {n}　<span class=\"name\">患者{n:04}")),
            "{n}: {report}"
        );
        assert!(report.contains(&format!("({})", code.as_str())), "{code:?}");
    }
    assert!(report.contains(r#"class="print""#));
    let keep_csrf = hidden(&report, "csrf");
    let id = location.rsplit('/').next().unwrap();
    let kept = send(
        &app,
        post(
            &format!("/reception/receipts/{id}/keep"),
            &cookie,
            &[("csrf", &keep_csrf)],
        ),
    )
    .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let again = send(&app, get(&location, &cookie)).await;
    assert!(again.body.contains("保存済み"));
    // An id not made (or past its retention, or another client's) is not found.
    let unknown = send(
        &app,
        get(
            "/reception/receipts/0193a1b2-0000-7000-8000-000000000000",
            &cookie,
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

/// 月次点検 in a real browser: the file chosen in the page's file input is sent by its script,
/// the progress page follows, then the receipts to review with each patient's name; the report
/// prints (PDF) without the page's buttons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_month_end_check_uploads_a_file_and_shows_the_receipts_by_name() {
    use pmh_gateway::sandbox::terminal::Terminal;

    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let term = Terminal::start(crate::terminal::emulator(&root, None)).unwrap();
    let gw = Gateway::start(crate::terminal::terminal_config(&root, 3000)).await;
    let base = format!("http://{}", gw.addr);
    let masters = pmh_gateway::masters::embedded();
    let today = term.population().today;
    let month = chrono::Datelike::with_day(&today, 1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .unwrap();
    let file = pmh_gateway::sandbox::uke::month_file(term.population(), &masters, month, 20);
    let path = root.join("RECEIPTC.UKE");
    std::fs::write(&path, &file.bytes).unwrap();

    sign_in_with_the_browser(&browser, &base).await;
    browser.goto(&format!("{base}/reception/receipts")).await;
    let input = browser.wait("#uke-file", 10).await;
    browser.type_into(&input, path.to_str().unwrap()).await;
    browser
        .click(&browser.wait("#uke-form button", 5).await)
        .await;
    browser.wait("section.receipt", 60).await;
    let page = browser.text(&browser.wait("main", 5).await).await;
    for (n, code) in &file.planted {
        assert!(
            page.contains(&format!("レセプト {n}　患者{n:04}")),
            "{n}: {page}"
        );
        assert!(page.contains(code.as_str()), "{code:?}: {page}");
    }
    browser.screenshot("reception-receipts.png").await;
    let pdf = browser.print_pdf().await;
    std::fs::write(
        crate::webdriver::artifacts().join("reception-receipts.pdf"),
        &pdf,
    )
    .unwrap();
    assert!(count_pages(&pdf) >= 1);
    browser.quit().await;
    gw.stop().await;
    term.shutdown().await;
}
