//! The month-end receipt check of a large file against the sandbox over mutual TLS, side by side
//! in one run:
//! - the sandbox's UKE file for last month, one receipt per person of a population of N (default
//!   5,000), every tenth person with an inpatient receipt too (two receipts, one patient): the
//!   whole check's wall time, and the sandbox's PMH calls against the file's distinct patients;
//! - the same with the sandbox answering after `LATENCY` ms (default 20: PMH over the internet);
//! - the same patients asked one by one through `POST /v1/subsidy-checks`, as many at once as
//!   the check runs (`PATIENTS_AT_ONCE`), at that latency: what a receipt computer would do
//!   without the check — the ratio says what the check adds.
//!
//! Each run has a gateway of its own (an empty cache). `cargo bench --bench receipts [-- N]`.
// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use chrono::Datelike;
use futures::StreamExt;
use pmh_gateway::demo::{self, Demo};
use pmh_gateway::sandbox::{self, Faults, Pki, SandboxHandle, SandboxOptions};
use pmh_gateway::uke;
use tokio::net::TcpListener;

const TOKEN: &str = "pmhg_bench_token";

/// A gateway of its own on the sandbox; its base URL.
async fn gateway(sandbox: &SandboxHandle, state: &std::path::Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = demo::gateway_config(
        sandbox,
        addr,
        state,
        vec![demo::client(
            "bench",
            TOKEN,
            &[
                pmh_gateway::auth::Scope::Check,
                pmh_gateway::auth::Scope::ReceiptCheck,
            ],
        )],
    );
    tokio::spawn(pmh_gateway::app::run(listener, cfg, std::future::pending()));
    let base = format!("http://{addr}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    base
}

/// The whole check of `file`: wall time and the report.
async fn check(base: &str, file: Vec<u8>) -> (Duration, serde_json::Value) {
    let client = reqwest::Client::new();
    let t0 = Instant::now();
    let started: serde_json::Value = client
        .post(format!("{base}/v1/receipt-checks"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .body(file)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let location = format!(
        "{base}/v1/receipt-checks/{}",
        started["id"].as_str().unwrap()
    );
    loop {
        let v: serde_json::Value = client
            .get(&location)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["state"] == "done" {
            return (t0.elapsed(), v);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let latency: u64 = std::env::var("LATENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    pmh_gateway::tls::install_crypto_provider();
    let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());
    let sandbox = sandbox::start(SandboxOptions {
        https: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        admin: None,
        pki: Pki::generate("1311111111").unwrap(),
        seed: 42,
        today,
        population_size: n,
    })
    .await
    .unwrap();
    let month = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .unwrap();
    let masters = pmh_gateway::masters::embedded();
    let made = sandbox::uke::month_file(sandbox.population(), &masters, month, n);
    // Every tenth person's inpatient receipt beside the outpatient one: one patient, two receipts.
    let read = uke::read(&made.bytes);
    let mut receipts = read.receipts.clone();
    let mut next = receipts.len() as u32;
    for r in read.receipts.iter().step_by(10) {
        let mut inpatient = r.clone();
        next += 1;
        inpatient.number = next;
        let k = r.kind.as_str();
        inpatient.kind = uke::ReceiptKind::parse(&format!("{}1", &k[..3])).unwrap();
        receipts.push(inpatient);
    }
    let file = uke::write(read.institution.as_ref().unwrap(), &receipts);
    println!(
        "file: {} receipts of {} persons ({} bytes, Shift_JIS), {} planted mistakes",
        receipts.len(),
        read.receipts.len(),
        file.len(),
        made.planted.len()
    );
    let states = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for (name, ms) in [("no latency", 0), ("PMH latency", latency)] {
        sandbox.set_faults(Faults {
            latency_ms: ms,
            ..Faults::default()
        });
        let base = gateway(&sandbox, &states.path().join(name.replace(' ', "-"))).await;
        let before = sandbox.eligibility_requests();
        let (took, report) = check(&base, file.clone()).await;
        let calls = sandbox.eligibility_requests() - before;
        println!(
            "receipt check, {name:<11} ({ms:>3} ms): {:>7.2} s for {} receipts, {} patients: {} PMH calls ({}), {} findings; {:.2} ms a patient",
            took.as_secs_f64(),
            report["receipts"],
            report["patients"],
            calls,
            if Some(calls) == report["patients"].as_u64() {
                "one per patient"
            } else {
                "NOT one per patient"
            },
            report["findings"],
            took.as_secs_f64() * 1e3 / report["patients"].as_f64().unwrap()
        );
        rows.push(took);
    }
    // The same patients asked one by one, as many at once as the check does, at the latency.
    let base = gateway(&sandbox, &states.path().join("single")).await;
    let client = reqwest::Client::new();
    let bodies: Vec<String> = sandbox
        .population()
        .personas
        .iter()
        .take(read.receipts.len())
        .map(Demo::request_body)
        .collect();
    let before = sandbox.eligibility_requests();
    let t0 = Instant::now();
    futures::stream::iter(bodies)
        .map(|b| {
            let c = client.clone();
            let url = format!("{base}/v1/subsidy-checks");
            async move {
                let r = c
                    .post(url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(b)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success() || r.status().as_u16() == 503);
            }
        })
        .buffer_unordered(pmh_gateway::receipts::PATIENTS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    let single = t0.elapsed();
    println!(
        "single checks ({latency:>3} ms, {} at once): {:>7.2} s for {} persons, {} PMH calls",
        pmh_gateway::receipts::PATIENTS_AT_ONCE,
        single.as_secs_f64(),
        read.receipts.len(),
        sandbox.eligibility_requests() - before
    );
    println!(
        "ratio: the file's check / the same persons' single checks = {:.2}",
        rows[1].as_secs_f64() / single.as_secs_f64()
    );
}
