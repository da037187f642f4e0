//! Helpers shared by the integration tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use pmh_gateway::api::{self, AppState};
use pmh_gateway::config::GatewayConfig;
use pmh_gateway::demo;
use pmh_gateway::sandbox::{
    self, InMemoryUpstream, Persona, Pki, Population, SandboxHandle, SandboxOptions,
};
use pmh_gateway::service::ManualClock;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const SEED: u64 = 42;

/// The tests' client: every scope but `reception`.
pub const TEST_CLIENT: &str = "test-client";
pub const TEST_TOKEN: &str = "pmhg_test_token_0123456789abcdef0123456789abcdef";

/// The tests' clients: `test-client` with every scope but `reception`, `checker` with
/// `check` alone, `counter` for the reception page (with its 管理票 form and 月次点検), and
/// `pharmacy` with `charges` alone.
pub fn test_clients() -> Vec<pmh_gateway::auth::Client> {
    use pmh_gateway::auth::Scope::*;
    vec![
        demo::client(
            TEST_CLIENT,
            TEST_TOKEN,
            &[Check, CheckIn, OnshiPost, Charges, Admin, ReceiptCheck],
        ),
        demo::client("checker", CHECKER_TOKEN, &[Check]),
        demo::client(
            RECEPTION_CLIENT,
            RECEPTION_TOKEN,
            &[Reception, Charges, ReceiptCheck],
        ),
        demo::client(PHARMACY_CLIENT, PHARMACY_TOKEN, &[Charges]),
    ]
}

/// Another receipt computer with the `charges` scope alone (visits of its own).
pub const PHARMACY_CLIENT: &str = "pharmacy";
pub const PHARMACY_TOKEN: &str = "pmhg_pharmacy_token_0123456789abcdef0123456789abcdef";

/// The reception page's client (`reception` and `charges`: the 管理票 form).
pub const RECEPTION_CLIENT: &str = "counter";
pub const RECEPTION_TOKEN: &str = "pmhg_counter_token_0123456789abcdef0123456789abcdef";

/// A client with the `check` scope only.
pub const CHECKER_TOKEN: &str = "pmhg_checker_token_0123456789abcdef0123456789abcdef";

/// A fresh state folder under cargo's temporary folder for tests (inside `target/`).
pub fn state_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("state")
        .join(uuid::Uuid::new_v4().simple().to_string())
}

/// An HTTP client that sends the tests' token.
pub fn http() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {TEST_TOKEN}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The day snapshots were taken on.
pub const DEFAULT_TODAY: &str = "2026-11-21";

/// The day in-process tests run on: `DEFAULT_TODAY`, or `PMH_GATEWAY_TEST_TODAY` (YYYY-MM-DD).
/// `tests/on-other-days` (in CI) runs the suite on month ends, a fiscal-year change and a leap
/// day, with the process clock moved there too, to show that no test depends on the calendar.
pub fn today() -> NaiveDate {
    let day = std::env::var("PMH_GATEWAY_TEST_TODAY").unwrap_or_else(|_| DEFAULT_TODAY.into());
    NaiveDate::parse_from_str(&day, "%Y-%m-%d").expect("PMH_GATEWAY_TEST_TODAY is YYYY-MM-DD")
}

/// 10:00 JST on `today()`.
pub fn ten_am_jst() -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&today().and_hms_opt(1, 0, 0).unwrap())
}

/// `text` as it would read on `DEFAULT_TODAY`: every date within three years of `today()`
/// (`YYYY-MM-DD`, or the first eight digits of a run starting `YYYYMMDD`) moved back by the days
/// between the two. Answers that hold dates relative to the day are compared with the snapshots
/// taken on the default day through this.
pub fn as_on_default_day(text: &str) -> String {
    let default = NaiveDate::parse_from_str(DEFAULT_TODAY, "%Y-%m-%d").unwrap();
    let shift = default - today();
    if shift.is_zero() {
        return text.to_owned();
    }
    let near = |d: NaiveDate| (d - today()).num_days().abs() <= 3 * 366;
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let starts_run = digit(i) && (i == 0 || !digit(i - 1));
        if starts_run {
            let dashed = (i..i + 10).all(|j| {
                if j == i + 4 || j == i + 7 {
                    b.get(j) == Some(&b'-')
                } else {
                    digit(j)
                }
            });
            let compact = (i..i + 8).all(digit);
            let (len, format) = if dashed {
                (10, "%Y-%m-%d")
            } else if compact {
                (8, "%Y%m%d")
            } else {
                (0, "")
            };
            if len > 0
                && let Ok(d) = NaiveDate::parse_from_str(&text[i..i + len], format)
                && near(d)
            {
                out.push_str(&(d + shift).format(format).to_string());
                i += len;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// A JSON answer as it would read on `DEFAULT_TODAY` (see [`as_on_default_day`]).
pub fn json_on_default_day(v: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(&as_on_default_day(&v.to_string())).unwrap()
}

/// What a test's subscriber logged (see [`capture_logs`]).
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Everything logged at `filter` on this thread while the guard lives (a current-thread test
/// sees what its gateway, watcher and sandbox log).
pub fn capture_logs(filter: &str) -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buf = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(buf.clone())
        .with_ansi(false)
        .finish();
    (buf, tracing::subscriber::set_default(subscriber))
}

/// A share that stops answering for names containing `needle`: their calls block until the
/// returned sender is dropped, or a minute has passed (for the tests that show a hung share
/// stalls nothing else; a regression that blocks a runtime thread then fails instead of hanging).
pub fn hung_share(
    needle: &'static str,
    deadline: Duration,
) -> (pmh_gateway::files::ShareIo, std::sync::mpsc::Sender<()>) {
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = Arc::new(std::sync::Mutex::new(held));
    let stall: pmh_gateway::files::Stall = Arc::new(move |name: &str| {
        if name.contains(needle) {
            // Blocks this blocking-pool thread as a hung network share would.
            let _ = held.lock().unwrap().recv_timeout(Duration::from_secs(60));
        }
    });
    let share =
        pmh_gateway::files::ShareIo::new(pmh_gateway::files::ShareIo::CONCURRENCY, deadline)
            .stalled_by(stall);
    (share, release)
}

/// A router over the in-memory sandbox population, with a clock fixed at 10:00 JST on `today()`.
pub fn in_process_app() -> (axum::Router, Arc<InMemoryUpstream>) {
    let (state, upstream) = in_process_state();
    (api::router(state), upstream)
}

/// The application state of `in_process_app` (service, metrics).
pub fn in_process_state() -> (AppState, Arc<InMemoryUpstream>) {
    let p = in_process();
    (p.state, p.upstream)
}

/// Everything of an in-process gateway: its state, the in-memory upstream, the manual clock
/// (10:00 JST on `today()`), and the configuration it was built from.
pub struct InProcess {
    pub state: AppState,
    pub upstream: Arc<InMemoryUpstream>,
    pub clock: Arc<ManualClock>,
    pub config: GatewayConfig,
}

pub fn in_process() -> InProcess {
    in_process_on(|store| store)
}

/// [`in_process`], its local store seen through `wrap` (a store that counts or fails calls).
pub fn in_process_on(
    wrap: impl FnOnce(Arc<dyn pmh_gateway::store::Store>) -> Arc<dyn pmh_gateway::store::Store>,
) -> InProcess {
    pmh_gateway::tls::install_crypto_provider();
    let upstream = Arc::new(InMemoryUpstream::new(Population::generate(
        SEED,
        today(),
        300,
    )));
    let clock = Arc::new(ManualClock::new(ten_am_jst()));
    let config = test_config_without_upstream();
    let (store, hasher) = pmh_gateway::app::open_local_store(&config.store).unwrap();
    let state: AppState = pmh_gateway::app::state_with_store(
        &config,
        upstream.clone(),
        clock.clone(),
        wrap(store),
        hasher,
    )
    .unwrap();
    InProcess {
        state,
        upstream,
        clock,
        config,
    }
}

/// `req` sent with `token` to the router of `st`, in process: the status and the JSON body
/// (which must be JSON).
pub async fn call_as(
    st: &AppState,
    token: &str,
    mut req: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    req.headers_mut().insert(
        axum::http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    let resp = api::router(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status}: the answer is not JSON ({e})"));
    (status, body)
}

/// A config whose TLS material is never used (in-process upstream).
pub fn test_config_without_upstream() -> GatewayConfig {
    let listen = "127.0.0.1:0".parse().unwrap();
    GatewayConfig {
        listen,
        server_tls: None,
        access: pmh_gateway::auth::AccessConfig {
            clients: test_clients(),
            allowed_hosts: pmh_gateway::auth::AccessConfig::default_hosts(listen),
            max_failures: 5,
            failure_window: Duration::from_secs(60),
            block: Duration::from_secs(60),
        },
        store: pmh_gateway::store::StoreConfig::local(state_dir()),
        body_limit_bytes: 16 * 1024,
        limits: Default::default(),
        institution: pmh_gateway::domain::MedicalInstitutionCode::parse("1311111111").unwrap(),
        upstream: pmh_gateway::config::UpstreamConfig::Pmh {
            base_url: "https://localhost:1".into(),
            tls: pmh_gateway::upstream::UpstreamTls {
                ca_pem: Vec::new(),
                identity_pem: Vec::new(),
            },
            connect_timeout: Duration::from_millis(100),
            proxy: None,
        },
        checkin: None,
        service: Default::default(),
        masters: pmh_gateway::masters::MasterSource::Embedded,
        log_format: pmh_gateway::config::LogFormat::Text,
        log_level: "info".into(),
    }
}

/// A persona's identity, as the gateway reads it.
pub fn insured(p: &Persona) -> pmh_gateway::domain::InsuredIdentity {
    pmh_gateway::domain::InsuredIdentity::new(
        &p.insured.insurer_number,
        p.insured.symbol.as_deref(),
        &p.insured.number,
        p.insured.branch.as_deref(),
        NaiveDate::parse_from_str(&p.insured.birthdate, "%Y-%m-%d").unwrap(),
    )
    .unwrap()
}

pub fn body_for(p: &Persona) -> serde_json::Value {
    demo::Demo::request_json(p)
}

/// A sandbox on ephemeral loopback ports.
pub async fn start_sandbox() -> SandboxHandle {
    pmh_gateway::tls::install_crypto_provider();
    sandbox::start(SandboxOptions {
        https: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        admin: Some(TcpListener::bind("127.0.0.1:0").await.unwrap()),
        pki: Pki::generate("1311111111").unwrap(),
        seed: SEED,
        today: pmh_gateway::domain::date::jst_date(Utc::now()),
        population_size: 1200,
    })
    .await
    .unwrap()
}

/// A real gateway server (`run`) on an ephemeral port, against `sandbox`.
pub struct Gateway {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), pmh_gateway::app::StartupError>>,
}

impl Gateway {
    pub async fn start(cfg: GatewayConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(pmh_gateway::run(listener, cfg, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            stop: Some(tx),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn check(&self, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let r = http()
            .post(self.url("/v1/subsidy-checks"))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// `GET path` with the tests' token, as text.
    pub async fn get_text(&self, path: &str) -> String {
        http()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `GET path` with the tests' token, as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        http()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

pub fn gateway_config(sandbox: &SandboxHandle, deadline: Duration) -> GatewayConfig {
    let mut cfg = demo::gateway_config(
        sandbox,
        "127.0.0.1:0".parse().unwrap(),
        &state_dir(),
        test_clients(),
    );
    cfg.service.deadline = deadline;
    cfg
}

pub async fn admin_put_faults(sandbox: &SandboxHandle, body: &str) {
    let url = format!("http://{}/admin/faults", sandbox.admin_addr.unwrap());
    let r = http()
        .put(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

pub async fn admin_stats(sandbox: &SandboxHandle) -> serde_json::Value {
    let url = format!("http://{}/admin/stats", sandbox.admin_addr.unwrap());
    http().get(url).send().await.unwrap().json().await.unwrap()
}

/// An オン資 result file for `p` on `today()` as the sandbox terminal writes it, with the persona's
/// 照会番号, with or without the PMH block.
pub fn result_file(p: &Persona, block: bool, charset: pmh_gateway::onshi::Charset) -> Vec<u8> {
    sandbox::terminal::result_xml(&sandbox::terminal::ResultSpec {
        persona: p,
        date: today(),
        institution: "1311111111",
        file_id: "A00000000001",
        reference: Some(&sandbox::terminal::reference_of(p)),
        charset,
        block: block.then_some(p.certificates.as_slice()),
    })
    .unwrap()
}

/// A configuration in terminal mode that needs no certificate files (the folder is never
/// used: no watcher); append sections to it.
pub const TERMINAL_TOML: &str = "[institution]\ncode = \"1311111111\"\n[upstream]\nmode = \"terminal\"\n[onshi]\nfolder = \"/nonexistent\"\nwatch_face = false\n";

/// A configuration for `serve` against the sandbox at `base_url`, whose certificates are in
/// `certs/` beside the file: JSON logs, the state in `state`, the tests' client (`check`).
pub fn serve_toml(base_url: &str, state: &std::path::Path) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
[institution]
code = "1311111111"
[upstream]
base_url = "{base_url}"
ca_cert = "certs/ca.pem"
client_cert = "certs/client.pem"
client_key = "certs/client.key"
[state]
dir = "{state}"
[log]
format = "json"
[[clients]]
name = "{TEST_CLIENT}"
scopes = ["check", "receipt_check"]
token_sha256 = "{token}"
"#,
        state = state.display(),
        token = pmh_gateway::auth::TokenHash::of(TEST_TOKEN).to_config(),
    )
}

/// Starts `pmh-gateway serve --config cfg` with `env` added to its environment; returns the
/// process and the address it listens on, read from its JSON log.
pub fn spawn_serve(cfg: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_pmh-gateway"))
        .args(["serve", "--config"])
        .arg(cfg)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(serve.stderr.take().unwrap());
    for _ in 0..200 {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("pmh-gateway listening") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let addr = v["fields"]["addr"].as_str().unwrap().to_owned();
            return (serve, addr);
        }
    }
    let _ = serve.kill();
    let _ = serve.wait();
    panic!("serve did not say where it listens");
}

/// Fails the test when a personal value is found in plain in any file of the state folder
/// `dir`. `secrets` are (kind, value) pairs; the message names the kind, the value and the
/// bytes around it.
///
/// What is not personal but is made of digits is blanked first, or a number turns up in it by
/// chance and fails a run now and then: keyed hashes and check ids (runs of at least 32 of
/// `0-9a-f-`) and timestamps (`2026-12-04T23:50:10.587238567+00:00`). A number of fewer than
/// five digits (a 4-digit 番号) identifies nobody alone and turns up in any binary file by
/// chance; it is not searched.
pub fn assert_nothing_personal_in(dir: &std::path::Path, secrets: &[(&str, String)]) {
    let mut raw = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        raw.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    assert!(raw.len() > 10_000, "the state folder holds a database");
    let raw = String::from_utf8_lossy(&blank_non_personal_digits(raw)).into_owned();
    for (kind, s) in secrets {
        if s.len() < 5 && s.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(at) = raw.find(s.as_str()) {
            let before: Vec<char> = raw[..at].chars().rev().take(40).collect();
            let before: String = before.into_iter().rev().collect();
            let after: String = raw[at + s.len()..].chars().take(40).collect();
            panic!("the state folder holds a {kind} ({s}) in plain: {before:?} {after:?}");
        }
    }
}

/// `bytes` with keyed hashes, UUIDs and RFC 3339 timestamps replaced by spaces.
pub fn blank_non_personal_digits(mut bytes: Vec<u8>) -> Vec<u8> {
    let hexish = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-';
    let stampish = |b: u8| b.is_ascii_digit() || b"-:.+TZ".contains(&b);
    let mut start = 0;
    while start < bytes.len() {
        let end = start + bytes[start..].iter().take_while(|&&b| hexish(b)).count();
        if end - start >= 32 {
            bytes[start..end].fill(b' ');
        }
        start = end + 1;
    }
    let mut start = 0;
    while start < bytes.len() {
        let end = start + bytes[start..].iter().take_while(|&&b| stampish(b)).count();
        let run = &bytes[start..end];
        if run.len() >= 19 && run.contains(&b'T') && run.contains(&b':') {
            bytes[start..end].fill(b' ');
        }
        start = end + 1;
    }
    bytes
}

#[test]
fn hashes_ids_and_timestamps_are_blanked_and_numbers_kept() {
    let hash = "0123456789abcdef".repeat(4);
    let text = format!(
        "x{hash}|2026-12-04T23:50:10.587238567+00:00|0b5c1a9e-2385-4f0e-9d1c-123456789abc|2012-03-15|7294523|20120315"
    );
    let out = String::from_utf8(blank_non_personal_digits(text.into_bytes())).unwrap();
    assert_eq!(
        out,
        format!(
            "x{}|{}|{}|2012-03-15|7294523|20120315",
            " ".repeat(64),
            " ".repeat(35),
            " ".repeat(36)
        )
    );
}

#[test]
#[should_panic(expected = "holds a recipient number (7294523) in plain")]
fn a_plain_number_in_the_state_folder_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0u8; 20_000];
    bytes.extend_from_slice(b"2026-12-04T23:50:10.587238567+00:00 7294523");
    std::fs::write(dir.path().join("state.db"), bytes).unwrap();
    assert_nothing_personal_in(dir.path(), &[("recipient number", "7294523".into())]);
}

/// One PostgreSQL database and one secret, and in-process gateways on them: what replicas
/// share. `None` (the test skips, or fails under `PMH_GATEWAY_REQUIRE_POSTGRES`) without
/// PostgreSQL.
pub struct SharedDatabase {
    _cluster: sandbox::postgres::Cluster,
    pub db: String,
    _dir: tempfile::TempDir,
    pub hasher: Arc<pmh_gateway::store::Hasher>,
}

impl SharedDatabase {
    pub async fn start_or_skip(test: &str) -> Option<Self> {
        let cluster = sandbox::postgres::Cluster::start_or_skip(test)?;
        let db = cluster.database().await.unwrap();
        pmh_gateway::tls::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let hasher = Arc::new(
            pmh_gateway::store::Hasher::open_or_create(&dir.path().join("audit.key")).unwrap(),
        );
        Some(Self {
            _cluster: cluster,
            db,
            _dir: dir,
            hasher,
        })
    }

    /// A new store (`pool` connections) on the database.
    pub async fn store(&self, pool: usize) -> pmh_gateway::store::PostgresStore {
        pmh_gateway::store::PostgresStore::open(&pmh_gateway::store::PostgresConfig {
            url: self.db.clone(),
            ca_pem: None,
            pool_size: pool,
        })
        .await
        .unwrap()
    }

    /// An in-process gateway on the database (a replica, or the same one restarted).
    pub async fn gateway(&self) -> AppState {
        let p = in_process();
        pmh_gateway::app::state_with_store(
            &p.config,
            p.upstream.clone(),
            p.clock.clone(),
            Arc::new(self.store(4).await),
            self.hasher.clone(),
        )
        .unwrap()
    }
}

/// A request to the in-process router as `token`, with a JSON body when one is given: the
/// status, headers and body of the answer.
pub async fn request_as(
    token: &str,
    app: &axum::Router,
    method: axum::http::Method,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use axum::http::header;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(body.map_or(axum::body::Body::empty(), |b| {
            axum::body::Body::from(b.to_string())
        }))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

/// The findings of a receipt check's report (`GET /v1/receipt-checks/{id}`): (レセプト番号,
/// code), sorted.
pub fn report_findings(report: &serde_json::Value) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = report["receipts_to_review"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let n = r["number"].as_u64().unwrap();
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| (n, f["code"].as_str().unwrap().to_owned()))
        })
        .collect();
    out.sort();
    out
}
