//! The `pmh-gateway` command.

// The command line: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

/// mimalloc instead of glibc's malloc: under load glibc's arenas contend across the runtime's
/// threads (seen in profiles); measured side by side by deploy/bench/run, the cached answer went
/// from 24,400 to 29,700 requests/s with the store out of the way (README, Benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use pmh_gateway::app::StartupError;
use pmh_gateway::config::{self, ConfigError, LogFormat};
use pmh_gateway::domain::check_digit::{self, Verdict};
use pmh_gateway::tls;
#[cfg(feature = "emulator")]
use pmh_gateway::{
    demo,
    domain::date,
    sandbox::{self, DEMO_INSTITUTION, Pki, SandboxError, SandboxOptions},
};

/// Why a command failed; printed with its causes, exit code 2.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[cfg(feature = "emulator")]
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[cfg(feature = "emulator")]
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
    #[cfg(feature = "emulator")]
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Clinic-side gateway for public-expense medical subsidies (公費・医療費助成) held in PMH.
///
/// A receipt computer asks the local REST API which subsidies apply to a patient today; the
/// gateway queries PMH over mutual TLS, caches, validates and maps the answer with its master
/// tables, and answers with the subsidies in the order they apply.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the gateway with a TOML configuration file (see README.md for every key).
    ///
    /// Environment variables PMH_GATEWAY_* override paths and secrets (e.g.
    /// PMH_GATEWAY_UPSTREAM_CLIENT_KEY).
    Serve {
        /// The TOML configuration file.
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Run the PMH sandbox: an HTTPS emulator with a synthetic population that refuses clients
    /// without a certificate signed by its CA, plus a loopback admin API.
    #[cfg(feature = "emulator")]
    Sandbox {
        /// HTTPS address.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Port of the plain-HTTP admin API (always on 127.0.0.1).
        #[arg(long, default_value_t = 8444)]
        admin_port: u16,
        /// Write the generated CA, server and client certificates here (ca.pem, client.pem,
        /// client.key, …) so that a separately started `serve` can use them.
        #[arg(long, value_name = "DIR")]
        cert_dir: Option<PathBuf>,
        /// Write only what a gateway needs here — the CA's certificate and the client
        /// certificate and key (ca.pem, client.pem, client.key) — without the sandbox's own key.
        #[arg(long, value_name = "DIR")]
        client_dir: Option<PathBuf>,
        /// Another name the sandbox's server certificate is valid for, besides localhost and
        /// 127.0.0.1 (repeatable): the host name a gateway in another container uses.
        #[arg(long = "server-name", value_name = "NAME")]
        server_names: Vec<String>,
        /// Population seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The day validity periods are placed around (YYYY-MM-DD); today in JST by default.
        #[arg(long)]
        today: Option<String>,
        /// Number of synthetic persons.
        #[arg(long, default_value_t = sandbox::Population::DEFAULT_SIZE)]
        population: usize,
        /// Also emulate the オン資 terminal on this folder: synthetic check-ins into DIR/face, and
        /// answers to request files in DIR/req (written to DIR/res).
        #[arg(long, value_name = "DIR")]
        terminal_dir: Option<PathBuf>,
        /// Milliseconds between check-ins written by the terminal (0: none).
        #[arg(long, default_value_t = 3000)]
        check_in_every_ms: u64,
        /// Every n-th check-in is malformed (0: never).
        #[arg(long, default_value_t = 10)]
        malformed_every: u64,
        /// Write the population's UKE file (the month's claims of the demo institution, with a
        /// deliberate mistake of each kind the receipt checks find) for this month (YYYY-MM;
        /// the previous month by default) to `--uke-out`, and exit.
        #[arg(long, value_name = "YYYY-MM", requires = "uke_out")]
        uke_month: Option<String>,
        /// Where to write the UKE file (see `--uke-month`).
        #[arg(long, value_name = "FILE")]
        uke_out: Option<PathBuf>,
        /// At most this many receipts in the UKE file.
        #[arg(long, default_value_t = 400)]
        uke_receipts: usize,
    },
    /// Start the sandbox and the gateway together and print ready-to-paste requests.
    #[cfg(feature = "emulator")]
    Demo {
        /// Gateway REST port.
        #[arg(long, default_value_t = 8421)]
        port: u16,
        /// Sandbox HTTPS port.
        #[arg(long, default_value_t = 8443)]
        upstream_port: u16,
        /// Sandbox admin port.
        #[arg(long, default_value_t = 8444)]
        admin_port: u16,
        /// Population seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The emulated オン資 terminal's shared folder (face/, req/, res/); a temporary one,
        /// removed at the end, by default.
        #[arg(long, value_name = "DIR")]
        onshi_dir: Option<PathBuf>,
        /// Milliseconds between synthetic check-ins (0: none).
        #[arg(long, default_value_t = 3000)]
        check_in_every_ms: u64,
        /// Ask through the terminal's req/res folders instead of PMH over HTTPS.
        #[arg(long)]
        via_terminal: bool,
    },
    /// What a visit costs at the window, with every step: FILE is the body of
    /// POST /v1/charge-quotes with the subsidies typed in (`subsidies`). No gateway is needed;
    /// amounts paid elsewhere this month (the ledger) are not known here.
    Quote {
        /// The request file (JSON).
        #[arg(value_name = "FILE.json")]
        file: PathBuf,
        /// A masters folder instead of the embedded tables.
        #[arg(long, value_name = "DIR")]
        masters: Option<PathBuf>,
        /// Print the answer as JSON (as the API gives it).
        #[arg(long)]
        json: bool,
    },
    /// Master tables (programmes by 法別, local programmes).
    Masters {
        #[command(subcommand)]
        command: MastersCommand,
    },
    /// Named callers: add a client with its scopes and get its token (shown once).
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Search the audit (who asked about whom) and export it as CSV or JSON Lines. A patient is
    /// found by the hash of the insurance identity given here; nothing personal is stored.
    Audit {
        /// The gateway's configuration file (its state folder holds the audit).
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        #[command(flatten)]
        criteria: cli::audit::Criteria,
        /// csv, jsonl or json.
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// A local CA for clinics without a PKI: the REST listener's certificate and client
    /// certificates for receipt computers (keys owner-only).
    #[cfg(feature = "pki")]
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Ask the gateway of this configuration for /healthz on loopback (TLS pinned to its own
    /// certificate): a container's health check. Exits 0 when it answers 200, else 1.
    Healthcheck {
        /// The TOML configuration file.
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// The month-end receipt pre-check: send a month's UKE file to the running gateway.
    Receipts {
        #[command(subcommand)]
        command: ReceiptsCommand,
    },
    /// Check 公費負担者番号 (8 digits) and 公費受給者番号 (7 digits) check digits.
    ///
    /// Prints `valid` or the expected check digit for each; exits 1 if any is invalid.
    CheckNumber {
        #[arg(required = true, value_name = "NUMBER")]
        numbers: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ReceiptsCommand {
    /// Check FILE (the UKE file the receipt computer wrote for the month) against each
    /// receipt's rules, PMH and the 管理票 ledger, through the gateway of this configuration;
    /// shows the progress and prints the receipts to review. The token of a client with the
    /// `receipt_check` scope is read from PMH_GATEWAY_TOKEN. Exits 0 once the check is done
    /// (with findings or without), 1 when it could not run.
    Check {
        /// The UKE file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The gateway's configuration file (its address and TLS certificate).
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        /// text (for the clerk), json (the API's answer) or csv.
        #[arg(long, value_enum, default_value = "text")]
        format: cli::receipts::Format,
        /// The gateway's base URL, when not the configuration's listen address on loopback.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Make a token for a new client and print it with the configuration lines to add.
    Add {
        /// The client's name (A-Z a-z 0-9 . _ -), as the audit will show it.
        name: String,
        /// check, check_in, onshi_post, charges, admin, reception, receipt_check (repeat or
        /// separate by commas).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Also a client certificate for it from the CA in DIR (`pki init`): issued now, or the
        /// one issued before; the one configuration block names both.
        #[arg(long = "certificate-dir", value_name = "DIR")]
        certificate_dir: Option<PathBuf>,
    },
}

#[cfg(feature = "pki")]
#[derive(Subcommand)]
enum PkiCommand {
    /// A new CA and the REST listener's certificate in DIR (and client certificates).
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// A host name or address the receipt computers use to reach the gateway (repeatable).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// A client certificate to issue too, named so (repeatable).
        #[arg(long = "client")]
        clients: Vec<String>,
        /// The service's group (e.g. `pmh-gateway`): it may then read the folder, the server's
        /// certificate and key and the CA's certificate; the CA's key stays owner-only.
        #[arg(long)]
        group: Option<String>,
    },
    /// Another client certificate from the CA in DIR.
    Client {
        #[arg(long)]
        dir: PathBuf,
        name: String,
    },
}

#[derive(Subcommand)]
enum MastersCommand {
    /// Validate every row of every master file; print `file:line: reason` for each bad row and
    /// exit 1 if there is any.
    Check {
        /// The directory with the CSV files; the embedded tables when absent.
        dir: Option<PathBuf>,
    },
}

fn masters_check(dir: Option<PathBuf>) -> ExitCode {
    let source = match dir {
        Some(d) => pmh_gateway::masters::MasterSource::Dir(d),
        None => pmh_gateway::masters::MasterSource::Embedded,
    };
    match pmh_gateway::masters::load(&source) {
        Ok(m) => {
            for f in &m.files {
                println!(
                    "{}: ok, version {}, effective {}, {} rows",
                    f.file, f.version, f.effective, f.rows
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let rows = e.rows();
            for r in &rows {
                println!("{r}");
            }
            println!("{} error(s)", rows.len());
            ExitCode::from(1)
        }
    }
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogSink(std::io::stderr()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Standard error for the log, where a failed write is dropped: a closed log pipe (a restarted
/// journal, a supervisor gone) must not stop the gateway (tracing-subscriber would report the
/// failure on the same broken stream, which panics).
struct LogSink(std::io::Stderr);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(self.0.write(buf).unwrap_or(buf.len()))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, StartupError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// Prints the text, or the error and exit code 1.
fn print_or_fail(r: Result<String, String>) -> ExitCode {
    match r {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn check_numbers(numbers: &[String]) -> ExitCode {
    let masters = pmh_gateway::masters::embedded();
    let mut all_ok = true;
    for n in numbers {
        let kind = match n.len() {
            8 => "payer number (公費負担者番号)",
            7 => "recipient number (公費受給者番号)",
            _ => "",
        };
        let verdict = check_digit::verify(n).filter(|_| !kind.is_empty());
        let line = match verdict {
            None => {
                all_ok = false;
                format!(
                    "{n}: invalid: expected 8 digits (payer number) or 7 digits (recipient number)"
                )
            }
            Some(Verdict::Mismatch { expected, .. }) => {
                all_ok = false;
                format!("{n}: invalid {kind}: check digit should be {expected}")
            }
            Some(Verdict::Valid) => {
                let programme = pmh_gateway::domain::PayerNumber::parse(n)
                    .ok()
                    .and_then(|p| {
                        masters
                            .national(p.law_code())
                            .map(|x| format!(" — 法別 {} {}", x.law_code, x.name))
                            .or_else(|| {
                                masters
                                    .local(&p)
                                    .map(|l| format!(" — {} ({})", l.name, l.short_name))
                            })
                    })
                    .unwrap_or_default();
                format!("{n}: valid {kind}{programme}")
            }
        };
        println!("{line}");
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `clients add NAME --certificate-dir DIR`: the client's certificate from the CA in DIR, then
/// its token and the one block naming both.
#[cfg(feature = "pki")]
fn with_certificate(
    dir: &std::path::Path,
    name: &str,
    scopes: &[String],
) -> Result<String, String> {
    cli::clients::add(name, scopes, true).and_then(|text| {
        cli::pki::issue_or_reuse(dir, name)?;
        Ok(format!(
            "Client certificate {d}/{name}.pem and key {d}/{name}.key (give both to the client).\n\n{text}",
            d = dir.display()
        ))
    })
}

#[cfg(not(feature = "pki"))]
fn with_certificate(_: &std::path::Path, _: &str, _: &[String]) -> Result<String, String> {
    Err("--certificate-dir needs a build with the `pki` feature".into())
}

async fn real_main(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::CheckNumber { numbers } => Ok(check_numbers(&numbers)),
        Command::Clients {
            command:
                ClientsCommand::Add {
                    name,
                    scopes,
                    certificate_dir,
                },
        } => Ok(print_or_fail(match certificate_dir {
            None => cli::clients::add(&name, &scopes, false),
            Some(dir) => with_certificate(&dir, &name, &scopes),
        })),
        #[cfg(feature = "pki")]
        Command::Pki { command } => Ok(print_or_fail(match command {
            PkiCommand::Init {
                dir,
                names,
                clients,
                group,
            } => cli::pki::init(&dir, &names, &clients, group.as_deref()),
            PkiCommand::Client { dir, name } => cli::pki::client(&dir, &name),
        })),
        Command::Audit {
            config,
            criteria,
            format,
        } => {
            let cfg = config::load(&config)?;
            Ok(print_or_fail(
                cli::audit::search(&cfg.store, criteria, &format).await,
            ))
        }
        Command::Masters {
            command: MastersCommand::Check { dir },
        } => Ok(masters_check(dir)),
        Command::Quote {
            file,
            masters,
            json,
        } => Ok(print_or_fail(
            cli::quote::run(&file, masters.as_deref(), json).await,
        )),
        Command::Receipts {
            command:
                ReceiptsCommand::Check {
                    file,
                    config,
                    format,
                    url,
                },
        } => {
            let cfg = config::load(&config)?;
            Ok(print_or_fail(
                cli::receipts::check(&cfg, url.as_deref(), &file, format).await,
            ))
        }
        Command::Healthcheck { config } => {
            let cfg = config::load(&config)?;
            Ok(print_or_fail(cli::healthcheck::check(&cfg).await))
        }
        Command::Serve { config } => {
            let cfg = config::load(&config)?;
            init_logging(&cfg.log_level, cfg.log_format);
            let listener = bind(cfg.listen).await?;
            if !cfg.listen.ip().is_loopback() {
                tracing::warn!(addr = %cfg.listen, "listening beyond loopback: make sure only the clinic's own machines can reach this port");
            }
            pmh_gateway::run(listener, cfg, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "emulator")]
        Command::Sandbox {
            listen,
            admin_port,
            cert_dir,
            client_dir,
            server_names,
            seed,
            today,
            population,
            terminal_dir,
            check_in_every_ms,
            malformed_every,
            uke_month,
            uke_out,
            uke_receipts,
        } => {
            init_logging("info", LogFormat::Text);
            let today = match today {
                Some(t) => date::parse_iso(&t).map_err(|e| ConfigError::Invalid {
                    field: "--today",
                    reason: e.to_string(),
                })?,
                None => date::jst_date(chrono::Utc::now()),
            };
            if let Some(out) = uke_out {
                return write_uke(
                    today,
                    seed,
                    population,
                    uke_month.as_deref(),
                    &out,
                    uke_receipts,
                );
            }
            let pki =
                Pki::generate_for(DEMO_INSTITUTION, &server_names).map_err(SandboxError::Pki)?;
            if let Some(dir) = &cert_dir {
                pki.write_to(dir).map_err(|source| SandboxError::CertDir {
                    path: dir.clone(),
                    source,
                })?;
                println!("certificates written to {}", dir.display());
            }
            if let Some(dir) = &client_dir {
                pki.write_client_to(dir)
                    .map_err(|source| SandboxError::CertDir {
                        path: dir.clone(),
                        source,
                    })?;
                println!("the client identity written to {}", dir.display());
            }
            let handle = sandbox::start(SandboxOptions {
                https: bind(listen).await?,
                admin: Some(bind(SocketAddr::from(([127, 0, 0, 1], admin_port))).await?),
                pki,
                seed,
                today,
                population_size: population,
            })
            .await?;
            println!(
                "sandbox listening on {} (admin http://{})",
                handle.base_url(),
                handle.admin_addr.map(|a| a.to_string()).unwrap_or_default()
            );
            let terminal = match terminal_dir {
                Some(dir) => {
                    let t =
                        sandbox::terminal::Terminal::start(sandbox::terminal::TerminalOptions {
                            seed,
                            population_size: population,
                            check_in_every: (check_in_every_ms > 0)
                                .then(|| std::time::Duration::from_millis(check_in_every_ms)),
                            malformed_every,
                            ..sandbox::terminal::TerminalOptions::new(&dir, DEMO_INSTITUTION, today)
                        })
                        .map_err(|source| SandboxError::Folder {
                            path: dir.clone(),
                            source,
                        })?;
                    println!(
                        "オン資 terminal emulated on {} (check-ins into face/, requests answered from req/ into res/)",
                        dir.display()
                    );
                    Some(t)
                }
                None => None,
            };
            shutdown_signal().await;
            if let Some(t) = terminal {
                t.shutdown().await;
            }
            handle.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "emulator")]
        Command::Demo {
            port,
            upstream_port,
            admin_port,
            seed,
            onshi_dir,
            check_in_every_ms,
            via_terminal,
        } => {
            init_logging("info", LogFormat::Text);
            let d = demo::start(&demo::DemoOptions {
                port,
                upstream_port,
                admin_port,
                seed,
                onshi_dir,
                check_in_every: (check_in_every_ms > 0)
                    .then(|| std::time::Duration::from_millis(check_in_every_ms)),
                terminal_upstream: via_terminal,
            })
            .await?;
            println!("{}", d.instructions());
            match d.charges_showcase().await {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("the window-charge showcase failed: {e}"),
            }
            match d.receipts_showcase().await {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("the receipt check showcase failed: {e}"),
            }
            println!("{}", demo::Demo::FEED_HEADER);
            let feed = d.spawn_feed();
            shutdown_signal().await;
            feed.abort();
            d.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    // No transparent huge pages in this process: where the kernel backs a touched 2 MiB with a
    // huge page, it is resident whole — 18 of the 40 MB an idle gateway held, for no measurable
    // throughput (deploy/bench/run, side by side). mimalloc is built not to advise them (feature
    // `no_thp`: the pages it touched before this line), and this turns them off where the
    // kernel would use them unasked (THP "always"). A kernel without the setting keeps its own.
    #[cfg(target_os = "linux")]
    let _unsupported = rustix::thread::disable_transparent_huge_pages(true);
    let cli = Cli::parse();
    tls::install_crypto_provider();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(real_main(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", pmh_gateway::errors::report(&e));
            ExitCode::from(2)
        }
    }
}

/// `sandbox --uke-out FILE`: the population's UKE file for a month, and what was planted in it.
#[cfg(feature = "emulator")]
fn write_uke(
    today: chrono::NaiveDate,
    seed: u64,
    population: usize,
    month: Option<&str>,
    out: &std::path::Path,
    limit: usize,
) -> Result<ExitCode, CliError> {
    use chrono::Datelike;
    let first = match month {
        Some(m) => date::parse_iso(&format!("{m}-01"))
            .ok()
            .filter(|_| m.len() == 7)
            .ok_or_else(|| ConfigError::Invalid {
                field: "--uke-month",
                reason: "must be YYYY-MM".into(),
            })?,
        None => today
            .with_day(1)
            .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
            .expect("a previous month"),
    };
    let pop = sandbox::Population::generate(seed, today, population);
    let masters = pmh_gateway::masters::embedded();
    let file = sandbox::uke::month_file(&pop, &masters, first, limit);
    std::fs::write(out, &file.bytes).map_err(|source| CliError::Write {
        path: out.to_owned(),
        source,
    })?;
    println!(
        "{}: {} receipts of {} (Shift_JIS, {} bytes); planted, one finding each:",
        out.display(),
        file.receipts,
        first.format("%Y-%m"),
        file.bytes.len()
    );
    for (receipt, code) in &file.planted {
        println!("  receipt {receipt}: {}", code.as_str());
    }
    Ok(ExitCode::SUCCESS)
}
