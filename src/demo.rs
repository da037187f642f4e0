//! `demo`: the sandbox upstream, the sandbox オン資 terminal on a folder, and the gateway
//! together on this machine, with ready-to-paste requests for a few showcase personas and a feed
//! of check-ins as the gateway prefetches them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::checkin::WatchOptions;
use crate::config::{GatewayConfig, LogFormat, UpstreamConfig};
use crate::domain::MedicalInstitutionCode;
use crate::errors::StartupError;
use crate::masters::MasterSource;
use crate::sandbox::population::{DEMO_INSTITUTION, Persona};
use crate::sandbox::terminal::{CheckInNotice, Terminal, TerminalOptions};
use crate::sandbox::{self, Pki, SandboxHandle, SandboxOptions};
use crate::service::ServiceConfig;
use crate::upstream::UpstreamTls;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub port: u16,
    pub upstream_port: u16,
    pub admin_port: u16,
    pub seed: u64,
    /// The terminal's shared folder; a fresh one under the temp directory (removed at the end)
    /// when unset.
    pub onshi_dir: Option<PathBuf>,
    /// Time between synthetic check-ins (`None`: none).
    pub check_in_every: Option<Duration>,
    /// Ask through the terminal's req/res folders instead of PMH over HTTPS.
    pub terminal_upstream: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            port: 8421,
            upstream_port: 8443,
            admin_port: 8444,
            seed: 42,
            onshi_dir: None,
            check_in_every: Some(Duration::from_secs(3)),
            terminal_upstream: false,
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
    pub terminal: Terminal,
    /// The terminal's shared folder (`face/`, `req/`, `res/`).
    pub onshi_root: PathBuf,
    remove_root: bool,
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
    let (onshi_root, remove_root) = match &opts.onshi_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!(
                "pmh-gateway-demo-{}-{}",
                std::process::id(),
                sandbox.https_addr.port()
            )),
            true,
        ),
    };
    let terminal = Terminal::start(TerminalOptions {
        seed: opts.seed,
        check_in_every: opts.check_in_every,
        ..TerminalOptions::new(
            &onshi_root,
            DEMO_INSTITUTION,
            crate::domain::date::jst_date(chrono::Utc::now()),
        )
    })
    .map_err(|source| StartupError::Folder {
        path: onshi_root.clone(),
        source,
    })?;
    let listener = bind(opts.port).await?;
    let gateway_addr = listener.local_addr().map_err(StartupError::Serve)?;
    let mut cfg = gateway_config(&sandbox, gateway_addr);
    cfg.checkin = Some(WatchOptions {
        settle: Duration::from_millis(300),
        incomplete_grace: Duration::from_secs(2),
        ..WatchOptions::for_face_dir(Terminal::face_dir(&onshi_root))
    });
    if opts.terminal_upstream {
        cfg.upstream = UpstreamConfig::Terminal(crate::upstream::TerminalUpstreamOptions {
            req_dir: Terminal::req_dir(&onshi_root),
            res_dir: Terminal::res_dir(&onshi_root),
            charset: crate::onshi::Charset::ShiftJis,
            poll: Duration::from_millis(10),
        });
    }
    let state = crate::app::state_from_config(&cfg)?;
    let watcher = crate::app::start_checkin_watcher(&cfg, &state)?;
    let app = crate::api::router(state);
    let (stop, stopped) = oneshot::channel();
    let gateway = tokio::spawn(async move {
        let served = crate::app::serve(listener, app, async {
            let _ = stopped.await;
        })
        .await;
        if let Some(w) = watcher {
            w.shutdown().await;
        }
        served
    });
    Ok(Demo {
        gateway_addr,
        sandbox,
        terminal,
        onshi_root,
        remove_root,
        stop,
        gateway,
    })
}

impl Demo {
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.gateway.await;
        self.terminal.shutdown().await;
        self.sandbox.shutdown().await;
        if self.remove_root {
            let _ = std::fs::remove_dir_all(&self.onshi_root);
        }
    }

    /// Waits (up to 10 s) until the gateway answers for this check-in by its 照会番号, and
    /// returns that answer; `None` for a malformed check-in or when none came.
    pub async fn answer_for(&self, n: &CheckInNotice) -> Option<serde_json::Value> {
        answer_for(self.gateway_addr, n).await
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
        tokio::spawn(async move {
            while let Ok(n) = notices.recv().await {
                let answer = answer_for(addr, &n).await;
                println!("{}", Demo::feed_line(&n, answer.as_ref()));
            }
        })
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
        let face = Terminal::face_dir(&self.onshi_root);
        let first = self
            .terminal
            .population()
            .personas
            .first()
            .map(crate::sandbox::terminal::reference_of)
            .unwrap_or_default();
        out.push_str(&format!(
            "\n# Check-ins: the emulated オン資 terminal writes card check-in results into\n#   {}\n# (UTF-8 and Shift_JIS, with and without the PMH block, every 10th malformed → rejected/).\n# The gateway prefetches each one; ask for a checked-in patient by 照会番号:\ncurl -s 'http://{}/v1/subsidy-checks?reference={first}'\n# … or post a result file as the terminal wrote it (processed files are in face/processed):\n# curl -s 'http://{}/v1/subsidy-checks' -H 'content-type: application/xml' --data-binary @FILE\n",
            face.display(),
            self.gateway_addr,
            self.gateway_addr,
        ));
        if let Some(a) = self.sandbox.admin_addr {
            out.push_str(&format!(
                "\n# Break the upstream, then ask again: a cached person comes back `stale`, a new one `unavailable` (never none_found)\ncurl -s -X PUT http://{a}/admin/faults -H 'content-type: application/json' -d '{{\"mode\":\"down\"}}'\n# Modes: ok | down | hang | error | garbage; add \"latency_ms\": N for a slow upstream\n"
            ));
        }
        out.push_str("\nCheck-ins as the gateway answers them (Ctrl-C to stop):\n");
        out
    }
}

/// Waits (up to 10 s) until the gateway answers for this check-in by its 照会番号, and
/// returns that answer; `None` for a malformed check-in or when none came.
pub async fn answer_for(gateway_addr: SocketAddr, n: &CheckInNotice) -> Option<serde_json::Value> {
    let reference = n.reference.as_deref()?;
    let url = format!(
        "http://{}/v1/subsidy-checks?reference={reference}",
        gateway_addr
    );
    let client = reqwest::Client::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < end {
        if let Ok(r) = client.get(&url).send().await
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
