//! No personal data in logs at any level: a full round trip (including upstream failures and a
//! refused My Number) with every target logging at TRACE, then a search of everything logged.
//! And none in `Debug`: every type that holds a recipient number, an insurance identity, a
//! birthdate or a 照会番号 writes `<redacted>` in its place.

use std::time::Duration;

use crate::common::*;
use pmh_gateway::domain::{Care, Claim, InsuredIdentity, ServiceDate};
use pmh_gateway::mapping::{VisitContext, map};
use pmh_gateway::onshi::{Charset, OnshiResult};
use pmh_gateway::pmh::{EligibilityRequest, EligibilityResponse};
use pmh_gateway::sandbox::terminal::{Malformation, ResultSpec, name_of, reference_of, result_xml};
use pmh_gateway::service::{CheckRequest, Intake, ResultVisit, checks_from_result};
use pmh_gateway::upstream::Query;
use serde_json::json;

// One thread, so that the subscriber set for this test (not for the whole test binary) sees
// everything the sandbox, the gateway and its watcher log.
#[tokio::test]
async fn nothing_personal_is_logged_even_at_trace_level() {
    let (buf, _guard) = capture_logs("trace");

    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let face = dir.path().join("face");
    let mut cfg = gateway_config(&sandbox, Duration::from_millis(800));
    cfg.checkin = Some(pmh_gateway::checkin::WatchOptions {
        incomplete_grace: Duration::from_millis(300),
        settle: Duration::from_millis(100),
        ..pmh_gateway::checkin::WatchOptions::for_face_dir(&face)
    });
    let gw = Gateway::start(cfg).await;
    let people: Vec<_> = sandbox
        .population()
        .personas
        .iter()
        .filter(|p| p.tags.contains(&"multi"))
        .take(3)
        .cloned()
        .collect();
    let mut secrets: Vec<String> = Vec::new();
    for p in &people {
        let (_, v) = gw.check(&body_for(p)).await;
        assert_eq!(v["status"], "confirmed");
        secrets.push(p.insured.number.clone());
        secrets.push(p.insured.birthdate.clone());
        secrets.push(p.insured.birthdate.replace('-', ""));
        for c in &p.certificates {
            secrets.extend(c.medical_subsidy_recipient_number.clone());
        }
    }
    // Check-ins: good files (with and without the block), a truncated one, one with a bad
    // insurer number; then answers by 照会番号 and a posted result.
    let client = http();
    for (i, p) in people.iter().enumerate() {
        let bytes = result_xml(&ResultSpec {
            persona: p,
            date: pmh_gateway::domain::date::jst_date(chrono::Utc::now()),
            institution: "1311111111",
            file_id: "PRIVACY00001",
            reference: Some(&reference_of(p)),
            charset: if i == 0 {
                Charset::ShiftJis
            } else {
                Charset::Utf8
            },
            block: (i % 2 == 0).then_some(p.certificates.as_slice()),
        })
        .unwrap();
        std::fs::write(face.join(format!("OQSsiquc01res_face_{i}.xml")), &bytes).unwrap();
        if i == 0 {
            std::fs::write(
                face.join("OQSsiquc01res_face_cut.xml"),
                &bytes[..bytes.len() - 40],
            )
            .unwrap();
            let bad = String::from_utf8_lossy(&Malformation::MissingBirthdate.apply(&bytes))
                .replace(&p.insured.insurer_number, "12345");
            std::fs::write(face.join("OQSsiquc01res_face_bad.xml"), bad).unwrap();
            // A name with control characters: logged only escaped.
            std::fs::write(
                face.join("OQSsiquc01res_face_\u{1b}[31mred\nline.xml"),
                b"<XmlMsg>",
            )
            .unwrap();
            let r = client
                .post(gw.url("/v1/subsidy-checks"))
                .header("content-type", "application/xml")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(face.join("rejected"))
        .map(|d| d.count())
        .unwrap_or(0)
        < 6
    {
        assert!(
            std::time::Instant::now() < end,
            "the bad files were not rejected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for p in &people {
        let url = gw.url(&format!("/v1/subsidy-checks?reference={}", reference_of(p)));
        let r = client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    for p in &people {
        let who = name_of(p);
        secrets.push(who.name);
        secrets.push(who.kana);
    }

    admin_put_faults(&sandbox, r#"{"mode": "error"}"#).await;
    let (_, v) = gw.check(&json!({"insured": {"insurer_number": "06139999", "number": "8642097531", "birthdate": "1999-09-09"}})).await;
    assert_eq!(v["status"], "unavailable");
    secrets.push("8642097531".into());
    let (status, _) = gw
        .check(&json!({"insured": {"insurer_number": "06139999", "number": "1", "birthdate": "1999-09-09", "my_number": "987654321098"}}))
        .await;
    assert_eq!(status, 400);
    secrets.push("987654321098".into());
    gw.stop().await;
    sandbox.shutdown().await;

    let logged = buf.text();
    assert!(logged.len() > 1000, "the test must have captured the logs");
    assert!(
        logged.contains("OQSsiquc01res_face_cut.xml"),
        "the watcher's logs must have been captured"
    );
    assert!(
        logged.contains("OQSsiquc01res_face_\\u{1b}[31mred\\u{a}line.xml"),
        "the odd name, escaped, must have been logged"
    );
    assert!(
        !logged.contains('\u{1b}'),
        "a raw control character reached the logs"
    );
    for s in &secrets {
        // Short numbers could appear by chance inside timestamps or ids; the population's
        // numbers are 3+ digits, and birthdates are distinctive.
        if s.len() >= 5 || !s.is_ascii() {
            let line = logged.lines().find(|l| l.contains(s.as_str()));
            assert!(line.is_none(), "{s} appears in the logs: {line:?}");
        }
    }
}

#[tokio::test]
async fn debug_output_holds_no_personal_value() {
    let (st, _) = in_process_state();
    let pop = pmh_gateway::sandbox::Population::generate(SEED, today(), 300);
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let birthdate = chrono::NaiveDate::parse_from_str(&p.insured.birthdate, "%Y-%m-%d").unwrap();
    let insured = InsuredIdentity::new(
        &p.insured.insurer_number,
        p.insured.symbol.as_deref(),
        &p.insured.number,
        p.insured.branch.as_deref(),
        birthdate,
    )
    .unwrap();
    let mut secrets = vec![
        p.insured.number.clone(),
        p.insured.birthdate.clone(),
        p.insured.birthdate.replace('-', ""),
        reference_of(p),
    ];
    secrets.extend(p.insured.symbol.clone());
    for c in &p.certificates {
        secrets.extend(c.medical_subsidy_recipient_number.clone());
        secrets.extend(c.certification_detail.iter().map(|d| d.item_value.clone()));
    }
    assert!(secrets.len() >= 6, "the persona has recipient numbers");

    let mut out = Vec::new();
    // The wire: the query, the answer, each certificate.
    let request = EligibilityRequest::new("1311111111", &insured, today(), "check-1");
    out.push(format!("{request:?}"));
    let response = EligibilityResponse {
        processing_result_status: "1".into(),
        processed_at: None,
        arbitrary_identifier: None,
        error_code: None,
        error_message: None,
        medical_subsidies: Some(p.certificates.clone()),
    };
    out.push(format!("{response:?}"));
    // The domain and the mapping.
    let certificates: Vec<_> = p.certificates.iter().map(|w| w.to_certificate()).collect();
    out.push(format!("{certificates:?}"));
    let mut ctx = VisitContext::on(ServiceDate::new(today()));
    ctx.birthdate = Some(birthdate);
    let mapped = map(&certificates, &pmh_gateway::masters::embedded(), &ctx);
    assert_eq!(mapped.active.len(), 3);
    out.push(format!("{mapped:?}"));
    out.push(format!(
        "{:?}",
        Query {
            insured: insured.clone(),
            date: today(),
            check_id: "check-1".into(),
        }
    ));
    // The service: a request, an outcome, a result check, a check-in.
    let req = CheckRequest {
        insured: insured.clone(),
        service_date: None,
        claim: Claim::Medical,
        care: Care::Outpatient,
        insurance: None,
    };
    out.push(format!("{req:?}"));
    out.push(format!("{:?}", st.service.check(req).await));
    let xml = result_file(p, true, Charset::Utf8);
    out.push(format!("{:?}", OnshiResult::parse(&xml).unwrap()));
    let checks = checks_from_result(
        &xml,
        ResultVisit::default(),
        ServiceDate::new(today()),
        None,
    )
    .unwrap();
    out.push(format!("{checks:?}"));
    let intake = Intake::CheckIn {
        file_name: "OQSsiquc01res_face_1.xml".into(),
        arrived_at: chrono::Utc::now(),
    };
    let outcome = st
        .service
        .check_result(checks.into_iter().next().unwrap(), intake)
        .await;
    out.push(format!("{outcome:?}"));
    let (_, check_in) = st
        .service
        .check_by_reference(&reference_of(p), Claim::Medical, Care::Outpatient)
        .await
        .unwrap();
    out.push(format!("{check_in:?}"));

    // The charges: the subsidies resolved for the engine, and a typed-in certificate.
    let named: Vec<pmh_gateway::charges::Named> = certificates
        .iter()
        .map(|c| pmh_gateway::charges::Named {
            certificate: c.clone(),
            own_payment: None,
        })
        .collect();
    let resolved = pmh_gateway::charges::resolve(
        &named,
        &pmh_gateway::masters::embedded(),
        ServiceDate::new(today()),
        &ctx,
    )
    .unwrap();
    out.push(format!("{resolved:?}"));
    let typed: pmh_gateway::api::dto::InlineSubsidyDto =
        serde_json::from_value(serde_json::json!({
            "payer_number": "21136015",
            "recipient_number": p.certificates[0].medical_subsidy_recipient_number,
        }))
        .unwrap();
    out.push(format!("{typed:?}"));
    let insurance: pmh_gateway::api::dto::ChargeInsuranceDto =
        serde_json::from_value(serde_json::json!({
            "kind": "health_insurance",
            "birthdate": p.insured.birthdate,
        }))
        .unwrap();
    out.push(format!("{insurance:?}"));

    let all = out.join("\n");
    assert!(all.contains("<redacted>"), "{all}");
    assert!(
        all.contains(&p.certificates[0].medical_subsidy_insurer_number),
        "payer numbers are public and stay"
    );
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "{s} appears in Debug output");
    }
}

/// Identifiers travel in the GET forms' query strings (a 照会番号, a recipient number, a
/// patient's identity for the audit): no log line carries a query string, at any level, nor a
/// path segment that holds an identifier; the POST forms keep them out of URLs altogether.
#[tokio::test]
async fn request_logs_carry_no_query_string_or_identifier() {
    use tower::ServiceExt;
    let (buf, _guard) = capture_logs("trace");
    let (app, _) = in_process_app();
    let get = |uri: &str| {
        axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {TEST_TOKEN}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    for uri in [
        "/v1/subsidy-checks?reference=7777777777&claim=medical",
        "/v1/ledgers?payer_number=21136015&recipient_number=7294523&month=2026-04",
        "/v1/audit?insurer_number=06132013&number=98765&birthdate=1980-04-01",
        "/v1/subsidy-checks/0193a1b2-0000-7000-8000-000000000000",
        "/reception/patients/7777777777",
    ] {
        let _ = app.clone().oneshot(get(uri)).await.unwrap();
    }
    let logged = buf.text();
    assert!(logged.contains("path=/v1/ledgers"), "{logged}");
    for secret in [
        "7777777777",
        "7294523",
        "98765",
        "1980-04-01",
        "0193a1b2",
        "recipient_number=",
        "?",
    ] {
        assert!(
            !logged.contains(secret),
            "the log holds {secret:?}: {logged}"
        );
    }
}
