//! The shared backend: PostgreSQL, for several replicas on one database (`store.url =
//! "postgres://…"`). The same trait and the same migrations as SQLite (each migration has its
//! PostgreSQL form under `migrations/postgres/`), applied at start under an advisory lock so
//! that replicas starting together apply them once. A pool of connections (`deadpool`); each
//! call is one statement or one transaction, committed before it returns (PostgreSQL groups
//! concurrent commits itself).
//!
//! Concurrency between replicas: a visit's commit or void takes a transaction-scoped advisory
//! lock on the visit id (two replicas committing one visit get versions 1 and 2, or a conflict,
//! never a duplicate key), and a 管理票 void locks the row it voids.
//!
//! TLS: a database beyond loopback is reached over TLS with the CA given (`store.ca_cert`),
//! verified by rustls; without a CA only a loopback host or a Unix socket is accepted.

mod audit;
mod board;
mod charges;
mod checkin_files;
mod kept;
mod reports;
mod sessions;

use futures::future::BoxFuture;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;

use super::{
    Audit, AuditQuery, AuditRecord, ChargeCommit, ChargeRecord, Charges, CheckCommit,
    CheckCommitted, CheckinFiles, CommitOutcome, EntryAdded, EntryVoid, EntryVoidOutcome, Kept,
    KeptChange, KeptItem, KeyedHash, LeaseState, LedgerRow, LedgerSource, LegacyCharge,
    NewLedgerEntry, Operation, PostgresConfig, ProcessedFile, Purged, Reseal, SCHEMA_MIGRATIONS,
    Store, StoreError, StoreInfo, StoredAnswer, VoidOutcome, month_key, next_migration,
};
use crate::columns::{care_of, care_str, day_text, from_ms, ms, source_of, yen, yen_of};
use crate::sql;

/// Host(s), port and database of a connection string, without user or password.
pub fn where_of(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect();
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!(
                "postgres://{}:{port}/{}",
                hosts.join(","),
                c.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "postgres (unreadable connection string)".into(),
    }
}

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    at: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// A database error in the store's words: SQLSTATE and message, never a value (the statements
/// take parameters; PostgreSQL's messages name constraints and columns).
fn pg_error(at: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| StoreError::Remote {
        at: at.to_owned(),
        reason: match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        },
    }
}

/// Whether every address the connection can use is on this machine: every `host` (a Unix
/// socket, `localhost` or a loopback address) and every `hostaddr` — which, when given, is
/// where the connection goes whatever `host` says (`host` then only names the server).
fn is_loopback(c: &tokio_postgres::Config) -> bool {
    let hosts = c.get_hosts();
    let addrs = c.get_hostaddrs();
    (!hosts.is_empty() || !addrs.is_empty())
        && hosts.iter().all(|h| match h {
            tokio_postgres::config::Host::Unix(_) => true,
            tokio_postgres::config::Host::Tcp(h) => {
                h == "localhost"
                    || h.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        })
        && addrs.iter().all(|a| a.is_loopback())
}

impl PostgresStore {
    /// Connects, checks the schema and applies the migrations it lacks.
    pub async fn open(cfg: &PostgresConfig) -> Result<Self, StoreError> {
        let at = where_of(&cfg.url);
        let refused = |reason: String| StoreError::Remote {
            at: at.clone(),
            reason,
        };
        let mut pg: tokio_postgres::Config = cfg
            .url
            .parse()
            .map_err(|e| refused(format!("the connection string does not read: {e}")))?;
        pg.application_name("pmh-gateway");
        pg.connect_timeout(Duration::from_secs(5));
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &cfg.ca_pem {
            Some(pem) => {
                pmh_tls::install_crypto_provider();
                pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let mut roots = rustls::RootCertStore::empty();
                for cert in pmh_tls::certs_from_pem(pem)
                    .map_err(|e| refused(format!("store.ca_cert: {e}")))?
                {
                    roots
                        .add(cert)
                        .map_err(|e| refused(format!("store.ca_cert: {e}")))?;
                }
                let tls = rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Manager::from_config(
                    pg,
                    tokio_postgres_rustls::MakeRustlsConnect::new(tls),
                    manager_config,
                )
            }
            None => {
                if !is_loopback(&pg) {
                    return Err(refused(
                        "a database beyond loopback is reached only over TLS: set store.ca_cert to the CA of its certificate".into(),
                    ));
                }
                Manager::from_config(pg, tokio_postgres::NoTls, manager_config)
            }
        };
        let pool = Pool::builder(manager)
            .max_size(cfg.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| refused(e.to_string()))?;
        let store = Self { pool, at };
        store.migrate().await?;
        Ok(store)
    }

    /// Where it is (no credentials).
    pub fn location(&self) -> &str {
        &self.at
    }

    async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Closed => StoreError::Stopped,
            e => StoreError::Remote {
                at: self.at.clone(),
                reason: format!("no connection: {e}"),
            },
        })
    }

    /// Applies the migrations this database lacks, each in its own transaction, under an
    /// advisory lock (replicas starting together wait for each other).
    async fn migrate(&self) -> Result<(), StoreError> {
        let err = pg_error(&self.at);
        let mut conn = self.conn().await?;
        // Under the migrations' lock: `CREATE TABLE IF NOT EXISTS` is not safe against another
        // replica creating the table at the same moment (it fails with 42P07 or 23505).
        let tx = conn.transaction().await.map_err(&err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(&err)?;
        tx.batch_execute(SCHEMA_MIGRATIONS).await.map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        loop {
            let tx = conn.transaction().await.map_err(&err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(&err)?;
            let current: i32 = tx
                .query_one(sql::SCHEMA_VERSION, &[])
                .await
                .map_err(&err)?
                .get(0);
            let Some(m) = next_migration(current.max(0) as u32)? else {
                return Ok(());
            };
            let failed = |e: tokio_postgres::Error| StoreError::Migration {
                version: m.version,
                name: m.name,
                reason: match e.as_db_error() {
                    Some(db) => db.message().to_owned(),
                    None => e.to_string(),
                },
            };
            tx.batch_execute(m.postgres).await.map_err(failed)?;
            tx.execute(
                sql::RECORD_MIGRATION,
                &[&(m.version as i32), &m.name, &Utc::now().to_rfc3339()],
            )
            .await
            .map_err(failed)?;
            tx.commit().await.map_err(failed)?;
            tracing::info!(
                version = m.version,
                name = m.name,
                "store migration applied"
            );
        }
    }

    /// Runs one statement that changes rows (tests: to show what the database refuses).
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        conn.execute(sql, &[]).await.map_err(pg_error(&self.at))
    }
}

/// The advisory lock key of the migrations ("pmhg-mig").
const MIGRATION_LOCK: i64 = 0x0070_6d68_676d_6967;

fn hash(v: Option<String>) -> Option<KeyedHash> {
    v.as_deref().and_then(KeyedHash::parse)
}

fn record_from_row(r: &tokio_postgres::Row) -> AuditRecord {
    let op: String = r.get("operation");
    AuditRecord {
        seq: Some(r.get("seq")),
        at: from_ms(r.get("at_ms")),
        client: r.get("client"),
        operation: Operation::parse(&op).unwrap_or(Operation::Operations),
        http_status: r
            .get::<_, Option<i32>>("http_status")
            .and_then(|v| u16::try_from(v).ok()),
        status: r.get("status"),
        source: r.get("source"),
        subsidies: r
            .get::<_, Option<i32>>("subsidies")
            .and_then(|v| u32::try_from(v).ok()),
        check_id: r.get("check_id"),
        patient: hash(r.get("patient")),
        reference: hash(r.get("reference")),
        detail: r.get("detail"),
        card: hash(r.get("card")),
        shown: Vec::new(),
    }
}

/// The latest version of an owner's visit: (version, voided, fingerprint, answer, month).
async fn latest_charge(
    tx: &deadpool_postgres::Transaction<'_>,
    owner: &str,
    visit_id: &str,
) -> Result<Option<(u32, bool, String, String, String)>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT version, voided, fingerprint, answer, month FROM charges
             WHERE owner = $1 AND visit_id = $2 ORDER BY version DESC LIMIT 1",
            &[&owner, &visit_id],
        )
        .await?;
    Ok(row.map(|r| {
        (
            r.get::<_, i32>(0).max(0) as u32,
            r.get::<_, i32>(1) != 0,
            r.get(2),
            r.get(3),
            r.get(4),
        )
    }))
}

/// Serialises the commits and voids of one visit across replicas, until the transaction ends.
async fn lock_visit(
    tx: &deadpool_postgres::Transaction<'_>,
    owner: &str,
    visit_id: &str,
) -> Result<(), tokio_postgres::Error> {
    lock(tx, &format!("charge:{owner}/{visit_id}")).await
}

/// A transaction-scoped advisory lock on `key`: held by one transaction of any replica at a
/// time, until it ends.
async fn lock(
    tx: &deadpool_postgres::Transaction<'_>,
    key: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&key],
    )
    .await
    .map(|_| ())
}

/// A ledger row; `None` when the owner's entry id is taken (nothing written).
async fn insert_entry(
    tx: &deadpool_postgres::Transaction<'_>,
    e: &NewLedgerEntry,
    source: LedgerSource,
    visit: Option<(&str, u32)>,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let stmt = tx.prepare_cached(sql::INSERT_ENTRY).await?;
    let row = tx
        .query_opt(
            &stmt,
            &[
                &e.card.as_str(),
                &month_key(e.date),
                &source.as_str(),
                &visit.map(|v| v.0),
                &visit.map(|v| v.1 as i32),
                &day_text(e.date),
                &yen(e.amount),
                &e.total_cost.map(yen),
                &care_str(e.care),
                &e.institution,
                &e.cap.map(yen),
                &e.client,
                &ms(e.at),
                &e.owner,
                &e.key.as_ref().map(|k| k.id.as_str()),
                &e.key.as_ref().map(|k| k.fingerprint.as_str()),
            ],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

async fn insert_answer(
    client: &impl deadpool_postgres::GenericClient,
    a: &StoredAnswer,
) -> Result<(), tokio_postgres::Error> {
    if let (Some(id), Some(body)) = (&a.body_id, &a.body) {
        let stmt = client.prepare_cached(sql::INSERT_ANSWER_BODY).await?;
        client
            .execute(&stmt, &[id, &ms(a.created_at), body])
            .await?;
    }
    let stmt = client.prepare_cached(sql::INSERT_ANSWER).await?;
    client
        .execute(
            &stmt,
            &[
                &a.check_id,
                &ms(a.created_at),
                &ms(a.expires_at),
                &a.patient.as_ref().map(KeyedHash::as_str),
                &a.sealed,
                &a.body_id,
            ],
        )
        .await?;
    Ok(())
}

/// A card's ledger rows in a month, by date (`sql::LEDGER_ROWS`).
async fn ledger_rows(
    client: &impl deadpool_postgres::GenericClient,
    card: &KeyedHash,
    month: NaiveDate,
) -> Result<Vec<LedgerRow>, tokio_postgres::Error> {
    let stmt = client.prepare_cached(sql::LEDGER_ROWS).await?;
    let rows = client
        .query(&stmt, &[&card.as_str(), &month_key(month)])
        .await?;
    let mut rows: Vec<LedgerRow> = rows
        .iter()
        .map(|r| LedgerRow {
            id: r.get(0),
            source: source_of(r.get(1)),
            visit_id: r.get(2),
            version: r.get::<_, Option<i32>>(3).map(|v| v.max(0) as u32),
            date: pmh_core::domain::date::parse_iso(r.get(4)).unwrap_or_default(),
            amount: yen_of(r.get(5)),
            total_cost: r.get::<_, Option<i64>>(6).map(yen_of),
            care: care_of(r.get(7)),
            institution: r.get(8),
            cap: r.get::<_, Option<i64>>(9).map(yen_of),
            client: r.get(10),
            at: from_ms(r.get(11)),
        })
        .collect();
    rows.sort_by_key(|r| (r.date, r.id));
    Ok(rows)
}

async fn insert_audit(
    client: &impl deadpool_postgres::GenericClient,
    rec: &AuditRecord,
) -> Result<i64, tokio_postgres::Error> {
    let stmt = client
        .prepare_cached(
            "WITH a AS (
                INSERT INTO audit (at, at_ms, client, operation, http_status, status, source,
                    subsidies, check_id, patient, reference, detail, card)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                RETURNING seq),
             s AS (
                INSERT INTO audit_shown (audit_seq, reference, at_ms)
                SELECT a.seq, r, $2 FROM a, unnest($14::text[]) AS r)
             SELECT seq FROM a",
        )
        .await?;
    let row = client
        .query_one(
            &stmt,
            &[
                &rec.at.to_rfc3339(),
                &ms(rec.at),
                &rec.client,
                &rec.operation.as_str(),
                &rec.http_status.map(i32::from),
                &rec.status,
                &rec.source,
                &rec.subsidies.map(|v| i32::try_from(v).unwrap_or(i32::MAX)),
                &rec.check_id,
                &rec.patient.as_ref().map(KeyedHash::as_str),
                &rec.reference.as_ref().map(KeyedHash::as_str),
                &rec.detail,
                &rec.card.as_ref().map(KeyedHash::as_str),
                &rec.shown
                    .iter()
                    .map(KeyedHash::as_str)
                    .collect::<Vec<&str>>(),
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// Milliseconds since the epoch on the database's clock (not the transaction's start).
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

impl Store for PostgresStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let conn = self.conn().await?;
            let r = conn
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM audit), (SELECT COUNT(*) FROM answers),
                            (SELECT COUNT(*) FROM ledger_entries), (SELECT COUNT(*) FROM kept),
                            (SELECT COALESCE(MAX(version), 0) FROM schema_migrations),
                            pg_database_size(current_database()),
                            (SELECT COUNT(*) FROM checkin_files)",
                    &[],
                )
                .await
                .map_err(&err)?;
            let n = |i: usize| r.get::<_, i64>(i).max(0) as u64;
            Ok(StoreInfo {
                backend: "postgres",
                location: self.at.clone(),
                schema_version: r.get::<_, i32>(4).max(0) as u32,
                audit_records: n(0),
                answers: n(1),
                ledger_rows: n(2),
                kept: n(3),
                checkin_files: n(6),
                size_bytes: n(5),
            })
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            conn.query_one("SELECT 1", &[])
                .await
                .map_err(pg_error(&self.at))?;
            Ok(())
        })
    }

    fn key_check(&self, check: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let conn = self.conn().await?;
            conn.execute(
                "INSERT INTO store_key (id, key_check) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&check],
            )
            .await
            .map_err(&err)?;
            let recorded: String = conn
                .query_one(sql::KEY_CHECK, &[])
                .await
                .map_err(&err)?
                .get(0);
            Ok(recorded == check)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.pool.close();
        Box::pin(std::future::ready(()))
    }
}

// The store's contract on a real PostgreSQL: a throw-away cluster per test.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::MIGRATIONS;
    use crate::suite::{self, at};
    use pmh_sandbox::postgres::Cluster;

    async fn store(cluster: &Cluster) -> PostgresStore {
        let url = cluster.database().await.expect("a fresh database");
        PostgresStore::open(&PostgresConfig {
            url,
            ca_pem: None,
            pool_size: 8,
        })
        .await
        .expect("the store opens")
    }

    #[tokio::test]
    async fn records_are_appended_searched_and_purged() {
        let Some(cluster) = Cluster::start_or_skip("postgres records") else {
            return;
        };
        let store = store(&cluster).await;
        suite::records_are_appended_searched_and_purged(&store).await;
        let refused = store
            .execute_raw("UPDATE audit SET client = 'b'")
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_each_committed() {
        let Some(cluster) = Cluster::start_or_skip("postgres appends") else {
            return;
        };
        let store = std::sync::Arc::new(store(&cluster).await);
        suite::concurrent_appends_are_each_committed(store).await;
    }

    #[tokio::test]
    async fn a_closed_store_refuses_later_calls() {
        let Some(cluster) = Cluster::start_or_skip("postgres close") else {
            return;
        };
        suite::a_closed_store_keeps_what_was_committed_and_refuses_more(&store(&cluster).await)
            .await;
    }

    #[tokio::test]
    async fn answers_expire_and_migrations_run_once() {
        let Some(cluster) = Cluster::start_or_skip("postgres answers") else {
            return;
        };
        let url = cluster.database().await.unwrap();
        let cfg = PostgresConfig {
            url,
            ca_pem: None,
            pool_size: 2,
        };
        // Many replicas starting at once on an empty database all start (a race on creating
        // the migrations' table failed one of twelve in most rounds before it was locked).
        for _ in 0..4 {
            let fresh = PostgresConfig {
                url: cluster.database().await.unwrap(),
                ca_pem: None,
                pool_size: 1,
            };
            for s in futures::future::join_all((0..12).map(|_| PostgresStore::open(&fresh))).await {
                s.unwrap();
            }
        }
        // Two replicas starting at once: the migrations are applied once.
        let (a, b) = tokio::join!(PostgresStore::open(&cfg), PostgresStore::open(&cfg));
        let (a, b) = (a.unwrap(), b.unwrap());
        suite::answers_expire(&a).await;
        assert_eq!(
            b.info().await.unwrap().schema_version as usize,
            MIGRATIONS.len()
        );
        let conn = a.conn().await.unwrap();
        let applied: i64 = conn
            .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(applied as usize, MIGRATIONS.len());
        assert!(
            b.answer("c1".into(), at(2)).await.unwrap().is_none(),
            "purged"
        );
    }

    #[tokio::test]
    async fn another_secret_is_refused() {
        let Some(cluster) = Cluster::start_or_skip("postgres key check") else {
            return;
        };
        suite::another_secret_is_refused(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn checkin_files_are_recorded_once_with_their_records() {
        let Some(cluster) = Cluster::start_or_skip("postgres checkin files") else {
            return;
        };
        let store = std::sync::Arc::new(store(&cluster).await);
        suite::checkin_files_are_recorded_once_with_their_records(store).await;
    }

    #[tokio::test]
    async fn board_rows_are_read_in_order_per_day() {
        let Some(cluster) = Cluster::start_or_skip("postgres board rows") else {
            return;
        };
        suite::board_rows_are_read_in_order_per_day(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn reports_are_replaced_kept_and_expire() {
        let Some(cluster) = Cluster::start_or_skip("postgres reports") else {
            return;
        };
        suite::reports_are_replaced_kept_and_expire(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn sessions_expire_are_touched_and_capped_per_client() {
        let Some(cluster) = Cluster::start_or_skip("postgres sessions") else {
            return;
        };
        suite::sessions_expire_are_touched_and_capped_per_client(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn a_lease_has_one_holder_until_it_expires_or_is_released() {
        let Some(cluster) = Cluster::start_or_skip("postgres lease") else {
            return;
        };
        suite::a_lease_has_one_holder_until_it_expires_or_is_released(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn kept_items_are_replaced_forgotten_and_expire() {
        let Some(cluster) = Cluster::start_or_skip("postgres kept") else {
            return;
        };
        suite::kept_items_are_replaced_forgotten_and_expire(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn a_commit_on_a_changed_ledger_is_stale() {
        let Some(cluster) = Cluster::start_or_skip("postgres stale commit") else {
            return;
        };
        suite::a_commit_on_a_changed_ledger_is_stale(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn keyed_entries_are_added_once() {
        let Some(cluster) = Cluster::start_or_skip("postgres keyed entries") else {
            return;
        };
        suite::keyed_entries_are_added_once(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn visits_are_their_owners_and_legacy_charges_are_resealed() {
        let Some(cluster) = Cluster::start_or_skip("postgres owners") else {
            return;
        };
        suite::visits_are_their_owners(&store(&cluster).await).await;
        suite::legacy_charges_are_resealed_once(&store(&cluster).await).await;
    }

    #[tokio::test]
    async fn charges_are_versioned_idempotent_and_voidable() {
        let Some(cluster) = Cluster::start_or_skip("postgres charges") else {
            return;
        };
        let store = store(&cluster).await;
        suite::charges_are_versioned_idempotent_and_voidable(&store).await;
        let card = crate::Hasher::from_secret(b"k").card(
            &pmh_core::domain::PayerNumber::parse("21136015").unwrap(),
            "1234566",
        );
        let row = suite::entry(&card, "2026-04-01", 1_000);
        store
            .commit_charge(suite::commit("V1", "f1", false, vec![row]))
            .await
            .unwrap();
        for sql in [
            "UPDATE ledger_entries SET amount = 0",
            "UPDATE charges SET voided = 0",
        ] {
            assert!(store.execute_raw(sql).await.is_err(), "{sql}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_replicas_committing_one_visit_get_one_version_each() {
        let Some(cluster) = Cluster::start_or_skip("postgres race") else {
            return;
        };
        let url = cluster.database().await.unwrap();
        let cfg = PostgresConfig {
            url,
            ca_pem: None,
            pool_size: 4,
        };
        let a = std::sync::Arc::new(PostgresStore::open(&cfg).await.unwrap());
        let b = std::sync::Arc::new(PostgresStore::open(&cfg).await.unwrap());
        let card = crate::Hasher::from_secret(b"k").card(
            &pmh_core::domain::PayerNumber::parse("21136015").unwrap(),
            "1234566",
        );
        // The same request from both at once: one commit, one repeat.
        let tasks: Vec<_> = (0..2)
            .map(|i| {
                let s = if i == 0 { a.clone() } else { b.clone() };
                let c = suite::commit(
                    "V1",
                    "f1",
                    false,
                    vec![suite::entry(&card, "2026-04-01", 1_000)],
                );
                tokio::spawn(async move { s.commit_charge(c).await.unwrap() })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        outcomes.sort_by_key(|o| matches!(o, CommitOutcome::Repeated { .. }));
        assert!(
            matches!(outcomes[0], CommitOutcome::Committed { version: 1 }),
            "{outcomes:?}"
        );
        assert!(
            matches!(outcomes[1], CommitOutcome::Repeated { version: 1, .. }),
            "{outcomes:?}"
        );
        // Corrections from both at once: versions 2 and 3, no duplicate key.
        let tasks: Vec<_> = (0..2)
            .map(|i| {
                let s = if i == 0 { a.clone() } else { b.clone() };
                let c = suite::commit(
                    "V1",
                    &format!("g{i}"),
                    true,
                    vec![suite::entry(&card, "2026-04-01", 2_000)],
                );
                tokio::spawn(async move { s.commit_charge(c).await.unwrap() })
            })
            .collect();
        let mut versions = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                CommitOutcome::Committed { version } => versions.push(version),
                other => panic!("{other:?}"),
            }
        }
        versions.sort();
        assert_eq!(versions, [2, 3]);
        let april = pmh_core::domain::date::parse_iso("2026-04-01").unwrap();
        assert_eq!(
            a.ledger(card, april).await.unwrap().len(),
            1,
            "only the latest counts"
        );
    }

    #[test]
    fn where_names_the_place_never_the_password() {
        let w = where_of("postgres://gw:s3cret@db.example:6543/pmh?sslmode=require");
        assert_eq!(w, "postgres://db.example:6543/pmh");
        let cfg = PostgresConfig {
            url: "host=/run/postgresql user=gw password=s3cret dbname=pmh".into(),
            ca_pem: None,
            pool_size: 1,
        };
        let dbg = format!("{cfg:?}");
        assert!(
            dbg.contains("/run/postgresql") && !dbg.contains("s3cret"),
            "{dbg}"
        );
    }

    #[tokio::test]
    async fn a_remote_database_without_tls_is_refused() {
        // A remote host, or a loopback name whose hostaddr (where the connection really goes)
        // is remote: refused before any connection is made, so no password leaves in plain.
        for url in [
            "postgres://gw@db.example/pmh",
            "postgres://gw:s3cret@localhost/pmh?hostaddr=192.0.2.10",
            "host=localhost hostaddr=192.0.2.10 user=gw password=s3cret dbname=pmh",
            "host=127.0.0.1,db.example user=gw dbname=pmh",
            "host=/run/postgresql hostaddr=192.0.2.10 user=gw dbname=pmh",
        ] {
            let e = PostgresStore::open(&PostgresConfig {
                url: url.into(),
                ca_pem: None,
                pool_size: 1,
            })
            .await
            .err()
            .unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(e.to_string().contains("store.ca_cert"), "{url}: {e}");
        }
    }

    #[test]
    fn loopback_is_every_address_the_connection_can_use() {
        let loopback = |url: &str| is_loopback(&url.parse().unwrap());
        assert!(loopback("postgres://gw@localhost/pmh"));
        assert!(loopback("host=127.0.0.1 hostaddr=127.0.0.1 dbname=pmh"));
        assert!(
            !loopback("host=db.internal hostaddr=::1 dbname=pmh"),
            "a host beyond is refused too"
        );
        assert!(loopback("host=localhost hostaddr=::1 dbname=pmh"));
        assert!(loopback("host=/run/postgresql dbname=pmh"));
        assert!(!loopback("host=localhost hostaddr=10.0.0.5 dbname=pmh"));
        assert!(!loopback("postgres://gw@[2001:db8::1]/pmh"));
    }
}
