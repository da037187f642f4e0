//! A restart mid-day: check-ins stay findable by 照会番号 (with the answers they prefetched),
//! the stale stand-ins still answer a failing upstream, and the state on disk reads nothing
//! personal without the store's secret and the lookup value.

use std::time::Duration;

use pmh_gateway::checkin::WatchOptions;
use pmh_gateway::onshi::Charset;
use pmh_gateway::sandbox::terminal::{ResultSpec, reference_of, result_xml};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_check_ins_and_stale_stand_ins() {
    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let face = dir.path().join("face");
    std::fs::create_dir(&face).unwrap();
    let mut cfg = gateway_config(&sandbox, Duration::from_millis(800));
    cfg.checkin = Some(WatchOptions {
        settle: Duration::from_millis(100),
        ..WatchOptions::for_face_dir(&face)
    });
    let people: Vec<_> = sandbox
        .population()
        .personas
        .iter()
        .filter(|p| p.tags.contains(&"multi"))
        .take(2)
        .cloned()
        .collect();
    let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());

    let gw = Gateway::start(cfg.clone()).await;
    // One check-in with the PMH block, one without (the gateway asks PMH, which makes the
    // person's stand-in).
    for (i, p) in people.iter().enumerate() {
        let bytes = result_xml(&ResultSpec {
            persona: p,
            date: today,
            institution: "1311111111",
            file_id: "RESTART00001",
            reference: Some(&reference_of(p)),
            charset: Charset::Utf8,
            block: (i == 0).then_some(p.certificates.as_slice()),
        })
        .unwrap();
        std::fs::write(face.join(format!("OQSsiquc01res_face_{i}.xml")), &bytes).unwrap();
    }
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(face.join("processed"))
        .map(|d| d.count())
        .unwrap_or(0)
        < 2
    {
        assert!(
            std::time::Instant::now() < end,
            "the check-ins were not processed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = admin_stats(&sandbox).await;
    gw.stop().await;

    // Nothing personal reads from the state folder: identities, 照会番号 and certificates are
    // keyed hashes or sealed.
    let mut secrets = Vec::new();
    for p in &people {
        secrets.push(("insured number", p.insured.number.clone()));
        secrets.push(("birthdate", p.insured.birthdate.replace('-', "")));
        secrets.push(("照会番号", reference_of(p)));
        for c in &p.certificates {
            if let Some(n) = &c.medical_subsidy_recipient_number {
                secrets.push(("recipient number", n.clone()));
            }
        }
    }
    assert_nothing_personal_in(&cfg.store.dir, &secrets);

    // PMH goes down; the gateway restarts on the same state.
    admin_put_faults(&sandbox, r#"{"mode": "error"}"#).await;
    let gw = Gateway::start(cfg.clone()).await;
    // The person checked in without a block: a check (not by reference) misses the fresh
    // cache, PMH fails, and the kept stand-in answers.
    let (status, v) = gw.check(&body_for(&people[1])).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["source"].as_str()),
        (Some("confirmed"), Some("stale"))
    );
    // Both check-ins are found by 照会番号, answered from what they prefetched.
    for p in &people {
        let url = gw.url(&format!("/v1/subsidy-checks?reference={}", reference_of(p)));
        let r = http().get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (v["status"].as_str(), v["source"].as_str()),
            (Some("confirmed"), Some("cache")),
            "{v}"
        );
        assert_eq!(
            v["subsidies"].as_array().map(Vec::len),
            Some(p.certificates.len()),
            "{v}"
        );
    }
    let metrics = gw.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"pmh_gateway_durable_state_total{item="check_in",op="loaded"} 2"#),
        "{metrics}"
    );
    gw.stop().await;
    let after = admin_stats(&sandbox).await;
    // Only the stale check reached PMH after the restart (and failed).
    assert_eq!(
        before["answered_with_certificates"], after["answered_with_certificates"],
        "{before} {after}"
    );
    assert_eq!(
        before["eligibility_requests"].as_u64().unwrap() + 1,
        after["eligibility_requests"].as_u64().unwrap(),
        "{before} {after}"
    );
    sandbox.shutdown().await;
}
