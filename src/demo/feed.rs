//! The check-in feed: a line per check-in written by the sandbox terminal, as the gateway answers
//! for it by 照会番号 (the demo asks over HTTP, as a receipt computer would).

use std::net::SocketAddr;
use std::time::Duration;

use super::Demo;
use crate::sandbox::terminal::CheckInNotice;

impl Demo {
    /// Waits (up to 10 s) until the gateway answers for this check-in by its 照会番号, and
    /// returns that answer; `None` for a malformed check-in or when none came.
    pub async fn answer_for(&self, n: &CheckInNotice) -> Option<serde_json::Value> {
        answer_for(self.gateway_addr, &self.token, n).await
    }

    /// One line of the check-in feed.
    pub fn feed_line(n: &CheckInNotice, answer: Option<&serde_json::Value>) -> String {
        let how = format!(
            "{}, {}",
            n.charset.xml_name(),
            if n.with_block {
                "PMH block"
            } else {
                "no block: asked upstream"
            }
        );
        match (answer, n.malformed) {
            (_, Some(m)) => format!(
                "check-in {} ({m:?} file) → rejected/ with a reason file",
                n.file_name
            ),
            (None, None) => format!("check-in {} ({how}) → no answer yet", n.file_name),
            (Some(v), None) => {
                let laws: Vec<&str> = v["subsidies"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| {
                                s["programme_short_name"]
                                    .as_str()
                                    .or(s["law_code"].as_str())
                                    .unwrap_or("?")
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let ms = |k: &str| {
                    v["check_in"][k]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                };
                let after = match (ms("arrived_at"), ms("cached_at")) {
                    (Some(a), Some(c)) => format!(
                        ", cached {} ms after the file was written",
                        (c - a).num_milliseconds().max(0)
                    ),
                    _ => String::new(),
                };
                let subsidies = if laws.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", laws.join(", "))
                };
                let status = match (v["status"].as_str(), laws.is_empty()) {
                    (Some("confirmed"), true) => "confirmed, none active on the date",
                    (Some(s), _) => s,
                    (None, _) => "?",
                };
                format!(
                    "check-in {} ({how}) → 照会番号 {}: {status}{subsidies}{after}",
                    n.file_name,
                    n.reference.as_deref().unwrap_or(""),
                )
            }
        }
    }

    /// Prints a line per check-in as the gateway answers for it (for the `demo` command).
    pub fn spawn_feed(&self) -> tokio::task::JoinHandle<()> {
        let mut notices = self.terminal.subscribe();
        let addr = self.gateway_addr;
        let token = self.token.clone();
        tokio::spawn(async move {
            while let Ok(n) = notices.recv().await {
                let answer = answer_for(addr, &token, &n).await;
                println!("{}", Demo::feed_line(&n, answer.as_ref()));
            }
        })
    }
}

/// Whether the gateway answers `/healthz` within `within`.
pub(super) async fn wait_healthy(gateway_addr: SocketAddr, within: Duration) -> bool {
    let url = format!("http://{gateway_addr}/healthz");
    let client = reqwest::Client::new();
    let end = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < end {
        if client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Waits (up to 10 s) until the gateway answers for this check-in by its 照会番号, and
/// returns that answer; `None` for a malformed check-in or when none came.
pub async fn answer_for(
    gateway_addr: SocketAddr,
    token: &str,
    n: &CheckInNotice,
) -> Option<serde_json::Value> {
    let reference = n.reference.as_deref()?;
    let url = format!(
        "http://{}/v1/subsidy-checks?reference={reference}",
        gateway_addr
    );
    let client = reqwest::Client::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < end {
        if let Ok(r) = client.get(&url).bearer_auth(token).send().await
            && r.status() != reqwest::StatusCode::NOT_FOUND
            && let Ok(v) = r.json::<serde_json::Value>().await
            && v["check_in"]["file_name"] == n.file_name.as_str()
        {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}
