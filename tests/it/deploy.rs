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
