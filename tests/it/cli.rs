//! The command-line interface, run as a real process.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pmh-gateway"))
}

#[test]
fn check_number_says_valid_or_which_digit_was_expected() {
    let out = bin()
        .args(["check-number", "10131142", "54016027", "88138243"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.contains(": valid")).count(),
        3,
        "{text}"
    );
    assert!(text.contains("マル乳"), "{text}");

    let out = bin()
        .args(["check-number", "54136016", "1234566"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("54136016: invalid payer number (公費負担者番号): check digit should be 5"),
        "{text}"
    );
    assert!(text.contains("1234566: valid recipient number"), "{text}");

    let out = bin().args(["check-number", "12345"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn serve_names_the_missing_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gateway.toml");
    std::fs::write(
        &cfg,
        r#"
[institution]
code = "1311111111"
[upstream]
base_url = "https://localhost:8443"
ca_cert = "missing-ca.pem"
client_cert = "client.pem"
client_key = "client.key"
"#,
    )
    .unwrap();
    let err = serve_refuses(&cfg);
    assert!(
        err.contains("upstream.ca_cert") && err.contains("missing-ca.pem"),
        "{err}"
    );

    std::fs::write(&cfg, "[institution]\ncode = \"1311111111\"\nsurprise = 1\n").unwrap();
    let err = serve_refuses(&cfg);
    assert!(err.contains("unknown field `surprise`"), "{err}");
}

/// Runs `serve --config cfg`, expects the configuration error exit (2), and gives its stderr.
fn serve_refuses(cfg: &std::path::Path) -> String {
    let out = bin().args(["serve", "--config"]).arg(cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn help_explains_every_subcommand() {
    let out = bin().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in ["serve", "sandbox", "demo", "check-number"] {
        assert!(text.contains(sub), "{text}");
    }
}

/// Reads lines from `r` until one contains `needle`; returns that line.
fn wait_for_line(r: &mut impl std::io::BufRead, needle: &str) -> String {
    let mut line = String::new();
    for _ in 0..200 {
        line.clear();
        if r.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains(needle) {
            return line;
        }
    }
    panic!("no line containing {needle:?}");
}

/// A child process killed when the test ends, however it ends (a failed assertion must not
/// leave a server holding the test's output open).
/// The lines of a terminal-mode gateway whose オン資 folder is `dir/onshi` (made here, with
/// `req/` and `res/`): no PMH, no certificates of its own.
fn terminal_toml(dir: &std::path::Path) -> String {
    for sub in ["onshi/req", "onshi/res"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    crate::common::TERMINAL_TOML.replace("/nonexistent", "onshi")
}

/// `pmh-gateway healthcheck` for the gateway of `cfg`, listening on `addr`.
fn healthcheck(cfg: &std::path::Path, addr: &str) -> std::process::Output {
    bin()
        .args(["healthcheck", "--config"])
        .arg(cfg)
        .env("PMH_GATEWAY_LISTEN", addr)
        .output()
        .unwrap()
}

struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap()
}

#[tokio::test]
async fn serve_uses_the_certificates_a_separate_sandbox_wrote_and_no_proxy_from_the_environment() {
    use crate::common::TEST_TOKEN;
    use std::io::BufReader;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let sandbox = bin()
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--admin-port",
            "0",
            "--cert-dir",
        ])
        .arg(&certs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sandbox = Reaped(sandbox);
    let mut out = BufReader::new(sandbox.0.stdout.take().unwrap());
    let line = wait_for_line(&mut out, "sandbox listening on ");
    let base_url = line.split_whitespace().nth(3).unwrap().to_owned();
    for f in ["ca.pem", "client.pem", "client.key"] {
        assert!(certs.join(f).exists(), "{f}");
    }

    let cfg = dir.path().join("gateway.toml");
    std::fs::write(
        &cfg,
        crate::common::serve_toml(&base_url, &dir.path().join("state")),
    )
    .unwrap();
    // A proxy in the environment (a dead one) is never used: only a configured one is.
    let dead_proxy = "http://127.0.0.1:9";
    let (serve, addr) = crate::common::spawn_serve(
        &cfg,
        &[
            ("HTTPS_PROXY", dead_proxy),
            ("https_proxy", dead_proxy),
            ("ALL_PROXY", dead_proxy),
            ("all_proxy", dead_proxy),
        ],
    );
    let mut serve = Reaped(serve);
    // Transparent huge pages are off for the process (the kernel says so where it tells).
    let status = std::fs::read_to_string(format!("/proc/{}/status", serve.0.id())).unwrap();
    if let Some(thp) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
        assert_eq!(thp.split_whitespace().nth(1), Some("0"), "{thp}");
    }

    let r = crate::common::http()
        .post(format!("http://{addr}/v1/subsidy-checks"))
        .json(&serde_json::json!({"insured": {"insurer_number": "06139999", "number": "1", "birthdate": "1999-09-09"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["source"].as_str()),
        (Some("none_found"), Some("upstream"))
    );

    // The month-end check from the command line: the sandbox's UKE file of last month (the same
    // population: seed, size and day are the defaults of both), through this gateway.
    let uke = dir.path().join("month.uke");
    let wrote = bin()
        .args(["sandbox", "--uke-receipts", "60", "--uke-out"])
        .arg(&uke)
        .output()
        .unwrap();
    assert!(wrote.status.success());
    let planted: Vec<(u64, String)> = String::from_utf8(wrote.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("receipt "))
        .map(|l| {
            let (n, code) = l.split_once(": ").unwrap();
            (n.parse().unwrap(), code.to_owned())
        })
        .collect();
    let receipts = |format: &str, token: Option<&str>| {
        let mut c = bin();
        c.args(["receipts", "check"])
            .arg(&uke)
            .arg("--config")
            .arg(&cfg)
            .args(["--format", format])
            .env("PMH_GATEWAY_LISTEN", &addr)
            .env_remove("PMH_GATEWAY_TOKEN");
        if let Some(t) = token {
            c.env("PMH_GATEWAY_TOKEN", t);
        }
        c.output().unwrap()
    };
    let out = receipts("json", Some(TEST_TOKEN));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("60/60 患者"));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = crate::common::report_findings(&report);
    let mut planted = planted;
    planted.sort();
    assert_eq!(found, planted);
    let text = receipts("text", Some(TEST_TOKEN));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("月次点検 "), "{text}");
    assert!(
        text.contains(&format!("レセプト {}（", planted[0].0)),
        "{text}"
    );
    let csv = String::from_utf8(receipts("csv", Some(TEST_TOKEN)).stdout).unwrap();
    assert!(csv.starts_with("receipt,re_line,name,"), "{csv}");
    let no_token = receipts("text", None);
    assert_eq!(no_token.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("PMH_GATEWAY_TOKEN"));

    let status = terminate(&mut serve.0);
    assert!(status.success(), "graceful shutdown on SIGTERM: {status:?}");
    assert!(terminate(&mut sandbox.0).success());
}

/// `healthcheck` asks the gateway its configuration describes, in plain HTTP and over TLS
/// trusting only the configured certificate; it fails when nothing answers.
#[test]
fn healthcheck_asks_the_gateway_of_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let ca = pmh_pki::LocalCa::create("test CA").unwrap();
    let server = ca.server(&["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("server.pem"), &server.cert_pem).unwrap();
    std::fs::write(dir.path().join("server.key"), &server.key_pem).unwrap();
    let other = ca.server(&["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("other.pem"), &other.cert_pem).unwrap();
    for tls in [false, true] {
        let tls_lines = if tls {
            "tls_cert = \"server.pem\"\ntls_key = \"server.key\"\n"
        } else {
            ""
        };
        let cfg = dir.path().join(format!("gateway-{tls}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\n{tls_lines}[store]\ndir = \"state-{tls}\"\n[log]\nformat = \"json\"\n{}",
                terminal_toml(dir.path())
            ),
        )
        .unwrap();
        let (serve, addr) = crate::common::spawn_serve(&cfg, &[]);
        let mut serve = Reaped(serve);
        let out = healthcheck(&cfg, &addr);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tls {tls}: {text}");
        assert!(text.contains("/healthz 200"), "{text}");
        if tls {
            // A server with another certificate is not the one configured.
            let pinned_other = dir.path().join("pinned-other.toml");
            std::fs::write(
                &pinned_other,
                std::fs::read_to_string(&cfg)
                    .unwrap()
                    .replace("tls_cert = \"server.pem\"", "tls_cert = \"other.pem\""),
            )
            .unwrap();
            let out = healthcheck(&pinned_other, &addr);
            assert_eq!(out.status.code(), Some(1));
            let text = String::from_utf8_lossy(&out.stderr);
            assert!(text.contains("not the configured one"), "{text}");
        }
        assert!(terminate(&mut serve.0).success());
        let out = healthcheck(&cfg, &addr);
        assert_eq!(out.status.code(), Some(1), "nothing listens any more");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot connect"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn masters_check_is_clean_on_the_shipped_tables_and_rejects_a_broken_copy() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/masters");
    let out = bin().args(["masters", "check", shipped]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    for f in pmh_gateway::masters::FILES {
        std::fs::copy(format!("{shipped}/{f}"), dir.path().join(f)).unwrap();
    }
    let local = dir.path().join("local_programmes.csv");
    let text = std::fs::read_to_string(&local)
        .unwrap()
        .replace("88131248,", "88131249,");
    std::fs::write(&local, text).unwrap();
    let out = bin()
        .args(["masters", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "local_programmes.csv:14: payer_number 88131249: check digit should be 8, found 9"
        ),
        "{text}"
    );
}

#[test]
fn quote_prints_the_charge_and_why() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/charges/inpatient-jiritsu-shien.json"
    );
    let out = bin().args(["quote", fixture]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // The sixth worked example: ウ on 600,000 = 80,100 + 3,330.
    assert!(text.starts_with("Window charge: 83,430円"), "{text}");
    assert!(
        text.contains("80,100円 + (600,000円 − 267,000円) × 1% = 83,430円"),
        "{text}"
    );
    assert!(
        text.contains("負担金額 20,000円, 公費給付対象入院一部負担金 60,000円"),
        "{text}"
    );
    assert!(
        !text.contains("7654320"),
        "no recipient number in the output: {text}"
    );
    let out = bin().args(["quote", fixture, "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["window_charge"], 83430);
    // A file that cannot be quoted: the field and why, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"subsidies":[],"insurance":{"kind":"health_insurance","share_percent":30},"visit":{"date":"2026-04-01","parts":[{"points":-1}]}}"#,
    )
    .unwrap();
    let out = bin().arg("quote").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("visit.parts[0].points: must not be negative"),
        "{err}"
    );
}

/// `pmh-gateway audit` opens the store exactly as `serve` does — `store.dir` and
/// `store.key_file` of the configuration — and says so when the secret is missing or is not
/// the database's, instead of answering "no records" from a fresh store of its own.
#[test]
fn audit_searches_the_store_serve_writes_and_refuses_a_wrong_secret() {
    let dir = tempfile::tempdir().unwrap();
    let write_cfg = |name: &str, key_file: &str| {
        let cfg = dir.path().join(name);
        std::fs::write(
            &cfg,
            format!(
                "[store]\ndir = \"state\"\nkey_file = \"{key_file}\"\n{}",
                terminal_toml(dir.path())
            ),
        )
        .unwrap();
        cfg
    };
    let cfg = write_cfg("gateway.toml", "secrets/audit.key");
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    // What `serve` writes: a patient's check, under the secret of store.key_file.
    let insured = pmh_gateway::domain::InsuredIdentity::new(
        "06132013",
        Some("12"),
        "345",
        Some("01"),
        chrono::NaiveDate::from_ymd_opt(1980, 4, 1).unwrap(),
    )
    .unwrap();
    let store_cfg = pmh_gateway::config::load(&cfg).unwrap().store;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (store, hasher) =
            pmh_gateway::app::open_store(&store_cfg, pmh_gateway::app::StoreUse::Serve)
                .await
                .unwrap();
        let mut rec = pmh_gateway::store::AuditRecord::new(
            chrono::Utc::now(),
            "recept-1",
            pmh_gateway::store::Operation::Check,
        );
        rec.patient = Some(hasher.patient(&insured));
        store.append(rec).await.unwrap();
        store.close().await;
    });
    let audit = |cfg: &std::path::Path| {
        bin()
            .args(["audit", "--config"])
            .arg(cfg)
            .args([
                "--insurer-number",
                "06132013",
                "--symbol",
                "12",
                "--number",
                "345",
                "--branch",
                "01",
                "--birthdate",
                "1980-04-01",
                "--format",
                "jsonl",
            ])
            .output()
            .unwrap()
    };
    let out = audit(&cfg);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("recept-1"), "{text}");
    assert!(
        !dir.path().join("state/audit.key").exists(),
        "no secret of its own beside the database"
    );
    // A missing secret, another secret, a folder without a store: errors, never "no records".
    std::fs::write(dir.path().join("secrets/other.key"), [7u8; 32]).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("secrets/other.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    for (cfg, says) in [
        (write_cfg("missing.toml", "secrets/none.key"), "none.key"),
        (
            write_cfg("other.toml", "secrets/other.key"),
            "not the one this database was written with",
        ),
    ] {
        let out = audit(&cfg);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cfg:?}");
        assert!(err.contains(says), "{cfg:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    let empty = dir.path().join("empty.toml");
    std::fs::write(
        &empty,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("dir = \"state\"", "dir = \"elsewhere\""),
    )
    .unwrap();
    let out = audit(&empty);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no store at"),
        "{err}"
    );
    assert!(!dir.path().join("elsewhere/audit.key").exists());
}

#[tokio::test]
async fn the_install_path_pki_init_one_client_serve_with_tls_healthcheck_and_a_call() {
    // README's installation path as commands: a CA and the server's certificate, one client
    // with a token and a certificate made by one command (one configuration block), serve with
    // TLS, healthcheck, and calls with the token and with the certificate.
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let run = |args: &[&str]| {
        let out = bin().args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let init = run(&[
        "pki",
        "init",
        "--dir",
        pki.to_str().unwrap(),
        "--name",
        "gateway.clinic.local",
        "--client",
        "rececon",
    ]);
    assert!(
        !init.contains("[[clients]]"),
        "pki init registers no client itself: {init}"
    );
    assert!(
        init.contains("clients add rececon --scope check --certificate-dir"),
        "{init}"
    );
    let add = run(&[
        "clients",
        "add",
        "rececon",
        "--scope",
        "check",
        "--certificate-dir",
        pki.to_str().unwrap(),
    ]);
    assert_eq!(add.matches("[[clients]]").count(), 1, "{add}");
    assert!(
        add.contains("token_sha256") && add.contains("certificate_name = \"rececon\""),
        "{add}"
    );
    let token = add
        .split_whitespace()
        .find(|w| w.starts_with("pmhg_"))
        .unwrap()
        .to_owned();
    // The server's certificate names localhost as well, for healthcheck.
    let server_pem = std::fs::read_to_string(pki.join("server.pem")).unwrap();
    let server_der = rustls_pki_types::pem::PemObject::from_pem_slice(server_pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap();
    assert!(
        server_der.windows(9).any(|w| w == b"localhost"),
        "the server certificate names localhost"
    );

    // The configuration: pki init's [server] lines (listen on loopback for the test) and the
    // one [[clients]] block.
    let server_block: String = init
        .lines()
        .skip_while(|l| *l != "[server]")
        .take_while(|l| !l.is_empty())
        .map(|l| {
            if l.starts_with("listen") {
                "listen = \"127.0.0.1:0\"".to_owned()
            } else if l.starts_with("allowed_hosts") {
                "allowed_hosts = [\"gateway.clinic.local\", \"localhost\"]".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let clients_block: String = add
        .lines()
        .skip_while(|l| *l != "[[clients]]")
        .collect::<Vec<_>>()
        .join("\n");
    let cfg = dir.path().join("gateway.toml");
    std::fs::write(
        &cfg,
        format!(
            "{server_block}\n[store]\ndir = \"state\"\n[log]\nformat = \"json\"\n{}\n{clients_block}\n",
            terminal_toml(dir.path())
        ),
    )
    .unwrap();
    let (serve, addr) = crate::common::spawn_serve(&cfg, &[]);
    let _serve = Reaped(serve);
    let out = healthcheck(&cfg, &addr);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Calls over TLS to the name in the certificate: with the token, and with the client
    // certificate alone.
    pmh_gateway::tls::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.join("ca.pem")).unwrap()).unwrap();
    let port = addr.rsplit_once(':').unwrap().1;
    let url = format!("https://gateway.clinic.local:{port}/v1/masters");
    let resolve = |b: reqwest::ClientBuilder| {
        b.resolve("gateway.clinic.local", addr.parse().unwrap())
            .tls_certs_only([ca.clone()])
    };
    let by_token = resolve(reqwest::Client::builder()).build().unwrap();
    let r = by_token.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut identity = std::fs::read(pki.join("rececon.pem")).unwrap();
    identity.extend(std::fs::read(pki.join("rececon.key")).unwrap());
    let by_certificate = resolve(reqwest::Client::builder())
        .identity(reqwest::Identity::from_pem(&identity).unwrap())
        .build()
        .unwrap();
    let r = by_certificate.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[cfg(unix)]
#[test]
fn pki_init_gives_the_service_group_what_it_reads_and_keeps_the_ca_key_private() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    // A group this process may give files to: its own.
    let gid = std::fs::metadata(dir.path()).unwrap().gid();
    let pki = dir.path().join("pki");
    let out = bin()
        .args(["pki", "init", "--dir"])
        .arg(&pki)
        .args([
            "--name",
            "gateway.clinic.local",
            "--client",
            "rececon",
            "--group",
        ])
        .arg(gid.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |f: &str| {
        let m = std::fs::metadata(pki.join(f)).unwrap();
        (m.permissions().mode() & 0o777, m.gid())
    };
    assert_eq!(mode(""), (0o750, gid));
    assert_eq!(mode("server.key"), (0o640, gid));
    assert_eq!(mode("server.pem"), (0o644, gid));
    assert_eq!(mode("ca.pem"), (0o644, gid));
    assert_eq!(mode("ca.key").0, 0o600, "the CA's key stays owner-only");
    assert_eq!(
        mode("rececon.key").0,
        0o600,
        "a client's key stays owner-only"
    );
    let out = bin()
        .args(["pki", "init", "--dir"])
        .arg(dir.path().join("other"))
        .args(["--name", "x", "--group", "no-such-group-here"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no group")
            || String::from_utf8_lossy(&out.stderr).contains("no group")
    );
}

/// `sandbox --uke-out`: the month's UKE file of the sandbox's population, the planted findings
/// listed; read back and checked, the file gives exactly those.
#[test]
fn the_sandbox_writes_a_months_uke_file_with_its_planted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2026-10.uke");
    let out = bin()
        .args([
            "sandbox",
            "--today",
            "2026-11-21",
            "--uke-month",
            "2026-10",
            "--uke-receipts",
            "120",
            "--uke-out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("120 receipts of 2026-10"), "{said}");
    let planted: Vec<(u32, String)> = said
        .lines()
        .filter_map(|l| l.trim().strip_prefix("receipt "))
        .map(|l| {
            let (n, code) = l.split_once(": ").unwrap();
            (n.parse().unwrap(), code.to_owned())
        })
        .collect();
    assert!(planted.len() >= 7, "{said}");
    let file = pmh_gateway::uke::read(&std::fs::read(&path).unwrap());
    assert!(file.problems.is_empty() && file.receipts.len() == 120);
    let masters = pmh_gateway::masters::embedded();
    let found: Vec<(u32, String)> = pmh_gateway::claims::check(
        &file.receipts,
        file.institution.as_ref().unwrap().table,
        &masters,
    )
    .into_iter()
    .map(|f| (f.receipt, f.code.as_str().to_owned()))
    .collect();
    // The receipts' own mistakes here; those only PMH shows in tests/it/receipt_checks.rs.
    let own: Vec<(u32, String)> = planted
        .iter()
        .filter(|(_, code)| {
            pmh_gateway::claims::FindingCode::ALL
                .iter()
                .any(|c| c.as_str() == code && !c.needs_pmh_or_ledger())
        })
        .cloned()
        .collect();
    assert_eq!(found, own);
    let bad = bin()
        .args(["sandbox", "--uke-month", "2026-1", "--uke-out"])
        .arg(dir.path().join("x.uke"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--uke-month: must be YYYY-MM"));
}
