//! The REST listener over real sockets: TLS with client certificates naming clients, tokens over
//! TLS, refusals without either; and the audit surviving a SIGKILL of the serving process.

use std::time::Duration;

use pmh_gateway::auth::{Client, Scope};
use pmh_gateway::store::{Audit, AuditQuery, SqliteStore};
use pmh_gateway::tls::ServerTlsMaterial;
use pmh_pki::LocalCa;

use crate::common::*;

fn https_client(ca_pem: &str, identity: Option<String>, token: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .https_only(true);
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(id.as_bytes()).unwrap());
    }
    if let Some(t) = token {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {t}").parse().unwrap(),
        );
        b = b.default_headers(h);
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_are_named_by_their_certificate_over_tls() {
    let sandbox = start_sandbox().await;
    let ca = LocalCa::create("clinic CA").unwrap();
    let server = ca
        .server(&["localhost".into(), "127.0.0.1".into()])
        .unwrap();
    let recept = ca.client("recept-cert").unwrap();
    let stranger = LocalCa::create("another CA")
        .unwrap()
        .client("recept-cert")
        .unwrap();

    let mut cfg = gateway_config(&sandbox, Duration::from_secs(3));
    cfg.server_tls = Some(ServerTlsMaterial {
        cert_chain_pem: server.cert_pem.into_bytes(),
        key_pem: server.key_pem.into_bytes(),
        client_ca_pem: Some(ca.cert_pem.clone().into_bytes()),
    });
    cfg.access.clients.push(Client {
        name: "recept-cert".into(),
        scopes: [Scope::Check].into(),
        token: None,
        certificate_name: Some("recept-cert".into()),
    });
    let store_dir = cfg.store.dir.clone();
    let gw = Gateway::start(cfg).await;
    let url = format!("https://localhost:{}/v1/subsidy-checks", gw.addr.port());
    let body = body_for(sandbox.population().find(&["showcase", "triple"]).unwrap());
    let post = |c: reqwest::Client| {
        let (url, body) = (url.clone(), body.clone());
        async move { c.post(url).json(&body).send().await }
    };

    // A client certificate alone identifies the client.
    let identity = format!("{}{}", recept.cert_pem, recept.key_pem);
    let r = post(https_client(&ca.cert_pem, Some(identity), None))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A token over TLS, without a certificate.
    let r = post(https_client(&ca.cert_pem, None, Some(TEST_TOKEN)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Neither: 401.
    let r = post(https_client(&ca.cert_pem, None, None)).await.unwrap();
    assert_eq!(r.status(), 401);
    // A certificate from another CA is refused in the handshake.
    let foreign = format!("{}{}", stranger.cert_pem, stranger.key_pem);
    assert!(
        post(https_client(&ca.cert_pem, Some(foreign), None))
            .await
            .is_err()
    );
    // Plain HTTP to the TLS port gets nothing.
    let plain = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/v1/subsidy-checks",
            gw.addr.port()
        ))
        .bearer_auth(TEST_TOKEN)
        .json(&body)
        .send()
        .await;
    assert!(plain.map_or(true, |r| r.status() != 200));
    gw.stop().await;
    sandbox.shutdown().await;

    let store = SqliteStore::open(&store_dir, false).unwrap();
    let by_cert = store
        .search(AuditQuery {
            client: Some("recept-cert".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_cert.len(), 1, "the certificate's client is in the audit");
}

/// Each answer's audit record is committed before the answer leaves: SIGKILL the server right
/// after N answers, and the N records are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_records_survive_a_sigkill_right_after_the_answers() {
    let sandbox_dir = tempfile::tempdir().unwrap();
    let certs = sandbox_dir.path().join("certs");
    let sandbox = start_sandbox().await;
    sandbox.pki.write_to(&certs).unwrap();
    let state = state_dir();
    let cfg = sandbox_dir.path().join("gateway.toml");
    std::fs::write(&cfg, serve_toml(&sandbox.base_url(), &state)).unwrap();
    let (mut serve, addr) = spawn_serve(&cfg, &[]);
    let client = http();
    const N: usize = 25;
    for p in sandbox.population().personas.iter().take(N) {
        let r = client
            .post(format!("http://{addr}/v1/subsidy-checks"))
            .json(&body_for(p))
            .send()
            .await
            .unwrap();
        assert!(r.status() == 200 || r.status() == 503);
        let _ = r.bytes().await.unwrap();
    }
    // No grace: the process is killed the moment the last answer is in.
    serve.kill().unwrap();
    serve.wait().unwrap();
    sandbox.shutdown().await;

    let store = SqliteStore::open(&state, false).unwrap();
    let records = store
        .search(AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(records.len(), N, "one committed record per answer sent");
    assert!(
        records
            .iter()
            .all(|r| r.client == TEST_CLIENT && r.patient.is_some())
    );
}

/// A gateway (in-memory upstream) on a real socket with `limits`; returns its address, a handle
/// to stop it and its task.
async fn served_with(
    limits: pmh_gateway::config::ServerLimits,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (addr, stop, task, _) = served_with_metrics(limits).await;
    (addr, stop, task)
}

/// [`served_with`], and the server's metrics.
async fn served_with_metrics(
    limits: pmh_gateway::config::ServerLimits,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<pmh_gateway::metrics::Metrics>,
) {
    let p = in_process();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = pmh_gateway::app::GatewayListener::new(tcp, None).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = p.state.metrics.clone();
    let served = metrics.clone();
    let task = tokio::spawn(async move {
        pmh_gateway::app::serve(
            listener,
            pmh_gateway::api::router(p.state),
            limits,
            served,
            async {
                let _ = stopped.await;
            },
        )
        .await
        .unwrap();
    });
    (addr, stop, task, metrics)
}

/// Waits until the server has taken `n` connections past their first byte.
async fn open_connections(metrics: &pmh_gateway::metrics::Metrics, n: i64) {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while metrics.http_connections_open.get() < n {
        assert!(
            std::time::Instant::now() < end,
            "{n} connections never opened"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A client that sends the start of a request and then nothing (slowloris).
async fn slow_client(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    s
}

/// Reads what the server sends until it closes the connection.
async fn read_to_close(s: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_its_headers_is_cut_off() {
    let (addr, stop, task) = served_with(pmh_gateway::config::ServerLimits {
        header_read_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut slow = slow_client(addr).await;
    // The server closes it (hyper may first answer 408).
    let said = read_to_close(&mut slow).await;
    assert!(
        said.is_empty() || said.starts_with("HTTP/1.1 408"),
        "{said}"
    );
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_stall_a_graceful_shutdown() {
    let (addr, stop, task) = served_with(pmh_gateway::config::ServerLimits {
        header_read_timeout: Duration::from_secs(600),
        shutdown_grace: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..5 {
        slow.push(slow_client(addr).await);
    }
    // A normal request is served meanwhile.
    let r = http()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = stop.send(());
    // The server stops although the slow clients never finish their requests.
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("shutdown completes")
        .unwrap();
    for s in &mut slow {
        read_to_close(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_told_to_come_back() {
    let (addr, stop, task, metrics) = served_with_metrics(pmh_gateway::config::ServerLimits {
        header_read_timeout: Duration::from_secs(600),
        max_connections: 2,
        reserved_connections: 0,
        shutdown_grace: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let _a = slow_client(addr).await;
    let _b = slow_client(addr).await;
    // Both have sent bytes (neither is an idle socket a newcomer may displace).
    open_connections(&metrics, 2).await;
    let mut third = slow_client(addr).await;
    let said = read_to_close(&mut third).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("/problems/too-many-connections"), "{said}");
    let _ = stop.send(());
    task.await.unwrap();
}

/// A TCP connection from `from` (an address of the loopback range) that sends nothing.
async fn idle_from(from: &str, addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(format!("{from}:0").parse().unwrap()).unwrap();
    s.connect(addr).await.unwrap()
}

/// A client from `from` that sends the tests' token (keeps its connection alive).
fn client_from(from: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {TEST_TOKEN}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// One address cannot take every connection: its unauthenticated connections are capped (then
/// 503), at the cap a newcomer takes the place of the oldest connection that has sent nothing,
/// and a connection that has authenticated is never displaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let (addr, stop, task) = served_with(pmh_gateway::config::ServerLimits {
        header_read_timeout: Duration::from_secs(600),
        first_byte_timeout: Duration::from_secs(600),
        max_connections: 12,
        reserved_connections: 4,
        max_connections_per_address: 4,
        shutdown_grace: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let masters = format!("http://{addr}/v1/masters");
    // A receipt computer, authenticated on a kept-alive connection.
    let receipt = client_from("127.0.0.2");
    assert_eq!(receipt.get(&masters).send().await.unwrap().status(), 200);
    // One address: four idle sockets, and the fifth is refused.
    let mut first = Vec::new();
    for _ in 0..4 {
        first.push(idle_from("127.0.0.1", addr).await);
    }
    let mut fifth = idle_from("127.0.0.1", addr).await;
    let said = read_to_close(&mut fifth).await;
    assert!(said.contains("/problems/too-many-connections"), "{said}");
    // More idle sockets from other addresses: past 8 unauthenticated (12 less 4 kept), each
    // newcomer closes the oldest idle one — the first address's.
    let mut others = Vec::new();
    for from in ["127.0.0.3", "127.0.0.4"] {
        for _ in 0..4 {
            others.push(idle_from(from, addr).await);
        }
    }
    for s in &mut first {
        assert_eq!(
            read_to_close(s).await,
            "",
            "displaced, closed without a word"
        );
    }
    // A new caller still gets in, and the authenticated one was never touched.
    let newcomer = client_from("127.0.0.5");
    assert_eq!(newcomer.get(&masters).send().await.unwrap().status(), 200);
    assert_eq!(receipt.get(&masters).send().await.unwrap().status(), 200);
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_soon() {
    let (addr, stop, task) = served_with(pmh_gateway::config::ServerLimits {
        header_read_timeout: Duration::from_secs(600),
        first_byte_timeout: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut idle = idle_from("127.0.0.1", addr).await;
    assert_eq!(read_to_close(&mut idle).await, "");
    // One that speaks at once is served.
    let r = http()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_arrives_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let (addr, stop, task) = served_with(pmh_gateway::config::ServerLimits {
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "POST /v1/subsidy-checks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"insured\":"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let said = read_to_close(&mut s).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("/problems/request-timeout"), "{said}");
    let _ = stop.send(());
    task.await.unwrap();
}
