//! The REST listener: plain TCP on loopback, or TLS (rustls) with optional client certificates.
//! Handshakes run beside the accept loop (a slow client cannot hold up others) within a time
//! limit; each connection carries its [`Peer`] — the remote address and a verified client
//! certificate's common name — to the access guard.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::admission::{Admission, Ticket};
use crate::api::access::{ConnectionProof, Peer};
use crate::config::ServerLimits;
use crate::metrics::Metrics;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection refused at accept is told before it is closed (plain HTTP; a TLS one is
/// closed).
/// The answer to a connection refused at accept: the API's problem, written whole (the HTTP
/// stack never sees this socket).
static BUSY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    crate::api::problem::Problem::too_many_connections().raw_response()
});

/// An accepted connection, with its place among the listener's connections.
pub struct Incoming {
    stream: Stream,
    ticket: Option<Ticket>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Incoming {
    /// The common name of the client's verified certificate, if it sent one.
    pub(super) fn certificate_name(&self) -> Option<String> {
        let Stream::Tls(tls) = &self.stream else {
            return None;
        };
        let cert = tls.get_ref().1.peer_certificates()?.first()?;
        crate::tls::common_name(cert.as_ref())
    }

    /// What proves the connection when a request on it authenticates.
    pub(super) fn proof(&self) -> Option<ConnectionProof> {
        self.ticket.as_ref().map(Ticket::proof)
    }
}

impl AsyncRead for Incoming {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Incoming {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The REST listener. Created bound; [`GatewayListener::start`] (called by `serve`) begins
/// accepting with the server's limits.
pub struct GatewayListener {
    local: SocketAddr,
    tcp: Option<TcpListener>,
    acceptor: Option<TlsAcceptor>,
    ready: Option<mpsc::Receiver<(Incoming, SocketAddr)>>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl GatewayListener {
    pub fn new(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> io::Result<Self> {
        Ok(Self {
            local: listener.local_addr()?,
            tcp: Some(listener),
            acceptor: tls.map(TlsAcceptor::from),
            ready: None,
            accept: None,
        })
    }

    /// Starts accepting: each connection is admitted (see `admission`), must send its first
    /// byte within `first_byte_timeout` (or be displaced by a newcomer first), and — with TLS —
    /// complete its handshake within a time limit, beside the accept loop.
    pub(super) fn start(&mut self, limits: &ServerLimits, metrics: Arc<Metrics>) {
        let Some(listener) = self.tcp.take() else {
            return;
        };
        let (tx, ready) = mpsc::channel(64);
        self.ready = Some(ready);
        let acceptor = self.acceptor.clone();
        let admission = Admission::new(limits);
        let first_byte = limits.first_byte_timeout;
        self.accept = Some(tokio::spawn(async move {
            loop {
                let (tcp, addr) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let ticket = match admission.admit(addr.ip()) {
                    Ok(t) => t,
                    Err(reason) => {
                        metrics.http_connections_refused.inc();
                        tracing::debug!(?reason, "connection refused");
                        if acceptor.is_none() {
                            tokio::spawn(refuse(tcp));
                        }
                        continue;
                    }
                };
                let (acceptor, tx, metrics) = (acceptor.clone(), tx.clone(), metrics.clone());
                tokio::spawn(async move {
                    // The first byte, unless the time runs out or a newcomer takes the place.
                    let mut byte = [0u8; 1];
                    let arrived = tokio::select! {
                        r = tokio::time::timeout(first_byte, tcp.peek(&mut byte)) => r.is_ok(),
                        () = ticket.displaced() => false,
                    };
                    if !arrived {
                        metrics.http_connections_idle_closed.inc();
                        return;
                    }
                    ticket.arrived();
                    let stream = match acceptor {
                        None => Stream::Plain(tcp),
                        Some(acceptor) => {
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                                .await
                            {
                                Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake refused");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake timed out");
                                    return;
                                }
                            }
                        }
                    };
                    let incoming = Incoming {
                        stream,
                        ticket: Some(ticket),
                    };
                    // A verified client certificate authenticates the connection.
                    if incoming.certificate_name().is_some()
                        && let Some(t) = &incoming.ticket
                    {
                        t.prove();
                    }
                    let _ = tx.send((incoming, addr)).await;
                });
            }
        }));
    }
}

/// Tells a plain connection refused at accept to come back later, and closes it.
async fn refuse(mut tcp: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = tcp.write_all(&BUSY).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

impl Drop for GatewayListener {
    fn drop(&mut self) {
        if let Some(a) = &self.accept {
            a.abort();
        }
    }
}

impl axum::serve::Listener for GatewayListener {
    type Io = Incoming;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        if self.ready.is_none() {
            let metrics = Arc::new(Metrics::new());
            self.start(&ServerLimits::default(), metrics);
        }
        match self.ready.as_mut().expect("started").recv().await {
            Some(c) => c,
            // The accept loop ended (never, while the listener lives): wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl Connected<IncomingStream<'_, GatewayListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GatewayListener>) -> Self {
        Peer {
            addr: Some(*stream.remote_addr()),
            certificate_name: stream.io().certificate_name(),
            proof: stream.io().proof(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_busy_answer_is_the_api_s_problem_with_its_length() {
        let text = std::str::from_utf8(&super::BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(head.contains("Retry-After: 1\r\n"), "{head}");
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["type"], "/problems/too-many-connections");
        assert_eq!(v["status"], 503);
    }
}
