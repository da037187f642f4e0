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
    let out = bin()
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("upstream.ca_cert") && err.contains("missing-ca.pem"),
        "{err}"
    );

    std::fs::write(&cfg, "[institution]\ncode = \"1311111111\"\nsurprise = 1\n").unwrap();
    let out = bin()
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unknown field `surprise`"), "{err}");
}

#[test]
fn help_explains_every_subcommand() {
    let out = bin().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in ["serve", "sandbox", "demo", "check-number"] {
        assert!(text.contains(sub), "{text}");
    }
}
