//! CPU time per cached request in process (no sockets, no HTTP parsing): the router through
//! authentication, the cache, the mapping, the rendering and the store, on the demo's
//! three-subsidy person, 50 in flight; with a store that keeps nothing and with the SQLite audit. The
//! process's CPU time (every thread: the store's too) divided by the requests, so what the
//! gateway itself spends per answer shows apart from the network and the load generator; under
//! `perf record` it gives a profile without the kernel's share. Run: `cargo bench --bench handler`
//! (optionally `-- N` requests per row, default 20,000).

// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;

use futures::StreamExt;

#[path = "peers/in_process.rs"]
mod in_process;
#[path = "peers/null_store.rs"]
mod null_store;

/// The gateway binary's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The process's CPU time so far (user + system, every thread), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // The kernel's USER_HZ, 100 on Linux.
    ticks / 100.0
}

fn main() {
    pmh_gateway::tls::install_crypto_provider();
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    in_process::runtime().block_on(async {
        let body = in_process::showcase_body();
        println!("CPU time per cached POST /v1/subsidy-checks in process ({n} requests each, 50 in flight)");
        for with_store in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mut state = in_process::state(dir.path());
            if !with_store {
                state.parts_mut().unwrap().store = Arc::new(null_store::NullStore);
            }
            let router = pmh_gateway::api::router(state);
            for format in ["json", "orca", "fhir"] {
                let send = || in_process::check(&router, &body, format);
                // Warm the cache and the rendered bytes.
                send().await;
                let before = cpu_seconds();
                // 50 in flight, as the load generator's connections: the store commits what
                // queued up together (group commit), as under real load.
                futures::stream::iter(0..n)
                    .for_each_concurrent(50, |_| async {
                        send().await;
                    })
                    .await;
                let spent = cpu_seconds() - before;
                println!(
                    "  {:<12} {format:<5} {:>7.1} µs",
                    if with_store {
                        "SQLite audit"
                    } else {
                        "no store"
                    },
                    spent * 1e6 / n as f64
                );
            }
        }
    });
}
