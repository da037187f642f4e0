//! Callers and the audit: every `/v1` route refuses the unauthenticated, scopes are enforced,
//! `Host` is checked, failing addresses are slowed down; every access leaves exactly one audit
//! record with no personal identifier in plain; earlier answers are kept and expire; posted PMH
//! blocks cannot poison the cache.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use pmh_gateway::api::access::Required;
use pmh_gateway::api::{AppState, ROUTES};
use pmh_gateway::onshi::Charset;
use pmh_gateway::sandbox::{Persona, Population};
use pmh_gateway::store::{AuditQuery, Operation};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;

async fn call(
    st: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let resp = pmh_gateway::api::router(st.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v)
}

/// The audit records matching `q`, newest first.
async fn records(st: &AppState, q: AuditQuery) -> Vec<pmh_gateway::store::AuditRecord> {
    st.store.search(q).await.unwrap()
}

fn population() -> Population {
    Population::generate(SEED, today(), 300)
}

/// A concrete URI for a route's path.
fn uri_of(path: &str) -> String {
    path.replace("{check_id}", "00000000-0000-0000-0000-000000000000")
}

#[tokio::test]
async fn every_guarded_route_refuses_a_caller_without_a_valid_token() {
    // The router is built from ROUTES alone: walking it covers every route there is. (Many
    // failures from one address: let the limiter allow them all here.)
    let mut p = in_process();
    p.config.access.max_failures = 10_000;
    let st = pmh_gateway::app::state_with_upstream(&p.config, p.upstream.clone(), p.clock.clone())
        .unwrap();
    let mut guarded = 0;
    for r in ROUTES {
        let uri = uri_of(r.path);
        let (none, v) = call(&st, r.method, &uri, None, None).await;
        let (bad, _) = call(&st, r.method, &uri, Some("pmhg_not_a_client"), None).await;
        match r.required {
            Required::Open => {
                assert_ne!(none, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
            }
            Required::Optional => {
                assert_ne!(none, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
                assert_eq!(bad, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
            }
            Required::Authenticated | Required::Scope(_) => {
                guarded += 1;
                assert_eq!(none, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
                assert_eq!(v["type"], "/problems/unauthenticated");
                assert_eq!(bad, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
            }
        }
        if r.path.starts_with("/v1/") {
            assert!(
                matches!(r.required, Required::Authenticated | Required::Scope(_)),
                "every /v1 route needs a client: {}",
                r.path
            );
        }
    }
    assert!(guarded >= 6);
}

#[tokio::test]
async fn a_client_without_the_scope_is_forbidden() {
    let (st, _) = in_process_state();
    for (method, uri) in [
        ("GET", "/v1/subsidy-checks?reference=0000000001"),
        ("GET", "/v1/audit"),
        ("GET", "/metrics"),
        ("POST", "/v1/masters/reload"),
    ] {
        let (status, v) = call(&st, method, uri, Some(CHECKER_TOKEN), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert_eq!(v["type"], "/problems/forbidden");
        assert!(v["detail"].as_str().unwrap().contains("checker"));
    }
    // Its own scope works.
    let p = population();
    let body = body_for(p.find(&["showcase", "triple"]).unwrap());
    let (status, _) = call(
        &st,
        "POST",
        "/v1/subsidy-checks",
        Some(CHECKER_TOKEN),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_token_no_longer_opens_anything() {
    // Revoking = removing the client from the configuration and restarting.
    let mut p = in_process();
    let pop = population();
    let body = body_for(pop.find(&["showcase", "triple"]).unwrap());
    let (ok, _) = call(
        &p.state,
        "POST",
        "/v1/subsidy-checks",
        Some(CHECKER_TOKEN),
        Some(body.clone()),
    )
    .await;
    assert_eq!(ok, StatusCode::OK);
    p.config.access.clients.retain(|c| c.name != "checker");
    let st = pmh_gateway::app::state_with_upstream(&p.config, p.upstream.clone(), p.clock.clone())
        .unwrap();
    let (status, v) = call(
        &st,
        "POST",
        "/v1/subsidy-checks",
        Some(CHECKER_TOKEN),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(v["detail"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn a_foreign_host_is_refused_and_failing_addresses_are_slowed_down() {
    let (st, _) = in_process_state();
    let masters = |host: Option<&str>| {
        let mut b = Request::get("/v1/masters")
            .header(header::AUTHORIZATION, format!("Bearer {TEST_TOKEN}"));
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        let req = b.body(Body::empty()).unwrap();
        let app = pmh_gateway::api::router(st.clone());
        async move { app.oneshot(req).await.unwrap() }
    };
    let r = masters(Some("evil.example:8421")).await;
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    let r = masters(Some("localhost:8421")).await;
    assert_eq!(r.status(), StatusCode::OK);

    // The test configuration blocks after 5 failures: that wrong token from this address is
    // then refused with Retry-After …
    for _ in 0..5 {
        let (s, _) = call(&st, "GET", "/v1/masters", Some("pmhg_wrong"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let wrong = || {
        let req = Request::get("/v1/masters")
            .header(header::AUTHORIZATION, "Bearer pmhg_wrong")
            .body(Body::empty())
            .unwrap();
        pmh_gateway::api::router(st.clone()).oneshot(req)
    };
    let r = wrong().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    let body = r.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("/problems/too-many-failures"));
    // … but every valid caller on the same machine goes on: a good token, another client's.
    let r = masters(None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = call(&st, "GET", "/v1/masters", Some(CHECKER_TOKEN), None).await;
    assert_eq!(s, StatusCode::OK);
    // Requests without a token (a stock API tester's probes) lock nobody out and stay 401.
    for _ in 0..20 {
        let (s, _) = call(&st, "GET", "/v1/masters", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let r = masters(None).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Another wrong token is its own attempt (/problems/unauthenticated, not too-many-failures).
    let (s, _) = call(&st, "GET", "/v1/masters", Some("pmhg_typo"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let metrics = st.metrics.render();
    assert!(
        metrics.contains("auth_failures_total{reason=\"invalid\"} 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("auth_failures_total{reason=\"blocked\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn each_access_leaves_one_record_with_the_patient_as_a_keyed_hash() {
    let p = in_process();
    let st = &p.state;
    let pop = population();
    let people: Vec<&Persona> = pop.personas.iter().take(5).collect();
    for person in &people {
        let (s, _) = call(
            st,
            "POST",
            "/v1/subsidy-checks",
            Some(TEST_TOKEN),
            Some(body_for(person)),
        )
        .await;
        assert!(s == StatusCode::OK || s == StatusCode::SERVICE_UNAVAILABLE);
    }
    // A refused request by a known caller is an access too.
    let (s, _) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(json!({"insured": {}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let all = records(
        st,
        AuditQuery {
            limit: 100,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all.len(), 6, "one record per access");
    assert!(
        all.iter()
            .all(|r| r.client == TEST_CLIENT && r.operation == Operation::Check)
    );
    assert_eq!(all[0].http_status, Some(400));
    for person in &people {
        let mine = records(
            st,
            AuditQuery {
                patient: Some(st.hasher.patient(&insured(person))),
                limit: 10,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(mine.len(), 1, "{}", person.id);
        assert!(mine[0].check_id.is_some());
    }

    // The database holds none of their numbers, birthdates or recipient numbers, in any file:
    // the audit has keyed hashes, the answers kept for re-reading are sealed under their check
    // id.
    let mut secrets = Vec::new();
    for person in &people {
        secrets.push(("insured number", person.insured.number.clone()));
        secrets.push(("birthdate", person.insured.birthdate.clone()));
        secrets.push(("birthdate", person.insured.birthdate.replace('-', "")));
        secrets.extend(person.insured.symbol.clone().map(|s| ("記号", s)));
        for c in &person.certificates {
            if let Some(n) = &c.medical_subsidy_recipient_number {
                secrets.push(("recipient number", n.clone()));
            }
        }
    }
    assert_nothing_personal_in(&p.config.store.dir, &secrets);
    assert!(pmh_gateway::files::is_owner_only(&p.config.store.dir).unwrap());
}

#[tokio::test]
async fn an_earlier_answer_is_the_same_in_every_rendering_until_its_retention() {
    let p = in_process();
    let st = &p.state;
    let pop = population();
    let body = body_for(pop.find(&["showcase", "triple"]).unwrap());
    let (s, first) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let id = first["check_id"].as_str().unwrap().to_owned();
    let (s, again) = call(
        st,
        "GET",
        &format!("/v1/subsidy-checks/{id}"),
        Some(CHECKER_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, first, "the same answer");
    // A second check from the cache shares the first one's stored body: it sends only the
    // body's id, and reads back whole.
    let (s, second) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(body_for(pop.find(&["showcase", "triple"]).unwrap())),
    )
    .await;
    assert_eq!(
        (s, second["source"].as_str()),
        (StatusCode::OK, Some("cache"))
    );
    let second_id = second["check_id"].as_str().unwrap();
    let (s, second_again) = call(
        st,
        "GET",
        &format!("/v1/subsidy-checks/{second_id}"),
        Some(TEST_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(second_again, second);
    assert_eq!(second["subsidies"], first["subsidies"]);
    for format in ["orca", "fhir"] {
        let (s, v) = call(
            st,
            "GET",
            &format!("/v1/subsidy-checks/{id}?format={format}"),
            Some(TEST_TOKEN),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{format}: {v}");
    }
    let (s, _) = call(
        st,
        "GET",
        "/v1/subsidy-checks/0193a1b2-0000-7000-8000-000000000000",
        Some(TEST_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The re-read is audited with the patient.
    let reads = records(
        st,
        AuditQuery {
            operation: Some(Operation::EarlierCheck),
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(reads.len(), 5);
    assert!(
        reads
            .iter()
            .any(|r| r.client == "checker" && r.patient.is_some())
    );
    // After the retention (24 h), gone.
    p.clock.advance(chrono::Duration::hours(25));
    let (s, _) = call(
        st,
        "GET",
        &format!("/v1/subsidy-checks/{id}"),
        Some(TEST_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn retention_removes_old_audit_records() {
    let p = in_process();
    let st = &p.state;
    let pop = population();
    let (s, _) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(body_for(&pop.personas[0])),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let count = || async {
        records(
            st,
            AuditQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .len()
    };
    assert_eq!(count().await, 1);
    let purged = pmh_gateway::app::purge_once(st, &p.config.store)
        .await
        .unwrap();
    assert_eq!(purged.audit_records, 0, "within the retention");
    p.clock.advance(
        chrono::Duration::from_std(p.config.store.audit_retention).unwrap()
            + chrono::Duration::days(1),
    );
    let purged = pmh_gateway::app::purge_once(st, &p.config.store)
        .await
        .unwrap();
    assert_eq!(purged.audit_records, 1);
    assert_eq!(purged.answers, 1);
    assert_eq!(count().await, 0);
}

/// A block that claims a subsidy PMH does not have: 結核 10 with a made-up recipient number.
fn forged_block(p: &Persona) -> Vec<pmh_gateway::pmh::WireSubsidy> {
    let mut certs = p.certificates.clone();
    certs.push(pmh_gateway::pmh::WireSubsidy {
        medical_subsidy_insurer_number: pmh_gateway::domain::check_digit::complete("1013601")
            .unwrap(),
        medical_subsidy_recipient_number: Some(
            pmh_gateway::domain::check_digit::complete("765432").unwrap(),
        ),
        valid_from: Some(
            (today() - chrono::Duration::days(30))
                .format("%Y%m%d")
                .to_string(),
        ),
        valid_to: Some(
            (today() + chrono::Duration::days(365))
                .format("%Y%m%d")
                .to_string(),
        ),
        ..Default::default()
    });
    certs
}

fn forged_file(p: &Persona) -> Vec<u8> {
    let block = forged_block(p);
    pmh_gateway::sandbox::terminal::result_xml(&pmh_gateway::sandbox::terminal::ResultSpec {
        persona: p,
        date: today(),
        institution: "1311111111",
        file_id: "A00000000001",
        reference: None,
        charset: Charset::Utf8,
        block: Some(&block),
    })
    .unwrap()
}

async fn post_xml(st: &AppState, token: &str, xml: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post("/v1/subsidy-checks")
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(xml))
        .unwrap();
    call_as(st, token, req).await
}

fn has_tb(v: &Value) -> bool {
    v["subsidies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["law_code"] == "10")
}

#[tokio::test]
async fn a_posted_block_cannot_poison_the_cache() {
    let p = in_process();
    let st = &p.state;
    let pop = population();
    let person = pop.find(&["showcase", "triple"]).unwrap();

    // Without onshi_post: the block answers that request only.
    let (s, posted) = post_xml(st, CHECKER_TOKEN, forged_file(person)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(has_tb(&posted), "the poster sees what it posted");
    let calls = p.upstream.calls();
    let (_, normal) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(body_for(person)),
    )
    .await;
    assert!(!has_tb(&normal), "{normal}");
    assert_eq!(normal["source"], "upstream");
    assert_eq!(p.upstream.calls(), calls + 1);
    let note = records(
        st,
        AuditQuery {
            operation: Some(Operation::CheckWithResult),
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    assert!(
        note[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("this answer only")
    );

    // With onshi_post the block enters the cache — but never becomes the stale stand-in: with
    // PMH down on another day, the forged subsidy does not come back.
    let other = pop.find(&["showcase", "maru_ko"]).unwrap();
    let (s, _) = post_xml(st, TEST_TOKEN, forged_file(other)).await;
    assert_eq!(s, StatusCode::OK);
    let (_, cached) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(body_for(other)),
    )
    .await;
    assert_eq!(cached["source"], "cache");
    assert!(has_tb(&cached));
    p.upstream.set_failing(true);
    let mut tomorrow = body_for(other);
    tomorrow["service_date"] = json!(today().succ_opt().unwrap().to_string());
    let (s, v) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(tomorrow),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(
        v["status"], "unavailable",
        "never the posted block as stale"
    );
    // While PMH's own answer is the stand-in for a person it answered.
    let mut day_after = body_for(person);
    day_after["service_date"] = json!(today().succ_opt().unwrap().to_string());
    let (_, v) = call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(day_after),
    )
    .await;
    assert_eq!(v["source"], "stale");
    assert!(!has_tb(&v));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_cli_finds_a_patients_accesses() {
    let p = in_process();
    let st = &p.state;
    let pop = population();
    let person = pop.find(&["showcase", "triple"]).unwrap();
    for _ in 0..2 {
        call(
            st,
            "POST",
            "/v1/subsidy-checks",
            Some(TEST_TOKEN),
            Some(body_for(person)),
        )
        .await;
    }
    call(
        st,
        "POST",
        "/v1/subsidy-checks",
        Some(TEST_TOKEN),
        Some(body_for(&pop.personas[7])),
    )
    .await;
    // The CLI reads the same state folder through a configuration file.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gateway.toml");
    std::fs::write(
        &cfg,
        format!(
            "{TERMINAL_TOML}[state]\ndir = \"{}\"\n",
            p.config.store.dir.display()
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pmh-gateway"));
    cmd.args(["audit", "--config"])
        .arg(&cfg)
        .args(["--insurer-number", &person.insured.insurer_number])
        .args(["--number", &person.insured.number])
        .args(["--birthdate", &person.insured.birthdate])
        .args(["--format", "jsonl"]);
    if let Some(s) = &person.insured.symbol {
        cmd.args(["--symbol", s]);
    }
    if let Some(b) = &person.insured.branch {
        cmd.args(["--branch", b]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines.iter().all(|l| l["client"] == TEST_CLIENT));
    assert!(!text.contains(&person.insured.number));
    // CSV export of everything.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmh-gateway"))
        .args(["audit", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("seq,at,client,operation"));
    assert_eq!(csv.lines().count(), 4, "header and three records");
}

#[tokio::test]
async fn clients_add_prints_a_token_that_the_configuration_accepts() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmh-gateway"))
        .args(["clients", "add", "recept-1", "--scope", "check,check_in"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let token = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("pmhg_"))
        .unwrap()
        .to_owned();
    let block = &text[text.find("[[clients]]").unwrap()..];
    assert!(
        !block.contains(&token[5..]),
        "only the hash goes into the configuration"
    );
    let toml = format!("{TERMINAL_TOML}{block}");
    let cfg = pmh_gateway::config::FileConfig::from_toml(&toml)
        .unwrap()
        .resolve(std::path::Path::new("/"))
        .unwrap();
    let clients = pmh_gateway::auth::Clients::new(&cfg.access.clients);
    assert_eq!(clients.by_token(&token).unwrap().name, "recept-1");
    // A bad scope is refused with the vocabulary.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmh-gateway"))
        .args(["clients", "add", "x", "--scope", "root"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("check_in"));
}

#[test]
fn listening_beyond_loopback_without_tls_is_refused_naming_the_key() {
    let toml = format!("{TERMINAL_TOML}[server]\nlisten = \"0.0.0.0:8421\"\n");
    let err = pmh_gateway::config::FileConfig::from_toml(&toml)
        .unwrap()
        .resolve(std::path::Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("server.listen") && err.contains("tls_cert"),
        "{err}"
    );
}
