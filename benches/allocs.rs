//! Allocations per cached request, counted: the router in process (no sockets), the demo's
//! three-subsidy person answered from the cache, with the SQLite audit; JSON, ORCA and FHIR. The counts cover every thread (the store's too), so a
//! regression shows as a number. Run: `cargo bench --bench allocs`.

// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::System;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::ServiceExt;

#[path = "peers/in_process.rs"]
mod in_process;
use in_process::TOKEN;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const REQUESTS: usize = 2000;

fn main() {
    pmh_gateway::tls::install_crypto_provider();
    in_process::runtime().block_on(async {
        let body = in_process::showcase_body();
        let dir = tempfile::tempdir().unwrap();
        let state = in_process::state(dir.path());
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
