//! SQLite: the audit of who asked about whom, and the answers kept for re-reading.

use super::*;
use crate::sql;

impl Audit for SqliteStore {
    fn append(&self, rec: AuditRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        self.run(move |conn, path| insert_audit(conn, &rec).map_err(db_error(path)))
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
            if let Some(c) = q.card {
                add("card =", c.as_str().to_owned().into());
            }
            if let Some(r) = q.reference {
                // The accesses about it, and those that showed it (the reception list).
                args.push(r.as_str().to_owned().into());
                let n = args.len();
                sql.push_str(&format!(
                    " AND (reference = ?{n} OR seq IN \
                     (SELECT audit_seq FROM audit_shown WHERE reference = ?{n}))"
                ));
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
            let mut records = rows.collect::<Result<Vec<_>, _>>().map_err(&err)?;
            with_shown(conn, &mut records).map_err(&err)?;
            Ok(records)
        })
    }

    fn record_check(&self, c: CheckCommit) -> BoxFuture<'_, Result<CheckCommitted, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            // A failed statement leaves SQLite's transaction open: the kept answer or a ledger
            // read may fail alone, the audit record stays in.
            insert_audit(conn, &c.audit).map_err(&err)?;
            let answer_kept = c
                .answer
                .as_ref()
                .map_or(Ok(()), |a| insert_answer(conn, a).map_err(&err));
            let kept = c
                .kept
                .as_ref()
                .map_or(Ok(()), |k| kept::change_kept(conn, k).map_err(&err));
            let ledger = c
                .cards
                .iter()
                .map(|card| ledger_rows(conn, card, c.month).map_err(&err))
                .collect();
            Ok(CheckCommitted {
                answer_kept,
                kept,
                ledger,
            })
        })
    }

    fn answer(
        &self,
        check_id: String,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<StoredAnswer>, StoreError>> {
        self.run(move |conn, path| {
            conn.query_row(sql::KEPT_ANSWER, params![check_id, ms(now)], |r| {
                Ok(StoredAnswer {
                    check_id: r.get(0)?,
                    created_at: from_ms(r.get(1)?),
                    expires_at: from_ms(r.get(2)?),
                    patient: r
                        .get::<_, Option<String>>(3)?
                        .as_deref()
                        .and_then(KeyedHash::parse),
                    sealed: r.get(4)?,
                    body_id: r.get(5)?,
                    body: r.get(6)?,
                })
            })
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
            // In the batch's transaction, like every job: every delete or none.
            let err = db_error(path);
            let mut purged = Purged::default();
            for (statement, t, tally) in sql::purge(audit_before, now) {
                let n = conn.execute(statement, params![t]).map_err(&err)?;
                tally.add(&mut purged, n as u64);
            }
            Ok(purged)
        })
    }
}
