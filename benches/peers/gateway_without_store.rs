//! The gateway with a store that keeps nothing — no audit record, no kept answer — for the
//! throughput benchmark's side-by-side row only: what authentication, the cache, the mapping
//! and the rendering cost without the store. Not a way to run the gateway: the real one has no
//! such switch.
//!
//! `gateway_without_store CONFIG` — used by `deploy/bench/run`, not by the tests.
// A benchmark peer: it unwraps and prints.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

/// The gateway binary's allocator, so that the side-by-side rows differ only in the work done.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "null_store.rs"]
mod null_store;

use std::sync::Arc;

use pmh_gateway::app::GatewayListener;

#[tokio::main]
async fn main() {
    pmh_gateway::tls::install_crypto_provider();
    let path = std::env::args().nth(1).expect("CONFIG");
    let config = pmh_gateway::config::load(std::path::Path::new(&path)).unwrap();
    let mut state = pmh_gateway::app::state_from_config(&config).await.unwrap();
    state.parts_mut().unwrap().store = Arc::new(null_store::NullStore);
    let tcp = tokio::net::TcpListener::bind(config.listen).await.unwrap();
    println!(
        "gateway without store listening on {}",
        tcp.local_addr().unwrap()
    );
    let metrics = state.metrics.clone();
    pmh_gateway::app::serve(
        GatewayListener::new(tcp, None).unwrap(),
        pmh_gateway::api::router(state),
        Default::default(),
        metrics,
        std::future::pending(),
    )
    .await
    .unwrap();
}
