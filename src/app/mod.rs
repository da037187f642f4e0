//! Wiring: builds the service from a resolved configuration and serves the API (`listener`:
//! plain TCP on loopback, or TLS with optional client certificates).
//! `run(listener, config, shutdown)` lets tests bind port 0 and stop the server at will.

mod admission;
mod leased_watcher;
mod listener;
mod server;
mod store_durable;

pub use leased_watcher::{LeaseLoop, LeasedWatcher, replica_name};
pub use store_durable::StoreDurable;

pub use listener::{GatewayListener, Incoming};
pub use server::serve;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::access::Access;
use crate::api::json_cache::{self, JsonCache};
use crate::api::{self, AppParts, AppState};
use crate::checkin::Watcher;
use crate::config::{ConfigError, GatewayConfig, UpstreamConfig};
use crate::masters::MasterStore;
use crate::metrics::Metrics;
use crate::service::{Clock, SubsidyService, SystemClock};
use crate::store::{Hasher, LeaseBoard, LeaseMode, LeaseReport, SqliteStore, Store, StoreConfig};
use crate::upstream::{PmhClient, TerminalUpstream, Upstream};

/// Why the gateway could not start (or stopped serving): each names the setting, file or address.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("master tables: {0}")]
    Masters(#[from] crate::masters::MastersError),
    #[error("cannot watch the master tables in {dir} for changes: {source}")]
    MastersWatch {
        dir: std::path::PathBuf,
        source: notify::Error,
    },
    #[error("upstream client: {0}")]
    Upstream(#[from] crate::upstream::ClientBuildError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("check-in watcher: {0}")]
    CheckIn(crate::checkin::WatchError),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("REST listener TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// Builds the application state with the configured store and upstream: the PMH client, or
/// the オン資 terminal's folders.
pub async fn state_from_config(config: &GatewayConfig) -> Result<AppState, StartupError> {
    crate::tls::install_crypto_provider();
    let upstream: Arc<dyn Upstream> = match &config.upstream {
        UpstreamConfig::Pmh {
            base_url,
            tls,
            connect_timeout,
            proxy,
        } => Arc::new(PmhClient::new(
            base_url,
            tls,
            config.institution.clone(),
            *connect_timeout,
            proxy.as_deref(),
        )?),
        UpstreamConfig::Terminal(opts) => {
            for d in [&opts.req_dir, &opts.res_dir] {
                // A folder of the share that is missing, or a link, is refused.
                if let Err(e) = crate::files::check_real_dir(d) {
                    return Err(StartupError::Config(ConfigError::Invalid {
                        field: "onshi.folder",
                        reason: format!("the terminal's folder {}: {e}", d.display()),
                    }));
                }
            }
            Arc::new(
                TerminalUpstream::new(opts.clone(), config.institution.clone()).map_err(|e| {
                    StartupError::Config(ConfigError::Invalid {
                        field: "onshi.folder",
                        reason: format!("the terminal's folders: {e}"),
                    })
                })?,
            )
        }
    };
    let (store, hasher) = open_store(&config.store, StoreUse::Serve).await?;
    state_with_store(config, upstream, Arc::new(SystemClock), store, hasher)
}

/// Builds the application state around any upstream and clock (tests use their own), with the
/// local SQLite store of `config.store.dir`.
pub fn state_with_upstream(
    config: &GatewayConfig,
    upstream: Arc<dyn Upstream>,
    clock: Arc<dyn Clock>,
) -> Result<AppState, StartupError> {
    let (store, hasher) = open_local_store(&config.store)?;
    state_with_store(config, upstream, clock, store, hasher)
}

/// Builds the application state around an opened store.
pub fn state_with_store(
    config: &GatewayConfig,
    upstream: Arc<dyn Upstream>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Store>,
    hasher: Arc<Hasher>,
) -> Result<AppState, StartupError> {
    let masters = Arc::new(MasterStore::open(config.masters.clone())?);
    let metrics = Arc::new(Metrics::new());
    let access = Arc::new(Access::new(config.access.clone()));
    if !access.has_clients() {
        tracing::warn!(
            "no clients are configured: every /v1 request will be refused (add one with `pmh-gateway clients add NAME --scope check`)"
        );
    }
    let durable = Arc::new(StoreDurable {
        store: store.clone(),
        hasher: hasher.clone(),
    });
    let service = SubsidyService::new(
        upstream,
        masters,
        clock,
        config.service.clone(),
        Some(config.institution.clone()),
        metrics.clone(),
    )
    .with_durable(durable);
    let client_certificate_expires = client_certificate_expiry(config);
    if let Some(t) = client_certificate_expires {
        metrics.client_certificate_expiry.set(t.timestamp());
    }
    let lease = LeaseReport {
        mode: match (&config.checkin, &config.store.postgres) {
            (None, _) => LeaseMode::None,
            (Some(_), None) => LeaseMode::Local,
            (Some(_), Some(_)) => LeaseMode::Shared,
        },
        replica: replica_name(),
        ttl_ms: u64::try_from(config.store.lease_ttl.as_millis()).unwrap_or(u64::MAX),
        ..LeaseReport::default()
    };
    let lease = LeaseReport {
        held: lease.mode == LeaseMode::Local,
        ..lease
    };
    let service = Arc::new(service);
    let bodies: Arc<crate::answers::Bodies> = Arc::default();
    let receipt_checks = Arc::new(crate::receipts::ReceiptChecks::new(
        Arc::clone(&service),
        Arc::clone(&store),
        Arc::clone(&hasher),
        Arc::clone(&bodies),
        config.store.answer_retention,
    ));
    Ok(AppState::new(AppParts {
        lease: Arc::new(LeaseBoard::new(lease)),
        client_certificate_expires,
        service,
        metrics,
        body_limit: config.body_limit_bytes,
        access,
        store,
        hasher,
        answer_retention: config.store.answer_retention,
        json_cache: Arc::new(JsonCache::new(json_cache::DEFAULT_MAX_BYTES)),
        bodies,
        receipt_checks,
        tls: config.server_tls.is_some(),
        stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
    }))
}

/// When the first certificate of the PMH client identity expires (`None` in terminal mode).
fn client_certificate_expiry(config: &GatewayConfig) -> Option<chrono::DateTime<chrono::Utc>> {
    let UpstreamConfig::Pmh { tls, .. } = &config.upstream else {
        return None;
    };
    let certs = crate::tls::certs_from_pem(&tls.identity_pem).ok()?;
    let secs = crate::tls::not_after(certs.first()?)?;
    chrono::DateTime::from_timestamp(secs, 0)
}

/// What a store is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreUse {
    /// `serve`: the embedded store and its secret are created at first start; charges kept by
    /// an earlier build are rewritten keyed and sealed.
    Serve,
    /// Reading an existing store (`pmh-gateway audit`): the store and its secret must exist and
    /// match; nothing is created or rewritten, and the secret is only read.
    Inspect,
}

/// Opens the configured store — PostgreSQL when `store.url` is set, else SQLite in
/// `store.dir` — and its hashing secret (`store.key_file`), and checks that the secret is the
/// one the store was written with. The one way a store is opened, by `serve` and the CLI alike.
pub async fn open_store(
    cfg: &StoreConfig,
    usage: StoreUse,
) -> Result<(Arc<dyn Store>, Arc<Hasher>), StartupError> {
    let Some(pg) = &cfg.postgres else {
        return open_local_store_for(cfg, usage);
    };
    open_shared_store(pg, cfg, usage).await
}

/// Opens the shared PostgreSQL database; the secret is given (replicas share it), never made.
#[cfg(feature = "postgres")]
async fn open_shared_store(
    pg: &crate::store::PostgresConfig,
    cfg: &StoreConfig,
    usage: StoreUse,
) -> Result<(Arc<dyn Store>, Arc<Hasher>), StartupError> {
    let hasher = Arc::new(Hasher::open(&cfg.key_path())?);
    let store: Arc<dyn Store> = Arc::new(crate::store::PostgresStore::open(pg).await?);
    check_secret(&*store, &hasher, cfg, usage).await?;
    Ok((store, hasher))
}

/// A configuration naming PostgreSQL is refused when it is read (`config`) in a build without
/// it; this is what a configuration built by hand gets.
#[cfg(not(feature = "postgres"))]
async fn open_shared_store(
    _pg: &crate::store::PostgresConfig,
    _cfg: &StoreConfig,
    _usage: StoreUse,
) -> Result<(Arc<dyn Store>, Arc<Hasher>), StartupError> {
    Err(StartupError::Store(crate::store::StoreError::Unsupported(
        "this build has no PostgreSQL support (build it with `--features postgres`)",
    )))
}

/// Opens SQLite in `store.dir` and its hashing secret (both owner-only, created at first start).
pub fn open_local_store(cfg: &StoreConfig) -> Result<(Arc<dyn Store>, Arc<Hasher>), StartupError> {
    open_local_store_for(cfg, StoreUse::Serve)
}

fn open_local_store_for(
    cfg: &StoreConfig,
    usage: StoreUse,
) -> Result<(Arc<dyn Store>, Arc<Hasher>), StartupError> {
    let (store, hasher) = match usage {
        // The store first: it makes the state folder the secret is created in.
        StoreUse::Serve => {
            let store = SqliteStore::open(&cfg.dir, cfg.full_sync)?;
            (store, Hasher::open_or_create(&cfg.key_path())?)
        }
        StoreUse::Inspect => {
            let db = cfg.dir.join(crate::store::DB_FILE);
            if !db.exists() {
                return Err(crate::store::StoreError::NoStore { path: db }.into());
            }
            let hasher = Hasher::open(&cfg.key_path())?;
            (SqliteStore::open(&cfg.dir, cfg.full_sync)?, hasher)
        }
    };
    let (store, hasher): (Arc<dyn Store>, _) = (Arc::new(store), Arc::new(hasher));
    // SQLite answers on its own thread: the check needs no runtime of the caller's.
    let checked = std::thread::scope(|s| {
        s.spawn(|| futures::executor::block_on(check_secret(&*store, &hasher, cfg, usage)))
            .join()
    })
    .map_err(|_| crate::store::StoreError::Stopped)?;
    checked.map(|()| (store, hasher))
}

/// Refuses a secret the store was not written with; then (serving) rewrites charges an earlier
/// build kept with a plain fingerprint or answer.
async fn check_secret(
    store: &dyn Store,
    hasher: &Arc<Hasher>,
    cfg: &StoreConfig,
    usage: StoreUse,
) -> Result<(), StartupError> {
    if !store.key_check(hasher.key_check()).await? {
        return Err(crate::store::StoreError::OtherSecret {
            path: cfg.key_path(),
        }
        .into());
    }
    if usage == StoreUse::Serve {
        let h = hasher.clone();
        let resealed = store
            .reseal_charges(Arc::new(move |c| {
                (
                    h.charge_request(&c.fingerprint),
                    h.seal_charge(&c.owner, &c.visit_id, &c.answer),
                )
            }))
            .await?;
        if resealed > 0 {
            tracing::info!(
                resealed,
                "charges kept by an earlier build rewritten: keyed fingerprints, sealed answers"
            );
        }
    }
    Ok(())
}

/// Removes audit records older than the audit retention and answers past their own, by the
/// service's clock.
pub async fn purge_once(
    state: &AppState,
    cfg: &StoreConfig,
) -> Result<crate::store::Purged, crate::store::StoreError> {
    let keep = chrono::Duration::from_std(cfg.audit_retention).unwrap_or(chrono::Duration::MAX);
    let now = state.service.now();
    state.store.purge(now - keep, now).await
}

/// [`purge_once`] at start and then hourly.
pub fn spawn_retention(state: &AppState, cfg: &StoreConfig) -> tokio::task::JoinHandle<()> {
    let (state, cfg) = (state.clone(), cfg.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match purge_once(&state, &cfg).await {
                Ok(p) if p.audit_records + p.answers > 0 => tracing::info!(
                    audit_records = p.audit_records,
                    answers = p.answers,
                    "removed records past their retention"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
        }
    })
}

/// How often a replica reads the reception list's new rows (every replica's check-ins) into its
/// board: a check-in handled by another replica shows on this one's page within this.
pub const BOARD_SYNC: std::time::Duration = std::time::Duration::from_millis(500);

/// Reads the durable reception list into the board at start (a restart shows the day's list)
/// and then every [`BOARD_SYNC`], until the gateway stops.
pub fn spawn_board_sync(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut stopping = state.stopping.subscribe();
        let mut every = tokio::time::interval(BOARD_SYNC);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = 0;
        loop {
            tokio::select! {
                _ = every.tick() => last = state.service.sync_board(last).await,
                _ = stopping.changed() => return,
            }
        }
    })
}

/// Serves the gateway on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    config: GatewayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let state = state_from_config(&config).await?;
    let tls = config
        .server_tls
        .as_ref()
        .map(|m| crate::tls::rest_server_config(m).map(Arc::new))
        .transpose()?;
    let _masters_watcher = watch_masters(state.service.master_store().clone())?;
    let watcher = start_checkin_watcher(&config, &state)?;
    let retention = spawn_retention(&state, &config.store);
    let board_sync = spawn_board_sync(&state);
    let listener = GatewayListener::new(listener, tls).map_err(StartupError::Serve)?;
    let metrics = state.metrics.clone();
    let stopping = state.stopping.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.send_replace(true);
    };
    let store = state.store.clone();
    let service = state.service.clone();
    let served = serve(
        listener,
        api::router(state),
        config.limits,
        metrics,
        shutdown,
    )
    .await
    .map_err(StartupError::Serve);
    retention.abort();
    board_sync.abort();
    match watcher {
        Some(CheckinWatcher::Local(w)) => w.shutdown().await,
        Some(CheckinWatcher::Leased(w)) => w.shutdown().await,
        None => {}
    }
    // Last: the stand-ins written after their answers, then what was answered is committed,
    // and the state files are closed before `run` returns (a backup or a restart right after
    // finds them still).
    if tokio::time::timeout(config.limits.shutdown_grace, service.flush_kept())
        .await
        .is_err()
    {
        tracing::warn!(
            "the durable state did not take the last stand-ins within the shutdown grace"
        );
    }
    store.close().await;
    served
}

/// The check-in watcher as it runs: at once (SQLite), or under the store's lease (PostgreSQL).
pub enum CheckinWatcher {
    Local(Watcher),
    Leased(LeasedWatcher),
}

/// Starts the check-in watcher when the configuration has one: at once with SQLite, under the
/// store's lease with a shared PostgreSQL (`lease.rs`).
pub fn start_checkin_watcher(
    config: &GatewayConfig,
    state: &AppState,
) -> Result<Option<CheckinWatcher>, StartupError> {
    let Some(opts) = config.checkin.clone() else {
        return Ok(None);
    };
    let report = state.lease.report();
    let audit = crate::store::Recorder {
        store: state.store.clone(),
        hasher: state.hasher.clone(),
        holder: report.replica.clone(),
    };
    let (service, metrics) = (state.service.clone(), state.metrics.clone());
    let start = move || {
        Watcher::start(
            opts.clone(),
            service.clone(),
            metrics.clone(),
            Some(audit.clone()),
        )
        .map_err(StartupError::CheckIn)
    };
    if report.mode != LeaseMode::Shared {
        let w = start()?;
        state.metrics.lease_held.set(1);
        return Ok(Some(CheckinWatcher::Local(w)));
    }
    let leased = LeaseLoop {
        store: state.store.clone(),
        board: state.lease.clone(),
        metrics: state.metrics.clone(),
        replica: report.replica,
        ttl: config.store.lease_ttl,
    }
    .spawn(start);
    Ok(Some(CheckinWatcher::Leased(leased)))
}

/// Watches a masters directory and reloads on change (debounced). Returns the watcher, which
/// stops watching when dropped; `None` for embedded masters.
pub fn watch_masters(
    store: Arc<MasterStore>,
) -> Result<Option<notify::RecommendedWatcher>, StartupError> {
    use notify::Watcher;
    let crate::masters::MasterSource::Dir(dir) = store.source().clone() else {
        return Ok(None);
    };
    let failed = |source| StartupError::MastersWatch {
        dir: dir.clone(),
        source,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev
            && !ev.kind.is_access()
        {
            let _ = tx.send(());
        }
    })
    .map_err(failed)?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .map_err(failed)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let a burst of writes (an editor, a copy) settle before reading.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            while rx.try_recv().is_ok() {}
            let s = store.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
        }
    });
    tracing::info!(dir = %dir.display(), "watching the master tables for changes");
    Ok(Some(watcher))
}
