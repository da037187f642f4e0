//! The gateway in process for the benchmarks (benches/audit.rs, benches/allocs.rs,
//! benches/handler.rs): terminal
//! mode without a folder watcher, the sandbox's population (seed 42, 100 persons) as an
//! in-memory upstream, one client `bench` with the `check` scope, its state in a given folder.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use pmh_gateway::api::AppState;
use pmh_gateway::auth::Scope;
use pmh_gateway::demo::{Demo, client};
use pmh_gateway::sandbox::{InMemoryUpstream, Population};
use pmh_gateway::service::SystemClock;
use tower::ServiceExt;

/// The client's token.
pub const TOKEN: &str = "pmhg_bench_token";

/// The sandbox's population of `size` persons (seed 42).
pub fn population_of(size: usize) -> Population {
    let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());
    Population::generate(42, today, size)
}

fn population() -> Population {
    population_of(100)
}

/// The request body for the demo's three-subsidy person.
pub fn showcase_body() -> String {
    let population = population();
    Demo::request_body(population.find(&["showcase", "triple"]).unwrap())
}

/// The gateway's state, its store (SQLite) in `state_dir`.
pub fn state(state_dir: &Path) -> AppState {
    state_over(state_dir, population())
}

/// The gateway's state over a given population as its upstream.
pub fn state_over(state_dir: &Path, population: Population) -> AppState {
    let mut cfg = pmh_gateway::config::FileConfig::from_toml(
        "[institution]\ncode = \"1311111111\"\n[upstream]\nmode = \"terminal\"\n[onshi]\nfolder = \"/nonexistent\"\nwatch_face = false\n",
    )
    .unwrap()
    .resolve(Path::new("/"))
    .unwrap();
    cfg.store.dir = state_dir.to_path_buf();
    cfg.access.clients = vec![client("bench", TOKEN, &[Scope::Check])];
    pmh_gateway::app::state_with_upstream(
        &cfg,
        Arc::new(InMemoryUpstream::new(population)),
        Arc::new(SystemClock),
    )
    .unwrap()
}

/// The runtime the benchmarks measure on: two workers, like the 2-core machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One cached check through `router` in process: `POST /v1/subsidy-checks?format=FORMAT` with
/// `body` under the bench client's token; it must answer 200. The answer's length in bytes.
pub async fn check(router: &Router, body: &str, format: &str) -> usize {
    let request = Request::post(format!("/v1/subsidy-checks?format={format}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let r = router.clone().oneshot(request).await.unwrap();
    assert_eq!(r.status(), 200);
    r.into_body().collect().await.unwrap().to_bytes().len()
}
