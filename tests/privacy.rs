//! No personal data in logs at any level: a full round trip (including upstream failures and a
//! refused My Number) with every target logging at TRACE, then a search of everything logged.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use pmh_gateway::onshi::Charset;
use pmh_gateway::sandbox::terminal::{Malformation, ResultSpec, reference_of, result_xml};
use serde_json::json;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_personal_is_logged_even_at_trace_level() {
    let buf = Buffer::default();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(buf.clone())
        .with_ansi(false)
        .init();

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
    let client = reqwest::Client::new();
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
        < 4
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
    secrets.push("患者".into());
    secrets.push("サンドボックス".into());

    admin_put_faults(&sandbox, r#"{"mode": "error"}"#).await;
    let (_, v) = gw.check(&json!({"insured": {"insurer_number": "06139999", "number": "77777", "birthdate": "1999-09-09"}})).await;
    assert_eq!(v["status"], "unavailable");
    secrets.push("77777".into());
    let (status, _) = gw
        .check(&json!({"insured": {"insurer_number": "06139999", "number": "1", "birthdate": "1999-09-09", "my_number": "987654321098"}}))
        .await;
    assert_eq!(status, 400);
    secrets.push("987654321098".into());
    gw.stop().await;
    sandbox.shutdown().await;

    let logged = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logged.len() > 1000, "the test must have captured the logs");
    assert!(
        logged.contains("OQSsiquc01res_face_cut.xml"),
        "the watcher's logs must have been captured"
    );
    for s in &secrets {
        // Short numbers could appear by chance inside timestamps or ids; the population's
        // numbers are 3+ digits, and birthdates are distinctive.
        if s.len() >= 5 || !s.is_ascii() {
            assert!(!logged.contains(s.as_str()), "{s} appears in the logs");
        }
    }
}
