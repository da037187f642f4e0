//! End-to-end tests over real sockets: the gateway (`run`) against the sandbox over mutual TLS
//! with certificates generated at test time.

use std::time::Duration;

use crate::common::*;
use pmh_gateway::sandbox::Pki;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_mutual_tls_round_trip() {
    let sandbox = start_sandbox().await;
    let gw = Gateway::start(gateway_config(&sandbox, Duration::from_secs(3))).await;
    let p = sandbox
        .population()
        .find(&["showcase", "triple"])
        .unwrap()
        .clone();
    let (status, v) = gw.check(&body_for(&p)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "confirmed");
    assert_eq!(v["source"], "upstream");
    let payers: Vec<_> = v["subsidies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["payer_number"].clone())
        .collect();
    let expected: Vec<_> = ["21", "54", "80"]
        .iter()
        .map(|law| {
            let c = p
                .certificates
                .iter()
                .find(|c| c.medical_subsidy_insurer_number.starts_with(law))
                .unwrap();
            json!(c.medical_subsidy_insurer_number)
        })
        .collect();
    assert_eq!(payers, expected);
    assert_eq!(admin_stats(&sandbox).await["eligibility_requests"], 1);
    // The admin API lists the population with its expected certificates.
    let personas: serde_json::Value = http()
        .get(format!(
            "http://{}/admin/personas",
            sandbox.admin_addr.unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(personas["count"], 1200);
    assert_eq!(personas["personas"][3]["id"], p.id);
    gw.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_refuses_clients_without_a_certificate_from_its_ca() {
    let sandbox = start_sandbox().await;
    let url = format!("{}/v1/medical-subsidies/eligibility", sandbox.base_url());
    let ca = reqwest::Certificate::from_pem(sandbox.pki.ca_pem.as_bytes()).unwrap();

    // No client certificate at all.
    let anonymous = reqwest::Client::builder()
        .tls_certs_only([ca.clone()])
        .build()
        .unwrap();
    assert!(anonymous.post(&url).json(&json!({})).send().await.is_err());

    // A client certificate from another CA.
    let foreign = Pki::generate("1311111111").unwrap();
    let stranger = reqwest::Client::builder()
        .tls_certs_only([ca.clone()])
        .identity(reqwest::Identity::from_pem(&foreign.client_identity_pem()).unwrap())
        .build()
        .unwrap();
    assert!(stranger.post(&url).json(&json!({})).send().await.is_err());
    assert_eq!(admin_stats(&sandbox).await["eligibility_requests"], 0);
    assert!(sandbox.tls_handshake_failures() >= 2);

    // A gateway configured with the foreign certificate says unavailable, never none_found.
    let mut cfg = gateway_config(&sandbox, Duration::from_secs(2));
    let pmh_gateway::config::UpstreamConfig::Pmh { tls, .. } = &mut cfg.upstream else {
        unreachable!("the demo config speaks to the sandbox over HTTPS")
    };
    tls.identity_pem = foreign.client_identity_pem();
    let gw = Gateway::start(cfg).await;
    let p = sandbox
        .population()
        .find(&["showcase", "none"])
        .unwrap()
        .clone();
    let (status, v) = gw.check(&body_for(&p)).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["status"], "unavailable");
    assert_eq!(admin_stats(&sandbox).await["eligibility_requests"], 0);
    gw.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_for_one_person_make_one_upstream_request() {
    let sandbox = start_sandbox().await;
    // A slow upstream makes sure the 50 requests overlap.
    admin_put_faults(&sandbox, r#"{"mode": "ok", "latency_ms": 300}"#).await;
    let gw = Gateway::start(gateway_config(&sandbox, Duration::from_secs(3))).await;
    let p = sandbox
        .population()
        .find(&["showcase", "multi"])
        .unwrap()
        .clone();
    let body = body_for(&p);
    let client = http();
    let url = gw.url("/v1/subsidy-checks");
    let answers = futures::future::join_all((0..50).map(|_| {
        let c = client.clone();
        let url = url.clone();
        let body = body.clone();
        async move {
            let r = c.post(url).json(&body).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    }))
    .await;
    for (status, v) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(v["status"], "confirmed");
        assert_eq!(v["subsidies"].as_array().unwrap().len(), 2);
    }
    assert_eq!(admin_stats(&sandbox).await["eligibility_requests"], 1);
    gw.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_or_hanging_upstream_gives_stale_or_unavailable_never_none_found() {
    let sandbox = start_sandbox().await;
    let mut cfg = gateway_config(&sandbox, Duration::from_millis(800));
    // A short cooldown, so the recovery below does not wait long.
    cfg.service.breaker_cooldown = Duration::from_millis(300);
    let gw = Gateway::start(cfg).await;
    let pop = sandbox.population();
    let known = pop.find(&["showcase", "triple"]).unwrap().clone();
    let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());
    let on = |p: &pmh_gateway::sandbox::Persona, days: i64| {
        let mut b = body_for(p);
        b["service_date"] = json!((today + chrono::Duration::days(days)).to_string());
        b
    };
    let (_, v) = gw.check(&on(&known, 0)).await;
    assert_eq!(v["status"], "confirmed");

    // Fresh persons (never asked before) for each failure mode, and the known one on a new day.
    let fresh: Vec<_> = pop
        .personas
        .iter()
        .filter(|p| p.tags.contains(&"multi") && p.id != known.id)
        .take(8)
        .cloned()
        .collect();
    let mut fresh = fresh.iter();
    for (i, mode) in ["down", "hang", "error", "garbage"].iter().enumerate() {
        admin_put_faults(&sandbox, &format!(r#"{{"mode": "{mode}"}}"#)).await;
        // (That each answers by the deadline is the service's paused-time test; the time it
        // takes here is measured by `benches/latency.rs`.)
        let (status, v) = gw.check(&on(fresh.next().unwrap(), 0)).await;
        assert_eq!(
            (status, v["status"].as_str()),
            (503, Some("unavailable")),
            "{mode}: {v}"
        );
        assert!(v["upstream_problem"]["kind"].is_string());
        // The caller is told what kind of failure, in the gateway's words: never PMH's address
        // or TLS internals (the log keeps them).
        let detail = v["upstream_problem"]["detail"].as_str().unwrap();
        assert!(
            !detail.contains("https://") && !detail.contains("localhost") && detail.contains("PMH"),
            "{mode}: {detail}"
        );

        let (status, v) = gw.check(&on(&known, i as i64 + 1)).await;
        assert_eq!(status, 200, "{mode}: {v}");
        assert_eq!(
            (v["status"].as_str(), v["source"].as_str()),
            (Some("confirmed"), Some("stale")),
            "{mode}: {v}"
        );
        assert_eq!(v["subsidies"].as_array().unwrap().len(), 3);
        // In ORCA's terms too, stale is not a fresh answer: Api_Result 20, not 00.
        let orca: serde_json::Value = http()
            .post(gw.url("/v1/subsidy-checks/orca"))
            .json(&on(&known, i as i64 + 1))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            orca["publicinsurance_infores"]["Api_Result"], "20",
            "{mode}: {orca}"
        );
    }
    // Recovery: back to ok (the breaker may be open: wait out its cooldown).
    admin_put_faults(&sandbox, r#"{"mode": "ok"}"#).await;
    let p = fresh.next().unwrap();
    let mut last = serde_json::Value::Null;
    for _ in 0..30 {
        let (_, v) = gw.check(&on(p, 0)).await;
        if v["status"] == "confirmed" {
            last = v;
            break;
        }
        assert_eq!(v["status"], "unavailable", "never none_found: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["source"], "upstream");
    gw.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_open_the_breaker_and_readiness_says_degraded() {
    let sandbox = start_sandbox().await;
    let gw = Gateway::start(gateway_config(&sandbox, Duration::from_millis(500))).await;
    admin_put_faults(&sandbox, r#"{"mode": "error"}"#).await;
    let people: Vec<_> = sandbox
        .population()
        .personas
        .iter()
        .skip(20)
        .take(7)
        .cloned()
        .collect();
    for p in &people {
        let (status, v) = gw.check(&body_for(p)).await;
        assert_eq!((status, v["status"].as_str()), (503, Some("unavailable")));
    }
    let requests = admin_stats(&sandbox).await["eligibility_requests"]
        .as_u64()
        .unwrap();
    assert_eq!(
        requests, 5,
        "calls stop once the breaker opens (threshold 5)"
    );
    let ready: serde_json::Value = serde_json::from_str(&gw.get_text("/readyz").await).unwrap();
    assert_eq!(ready["status"], "degraded");
    assert_eq!(ready["upstream"]["breaker"], "open");
    let metrics = gw.get_text("/metrics").await;
    assert!(
        metrics.contains("pmh_gateway_upstream_breaker_state 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pmh_gateway_upstream_errors_total{kind=\"status\"} 5"),
        "{metrics}"
    );
    gw.stop().await;
    sandbox.shutdown().await;
}

/// The demo as a newcomer runs it: sandbox + gateway over real sockets and mutual TLS; every
/// request it prints answers, in all three renderings, with the order, rules, codes and receipt
/// fields the domain expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_example_answers_in_all_renderings() {
    pmh_gateway::tls::install_crypto_provider();
    let demo = pmh_gateway::demo::start(&pmh_gateway::demo::DemoOptions {
        port: 0,
        upstream_port: 0,
        admin_port: 0,
        seed: 42,
        onshi_dir: None,
        check_in_every: Some(Duration::from_millis(50)),
        terminal_upstream: false,
    })
    .await
    .unwrap();
    let mut notices = demo.terminal.subscribe();
    let client = reqwest::Client::new();
    let examples = demo.examples();
    assert_eq!(examples.len(), 8);
    let mut answers = Vec::new();
    for e in &examples {
        let mut req = client
            .post(&e.url)
            .bearer_auth(&demo.token)
            .header("content-type", "application/json")
            .body(e.body.clone());
        if let Some(a) = e.accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{}", e.what);
        answers.push(resp.text().await.unwrap());
    }
    let json = |i: usize| serde_json::from_str::<serde_json::Value>(&answers[i]).unwrap();

    let triple = json(0);
    let laws: Vec<&str> = triple["subsidies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["law_code"].as_str().unwrap())
        .collect();
    assert_eq!(laws, ["21", "54", "80"]);
    assert_eq!(triple["receipt_type"], "1142");
    for s in triple["subsidies"].as_array().unwrap() {
        assert!(s["copay"]["method"].is_string(), "{s}");
        assert_eq!(s["calc_module"]["provisional"], true);
        assert_eq!(s["receipt"]["fields"][0]["value"], s["payer_number"]);
    }
    assert_eq!(triple["burden_codes"].as_array().unwrap().len(), 15);

    let orca = json(1);
    assert_eq!(
        orca["publicinsurance_infores"]["PublicInsurance_Information"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(
        answers[2].contains("<PublicInsurance_Class type=\"string\">021</PublicInsurance_Class>")
    );
    let fhir = json(3);
    assert_eq!(fhir["entry"].as_array().unwrap().len(), 3);
    assert_eq!(fhir["entry"][0]["resource"]["order"], 1);

    assert_eq!(json(4)["subsidies"][0]["copay"]["amount_yen"], 200);
    assert_eq!(json(5)["subsidies"][0]["copay"]["method"], "free");
    assert_eq!(json(6)["status"], "none_found");
    assert_eq!(json(7)["inactive_subsidies"][0]["status"], "expired");

    // Check-ins flow: the first well-formed one is answered by 照会番号, from the cache.
    let n = loop {
        let n = notices.recv().await.unwrap();
        if n.malformed.is_none() {
            break n;
        }
    };
    let answer = demo.answer_for(&n).await.expect("an answer by reference");
    assert_eq!(answer["source"], "cache", "{answer}");
    let line = pmh_gateway::demo::Demo::feed_line(&n, Some(&answer));
    assert!(
        line.contains("照会番号") && line.contains(&n.file_name),
        "{line}"
    );
    // The window-charge showcase: the triple persona's quote (精神通院 1割 of 15,200 = 1,520,
    // マル障 pays it; 300 points insurance-only: 900) and the 管理票 sequence (1,000, 3,000, 0;
    // the month reaches the 5,000 cap).
    let showcase = demo.charges_showcase().await.unwrap();
    assert!(showcase.contains("window charge 900円"), "{showcase}");
    for step in [
        "→ 1,000円 (month so far 1,000円)",
        "→ 3,000円 (month so far 4,500円)",
        "→ 0円 (month so far 5,000円)",
        "(month so far 5,000円, 0円 left)",
        // 大阪市 こども (1日500円, 月2日まで): 500, 500, then nothing.
        "DEMO-C1 (10割 5,000円, 2割 1,000円) → 500円",
        "DEMO-C2 (10割 5,000円, 2割 1,000円) → 500円",
        "DEMO-C3 (10割 5,000円, 2割 1,000円) → 0円",
        // 100,000 at 3割 = 30,000 (within ウ) and 6 meals at the 一般 510円 (from 2025-04).
        "window 33,060円 (of it meals 3,060円: 標準負担額 3,060円, class general)",
    ] {
        assert!(showcase.contains(step), "{step}\n{showcase}");
    }
    assert!(demo.instructions().contains("?reference="));
    assert!(demo.instructions().contains("/v1/subsidy-checks/orca'"));
    // The reception page's address and its sign-in token, one line each.
    let reception = format!("http://{}/reception", demo.gateway_addr);
    assert_eq!(demo.instructions().matches(&reception).count(), 1);
    assert!(
        demo.instructions()
            .contains(&format!("RECEPTION_TOKEN={}", demo.reception_token))
    );
    let root = demo.onshi_root.clone();
    demo.shutdown().await;
    assert!(!root.exists(), "the demo's temporary folder is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_upstream_is_never_followed_believed_or_read_whole() {
    let sandbox = start_sandbox().await;
    let gw = Gateway::start(gateway_config(&sandbox, Duration::from_secs(2))).await;
    let pop = sandbox.population();
    let mut multi = pop
        .personas
        .iter()
        .filter(|p| p.tags.contains(&"multi"))
        .cloned()
        .collect::<Vec<_>>()
        .into_iter();
    // A redirect is not followed: the patient's data never reaches the other address.
    let v = unavailable_under(&sandbox, &gw, &multi.next().unwrap(), "redirect").await;
    assert!(
        v["upstream_problem"]["detail"]
            .as_str()
            .unwrap()
            .contains("307"),
        "{v}"
    );
    assert_eq!(sandbox.redirected_requests(), 0);
    // An endless answer is not read whole: a protocol error.
    let v = unavailable_under(&sandbox, &gw, &multi.next().unwrap(), "huge").await;
    assert_eq!(v["upstream_problem"]["kind"], "protocol", "{v}");
    // "OK" without the list of subsidies says nothing: unknown, never none_found.
    let v = unavailable_under(&sandbox, &gw, &multi.next().unwrap(), "no_subsidies").await;
    assert_eq!(v["upstream_problem"]["kind"], "protocol", "{v}");
    // A certificate without a payer number is kept, with a warning.
    admin_put_faults(&sandbox, r#"{"mode": "no_payer"}"#).await;
    let p = multi.next().unwrap();
    let (status, v) = gw.check(&body_for(&p)).await;
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("confirmed")),
        "{v}"
    );
    let subsidies = v["subsidies"].as_array().unwrap();
    assert_eq!(subsidies.len(), p.certificates.len(), "none dropped: {v}");
    for s in subsidies {
        let codes: Vec<&str> = s["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w["code"].as_str())
            .collect();
        assert!(codes.contains(&"payer_number_missing"), "{s}");
    }
    gw.stop().await;
    sandbox.shutdown().await;
}

/// Sets the sandbox's fault `mode`, checks `p`, and expects `unavailable` (503); the answer.
async fn unavailable_under(
    sandbox: &pmh_gateway::sandbox::SandboxHandle,
    gw: &Gateway,
    p: &pmh_gateway::sandbox::Persona,
    mode: &str,
) -> serde_json::Value {
    admin_put_faults(sandbox, &format!(r#"{{"mode": "{mode}"}}"#)).await;
    let (status, v) = gw.check(&body_for(p)).await;
    assert_eq!(
        (status, v["status"].as_str()),
        (503, Some("unavailable")),
        "{mode}: {v}"
    );
    v
}
