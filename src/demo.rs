//! `demo`: the sandbox upstream and the gateway together on this machine, with ready-to-paste
//! requests for a few showcase personas.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::{GatewayConfig, LogFormat, UpstreamConfig};
use crate::domain::MedicalInstitutionCode;
use crate::errors::StartupError;
use crate::masters::MasterSource;
use crate::sandbox::population::{DEMO_INSTITUTION, Persona};
use crate::sandbox::{self, Pki, SandboxHandle, SandboxOptions};
use crate::service::ServiceConfig;
use crate::upstream::UpstreamTls;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub port: u16,
    pub upstream_port: u16,
    pub admin_port: u16,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            port: 8421,
            upstream_port: 8443,
            admin_port: 8444,
            seed: 42,
        }
    }
}

/// One ready-to-paste request of the demo.
#[derive(Debug, Clone)]
pub struct DemoExample {
    pub what: &'static str,
    pub persona: String,
    pub url: String,
    pub accept: Option<&'static str>,
    pub body: String,
}

pub struct Demo {
    pub gateway_addr: SocketAddr,
    pub sandbox: SandboxHandle,
    stop: oneshot::Sender<()>,
    gateway: tokio::task::JoinHandle<Result<(), StartupError>>,
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn bind(port: u16) -> Result<TcpListener, StartupError> {
    let addr = SocketAddr::new(LOOPBACK, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// The gateway configuration the demo uses against a sandbox.
pub fn gateway_config(sandbox: &SandboxHandle, listen: SocketAddr) -> GatewayConfig {
    GatewayConfig {
        listen,
        body_limit_bytes: 64 * 1024,
        institution: MedicalInstitutionCode::parse(DEMO_INSTITUTION).expect("valid code"),
        upstream: UpstreamConfig::Pmh {
            base_url: sandbox.base_url(),
            tls: UpstreamTls {
                ca_pem: sandbox.pki.ca_pem.clone().into_bytes(),
                identity_pem: sandbox.pki.client_identity_pem(),
            },
            connect_timeout: Duration::from_millis(500),
        },
        checkin: None,
        service: ServiceConfig {
            breaker_cooldown: Duration::from_secs(5),
            ..ServiceConfig::default()
        },
        masters: MasterSource::Embedded,
        log_format: LogFormat::Text,
        log_level: "info".into(),
    }
}

pub async fn start(opts: &DemoOptions) -> Result<Demo, StartupError> {
    let sandbox = sandbox::start(SandboxOptions {
        https: bind(opts.upstream_port).await?,
        admin: Some(bind(opts.admin_port).await?),
        pki: Pki::generate(DEMO_INSTITUTION)?,
        seed: opts.seed,
        today: crate::domain::date::jst_date(chrono::Utc::now()),
        population_size: sandbox::Population::DEFAULT_SIZE,
    })
    .await?;
    let listener = bind(opts.port).await?;
    let gateway_addr = listener.local_addr().map_err(StartupError::Serve)?;
    let cfg = gateway_config(&sandbox, gateway_addr);
    let app = crate::app::router(&cfg)?;
    let (stop, stopped) = oneshot::channel();
    let gateway = tokio::spawn(crate::app::serve(listener, app, async {
        let _ = stopped.await;
    }));
    Ok(Demo {
        gateway_addr,
        sandbox,
        stop,
        gateway,
    })
}

impl Demo {
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.gateway.await;
        self.sandbox.shutdown().await;
    }

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
        // (what, persona tags, query string, Accept, extra body fields)
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
                "?format=orca",
                None,
                None,
            ),
            (
                "… as ORCA xmlio2 XML",
                triple,
                "",
                Some("application/xml"),
                None,
            ),
            (
                "… as FHIR JP Core Coverage resources",
                triple,
                "",
                Some("application/fhir+json"),
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

    /// The text printed at start: ready-to-paste requests.
    pub fn instructions(&self) -> String {
        let pop = self.sandbox.population();
        let mut out = format!(
            "pmh-gateway demo\n  gateway  http://{}  (REST API, /openapi.json, /metrics)\n  sandbox  {}  (PMH emulator, mutual TLS, {} synthetic persons)\n",
            self.gateway_addr,
            self.sandbox.base_url(),
            pop.personas.len()
        );
        if let Some(a) = self.sandbox.admin_addr {
            out.push_str(&format!(
                "  admin    http://{a}/admin/personas | /admin/stats | PUT /admin/faults\n"
            ));
        }
        out.push_str("\nTry these (synthetic persons):\n");
        for e in self.examples() {
            let accept = e
                .accept
                .map(|a| format!(" -H 'accept: {a}'"))
                .unwrap_or_default();
            out.push_str(&format!(
                "\n# {} — {}\ncurl -s '{}' -H 'content-type: application/json'{accept} \\\n  -d '{}'\n",
                e.persona, e.what, e.url, e.body
            ));
        }
        if let Some(a) = self.sandbox.admin_addr {
            out.push_str(&format!(
                "\n# Break the upstream, then ask again: a cached person comes back `stale`, a new one `unavailable` (never none_found)\ncurl -s -X PUT http://{a}/admin/faults -H 'content-type: application/json' -d '{{\"mode\":\"down\"}}'\n# Modes: ok | down | hang | error | garbage; add \"latency_ms\": N for a slow upstream\n"
            ));
        }
        out.push_str("\nPress Ctrl-C to stop.\n");
        out
    }
}
