//! The throughput benchmark's yardstick: a bare axum server that answers every request with the
//! same bytes (the gateway's cached answer, read from a file), on the same runtime and HTTP
//! stack as the gateway, with no authentication, audit, mapping or rendering.
//!
//! `bare_axum ADDR FILE` — used by `deploy/bench/run`, not by the tests.
// A benchmark peer: it unwraps and prints.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

/// The gateway binary's allocator, so that the side-by-side rows differ only in the work done.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::any;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().expect("ADDR");
    let file = args.next().expect("FILE");
    let bytes = Bytes::from(std::fs::read(&file).expect("the answer's file"));
    let app = Router::new().fallback(any(move || {
        let bytes = bytes.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], bytes).into_response() }
    }));
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    println!("bare axum listening on {}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
