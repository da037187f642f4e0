//! No personal data in logs at any level: a full round trip (including upstream failures and a
//! refused My Number) with every target logging at TRACE, then a search of everything logged.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
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
    let gw = Gateway::start(gateway_config(&sandbox, Duration::from_millis(800))).await;
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
    for s in &secrets {
        // Short numbers could appear by chance inside timestamps or ids; the population's
        // numbers are 3+ digits, and birthdates are distinctive.
        if s.len() >= 5 {
            assert!(!logged.contains(s.as_str()), "{s} appears in the logs");
        }
    }
}
