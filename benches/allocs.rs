//! Allocations per cached request, counted: the router in process (no sockets), the demo's
//! three-subsidy person answered from the cache, with the SQLite audit and with a store that
//! keeps nothing; JSON, ORCA and FHIR. The counts cover every thread (the store's too), so a
//! regression shows as a number. Run: `cargo bench --bench allocs`.

// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::System;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use pmh_gateway::auth::Scope;
use pmh_gateway::demo::{Demo, client};
use pmh_gateway::sandbox::{InMemoryUpstream, Population};
use pmh_gateway::service::SystemClock;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::ServiceExt;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TOKEN: &str = "pmhg_bench_token";
const REQUESTS: usize = 2000;

fn main() {
    pmh_gateway::tls::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());
        let population = Population::generate(42, today, 100);
        let person = population.find(&["showcase", "triple"]).unwrap().clone();
        let body = Demo::request_body(&person);
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = pmh_gateway::config::FileConfig::from_toml(
            "[institution]\ncode = \"1311111111\"\n[upstream]\nmode = \"terminal\"\n[onshi]\nfolder = \"/nonexistent\"\nwatch_face = false\n",
        )
        .unwrap()
        .resolve(std::path::Path::new("/"))
        .unwrap();
        cfg.store.dir = dir.path().to_path_buf();
        cfg.access.clients = vec![client("bench", TOKEN, &[Scope::Check])];
        let state = pmh_gateway::app::state_with_upstream(
            &cfg,
            Arc::new(InMemoryUpstream::new(population)),
            Arc::new(SystemClock),
        )
        .unwrap();
        let router = pmh_gateway::api::router(state);
        println!("allocations per cached POST /v1/subsidy-checks ({REQUESTS} requests each, all threads)");
        for format in ["json", "orca", "fhir"] {
            let send = || {
                let request = Request::post(format!("/v1/subsidy-checks?format={format}"))
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .header("content-type", "application/json")
                    .body(Body::from(body.clone()))
                    .unwrap();
                let router = router.clone();
                async move {
                    let r = router.oneshot(request).await.unwrap();
                    assert_eq!(r.status(), 200);
                    r.into_body().collect().await.unwrap().to_bytes().len()
                }
            };
            // Warm the cache and the rendered bytes.
            send().await;
            let region = Region::new(GLOBAL);
            let mut bytes = 0;
            for _ in 0..REQUESTS {
                bytes = send().await;
            }
            let s = region.change();
            println!(
                "  {format:<5} {:>7.1} allocations, {:>8.0} bytes allocated per request (answer {bytes} bytes)",
                s.allocations as f64 / REQUESTS as f64,
                s.bytes_allocated as f64 / REQUESTS as f64,
            );
        }
    });
}
