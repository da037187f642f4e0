use super::*;
use crate::checkin::Disposal;
use crate::onshi::Charset;

const MINIMAL: &str = r#"
    [institution]
    code = "1311111111"
    [upstream]
    base_url = "https://localhost:8443"
    ca_cert = "ca.pem"
    client_cert = "client.pem"
    client_key = "client.key"
"#;

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let err = FileConfig::from_toml(&format!("{MINIMAL}\n[service]\ndeadline = 5")).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `deadline`"),
        "{err}"
    );
}

#[test]
fn environment_overrides_and_missing_certificates() {
    let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
    cfg.apply_env(|k| (k == "PMH_GATEWAY_UPSTREAM_CA_CERT").then(|| "/nonexistent/ca.pem".into()))
        .unwrap();
    assert_eq!(
        cfg.upstream.ca_cert,
        Some(PathBuf::from("/nonexistent/ca.pem"))
    );
    let err = cfg.resolve(Path::new("/tmp")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("upstream.ca_cert") && msg.contains("/nonexistent/ca.pem"),
        "{msg}"
    );
}

#[test]
fn bad_values_name_their_field() {
    let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
    cfg.institution.code = "123".into();
    let msg = cfg.resolve(Path::new("/tmp")).unwrap_err().to_string();
    assert!(msg.starts_with("institution.code"), "{msg}");
    let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
    cfg.upstream.base_url = Some("http://pmh".into());
    assert!(
        cfg.resolve(Path::new("/tmp"))
            .unwrap_err()
            .to_string()
            .contains("https://")
    );
    let mut cfg = FileConfig::from_toml(MINIMAL).unwrap();
    assert!(
        cfg.apply_env(|k| (k == "PMH_GATEWAY_LOG_FORMAT").then(|| "xml".into()))
            .is_err()
    );
}

#[test]
fn the_documented_example_parses_and_matches_the_defaults() {
    let cfg = FileConfig::from_toml(include_str!("../../deploy/gateway.example.toml")).unwrap();
    let d = ServiceSection::default();
    assert_eq!(cfg.service.deadline_ms, d.deadline_ms);
    assert_eq!(cfg.service.confirmed_max_age_secs, d.confirmed_max_age_secs);
    assert_eq!(
        cfg.service.none_found_max_age_secs,
        d.none_found_max_age_secs
    );
    assert_eq!(cfg.service.stale_max_age_secs, d.stale_max_age_secs);
    assert_eq!(cfg.service.breaker_threshold, d.breaker_threshold);
    assert_eq!(cfg.server.listen, DEFAULT_LISTEN);
    let (a, d) = (&cfg.audit, AuditSection::default());
    assert_eq!(
        (a.retention_days, a.answer_retention_hours),
        (d.retention_days, d.answer_retention_hours)
    );
    let (a, d) = (&cfg.auth, AuthSection::default());
    assert_eq!(
        (a.max_failures, a.failure_window_secs, a.block_secs),
        (d.max_failures, d.failure_window_secs, d.block_secs)
    );
    assert_eq!(cfg.store.dir, StateSection::default().dir);
    let o = OnshiSection::default();
    assert_eq!(
        (
            cfg.onshi.rescan_interval_ms,
            cfg.onshi.settle_ms,
            cfg.onshi.incomplete_grace_ms,
            cfg.onshi.concurrency,
            cfg.onshi.poll_ms,
            cfg.onshi.use_events,
            cfg.onshi.watch_face,
            cfg.onshi.request_encoding,
        ),
        (
            o.rescan_interval_ms,
            o.settle_ms,
            o.incomplete_grace_ms,
            o.concurrency,
            o.poll_ms,
            o.use_events,
            o.watch_face,
            o.request_encoding,
        )
    );
}

#[test]
fn the_terminal_folder_gives_the_watcher_and_the_terminal_upstream() {
    let text = r#"
        [institution]
        code = "1311111111"
        [upstream]
        mode = "terminal"
        [onshi]
        folder = "OQS"
        after_processing = "leave"
        ledger_file = "/var/lib/pmh-gateway/ledger.tsv"
        watch_res = true
        request_encoding = "utf-8"
    "#;
    let cfg = FileConfig::from_toml(text)
        .unwrap()
        .resolve(Path::new("/srv"))
        .unwrap();
    let UpstreamConfig::Terminal(t) = &cfg.upstream else {
        panic!("terminal mode")
    };
    assert_eq!(t.req_dir, PathBuf::from("/srv/OQS/req"));
    assert_eq!(t.charset, Charset::Utf8);
    let w = cfg.checkin.unwrap();
    assert_eq!(w.face_dir, PathBuf::from("/srv/OQS/face"));
    assert_eq!(w.res_dir, Some(PathBuf::from("/srv/OQS/res")));
    assert_eq!(w.rejected_dir, PathBuf::from("/srv/OQS/face/rejected"));
    assert_eq!(
        w.disposal,
        Disposal::Leave {
            ledger: "/var/lib/pmh-gateway/ledger.tsv".into()
        }
    );
    assert_eq!(w.skip_prefix.as_deref(), Some("PMHG"));
}

#[test]
fn onshi_mistakes_name_their_setting() {
    let base = r#"
        [institution]
        code = "1311111111"
        [upstream]
        mode = "terminal"
    "#;
    for (extra, field) in [
        ("", "upstream.mode"),
        ("[onshi]\nface_dir = \"f\"", "onshi.folder"),
        (
            "[onshi]\nfolder = \"OQS\"\nafter_processing = \"leave\"",
            "onshi.ledger_file",
        ),
        (
            "[onshi]\nfolder = \"OQS\"\nsettle_ms = 0",
            "onshi.settle_ms",
        ),
        (
            "[onshi]\nfolder = \"OQS\"\nsettle_ms = 900\nincomplete_grace_ms = 100",
            "onshi.incomplete_grace_ms",
        ),
        (
            "[onshi]\nfolder = \"OQS\"\nmax_file_bytes = 10",
            "onshi.max_file_bytes",
        ),
        (
            "[onshi]\nfolder = \"OQS\"\nretention_days = 5000",
            "onshi.retention_days",
        ),
        ("[server]\nmax_connections = 0", "server.max_connections"),
        (
            "[server]\nheader_read_timeout_ms = 1",
            "server.header_read_timeout_ms",
        ),
    ] {
        let msg = FileConfig::from_toml(&format!("{base}\n{extra}"))
            .unwrap()
            .resolve(Path::new("/srv"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with(field), "{field}: {msg}");
    }
    // PMH mode without a URL names it.
    let msg = FileConfig::from_toml("[institution]\ncode = \"1311111111\"\n[upstream]\n")
        .unwrap()
        .resolve(Path::new("/srv"))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("upstream.base_url"), "{msg}");
    // A proxy that is not an http(s) URL is named.
    let msg = FileConfig::from_toml(
        "[institution]\ncode = \"1311111111\"\n[upstream]\nbase_url = \"https://pmh.example\"\nproxy = \"socks5://x\"\n",
    )
    .unwrap()
    .resolve(Path::new("/srv"))
    .unwrap_err()
    .to_string();
    assert!(msg.starts_with("upstream.proxy"), "{msg}");
}

#[cfg(feature = "emulator")]
#[test]
fn a_complete_config_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::sandbox::Pki::generate("1311111111").unwrap();
    pki.write_to(dir.path()).unwrap();
    let cfg = FileConfig::from_toml(MINIMAL)
        .unwrap()
        .resolve(dir.path())
        .unwrap();
    assert_eq!(cfg.listen.to_string(), DEFAULT_LISTEN);
    assert!(cfg.listen.ip().is_loopback());
    assert_eq!(cfg.masters, MasterSource::Embedded);
}

#[test]
fn numbers_out_of_range_name_their_key_instead_of_failing_later() {
    for (section, key, value) in [
        ("service", "confirmed_max_age_secs", "99999999999"),
        ("service", "stale_max_age_secs", "18446744073709551615"),
        ("service", "none_found_max_age_secs", "172800"),
        ("service", "cache_capacity", "0"),
        ("service", "breaker_cooldown_secs", "0"),
        ("service", "deadline_ms", "0"),
        ("server", "body_limit_bytes", "100"),
    ] {
        let text = format!("{MINIMAL}\n[{section}]\n{key} = {value}\n");
        let msg = FileConfig::from_toml(&text)
            .unwrap()
            .resolve(Path::new("/tmp"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with(&format!("{section}.{key}")) && msg.contains("out of range"),
            "{key}: {msg}"
        );
    }
}

#[test]
fn clients_are_checked_and_name_their_index() {
    const BASE: &str = "[institution]\ncode = \"1311111111\"\n[upstream]\nmode = \"terminal\"\n[onshi]\nfolder = \"/x\"\nwatch_face = false\n";
    let hash = crate::auth::TokenHash::of("pmhg_x").to_config();
    let client = |name: &str, scopes: &str, credential: &str| {
        format!("[[clients]]\nname = \"{name}\"\nscopes = {scopes}\n{credential}\n")
    };
    let token = format!("token_sha256 = \"{hash}\"");
    for (blocks, needle) in [
        (client("a b", "[\"check\"]", &token), "name must be"),
        (client("a", "[]", &token), "scopes"),
        (client("a", "[\"root\"]", &token), "not a scope"),
        (
            client("a", "[\"check\"]", "token_sha256 = \"md5:1\""),
            "token_sha256",
        ),
        (client("a", "[\"check\"]", ""), "prove who it is"),
        (
            client("a", "[\"check\"]", "certificate_name = \"a\""),
            "client_ca",
        ),
        (
            client("a", "[\"check\"]", &token) + &client("a", "[\"check\"]", &token),
            "used twice",
        ),
    ] {
        let msg = FileConfig::from_toml(&format!("{BASE}{blocks}"))
            .unwrap()
            .resolve(Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("clients[") && msg.contains(needle),
            "{needle}: {msg}"
        );
    }
    // A good one resolves.
    let cfg = FileConfig::from_toml(&format!(
        "{BASE}{}",
        client("recept-1", "[\"check\", \"admin\"]", &token)
    ))
    .unwrap()
    .resolve(Path::new("/"))
    .unwrap();
    assert_eq!(cfg.access.clients[0].name, "recept-1");
    assert_eq!(cfg.access.clients[0].scopes.len(), 2);
}
