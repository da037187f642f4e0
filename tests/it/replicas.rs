//! Two gateway processes on one `face/` folder and one PostgreSQL database: the watcher runs on
//! the lease holder only, a burst of check-ins is processed exactly once, and when the holder is
//! killed mid-burst the other takes the lease over and finishes, with nothing lost or doubled and
//! one audit record per access from both.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use pmh_gateway::sandbox::postgres::Cluster;
use pmh_gateway::sandbox::terminal::check_in_xml;
use pmh_gateway::store::{Audit, AuditQuery, Operation, PostgresConfig, PostgresStore, Store};

use crate::common::*;

const OPS_CLIENT: &str = "ops";
const OPS_TOKEN: &str = "pmhg_ops_token_0123456789abcdef0123456789abcdef";
const LEASE_TTL_MS: u64 = 1500;
const BURST: usize = 500;
/// Written before the holder is killed; the rest after.
const FIRST_PART: usize = 300;

/// The configuration of one replica: the shared database (its URL in the environment), the
/// shared secret and `face/`, its own state folder; the tests' check client and an operator.
fn replica_toml(base_url: &str, dir: &Path, name: &str) -> String {
    let hash = |t: &str| pmh_gateway::auth::TokenHash::of(t).to_config();
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
[store]
dir = "{name}-state"
key_file = "audit.key"
lease_ttl_ms = {LEASE_TTL_MS}
pool_size = 4
[onshi]
folder = "{onshi}"
rescan_interval_ms = 200
settle_ms = 100
[log]
format = "json"
[[clients]]
name = "{TEST_CLIENT}"
scopes = ["check"]
token_sha256 = "{check}"
[[clients]]
name = "{OPS_CLIENT}"
scopes = ["admin"]
token_sha256 = "{ops}"
"#,
        onshi = dir.join("onshi").display(),
        check = hash(TEST_TOKEN),
        ops = hash(OPS_TOKEN),
    )
}

struct Replica {
    child: Child,
    addr: String,
}

impl Replica {
    fn start(dir: &Path, name: &str, base_url: &str, db: &str) -> Self {
        let cfg = dir.join(format!("{name}.toml"));
        std::fs::write(&cfg, replica_toml(base_url, dir, name)).unwrap();
        let (child, addr) = spawn_serve(&cfg, &[("PMH_GATEWAY_STORE_URL", db)]);
        Self { child, addr }
    }

    /// `/readyz` as the operator sees it.
    async fn ready(&self, ops: &reqwest::Client) -> serde_json::Value {
        ops.get(format!("http://{}/readyz", self.addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn holds_lease(&self, ops: &reqwest::Client) -> bool {
        self.ready(ops).await["lease"]["held"] == true
    }

    async fn metric(&self, ops: &reqwest::Client, name: &str) -> f64 {
        let text = ops
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn ops_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {OPS_TOKEN}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The `.xml` files directly in `dir`.
fn xml_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".xml"))
                .collect()
        })
        .unwrap_or_default()
}

fn file_name(n: usize) -> String {
    format!("OQSsiquc01res_face_{n:06}.xml")
}

async fn wait_for(what: &str, secs: u64, mut cond: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Check-in files `range` written into `face` as the terminal writes them (a temporary name,
/// then renamed in).
fn write_check_ins(
    face: &Path,
    people: &[pmh_gateway::sandbox::Persona],
    range: std::ops::Range<usize>,
) {
    let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());
    for n in range {
        let p = &people[n % people.len()];
        let bytes = check_in_xml(p, n as u64, today, "1311111111", &format!("{n:012}")).unwrap();
        let tmp = face.join(format!(".{n}.tmp"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, face.join(file_name(n))).unwrap();
    }
}

/// The sandbox (PMH), and a folder with its certificates, the secret every replica shares (made
/// once by the operator) and an empty `onshi/face`.
async fn replicas_folder() -> (
    pmh_gateway::sandbox::SandboxHandle,
    tempfile::TempDir,
    PathBuf,
) {
    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    sandbox.pki.write_to(&dir.path().join("certs")).unwrap();
    pmh_gateway::store::Hasher::open_or_create(&dir.path().join("audit.key")).unwrap();
    let face: PathBuf = dir.path().join("onshi/face");
    std::fs::create_dir_all(&face).unwrap();
    (sandbox, dir, face)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn two_replicas_process_a_burst_once_and_the_survivor_takes_over_from_a_killed_holder() {
    let Some(cluster) = Cluster::start_or_skip("two replicas") else {
        return;
    };
    let db = cluster.database().await.unwrap();
    let (sandbox, dir, face) = replicas_folder().await;
    let processed = face.join("processed");
    let people = sandbox.population().personas.clone();
    let ops = ops_client();
    let checks = http();

    // A starts first and takes the lease; B starts and waits.
    let mut a = Replica::start(dir.path(), "a", &sandbox.base_url(), &db);
    wait_for("A to take the lease", 30, async || {
        a.holds_lease(&ops).await
    })
    .await;
    let mut b = Replica::start(dir.path(), "b", &sandbox.base_url(), &db);
    // B answers before its first look at the lease (`checked_at` null until then).
    wait_for("B to look at the lease", 30, async || {
        !b.ready(&ops).await["lease"]["checked_at"].is_null()
    })
    .await;
    let b_ready = b.ready(&ops).await;
    assert_eq!(b_ready["lease"]["mode"], "shared", "{b_ready}");
    assert_eq!(b_ready["lease"]["held"], false, "{b_ready}");
    assert_eq!(
        b_ready["lease"]["holder"],
        a.ready(&ops).await["lease"]["replica"],
        "B sees A holding it: {b_ready}"
    );

    // Accesses through both replicas, each to be audited once.
    let mut answered = 0;
    let mut check = async |r: &Replica, n: usize| {
        let resp = checks
            .post(format!("http://{}/v1/subsidy-checks", r.addr))
            .json(&body_for(&people[(n * 7) % people.len()]))
            .send()
            .await
            .unwrap();
        assert!(resp.status() == 200 || resp.status() == 503);
        let _ = resp.bytes().await.unwrap();
        answered += 1;
    };
    for n in 0..10 {
        check(&a, n).await;
        check(&b, n).await;
    }

    // The burst's first part; the holder is killed while it works through it.
    write_check_ins(&face, &people, 0..FIRST_PART);
    wait_for("A to process some files", 60, async || {
        xml_files(&processed).len() >= 50
    })
    .await;
    a.kill();
    let killed = Instant::now();
    let done_by_a = xml_files(&processed).len();
    wait_for("B to take the lease", 30, async || {
        b.holds_lease(&ops).await
    })
    .await;
    let hand_over = killed.elapsed();
    write_check_ins(&face, &people, FIRST_PART..BURST);
    for n in 10..20 {
        check(&b, n).await;
    }
    wait_for("every file processed", 120, async || {
        xml_files(&processed).len() >= BURST && xml_files(&face).is_empty()
    })
    .await;

    // Every file once in processed/ under its own name: none lost, none moved twice.
    let expected: BTreeSet<String> = (0..BURST).map(file_name).collect();
    assert_eq!(xml_files(&processed), expected);
    assert!(xml_files(&dir.path().join("onshi/face/rejected")).is_empty());
    let repeated = b.metric(&ops, "checkin_files_repeated_total").await;
    let b_ready = b.ready(&ops).await;
    eprintln!(
        "two replicas: lease ttl {LEASE_TTL_MS} ms; A killed after {done_by_a} of {FIRST_PART} files; \
         B held the lease {} ms later; {BURST} files processed, {repeated} found already processed by B",
        hand_over.as_millis()
    );
    assert!(b_ready["lease"]["term"].as_i64().unwrap() >= 2, "{b_ready}");
    b.kill();
    sandbox.shutdown().await;

    // The database: one marker per file, from both replicas; one prefetch record per file; one
    // record per check answered by either.
    let store = PostgresStore::open(&PostgresConfig {
        url: db.clone(),
        ca_pem: None,
        pool_size: 2,
    })
    .await
    .unwrap();
    let info = store.info().await.unwrap();
    assert_eq!(info.checkin_files, BURST as u64);
    let all = |operation, client: &str| AuditQuery {
        operation: Some(operation),
        client: Some(client.to_owned()),
        limit: 10_000,
        ..Default::default()
    };
    let prefetches = store
        .search(all(
            Operation::Prefetch,
            pmh_gateway::checkin::WATCHER_CLIENT,
        ))
        .await
        .unwrap();
    assert_eq!(prefetches.len(), BURST, "one prefetch record per file");
    let check_ids: BTreeSet<_> = prefetches.iter().map(|r| r.check_id.clone()).collect();
    assert_eq!(check_ids.len(), BURST, "each from its own prefetch");
    let checked = store
        .search(all(Operation::Check, TEST_CLIENT))
        .await
        .unwrap();
    assert_eq!(checked.len(), answered, "one record per check, from both");
    let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(conn);
    let holders = client
        .query_one("SELECT count(DISTINCT holder) FROM checkin_files", &[])
        .await
        .unwrap();
    assert_eq!(holders.get::<_, i64>(0), 2, "both replicas processed files");
    drop(client);
    let _ = task.await;
}

/// README's backup of a replicated store: `pg_dump -Fc`, `pg_restore` into an empty database;
/// the restored store opens with its secret (the audit found by patient as before) and refuses
/// another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_dump_opens_with_its_secret_and_refuses_another() {
    use pmh_gateway::domain::InsuredIdentity;
    use pmh_gateway::store::{AuditRecord, StoreConfig};
    let Some(cluster) = Cluster::start_or_skip("restored dump") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = |url: &str, key: &str| StoreConfig {
        postgres: Some(PostgresConfig {
            url: url.to_owned(),
            ca_pem: None,
            pool_size: 2,
        }),
        key_file: Some(dir.path().join(key)),
        ..StoreConfig::local(dir.path().join("state"))
    };
    for key in ["audit.key", "other.key"] {
        pmh_gateway::store::Hasher::open_or_create(&dir.path().join(key)).unwrap();
    }
    let original = cluster.database().await.unwrap();
    let name = |url: &str| {
        url.rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned()
    };
    let patient = InsuredIdentity::new(
        "06139999",
        None,
        "1",
        None,
        chrono::NaiveDate::from_ymd_opt(1999, 9, 9).unwrap(),
    )
    .unwrap();
    {
        let (store, hasher) = pmh_gateway::app::open_store(
            &config(&original, "audit.key"),
            pmh_gateway::app::StoreUse::Serve,
        )
        .await
        .unwrap();
        let mut rec = AuditRecord::new(chrono::Utc::now(), TEST_CLIENT, Operation::Check);
        rec.patient = Some(hasher.patient(&patient));
        store.append(rec).await.unwrap();
    }
    let dump = cluster.dump(&name(&original), "backup.dump").unwrap();
    assert!(std::fs::metadata(&dump).unwrap().len() > 0);
    let restored = cluster.database().await.unwrap();
    cluster.restore("backup.dump", &name(&restored)).unwrap();

    let (store, hasher) = pmh_gateway::app::open_store(
        &config(&restored, "audit.key"),
        pmh_gateway::app::StoreUse::Serve,
    )
    .await
    .unwrap();
    let found = store
        .search(AuditQuery {
            patient: Some(hasher.patient(&patient)),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the restored audit, found by patient");
    let refused = pmh_gateway::app::open_store(
        &config(&restored, "other.key"),
        pmh_gateway::app::StoreUse::Serve,
    )
    .await;
    let err = refused
        .err()
        .expect("another secret is refused")
        .to_string();
    assert!(err.contains("other.key"), "{err}");
}

/// Two gateways on one PostgreSQL database committing visits against one shared cap at the
/// same moment: each commit is written only on the month it was computed on (the card's
/// commits serialised across replicas), so the month's total is the cap, never more. 精神通院
/// (cap 5,000), sixteen visits of 1,000 yen's share each, alternately through A and B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_committing_at_once_never_spend_one_cap_twice() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use serde_json::json;

    let Some(shared) = SharedDatabase::start_or_skip("two gateways, one cap").await else {
        return;
    };
    let hasher = shared.hasher.clone();
    let gateway = || shared.gateway();
    let (a, b) = (gateway().await, gateway().await);
    let commit = |st: pmh_gateway::api::AppState, i: usize| async move {
        let body = json!({
            "subsidies": [{"payer_number": "21136015", "recipient_number": "1234566", "income_class": "低所得2"}],
            "insurance": {"kind": "health_insurance", "share_percent": 30},
            "visit": {"visit_id": format!("R{i}"), "date": today().to_string(),
                "parts": [{"points": 1000, "subsidies": [1]}]}});
        let req = Request::post("/v1/charges")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        call_as(&st, TEST_TOKEN, req).await
    };
    let tasks: Vec<_> = (0..16)
        .map(|i| tokio::spawn(commit(if i % 2 == 0 { a.clone() } else { b.clone() }, i)))
        .collect();
    let mut charged = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert_eq!(s, StatusCode::CREATED, "{v}");
        charged += v["window_charge"].as_u64().unwrap();
    }
    assert_eq!(charged, 5_000, "the windows add up to the cap");
    let store = shared.store(1).await;
    let card = hasher.card(
        &pmh_gateway::domain::PayerNumber::parse("21136015").unwrap(),
        "1234566",
    );
    let rows = pmh_gateway::store::Charges::ledger(&store, card, today())
        .await
        .unwrap();
    let total: u64 = rows.iter().map(|r| r.amount.0).sum();
    assert_eq!(total, 5_000, "the ledger's month is the cap");
}

/// A replica's configuration with the reception page's client (`counter`) added.
fn reception_replica(dir: &Path, name: &str, base_url: &str, db: &str) -> Replica {
    let cfg = dir.join(format!("{name}.toml"));
    let toml = replica_toml(base_url, dir, name)
        + &format!(
            "[[clients]]\nname = \"{RECEPTION_CLIENT}\"\nscopes = [\"reception\", \"charges\"]\ntoken_sha256 = \"{}\"\n",
            pmh_gateway::auth::TokenHash::of(RECEPTION_TOKEN).to_config()
        );
    std::fs::write(&cfg, toml).unwrap();
    let (child, addr) = spawn_serve(&cfg, &[("PMH_GATEWAY_STORE_URL", db)]);
    Replica { child, addr }
}

/// The screen sizes the page is checked at: the common clinic laptop, and the same at 200 %.
const SCREENS: [(&str, f64); 2] = [("1366x768", 1.0), ("1366x768-200pct", 2.0)];

/// Screenshots of the page as it is now at each of [`SCREENS`] (`name-<screen>.png`); the page
/// must not scroll sideways at either.
async fn at_every_screen(browser: &crate::webdriver::Browser, name: &str) {
    for (screen, zoom) in SCREENS {
        browser.view(1366, 768, zoom).await;
        assert!(
            !browser.overflows_sideways().await,
            "{name} scrolls sideways at {screen}"
        );
        browser.screenshot(&format!("{name}-{screen}.png")).await;
    }
    browser.view(1366, 768, 1.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn the_reception_page_works_across_two_replicas_and_their_restart() {
    // Two gateway processes on one PostgreSQL and one face/: the clerk signs in through A and
    // works through B; a check-in that A (the watcher) handles appears live on B's page; both
    // restart, and the session and the day's list are still there.
    let Some(cluster) = Cluster::start_or_skip("reception on two replicas") else {
        return;
    };
    let Some(browser) = crate::webdriver::Browser::start().await else {
        return;
    };
    let db = cluster.database().await.unwrap();
    let (sandbox, dir, face) = replicas_folder().await;
    let ops = ops_client();
    let people = sandbox.population().personas.clone();

    let mut a = reception_replica(dir.path(), "a", &sandbox.base_url(), &db);
    wait_for("A to take the lease", 30, async || {
        a.holds_lease(&ops).await
    })
    .await;
    let mut b = reception_replica(dir.path(), "b", &sandbox.base_url(), &db);
    wait_for("B to look at the lease", 30, async || {
        !b.ready(&ops).await["lease"]["checked_at"].is_null()
    })
    .await;
    assert_eq!(b.ready(&ops).await["lease"]["held"], false);

    // Signed in through A; B's page has the session (cookies are per host, not per port).
    let (on_a, on_b) = (format!("http://{}", a.addr), format!("http://{}", b.addr));
    browser.view(1366, 768, 1.0).await;
    crate::reception::sign_in_with_the_browser(&browser, &on_a).await;
    browser.goto(&format!("{on_b}/reception")).await;
    browser.wait("#rows", 10).await;
    browser
        .run(
            "window.__notReloaded = true; return 1;",
            serde_json::json!([]),
        )
        .await;

    // A check-in handled by A appears on B's page, live.
    // The n-th check-in of the day, of `p`.
    let land = |n: usize, p: &pmh_gateway::sandbox::Persona| {
        write_check_ins(&face, std::slice::from_ref(p), n..n + 1);
    };
    let multi = people
        .iter()
        .find(|p| p.tags.contains(&"showcase") && p.tags.contains(&"triple"))
        .unwrap();
    let reference = pmh_gateway::sandbox::terminal::reference_of(multi);
    let who = pmh_gateway::sandbox::terminal::name_of(multi);
    let landed = Instant::now();
    land(0, multi);
    let row_css = format!(r#"tr[data-ref="{reference}"].subsidies"#);
    let row = browser.wait(&row_css, 20).await;
    let to_other_replica = landed.elapsed();
    assert_eq!(
        browser
            .run(
                "return window.__notReloaded === true;",
                serde_json::json!([])
            )
            .await,
        true,
        "the row came without reloading B's page"
    );
    assert!(browser.text(&row).await.contains(&who.name));
    assert_eq!(
        a.metric(
            &ops,
            "pmh_gateway_checkin_files_processed_total{folder=\"face\"}"
        )
        .await,
        1.0,
        "A handled the file"
    );
    eprintln!(
        "reception on two replicas: a file in face/ to its row on the other replica's page: {} ms",
        to_other_replica.as_millis()
    );

    // A second person, on 生活保護 alone.
    let welfare = people
        .iter()
        .find(|p| {
            p.certificates.len() == 1
                && p.certificates[0]
                    .medical_subsidy_insurer_number
                    .starts_with("12")
                && p.tags
                    .iter()
                    .all(|t| !["expired", "not_yet_valid", "none"].contains(t))
        })
        .unwrap();
    let welfare_ref = pmh_gateway::sandbox::terminal::reference_of(welfare);
    land(1, welfare);
    browser
        .wait(&format!(r#"tr[data-ref="{welfare_ref}"].subsidies"#), 20)
        .await;

    // The filter box by kana, typed in hiragana: only that person's row stays.
    let kana = pmh_gateway::domain::PatientDetails::search_kana(&who.kana);
    let hiragana: String = kana
        .chars()
        .take(3)
        .map(|c| char::from_u32(c as u32 - 0x60).unwrap())
        .collect();
    browser
        .run(
            "const f = document.getElementById('filter'); f.value = arguments[0]; f.dispatchEvent(new Event('input')); return 1;",
            serde_json::json!([hiragana]),
        )
        .await;
    let shown = browser
        .run(
            "return Array.from(document.querySelectorAll('#rows tr')).filter(r => !r.hidden).map(r => r.dataset.ref);",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(
        shown,
        serde_json::json!([reference]),
        "filtered by {hiragana}"
    );
    at_every_screen(&browser, "replicas-list-filtered").await;

    // The patient, on B: the name, and a 管理票 amount through B's form.
    browser
        .goto(&format!("{on_b}/reception/patients/{reference}"))
        .await;
    let name = browser.wait("#person-name", 10).await;
    assert_eq!(browser.text(&name).await, who.name);
    let amount = browser.wait("form.entry input[name=amount]", 5).await;
    browser.type_into(&amount, "1200").await;
    let institution = browser.wait("form.entry input[name=institution]", 5).await;
    browser.type_into(&institution, "さくら薬局").await;
    browser
        .click(&browser.wait("form.entry button", 5).await)
        .await;
    browser.wait("table.kanrihyo", 10).await;
    at_every_screen(&browser, "replicas-patient").await;

    // Its 管理票 in print, one A4 page.
    browser
        .goto(&format!("{on_b}/reception/patients/{reference}/print"))
        .await;
    let sheet = browser.wait("article.print table.kanrihyo", 10).await;
    assert!(browser.text(&sheet).await.contains("さくら薬局"));
    browser.screenshot("replicas-kanrihyo-print.png").await;
    let pdf = browser.print_pdf().await;
    std::fs::write(
        crate::webdriver::artifacts().join("replicas-kanrihyo-print.pdf"),
        &pdf,
    )
    .unwrap();

    // 生活保護: nothing to pay, said once, not a rate beside a cap of 0.
    browser
        .goto(&format!("{on_b}/reception/patients/{welfare_ref}"))
        .await;
    let share = browser.wait("dd[data-field=share]", 10).await;
    assert_eq!(browser.text(&share).await, "自己負担なし");
    at_every_screen(&browser, "replicas-welfare-patient").await;

    // The health page, in Japanese.
    browser.goto(&format!("{on_b}/reception/health")).await;
    let health = browser.wait("table.health", 10).await;
    let text = browser.text(&health).await;
    for english in [
        "partial",
        "unreadable",
        "sqlite",
        "postgres",
        "open",
        "closed",
    ] {
        assert!(
            !text.contains(english),
            "{english} on the health page: {text}"
        );
    }
    assert!(
        text.contains("別のレプリカ"),
        "B says A watches the folder: {text}"
    );
    at_every_screen(&browser, "replicas-health").await;

    // Both restart: the session and the day's list are still there.
    a.kill();
    b.kill();
    let a2 = reception_replica(dir.path(), "a2", &sandbox.base_url(), &db);
    let b2 = reception_replica(dir.path(), "b2", &sandbox.base_url(), &db);
    for r in [&a2, &b2] {
        browser.goto(&format!("http://{}/reception", r.addr)).await;
        browser.wait(&row_css, 10).await;
        browser
            .wait(&format!(r#"tr[data-ref="{welfare_ref}"]"#), 5)
            .await;
    }
    let weight = browser.page_weight().await;
    eprintln!(
        "reception on two replicas: list of 2 rows, weight (navigation transfer, body; assets transfer, body): {weight}"
    );
    browser.quit().await;
    for mut r in [a2, b2] {
        r.kill();
    }
    sandbox.shutdown().await;
}
