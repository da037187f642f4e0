//! `/v1/receipt-checks`: a month's UKE file checked against the receipts' own rules, PMH and the
//! 管理票 ledger — the sandbox's file with its planted mistakes, and hand-written files for what
//! the sandbox cannot plant (the ledger, 公費のみ, PMH down).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;
use pmh_gateway::api::{self, AppState};
use pmh_gateway::claims::FindingCode;
use pmh_gateway::sandbox::{Persona, Population};

async fn post_file(st: &AppState, token: &str, bytes: Vec<u8>) -> (StatusCode, Value, String) {
    let req = Request::post("/v1/receipt-checks")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .unwrap();
    let resp = api::router(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap(), location)
}

async fn get(st: &AppState, token: &str, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = api::router(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        ct,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

/// The report at `location` once the check is done (the progress read on the way never goes
/// back, and never beyond the patients).
async fn done(st: &AppState, location: &str) -> Value {
    let mut last = 0;
    for _ in 0..20_000 {
        let (s, _, body) = get(st, TEST_TOKEN, location).await;
        assert_eq!(s, StatusCode::OK);
        let v: Value = serde_json::from_slice(&body).unwrap();
        let progress = v["patients_done"].as_u64().unwrap();
        assert!(
            progress >= last && progress <= v["patients"].as_u64().unwrap(),
            "{v}"
        );
        last = progress;
        if v["state"] == "done" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("the check did not finish");
}

fn findings(report: &Value) -> Vec<(u32, String)> {
    report_findings(report)
        .into_iter()
        .map(|(n, c)| (n as u32, c))
        .collect()
}

/// The month before the tests' today (its first day): the month a clinic checks.
fn last_month() -> NaiveDate {
    use chrono::Datelike;
    today()
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .unwrap()
}

/// `last_month()` as a UKE writes it (`YYYYMM`), and the billing month after it.
fn ym() -> (String, String) {
    let m = last_month();
    (
        m.format("%Y%m").to_string(),
        (m + chrono::Months::new(1)).format("%Y%m").to_string(),
    )
}

/// The sandbox's file for last month: exactly the planted findings — of every kind the population
/// can carry on any day — none on its correct receipts; one PMH call and one `receipt_precheck`
/// record per patient.
#[tokio::test]
async fn the_sandbox_file_gives_exactly_its_planted_findings_with_one_pmh_call_per_patient() {
    let p = in_process();
    let pop = Population::generate(SEED, today(), 300);
    let masters = pmh_gateway::masters::embedded();
    let file = pmh_gateway::sandbox::uke::month_file(&pop, &masters, last_month(), 300);
    let (s, started, location) = post_file(&p.state, TEST_TOKEN, file.bytes.clone()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["state"], "running");
    assert_eq!(
        location,
        format!("/v1/receipt-checks/{}", started["id"].as_str().unwrap())
    );
    let report = done(&p.state, &location).await;
    assert_eq!(report["receipts"], file.receipts);
    let mut planted: Vec<(u32, String)> = file
        .planted
        .iter()
        .map(|(n, c)| (*n, c.as_str().to_owned()))
        .collect();
    planted.sort();
    assert_eq!(findings(&report), planted);
    // The kinds few persons can carry (a certificate ended before the month, starting after it,
    // of another institution) depend on where the month falls against the population's dates:
    // the sandbox's own test plants them on its fixed day, and the hand-written file has them.
    for kind in pmh_gateway::sandbox::uke::MISTAKES {
        let rare = matches!(
            kind,
            FindingCode::CertificateExpired
                | FindingCode::CertificateNotYetValid
                | FindingCode::DesignatedInstitutionOther
        );
        assert!(
            rare || planted.iter().any(|(_, c)| c == kind.as_str()),
            "{kind:?}"
        );
    }
    let patients = report["patients"].as_u64().unwrap();
    assert_eq!(patients as usize, file.receipts, "one receipt per person");
    assert_eq!(p.upstream.calls(), patients);
    assert_eq!(report["pmh"]["not_checked"], 0);
    assert_eq!(
        report["pmh"]["checked"].as_u64().unwrap() + report["pmh"]["none_found"].as_u64().unwrap(),
        patients
    );
    // Every finding is said for the clerk; the report names each receipt's patient.
    for r in report["receipts_to_review"].as_array().unwrap() {
        assert!(r["name"].as_str().unwrap().starts_with("患者"));
        for f in r["findings"].as_array().unwrap() {
            assert!(!f["message_ja"].as_str().unwrap().is_ascii());
        }
    }
    let (s, _, body) = get(
        &p.state,
        TEST_TOKEN,
        "/v1/audit?operation=receipt_precheck&limit=1000",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let records: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(records.as_array().unwrap().len() as u64, patients);
    // The same file again: the same findings, and again at most one call per patient (an
    // answer about a past day is not kept fresh past that day: PMH is asked again).
    let (_, _, location) = post_file(&p.state, TEST_TOKEN, file.bytes).await;
    let again = done(&p.state, &location).await;
    assert_eq!(findings(&again), planted);
    assert!(p.upstream.calls() <= 2 * patients);
}

/// A persona with an active 難病 certificate covering last month, and its certificate.
fn nanbyou_patient(pop: &Population) -> (&Persona, &pmh_gateway::pmh::WireSubsidy) {
    let month = pmh_gateway::claims::ClaimMonth::of(last_month());
    let first = month.first.format("%Y%m%d").to_string();
    let last = month.last.format("%Y%m%d").to_string();
    pop.personas
        .iter()
        .filter(|p| p.certificates.len() == 1)
        .find_map(|p| {
            let c = &p.certificates[0];
            let from = c.valid_from.as_deref()?;
            let to = c.valid_to.as_deref()?;
            (c.medical_subsidy_insurer_number.starts_with("54")
                && c.designated_medical_institutions
                    .iter()
                    .any(|i| i.medical_institution_code == "1311111111")
                && c.max_copayment_amount.is_some()
                && from <= first.as_str()
                && to >= last.as_str())
            .then_some((p, c))
        })
        .expect("a 難病 patient")
}

fn sjis(s: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(s).0.into_owned()
}

/// The RE, HO and SN lines of `p`'s outpatient receipt `n` with `kos` 公費.
fn re_ho(n: u32, p: &Persona, kos: usize) -> String {
    let i = &p.insured;
    format!(
        "RE,{n},11{}2,{},患者　{n},1,{},,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n\
         HO,{},{},{},2,1000,,,,,,3000\r\n\
         SN,1,01,{},{},{},{},,\r\n",
        kos + 1,
        ym().0,
        i.birthdate.replace('-', ""),
        i.insurer_number,
        i.symbol.as_deref().unwrap_or(""),
        i.number,
        i.insurer_number,
        i.symbol.as_deref().unwrap_or(""),
        i.number,
        i.branch.as_deref().unwrap_or(""),
    )
}

/// A hand-written file: a 難病 receipt whose 受給者番号 differs from PMH's, one of a patient PMH
/// holds nothing for, a 公費のみ receipt (no HO: not looked up) with an order mistake.
#[tokio::test]
async fn a_hand_written_file_against_pmh_names_each_receipt_s_standing() {
    let p = in_process();
    let pop = Population::generate(SEED, today(), 300);
    let (patient, cert) = nanbyou_patient(&pop);
    let nobody = pop.find(&["none"]).unwrap();
    let rn = cert.medical_subsidy_recipient_number.clone().unwrap();
    let other = pmh_gateway::domain::check_digit::complete(&format!(
        "{}{}",
        &rn[..5],
        (rn.as_bytes()[5] - b'0' + 1) % 10
    ))
    .unwrap();
    let text = format!(
        "IR,1,13,1,1111111,,テスト医院,{billing},00,0312345678\r\n\
         {}KO,{},{},,2,1000,1000,,,,,\r\n\
         {}KO,21136015,1234566,,2,1000,0,,,,,\r\n\
         RE,3,1222,{month},公費　のみ,2,19600101,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n\
         KO,12136016,1234566,,1,300,0,,,,,\r\n\
         KO,21136015,1234566,,1,300,0,,,,,\r\n\
         \x1A",
        re_ho(1, patient, 1),
        cert.medical_subsidy_insurer_number,
        other,
        re_ho(2, nobody, 1),
        month = ym().0,
        billing = ym().1,
    );
    let (s, _, location) = post_file(&p.state, TEST_TOKEN, sjis(&text)).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let report = done(&p.state, &location).await;
    assert_eq!(
        findings(&report),
        [
            (1, "ko_recipient_differs".to_owned()),
            (3, "ko_order".to_owned())
        ]
    );
    let pmh: Vec<(u64, &str)> = report["receipts_to_review"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["number"].as_u64().unwrap(), r["pmh"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pmh,
        [(1, "checked"), (2, "none_found"), (3, "not_identifiable")]
    );
    assert_eq!(report["patients"], 2);
    assert_eq!(p.upstream.calls(), 2);
    let f = &report["receipts_to_review"][0]["findings"][0];
    assert_eq!(f["line"], 5, "the KO's line");
    assert!(!f["message_ja"].as_str().unwrap().contains(&other));
}

/// PMH down: the receipts are "not checked" — never a PMH finding — and the receipts' own
/// mistakes are still found.
#[tokio::test]
async fn pmh_down_is_not_checked_never_a_finding() {
    let p = in_process();
    p.upstream.set_failing(true);
    let pop = Population::generate(SEED, today(), 300);
    let masters = pmh_gateway::masters::embedded();
    let file = pmh_gateway::sandbox::uke::month_file(&pop, &masters, last_month(), 100);
    let (_, _, location) = post_file(&p.state, TEST_TOKEN, file.bytes).await;
    let report = done(&p.state, &location).await;
    assert_eq!(report["pmh"]["checked"], 0);
    assert_eq!(
        report["pmh"]["not_checked"].as_u64().unwrap(),
        report["patients"].as_u64().unwrap()
    );
    let mut offline: Vec<(u32, String)> = file
        .planted
        .iter()
        .filter(|(_, c)| !c.needs_pmh_or_ledger())
        .map(|(n, c)| (*n, c.as_str().to_owned()))
        .collect();
    offline.sort();
    assert!(!offline.is_empty());
    assert_eq!(findings(&report), offline);
    for r in report["receipts_to_review"].as_array().unwrap() {
        assert_eq!(r["pmh"], "not_checked");
        assert_eq!(r["pmh_ja"], "PMHに接続できず未照合");
    }
}

/// The ledger: a 負担金額 that differs from this institution's committed visits under the
/// certificate is a finding; the same amount is not.
#[tokio::test]
async fn a_burden_that_differs_from_the_ledger_is_a_finding() {
    let p = in_process();
    let app = api::router(p.state.clone());
    let pop = Population::generate(SEED, today(), 300);
    let (patient, cert) = nanbyou_patient(&pop);
    let payer = cert.medical_subsidy_insurer_number.clone();
    let rn = cert.medical_subsidy_recipient_number.clone().unwrap();
    let (s, _, body) = request_as(
        TEST_TOKEN,
        &app,
        Method::POST,
        "/v1/charges",
        Some(json!({
            "subsidies": [{"payer_number": payer, "recipient_number": rn, "income_class": "一般所得Ⅰ"}],
            "insurance": {"kind": "health_insurance", "share_percent": 30},
            "visit": {"visit_id": "V-05", "date": (last_month() + chrono::Days::new(4)).to_string(), "parts": [{"points": 500, "subsidies": [1]}]}
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let committed: Value = serde_json::from_slice(&body).unwrap();
    let paid = committed["subsidies"][0]["this_visit"].as_u64().unwrap();
    assert!(paid > 0, "{committed}");
    for (burden, expected) in [
        (paid, vec![]),
        (
            paid + 100,
            vec![(1, "ko_burden_differs_from_ledger".to_owned())],
        ),
    ] {
        let text = format!(
            "IR,1,13,1,1111111,,テスト医院,{},00\r\n{}KO,{payer},{rn},,1,500,{burden},,,,,\r\n\x1A",
            ym().1,
            re_ho(1, patient, 1),
        );
        let (_, _, location) = post_file(&p.state, TEST_TOKEN, sjis(&text)).await;
        let report = done(&p.state, &location).await;
        assert_eq!(findings(&report), expected, "{report}");
    }
}

/// Who may read a report, in which form, how long; and what a file that cannot be read gets.
#[tokio::test]
async fn reports_are_their_owners_kept_on_request_and_csv_is_formula_safe() {
    let p = in_process();
    let pop = Population::generate(SEED, today(), 300);
    let (patient, cert) = nanbyou_patient(&pop);
    let text = format!(
        "IR,1,13,1,1111111,,テスト医院,{},00\r\n{}KO,{},{},,3,1000,1000,,,,,\r\n\x1A",
        ym().1,
        re_ho(1, patient, 1).replace("患者　1", "=HYPERLINK(\"x\")"),
        cert.medical_subsidy_insurer_number,
        cert.medical_subsidy_recipient_number.as_deref().unwrap(),
    );
    let (s, started, location) = post_file(&p.state, TEST_TOKEN, sjis(&text)).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let report = done(&p.state, &location).await;
    assert_eq!(findings(&report), [(1, "ko_days_over_ho".to_owned())]);
    assert!(report["expires_at"].is_string());
    // The report is in the store sealed: its name, and the file's numbers, are not in plain.
    assert_nothing_personal_in(
        &p.config.store.dir,
        &[
            ("name", "=HYPERLINK(\"x\")".to_owned()),
            ("insured number", patient.insured.number.clone()),
            (
                "recipient number",
                cert.medical_subsidy_recipient_number.clone().unwrap(),
            ),
        ],
    );
    // Another client (with the scope) does not find it; one without the scope is refused.
    let (s, _, _) = get(&p.state, CHECKER_TOKEN, &location).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // CSV: a row per finding, the name written as text.
    let (s, ct, body) = get(&p.state, TEST_TOKEN, &format!("{location}?format=csv")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    let csv = String::from_utf8(body).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
    assert!(csv.contains(",ko_days_over_ho,"), "{csv}");
    // Kept: no expiry.
    let id = started["id"].as_str().unwrap();
    let (s, v) = call_as(
        &p.state,
        TEST_TOKEN,
        Request::post(format!("/v1/receipt-checks/{id}/keep"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["expires_at"].is_null());
    let (_, _, body) = get(&p.state, TEST_TOKEN, &location).await;
    assert!(serde_json::from_slice::<Value>(&body).unwrap()["expires_at"].is_null());
    // Unknown ids and another format.
    let (s, _, _) = get(
        &p.state,
        TEST_TOKEN,
        "/v1/receipt-checks/0193a1b2-0000-7000-8000-000000000000",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = get(&p.state, TEST_TOKEN, &format!("{location}?format=xml")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A file with no readable receipt: 422, each line's problem by its number.
    let (s, v, _) = post_file(
        &p.state,
        TEST_TOKEN,
        sjis("IR,1,13,1,1111111,,x,202611\r\nRE,x,11,202610\r\nKO,1\r\n"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["type"], "/problems/unreadable-file");
    assert!(
        v["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("line 2"),
        "{v}"
    );
    // Not octet-stream: 415.
    let (s, _) = call_as(
        &p.state,
        TEST_TOKEN,
        Request::post("/v1/receipt-checks")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// A check said to run by a replica that stopped (its running report in the store, no replica
/// running it): running at first, interrupted once longer than any check takes; it cannot be kept.
#[tokio::test]
async fn a_check_whose_replica_stopped_is_interrupted_not_running_for_ever() {
    use pmh_gateway::receipts::{PmhTally, Report, RunState};
    let p = in_process();
    let id = "0193a1b2-0000-7000-8000-00000000abcd";
    let now = p.state.service.now();
    let report = Report {
        id: id.into(),
        owner: TEST_CLIENT.into(),
        state: RunState::Running,
        created_at: now,
        finished_at: None,
        expires_at: Some(now + chrono::Duration::hours(24)),
        institution: None,
        billing_month: None,
        months: vec!["2026-10".into()],
        receipts: 10,
        patients: 10,
        patients_done: 0,
        pmh: PmhTally::default(),
        findings: 0,
        by_code: Default::default(),
        line_problems: vec![],
        items: vec![],
    };
    let (key, sealer) = p.state.hasher.report(id);
    p.state
        .store
        .put_report(pmh_gateway::store::StoredReport {
            key,
            owner: TEST_CLIENT.into(),
            created_at: now,
            expires_at: report.expires_at,
            sealed: sealer.seal(&serde_json::to_vec(&report).unwrap()),
        })
        .await
        .unwrap();
    let location = format!("/v1/receipt-checks/{id}");
    let state = |body: Vec<u8>| serde_json::from_slice::<Value>(&body).unwrap()["state"].clone();
    let (s, _, body) = get(&p.state, TEST_TOKEN, &location).await;
    assert_eq!((s, state(body)), (StatusCode::OK, json!("running")));
    p.clock.advance(chrono::Duration::minutes(31));
    let (_, _, body) = get(&p.state, TEST_TOKEN, &location).await;
    assert_eq!(state(body), json!("interrupted"));
    let (s, v) = call_as(
        &p.state,
        TEST_TOKEN,
        Request::post(format!("{location}/keep"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

/// Every finding code, each on a receipt of one hand-written file (`tests/fixtures/uke/
/// every-finding.uke`, Shift_JIS, written from the 記録条件仕様's layouts): the receipts' own
/// checks, then each receipt against the certificates PMH is given to hold for its patient here,
/// and the last against the ledger; the file's last receipt is correct and gives none.
#[test]
fn every_finding_code_on_a_hand_written_file() {
    use pmh_gateway::claims::{self, ClaimMonth, FindingCode, LedgerMonth};
    use pmh_gateway::domain::{
        Certificate, DesignatedInstitution, MedicalInstitutionCode, ServiceDate,
    };
    use pmh_gateway::mapping::{VisitContext, map};

    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/uke/every-finding.uke"
    ))
    .unwrap();
    let file = pmh_gateway::uke::read(&bytes);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_eq!(file.receipts.len(), 22);
    let masters = pmh_gateway::masters::embedded();
    let offline = claims::check(&file.receipts, file.institution.unwrap().table, &masters);
    let mut found: Vec<(u32, &str)> = offline
        .iter()
        .map(|f| (f.receipt, f.code.as_str()))
        .collect();
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let month = ClaimMonth::of(d(10, 1));
    let nanbyou =
        |from: NaiveDate, to: NaiveDate| Certificate::simple("54136015", Some("7654320"), from, to);
    let year = || nanbyou(d(4, 1), NaiveDate::from_ymd_opt(2027, 3, 31).unwrap());
    let elsewhere = {
        let mut c = year();
        c.designated_institutions = vec![DesignatedInstitution {
            code: "1399999999".into(),
            name: None,
        }];
        c
    };
    let low_income = {
        let mut c = year();
        c.income_segment = Some("低所得Ⅰ".into());
        c
    };
    let pmh: Vec<(u32, Vec<Certificate>)> = vec![
        (14, vec![year()]),
        (15, vec![year()]),
        (
            16,
            vec![nanbyou(
                NaiveDate::from_ymd_opt(2025, 10, 21).unwrap(),
                d(10, 20),
            )],
        ),
        (
            17,
            vec![nanbyou(
                d(10, 10),
                NaiveDate::from_ymd_opt(2027, 10, 9).unwrap(),
            )],
        ),
        (18, vec![elsewhere]),
        (19, vec![year()]),
        (20, vec![low_income]),
        (21, vec![year()]),
        (
            22,
            vec![
                year(),
                Certificate::simple("21136015", Some("1234566"), d(4, 1), d(12, 31)),
            ],
        ),
    ];
    let ctx = VisitContext {
        institution: Some(MedicalInstitutionCode::parse("1311111111").unwrap()),
        ..VisitContext::on(ServiceDate::new(month.last))
    };
    for (n, certs) in &pmh {
        let r = &file.receipts[*n as usize - 1];
        let mapped = map(certs, &masters, &ctx);
        found.extend(
            claims::against_pmh(r, month, &mapped, &offline)
                .iter()
                .map(|f| (f.receipt, f.code.as_str())),
        );
    }
    let ledger = [LedgerMonth {
        ko: 0,
        own_yen: 1520,
        visits: 2,
    }];
    for r in &file.receipts[20..] {
        let months = if r.number == 21 { &ledger[..] } else { &[] };
        found.extend(
            claims::against_ledger(r, months)
                .iter()
                .map(|f| (f.receipt, f.code.as_str())),
        );
    }
    found.sort();
    let expected = [
        (1, "payer_number_check_digit"),
        (2, "recipient_number_form"),
        (3, "recipient_number_missing"),
        (4, "setting_not_covered"),
        (5, "ko_order"),
        (6, "single_only_combined"),
        (7, "receipt_kind_kohi_count"),
        (7, "too_many_ko"),
        (8, "receipt_kind_claim"),
        (9, "receipt_kind_insurance"),
        (10, "receipt_kind_kohi_count"),
        (11, "receipt_kind_last_digit"),
        (12, "ko_days_over_ho"),
        (13, "ko_points_over_ho"),
        (14, "ko_not_in_pmh"),
        (15, "ko_recipient_differs"),
        (16, "certificate_expired"),
        (17, "certificate_not_yet_valid"),
        (18, "designated_institution_other"),
        (19, "certificate_missing"),
        (20, "ko_burden_over_cap"),
        (21, "ko_burden_differs_from_ledger"),
    ];
    assert_eq!(found, expected);
    for code in FindingCode::ALL {
        assert!(
            expected.iter().any(|(_, c)| *c == code.as_str()),
            "{code:?}"
        );
    }
}
