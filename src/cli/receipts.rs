//! `pmh-gateway receipts check FILE --config FILE`: sends a month's UKE file to the running
//! gateway of this configuration (`POST /v1/receipt-checks`, on loopback — over TLS trusting only
//! its own certificate when it has one — or at `--url`), shows the progress, and prints the
//! report as text for the clerk, as the API's JSON, or as its CSV. The token is read from
//! `PMH_GATEWAY_TOKEN` (never a command-line argument, which other users can see).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use pmh_gateway::config::GatewayConfig;
use serde_json::Value;

/// The environment variable that holds the client's token.
pub const TOKEN_VAR: &str = "PMH_GATEWAY_TOKEN";

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

/// How often the progress is asked for.
const POLL: Duration = Duration::from_millis(250);

/// Runs the check; the report to print.
pub async fn check(
    cfg: &GatewayConfig,
    url: Option<&str>,
    file: &Path,
    format: Format,
) -> Result<String, String> {
    let token = std::env::var(TOKEN_VAR).map_err(|_| {
        format!("set {TOKEN_VAR} to the token of a client with the receipt_check scope")
    })?;
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if bytes.len() > pmh_gateway::receipts::MAX_FILE_BYTES {
        return Err(format!(
            "{} is larger than the {} bytes the gateway takes",
            file.display(),
            pmh_gateway::receipts::MAX_FILE_BYTES
        ));
    }
    let addr = super::healthcheck::target(cfg.listen)?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(120));
    let base = match (url, &cfg.server_tls) {
        (Some(u), _) => u.trim_end_matches('/').to_owned(),
        (None, None) => format!("http://localhost:{}", addr.port()),
        (None, Some(_)) => format!("https://localhost:{}", addr.port()),
    };
    if url.is_none() {
        builder = builder.resolve("localhost", addr);
    }
    if let Some(tls) = &cfg.server_tls {
        let pinned = pmh_gateway::tls::client_config_pinned(&tls.cert_chain_pem)
            .map_err(|e| e.to_string())?;
        builder = builder.tls_backend_preconfigured(pinned);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let auth = format!("Bearer {token}");
    let started = client
        .post(format!("{base}/v1/receipt-checks"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .map_err(|e| format!("cannot reach the gateway at {base}: {e}"))?;
    let status = started.status();
    let body: Value = started
        .json()
        .await
        .map_err(|e| format!("the gateway answered {status} without JSON: {e}"))?;
    if status.as_u16() != 202 {
        return Err(problem(status.as_u16(), &body));
    }
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let location = format!("{base}/v1/receipt-checks/{id}");
    let tty = std::io::stderr().is_terminal();
    let report = loop {
        let r = client
            .get(&location)
            .header("Authorization", &auth)
            .send()
            .await
            .map_err(|e| format!("cannot read the check's progress: {e}"))?;
        let status = r.status().as_u16();
        let v: Value = r
            .json()
            .await
            .map_err(|e| format!("the gateway answered {status} without JSON: {e}"))?;
        if status != 200 {
            return Err(problem(status, &v));
        }
        let (done, all) = (
            v["patients_done"].as_u64().unwrap_or(0),
            v["patients"].as_u64().unwrap_or(0),
        );
        if tty {
            eprint!("\r{}", bar(done, all));
            let _ = std::io::stderr().flush();
        }
        if v["state"] == "interrupted" {
            return Err(
                "the check was interrupted (the gateway that ran it stopped): run it again".into(),
            );
        }
        if v["state"] == "done" {
            if tty {
                eprintln!();
            } else {
                eprintln!("{}", bar(done, all));
            }
            break v;
        }
        tokio::time::sleep(POLL).await;
    };
    match format {
        Format::Json => Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        )),
        Format::Text => Ok(text(&report)),
        Format::Csv => client
            .get(format!("{location}?format=csv"))
            .header("Authorization", &auth)
            .send()
            .await
            .map_err(|e| format!("cannot read the report as CSV: {e}"))?
            .text()
            .await
            .map_err(|e| e.to_string()),
    }
}

fn problem(status: u16, v: &Value) -> String {
    let mut s = format!(
        "the gateway answered {status}: {}",
        v["detail"].as_str().or(v["title"].as_str()).unwrap_or("")
    );
    for e in v["errors"].as_array().into_iter().flatten().take(20) {
        s.push_str(&format!(
            "\n  {}: {}",
            e["field"].as_str().unwrap_or(""),
            e["reason"].as_str().unwrap_or("")
        ));
    }
    s
}

/// `[#########           ] 120/263 患者`.
pub fn bar(done: u64, all: u64) -> String {
    const WIDTH: u64 = 30;
    let filled = (done * WIDTH).checked_div(all).unwrap_or(WIDTH).min(WIDTH);
    format!(
        "[{}{}] {done}/{all} 患者",
        "#".repeat(filled as usize),
        " ".repeat((WIDTH - filled) as usize)
    )
}

/// The report for the clerk: the counts, then each receipt to review with its findings.
pub fn text(r: &Value) -> String {
    let n = |k: &str| r[k].as_u64().unwrap_or(0);
    let pmh = |k: &str| r["pmh"][k].as_u64().unwrap_or(0);
    let mut out = format!(
        "月次点検 {}: レセプト {}件・患者 {}人 — 指摘 {}件\n\
         PMH照合: 照合済み {} / 登録なし {} / 未照合（接続不可） {} / 被保険者不明 {}\n",
        r["months"]
            .as_array()
            .map(|m| m
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
        n("receipts"),
        n("patients"),
        n("findings"),
        pmh("checked"),
        pmh("none_found"),
        pmh("not_checked"),
        pmh("not_identifiable"),
    );
    for p in r["line_problems"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "読めない行 {}: {}\n",
            p["line"],
            p["reason"].as_str().unwrap_or("")
        ));
    }
    for rec in r["receipts_to_review"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\nレセプト {}（{}行目） {} {} 種別{} — {}\n",
            rec["number"],
            rec["line"],
            rec["name"].as_str().unwrap_or(""),
            rec["month"].as_str().unwrap_or(""),
            rec["kind"].as_str().unwrap_or(""),
            rec["pmh_ja"].as_str().unwrap_or(""),
        ));
        for f in rec["findings"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {}行目 [{}] {}\n",
                f["line"],
                f["code"].as_str().unwrap_or(""),
                f["message_ja"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_patients_checked() {
        assert_eq!(bar(0, 10), format!("[{}] 0/10 患者", " ".repeat(30)));
        assert_eq!(
            bar(5, 10),
            format!("[{}{}] 5/10 患者", "#".repeat(15), " ".repeat(15))
        );
        assert_eq!(bar(0, 0), format!("[{}] 0/0 患者", "#".repeat(30)));
    }
}
