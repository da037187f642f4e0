//! What the audit costs, side by side in one run:
//! - requests/s on the cached path (`POST /v1/subsidy-checks`, one person, answered from the
//!   cache), the same gateway with the SQLite audit store and with a store that keeps nothing,
//!   alternated over several rounds, over loopback HTTP with keep-alive connections;
//! - the audit file's growth per 100,000 committed records of a typical check.
//!
//! Run: `cargo bench --bench audit`.

// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pmh_gateway::api::AppState;
use pmh_gateway::app::GatewayListener;
use pmh_gateway::store::{Audit, AuditRecord, Hasher, Operation, SqliteStore, Store};
use tokio::net::TcpListener;

#[path = "peers/in_process.rs"]
#[allow(dead_code)] // this bench uses part of it
mod in_process;
#[path = "peers/null_store.rs"]
mod null_store;
use in_process::TOKEN;
use null_store::NullStore;

const CONCURRENCY: usize = 32;
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;

async fn serve(state: AppState) -> std::net::SocketAddr {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = GatewayListener::new(tcp, None).unwrap();
    let metrics = state.metrics.clone();
    tokio::spawn(pmh_gateway::app::serve(
        listener,
        pmh_gateway::api::router(state),
        Default::default(),
        metrics,
        std::future::pending(),
    ));
    addr
}

/// Requests/s for ROUND with CONCURRENCY keep-alive connections.
async fn load(addr: std::net::SocketAddr, body: &str) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + ROUND;
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        let (done, body) = (done.clone(), body.to_owned());
        let url = format!("http://{addr}/v1/subsidy-checks");
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let r = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / ROUND.as_secs_f64()
}

fn main() {
    pmh_gateway::tls::install_crypto_provider();
    in_process::runtime().block_on(async {
        let body = in_process::showcase_body();
        let dir = tempfile::tempdir().unwrap();
        let state_of = |name: &str| in_process::state(&dir.path().join(name));
        let audited = state_of("audited");
        let mut unaudited = state_of("unaudited");
        unaudited.parts_mut().unwrap().store = Arc::new(NullStore);
        let audited_store = audited.store.clone();
        let (a, u) = (serve(audited).await, serve(unaudited).await);
        // Warm both caches.
        load(a, &body).await;
        load(u, &body).await;
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            with.push(load(a, &body).await);
            without.push(load(u, &body).await);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (w, wo) = (median(&mut with), median(&mut without));
        println!(
            "cached POST /v1/subsidy-checks, {CONCURRENCY} connections, {ROUNDS} x {} s alternated",
            ROUND.as_secs()
        );
        println!("  audit on  (SQLite, WAL):  {w:>8.0} requests/s   rounds {with:.0?}");
        println!("  audit off (null store):   {wo:>8.0} requests/s   rounds {without:.0?}");
        println!("  ratio on/off: {:.2}", w / wo);
        let info = audited_store.info().await.unwrap();
        println!(
            "  audit records written during the run: {}",
            info.audit_records
        );

        // Growth: 100,000 committed records of a typical check.
        let growth_dir = dir.path().join("growth");
        let store = SqliteStore::open(&growth_dir, false).unwrap();
        let hasher = Hasher::open_or_create(&pmh_gateway::store::key_path(&growth_dir)).unwrap();
        let before = store.info().await.unwrap().size_bytes;
        let t0 = Instant::now();
        const N: usize = 100_000;
        for i in 0..N {
            let mut r = AuditRecord::new(chrono::Utc::now(), "recept-1", Operation::Check);
            r.http_status = Some(200);
            r.status = Some("confirmed".into());
            r.source = Some("cache".into());
            r.subsidies = Some(3);
            r.check_id = Some(uuid::Uuid::new_v4().to_string());
            r.patient = Some(hasher.reference(&format!("person-{}", i % 5000)));
            store.append(r).await.unwrap();
        }
        let took = t0.elapsed();
        let info = store.info().await.unwrap();
        println!(
            "audit growth: {N} records in {:.1} s ({:.0} commits/s), file {:.1} MB → {:.0} bytes a record",
            took.as_secs_f64(),
            N as f64 / took.as_secs_f64(),
            (info.size_bytes - before) as f64 / 1e6,
            (info.size_bytes - before) as f64 / N as f64
        );
    });
}
