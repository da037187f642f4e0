//! In-process API tests: the router driven with `oneshot`, over the in-memory sandbox
//! population (no sockets).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;
use pmh_gateway::onshi::Charset;
use pmh_gateway::sandbox::Population;
use pmh_gateway::sandbox::terminal::reference_of;

/// `req` with the tests' token, unless it carries an `authorization` header.
fn with_token(mut req: Request<Body>) -> Request<Body> {
    if !req.headers().contains_key(header::AUTHORIZATION) {
        req.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {TEST_TOKEN}").parse().unwrap(),
        );
    }
    req
}

/// Sends `req` in-process, with the tests' token unless it carries an `authorization` header.
async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let resp = app.clone().oneshot(with_token(req)).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, ct, v)
}

fn post(body: impl Into<Body>) -> Request<Body> {
    Request::post("/v1/subsidy-checks")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

fn post_json(v: &Value) -> Request<Body> {
    post(v.to_string())
}

fn population() -> Population {
    Population::generate(SEED, today(), 300)
}

#[tokio::test]
async fn three_subsidies_come_back_confirmed_and_in_priority_order() {
    let (app, _) = in_process_app();
    let pop = population();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let (status, _, v) = send(&app, post_json(&body_for(p))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "confirmed");
    assert_eq!(v["source"], "upstream");
    let laws: Vec<_> = v["subsidies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["law_code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        laws,
        ["21", "54", "80"],
        "精神通院 before 難病 before the local マル障"
    );
    let orders: Vec<_> = v["subsidies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["order"].as_u64().unwrap())
        .collect();
    assert_eq!(orders, [1, 2, 3]);
    assert_eq!(v["subsidies"][2]["programme_kind"], "local");
}

#[tokio::test]
async fn none_found_and_expired_are_told_apart() {
    let (app, _) = in_process_app();
    let pop = population();
    let (status, _, v) = send(
        &app,
        post_json(&body_for(pop.find(&["showcase", "none"]).unwrap())),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "none_found");
    assert!(v["advice"].as_str().unwrap().contains("paper certificate"));

    let (_, _, v) = send(
        &app,
        post_json(&body_for(pop.find(&["showcase", "expired"]).unwrap())),
    )
    .await;
    assert_eq!(v["status"], "confirmed");
    assert_eq!(v["subsidies"], json!([]));
    assert_eq!(v["inactive_subsidies"][0]["status"], "expired");
    assert_eq!(v["inactive_subsidies"][0]["order"], Value::Null);

    // In FHIR: no Coverage (none is in force), no empty array, and an OperationOutcome that
    // names the expired certificate — never a Bundle that reads "no coverage".
    let (status, _, text) = send_raw(
        &app,
        post_to(
            "/v1/subsidy-checks",
            Some("application/fhir+json"),
            &body_for(pop.find(&["showcase", "expired"]).unwrap()),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fhir: Value = serde_json::from_str(&text).unwrap();
    let entries = fhir["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{fhir}");
    let outcome = &entries[0]["resource"];
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let said = outcome["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(
        said.contains("expired") && said.contains("期限切れ"),
        "{said}"
    );
    insta::assert_json_snapshot!("fhir_expired", json_on_default_day(&fhir), {".identifier.value" => "[check_id]", ".timestamp" => "[timestamp]"});
}

#[tokio::test]
async fn the_second_request_is_served_from_cache() {
    let (app, upstream) = in_process_app();
    let pop = population();
    let body = body_for(pop.find(&["showcase", "multi"]).unwrap());
    send(&app, post_json(&body)).await;
    let (_, _, v) = send(&app, post_json(&body)).await;
    assert_eq!(v["source"], "cache");
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn flags_and_warnings_reach_the_answer() {
    let (app, _) = in_process_app();
    let pop = population();
    let one = |tags: &'static [&'static str]| body_for(pop.find(tags).unwrap());
    let (_, _, v) = send(&app, post_json(&one(&["not_disclosed"]))).await;
    assert!(
        v["subsidies"][0]["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("not_disclosed"))
    );
    assert_eq!(v["subsidies"][0]["certification_name"], Value::Null);
    assert_eq!(v["subsidies"][0]["details"], json!([]));

    let (_, _, v) = send(&app, post_json(&one(&["reimbursement_only"]))).await;
    assert!(
        v["subsidies"][0]["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("reimbursement_only"))
    );

    let (_, _, v) = send(&app, post_json(&one(&["designated_mismatch"]))).await;
    assert!(
        v["subsidies"][0]["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("designated_institution_mismatch"))
    );

    let (_, _, v) = send(&app, post_json(&one(&["broken_check_digit"]))).await;
    assert_eq!(
        v["subsidies"].as_array().unwrap().len(),
        1,
        "kept, not dropped"
    );
    let w = &v["subsidies"][0]["warnings"][0];
    assert_eq!(w["code"], "payer_number_check_digit");
    // A stable code, Japanese for the clerk, the occurrence in English beside it.
    assert_eq!(
        w["message_ja"],
        "公費負担者番号の検証番号が合いません。受給者証の番号を確認してください。"
    );
    assert!(
        w["message"].as_str().unwrap().contains("check digit"),
        "{w}"
    );
}

#[tokio::test]
async fn invalid_input_is_a_problem_naming_the_field() {
    let (app, _) = in_process_app();
    let cases = [
        (
            json!({"insured": {"insurer_number": "12345", "number": "1", "birthdate": "1980-01-01"}}),
            "insured.insurer_number",
            "6 or 8 digits",
        ),
        (
            json!({"insured": {"insurer_number": "123456", "number": "1", "birthdate": "1980-13-01"}}),
            "insured.birthdate",
            "YYYY-MM-DD",
        ),
        (
            json!({"insured": {"insurer_number": "123456", "number": " ", "birthdate": "1980-01-01"}}),
            "insured.number",
            "must not be empty",
        ),
        (
            json!({"insured": {"insurer_number": "123456", "number": "1", "branch": "1", "birthdate": "1980-01-01"}}),
            "insured.branch",
            "2 digits",
        ),
        (
            // An empty 記号 reads as none to the identity; the document says 1–20 characters.
            json!({"insured": {"insurer_number": "123456", "symbol": "", "number": "1", "birthdate": "1980-01-01"}}),
            "insured.symbol",
            "1–20",
        ),
        (
            json!({"insured": {"insurer_number": "123456", "number": "1", "birthdate": "1980-01-01"}, "service_date": "21/11/2026"}),
            "service_date",
            "YYYY-MM-DD",
        ),
        (
            json!({"insured": {"insurer_number": "123456", "birthdate": "1980-01-01"}}),
            "insured",
            "missing field `number`",
        ),
        (
            json!({"insured": {"insurer_number": "123456", "number": "1", "birthdate": "1980-01-01"}, "colour": "red"}),
            "colour",
            "unknown field `colour`",
        ),
        (
            json!({"insured": {"insurer_number": "123456", "number": "1", "birthdate": "1980-01-01"}, "setting": {"claim": "dental"}}),
            "setting.claim",
            "unknown variant, expected `medical` or `pharmacy`",
        ),
    ];
    for (body, field, reason) in cases {
        let (status, ct, v) = send(&app, post_json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        assert_eq!(v["type"], "/problems/invalid-request");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
        assert!(
            v["errors"][0]["reason"].as_str().unwrap().contains(reason),
            "{v}"
        );
    }
    let (status, _, v) = send(&app, post("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["detail"].as_str().unwrap().contains("not valid JSON"));
}

#[tokio::test]
async fn a_my_number_is_refused_and_never_echoed() {
    let (app, upstream) = in_process_app();
    for key in ["my_number", "individualNumber", "MyNumber"] {
        let body = json!({"insured": {"insurer_number": "123456", "number": "1", "birthdate": "1980-01-01", key: "123456789018"}});
        let (status, ct, v) = send(&app, post_json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        assert_eq!(v["type"], "/problems/my-number-rejected");
        assert!(!v.to_string().contains("123456789018"));
    }
    assert_eq!(upstream.calls(), 0);
}

#[tokio::test]
async fn media_type_and_size_limits() {
    let (app, _) = in_process_app();
    let req = Request::post("/v1/subsidy-checks")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let (status, ct, _) = send(&app, req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(20_000));
    let (status, ct, v) = send(&app, post(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    assert!(v["detail"].as_str().unwrap().contains("16384"));
    let (status, ct, _) = send(&app, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
}

#[tokio::test]
async fn health_readiness_metrics_and_masters() {
    let (app, _) = in_process_app();
    let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
    let (status, _, v) = send(&app, get("/healthz")).await;
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (_, _, v) = send(&app, get("/readyz")).await;
    assert_eq!(v["status"], "ready");
    assert_eq!(v["upstream"]["breaker"], "closed");
    let pop = population();
    send(
        &app,
        post_json(&body_for(pop.find(&["showcase", "multi"]).unwrap())),
    )
    .await;
    let (status, _, v) = send(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let text = v.as_str().unwrap();
    for needle in [
        "pmh_gateway_subsidy_checks_total{status=\"confirmed\",source=\"upstream\"} 1",
        "pmh_gateway_cache_misses_total 1",
        "pmh_gateway_upstream_calls_total{outcome=\"ok\"} 1",
        "pmh_gateway_upstream_breaker_state 0",
        "pmh_gateway_upstream_latency_seconds_count 1",
    ] {
        assert!(text.contains(needle), "missing {needle}\n{text}");
    }
    let (_, _, v) = send(&app, get("/v1/masters")).await;
    assert_eq!(v["files"].as_array().unwrap().len(), 9);
    assert_eq!(v["source"], "embedded");
}

#[tokio::test]
async fn no_personal_data_in_metrics() {
    let (app, _) = in_process_app();
    let pop = population();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let (_, _, v) = send(&app, post_json(&body_for(p))).await;
    let (_, _, m) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let m = m.as_str().unwrap();
    let recipient = v["subsidies"][0]["recipient_number"].as_str().unwrap();
    for secret in [
        p.insured.number.as_str(),
        p.insured.birthdate.as_str(),
        recipient,
    ] {
        assert!(!m.contains(secret));
    }
}

#[tokio::test]
async fn openapi_document_snapshot() {
    let (app, _) = in_process_app();
    let (status, _, v) = send(
        &app,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("openapi", v, {".info.version" => "[version]"});
}

#[tokio::test]
async fn representative_answers_snapshot() {
    let (app, _) = in_process_app();
    let pop = population();
    for (name, tags) in [
        ("triple", &["showcase", "triple"][..]),
        ("none_found", &["showcase", "none"]),
        ("expired", &["showcase", "expired"]),
    ] {
        let (_, _, v) = send(&app, post_json(&body_for(pop.find(tags).unwrap()))).await;
        let v = json_on_default_day(&v);
        insta::assert_json_snapshot!(format!("answer_{name}"), v, {".check_id" => "[check_id]"});
    }
}

#[tokio::test]
async fn the_receipt_type_comes_with_the_insurance_context() {
    let (app, _) = in_process_app();
    let pop = population();
    let mut body = body_for(pop.find(&["showcase", "triple"]).unwrap());
    body["insurance"] = json!({"kind": "health_insurance", "beneficiary": "insured"});
    let (_, _, v) = send(&app, post_json(&body)).await;
    assert_eq!(v["receipt_type"], "1142", "医科 医保 + 3 公費 本人 外来");
    body["setting"] = json!({"claim": "pharmacy"});
    body["insurance"] = json!({"kind": "health_insurance", "beneficiary": "family"});
    let (_, _, v) = send(&app, post_json(&body)).await;
    assert_eq!(v["receipt_type"], "4146", "調剤 医保 + 3 公費 家族");
    body.as_object_mut().unwrap().remove("insurance");
    let (_, _, v) = send(&app, post_json(&body)).await;
    assert_eq!(v["receipt_type"], Value::Null);
    body["insurance"] = json!({"kind": "late_elderly", "beneficiary": "self"});
    let (status, _, v) = send(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["field"], "insurance.beneficiary");
}

async fn send_raw(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = app.clone().oneshot(with_token(req)).await.unwrap();
    let status = resp.status();
    let ct = resp.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

fn post_to(uri: &str, accept: Option<&str>, body: &Value) -> Request<Body> {
    let mut b = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = accept {
        b = b.header(header::ACCEPT, a);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

/// ORCA's `Money_*` is 固定額 (the fixed amount, ORCA's patient API): a per-visit charge there, a
/// monthly cap never — it goes in the gateway's own `Gateway_*_Limit_*` fields.
#[tokio::test]
async fn orca_money_is_the_fixed_amount_and_caps_are_the_gateways_fields() {
    let (app, _) = in_process_app();
    let pop = population();
    let entry = |text: &str, i: usize| -> Value {
        let v: Value = serde_json::from_str(text).unwrap();
        v["publicinsurance_infores"]["PublicInsurance_Information"][i].clone()
    };
    let maru_ko = body_for(pop.find(&["showcase", "maru_ko"]).unwrap());
    let (status, _, text) =
        send_raw(&app, post_to("/v1/subsidy-checks/orca", None, &maru_ko)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let e = entry(&text, 0);
    assert_eq!(
        (
            &e["Money_Outpatient"],
            &e["Gateway_Outpatient_Money_Per"],
            &e["Gateway_Outpatient_Limit_Month"]
        ),
        (&json!("200"), &json!("visit"), &json!("")),
        "マル子: 200 yen a visit, no monthly cap: {e}"
    );
    let triple = body_for(pop.find(&["showcase", "triple"]).unwrap());
    let (_, _, text) = send_raw(&app, post_to("/v1/subsidy-checks/orca", None, &triple)).await;
    let seishin = entry(&text, 0);
    assert_eq!(seishin["PublicInsurance_Name"], "精神通院");
    assert_eq!(
        (
            &seishin["Rate_Outpatient"],
            &seishin["Money_Outpatient"],
            &seishin["Gateway_Outpatient_Limit_Month"],
            &seishin["Gateway_Limit_Shared"]
        ),
        (&json!("0.10"), &json!("0"), &json!("5000"), &json!("True")),
        "精神通院: 1割, no fixed amount, a shared monthly cap: {seishin}"
    );
}

#[tokio::test]
async fn the_same_answer_in_orca_and_fhir_renderings() {
    let (app, _) = in_process_app();
    let pop = population();
    let body = body_for(pop.find(&["showcase", "triple"]).unwrap());

    let (status, ct, text) =
        send_raw(&app, post_to("/v1/subsidy-checks?format=orca", None, &body)).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    let orca: Value = serde_json::from_str(&text).unwrap();
    let entries = orca["publicinsurance_infores"]["PublicInsurance_Information"]
        .as_array()
        .unwrap();
    let classes: Vec<&str> = entries
        .iter()
        .map(|e| e["PublicInsurance_Class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        ["021", "054", ""],
        "national 0+法別; マル障 has no known ORCA class"
    );
    assert_eq!(orca["publicinsurance_infores"]["Api_Result"], "00");
    let orca = json_on_default_day(&orca);
    insta::assert_json_snapshot!("orca_triple", orca, {".publicinsurance_infores.Check_Id" => "[check_id]"});

    let (status, ct, xml) = send_raw(
        &app,
        post_to("/v1/subsidy-checks", Some("application/xml"), &body),
    )
    .await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/xml; charset=utf-8")
    );
    assert!(
        xml.contains("<PublicInsurance_Class type=\"string\">054</PublicInsurance_Class>"),
        "{xml}"
    );
    let xml = xml
        .lines()
        .map(|l| {
            if l.contains("<Check_Id") {
                "    <Check_Id type=\"string\">[check_id]</Check_Id>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let xml = as_on_default_day(&xml);
    insta::assert_snapshot!("orca_xml_triple", xml);

    let (status, ct, text) = send_raw(
        &app,
        post_to("/v1/subsidy-checks", Some("application/fhir+json"), &body),
    )
    .await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/fhir+json")
    );
    let fhir: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fhir["resourceType"], "Bundle");
    let coverages: Vec<&Value> = fhir["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    assert_eq!(coverages.len(), 3);
    for (i, c) in coverages.iter().enumerate() {
        assert_eq!(c["resourceType"], "Coverage");
        assert_eq!(c["order"], i + 1);
        assert_eq!(
            c["type"]["coding"][0]["system"],
            "urn:oid:1.2.392.100495.20.2.61"
        );
        assert_eq!(c["type"]["coding"][0]["code"], "8");
        assert_eq!(
            c["contained"][0]["identifier"][0]["system"],
            "urn:oid:1.2.392.100495.20.3.71"
        );
        assert_eq!(
            c["identifier"][0]["system"],
            "urn:oid:1.2.392.100495.20.3.72"
        );
        assert!(c["period"]["start"].is_string());
    }
    let fhir = json_on_default_day(&fhir);
    insta::assert_json_snapshot!("fhir_triple", fhir, {".identifier.value" => "[check_id]", ".timestamp" => "[timestamp]"});
}

#[tokio::test]
async fn renderings_never_turn_unknown_into_no_subsidy() {
    let (app, upstream) = in_process_app();
    let pop = population();
    let none = body_for(pop.find(&["showcase", "none"]).unwrap());
    let (_, _, text) = send_raw(&app, post_to("/v1/subsidy-checks?format=fhir", None, &none)).await;
    let fhir: Value = serde_json::from_str(&text).unwrap();
    let entries = fhir["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "no Coverage, one OperationOutcome");
    assert_eq!(entries[0]["resource"]["resourceType"], "OperationOutcome");
    assert_eq!(entries[0]["resource"]["issue"][0]["code"], "not-found");
    let (_, _, text) = send_raw(&app, post_to("/v1/subsidy-checks?format=orca", None, &none)).await;
    let orca: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(orca["publicinsurance_infores"]["Api_Result"], "10");

    upstream.set_failing(true);
    let other = body_for(pop.find(&["showcase", "expired"]).unwrap());
    let (status, ct, text) = send_raw(
        &app,
        post_to("/v1/subsidy-checks?format=fhir", None, &other),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ct, "application/fhir+json");
    let outcome: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "transient");
    let (status, _, xml) = send_raw(
        &app,
        post_to("/v1/subsidy-checks?format=orca-xml", None, &other),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        xml.contains("<Api_Result type=\"string\">90</Api_Result>"),
        "{xml}"
    );

    let (status, _, v) = send(&app, post_to("/v1/subsidy-checks?format=csv", None, &other)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["field"], "format");
}

#[tokio::test]
async fn maru_ko_at_the_clinic_and_at_the_pharmacy() {
    let (app, _) = in_process_app();
    let pop = population();
    let mut body = body_for(pop.find(&["showcase", "maru_ko"]).unwrap());
    let (_, _, v) = send(&app, post_json(&body)).await;
    let copay = &v["subsidies"][0]["copay"];
    assert_eq!(copay["method"], "per_visit");
    assert_eq!(copay["amount_yen"], 200);
    assert_eq!(v["subsidies"][0]["warnings"], json!([]));
    body["setting"] = json!({"claim": "pharmacy"});
    let (_, _, v) = send(&app, post_json(&body)).await;
    let copay = &v["subsidies"][0]["copay"];
    assert_eq!(copay["method"], "free");
    assert_eq!(copay["amount_yen"], Value::Null);
    assert_eq!(v["subsidies"][0]["receipt"]["layout"], "pharmacy");
}

fn post_xml(uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn an_onshi_result_can_be_posted_as_xml() {
    let (app, upstream) = in_process_app();
    let pop = population();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    // With the PMH block: the block is the answer, no upstream call.
    let (status, _, v) = send(
        &app,
        post_xml(
            "/v1/subsidy-checks",
            result_file(p, true, Charset::ShiftJis),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["status"], &v["source"], &v["origin"]["kind"]),
        (
            &json!("confirmed"),
            &json!("onshi_result"),
            &json!("onshi_result")
        )
    );
    assert_eq!(v["subsidies"].as_array().unwrap().len(), 3);
    assert_eq!(v["service_date"], today().to_string());
    // The result's insurance context gives the レセプト種別 (本人 or 家族, 医科 with 3 公費).
    assert!(
        v["receipt_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("1")),
        "{v}"
    );
    assert_eq!(upstream.calls(), 0);

    // Without the block: asked upstream; the setting comes from the query.
    let other = pop.find(&["showcase", "maru_ko"]).unwrap();
    let (status, _, v) = send(
        &app,
        post_xml(
            "/v1/subsidy-checks?claim=pharmacy",
            result_file(other, false, Charset::Utf8),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["source"], &v["origin"]["kind"]),
        (&json!("upstream"), &json!("upstream"))
    );
    assert_eq!(upstream.calls(), 1);
    assert_eq!(
        v["subsidies"][0]["copay"]["method"], "free",
        "マル子 at the pharmacy: {v}"
    );
}

#[tokio::test]
async fn bad_result_bodies_are_problems_naming_what_is_wrong() {
    let (app, _) = in_process_app();
    let pop = population();
    let good = result_file(&pop.personas[0], false, Charset::Utf8);
    // A query that does not match the document is 400; a body the document describes as text
    // that is not one person's readable オン資 result is 422.
    let unreadable = StatusCode::UNPROCESSABLE_ENTITY;
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode)> = vec![
        ("/v1/subsidy-checks", good[..good.len() / 2].to_vec(), "not closed", unreadable),
        ("/v1/subsidy-checks", b"<Other/>".to_vec(), "<Other>", unreadable),
        (
            "/v1/subsidy-checks?claim=dental",
            good.clone(),
            "must be `medical`",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/subsidy-checks?service_date=21.11.2026",
            good.clone(),
            "YYYY-MM-DD",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/subsidy-checks",
            String::from_utf8(good.clone())
                .unwrap()
                .replace("<ResultList>", "<ResultList><ResultOfQualificationConfirmation><InsurerNumber>06130011</InsurerNumber><InsuredIdentificationNumber>1</InsuredIdentificationNumber><Birthdate>20000101</Birthdate></ResultOfQualificationConfirmation>")
                .into_bytes(),
            "holds 2 ResultOfQualificationConfirmation",
            unreadable,
        ),
    ];
    for (uri, body, expected, answered) in cases {
        let (status, ct, v) = send(&app, post_xml(uri, body)).await;
        assert_eq!(status, answered, "{uri}: {v}");
        if answered == unreadable {
            assert_eq!(v["type"], "/problems/unreadable-result", "{v}");
        }
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        assert!(v.to_string().contains(expected), "{expected} in {v}");
        assert!(!v.to_string().contains(&pop.personas[0].insured.number));
    }
    let with_my_number = String::from_utf8(good).unwrap().replace(
        "<Birthdate>",
        "<MyNumber>123456789012</MyNumber><Birthdate>",
    );
    let (status, _, v) = send(
        &app,
        post_xml("/v1/subsidy-checks", with_my_number.into_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["type"], "/problems/my-number-rejected");
    assert!(!v.to_string().contains("123456789012"));
}

#[tokio::test]
async fn a_checked_in_patient_is_answered_by_reference_from_the_cache() {
    let (state, upstream) = in_process_state();
    let app = pmh_gateway::api::router(state.clone());
    let pop = population();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let file = &format!(
        "OQSsiquc01res_face_{}100000000001.xml",
        today().format("%Y%m%d")
    );
    pmh_gateway::checkin::prefetch(
        &state.service,
        &state.metrics,
        None,
        &result_file(p, true, Charset::Utf8),
        file,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let uri = format!("/v1/subsidy-checks?reference={}", reference_of(p));
    let (status, _, v) = send(&app, Request::get(&uri).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["status"], &v["source"]),
        (&json!("confirmed"), &json!("cache"))
    );
    assert_eq!(
        v["origin"],
        json!({"kind": "onshi_result", "file_name": file})
    );
    assert_eq!(v["check_in"]["file_name"], *file);
    assert_eq!(v["check_in"]["prefetch_status"], "confirmed");
    assert!(v["receipt_type"].is_string());
    assert_eq!(upstream.calls(), 0);
    let v = json_on_default_day(&v);
    insta::assert_json_snapshot!("answer_by_reference", v, {
        ".check_id" => "[check_id]",
        ".check_in.arrived_at" => "[time]",
        ".check_in.cached_at" => "[time]",
    });

    // The same answer in another setting and rendering.
    let (status, ct, body) = send_raw(
        &app,
        Request::get(format!("{uri}&claim=pharmacy&format=orca-xml"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/xml"), "{ct}");
    assert!(body.contains("PublicInsurance_Information"), "{body}");

    for (uri, expected) in [
        (
            "/v1/subsidy-checks?reference=9999999999",
            StatusCode::NOT_FOUND,
        ),
        ("/v1/subsidy-checks", StatusCode::BAD_REQUEST),
        ("/v1/subsidy-checks?reference=", StatusCode::BAD_REQUEST),
    ] {
        let (status, ct, v) = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, expected, "{uri}: {v}");
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
    }
}

#[tokio::test]
async fn readiness_is_degraded_within_30_days_of_the_client_certificate_expiring() {
    pmh_gateway::tls::install_crypto_provider();
    let ca = pmh_pki::LocalCa::create("test CA").unwrap();
    for (days, status) in [(10, "degraded"), (400, "ready")] {
        let issued = ca.client_valid_for("1311111111", days).unwrap();
        let mut config = test_config_without_upstream();
        let pmh_gateway::config::UpstreamConfig::Pmh { tls, .. } = &mut config.upstream else {
            unreachable!()
        };
        tls.identity_pem = format!("{}{}", issued.cert_pem, issued.key_pem).into_bytes();
        let upstream =
            std::sync::Arc::new(pmh_gateway::sandbox::InMemoryUpstream::new(population()));
        let clock = std::sync::Arc::new(pmh_gateway::service::ManualClock::new(chrono::Utc::now()));
        let state = pmh_gateway::app::state_with_upstream(&config, upstream, clock).unwrap();
        let app = pmh_gateway::api::router(state);
        let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
        let (_, _, v) = send(&app, get("/readyz")).await;
        assert_eq!(v["status"], status, "{days} days: {v}");
        let cert = &v["upstream"]["client_certificate"];
        assert!(
            (days - 1..=days).contains(&cert["days_left"].as_i64().unwrap()),
            "{v}"
        );
        assert_eq!(cert["renew_soon"], days < 30);
        let (_, _, v) = send(&app, get("/metrics")).await;
        let text = v.as_str().unwrap();
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("pmh_gateway_upstream_client_certificate_expiry_timestamp_seconds ")
            })
            .unwrap_or_else(|| panic!("no expiry metric in\n{text}"));
        let at: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        let expected = (chrono::Utc::now() + chrono::Duration::days(days)).timestamp();
        assert!((expected - at).abs() < 3600, "{line}");
    }
}

#[tokio::test]
async fn a_birthdate_after_the_service_date_is_unprocessable_not_malformed() {
    let (app, _) = in_process_app();
    let body = json!({"insured": {"insurer_number": "123456", "number": "1", "birthdate": "2030-01-01"}, "service_date": today().to_string()});
    let (status, ct, v) = send(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    assert_eq!(v["type"], "/problems/inconsistent-request");
    assert_eq!(v["errors"][0]["field"], "insured.birthdate");
    assert!(
        v["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("after the service date")
    );
}

#[tokio::test]
async fn problems_never_echo_identity_values_and_answers_are_not_stored_by_caches() {
    let (app, _) = in_process_app();
    let bodies = [
        json!({"insured": {"insurer_number": "98765X43", "symbol": "QZXJ\u{7}", "number": "QZXK\u{200B}", "branch": "7QZ", "birthdate": "1999-99-99"}}),
        json!({"insured": {"insurer_number": 98765443, "number": 55443322, "birthdate": 19990909}}),
        json!({"insured": {"insurer_number": ["98765443"], "number": {"QZXK": 1}, "birthdate": "QZXL"}}),
        json!({"insured": {"insurer_number": "98765443", "number": "QZXK".repeat(20), "birthdate": "2999-01-01"}}),
    ];
    for body in bodies {
        let raw = send_raw(&app, post_json(&body)).await;
        assert_eq!(raw.0, StatusCode::BAD_REQUEST, "{}", raw.2);
        for secret in [
            "98765",
            "QZX",
            "55443322",
            "19990909",
            "1999-99-99",
            "7QZ",
            "2999",
        ] {
            assert!(!raw.2.contains(secret), "{secret} echoed in {}", raw.2);
        }
    }
    // Answers with personal data are never kept by a cache on the way.
    let pop = population();
    let req = with_token(post_json(&body_for(
        pop.find(&["showcase", "multi"]).unwrap(),
    )));
    let r = app.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn full_width_and_half_width_entries_are_one_person() {
    let (app, upstream) = in_process_app();
    let pop = population();
    let p = pop.find(&["showcase", "multi"]).unwrap();
    let body = body_for(p);
    let (status, _, first) = send(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::OK);
    let calls = upstream.calls();
    // The same person typed in full-width digits and letters: the cached answer.
    let wide = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '0'..='9' | 'A'..='Z' | 'a'..='z' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
                other => other,
            })
            .collect()
    };
    let mut body = body.clone();
    for f in ["insurer_number", "symbol", "number", "branch"] {
        if let Some(v) = body["insured"][f].as_str() {
            body["insured"][f] = json!(wide(v));
        }
    }
    let (status, _, again) = send(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["source"], "cache", "{again}");
    assert_eq!(upstream.calls(), calls);
    assert_eq!(again["subsidies"], first["subsidies"]);
}

/// A check id is a UUID the gateway gave: anything else is refused (400) and never reaches the
/// audit, where an export would carry it.
#[tokio::test]
async fn an_earlier_check_id_that_is_not_a_uuid_is_refused_before_the_audit() {
    let (state, _) = in_process_state();
    let app = pmh_gateway::api::router(state.clone());
    for bad in ["=HYPERLINK(\"x\")", "not-a-check", "0000"] {
        let uri = format!(
            "/v1/subsidy-checks/{}",
            bad.replace('"', "%22")
                .replace('(', "%28")
                .replace(')', "%29")
        );
        let (status, _, v) = send(&app, Request::get(&uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["errors"][0]["field"], "check_id");
    }
    let records = state
        .store
        .search(pmh_gateway::store::AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(records.len(), 3, "each refusal recorded");
    assert!(records.iter().all(|r| r.check_id.is_none()));
    // A UUID in either case is a check id (none kept here).
    let (status, _, _) = send(
        &app,
        Request::get("/v1/subsidy-checks/01234567-89AB-CDEF-0123-456789ABCDEF")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The lookups that take identifiers have POST forms (the identifiers in a JSON body, not the
/// URL) that answer exactly as their GET forms.
#[tokio::test]
async fn the_post_forms_of_the_lookups_answer_as_their_get_forms() {
    let (state, _) = in_process_state();
    let app = pmh_gateway::api::router(state.clone());
    let pop = population();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    pmh_gateway::checkin::prefetch(
        &state.service,
        &state.metrics,
        None,
        &result_file(p, true, Charset::Utf8),
        "OQSsiquc01res_face_000001.xml",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let reference = reference_of(p);
    let post = |uri: &str, body: Value| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let strip = |mut v: Value| {
        v["check_id"] = Value::Null;
        v["checked_at"] = Value::Null;
        v
    };
    let (s1, _, by_get) = send(
        &app,
        Request::get(format!(
            "/v1/subsidy-checks?reference={reference}&claim=pharmacy"
        ))
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    let (s2, _, by_post) = send(
        &app,
        post(
            "/v1/subsidy-checks/by-reference",
            json!({"reference": reference, "claim": "pharmacy"}),
        ),
    )
    .await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{by_post}");
    assert_eq!(strip(by_get), strip(by_post));
    let (s, _, v) = send(
        &app,
        post(
            "/v1/ledgers/search",
            json!({"payer_number": "21136015", "recipient_number": "1234566", "month": "2026-04"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["month"], "2026-04");
    let (s, _, v) = send(
        &app,
        post(
            "/v1/audit/search",
            json!({"reference": reference, "limit": 10}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v.as_array().unwrap().len(),
        2,
        "both reads by 照会番号: {v}"
    );
    // A bad body is refused as a bad query would be; an unknown field too.
    let (s, _, _) = send(
        &app,
        post(
            "/v1/audit/search",
            json!({"reference": reference, "nmber": "1"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = send(
        &app,
        post(
            "/v1/audit/search",
            json!({"patient": {"insurer_number": "06132013", "birthdate": "1980-04-01"}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a patient without its number");
    // The GET form takes no patient: identifiers stay out of URLs.
    let (s, _, v) = send(
        &app,
        Request::get("/v1/audit?insurer_number=06132013&number=1234&birthdate=1980-04-01")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 3, "each named: {v}");
}

#[tokio::test]
async fn every_problem_type_resolves_to_a_page_and_operations_read_as_verb_and_noun() {
    use pmh_gateway::api::problem::ProblemKind;
    let (app, _) = in_process_app();
    for kind in ProblemKind::ALL {
        let (status, ct, body) =
            send_raw(&app, Request::get(kind.uri()).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{}", kind.uri());
        assert!(ct.starts_with("text/html"), "{ct}");
        let (ja, en) = kind.explanation();
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        assert!(body.contains(&esc(ja)) && body.contains(&esc(en)), "{body}");
        assert!(body.contains(&format!("HTTP {}", kind.status())), "{body}");
    }
    let (status, _, v) = send(
        &app,
        Request::get("/problems/no-such-thing")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["type"], "/problems/not-found");

    // Every operation: a unique id that reads as verb_noun, a described tag, security when
    // guarded (the route table says which).
    let doc = serde_json::to_value(pmh_gateway::api::openapi::document()).unwrap();
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|t| {
            assert!(
                t["description"].as_str().is_some_and(|d| d.len() > 20),
                "{t}"
            )
        })
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(
                id.contains('_') && id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{id}"
            );
            assert!(ids.insert(id.to_owned()), "{id} twice");
            let tag = op["tags"][0].as_str().unwrap();
            assert!(tags.contains(&tag), "{method} {path}: tag {tag}");
            let guarded = pmh_gateway::api::ROUTES.iter().any(|r| {
                r.path == path
                    && r.method.eq_ignore_ascii_case(method)
                    && !matches!(
                        r.required,
                        pmh_gateway::api::access::Required::Open
                            | pmh_gateway::api::access::Required::Optional
                    )
            });
            assert_eq!(op.get("security").is_some(), guarded, "{method} {path}");
            if guarded {
                let unauthorized = &op["responses"]["401"];
                assert!(
                    unauthorized["content"]["application/problem+json"].is_object()
                        && unauthorized["headers"]["WWW-Authenticate"].is_object(),
                    "{method} {path}: {unauthorized}"
                );
            }
        }
    }
    assert_eq!(
        ids.len(),
        pmh_gateway::api::ROUTES.len() - 1,
        "every route but /openapi.json"
    );
}

#[test]
fn each_problem_is_answered_with_its_kinds_status() {
    use pmh_gateway::api::problem::{Problem, ProblemKind};
    let all = [
        Problem::invalid_field("f", "r"),
        Problem::my_number("f".into()),
        Problem::unsupported_media_type("text/plain"),
        Problem::too_large(1),
        Problem::unauthenticated(true),
        Problem::too_many_failures(std::time::Duration::from_secs(3)),
        Problem::host_not_allowed(),
        Problem::audit_unavailable(),
        Problem::too_many_connections(),
        Problem::masters_rejected(Vec::new()),
        Problem::internal("x"),
        Problem::request_timeout(std::time::Duration::from_secs(1)),
        Problem::inconsistent(Vec::new()),
        Problem::cannot_compute("x"),
        Problem::conflict("x"),
        Problem::not_found("x"),
    ];
    for p in &all {
        let kind = ProblemKind::ALL
            .into_iter()
            .find(|k| k.uri() == p.kind)
            .unwrap_or_else(|| panic!("{} has no kind", p.kind));
        assert_eq!(p.status, kind.status(), "{}", p.kind);
    }
}

#[tokio::test]
async fn each_rendering_is_an_operation_of_its_own_and_the_old_way_is_marked_deprecated() {
    let (app, _) = in_process_app();
    let pop = population();
    let body = body_for(pop.find(&["showcase", "triple"]).unwrap());
    let strip = |t: &str| {
        // The check id and the times differ between two checks.
        let mut v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("identifier");
            o.remove("timestamp");
        }
        v
    };
    for (format, path, ct) in [
        ("orca", "/v1/subsidy-checks/orca", "application/json"),
        ("orca-xml", "/v1/subsidy-checks/orca-xml", "application/xml"),
        ("fhir", "/v1/subsidy-checks/fhir", "application/fhir+json"),
    ] {
        let (status, got_ct, text) = send_raw(&app, post_to(path, None, &body)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        assert!(got_ct.starts_with(ct), "{path}: {got_ct}");
        // The old way answers the same, with the deprecation headers.
        let req = with_token(post_to(
            &format!("/v1/subsidy-checks?format={format}"),
            None,
            &body,
        ));
        let r = app.clone().oneshot(req).await.unwrap();
        assert_eq!(r.headers()["deprecation"], "@1796396400", "{format}");
        assert!(
            r.headers()[header::LINK]
                .to_str()
                .unwrap()
                .contains("rel=\"deprecation\"")
        );
        let old =
            String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        if format == "fhir" {
            assert_eq!(strip(&old), strip(&text), "{format}");
            let check_id = serde_json::from_str::<Value>(&text).unwrap()["identifier"]["value"]
                .as_str()
                .unwrap()
                .to_owned();
            // The earlier answer, and its rendering operation.
            let (status, got_ct, again) = send_raw(
                &app,
                Request::get(format!("/v1/subsidy-checks/{check_id}/fhir"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{again}");
            assert!(got_ct.starts_with("application/fhir+json"));
            assert_eq!(strip(&again), strip(&text));
        }
    }
    // This API's JSON is not deprecated.
    let req = with_token(post_to("/v1/subsidy-checks", None, &body));
    let r = app.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!r.headers().contains_key("deprecation"));
}

#[tokio::test]
async fn a_list_where_the_schema_has_an_object_is_refused() {
    // serde reads a struct from a JSON array; the gateway does not take one.
    let (app, _) = in_process_app();
    let pop = population();
    let mut body = body_for(pop.find(&["showcase", "triple"]).unwrap());
    body["setting"] = json!([null, null]);
    let (status, _, v) = send(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["field"], "setting", "{v}");
    let insured = body["insured"].clone();
    let (status, _, v) = send(&app, post_json(&json!([insured]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["field"], "body", "{v}");
    // Lists where the schema has lists are read as before.
    let quote = json!({"subsidies": [], "insurance": {"kind": "health_insurance", "share_percent": 30},
        "visit": {"date": "2026-04-01", "parts": [{"points": 100}]}});
    let (status, _, v) = send(&app, post_to("/v1/charge-quotes", None, &quote)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut nested = quote.clone();
    nested["visit"]["parts"][0] = json!([100]);
    let (status, _, v) = send(&app, post_to("/v1/charge-quotes", None, &nested)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["field"], "visit.parts[0]", "{v}");
}
