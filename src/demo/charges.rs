//! The charge showcase the demo prints: a quote for the three-subsidy persona from its check,
//! and the 自己負担上限額管理票 sequence of the 精神通院 example (cap 5,000) across a hospital —
//! this gateway, committing its visits — and a pharmacy, whose amounts are entered from the
//! paper 管理票; a local programme's visit limit (大阪市, 月2日); a hospital stay with meals. Every
//! step goes to the gateway over HTTP, as a receipt computer would send it.

use chrono::{Datelike, Duration};
use serde_json::{Value, json};

use super::Demo;
use crate::domain::Yen;

fn yen(v: &Value) -> String {
    Yen(v.as_u64().unwrap_or_default()).to_string()
}

impl Demo {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("http://{}{path}", self.gateway_addr);
        let mut req = reqwest::Client::new()
            .request(method, &url)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| format!("{path}: {e}"))?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("{path}: {status}: {}", v["detail"]))
        }
    }

    /// Runs the showcase against the demo's gateway and returns what to print.
    pub async fn charges_showcase(&self) -> Result<String, String> {
        let mut out = String::from(
            "\nWindow charges (POST /v1/charge-quotes, /v1/charges, /v1/ledger-entries):\n",
        );
        let pop = self.sandbox.population();
        let p = pop
            .find(&["showcase", "triple"])
            .ok_or("no showcase persona")?;
        let check = self
            .send(
                reqwest::Method::POST,
                "/v1/subsidy-checks",
                Some(Self::request_json(p)),
            )
            .await?;
        let today = crate::domain::date::jst_date(chrono::Utc::now());
        let quote_body = json!({
            "check_id": check["check_id"],
            "insurance": {"kind": "health_insurance", "share_percent": 30},
            "visit": {"date": today.to_string(), "parts": [
                {"points": 1520, "subsidies": [1, 3]},
                {"points": 300}
            ]}
        });
        let q = self
            .send(
                reqwest::Method::POST,
                "/v1/charge-quotes",
                Some(quote_body.clone()),
            )
            .await?;
        out.push_str(&format!(
            "\n# {} (精神通院 + 難病 + マル障), 3割: 1,520 points under 精神通院 and マル障, 300 points insurance only\n#   window charge {}\n",
            p.id,
            yen(&q["window_charge"])
        ));
        for line in q["trace"].as_array().into_iter().flatten() {
            out.push_str(&format!("#   {}\n", line.as_str().unwrap_or_default()));
        }
        out.push_str(&format!(
            "curl -s 'http://{}/v1/charge-quotes' -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' \\\n  -d '{}'\n",
            self.gateway_addr, quote_body
        ));
        // The 管理票 sequence: a paper 精神通院 certificate (低所得2: cap 5,000).
        let first = today.with_day(1).unwrap_or(today);
        let day = |n: i64| (first + Duration::days(n)).to_string();
        let cert = json!([{"payer_number": "21136015", "recipient_number": "1234566", "income_class": "低所得2"}]);
        out.push_str("\n# 自己負担上限額管理票, 精神通院 (cap 5,000円): the hospital commits its visits, the pharmacy's amounts are typed from the paper 管理票\n");
        enum Step {
            Hospital(&'static str, i64, u64),
            Pharmacy(i64, u64, u64),
        }
        let steps = [
            Step::Hospital("DEMO-H1", 0, 1000),
            Step::Pharmacy(0, 5000, 500),
            Step::Hospital("DEMO-H2", 2, 3000),
            Step::Pharmacy(2, 10000, 500),
            Step::Hospital("DEMO-H3", 4, 2000),
        ];
        let mut total = 0u64;
        for step in steps {
            match step {
                Step::Hospital(id, d, points) => {
                    let body = json!({"subsidies": cert, "insurance": {"kind": "health_insurance", "share_percent": 30},
                        "visit": {"visit_id": id, "date": day(d), "parts": [{"points": points, "subsidies": [1]}]}});
                    let c = self
                        .send(reqwest::Method::POST, "/v1/charges", Some(body))
                        .await?;
                    total = c["subsidies"][0]["month_to_date"]["total"]
                        .as_u64()
                        .unwrap_or(total);
                    out.push_str(&format!(
                        "#   {} hospital {} (10割 {}) → {} (month so far {})\n",
                        day(d),
                        id,
                        Yen(points * 10),
                        yen(&c["window_charge"]),
                        Yen(total)
                    ));
                }
                Step::Pharmacy(d, cost, amount) => {
                    let body = json!({"payer_number": "21136015", "recipient_number": "1234566", "date": day(d),
                        "amount": amount, "total_cost": cost, "institution": "さくら薬局", "monthly_cap": 5000});
                    let l = self
                        .send(reqwest::Method::POST, "/v1/ledger-entries", Some(body))
                        .await?;
                    total = l["total"].as_u64().unwrap_or(total);
                    out.push_str(&format!(
                        "#   {} pharmacy (10割 {}) → {} from the 管理票 (month so far {}, {} left)\n",
                        day(d),
                        Yen(cost),
                        Yen(amount),
                        Yen(total),
                        yen(&l["remaining"])
                    ));
                }
            }
        }
        out.push_str(&format!(
            "curl -s 'http://{}/v1/ledgers?payer_number=21136015&recipient_number=1234566&month={}' -H \"authorization: Bearer $TOKEN\"\n",
            self.gateway_addr,
            crate::store::month_key(today)
        ));
        // A local programme's visit limit: 大阪市 こども医療費助成, 1日500円, 月2日まで.
        out.push_str("\n# 大阪市 こども医療費助成 (1日500円, 月2日まで at one institution): three days committed\n");
        let child = json!([{"payer_number": "88271010", "recipient_number": "7654321"}]);
        for (n, id) in ["DEMO-C1", "DEMO-C2", "DEMO-C3"].iter().enumerate() {
            let body = json!({"subsidies": child, "insurance": {"kind": "health_insurance", "share_percent": 20},
                "visit": {"visit_id": id, "date": day(n as i64), "parts": [{"points": 500, "subsidies": [1]}]}});
            let c = self
                .send(reqwest::Method::POST, "/v1/charges", Some(body))
                .await?;
            out.push_str(&format!(
                "#   {} {} (10割 5,000円, 2割 1,000円) → {}\n",
                day(n as i64),
                id,
                yen(&c["window_charge"])
            ));
        }
        // A hospital stay with meals: their own line, outside the 高額 limit.
        let stay = json!({"subsidies": [], "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
            "visit": {"date": day(0), "care": "inpatient", "parts": [{"points": 10000}],
                      "meals": [{"date": day(0), "count": 3}, {"date": day(1), "count": 3}]}});
        let q = self
            .send(reqwest::Method::POST, "/v1/charge-quotes", Some(stay))
            .await?;
        out.push_str(&format!(
            "\n# 入院 100,000円 at 3割 with 6 meals: window {} (of it meals {}: 標準負担額 {}, class {})\n",
            yen(&q["window_charge"]),
            yen(&q["meal_charge"]),
            yen(&q["receipt"]["meals"]["standard_charge"]),
            q["receipt"]["meals"]["class"].as_str().unwrap_or_default()
        ));
        Ok(out)
    }
}
