//! Cold (uncached, through the sandbox over mutual TLS) versus cached subsidy-check latency,
//! measured side by side in one run over real loopback sockets; and what a miss costs beyond
//! the upstream round trip itself (the same query sent by the gateway's own PMH client
//! straight to the sandbox, person by person), and how many upstream calls N concurrent
//! misses on one person make.
//!
//! `cargo bench --bench latency` (optionally `-- N` for the number of persons, default 400).
// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use pmh_gateway::demo::{self, Demo};
use pmh_gateway::domain::InsuredIdentity;
use pmh_gateway::sandbox::{self, Pki, SandboxOptions};
use pmh_gateway::upstream::{PmhClient, Query, Upstream};
use tokio::net::TcpListener;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let med = percentile(&v, 0.5);
    println!(
        "{name:<8} n={:<5} median={:>8.3} ms  p90={:>8.3} ms  p99={:>8.3} ms",
        v.len(),
        med.as_secs_f64() * 1e3,
        percentile(&v, 0.9).as_secs_f64() * 1e3,
        percentile(&v, 0.99).as_secs_f64() * 1e3
    );
    med
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(400);
    pmh_gateway::tls::install_crypto_provider();
    let sandbox = sandbox::start(SandboxOptions {
        https: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        admin: None,
        pki: Pki::generate("1311111111").unwrap(),
        seed: 42,
        today: pmh_gateway::domain::date::jst_date(chrono::Utc::now()),
        population_size: n.max(100),
    })
    .await
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = tempfile::tempdir().unwrap();
    let token = "pmhg_bench_token";
    let cfg = demo::gateway_config(
        &sandbox,
        addr,
        state.path(),
        vec![demo::client(
            "bench",
            token,
            &[pmh_gateway::auth::Scope::Check],
        )],
    );
    // The gateway's own PMH client, for the upstream round trip alone.
    let direct = match &cfg.upstream {
        pmh_gateway::config::UpstreamConfig::Pmh {
            base_url,
            tls,
            connect_timeout,
            ..
        } => PmhClient::new(
            base_url,
            tls,
            cfg.institution.clone(),
            *connect_timeout,
            None,
        )
        .unwrap(),
        _ => unreachable!("the demo's gateway asks PMH"),
    };
    tokio::spawn(pmh_gateway::app::run(listener, cfg, std::future::pending()));

    let client = {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(h)
            .build()
            .unwrap()
    };
    let url = format!("http://{addr}/v1/subsidy-checks");
    let bodies: Vec<String> = sandbox
        .population()
        .personas
        .iter()
        .take(n)
        .map(Demo::request_body)
        .collect();
    let call = |body: String| {
        let c = client.clone();
        let url = url.clone();
        async move {
            let t0 = Instant::now();
            let r = c
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let _ = r.bytes().await.unwrap();
            t0.elapsed()
        }
    };
    let queries: Vec<Query> = sandbox
        .population()
        .personas
        .iter()
        .take(n)
        .map(|p| Query {
            insured: InsuredIdentity::new(
                &p.insured.insurer_number,
                p.insured.symbol.as_deref(),
                &p.insured.number,
                p.insured.branch.as_deref(),
                pmh_gateway::domain::date::parse_iso(&p.insured.birthdate).unwrap(),
            )
            .unwrap(),
            date: sandbox.population().today,
            check_id: "latency-bench".into(),
        })
        .collect();
    let upstream = |q: &Query| {
        let direct = &direct;
        let q = q.clone();
        async move {
            let t0 = Instant::now();
            direct
                .query(&q, tokio::time::Instant::now() + Duration::from_secs(5))
                .await
                .unwrap();
            t0.elapsed()
        }
    };
    // Warm up connections (gateway↔sandbox, client↔gateway, the direct client↔sandbox) on
    // persons not measured.
    for (b, q) in bodies.iter().zip(&queries).rev().take(5) {
        call(b.clone()).await;
        upstream(q).await;
    }
    let measured = n - 6;
    let mut direct_rtt = Vec::new();
    let mut cold = Vec::new();
    let mut cached = Vec::new();
    let mut beyond = Vec::new();
    // Interleave: each person straight to the upstream once, then through the gateway cold,
    // then cached, so all three see the same machine state.
    for (b, q) in bodies.iter().zip(&queries).take(measured) {
        let d = upstream(q).await;
        let c = call(b.clone()).await;
        direct_rtt.push(d);
        cold.push(c);
        beyond.push(c.saturating_sub(d));
        cached.push(call(b.clone()).await);
    }
    println!("subsidy-check latency, sequential, one client, loopback, release build");
    let u = summary("upstream", direct_rtt);
    let c = summary("cold", cold);
    let h = summary("cached", cached);
    summary("miss-rtt", beyond);
    println!(
        "cold/cached median ratio: {:.1}x; a miss beyond the upstream round trip (medians): {:.3} ms",
        c.as_secs_f64() / h.as_secs_f64(),
        c.saturating_sub(u).as_secs_f64() * 1e3
    );

    // N concurrent misses on one person not asked yet: one upstream call.
    let before = sandbox.eligibility_requests();
    let fresh = bodies[measured].clone();
    let concurrent = 64;
    let answers = futures::future::join_all((0..concurrent).map(|_| call(fresh.clone()))).await;
    println!(
        "{concurrent} concurrent misses on one person: {} upstream call(s), slowest answer {:.3} ms",
        sandbox.eligibility_requests() - before,
        answers.iter().max().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "sandbox eligibility requests: {}",
        sandbox.eligibility_requests()
    );
}
