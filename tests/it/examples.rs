//! The OpenAPI document's examples of answers are real answers: each file in
//! `src/api/examples/` is what the gateway answers here (dates moved to the default day, ids and
//! times fixed), compared byte for byte. `UPDATE_EXAMPLES=1 cargo test` writes them after a
//! change that alters an answer. (tests/schemathesis/examples.py checks each against its
//! schema in the served document.)

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::common::*;
use pmh_gateway::sandbox::Population;

/// The fixed check id and time the examples carry.
const CHECK_ID: &str = "c2f6a1d0-2b1e-4c53-9a57-1e2f0d6b9a10";
const AT: &str = "2026-11-21T09:30:00+09:00";
/// A keyed hash's shape (the key is random per run).
const HASH: &str = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592";

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let (status, _, bytes) = request_as(TEST_TOKEN, app, method, uri, body).await;
    (status, String::from_utf8(bytes).unwrap())
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Ids and times fixed, dates on the default day.
fn fixed(v: &Value) -> Value {
    fixed_value(&json_on_default_day(v))
}

fn fixed_value(v: &Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) if is_uuid(s) => *s = CHECK_ID.into(),
            Value::String(s) if is_hash(s) => *s = HASH.into(),
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => *s = AT.into(),
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = v.clone();
    walk(&mut v);
    v
}

/// ORCA XML with the check id fixed and the dates on the default day.
fn xml_fixed(t: &str) -> String {
    let xml: String = t
        .lines()
        .map(|l| match l.find("<Check_Id type=\"string\">") {
            Some(i) => format!("{}<Check_Id type=\"string\">{CHECK_ID}</Check_Id>", &l[..i]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    as_on_default_day(&xml)
}

/// The example file `name` holds `text`; with `UPDATE_EXAMPLES=1` it is written.
fn example(name: &str, text: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/api/examples")
        .join(name);
    if std::env::var_os("UPDATE_EXAMPLES").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == text,
        "{name}: the document's example is not what the gateway answers; run UPDATE_EXAMPLES=1 cargo test --test it examples\n--- answered:\n{text}"
    );
}

/// An export's text with ids and times fixed, dates on the default day.
fn audit_fixed(t: &str) -> String {
    let mut out = String::new();
    for line in t.lines() {
        let line = as_on_default_day(line);
        let fixed: Vec<String> = line
            .split(',')
            .map(|cell| {
                let bare = cell.trim_matches('"');
                if is_uuid(bare) {
                    cell.replace(bare, CHECK_ID)
                } else if is_hash(bare) {
                    cell.replace(bare, HASH)
                } else if chrono::DateTime::parse_from_rfc3339(bare).is_ok() {
                    cell.replace(bare, AT)
                } else {
                    cell.to_owned()
                }
            })
            .collect();
        let line = fixed.join(",");
        // JSON Lines: each line a record.
        let line = match serde_json::from_str::<Value>(&line) {
            Ok(v) => serde_json::to_string(&fixed_value(&v)).unwrap(),
            Err(_) => line,
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A charge's answer: its dates are the request's own (no shift); ids and times fixed.
fn charge_example(name: &str, v: &Value) {
    example(
        name,
        &format!(
            "{}\n",
            serde_json::to_string_pretty(&fixed_value(v)).unwrap()
        ),
    );
}

fn json_example(name: &str, v: &Value) {
    example(
        name,
        &format!("{}\n", serde_json::to_string_pretty(&fixed(v)).unwrap()),
    );
}

#[tokio::test]
async fn the_documents_examples_are_what_the_gateway_answers() {
    let (app, upstream) = in_process_app();
    let pop = Population::generate(SEED, today(), 300);
    let body = |tags: &[&str]| body_for(pop.find(tags).unwrap());
    let parse = |t: &str| -> Value { serde_json::from_str(t).unwrap() };

    let triple = body(&["showcase", "triple"]);
    let other = body(&["showcase", "maru_ko"]);
    let none = body(&["showcase", "none"]);
    // (operation, body, PMH failing, status, example): the upstream fails for a patient never
    // asked, whose answer is then unavailable (503).
    let answers = [
        (
            "/v1/subsidy-checks",
            &triple,
            false,
            StatusCode::OK,
            "subsidy_check_confirmed.json",
        ),
        (
            "/v1/subsidy-checks",
            &none,
            false,
            StatusCode::OK,
            "subsidy_check_none_found.json",
        ),
        (
            "/v1/subsidy-checks/orca",
            &triple,
            false,
            StatusCode::OK,
            "orca.json",
        ),
        (
            "/v1/subsidy-checks/orca-xml",
            &triple,
            false,
            StatusCode::OK,
            "orca.xml",
        ),
        (
            "/v1/subsidy-checks/fhir",
            &triple,
            false,
            StatusCode::OK,
            "fhir_bundle.json",
        ),
        (
            "/v1/subsidy-checks",
            &other,
            true,
            StatusCode::SERVICE_UNAVAILABLE,
            "subsidy_check_unavailable.json",
        ),
        (
            "/v1/subsidy-checks/fhir",
            &other,
            true,
            StatusCode::SERVICE_UNAVAILABLE,
            "fhir_outcome_unavailable.json",
        ),
        (
            "/v1/subsidy-checks/orca-xml",
            &other,
            true,
            StatusCode::SERVICE_UNAVAILABLE,
            "orca_unavailable.xml",
        ),
    ];
    for (uri, asked, failing, status, file) in answers {
        upstream.set_failing(failing);
        let (s, t) = call(&app, Method::POST, uri, Some(asked.clone())).await;
        assert_eq!(s, status, "{uri}: {t}");
        if file.ends_with(".xml") {
            example(file, &format!("{}\n", xml_fixed(&t)));
        } else {
            json_example(file, &parse(&t));
        }
    }
    upstream.set_failing(false);

    // A charge: quoted, committed, the 管理票 month, voided.
    let charge = json!({
        "subsidies": [{"payer_number": "21136015", "recipient_number": "1234566", "income_class": "低所得2"}],
        "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
        "visit": {"visit_id": "R2026-1121-0001", "date": DEFAULT_TODAY, "parts": [{"points": 1520, "subsidies": [1]}, {"points": 300}]}
    });
    let (s, t) = call(
        &app,
        Method::POST,
        "/v1/charge-quotes",
        Some(charge.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    charge_example("charge_quote.json", &parse(&t));
    let (s, t) = call(&app, Method::POST, "/v1/charges", Some(charge)).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    charge_example("charge_committed.json", &parse(&t));
    let entry = json!({"entry_id": "K-1121-1", "payer_number": "21136015", "recipient_number": "1234566",
        "date": DEFAULT_TODAY, "amount": 500, "total_cost": 5000, "institution": "さくら薬局"});
    let (s, t) = call(&app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    charge_example("ledger.json", &parse(&t));
    let (s, t) = call(&app, Method::DELETE, "/v1/charges/R2026-1121-0001", None).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    charge_example("void.json", &parse(&t));

    // The audit of all that: a record (JSON), and the export forms.
    let (s, t) = call(&app, Method::GET, "/v1/audit?operation=check&limit=1", None).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let records = parse(&t);
    json_example("audit_record.json", &records[0]);
    for (format, file) in [("jsonl", "audit.jsonl"), ("csv", "audit.csv")] {
        let (s, t) = call(
            &app,
            Method::GET,
            &format!("/v1/audit?operation=check&limit=2&format={format}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        example(file, &audit_fixed(&t));
    }

    // An オン資 result message as the terminal writes it (a synthetic persona).
    let result = result_file(
        pop.find(&["showcase", "triple"]).unwrap(),
        false,
        pmh_gateway::onshi::Charset::Utf8,
    );
    let mut xml = String::from_utf8(result).unwrap();
    // The population's dates move with the day the tests run on; the example's are the
    // default day's.
    let shift = chrono::NaiveDate::parse_from_str(DEFAULT_TODAY, "%Y-%m-%d").unwrap() - today();
    let birth = {
        let start = xml.find("<Birthdate>").unwrap() + "<Birthdate>".len();
        let d = chrono::NaiveDate::parse_from_str(&xml[start..start + 8], "%Y%m%d").unwrap();
        (d + shift).format("%Y%m%d").to_string()
    };
    for (element, value) in [
        ("ProcessExecutionTime", "20261121093000"),
        ("QualificationConfirmationDate", "20261121"),
        ("Birthdate", birth.as_str()),
    ] {
        let (open, close) = (format!("<{element}>"), format!("</{element}>"));
        let start = xml.find(&open).unwrap() + open.len();
        let end = start + xml[start..].find(&close).unwrap();
        xml.replace_range(start..end, value);
    }
    example("onshi_result.xml", &xml);

    // A problem: two fields in error, both named.
    let (s, t) = call(
        &app,
        Method::POST,
        "/v1/subsidy-checks",
        Some(json!({"insured": {"insurer_number": "0613", "number": "1234", "birthdate": "1980-02-30"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{t}");
    let fields: Vec<String> = parse(&t)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["insured.birthdate", "insured.insurer_number"],
        "{t}"
    );
    json_example("problem.json", &parse(&t));

    // A receipt check of a small hand-written file (its claim month fixed, so that the answer
    // is the same on any day): 公費 claimed for a patient PMH holds nothing for, a 公費のみ
    // receipt (not looked up) with its 公費 out of order.
    let nobody = pop.find(&["showcase", "none"]).unwrap();
    let i = &nobody.insured;
    let text = format!(
        "IR,1,13,1,1111111,,さくら医院,202611,00\r\n\
         RE,1,1122,202610,患者　一,1,{},,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n\
         HO,{},{},{},2,1000,,,,,,3000\r\n\
         KO,21136015,1234566,,2,1000,0,,,,,\r\n\
         RE,2,1222,202610,患者　二,2,19600101,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n\
         KO,12136016,1234566,,1,300,0,,,,,\r\n\
         KO,21136015,1234566,,1,300,0,,,,,\r\n\x1A",
        i.birthdate.replace('-', ""),
        i.insurer_number,
        i.symbol.as_deref().unwrap_or(""),
        i.number,
    );
    let file = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    let req = axum::http::Request::post("/v1/receipt-checks")
        .header(header::AUTHORIZATION, format!("Bearer {TEST_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(axum::body::Body::from(file))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let started = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    json_example(
        "receipt_check_running.json",
        &parse(std::str::from_utf8(&started).unwrap()),
    );
    let report = loop {
        let (s, t) = call(&app, Method::GET, &location, None).await;
        assert_eq!(s, StatusCode::OK);
        let v = parse(&t);
        if v["state"] == "done" {
            break v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    };
    json_example("receipt_check.json", &report);
    let (_, t) = call(&app, Method::GET, &format!("{location}?format=csv"), None).await;
    example("receipt_check.csv", &t);
}

async fn call_with_headers(
    app: &axum::Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let (status, headers, bytes) = request_as(TEST_TOKEN, app, method, uri, body).await;
    (status, headers, String::from_utf8(bytes).unwrap())
}

/// The headers the document declares lead where they say: a check answer's `Content-Location`
/// (per rendering, for `unavailable` too), a commit's and a 管理票 entry's `Location`.
#[tokio::test]
async fn locations_lead_to_what_was_answered_or_created() {
    let (app, upstream) = in_process_app();
    let pop = Population::generate(SEED, today(), 300);
    let triple = body_for(pop.find(&["showcase", "triple"]).unwrap());
    for (uri, kept) in [
        ("/v1/subsidy-checks", ""),
        ("/v1/subsidy-checks/orca", "/orca"),
        ("/v1/subsidy-checks/orca-xml", "/orca-xml"),
        ("/v1/subsidy-checks/fhir", "/fhir"),
    ] {
        let (s, h, answered) =
            call_with_headers(&app, Method::POST, uri, Some(triple.clone())).await;
        assert_eq!(s, StatusCode::OK, "{answered}");
        let at = h[header::CONTENT_LOCATION].to_str().unwrap().to_owned();
        assert!(
            at.starts_with("/v1/subsidy-checks/") && at.ends_with(kept),
            "{uri}: {at}"
        );
        let (s, _, again) = call_with_headers(&app, Method::GET, &at, None).await;
        assert_eq!((s, again), (StatusCode::OK, answered), "{at}");
    }
    upstream.set_failing(true);
    let other = body_for(pop.find(&["showcase", "maru_ko"]).unwrap());
    let (s, h, _) = call_with_headers(&app, Method::POST, "/v1/subsidy-checks", Some(other)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.contains_key(header::CONTENT_LOCATION) && h.contains_key(header::RETRY_AFTER));
    upstream.set_failing(false);

    let charge = json!({
        "subsidies": [{"payer_number": "21136015", "recipient_number": "1234566", "income_class": "低所得2"}],
        "insurance": {"kind": "health_insurance", "share_percent": 30},
        "visit": {"visit_id": "L-1", "date": "2026-04-01", "parts": [{"points": 100, "subsidies": [1]}]}
    });
    let (s, h, t) = call_with_headers(&app, Method::POST, "/v1/charges", Some(charge)).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let at = h[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(at, "/v1/charges/L-1");
    let (s, _, t) = call_with_headers(&app, Method::DELETE, &at, None).await;
    assert_eq!(s, StatusCode::OK, "{t}");

    let entry = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": "2026-04-02", "amount": 300});
    let (s, h, t) = call_with_headers(&app, Method::POST, "/v1/ledger-entries", Some(entry)).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let at = h[header::LOCATION].to_str().unwrap().to_owned();
    assert!(at.starts_with("/v1/ledger-entries/"), "{at}");
    let (s, _, t) = call_with_headers(&app, Method::DELETE, &at, None).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(
        serde_json::from_str::<Value>(&t).unwrap()["total"],
        0,
        "{t}"
    );
}
