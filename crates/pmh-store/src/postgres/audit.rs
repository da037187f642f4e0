//! PostgreSQL: the audit of who asked about whom, and the answers kept for re-reading.

use super::*;
use crate::sql;

impl Audit for PostgresStore {
    fn append(&self, rec: AuditRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            insert_audit(&conn, &rec).await.map_err(pg_error(&self.at))
        })
    }

    fn search(&self, q: AuditQuery) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>> {
        Box::pin(async move {
            let mut sql = String::from("SELECT * FROM audit WHERE TRUE");
            let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
            let mut add = |cond: &str, v: Box<dyn ToSql + Sync + Send>| {
                args.push(v);
                sql.push_str(&format!(" AND {cond} ${}", args.len()));
            };
            if let Some(c) = q.client {
                add("client =", Box::new(c));
            }
            if let Some(o) = q.operation {
                add("operation =", Box::new(o.as_str()));
            }
            if let Some(t) = q.from {
                add("at_ms >=", Box::new(ms(t)));
            }
            if let Some(t) = q.to {
                add("at_ms <", Box::new(ms(t)));
            }
            if let Some(p) = q.patient {
                add("patient =", Box::new(p.as_str().to_owned()));
            }
            if let Some(c) = q.card {
                add("card =", Box::new(c.as_str().to_owned()));
            }
            if let Some(r) = q.reference {
                // The accesses about it, and those that showed it (the reception list).
                args.push(Box::new(r.as_str().to_owned()));
                let n = args.len();
                sql.push_str(&format!(
                    " AND (reference = ${n} OR seq IN \
                     (SELECT audit_seq FROM audit_shown WHERE reference = ${n}))"
                ));
            }
            sql.push_str(&format!(
                " ORDER BY seq DESC LIMIT {}",
                q.limit.clamp(1, 1_000_000)
            ));
            let err = pg_error(&self.at);
            let conn = self.conn().await?;
            let params: Vec<&(dyn ToSql + Sync)> = args
                .iter()
                .map(|a| a.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let rows = conn.query(&sql, &params).await.map_err(&err)?;
            let mut records: Vec<AuditRecord> = rows.iter().map(record_from_row).collect();
            let seqs: Vec<i64> = records.iter().filter_map(|r| r.seq).collect();
            if !seqs.is_empty() {
                let shown = conn
                    .query(
                        "SELECT audit_seq, reference FROM audit_shown
                         WHERE audit_seq = ANY($1) ORDER BY ctid",
                        &[&seqs],
                    )
                    .await
                    .map_err(&err)?;
                let mut by_seq: std::collections::HashMap<i64, Vec<KeyedHash>> = Default::default();
                for row in &shown {
                    by_seq
                        .entry(row.get(0))
                        .or_default()
                        .extend(KeyedHash::parse(row.get(1)));
                }
                for r in &mut records {
                    if let Some(s) = r.seq.and_then(|seq| by_seq.remove(&seq)) {
                        r.shown = s;
                    }
                }
            }
            Ok(records)
        })
    }

    fn record_check(&self, c: CheckCommit) -> BoxFuture<'_, Result<CheckCommitted, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let mut tx = conn.transaction().await.map_err(&err)?;
            insert_audit(&tx, &c.audit).await.map_err(&err)?;
            // A failed statement aborts PostgreSQL's transaction: the kept answer and each
            // ledger read run in a savepoint, so that they may fail alone.
            let answer_kept = match &c.answer {
                None => Ok(()),
                Some(a) => {
                    let sp = tx.savepoint("answer").await.map_err(&err)?;
                    match insert_answer(&sp, a).await {
                        Ok(()) => sp.commit().await.map_err(&err),
                        Err(e) => {
                            sp.rollback().await.map_err(&err)?;
                            Err(err(e))
                        }
                    }
                }
            };
            let kept = match &c.kept {
                None => Ok(()),
                Some(k) => {
                    let sp = tx.savepoint("kept").await.map_err(&err)?;
                    match kept::change_kept(&sp, k).await {
                        Ok(()) => sp.commit().await.map_err(&err),
                        Err(e) => {
                            sp.rollback().await.map_err(&err)?;
                            Err(err(e))
                        }
                    }
                }
            };
            let mut ledger = Vec::with_capacity(c.cards.len());
            for card in &c.cards {
                let sp = tx.savepoint("ledger").await.map_err(&err)?;
                match ledger_rows(&sp, card, c.month).await {
                    Ok(rows) => {
                        sp.commit().await.map_err(&err)?;
                        ledger.push(Ok(rows));
                    }
                    Err(e) => {
                        sp.rollback().await.map_err(&err)?;
                        ledger.push(Err(err(e)));
                    }
                }
            }
            tx.commit().await.map_err(&err)?;
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
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .query_opt(sql::KEPT_ANSWER, &[&check_id, &ms(now)])
                .await
                .map_err(pg_error(&self.at))?;
            Ok(row.map(|r| StoredAnswer {
                check_id: r.get(0),
                created_at: from_ms(r.get(1)),
                expires_at: from_ms(r.get(2)),
                patient: hash(r.get(3)),
                sealed: r.get(4),
                body_id: r.get(5),
                body: r.get(6),
            }))
        })
    }

    fn purge(
        &self,
        audit_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Purged, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            let mut purged = Purged::default();
            for (statement, t, tally) in sql::purge(audit_before, now) {
                let n = tx.execute(statement, &[&t]).await.map_err(&err)?;
                tally.add(&mut purged, n);
            }
            tx.commit().await.map_err(&err)?;
            Ok(purged)
        })
    }
}
