//! The embedded backend: one SQLite file (`state.db`) under the state folder, WAL journal,
//! owner-only. One thread owns the connection; calls queue to it and await their result, so a
//! commit never blocks the async runtime. Calls that queue up while a commit is under way are
//! committed together in the next transaction (group commit), and each hears back only after
//! that commit: an answer whose audit record is not durable is never sent.
//!
//! Durability: WAL with `synchronous = NORMAL` — a committed record survives the process being
//! killed (it is in the log the OS holds); on power loss the last commits before the cut may be
//! lost. `synchronous = FULL` (`store.fsync = "full"`) trades throughput for that too.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{
    AuditQuery, AuditRecord, BoxFuture, KeyedHash, MIGRATIONS, Operation, Purged, Store,
    StoreError, StoreInfo, StoredAnswer,
};
use crate::files::{owner_only_dir, restrict_to_owner};

/// The database file's name in the state folder.
pub const DB_FILE: &str = "state.db";

/// Work for the store's thread: it runs its statements and returns how to answer once the batch
/// it is in has been committed (or has failed to commit).
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The most jobs committed together.
const MAX_BATCH: usize = 256;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn db_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Database {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl SqliteStore {
    /// Opens (or creates) the store in `dir`: the folder owner-only, the database owner-only,
    /// WAL, the migrations applied. `full_sync`: `synchronous = FULL` instead of `NORMAL`.
    pub fn open(dir: &Path, full_sync: bool) -> Result<Self, StoreError> {
        owner_only_dir(dir).map_err(|source| StoreError::Folder {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let err = db_error(&path);
        let mut conn = Connection::open(&path).map_err(&err)?;
        // The database and its WAL / shared-memory companions: owner-only.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(
            None,
            "synchronous",
            if full_sync { "FULL" } else { "NORMAL" },
        )
        .map_err(&err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(&err)?;
        drop(err);
        migrate(&mut conn, &path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let p = PathBuf::from(p);
            if p.exists() {
                restrict_to_owner(&p).map_err(|source| StoreError::Folder {
                    path: p.clone(),
                    source,
                })?;
            }
        }
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pmh-store".into())
            .spawn(move || {
                // Group commit: whatever queued up while the last batch was committing goes
                // into the next transaction, and each caller hears back after the commit.
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let began = conn.execute_batch("BEGIN IMMEDIATE");
                    let replies: Vec<Reply> = batch.into_iter().map(|job| job(&mut conn)).collect();
                    let committed =
                        began
                            .and_then(|()| conn.execute_batch("COMMIT"))
                            .map_err(|e| {
                                let _ = conn.execute_batch("ROLLBACK");
                                e.to_string()
                            });
                    for reply in replies {
                        reply(committed.clone());
                    }
                }
            })
            .map_err(|source| StoreError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(Self { path, jobs })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the store's thread and returns its result.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Path) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let (tx, rx) = oneshot::channel();
        let path = self.path.clone();
        let sent = self
            .jobs
            .send(Box::new(move |conn: &mut Connection| -> Reply {
                let result = f(conn, &path);
                Box::new(move |committed: Result<(), String>| {
                    let result = committed
                        .map_err(|reason| StoreError::Database {
                            path: path.clone(),
                            reason: format!("commit failed: {reason}"),
                        })
                        .and(result);
                    let _ = tx.send(result);
                })
            }));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Stopped)?;
            rx.await.map_err(|_| StoreError::Stopped)?
        })
    }
}

/// Applies the migrations this database lacks, each in its own transaction, recording them in
/// `schema_migrations`.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = db_error(path);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )
    .map_err(&err)?;
    let current: u32 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(&err)?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > known {
        return Err(StoreError::NewerSchema {
            found: current,
            known,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let failed = |e: rusqlite::Error| StoreError::Migration {
            version: m.version,
            name: m.name,
            reason: e.to_string(),
        };
        let tx = conn.transaction().map_err(failed)?;
        tx.execute_batch(m.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, Utc::now().to_rfc3339()],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "store migration applied"
        );
    }
    Ok(())
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    let op: String = r.get("operation")?;
    let hash = |v: Option<String>| v.as_deref().and_then(KeyedHash::parse);
    Ok(AuditRecord {
        seq: Some(r.get("seq")?),
        at: from_ms(r.get("at_ms")?),
        client: r.get("client")?,
        operation: Operation::parse(&op).unwrap_or(Operation::Operations),
        http_status: r.get::<_, Option<u16>>("http_status")?,
        status: r.get("status")?,
        source: r.get("source")?,
        subsidies: r.get::<_, Option<u32>>("subsidies")?,
        check_id: r.get("check_id")?,
        patient: hash(r.get("patient")?),
        reference: hash(r.get("reference")?),
        detail: r.get("detail")?,
    })
}

impl Store for SqliteStore {
    fn append(&self, rec: AuditRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        self.run(move |conn, path| {
            conn.prepare_cached(
                "INSERT INTO audit (at, at_ms, client, operation, http_status, status, source,
                    subsidies, check_id, patient, reference, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    rec.at.to_rfc3339(),
                    ms(rec.at),
                    rec.client,
                    rec.operation.as_str(),
                    rec.http_status,
                    rec.status,
                    rec.source,
                    rec.subsidies,
                    rec.check_id,
                    rec.patient.as_ref().map(KeyedHash::as_str),
                    rec.reference.as_ref().map(KeyedHash::as_str),
                    rec.detail,
                ])
            })
            .map_err(db_error(path))?;
            Ok(conn.last_insert_rowid())
        })
    }

    fn search(&self, q: AuditQuery) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>> {
        self.run(move |conn, path| {
            let mut sql = String::from("SELECT * FROM audit WHERE 1 = 1");
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            let mut add = |cond: &str, v: rusqlite::types::Value| {
                args.push(v);
                sql.push_str(&format!(" AND {cond} ?{}", args.len()));
            };
            if let Some(c) = q.client {
                add("client =", c.into());
            }
            if let Some(o) = q.operation {
                add("operation =", o.as_str().to_owned().into());
            }
            if let Some(t) = q.from {
                add("at_ms >=", ms(t).into());
            }
            if let Some(t) = q.to {
                add("at_ms <", ms(t).into());
            }
            if let Some(p) = q.patient {
                add("patient =", p.as_str().to_owned().into());
            }
            if let Some(r) = q.reference {
                add("reference =", r.as_str().to_owned().into());
            }
            sql.push_str(&format!(
                " ORDER BY seq DESC LIMIT {}",
                q.limit.clamp(1, 1_000_000)
            ));
            let err = db_error(path);
            let mut stmt = conn.prepare(&sql).map_err(&err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), record_from_row)
                .map_err(&err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(&err)
        })
    }

    fn put_answer(&self, a: StoredAnswer) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO answers (check_id, created_ms, expires_ms, patient, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    a.check_id,
                    ms(a.created_at),
                    ms(a.expires_at),
                    a.patient.as_ref().map(KeyedHash::as_str),
                    a.body
                ])
            })
            .map_err(db_error(path))?;
            Ok(())
        })
    }

    fn answer(
        &self,
        check_id: String,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<StoredAnswer>, StoreError>> {
        self.run(move |conn, path| {
            conn.query_row(
                "SELECT check_id, created_ms, expires_ms, patient, body FROM answers
                 WHERE check_id = ?1 AND expires_ms > ?2",
                params![check_id, ms(now)],
                |r| {
                    Ok(StoredAnswer {
                        check_id: r.get(0)?,
                        created_at: from_ms(r.get(1)?),
                        expires_at: from_ms(r.get(2)?),
                        patient: r
                            .get::<_, Option<String>>(3)?
                            .as_deref()
                            .and_then(KeyedHash::parse),
                        body: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(db_error(path))
        })
    }

    fn purge(
        &self,
        audit_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Purged, StoreError>> {
        self.run(move |conn, path| {
            // In the batch's transaction, like every job: both deletes or neither.
            let err = db_error(path);
            let audit_records = conn
                .execute(
                    "DELETE FROM audit WHERE at_ms < ?1",
                    params![ms(audit_before)],
                )
                .map_err(&err)? as u64;
            let answers = conn
                .execute(
                    "DELETE FROM answers WHERE expires_ms <= ?1",
                    params![ms(now)],
                )
                .map_err(&err)? as u64;
            Ok(Purged {
                audit_records,
                answers,
            })
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(|conn, path| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(db_error(path))
        })
    }

    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            let audit_records = count("SELECT COUNT(*) FROM audit").map_err(&err)? as u64;
            let answers = count("SELECT COUNT(*) FROM answers").map_err(&err)? as u64;
            let schema_version = count("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .map_err(&err)? as u32;
            let size = |suffix: &str| {
                let mut p = path.to_path_buf().into_os_string();
                p.push(suffix);
                std::fs::metadata(PathBuf::from(p)).map_or(0, |m| m.len())
            };
            Ok(StoreInfo {
                backend: "sqlite",
                location: path.display().to_string(),
                schema_version,
                audit_records,
                answers,
                size_bytes: size("") + size("-wal"),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::is_owner_only;
    use crate::store::Hasher;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, h, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn records_are_appended_searched_and_purged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state"), false).unwrap();
        let hasher = Hasher::from_secret(b"0123456789abcdef0123456789abcdef");
        let patient = hasher.reference("0000000007");
        for (h, client) in [(1, "recept-1"), (2, "pharmacy"), (3, "recept-1")] {
            let mut r = AuditRecord::new(at(h), client, Operation::Check);
            r.http_status = Some(200);
            r.status = Some("confirmed".into());
            r.patient = (h != 2).then(|| patient.clone());
            store.append(r).await.unwrap();
        }
        let all = store
            .search(AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].at, at(3), "newest first");
        let mine = store
            .search(AuditQuery {
                patient: Some(patient.clone()),
                from: Some(at(2)),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].client, "recept-1");
        let purged = store.purge(at(2), at(12)).await.unwrap();
        assert_eq!(purged.audit_records, 1);
        assert_eq!(store.info().await.unwrap().audit_records, 2);
        // Owner-only on disk.
        assert!(is_owner_only(&dir.path().join("state")).unwrap());
        assert!(is_owner_only(store.path()).unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_committed_together_and_each_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(dir.path(), false).unwrap());
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append(AuditRecord::new(at(1), &format!("c{i}"), Operation::Check))
                        .await
                })
            })
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().unwrap());
        }
        seqs.sort();
        seqs.dedup();
        assert_eq!(seqs.len(), 300, "every append has its own row");
        // Reopened from disk: all there.
        drop(store);
        let again = SqliteStore::open(dir.path(), false).unwrap();
        assert_eq!(again.info().await.unwrap().audit_records, 300);
    }

    #[tokio::test]
    async fn the_audit_cannot_be_changed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        store
            .append(AuditRecord::new(at(1), "a", Operation::Check))
            .await
            .unwrap();
        let changed = store
            .run(|conn, path| {
                conn.execute("UPDATE audit SET client = 'b'", [])
                    .map_err(db_error(path))
            })
            .await;
        assert!(changed.unwrap_err().to_string().contains("append-only"));
    }

    #[tokio::test]
    async fn answers_expire_and_migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path(), false).unwrap();
            store
                .put_answer(StoredAnswer {
                    check_id: "c1".into(),
                    created_at: at(1),
                    expires_at: at(5),
                    patient: None,
                    body: "{}".into(),
                })
                .await
                .unwrap();
            assert!(store.answer("c1".into(), at(4)).await.unwrap().is_some());
            assert!(store.answer("c1".into(), at(5)).await.unwrap().is_none());
        }
        // Reopened: the schema is not applied twice, the data is there.
        let store = SqliteStore::open(dir.path(), false).unwrap();
        assert_eq!(store.info().await.unwrap().schema_version, 1);
        assert!(store.answer("c1".into(), at(2)).await.unwrap().is_some());
        assert_eq!(store.purge(at(0), at(6)).await.unwrap().answers, 1);
    }
}
