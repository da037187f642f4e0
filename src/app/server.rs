//! The HTTP server loop over the gateway's listener, with the limits a clinic's network needs:
//! a time limit on reading a request's headers (slowloris), on a whole request (a slow body, a
//! handler that hangs), a cap on open connections (at the cap a new connection gets a `503` and
//! is closed), and a graceful shutdown that waits for requests in flight at most `shutdown_grace`
//! and then closes what is left — a slow client cannot keep the gateway from stopping.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::listener::{GatewayListener, Incoming};
use crate::api::access::Peer;
use crate::config::ServerLimits;
use crate::metrics::Metrics;

/// What a connection beyond the cap is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\nConnection: close\r\nCache-Control: no-store\r\nContent-Length: 119\r\n\r\n{\"type\":\"/problems/too-many-connections\",\"title\":\"Too many open connections\",\"status\":503,\"detail\":\"try again shortly\"}";

/// Serves `app` on `listener` until `shutdown` completes, then drains (see the module).
pub async fn serve(
    mut listener: GatewayListener,
    app: Router,
    limits: ServerLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = axum::serve::Listener::local_addr(&listener) {
        tracing::info!(%addr, "pmh-gateway listening");
    }
    let app = app.layer(axum::middleware::from_fn_with_state(
        (limits.request_timeout, metrics.clone()),
        crate::api::request_deadline,
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            c = axum::serve::Listener::accept(&mut listener) => c,
            () = &mut shutdown => break,
        };
        while conns.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.http_connections_refused.inc();
            conns.spawn(refuse(io));
            continue;
        };
        metrics.http_connections_open.inc();
        let peer = Peer {
            addr: Some(addr),
            certificate_name: io.certificate_name(),
        };
        let svc = tower::ServiceBuilder::new()
            .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer.clone()));
                req
            })
            .service(app.clone());
        let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(svc));
        let conn = graceful.watch(conn);
        let metrics = metrics.clone();
        conns.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            metrics.http_connections_open.dec();
            drop(permit);
        });
    }
    drop(listener);
    let open = graceful.count();
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "connections still open after the shutdown grace: closed"
        );
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// Tells a connection beyond the cap to come back later, and closes it.
async fn refuse(mut io: Incoming) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = io.write_all(BUSY).await;
        let _ = io.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_busy_answer_announces_its_length() {
        let text = std::str::from_utf8(super::BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
