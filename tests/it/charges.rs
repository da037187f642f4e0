//! The charge and ledger routes in-process: quotes from an earlier check and from paper
//! certificates, the 管理票 sequence across a hospital and a pharmacy through commits and
//! ledger entries, idempotent commits, corrections and voids, the problems, and the audit. The
//! expected amounts are derived by hand in the comments.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;
use pmh_gateway::sandbox::Population;
use pmh_gateway::store::{AuditQuery, Operation};

async fn send(
    app: &axum::Router,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    send_as(TEST_TOKEN, app, method, path, body).await
}

async fn send_as(
    token: &str,
    app: &axum::Router,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = request_as(token, app, method, path, body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn quote(app: &axum::Router, body: Value) -> (StatusCode, Value) {
    send(app, Method::POST, "/v1/charge-quotes", Some(body)).await
}

/// The month of the paper 精神通院 certificate of these tests.
async fn ledger(app: &axum::Router, month: &str) -> (StatusCode, Value) {
    let path = format!("/v1/ledgers?payer_number=21136015&recipient_number=1234566&month={month}");
    send(app, Method::GET, &path, None).await
}

async fn commit(app: &axum::Router, body: Value) -> (StatusCode, Value) {
    send(app, Method::POST, "/v1/charges", Some(body)).await
}

/// 精神通院 (21, 中間所得… here 低所得2: cap 5,000) typed from a paper certificate.
fn seishin() -> Value {
    json!([{"payer_number": "21136015", "recipient_number": "1234566", "income_class": "低所得2"}])
}

fn kenpo() -> Value {
    json!({"kind": "health_insurance", "share_percent": 30})
}

fn visit(id: &str, day: &str, claim: &str, points: u64) -> Value {
    json!({"visit_id": id, "date": day, "claim": claim, "parts": [{"points": points, "subsidies": [1]}]})
}

#[tokio::test]
async fn a_quote_from_an_earlier_check_and_the_same_from_paper() {
    let (app, _) = in_process_app();
    let pop = Population::generate(SEED, today(), 300);
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let (s, v) = send(&app, Method::POST, "/v1/subsidy-checks", Some(body_for(p))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let check_id = v["check_id"].as_str().unwrap().to_owned();
    // The showcase patient: 第1 精神通院 (1割, cap 5,000), 第2 難病 (cap 0), 第3 マル障 (負担なし).
    // A clinic visit of 1,000 points (10,000 yen) under 精神通院 alone: 3割 copay 3,000; 1割 of
    // 10,000 = 1,000 (cap 5,000) → 1,000 at the window; 精神通院 pays 2,000.
    let body = json!({"check_id": check_id, "insurance": kenpo(),
        "visit": {"date": today().to_string(), "parts": [{"points": 1000, "subsidies": [1]}]}});
    let (s, v) = quote(&app, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["window_charge"], 1000);
    assert_eq!(v["receipt"]["subsidies"][0]["pays"], 2000);
    assert_eq!(
        v["receipt"]["subsidies"][0]["covered_copay_outpatient"],
        3000
    );
    assert_eq!(v["subsidies"][0]["short_name"], "精神通院");
    assert_eq!(v["subsidies"][0]["month_to_date"]["remaining"], 4000);
    assert!(v["trace"].as_array().unwrap().len() > 3);
    // With all three on the items: 難病 (cap 0) leaves nothing → 0; マル障 has nothing to do.
    let body = json!({"check_id": check_id, "insurance": kenpo(),
        "visit": {"date": today().to_string(), "parts": [{"points": 1000, "burden_code": "2"}]}});
    let (s, v) = quote(&app, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["window_charge"], 1000,
        "burden code 2 is 医保 + 第1公費: {v}"
    );
    // The same visit from a paper certificate.
    let body = json!({"subsidies": seishin(), "insurance": kenpo(),
        "visit": {"date": today().to_string(), "parts": [{"points": 1000, "subsidies": [1]}]}});
    let (s, v) = quote(&app, body).await;
    assert_eq!(
        (s, v["window_charge"].clone()),
        (StatusCode::OK, json!(1000)),
        "{v}"
    );
    // A quote stores nothing: the ledger is still empty.
    let (_, l) = ledger(&app, &month()).await;
    assert_eq!(l["total"], 0, "{l}");
}

/// The 管理票 of the 精神通院 example (cap 5,000) from the hospital's side: its own visits
/// committed, the pharmacy's amounts entered from the paper 管理票.
#[tokio::test]
async fn the_kanrihyo_sequence_through_commits_and_entries() {
    let (app, _) = in_process_app();
    let body = |v: Value, earlier: Value| json!({"subsidies": seishin(), "insurance": kenpo(), "visit": v, "earlier_visits": earlier});
    // 4/1 hospital, 10,000: 1,000 (running 1,000).
    let (s, v) = commit(
        &app,
        body(visit("H1", "2026-04-01", "medical", 1000), json!([])),
    )
    .await;
    assert_eq!(
        (s, v["window_charge"].clone()),
        (StatusCode::CREATED, json!(1000)),
        "{v}"
    );
    assert_eq!(v["committed"]["version"], 1);
    // 4/1 pharmacy, 5,000: 500 (running 1,500), from the 管理票.
    let entry = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-01",
        "amount": 500, "total_cost": 5000, "institution": "さくら薬局", "monthly_cap": 5000});
    let (s, l) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    assert_eq!(
        (
            l["own"].clone(),
            l["others"].clone(),
            l["remaining"].clone()
        ),
        (json!(1000), json!(500), json!(3500))
    );
    // 4/3 hospital, 30,000: 3,000 (running 4,500). The earlier visit H1 is not in the request:
    // it counts through the ledger.
    let (s, v) = commit(
        &app,
        body(visit("H2", "2026-04-03", "medical", 3000), json!([])),
    )
    .await;
    assert_eq!(
        (s, v["window_charge"].clone()),
        (StatusCode::CREATED, json!(3000)),
        "{v}"
    );
    assert_eq!(
        v["subsidies"][0]["month_to_date"],
        json!({"own": 4000, "others": 500, "total": 4500, "remaining": 500})
    );
    // 4/3 pharmacy, 10,000: 1,000 cut to 500 (running 5,000).
    let entry = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-03", "amount": 500, "total_cost": 10000});
    let (_, l) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(l["total"], 5000);
    assert_eq!(l["remaining"], 0);
    // 4/5 hospital: nothing more — here with H1 and H2 given as earlier visits: the same.
    let earlier = json!([
        visit("H1", "2026-04-01", "medical", 1000),
        visit("H2", "2026-04-03", "medical", 3000)
    ]);
    let (s, v) = commit(
        &app,
        body(visit("H3", "2026-04-05", "medical", 2000), earlier.clone()),
    )
    .await;
    assert_eq!(
        (s, v["window_charge"].clone()),
        (StatusCode::CREATED, json!(0)),
        "{v}"
    );
    // Voiding H2 gives its 3,000 back: H3 corrected now costs 1割 of 20,000 = 2,000 (3,000 are
    // left under the cap).
    let (s, d) = send(&app, Method::DELETE, "/v1/charges/H2", None).await;
    assert_eq!(
        (s, d["version"].clone(), d["already_void"].clone()),
        (StatusCode::OK, json!(2), json!(false))
    );
    let (s, d) = send(&app, Method::DELETE, "/v1/charges/H2", None).await;
    assert_eq!(
        (s, d["already_void"].clone()),
        (StatusCode::OK, json!(true))
    );
    let mut again = body(
        visit("H3", "2026-04-05", "medical", 2000),
        json!([visit("H1", "2026-04-01", "medical", 1000)]),
    );
    let (s, p) = commit(&app, again.clone()).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a different request for H3 without correction: {p}"
    );
    again["correction"] = json!(true);
    let (s, v) = commit(&app, again).await;
    assert_eq!(
        (
            s,
            v["window_charge"].clone(),
            v["committed"]["version"].clone()
        ),
        (StatusCode::CREATED, json!(2000), json!(2)),
        "{v}"
    );
    let (_, l) = ledger(&app, "2026-04").await;
    // Own: H1 1,000 + H3 (v2) 2,000; others 1,000.
    assert_eq!(
        (l["own"].clone(), l["others"].clone(), l["total"].clone()),
        (json!(3000), json!(1000), json!(4000)),
        "{l}"
    );
    assert_eq!(l["entries"].as_array().unwrap().len(), 4);
    // A mistyped 管理票 amount (5,000 instead of 500) is voided, not edited: the month goes back.
    let typo = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-06", "amount": 5000});
    let (_, l) = send(&app, Method::POST, "/v1/ledger-entries", Some(typo)).await;
    assert_eq!(l["others"], 6000);
    let id = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["amount"] == 5000)
        .unwrap()["id"]
        .clone();
    let (s, l) = send(
        &app,
        Method::DELETE,
        &format!("/v1/ledger-entries/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (s, l["others"].clone()),
        (StatusCode::OK, json!(1000)),
        "{l}"
    );
    // A visit's row is voided with its visit, not here; an unknown id is 404.
    let own = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "own")
        .unwrap()["id"]
        .clone();
    let (s, _) = send(
        &app,
        Method::DELETE,
        &format!("/v1/ledger-entries/{own}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = send(&app, Method::DELETE, "/v1/ledger-entries/999999", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Another month starts empty.
    let (_, l) = ledger(&app, "2026-05").await;
    assert_eq!(l["total"], 0);
}

#[tokio::test]
async fn a_commit_sent_twice_is_answered_once() {
    let (app, _) = in_process_app();
    let body = json!({"subsidies": seishin(), "insurance": kenpo(), "visit": visit("R1", "2026-04-01", "medical", 1000)});
    let (s1, v1) = commit(&app, body.clone()).await;
    assert_eq!(s1, StatusCode::CREATED);
    // The same request, keys in another order and with whitespace: the first answer again.
    let text = serde_json::to_string_pretty(&json!({"visit": body["visit"], "insurance": body["insurance"], "subsidies": body["subsidies"]})).unwrap();
    let req = Request::post("/v1/charges")
        .header(header::AUTHORIZATION, format!("Bearer {TEST_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(text))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v2: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v2["committed"], json!({"version": 1, "repeated": true}));
    assert_eq!(v2["trace"], v1["trace"]);
    let (_, l) = ledger(&app, "2026-04").await;
    assert_eq!(l["own"], 1000, "one row, not two: {l}");
}

#[tokio::test]
async fn what_cannot_be_computed_is_said_and_why() {
    let (app, _) = in_process_app();
    let base = || {
        json!({"subsidies": seishin(), "insurance": kenpo(),
        "visit": {"date": "2026-04-01", "parts": [{"points": 100, "subsidies": [1]}]}})
    };
    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            {
                let mut b = base();
                b["visit"]["parts"][0]["points"] = json!(-5);
                b
            },
            StatusCode::BAD_REQUEST,
            "visit.parts[0].points",
            "must not be negative",
        ),
        (
            {
                let mut b = base();
                b["insurance"]["high_cost_class"] = json!("A09");
                b
            },
            StatusCode::BAD_REQUEST,
            "insurance.high_cost_class",
            "オン資 code",
        ),
        (
            {
                let mut b = base();
                b["visit"]["parts"][0]["subsidies"] = json!([2]);
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            "not among the subsidies",
        ),
        (
            {
                let mut b = base();
                b["check_id"] = json!("x");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "check_id",
            "one of them",
        ),
        (
            {
                let mut b = base();
                b["insurance"]["share_percent"] = json!(25);
                b
            },
            StatusCode::BAD_REQUEST,
            "insurance.share_percent",
            "10, 20 or 30",
        ),
        (
            {
                let mut b = base();
                b["visit"]["parts"][0]["yen"] = json!(100);
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "visit.parts[0]",
            "`points` or as `yen`",
        ),
        (
            {
                let mut b = base();
                b["visit"]["parts"][0]["burden_code"] = json!("5");
                b["visit"]["parts"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("subsidies");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "visit.parts[0].burden_code",
            "every part of an insured receipt has 医保",
        ),
        (
            {
                let mut b = base();
                b["earlier_visits"] = json!([visit("E1", "2026-03-31", "medical", 100)]);
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            "one calendar month",
        ),
        (
            {
                let mut b = base();
                b["earlier_visits"] = json!([{"date": "2026-04-01", "parts": [{"points": 1}]}]);
                b
            },
            // The document requires it (ChargeVisitWithId): 400.
            StatusCode::BAD_REQUEST,
            "earlier_visits[0].visit_id",
            "is required",
        ),
        (
            {
                let mut b = base();
                b["subsidies"][0]["payer_number"] = json!("21136016");
                b
            },
            // Eight digits as the document says; the check digit is a rule in words (422).
            StatusCode::UNPROCESSABLE_ENTITY,
            "subsidies[0].payer_number",
            "check digit",
        ),
        (
            {
                let mut b = base();
                b["visit"]["claim"] = json!("pharmacy");
                b["visit"]["care"] = json!("inpatient");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "visit.care",
            "outpatient",
        ),
        // What the document states, the server refuses as it does (400).
        (
            {
                let mut b = base();
                b["subsidies"][0]["recipient_number"] = json!("12 34");
                b
            },
            StatusCode::BAD_REQUEST,
            "subsidies[0].recipient_number",
            "1–30 digits, letters or hyphens",
        ),
        (
            {
                let mut b = base();
                b["correction"] = json!(false);
                b
            },
            StatusCode::BAD_REQUEST,
            "correction",
            "not a field of a quote",
        ),
        (
            {
                let mut b = base();
                b["visit"]["parts"][0]["points"] = json!(1_000_000_001_u64);
                b
            },
            StatusCode::BAD_REQUEST,
            "visit.parts[0].points",
            "is over 1000000000",
        ),
    ];
    for (body, status, field, reason) in cases {
        let (s, p) = quote(&app, body.clone()).await;
        assert_eq!(s, status, "{body}: {p}");
        let text = p.to_string();
        assert!(text.contains(reason), "{body}: {p}");
        if !field.is_empty() {
            assert_eq!(p["errors"][0]["field"], field, "{p}");
        }
        assert!(
            !text.contains("1234566"),
            "the recipient number is never echoed: {p}"
        );
    }
    let (s, p) = quote(
        &app,
        json!({"check_id": "0193a1b2-0000-7000-8000-000000000000", "insurance": kenpo(),
        "visit": {"date": "2026-04-01", "parts": [{"points": 100}]}}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    let (s, p) = quote(
        &app,
        json!({"check_id": "no-such-check", "insurance": kenpo(),
        "visit": {"date": "2026-04-01", "parts": [{"points": 100}]}}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not a check id: {p}");
    // Committing needs a visit id (a quote does not): the document's ChargeCommitRequest
    // requires it, so 400.
    let (s, p) = commit(&app, base()).await;
    assert_eq!(
        (s, p["errors"][0]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("visit.visit_id"))
    );
    // A malformed field and one that does not fit: 400, both listed.
    let mut both = base();
    both["insurance"]["share_percent"] = json!(25);
    both["visit"]["parts"][0]["yen"] = json!(100);
    let (s, p) = quote(&app, both).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["errors"].as_array().unwrap().len(), 2, "{p}");
    let (s, _) = send(&app, Method::DELETE, "/v1/charges/never-committed", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = send(&app, Method::DELETE, "/v1/charges/bad%20id", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, p) = send(
        &app,
        Method::GET,
        "/v1/ledgers?payer_number=21136015&month=2026-4",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(p["errors"].as_array().unwrap().len(), 2, "{p}");
}

#[tokio::test]
async fn charge_accesses_are_audited_by_certificate_hash() {
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());
    let body = json!({"subsidies": seishin(), "insurance": kenpo(), "visit": visit("A1", "2026-04-01", "medical", 1000)});
    quote(&app, body.clone()).await;
    commit(&app, body).await;
    ledger(&app, "2026-04").await;
    let card = p.state.hasher.card(
        &pmh_gateway::domain::PayerNumber::parse("21136015").unwrap(),
        "1234566",
    );
    let records = p
        .state
        .store
        .search(AuditQuery {
            card: Some(card),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let ops: Vec<Operation> = records.iter().map(|r| r.operation).collect();
    assert_eq!(
        ops,
        [
            Operation::LedgerRead,
            Operation::ChargeCommit,
            Operation::ChargeQuote
        ]
    );
    assert!(records.iter().all(|r| r.client == TEST_CLIENT));
    let all = format!("{records:?}");
    assert!(!all.contains("1234566"));
}

#[tokio::test]
async fn a_quote_answer_snapshot() {
    let (app, _) = in_process_app();
    // 入院 3割 ウ, 自立支援 更生 (15, cap 30,000 from the certificate) on 20,000 points + 40,000
    // points insurance-only: the sixth worked example (window 83,430).
    let body = json!({"subsidies": [{"payer_number": "15136013", "recipient_number": "7654320", "monthly_cap": 30000}],
        "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
        "visit": {"visit_id": "IN-1", "date": "2026-04-10", "care": "inpatient",
                  "parts": [{"points": 20000, "subsidies": [1]}, {"points": 40000}]}});
    let (s, v) = quote(&app, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["window_charge"], 83430);
    insta::assert_json_snapshot!("charge_quote_inpatient", v, {".masters_version" => "[version]"});
}

#[tokio::test]
async fn the_check_answer_shows_the_month_of_a_shared_cap() {
    let (app, _) = in_process_app();
    let pop = Population::generate(SEED, today(), 300);
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let (_, v) = send(&app, Method::POST, "/v1/subsidy-checks", Some(body_for(p))).await;
    assert!(
        v["subsidies"][0].get("month_to_date").is_none(),
        "nothing in the ledger yet"
    );
    let recipient = v["subsidies"][0]["recipient_number"]
        .as_str()
        .unwrap()
        .to_owned();
    // A visit under 精神通院 (1割 of 10,000 = 1,000) committed, and 500 from the 管理票.
    let body = json!({"check_id": v["check_id"], "insurance": kenpo(),
        "visit": {"visit_id": "T1", "date": today().to_string(), "parts": [{"points": 1000, "subsidies": [1]}]}});
    let (s, c) = commit(&app, body).await;
    assert_eq!(
        (s, c["window_charge"].clone()),
        (StatusCode::CREATED, json!(1000)),
        "{c}"
    );
    let entry = json!({"payer_number": "21136015", "recipient_number": recipient, "date": today().to_string(), "amount": 500});
    let (s, _) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(s, StatusCode::CREATED);
    // The next check of the month: cap 5,000, own 1,000, others 500 → 3,500 left.
    let (_, v) = send(&app, Method::POST, "/v1/subsidy-checks", Some(body_for(p))).await;
    assert_eq!(
        v["subsidies"][0]["month_to_date"],
        json!({"month": month(), "cap": 5000, "own": 1000, "others": 500, "total": 1500, "remaining": 3500})
    );
    assert!(
        v["subsidies"][2].get("month_to_date").is_none(),
        "マル障 has no shared cap"
    );
    let (_, o) = send(
        &app,
        Method::POST,
        "/v1/subsidy-checks?format=orca",
        Some(body_for(p)),
    )
    .await;
    let first = &o["publicinsurance_infores"]["PublicInsurance_Information"][0];
    assert_eq!(first["Gateway_Month_Own_Money"], "1000", "{o}");
    assert_eq!(first["Gateway_Month_Others_Money"], "500");
    assert_eq!(first["Gateway_Month_Remaining_Money"], "3500");
}

/// The month of `today()` (`YYYY-MM`).
fn month() -> String {
    today().format("%Y-%m").to_string()
}

/// Each visit and 管理票 entry belongs to the client that made it: another client's DELETE or
/// correction never touches it (404, as for an unknown id; the audit records the refusal), a
/// visit id is each client's own, and a client with `admin` acts for another with `?client=`.
#[tokio::test]
async fn another_clients_visits_and_entries_are_never_voided_or_replaced() {
    let (state, _) = in_process_state();
    let app = pmh_gateway::api::router(state.clone());
    let (a, b) = (RECEPTION_TOKEN, PHARMACY_TOKEN);
    let body = |points| json!({"subsidies": seishin(), "insurance": kenpo(), "visit": visit("V1", "2026-04-01", "medical", points)});
    let total = |v: &Value| v["total"].as_u64().unwrap();
    let (s, _) = send_as(a, &app, Method::POST, "/v1/charges", Some(body(1000))).await;
    assert_eq!(s, StatusCode::CREATED);
    let entry = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-02", "amount": 500});
    let (s, l) = send_as(a, &app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(total(&l), 1_500);
    let entry_id = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "other")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // B cannot void A's visit or entry: answered as unknown ids.
    let (s, v) = send_as(b, &app, Method::DELETE, "/v1/charges/V1", None).await;
    assert_eq!(
        (s, v["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("/problems/not-found")),
        "{v}"
    );
    let (s9, v9) = send_as(b, &app, Method::DELETE, "/v1/charges/V9", None).await;
    assert_eq!(
        (s9, &v9["detail"]),
        (StatusCode::NOT_FOUND, &v["detail"]),
        "the same answer as an unknown id"
    );
    let (s, _) = send_as(
        b,
        &app,
        Method::DELETE,
        &format!("/v1/ledger-entries/{entry_id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // B's "correction" of V1 is a visit of B's own; A's stays as it was.
    let corrected = json!({"subsidies": seishin(), "insurance": kenpo(), "correction": true,
        "visit": visit("V1", "2026-04-01", "medical", 3000)});
    let (s, _) = send_as(b, &app, Method::POST, "/v1/charges", Some(corrected)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, l) = ledger(&app, "2026-04").await;
    assert_eq!(total(&l), 1_000 + 500 + 3_000, "{l}");
    // B may not act for A.
    let (s, _) = send_as(
        b,
        &app,
        Method::DELETE,
        "/v1/charges/V1?client=counter",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The owner voids its own; an admin voids another's by naming it.
    let (s, _) = send_as(
        a,
        &app,
        Method::DELETE,
        &format!("/v1/ledger-entries/{entry_id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = send(&app, Method::DELETE, "/v1/charges/V1?client=pharmacy", None).await;
    assert_eq!((s, v["version"].as_u64()), (StatusCode::OK, Some(2)), "{v}");
    let (_, l) = ledger(&app, "2026-04").await;
    assert_eq!(total(&l), 1_000, "A's visit alone: {l}");

    // The refusals are in the audit, under B's name.
    let records = state
        .store
        .search(AuditQuery {
            client: Some(PHARMACY_CLIENT.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let refused: Vec<_> = records
        .iter()
        .filter(|r| r.http_status == Some(404))
        .filter_map(|r| r.detail.clone())
        .collect();
    assert!(
        refused.contains(&"visit V1: refused, another client's".to_owned()),
        "{refused:?}"
    );
    assert!(
        refused.contains(&format!("entry {entry_id}: refused, another client's")),
        "{refused:?}"
    );
    assert!(refused.contains(&"visit V9".to_owned()), "{refused:?}");
}

/// A copy of the state folder reads no recipient number, insured number, birthdate or
/// programme name: the audit, the kept answers, the committed charges (their fingerprints keyed,
/// their answers sealed) and the ledger are searched raw.
#[tokio::test]
async fn the_state_folder_holds_no_certificate_or_patient_in_plain() {
    let p = in_process();
    let app = pmh_gateway::api::router(p.state.clone());
    let pop = Population::generate(SEED, today(), 300);
    let person = pop.find(&["showcase", "triple"]).unwrap();
    let (_, v) = send(
        &app,
        Method::POST,
        "/v1/subsidy-checks",
        Some(body_for(person)),
    )
    .await;
    let check_id = v["check_id"].as_str().unwrap().to_owned();
    let body = json!({"check_id": check_id, "insurance": kenpo(),
        "visit": {"visit_id": "S1", "date": today().to_string(), "parts": [{"points": 1000, "subsidies": [1]}]}});
    let (s, _) = commit(&app, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = commit(&app, body).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the same commit again: answered from the sealed first"
    );
    // A visit from a typed certificate: the recipient number is in the request only.
    let typed = json!([{"payer_number": "21136015", "recipient_number": "7294523", "income_class": "低所得2"}]);
    let (s, _) = commit(&app, json!({"subsidies": typed, "insurance": kenpo(), "visit": visit("S2", "2026-04-01", "medical", 1000)})).await;
    assert_eq!(s, StatusCode::CREATED);
    let entry = json!({"payer_number": "21136015", "recipient_number": "7294523", "date": "2026-04-02", "amount": 500});
    let (s, _) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = send(&app, Method::DELETE, "/v1/charges/S2", None).await;
    assert_eq!(s, StatusCode::OK);

    let mut secrets = vec![
        ("recipient number", "7294523".to_owned()),
        ("insured number", person.insured.number.clone()),
        ("birthdate", person.insured.birthdate.clone()),
        ("birthdate", person.insured.birthdate.replace('-', "")),
    ];
    for c in &person.certificates {
        if let Some(n) = &c.medical_subsidy_recipient_number {
            secrets.push(("recipient number", n.clone()));
        }
    }
    for name in ["精神通院", "難病", "マル障", "自立支援医療", "特定医療費"] {
        secrets.push(("programme name", name.to_owned()));
    }
    assert_nothing_personal_in(&p.config.store.dir, &secrets);
}

/// The charge and ledger routes take JSON only, as the check route does: a `text/plain` body
/// (or none declared) is 415 and nothing is committed.
#[tokio::test]
async fn charge_and_ledger_bodies_must_be_declared_json() {
    let (state, _) = in_process_state();
    let app = pmh_gateway::api::router(state.clone());
    let commit = json!({"subsidies": seishin(), "insurance": kenpo(), "visit": visit("CT1", "2026-04-01", "medical", 1000)});
    let entry = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-02", "amount": 500});
    for (path, body) in [
        ("/v1/charge-quotes", &commit),
        ("/v1/charges", &commit),
        ("/v1/ledger-entries", &entry),
    ] {
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut req =
                Request::post(path).header(header::AUTHORIZATION, format!("Bearer {TEST_TOKEN}"));
            if let Some(ct) = ct {
                req = req.header(header::CONTENT_TYPE, ct);
            }
            let resp = app
                .clone()
                .oneshot(req.body(Body::from(body.to_string())).unwrap())
                .await
                .unwrap();
            assert_eq!(
                resp.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{path} with {ct:?}"
            );
        }
    }
    let (_, l) = ledger(&app, "2026-04").await;
    assert_eq!(l["total"], 0, "nothing committed: {l}");
    // The same bodies as JSON are taken.
    let (s, _) = self::commit(&app, commit).await;
    assert_eq!(s, StatusCode::CREATED);
}

/// A typed income class is matched however it is written, and one the programme does not have
/// is refused with the valid ones — never quoted without its cap; a shared monthly cap needs
/// the recipient number its 管理票 is kept under, unless the caller keeps no ledger.
#[tokio::test]
async fn typed_classes_are_matched_or_refused_and_shared_caps_need_their_recipient() {
    let (app, _) = in_process_app();
    let nanbyo = |class: &str, recipient: Option<&str>, no_ledger: bool| {
        let mut s =
            json!({"payer_number": "54136015", "income_class": class, "no_ledger": no_ledger});
        if let Some(r) = recipient {
            s["recipient_number"] = json!(r);
        }
        json!({"subsidies": [s], "insurance": kenpo(),
            "visit": {"date": today().to_string(), "parts": [{"points": 10000, "subsidies": [1]}]}})
    };
    // 難病 一般所得Ⅱ (cap 20,000) typed with ASCII numerals and a full-width space: a visit of
    // 100,000 yen, 2割 = 20,000, at the cap → 20,000 at the window.
    for typed in ["一般所得Ⅱ", "一般所得　II", "一般所得２"] {
        let (s, v) = quote(&app, nanbyo(typed, Some("1234566"), false)).await;
        assert_eq!(s, StatusCode::OK, "{typed}: {v}");
        assert_eq!(v["subsidies"][0]["monthly_cap"], 20000, "{typed}: {v}");
        assert_eq!(v["window_charge"], 20000, "{typed}: {v}");
    }
    // A class 難病 does not have: 422, naming the field and listing the valid classes.
    let (s, v) = quote(&app, nanbyo("一般所得Ⅲ", Some("1234566"), false)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "subsidies[0].income_class", "{v}");
    let reason = v["errors"][0]["reason"].as_str().unwrap();
    for class in ["生活保護", "低所得Ⅰ", "一般所得Ⅰ", "上位所得"] {
        assert!(reason.contains(class), "{reason}");
    }
    // No recipient number for a shared cap: 422 unless the caller keeps no ledger for it.
    let (s, v) = quote(&app, nanbyo("一般所得Ⅱ", None, false)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["errors"][0]["field"], "subsidies[0].recipient_number",
        "{v}"
    );
    let (s, v) = quote(&app, nanbyo("一般所得Ⅱ", None, true)).await;
    assert_eq!(
        (s, v["window_charge"].clone()),
        (StatusCode::OK, json!(20000)),
        "{v}"
    );
}

/// A 管理票 entry sent again with its `entry_id` (a retry after a lost answer) is added once;
/// another body under the same id is a conflict; each client's ids are its own.
#[tokio::test]
async fn a_retried_ledger_entry_is_added_once() {
    let (app, _) = in_process_app();
    let entry = |amount: u64| {
        json!({"entry_id": "K-0402-1", "payer_number": "21136015", "recipient_number": "1234566",
            "date": today().to_string(), "amount": amount, "institution": "薬局"})
    };
    let (s, first) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry(700))).await;
    assert_eq!(
        (s, first["total"].clone()),
        (StatusCode::CREATED, json!(700)),
        "{first}"
    );
    // The same body again: 200, the same month, nothing added.
    let (s, again) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry(700))).await;
    assert_eq!(
        (s, again["total"].clone()),
        (StatusCode::OK, json!(700)),
        "{again}"
    );
    // Another body under the id: 409, and the month unchanged.
    let (s, p) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry(900))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    let (_, l) = ledger(&app, &month()).await;
    assert_eq!(l["total"], 700, "{l}");
    // Another client's id is its own.
    let (s, other) = send_as(
        PHARMACY_TOKEN,
        &app,
        Method::POST,
        "/v1/ledger-entries",
        Some(entry(700)),
    )
    .await;
    assert_eq!(
        (s, other["total"].clone()),
        (StatusCode::CREATED, json!(1400)),
        "{other}"
    );
    // A malformed id is refused like a visit id.
    let mut bad = entry(700);
    bad["entry_id"] = json!("K 1");
    let (s, p) = send(&app, Method::POST, "/v1/ledger-entries", Some(bad)).await;
    assert_eq!(
        (s, p["errors"][0]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("entry_id")),
        "{p}"
    );
}

/// Windows committing visits against one shared cap at the same moment never spend it twice:
/// each commit is written only on the month it was computed on, and computed again otherwise.
/// 精神通院 (cap 5,000): twelve visits of 10,000 yen (1割 = 1,000 each) committed at once add up
/// to the cap exactly — five at 1,000, the rest at 0 — never 12,000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_never_spend_one_cap_twice() {
    let (app, _) = in_process_app();
    let commits: Vec<_> = (0..12)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let body = json!({"subsidies": seishin(), "insurance": kenpo(),
                    "visit": visit(&format!("C{i}"), &today().to_string(), "medical", 1000)});
                commit(&app, body).await
            })
        })
        .collect();
    let mut charged = 0;
    for c in commits {
        let (s, v) = c.await.unwrap();
        assert_eq!(s, StatusCode::CREATED, "{v}");
        charged += v["window_charge"].as_u64().unwrap();
    }
    assert_eq!(charged, 5_000);
    let (_, l) = ledger(&app, &month()).await;
    assert_eq!(
        (l["own"].clone(), l["remaining"].clone()),
        (json!(5000), json!(0)),
        "{l}"
    );
}

/// The amounts a receipt's HO and KO records need, beside the parts. 入院 3割, class ウ (A03),
/// 更生医療 (cap 30,000 printed) on 200,000 yen of items beside 400,000 of insurance-only items
/// (the engine's golden case 6, on a day of 2026-11): insurance 420,000; the 公費 part's 60,000
/// joins the class limit, ウ from 2026-08 (the masters' provisional row) on 600,000: 85,800 +
/// (600,000 − 286,000) × 1 % = 88,940; the patient's 20,000 + 120,000 = 140,000 → 高額 51,060.
/// The insurer bears 471,060; the HO 負担金額 is 600,000 − 471,060 = 128,940; the KO: 20,000
/// points, 負担金額 20,000 (1割 of 200,000), the 公費 pays 40,000; the patient 88,940.
#[tokio::test]
async fn a_receipt_answer_holds_the_ho_and_ko_amounts() {
    let (app, _) = in_process_app();
    let body = json!({
        "subsidies": [{"payer_number": "15136013", "recipient_number": "1234566", "monthly_cap": 30000}],
        "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
        "visit": {"date": "2026-11-10", "care": "inpatient",
            "parts": [{"points": 20000, "subsidies": [1]}, {"points": 40000}]}});
    let (s, v) = quote(&app, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = &v["receipt"];
    assert_eq!(
        [
            &r["points"],
            &r["insurance"],
            &r["high_cost"],
            &r["insurer_total"],
            &r["insurance_copay"],
            &r["patient"]
        ],
        [
            &json!(60000),
            &json!(420000),
            &json!(51060),
            &json!(471060),
            &json!(128940),
            &json!(88940)
        ],
        "{r}"
    );
    let ko = &r["subsidies"][0];
    assert_eq!(
        [
            &ko["points"],
            &ko["patient_share"],
            &ko["covered_copay_inpatient"],
            &ko["pays"]
        ],
        [&json!(20000), &json!(20000), &json!(60000), &json!(40000)],
        "{ko}"
    );
}

/// The class as the receipt computer holds it: a 特記事項 code (28 区ウ; 33 多ウ, which is also
/// 多数回) gives the same limit as the オン資 code, and the trace says how it was given; no
/// class at all is a warning in the answer. Outpatient 3割 on 300,000 yen, 2026-11 (ウ from
/// 2026-08, provisional: 85,800 + (300,000 − 286,000) × 1 % = 85,940; 多数回 44,400).
#[tokio::test]
async fn a_receipt_remark_code_gives_the_class_and_no_class_is_a_warning() {
    let (app, _) = in_process_app();
    let body = |class: Option<&str>| {
        let mut ins = json!({"kind": "health_insurance", "share_percent": 30});
        if let Some(c) = class {
            ins["high_cost_class"] = json!(c);
        }
        json!({"subsidies": [], "insurance": ins,
            "visit": {"date": "2026-11-10", "parts": [{"points": 30000}]}})
    };
    let charge = |v: &Value| v["window_charge"].as_u64().unwrap();
    let (_, a03) = quote(&app, body(Some("A03"))).await;
    let (s, r28) = quote(&app, body(Some("28"))).await;
    assert_eq!(s, StatusCode::OK, "{r28}");
    assert_eq!((charge(&a03), charge(&r28)), (85_940, 85_940));
    let trace = r28["trace"].to_string();
    assert!(trace.contains("given as 特記事項 28 区ウ"), "{trace}");
    let (_, r33) = quote(&app, body(Some("33"))).await;
    assert_eq!(charge(&r33), 44_400, "{r33}");
    assert!(r33["trace"].to_string().contains("特記事項 33 多ウ"));
    let (s, bad) = quote(&app, body(Some("36"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    // No class: billed the whole copay, and told so.
    let (_, none) = quote(&app, body(None)).await;
    assert_eq!(charge(&none), 90_000);
    let codes: Vec<&str> = none["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"no_high_cost_class"), "{none}");
    for w in none["warnings"].as_array().unwrap() {
        let ja = w["message_ja"].as_str().unwrap();
        assert!(
            !ja.is_ascii() && !w["message"].as_str().unwrap().is_empty(),
            "{w}"
        );
    }
    let (_, with) = quote(&app, body(Some("A03"))).await;
    assert!(!with["warnings"].to_string().contains("no_high_cost_class"));
}

#[tokio::test]
async fn a_kanrihyo_entry_counts_from_its_date_on() {
    // 精神通院 cap 5,000: the pharmacy's 5,000 on 4/20 fills the cap from that day. A visit on
    // 4/2 (10,000 → 1割 1,000) came before it and still costs 1,000; one on 4/21 costs nothing.
    let (app, _) = in_process_app();
    let entry = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-20",
        "amount": 5000, "institution": "さくら薬局"});
    let (s, l) = send(&app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    let body = |v: Value| json!({"subsidies": seishin(), "insurance": kenpo(), "visit": v});
    let (s, before) = quote(&app, body(visit("E1", "2026-04-02", "medical", 1000))).await;
    assert_eq!(
        (s, before["window_charge"].clone()),
        (StatusCode::OK, json!(1000)),
        "{before}"
    );
    let (_, after) = quote(&app, body(visit("E2", "2026-04-21", "medical", 1000))).await;
    assert_eq!(after["window_charge"], 0, "{after}");
}

#[tokio::test]
async fn typed_subsidies_keep_the_callers_order_and_the_answer_warns() {
    // Typed 生活保護 (本人支払額 0) first and 難病 (低所得Ⅰ: cap 2,500) second; the priority
    // rules put 難病 first (生活保護 is always last: 生活保護法 §4, the 他法優先). Part 1 is the
    // 生活保護's and part 2 the 難病's, as given: 10,000 under 生活保護 → 0; 20,000 under 難病 →
    // 2割 4,000, held to the cap 2,500. Reordered under the caller, part 1 would be 難病's
    // (2,000) and part 2 生活保護's (0): 2,000.
    let (app, _) = in_process_app();
    let body = json!({
        "subsidies": [
            {"payer_number": "12136016", "recipient_number": "1234566", "own_payment": 0},
            {"payer_number": "54136015", "income_class": "低所得Ⅰ", "no_ledger": true}
        ],
        "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
        "visit": {"date": "2026-04-10", "parts": [
            {"points": 1000, "subsidies": [1]},
            {"points": 2000, "subsidies": [2]}
        ]}
    });
    let (s, v) = quote(&app, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["window_charge"], 2500, "{v}");
    let listed: Vec<(Value, Value, Value)> = v["subsidies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["position"].clone(),
                s["receipt_order"].clone(),
                s["payer_number"].clone(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (json!(1), json!(2), json!("12136016")),
            (json!(2), json!(1), json!("54136015"))
        ]
    );
    // The KO records in receipt order, each naming the request's position.
    let ko: Vec<(Value, Value, Value)> = v["receipt"]["subsidies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["receipt_order"].clone(),
                k["position"].clone(),
                k["patient_share"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ko,
        [
            (json!(1), json!(2), json!(2500)),
            (json!(2), json!(1), json!(0))
        ]
    );
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"subsidy_order_differs"), "{v}");
    // Given in the rules' order, the same charge and no warning.
    let mut ordered = body;
    ordered["subsidies"] = json!([
        {"payer_number": "54136015", "income_class": "低所得Ⅰ", "no_ledger": true},
        {"payer_number": "12136016", "recipient_number": "1234566", "own_payment": 0}
    ]);
    ordered["visit"]["parts"] = json!([
        {"points": 1000, "subsidies": [2]},
        {"points": 2000, "subsidies": [1]}
    ]);
    let (_, w) = quote(&app, ordered).await;
    assert_eq!(w["window_charge"], 2500, "{w}");
    assert!(
        !w["warnings"].to_string().contains("subsidy_order_differs"),
        "{w}"
    );
}

fn warning_codes(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_birthdate_gives_the_age_and_a_flag_given_wins_with_a_warning() {
    let (app, _) = in_process_app();
    let body = |insurance: Value, date: &str, points: u64| {
        json!({"subsidies": [], "insurance": insurance,
               "visit": {"date": date, "parts": [{"points": points}]}})
    };
    // 未就学 (健康保険法 §74 1項2号): born 10 May 2022, on 10 April 2026 the share is 2割 without
    // being given: 10,000 → 2,000.
    let child = json!({"kind": "health_insurance", "birthdate": "2022-05-10"});
    let (s, v) = quote(&app, body(child, "2026-04-10", 1000)).await;
    assert_eq!(
        (s, v["window_charge"].clone()),
        (StatusCode::OK, json!(2000)),
        "{v}"
    );
    assert!(v["trace"].to_string().contains("未就学 2割"), "{v}");
    assert!(
        !v.to_string().contains("2022-05-10"),
        "the birthdate is never echoed: {v}"
    );
    // 3割 given for the same child: computed as given, with a warning.
    let given = json!({"kind": "health_insurance", "share_percent": 30, "birthdate": "2022-05-10"});
    let (_, v) = quote(&app, body(given, "2026-04-10", 1000)).await;
    assert_eq!(v["window_charge"], 3000, "{v}");
    assert!(
        warning_codes(&v).contains(&"share_differs_from_birthdate".to_owned()),
        "{v}"
    );
    // The 75歳到達月 (born 20 April 1951, 後期 from 20 April 2026): the 外来 limit of 一般 (B04,
    // 18,000 in 2026-04, 健康保険法施行令 §42) is halved: 300,000 at 1割 = 30,000 → 9,000.
    let late = |birth: &str, turning: Option<bool>| {
        let mut i = json!({"kind": "late_elderly", "share_percent": 10, "high_cost_class": "B04", "birthdate": birth});
        if let Some(t) = turning {
            i["turning_75"] = json!(t);
        }
        i
    };
    let (_, v) = quote(&app, body(late("1951-04-20", None), "2026-04-10", 30000)).await;
    assert_eq!(v["window_charge"], 9000, "{v}");
    assert!(v["trace"].to_string().contains("75歳到達月"), "{v}");
    // Born on the 1st: 後期 the whole month, no halving: 18,000.
    let (_, v) = quote(&app, body(late("1951-04-01", None), "2026-04-10", 30000)).await;
    assert_eq!(v["window_charge"], 18000, "{v}");
    assert!(warning_codes(&v).is_empty(), "{v}");
    // The flag given wins, with a warning.
    let (_, v) = quote(
        &app,
        body(late("1951-04-20", Some(false)), "2026-04-10", 30000),
    )
    .await;
    assert_eq!(v["window_charge"], 18000, "{v}");
    assert!(
        warning_codes(&v).contains(&"age_differs_from_birthdate".to_owned()),
        "{v}"
    );
    // 70歳以上 from the month after the 70th birthday (born 15 May 1956: from June 2026); an
    // explicit `seventy_plus: false` in June wins with a warning.
    let seventy =
        json!({"kind": "health_insurance", "share_percent": 20, "birthdate": "1956-05-15"});
    let (_, v) = quote(&app, body(seventy, "2026-06-10", 1000)).await;
    assert!(v["trace"].to_string().contains("70歳以上"), "{v}");
    let under = json!({"kind": "health_insurance", "share_percent": 20, "birthdate": "1956-05-15", "seventy_plus": false});
    let (_, v) = quote(&app, body(under, "2026-06-10", 1000)).await;
    assert!(
        warning_codes(&v).contains(&"age_differs_from_birthdate".to_owned()),
        "{v}"
    );
    // A birthdate after the visit is refused.
    let unborn =
        json!({"kind": "health_insurance", "share_percent": 30, "birthdate": "2026-05-01"});
    let (s, v) = quote(&app, body(unborn, "2026-04-10", 1000)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("insurance.birthdate"), "{v}");
}

#[tokio::test]
async fn the_amount_printed_on_the_certificate_wins_over_the_masters_cap() {
    // 難病 一般所得Ⅰ: the master's cap is 10,000 (難病法施行令 §1); the certificate prints 5,000
    // (e.g. a 高額かつ長期 or a 経過措置 amount the master does not know): 30,000 at 2割 = 6,000
    // is held to the printed 5,000, and the answer says the two differ.
    let (app, _) = in_process_app();
    let body = |cap: Option<u64>| {
        let mut s =
            json!({"payer_number": "54136015", "income_class": "一般所得Ⅰ", "no_ledger": true});
        if let Some(c) = cap {
            s["monthly_cap"] = json!(c);
        }
        json!({"subsidies": [s], "insurance": kenpo(),
               "visit": {"date": "2026-04-10", "parts": [{"points": 3000, "subsidies": [1]}]}})
    };
    let (_, master) = quote(&app, body(None)).await;
    assert_eq!(master["window_charge"], 6000, "{master}");
    assert_eq!(master["subsidies"][0]["monthly_cap"], 10000);
    let (_, printed) = quote(&app, body(Some(5000))).await;
    assert_eq!(printed["window_charge"], 5000, "{printed}");
    assert_eq!(printed["subsidies"][0]["monthly_cap"], 5000);
    assert!(
        warning_codes(&printed).contains(&"cap_conflict".to_owned()),
        "{printed}"
    );
    assert_eq!(printed["to_the_yen"], true);
}

#[tokio::test]
async fn meals_in_hospital_are_their_own_line() {
    // 入院, 3割, ウ; 2 days × 3 meals in 2025-05 at the 一般 510 yen (the 2025-04 標準負担額):
    // 3,060 beside the care's 30,000 (100,000 at 3割, within the 高額 limit).
    let (app, _) = in_process_app();
    let body = json!({
        "subsidies": [],
        "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
        "visit": {"date": "2025-05-10", "care": "inpatient", "parts": [{"yen": 100000}],
                  "meals": [{"date": "2025-05-10", "count": 3}, {"date": "2025-05-11", "count": 3}]}
    });
    let (s, v) = quote(&app, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["window_charge"].clone(), v["meal_charge"].clone()),
        (json!(33060), json!(3060)),
        "{v}"
    );
    assert_eq!(
        v["receipt"]["meals"],
        json!({"count": 6, "class": "general", "standard_charge": 3060, "patient": 3060})
    );
    assert_eq!(v["receipt"]["patient"], 30000);
    // 生活保護 (本人支払額 0) pays the meals: nothing at the window; its KO carries them.
    let mut welfare = body.clone();
    welfare["subsidies"] =
        json!([{"payer_number": "12136016", "recipient_number": "1234566", "own_payment": 0}]);
    welfare["visit"]["parts"] = json!([{"yen": 100000, "subsidies": [1]}]);
    let (_, w) = quote(&app, welfare).await;
    assert_eq!(
        (w["window_charge"].clone(), w["meal_charge"].clone()),
        (json!(0), json!(0)),
        "{w}"
    );
    assert_eq!(w["receipt"]["subsidies"][0]["meals_pays"], 3060, "{w}");
    // Meals on an outpatient visit, or four in a day, are refused.
    let mut out = body.clone();
    out["visit"]["care"] = json!("outpatient");
    let (s, p) = quote(&app, out).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p.to_string().contains("visit.meals"), "{p}");
    let mut four = body;
    four["visit"]["meals"] = json!([{"date": "2025-05-10", "count": 4}]);
    let (s, p) = quote(&app, four).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    assert!(p.to_string().contains("visit.meals[0].count"), "{p}");
}

#[tokio::test]
async fn a_visit_limit_counts_the_committed_visits_of_the_month() {
    // 大阪市 こども医療費助成: 1日500円, 月2日まで at one institution. Two committed days cost 500
    // each; the third day costs nothing even when the request does not list the earlier visits
    // (the ledger keeps the programme's visits under the recipient number).
    let (app, _) = in_process_app();
    let body = |id: &str, day: &str| {
        json!({"subsidies": [{"payer_number": "88271010", "recipient_number": "1234566"}],
               "insurance": {"kind": "health_insurance", "share_percent": 20},
               "visit": {"visit_id": id, "date": day, "parts": [{"points": 500, "subsidies": [1]}]}})
    };
    for (id, day) in [("O1", "2026-04-01"), ("O2", "2026-04-02")] {
        let (s, v) = commit(&app, body(id, day)).await;
        assert_eq!(
            (s, v["window_charge"].clone()),
            (StatusCode::CREATED, json!(500)),
            "{v}"
        );
    }
    let (s, v) = quote(&app, body("O3", "2026-04-03")).await;
    assert_eq!(
        (s, v["window_charge"].clone()),
        (StatusCode::OK, json!(0)),
        "{v}"
    );
    // Another child (another recipient number) is counted on its own.
    let mut other = body("P1", "2026-04-03");
    other["subsidies"][0]["recipient_number"] = json!("7654321");
    let (_, v) = quote(&app, other).await;
    assert_eq!(v["window_charge"], 500, "{v}");
}

#[tokio::test]
async fn the_openapi_examples_of_the_charge_requests_are_answered() {
    let (app, _) = in_process_app();
    let doc = serde_json::to_value(pmh_gateway::api::openapi::document()).unwrap();
    let examples = doc["paths"]["/v1/charge-quotes"]["post"]["requestBody"]["content"]
        ["application/json"]["examples"]
        .as_object()
        .unwrap()
        .clone();
    assert!(examples.len() >= 4, "{examples:?}");
    for (name, e) in examples {
        let body = e["value"].clone();
        let (s, v) = quote(&app, body.clone()).await;
        // The check-based example names a check this gateway never answered.
        let expected = if body.get("check_id").is_some() {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(s, expected, "{name}: {v}");
    }
}

#[tokio::test]
async fn whole_numbers_written_as_decimals_are_read_as_integers() {
    // JSON Schema's `integer` admits `100.0` and `1e2`; so does the gateway.
    let (app, _) = in_process_app();
    let body = |points: Value| {
        json!({"subsidies": seishin(), "insurance": {"kind": "health_insurance", "share_percent": 30.0},
               "visit": {"date": "2026-04-01", "parts": [{"points": points, "subsidies": [1.0]}]}})
    };
    let (s, exact) = quote(&app, body(json!(100))).await;
    assert_eq!(s, StatusCode::OK, "{exact}");
    for written in [json!(100.0), serde_json::from_str::<Value>("1e2").unwrap()] {
        let (s, p) = quote(&app, body(written.clone())).await;
        assert_eq!(s, StatusCode::OK, "{written}: {p}");
        assert_eq!(p["patient_pays"], exact["patient_pays"]);
    }
    let (s, p) = quote(&app, body(json!(100.5))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["errors"][0]["field"], "visit.parts[0].points", "{p}");
}

#[tokio::test]
async fn the_ledger_routes_refuse_what_the_document_refuses_and_check_digits_in_words() {
    let (app, _) = in_process_app();
    let get = |q: &str| {
        let app = app.clone();
        let path = format!("/v1/ledgers?{q}");
        async move { send(&app, Method::GET, &path, None).await }
    };
    // A check digit that does not fit: eight digits as the document says, so 422.
    let (s, p) = get("payer_number=21136016&recipient_number=1234566&month=2026-04").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["type"], "/problems/inconsistent-request");
    assert_eq!(p["errors"][0]["field"], "payer_number");
    // Not the document's pattern: 400, with every field in error.
    let (s, p) = get("payer_number=2113601&recipient_number=%E3%81%82&month=2026-4").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["payer_number", "recipient_number", "month"], "{p}");
    // Full-width digits are the same certificate as ASCII ones.
    let (s, ascii) = get("payer_number=21136015&recipient_number=1234566&month=2026-04").await;
    assert_eq!(s, StatusCode::OK, "{ascii}");
    let (s, wide) = get(
        "payer_number=21136015&recipient_number=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%96&month=2026-04",
    )
    .await;
    assert_eq!((s, &wide), (StatusCode::OK, &ascii));
    // A 管理票 entry: the check digit 422, an institution past 40 characters or with a control
    // character 400.
    let entry = |payer: &str, institution: &str| {
        json!({"payer_number": payer, "recipient_number": "1234566", "date": "2026-04-02",
               "amount": 100, "institution": institution})
    };
    let (s, p) = send(
        &app,
        Method::POST,
        "/v1/ledger-entries",
        Some(entry("21136016", "さくら薬局")),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    for bad in ["あ".repeat(41), "さくら\u{7}薬局".to_owned()] {
        let (s, p) = send(
            &app,
            Method::POST,
            "/v1/ledger-entries",
            Some(entry("21136015", &bad)),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
        assert_eq!(p["errors"][0]["field"], "institution", "{p}");
    }
    let (s, p) = send(
        &app,
        Method::POST,
        "/v1/ledger-entries",
        Some(entry("21136015", &"あ".repeat(40))),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
}
