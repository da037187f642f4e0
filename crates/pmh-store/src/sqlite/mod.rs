//! The embedded backend: one SQLite file (`state.db`) under the state folder, WAL journal,
//! owner-only. One thread owns the connection; calls queue to it and await their result, so a
//! commit never blocks the async runtime. Calls that queue up while a commit is under way are
//! committed together in the next transaction (group commit), and each hears back only after
//! that commit: an answer whose audit record is not durable is never sent.
//!
//! Checkpoints (folding the WAL back into the database, an fsync) run on a thread and connection
//! of their own, so that no commit waits for one; the writer checkpoints itself only when the
//! log outgrows that thread (commits without pause).
//!
//! Durability: WAL with `synchronous = NORMAL` — a committed record survives the process being
//! killed (it is in the log the OS holds); on power loss the last commits before the cut may be
//! lost. `synchronous = FULL` (`store.fsync = "full"`) trades throughput for that too.

mod audit;
mod board;
mod charges;
mod checkin_files;
mod kept;
mod reports;
mod sessions;

use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{
    Audit, AuditQuery, AuditRecord, ChargeCommit, ChargeRecord, Charges, CheckCommit,
    CheckCommitted, CheckinFiles, CommitOutcome, EntryAdded, EntryVoid, EntryVoidOutcome, Kept,
    KeptChange, KeptItem, KeyedHash, LeaseState, LedgerRow, LedgerSource, LegacyCharge,
    NewLedgerEntry, Operation, ProcessedFile, Purged, Reseal, SCHEMA_MIGRATIONS, Store, StoreError,
    StoreInfo, StoredAnswer, VoidOutcome, month_key, next_migration,
};
use crate::columns::{care_of, care_str, day_text, from_ms, ms, source_of, yen, yen_of};
use crate::sql;
use pmh_files::{owner_only_dir, restrict_to_owner};

/// The database file's name in the state folder.
pub const DB_FILE: &str = "state.db";

/// Work for the store's thread: it runs its statements and returns how to answer once the batch
/// it is in has been committed (or has failed to commit).
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What the store's thread is sent: a job, or the word to close once the jobs before it are
/// committed (the reply comes after the connection is closed and its WAL folded back).
enum Msg {
    Job(Job),
    Close(oneshot::Sender<()>),
}

/// How many prepared statements the store's connection keeps.
const STATEMENT_CACHE: usize = 128;

/// The most jobs committed together.
const MAX_BATCH: usize = 256;

/// WAL pages after which the checkpointer thread folds the log back into the database.
const CHECKPOINT_PAGES: i32 = 500;

/// WAL pages after which the writer folds it back itself: the log stays bounded when the
/// checkpointer cannot catch up (commits without pause).
const BACKSTOP_PAGES: i32 = 2000;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    jobs: mpsc::Sender<Msg>,
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
        // Every statement the store runs stays prepared (the default keeps 16: more are used,
        // and a statement prepared again each time showed as parsing in profiles).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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
        let checkpointer = Checkpointer::start(&path)?;
        let (signal, passing) = (checkpointer.signal.clone(), checkpointer.passing.clone());
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            if pages >= BACKSTOP_PAGES {
                // Commits without pause (or a disk too slow for the checkpointer): the writer
                // waits for the checkpointer's pass to end, then folds the log back itself, as
                // SQLite's own automatic checkpoint does — the log stays bounded because the
                // writer appends nothing meanwhile. Never the commit's failure.
                let _pass = passing.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(e) = wal.checkpoint() {
                    tracing::debug!(error = %e, "the writer's WAL checkpoint did not run");
                }
            } else if pages >= CHECKPOINT_PAGES {
                let _ = signal.try_send(());
            }
            Ok(())
        }))
        .map_err(db_error(&path))?;
        let (jobs, rx) = mpsc::channel::<Msg>();
        std::thread::Builder::new()
            .name("pmh-store".into())
            .spawn(move || {
                // Group commit: whatever queued up while the last batch was committing goes
                // into the next transaction, and each caller hears back after the commit.
                let mut closing = None;
                while let Ok(first) = rx.recv() {
                    let mut batch = Vec::new();
                    let mut next = Some(first);
                    while let Some(msg) = next.take() {
                        match msg {
                            Msg::Job(job) => batch.push(job),
                            Msg::Close(done) => {
                                closing = Some(done);
                                break;
                            }
                        }
                        if batch.len() < MAX_BATCH {
                            next = rx.try_recv().ok();
                        }
                    }
                    if !batch.is_empty() {
                        commit_batch(&mut conn, batch);
                    }
                    if closing.is_some() {
                        break;
                    }
                }
                // Jobs sent after the close find the channel gone (`StoreError::Stopped`).
                drop(rx);
                // Closing the last connection checkpoints the WAL and removes its files: the
                // checkpointer's goes first.
                let _ = conn
                    .wal_hook(None::<fn(&mut rusqlite::hooks::Wal, i32) -> rusqlite::Result<()>>);
                checkpointer.stop();
                drop(conn);
                if let Some(done) = closing {
                    let _ = done.send(());
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
            .send(Msg::Job(Box::new(move |conn: &mut Connection| -> Reply {
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
            })));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Stopped)?;
            rx.await.map_err(|_| StoreError::Stopped)?
        })
    }
}

/// The thread that folds the WAL back into the database when the writer signals that it has
/// grown, with a connection of its own (a passive checkpoint never blocks the writer).
struct Checkpointer {
    signal: mpsc::SyncSender<()>,
    /// Held for each of the checkpointer's passes, and by the writer when it folds the log
    /// back itself: one checkpoint at a time, and the writer's never refused as busy.
    passing: std::sync::Arc<std::sync::Mutex<()>>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, StoreError> {
        let err = db_error(path);
        let conn = Connection::open(path).map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(&err)?;
        let (signal, rx) = mpsc::sync_channel::<()>(1);
        let passing = std::sync::Arc::new(std::sync::Mutex::new(()));
        let pass = passing.clone();
        let at = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("pmh-store-ckpt".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    let _pass = pass.lock().unwrap_or_else(|p| p.into_inner());
                    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let Err(e) = done {
                        tracing::warn!(error = %db_error(&at)(e), "a WAL checkpoint failed (the writer's backstop will fold it)");
                    }
                }
            })
            .map_err(|source| StoreError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            signal,
            passing,
            thread,
        })
    }

    /// Ends the thread and closes its connection.
    fn stop(self) {
        drop(self.signal);
        let _ = self.thread.join();
    }
}

/// Runs `batch` in one transaction and tells each job's caller how the commit went.
fn commit_batch(conn: &mut Connection, batch: Vec<Job>) {
    let began = exec_cached(conn, "BEGIN IMMEDIATE");
    let replies: Vec<Reply> = batch.into_iter().map(|job| job(&mut *conn)).collect();
    let committed = began
        .and_then(|()| exec_cached(conn, "COMMIT"))
        .map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
    for reply in replies {
        reply(committed.clone());
    }
}

/// Runs a statement kept prepared (the batch's BEGIN and COMMIT, many times a second).
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Applies the migrations this database lacks, each in its own transaction, recording them in
/// `schema_migrations`.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = db_error(path);
    conn.execute_batch(SCHEMA_MIGRATIONS).map_err(&err)?;
    let mut current: u32 = conn
        .query_row(sql::SCHEMA_VERSION, [], |r| r.get(0))
        .map_err(&err)?;
    while let Some(m) = next_migration(current)? {
        let failed = |e: rusqlite::Error| StoreError::Migration {
            version: m.version,
            name: m.name,
            reason: e.to_string(),
        };
        let tx = conn.transaction().map_err(failed)?;
        tx.execute_batch(m.sqlite).map_err(failed)?;
        tx.execute(
            sql::RECORD_MIGRATION,
            params![m.version, m.name, Utc::now().to_rfc3339()],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "store migration applied"
        );
        current = m.version;
    }
    Ok(())
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
        card: hash(r.get("card")?),
        shown: Vec::new(),
    })
}

/// The latest version of an owner's visit: (version, voided, fingerprint, answer).
fn latest_charge(
    conn: &Connection,
    owner: &str,
    visit_id: &str,
) -> rusqlite::Result<Option<(u32, bool, String, String)>> {
    conn.query_row(
        "SELECT version, voided, fingerprint, answer FROM charges
         WHERE owner = ?1 AND visit_id = ?2 ORDER BY version DESC LIMIT 1",
        params![owner, visit_id],
        |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(2)?, r.get(3)?)),
    )
    .optional()
}

/// Whether a client other than `owner` has a visit with this id.
fn other_owner_has(conn: &Connection, owner: &str, visit_id: &str) -> rusqlite::Result<bool> {
    conn.query_row(sql::VISIT_OF_ANOTHER, params![visit_id, owner], |r| {
        r.get(0)
    })
}

/// A ledger row; `None` when the owner's entry id is taken (nothing written).
fn insert_entry(
    conn: &Connection,
    e: &NewLedgerEntry,
    source: LedgerSource,
    visit: Option<(&str, u32)>,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(sql::INSERT_ENTRY)?
        .query_row(
            params![
                e.card.as_str(),
                month_key(e.date),
                source.as_str(),
                visit.map(|v| v.0),
                visit.map(|v| v.1),
                day_text(e.date),
                yen(e.amount),
                e.total_cost.map(yen),
                care_str(e.care),
                e.institution,
                e.cap.map(yen),
                e.client,
                ms(e.at),
                e.owner,
                e.key.as_ref().map(|k| k.id.as_str()),
                e.key.as_ref().map(|k| k.fingerprint.as_str()),
            ],
            |r| r.get(0),
        )
        .optional()
}

fn insert_audit(conn: &Connection, rec: &AuditRecord) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO audit (at, at_ms, client, operation, http_status, status, source,
            subsidies, check_id, patient, reference, detail, card)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
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
        rec.card.as_ref().map(KeyedHash::as_str),
    ])?;
    let seq = conn.last_insert_rowid();
    if !rec.shown.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO audit_shown (audit_seq, reference, at_ms) VALUES (?1, ?2, ?3)",
        )?;
        for r in &rec.shown {
            stmt.execute(params![seq, r.as_str(), ms(rec.at)])?;
        }
    }
    Ok(seq)
}

/// Fills in what each record showed (`audit_shown`).
fn with_shown(conn: &Connection, records: &mut [AuditRecord]) -> rusqlite::Result<()> {
    let seqs: Vec<String> = records
        .iter()
        .filter_map(|r| r.seq)
        .map(|s| s.to_string())
        .collect();
    if seqs.is_empty() {
        return Ok(());
    }
    let mut shown: std::collections::HashMap<i64, Vec<KeyedHash>> = Default::default();
    for chunk in seqs.chunks(500) {
        let sql = format!(
            "SELECT audit_seq, reference FROM audit_shown WHERE audit_seq IN ({}) ORDER BY rowid",
            chunk.join(",")
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (seq, reference) = row?;
            shown
                .entry(seq)
                .or_default()
                .extend(KeyedHash::parse(&reference));
        }
    }
    for r in records {
        if let Some(s) = r.seq.and_then(|seq| shown.remove(&seq)) {
            r.shown = s;
        }
    }
    Ok(())
}

fn insert_answer(conn: &Connection, a: &StoredAnswer) -> rusqlite::Result<()> {
    if let (Some(id), Some(body)) = (&a.body_id, &a.body) {
        conn.prepare_cached(sql::INSERT_ANSWER_BODY)?
            .execute(params![id, ms(a.created_at), body])?;
    }
    conn.prepare_cached(sql::INSERT_ANSWER)?.execute(params![
        a.check_id,
        ms(a.created_at),
        ms(a.expires_at),
        a.patient.as_ref().map(KeyedHash::as_str),
        a.sealed,
        a.body_id,
    ])?;
    Ok(())
}

/// A card's ledger rows in a month, by date (`sql::LEDGER_ROWS`).
fn ledger_rows(
    conn: &Connection,
    card: &KeyedHash,
    month: NaiveDate,
) -> rusqlite::Result<Vec<LedgerRow>> {
    let mut stmt = conn.prepare_cached(sql::LEDGER_ROWS)?;
    let rows = stmt.query_map(params![card.as_str(), month_key(month)], |r| {
        Ok(LedgerRow {
            id: r.get(0)?,
            source: source_of(&r.get::<_, String>(1)?),
            visit_id: r.get(2)?,
            version: r.get(3)?,
            date: pmh_core::domain::date::parse_iso(&r.get::<_, String>(4)?).unwrap_or_default(),
            amount: yen_of(r.get(5)?),
            total_cost: r.get::<_, Option<i64>>(6)?.map(yen_of),
            care: care_of(&r.get::<_, String>(7)?),
            institution: r.get(8)?,
            cap: r.get::<_, Option<i64>>(9)?.map(yen_of),
            client: r.get(10)?,
            at: from_ms(r.get(11)?),
        })
    })?;
    let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.sort_by_key(|r| (r.date, r.id));
    Ok(rows)
}

impl Store for SqliteStore {
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(|conn, path| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(db_error(path))
        })
    }

    fn key_check(&self, check: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            conn.execute(
                "INSERT OR IGNORE INTO store_key (id, key_check) VALUES (1, ?1)",
                params![check],
            )
            .map_err(&err)?;
            let recorded: String = conn
                .query_row(sql::KEY_CHECK, [], |r| r.get(0))
                .map_err(&err)?;
            Ok(recorded == check)
        })
    }

    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            let audit_records = count("SELECT COUNT(*) FROM audit").map_err(&err)? as u64;
            let answers = count("SELECT COUNT(*) FROM answers").map_err(&err)? as u64;
            let ledger_rows = count("SELECT COUNT(*) FROM ledger_entries").map_err(&err)? as u64;
            let kept = count("SELECT COUNT(*) FROM kept").map_err(&err)? as u64;
            let checkin_files = count("SELECT COUNT(*) FROM checkin_files").map_err(&err)? as u64;
            let schema_version = count(sql::SCHEMA_VERSION).map_err(&err)? as u32;
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
                ledger_rows,
                kept,
                checkin_files,
                size_bytes: size("") + size("-wal"),
            })
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        let (done, closed) = oneshot::channel();
        let sent = self.jobs.send(Msg::Close(done));
        Box::pin(async move {
            if sent.is_ok() {
                let _ = closed.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MIGRATIONS;
    use crate::Store;
    use crate::suite::{self, at};
    use pmh_files::is_owner_only;

    #[tokio::test]
    async fn records_are_appended_searched_and_purged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state"), false).unwrap();
        suite::records_are_appended_searched_and_purged(&store).await;
        // Owner-only on disk.
        assert!(is_owner_only(&dir.path().join("state")).unwrap());
        assert!(is_owner_only(store.path()).unwrap());
    }

    /// Appends sent before the close are committed; when `close` returns the WAL is folded back
    /// and its files removed, so the folder holds the database alone and nothing changes in it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn close_commits_what_was_sent_and_leaves_the_folder_still() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::a_closed_store_keeps_what_was_committed_and_refuses_more(&store).await;

        let store = SqliteStore::open(dir.path(), false).unwrap();
        let sent: Vec<_> = (0..50)
            .map(|i| store.append(AuditRecord::new(at(2), &format!("c{i}"), Operation::Check)))
            .collect();
        store.close().await;
        for appended in futures::future::join_all(sent).await {
            appended.unwrap();
        }
        let names = |dir: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(dir.path()), [DB_FILE], "no WAL or shared memory left");
        assert_eq!(
            SqliteStore::open(dir.path(), false)
                .unwrap()
                .info()
                .await
                .unwrap()
                .audit_records,
            51
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_committed_together_and_each_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(dir.path(), false).unwrap());
        suite::concurrent_appends_are_each_committed(store.clone()).await;
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
    async fn the_wal_stays_bounded_under_commits_without_pause() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        // One commit after another (each append waits for its own): the checkpointer thread
        // cannot catch the newest frame while commits never pause, so the writer's backstop
        // folds the log back (without it the WAL grew to 88 MB here, 3.3 GB for 100,000
        // records).
        for i in 0..3000 {
            let mut r = AuditRecord::new(at(1), "recept-1", Operation::Check);
            r.detail = Some(format!("record {i} with some length to fill pages"));
            store.append(r).await.unwrap();
        }
        let wal = std::fs::metadata(dir.path().join(format!("{DB_FILE}-wal")))
            .unwrap()
            .len();
        assert!(wal < 16 << 20, "the WAL grew to {} MB", wal >> 20);
    }

    #[tokio::test]
    async fn the_ledger_read_of_every_answer_is_not_prepared_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        let hasher = crate::Hasher::from_secret(b"0123456789abcdef0123456789abcdef");
        let month = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for i in 0..5 {
            store
                .ledger(hasher.reference(&format!("card-{i}")), month)
                .await
                .unwrap();
        }
        let reprepared = store
            .run(|conn, path| {
                let stmt = conn
                    .prepare_cached(sql::LEDGER_ROWS)
                    .map_err(db_error(path))?;
                Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
            })
            .await
            .unwrap();
        assert_eq!(reprepared, 0, "five cards, one preparation");
    }

    /// A record without 照会番号 or card adds no entry to their indexes, and a search by either
    /// still finds its rows through them.
    #[tokio::test]
    async fn reference_and_card_indexes_hold_only_the_records_that_have_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        let (partial, plans) = store
            .run(|conn, path| {
                let err = db_error(path);
                conn.execute_batch(
                    "INSERT INTO audit (at, at_ms, client, operation, http_status)
                     VALUES ('t', 1, 'c', 'check', 200), ('t', 2, 'c', 'check', 200);
                     INSERT INTO audit (at, at_ms, client, operation, http_status, reference)
                     VALUES ('t', 3, 'c', 'check_by_reference', 200, 'r');",
                )
                .map_err(&err)?;
                // A partial index cannot serve a scan of every row: SQLite refuses to plan it.
                let partial = ["audit_reference", "audit_card"].map(|index| {
                    conn.prepare(&format!("SELECT * FROM audit INDEXED BY {index} WHERE at_ms >= 0"))
                        .is_err()
                });
                let mut plans = Vec::new();
                for column in ["reference", "card"] {
                    let plan: Vec<String> = conn
                        .prepare(&format!(
                            "EXPLAIN QUERY PLAN SELECT * FROM audit WHERE {column} = ?1 AND at_ms >= ?2"
                        ))
                        .map_err(&err)?
                        .query_map(["r", "0"], |r| r.get::<_, String>(3))
                        .map_err(&err)?
                        .collect::<Result<_, _>>()
                        .map_err(&err)?;
                    plans.push(plan.join("; "));
                }
                Ok((partial, plans))
            })
            .await
            .unwrap();
        assert_eq!(partial, [true, true]);
        assert!(
            plans[0].contains("USING INDEX audit_reference"),
            "{}",
            plans[0]
        );
        assert!(plans[1].contains("USING INDEX audit_card"), "{}", plans[1]);
    }

    #[tokio::test]
    async fn answers_expire_and_migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path(), false).unwrap();
            suite::answers_expire(&store).await;
            suite::keep(
                &store,
                StoredAnswer {
                    check_id: "c1".into(),
                    created_at: at(1),
                    expires_at: at(5),
                    patient: None,
                    sealed: b"{}".to_vec(),
                    body_id: None,
                    body: None,
                },
            )
            .await;
        }
        // Reopened: the schema is not applied twice, the data is there.
        let store = SqliteStore::open(dir.path(), false).unwrap();
        assert_eq!(
            store.info().await.unwrap().schema_version as usize,
            MIGRATIONS.len()
        );
        assert!(store.answer("c1".into(), at(2)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn another_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        suite::another_secret_is_refused(&SqliteStore::open(dir.path(), false).unwrap()).await;
    }

    #[tokio::test]
    async fn checkin_files_are_recorded_once_with_their_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::checkin_files_are_recorded_once_with_their_records(std::sync::Arc::new(store)).await;
    }

    #[tokio::test]
    async fn board_rows_are_read_in_order_per_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::board_rows_are_read_in_order_per_day(&store).await;
    }

    #[tokio::test]
    async fn reports_are_replaced_kept_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::reports_are_replaced_kept_and_expire(&store).await;
    }

    #[tokio::test]
    async fn sessions_expire_are_touched_and_capped_per_client() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::sessions_expire_are_touched_and_capped_per_client(&store).await;
    }

    #[tokio::test]
    async fn a_lease_has_one_holder_until_it_expires_or_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::a_lease_has_one_holder_until_it_expires_or_is_released(&store).await;
    }

    #[tokio::test]
    async fn kept_items_are_replaced_forgotten_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::kept_items_are_replaced_forgotten_and_expire(&store).await;
    }

    #[tokio::test]
    async fn a_commit_on_a_changed_ledger_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::a_commit_on_a_changed_ledger_is_stale(&store).await;
    }

    #[tokio::test]
    async fn keyed_entries_are_added_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::keyed_entries_are_added_once(&store).await;
    }

    /// A database of the previous schema (8) with charges and ledger rows of an earlier build:
    /// migration 9 gives each visit the owner of its earliest version and each entry its
    /// client (a visit's rows its visit's owner), and the rows are then resealed.
    #[tokio::test]
    async fn migration_9_gives_visits_and_entries_their_owners() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TEXT NOT NULL)",
            )
            .unwrap();
            for m in MIGRATIONS.iter().filter(|m| m.version <= 8) {
                conn.execute_batch(m.sqlite).unwrap();
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?1, ?2, 'then')",
                    params![m.version, m.name],
                )
                .unwrap();
            }
            conn.execute_batch(
                "INSERT INTO charges VALUES ('V1', 1, 0, 'abc', '2026-04', '{\"a\":1}', 'recept', 1);
                 INSERT INTO charges VALUES ('V1', 2, 1, 'abc', '2026-04', '{\"a\":1}', 'admin', 2);
                 INSERT INTO charges VALUES ('V2', 1, 0, 'def', '2026-04', '{\"b\":2}', 'pharm', 3);
                 INSERT INTO ledger_entries (card, month, source, visit_id, version, entry_date,
                    amount, care, client, at_ms)
                    VALUES ('c', '2026-04', 'own', 'V2', 1, '2026-04-01', 100, 'outpatient', 'pharm', 3);
                 INSERT INTO ledger_entries (card, month, source, entry_date, amount, care, client,
                    at_ms)
                    VALUES ('c', '2026-04', 'other', '2026-04-02', 50, 'outpatient', 'recept', 4);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path(), false).unwrap();
        let v1 = store
            .charge("recept".into(), "V1".into())
            .await
            .unwrap()
            .unwrap();
        assert!(v1.voided && v1.version == 2 && v1.client == "admin");
        assert!(
            store
                .charge("pharm".into(), "V2".into())
                .await
                .unwrap()
                .is_some()
        );
        let owners = store.run(|conn, _| {
            let mut stmt = conn
                .prepare("SELECT source, owner FROM ledger_entries ORDER BY id")
                .unwrap();
            Ok(stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>())
        });
        assert_eq!(
            owners.await.unwrap(),
            [
                ("own".into(), "pharm".into()),
                ("other".into(), "recept".into())
            ]
        );
        let h = std::sync::Arc::new(crate::Hasher::from_secret(b"k"));
        let hh = h.clone();
        let resealed = store
            .reseal_charges(std::sync::Arc::new(move |c| {
                (
                    hh.charge_request(&c.fingerprint),
                    hh.seal_charge(&c.owner, &c.visit_id, &c.answer),
                )
            }))
            .await
            .unwrap();
        assert_eq!(resealed, 3);
        let v2 = store
            .charge("pharm".into(), "V2".into())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            h.open_charge("pharm", "V2", &v2.answer).as_deref(),
            Some("{\"b\":2}")
        );
        // Append-only again after the rewrite.
        let refused =
            store.run(|conn, _| Ok(conn.execute("UPDATE charges SET voided = 0", []).is_err()));
        assert!(refused.await.unwrap());
    }

    #[tokio::test]
    async fn visits_are_their_owners_and_legacy_charges_are_resealed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a"), false).unwrap();
        suite::visits_are_their_owners(&store).await;
        let store = SqliteStore::open(&dir.path().join("b"), false).unwrap();
        suite::legacy_charges_are_resealed_once(&store).await;
    }

    #[tokio::test]
    async fn charges_are_versioned_idempotent_and_voidable() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), false).unwrap();
        suite::charges_are_versioned_idempotent_and_voidable(&store).await;
        // Nothing is edited in place.
        let card = crate::Hasher::from_secret(b"k").card(
            &pmh_core::domain::PayerNumber::parse("21136015").unwrap(),
            "1234566",
        );
        let row = suite::entry(&card, "2026-04-01", 1_000);
        store
            .commit_charge(suite::commit("V1", "f1", false, vec![row]))
            .await
            .unwrap();
        let dbg = store.run(|conn, _| {
            Ok(conn
                .execute("UPDATE ledger_entries SET amount = 0", [])
                .is_err()
                && conn.execute("UPDATE charges SET voided = 0", []).is_err())
        });
        assert!(dbg.await.unwrap());
        // The ledger holds the certificate as a keyed hash only.
        let raw = std::fs::read(dir.path().join(DB_FILE)).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("1234566") && !text.contains("21136015"));
    }
}
