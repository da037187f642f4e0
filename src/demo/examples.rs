//! The showcase requests the demo prints, and the text it starts with.

use super::Demo;
use crate::sandbox::Persona;
use crate::sandbox::terminal::Terminal;

/// One ready-to-paste request of the demo.
#[derive(Debug, Clone)]
pub struct DemoExample {
    pub what: &'static str,
    pub persona: String,
    pub url: String,
    pub accept: Option<&'static str>,
    pub body: String,
}

impl Demo {
    /// The JSON body of a check for `p`.
    pub fn request_json(p: &Persona) -> serde_json::Value {
        serde_json::json!({
            "insured": {
                "insurer_number": p.insured.insurer_number,
                "symbol": p.insured.symbol,
                "number": p.insured.number,
                "branch": p.insured.branch,
                "birthdate": p.insured.birthdate,
            }
        })
    }

    /// `request_json` as text, ready to send.
    pub fn request_body(p: &Persona) -> String {
        Self::request_json(p).to_string()
    }

    /// The showcase requests the demo prints, against this demo's gateway.
    pub fn examples(&self) -> Vec<DemoExample> {
        let pop = self.sandbox.population();
        let url = format!("http://{}/v1/subsidy-checks", self.gateway_addr);
        let insurance = serde_json::json!({"insurance": {"kind": "health_insurance", "beneficiary": "insured"}});
        let pharmacy = serde_json::json!({"setting": {"claim": "pharmacy"}});
        let triple: &[&str] = &["showcase", "triple"];
        // (what, persona tags, path after /v1/subsidy-checks, Accept, extra body fields)
        type Spec<'a> = (
            &'static str,
            &'a [&'a str],
            &'static str,
            Option<&'static str>,
            Option<&'a serde_json::Value>,
        );
        let specs: [Spec<'_>; 8] = [
            (
                "three subsidies (精神通院 21 + 難病 54 + マル障): confirmed, ordered, with caps, codes, KO fields, 負担区分 and レセプト種別",
                triple,
                "",
                None,
                Some(&insurance),
            ),
            (
                "the same answer as ORCA PublicInsurance_Information (JSON)",
                triple,
                "/orca",
                None,
                None,
            ),
            ("… as ORCA xmlio2 XML", triple, "/orca-xml", None, None),
            (
                "… as FHIR JP Core Coverage resources",
                triple,
                "/fhir",
                None,
                None,
            ),
            (
                "マル子 at the clinic: 200 円 per visit",
                &["showcase", "maru_ko"],
                "",
                None,
                None,
            ),
            (
                "マル子 at the pharmacy: nothing to pay",
                &["showcase", "maru_ko"],
                "",
                None,
                Some(&pharmacy),
            ),
            (
                "no subsidy registered: none_found (ask for the paper certificate)",
                &["showcase", "none"],
                "",
                None,
                None,
            ),
            (
                "an expired 難病 certificate: confirmed, reported under inactive_subsidies",
                &["showcase", "expired"],
                "",
                None,
                None,
            ),
        ];
        specs
            .into_iter()
            .filter_map(|(what, tags, query, accept, extra)| {
                let p = pop.find(tags)?;
                let mut body = Self::request_json(p);
                if let (Some(serde_json::Value::Object(extra)), Some(b)) =
                    (extra, body.as_object_mut())
                {
                    b.extend(extra.clone());
                }
                Some(DemoExample {
                    what,
                    persona: p.id.clone(),
                    url: format!("{url}{query}"),
                    accept,
                    body: body.to_string(),
                })
            })
            .collect()
    }

    /// The line before the feed of check-ins.
    pub const FEED_HEADER: &'static str =
        "\nCheck-ins as the gateway answers them (Ctrl-C to stop):";

    /// The text printed at start: ready-to-paste requests.
    pub fn instructions(&self) -> String {
        let pop = self.sandbox.population();
        let mut out = format!(
            "pmh-gateway demo\n  gateway  http://{}  (REST API, /openapi.json, /metrics)\n  sandbox  {}  (PMH emulator, mutual TLS, {} synthetic persons)\n",
            self.gateway_addr,
            self.sandbox.base_url(),
            pop.personas.len()
        );
        out.push_str(&format!(
            "  reception http://{}/reception  (the clerk's page: today's check-ins, live; sign in with the token below)\n  RECEPTION_TOKEN={}\n",
            self.gateway_addr, self.reception_token
        ));
        if let Some(a) = self.sandbox.admin_addr {
            out.push_str(&format!(
                "  admin    http://{a}/admin/personas | /admin/stats | PUT /admin/faults\n"
            ));
        }
        out.push_str(&format!(
            "\nEvery /v1 request needs a client's token. The demo made one for the client `{}` (scopes check, check_in, onshi_post, charges, admin, receipt_check):\nTOKEN={}\n\nTry these (synthetic persons):\n",
            super::DEMO_CLIENT,
            self.token
        ));
        for e in self.examples() {
            let accept = e
                .accept
                .map(|a| format!(" -H 'accept: {a}'"))
                .unwrap_or_default();
            out.push_str(&format!(
                "\n# {} — {}\ncurl -s '{}' -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json'{accept} \\\n  -d '{}'\n",
                e.persona, e.what, e.url, e.body
            ));
        }
        let face = Terminal::face_dir(&self.onshi_root);
        let first = self
            .terminal
            .population()
            .personas
            .first()
            .map(crate::sandbox::terminal::reference_of)
            .unwrap_or_default();
        out.push_str(&format!(
            "\n# Check-ins: the emulated オン資 terminal writes card check-in results into\n#   {}\n# (UTF-8 and Shift_JIS, with and without the PMH block, every 10th malformed → rejected/).\n# The gateway prefetches each one; ask for a checked-in patient by 照会番号:\ncurl -s 'http://{}/v1/subsidy-checks?reference={first}' -H \"authorization: Bearer $TOKEN\"\n# … or post a result file as the terminal wrote it (processed files are in face/processed):\n# curl -s 'http://{}/v1/subsidy-checks' -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/xml' --data-binary @FILE\n# Who asked about whom (the audit; patients are keyed hashes):\ncurl -s 'http://{}/v1/audit?limit=5' -H \"authorization: Bearer $TOKEN\"\n",
            face.display(),
            self.gateway_addr,
            self.gateway_addr,
            self.gateway_addr,
        ));
        if let Some(a) = self.sandbox.admin_addr {
            out.push_str(&format!(
                "\n# Break the upstream, then ask again: a cached person comes back `stale`, a new one `unavailable` (never none_found)\ncurl -s -X PUT http://{a}/admin/faults -H 'content-type: application/json' -d '{{\"mode\":\"down\"}}'\n# Modes: ok | down | hang | error | garbage; add \"latency_ms\": N for a slow upstream\n"
            ));
        }
        out
    }
}
