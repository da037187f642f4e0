//! `pmh-gateway healthcheck --config FILE`: asks the gateway this configuration describes for
//! `GET /healthz` on loopback — over TLS trusting only its own certificate when it has one — for
//! a container's health check, where there is no curl. Succeeds when it answers 200.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use pmh_gateway::config::GatewayConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long the whole check may take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The address to ask: the listen address, with an unspecified one (`0.0.0.0`, `::`) asked on
/// loopback.
pub fn target(listen: SocketAddr) -> Result<SocketAddr, String> {
    if listen.port() == 0 {
        return Err(
            "server.listen has port 0: give the port the gateway listens on (PMH_GATEWAY_LISTEN)"
                .into(),
        );
    }
    let ip = match listen.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(SocketAddr::new(ip, listen.port()))
}

/// Asks `/healthz`; `Ok` with a line to print when it answered 200.
pub async fn check(cfg: &GatewayConfig) -> Result<String, String> {
    let addr = target(cfg.listen)?;
    let ask = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        match &cfg.server_tls {
            None => ask(tcp).await,
            Some(tls) => {
                let client = pmh_gateway::tls::client_config_pinned(&tls.cert_chain_pem)
                    .map_err(|e| e.to_string())?;
                let name = rustls_pki_types::ServerName::try_from("localhost")
                    .map_err(|e| e.to_string())?;
                let stream = tokio_rustls::TlsConnector::from(Arc::new(client))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS with {addr}: {e}"))?;
                ask(stream).await
            }
        }
    };
    let status = tokio::time::timeout(TIMEOUT, ask)
        .await
        .map_err(|_| format!("{addr} did not answer within {TIMEOUT:?}"))??;
    if status == 200 {
        Ok(format!("ok: {addr} /healthz 200\n"))
    } else {
        Err(format!("{addr} /healthz answered {status}"))
    }
}

/// Sends the request and reads the status code of the answer.
async fn ask(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> Result<u16, String> {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: pmh-gateway-healthcheck\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| "the answer is not HTTP".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_asked_on_loopback() {
        let t = |s: &str| target(s.parse().unwrap());
        assert_eq!(
            t("0.0.0.0:8421").unwrap(),
            "127.0.0.1:8421".parse().unwrap()
        );
        assert_eq!(t("[::]:8421").unwrap(), "[::1]:8421".parse().unwrap());
        assert_eq!(
            t("10.0.0.5:8421").unwrap(),
            "10.0.0.5:8421".parse().unwrap()
        );
        assert!(t("127.0.0.1:0").unwrap_err().contains("port 0"));
    }
}
