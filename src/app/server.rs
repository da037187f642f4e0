//! The HTTP server loop over the gateway's listener, with the limits a clinic's network needs:
//! a time limit on reading a request's headers (slowloris), on a whole request (a slow body, a
//! handler that hangs), the listener's admission of connections (`admission`: caps per address
//! and in all, a part kept for connections that have authenticated, idle ones closed), and a
//! graceful shutdown that waits for requests in flight at most `shutdown_grace` and then closes
//! what is left — a slow client cannot keep the gateway from stopping.

use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::task::JoinSet;

use super::listener::GatewayListener;
use crate::api::access::Peer;
use crate::config::ServerLimits;
use crate::metrics::Metrics;

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
    listener.start(&limits, metrics.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            c = axum::serve::Listener::accept(&mut listener) => c,
            () = &mut shutdown => break,
        };
        while conns.try_join_next().is_some() {}
        metrics.http_connections_open.inc();
        let peer = Peer {
            addr: Some(addr),
            certificate_name: io.certificate_name(),
            proof: io.proof(),
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
