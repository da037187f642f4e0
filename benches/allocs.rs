//! Allocations per cached request, counted: the router in process (no sockets), the demo's
//! three-subsidy person answered from the cache, with the SQLite audit; JSON, ORCA and FHIR. The
//! counts cover every thread (the store's too), so a regression shows as a number. Then the heap
//! held per cached person: each of `ALLOCS_PERSONS` (100,000 unless set) persons of the sandbox's
//! population checked once, the bytes still allocated afterwards divided by their number.
//! Run: `cargo bench --bench allocs`.

// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[path = "peers/in_process.rs"]
mod in_process;

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
            let send = || in_process::check(&router, &body, format);
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
    held_per_person();
}

/// The heap held for each cached person, by the bytes allocated and not freed while a gateway of
/// its own checks every person of a population once.
fn held_per_person() {
    let persons: usize = std::env::var("ALLOCS_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let population = in_process::population_of(persons);
    let bodies: Vec<String> = population
        .personas
        .iter()
        .map(pmh_gateway::demo::Demo::request_body)
        .collect();
    in_process::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let router = pmh_gateway::api::router(in_process::state_over(dir.path(), population));
        let anon_before = resident_anonymous_kb();
        let region = Region::new(GLOBAL);
        for body in &bodies {
            in_process::check(&router, body, "json").await;
        }
        let s = region.change();
        let held = s.bytes_allocated as i64 - s.bytes_deallocated as i64; // reallocations are in both
        let grown = (resident_anonymous_kb() - anon_before) * 1024;
        println!(
            "heap held with {} persons checked once and cached: {:.1} MB, {:.0} bytes a person; \
             resident anonymous memory grew {:.1} MB, {:.0} bytes a person (with the allocators' \
             own overhead and the store's SQLite pages)",
            bodies.len(),
            held as f64 / 1e6,
            held as f64 / bodies.len() as f64,
            grown as f64 / 1e6,
            grown as f64 / bodies.len() as f64,
        );
    });
}

/// The process's resident anonymous memory (heap and stacks), from /proc (0 where there is none).
fn resident_anonymous_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
