//! `demo`: the sandbox upstream, the sandbox オン資 terminal on a folder, and the gateway
//! together on this machine, with ready-to-paste requests for a few showcase personas
//! (`examples`), a window-charge showcase run against it (`charges`), and a feed of check-ins
//! as the gateway prefetches them (`feed`).
//!
//! The demo is a *client* of the gateway: it starts it through `app::run` like `serve` does and
//! talks to it over HTTP, so it stands outside the library's invariants (it is the one module
//! besides `upstream` that makes outbound connections — to the gateway on loopback). Nothing in
//! the gateway depends on it; it exists only with the `emulator` feature.

// The demo is a command-line program: it prints its feed to standard output.
#![allow(clippy::print_stdout)]

mod charges;
mod examples;
mod feed;
mod receipts;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::app::StartupError;
use crate::auth::{AccessConfig, Client, Scope, TokenHash};
use crate::checkin::WatchOptions;
use crate::config::{GatewayConfig, LogFormat, UpstreamConfig};
use crate::domain::MedicalInstitutionCode;
use crate::masters::MasterSource;
use crate::sandbox::DEMO_INSTITUTION;
use crate::sandbox::terminal::{Terminal, TerminalOptions};
use crate::sandbox::{self, Pki, SandboxError, SandboxHandle, SandboxOptions};
use crate::service::ServiceConfig;
use crate::store::StoreConfig;
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

pub use examples::DemoExample;
pub use feed::answer_for;

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("gateway: {0}")]
    Gateway(#[from] StartupError),
    #[error("the gateway did not answer /healthz within {0:?}")]
    NotReady(Duration),
    #[error("no random bytes for the demo client's token")]
    Token,
}

pub struct Demo {
    pub gateway_addr: SocketAddr,
    /// The demo client's bearer token (all scopes but `reception`), printed in the examples.
    pub token: String,
    /// The reception page's sign-in token (client `reception`: scopes reception, charges).
    pub reception_token: String,
    /// The gateway's state folder (audit, earlier answers), removed at the end.
    pub state_dir: PathBuf,
    pub sandbox: SandboxHandle,
    pub terminal: Terminal,
    /// The terminal's shared folder (`face/`, `req/`, `res/`).
    pub onshi_root: PathBuf,
    remove_root: bool,
    stop: oneshot::Sender<()>,
    gateway: tokio::task::JoinHandle<Result<(), StartupError>>,
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn bind(port: u16) -> Result<TcpListener, DemoError> {
    let addr = SocketAddr::new(LOOPBACK, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| DemoError::Bind { addr, source })
}

/// The name of the demo's client.
pub const DEMO_CLIENT: &str = "demo";
/// The name of the demo's reception-page client.
pub const RECEPTION_CLIENT: &str = "reception";

/// A client named `name` with `scopes`, known by `token`.
pub fn client(name: &str, token: &str, scopes: &[Scope]) -> Client {
    Client {
        name: name.into(),
        scopes: scopes.iter().copied().collect(),
        token: Some(TokenHash::of(token)),
        certificate_name: None,
    }
}

/// The gateway configuration the demo uses against a sandbox: its state in `state_dir`, its
/// callers `clients`.
pub fn gateway_config(
    sandbox: &SandboxHandle,
    listen: SocketAddr,
    state_dir: &std::path::Path,
    clients: Vec<Client>,
) -> GatewayConfig {
    GatewayConfig {
        listen,
        server_tls: None,
        access: AccessConfig {
            clients,
            allowed_hosts: AccessConfig::default_hosts(listen),
            max_failures: 10,
            failure_window: Duration::from_secs(60),
            block: Duration::from_secs(300),
        },
        store: StoreConfig::local(state_dir.to_path_buf()),
        body_limit_bytes: 64 * 1024,
        limits: Default::default(),
        institution: MedicalInstitutionCode::parse(DEMO_INSTITUTION).expect("valid code"),
        upstream: UpstreamConfig::Pmh {
            base_url: sandbox.base_url(),
            tls: UpstreamTls {
                ca_pem: sandbox.pki.ca_pem.clone().into_bytes(),
                identity_pem: sandbox.pki.client_identity_pem(),
            },
            connect_timeout: Duration::from_millis(500),
            proxy: None,
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

/// Starts the sandbox PMH, the sandbox terminal on a folder, and the gateway — through the same
/// `app::run` as `serve` — and returns once the gateway answers `/healthz`.
pub async fn start(opts: &DemoOptions) -> Result<Demo, DemoError> {
    let today = crate::domain::date::jst_date(chrono::Utc::now());
    let sandbox = sandbox::start(SandboxOptions {
        https: bind(opts.upstream_port).await?,
        admin: Some(bind(opts.admin_port).await?),
        pki: Pki::generate(DEMO_INSTITUTION).map_err(SandboxError::Pki)?,
        seed: opts.seed,
        today,
        population_size: sandbox::Population::DEFAULT_SIZE,
    })
    .await?;
    let state_dir = std::env::temp_dir().join(format!(
        "pmh-gateway-demo-state-{}-{}",
        std::process::id(),
        sandbox.https_addr.port()
    ));
    let (token, _) = crate::auth::new_token().map_err(|_| DemoError::Token)?;
    let (reception_token, _) = crate::auth::new_token().map_err(|_| DemoError::Token)?;
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
        ..TerminalOptions::new(&onshi_root, DEMO_INSTITUTION, today)
    })
    .map_err(|source| SandboxError::Folder {
        path: onshi_root.clone(),
        source,
    })?;
    let listener = bind(opts.port).await?;
    let gateway_addr = listener.local_addr().map_err(|source| DemoError::Bind {
        addr: SocketAddr::new(LOOPBACK, opts.port),
        source,
    })?;
    let mut cfg = gateway_config(
        &sandbox,
        gateway_addr,
        &state_dir,
        vec![
            client(
                DEMO_CLIENT,
                &token,
                &[
                    Scope::Check,
                    Scope::CheckIn,
                    Scope::OnshiPost,
                    Scope::Charges,
                    Scope::Admin,
                    Scope::ReceiptCheck,
                ],
            ),
            client(
                RECEPTION_CLIENT,
                &reception_token,
                &[Scope::Reception, Scope::Charges, Scope::ReceiptCheck],
            ),
        ],
    );
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
            share_timeout: crate::files::ShareIo::DEFAULT_DEADLINE,
        });
    }
    let (stop, stopped) = oneshot::channel();
    let mut gateway = tokio::spawn(crate::app::run(listener, cfg, async {
        let _ = stopped.await;
    }));
    // The demo is a client of the gateway: it waits until the gateway answers, or reports why
    // it stopped.
    const READY_WITHIN: Duration = Duration::from_secs(10);
    tokio::select! {
        ended = &mut gateway => {
            return Err(match ended {
                Ok(Err(e)) => DemoError::Gateway(e),
                _ => DemoError::NotReady(READY_WITHIN),
            });
        }
        ready = feed::wait_healthy(gateway_addr, READY_WITHIN) => {
            if !ready {
                gateway.abort();
                return Err(DemoError::NotReady(READY_WITHIN));
            }
        }
    }
    Ok(Demo {
        gateway_addr,
        token,
        reception_token,
        state_dir,
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
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}
