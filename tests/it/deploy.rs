//! The deploy kit's gateway configurations are configurations this gateway accepts (unknown keys
//! are refused): the compose trial's file and the Kubernetes ConfigMap's. The files' own formats
//! are checked by their tools in `deploy/check`.

use pmh_gateway::config::FileConfig;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(ROOT).join(path)).unwrap()
}

/// The block scalar under `key: |` in a YAML file, unindented.
fn block_scalar(yaml: &str, key: &str) -> String {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != format!("{key}: |"));
    let head = lines.next().expect("the key");
    let indent = head.len() - head.trim_start().len() + 2;
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_compose_and_kubernetes_configurations_are_accepted() {
    for (name, text) in [
        ("compose", read("deploy/compose/gateway.toml")),
        (
            "kubernetes",
            block_scalar(&read("deploy/kubernetes/configmap.yaml"), "gateway.toml"),
        ),
    ] {
        let cfg = FileConfig::from_toml(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let dbg = format!("{cfg:?}");
        assert!(dbg.contains("8421"), "{name}: {dbg}");
        // Replicated: a shared database (its URL in the environment), a given secret, TLS.
        assert!(text.contains("key_file"), "{name}");
        assert!(text.contains("tls_cert"), "{name}");
    }
}

#[test]
fn a_block_scalar_is_read_whole() {
    let yaml = "data:\n  a.toml: |\n    [x]\n\n    y = 1\n  b: 2\n";
    assert_eq!(block_scalar(yaml, "a.toml"), "[x]\n\ny = 1");
}

/// The compose trial's block of YAML lines under `key:` (its indented lines).
fn yaml_block<'a>(yaml: &'a str, key: &str) -> Vec<&'a str> {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != key);
    let head = lines.next().unwrap_or_else(|| panic!("no {key}"));
    let indent = head.len() - head.trim_start().len();
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .collect()
}

/// A gateway container mounts only what it reads: never the volume with the CA's key and the
/// clients' keys (`pki`), the database's key (`db-pki`) or the sandbox's own key
/// (`sandbox-certs`); the setup copies a gateway's own material into volumes of its own.
#[test]
fn compose_gives_the_gateways_no_key_but_their_own() {
    let compose = read("deploy/compose.yaml");
    let gateway = yaml_block(&compose, "x-gateway: &gateway");
    let mounts: Vec<&str> = gateway
        .iter()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|m| m.contains(":/"))
        .collect();
    assert!(mounts.len() >= 5, "{mounts:?}");
    for m in &mounts {
        let volume = m.split(':').next().unwrap();
        assert!(
            !["pki", "db-pki", "sandbox-certs"].contains(&volume),
            "a gateway mounts {m}"
        );
    }
    for needed in [
        "gateway-tls:/pki:ro",
        "db-ca:/db-pki:ro",
        "pmh-client:/sandbox-certs:ro",
    ] {
        assert!(mounts.contains(&needed), "{needed} in {mounts:?}");
    }
    let setup = read("deploy/compose/setup.sh");
    assert!(
        setup.contains("for f in ca.pem server.pem server.key; do"),
        "only the server's own material is copied for the gateways"
    );
    assert!(!setup.contains("ca.key /gateway-tls") && !setup.contains("cp -r /pki"));
}

/// The container build's context never holds a clinic's state, keys or configuration that may
/// sit in a working copy.
#[test]
fn the_container_build_context_leaves_out_state_keys_and_configuration() {
    let ignore = read(".dockerignore");
    let lines: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    for pattern in [
        "**/state/",
        "**/certs/",
        "**/*.key",
        "**/*.pem",
        "/gateway.toml",
        "**/*.db",
        ".env",
    ] {
        assert!(lines.contains(&pattern), "{pattern} is not left out");
    }
    // Nothing the build needs is left out.
    for needed in ["src", "masters", "Cargo.toml", "Cargo.lock", "deploy"] {
        assert!(
            !lines.iter().any(|l| l.trim_matches('/') == needed),
            "{needed} is left out"
        );
    }
}
