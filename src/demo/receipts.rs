//! The month-end receipt check the demo runs: the sandbox writes last month's UKE file for its
//! population (with its planted mistakes), the demo posts it to the gateway as a receipt
//! computer would (`POST /v1/receipt-checks`), waits for the report and prints what it found
//! beside what was planted, the PMH calls it took, and the lines to do the same by hand.

use std::time::{Duration, Instant};

use chrono::Datelike;
use serde_json::Value;

use super::Demo;

impl Demo {
    /// Runs the check and returns what to print.
    pub async fn receipts_showcase(&self) -> Result<String, String> {
        let today = crate::domain::date::jst_date(chrono::Utc::now());
        let month = today
            .with_day(1)
            .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
            .ok_or("no previous month")?;
        let pop = self.sandbox.population();
        let masters = crate::masters::embedded();
        let file = crate::sandbox::uke::month_file(pop, &masters, month, 400);
        let path = self
            .state_dir
            .join(format!("receipts-{}.uke", month.format("%Y-%m")));
        crate::files::write_new(&path, &file.bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let base = format!("http://{}", self.gateway_addr);
        let client = reqwest::Client::new();
        let calls_before = self.sandbox.eligibility_requests();
        let started = Instant::now();
        let r = client
            .post(format!("{base}/v1/receipt-checks"))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(file.bytes.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| e.to_string())?;
        if status.as_u16() != 202 {
            return Err(format!(
                "POST /v1/receipt-checks: {status}: {}",
                v["detail"]
            ));
        }
        let location = format!(
            "{base}/v1/receipt-checks/{}",
            v["id"].as_str().unwrap_or("")
        );
        let report = loop {
            let v: Value = client
                .get(&location)
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if v["state"] == "done" {
                break v;
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err("the receipt check did not finish within 2 minutes".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let took = started.elapsed();
        let calls = self.sandbox.eligibility_requests() - calls_before;
        let mut found: Vec<(u64, String)> = report["receipts_to_review"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| {
                let n = r["number"].as_u64().unwrap_or(0);
                r["findings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |f| (n, f["code"].as_str().unwrap_or("").to_owned()))
            })
            .collect();
        found.sort();
        let mut planted: Vec<(u64, String)> = file
            .planted
            .iter()
            .map(|(n, c)| (u64::from(*n), c.as_str().to_owned()))
            .collect();
        planted.sort();
        let verdict = if found == planted {
            format!(
                "exactly the {} planted mistakes, none on the {} correct receipts",
                planted.len(),
                file.receipts
                    - planted
                        .iter()
                        .map(|(n, _)| n)
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
            )
        } else {
            format!(
                "{} findings where {} were planted (the sandbox and the gateway disagree: a defect)",
                found.len(),
                planted.len()
            )
        };
        let mut out = format!(
            "\nThe month-end receipt check (POST /v1/receipt-checks) of the sandbox's UKE file for {}:\n  {} receipts, {} patients, {} PMH calls, {} ms — {verdict}\n  PMH: {} checked, {} none found, {} not checked\n  by finding:",
            month.format("%Y-%m"),
            report["receipts"],
            report["patients"],
            calls,
            took.as_millis(),
            report["pmh"]["checked"],
            report["pmh"]["none_found"],
            report["pmh"]["not_checked"],
        );
        for (code, n) in report["by_code"].as_object().into_iter().flatten() {
            out.push_str(&format!(" {code} {n},"));
        }
        out.pop();
        out.push('\n');
        for r in report["receipts_to_review"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["findings"].as_array().is_some_and(|f| !f.is_empty()))
            .take(3)
        {
            for f in r["findings"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  レセプト {} {}: {}\n",
                    r["number"],
                    r["name"].as_str().unwrap_or(""),
                    f["message_ja"].as_str().unwrap_or("")
                ));
            }
        }
        out.push_str(&format!(
            "# The same by hand (the file is {}): post it, then read the report (JSON, or ?format=csv)\ncurl -s 'http://{}/v1/receipt-checks' -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/octet-stream' --data-binary @{}\ncurl -s '{location}' -H \"authorization: Bearer $TOKEN\"\n# or: PMH_GATEWAY_TOKEN=$TOKEN pmh-gateway receipts check {} --config <the gateway's configuration> (the demo's own is in memory: use curl here)\n# The reception page's 月次点検 view does the same for the clerk: http://{}/reception/receipts\n",
            path.display(),
            self.gateway_addr,
            path.display(),
            path.display(),
            self.gateway_addr,
        ));
        Ok(out)
    }
}
