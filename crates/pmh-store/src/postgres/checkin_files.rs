//! PostgreSQL: check-in files processed once, and the leases.

use super::*;
use crate::sql;

impl CheckinFiles for PostgresStore {
    fn file_processed(&self, key: KeyedHash) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .query_opt(sql::FILE_PROCESSED, &[&key.as_str()])
                .await
                .map_err(pg_error(&self.at))?;
            Ok(row.is_some())
        })
    }

    fn record_file(&self, file: ProcessedFile) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            // Two replicas recording one file: the second waits on the key, then inserts nothing.
            let new = tx
                .execute(
                    "INSERT INTO checkin_files (key, at_ms, holder, records)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
                    &[
                        &file.key.as_str(),
                        &ms(file.at),
                        &file.holder,
                        &i32::try_from(file.records.len()).unwrap_or(i32::MAX),
                    ],
                )
                .await
                .map_err(&err)?
                == 1;
            if new {
                for rec in &file.records {
                    insert_audit(&tx, rec).await.map_err(&err)?;
                }
            }
            tx.commit().await.map_err(&err)?;
            Ok(new)
        })
    }

    fn lease(
        &self,
        name: String,
        holder: String,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<LeaseState, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let conn = self.conn().await?;
            let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
            // Taken when free or expired, renewed by its holder; the expiry on the database's
            // clock. The row is locked by the upsert: two replicas asking at once see one
            // holder.
            let sql = format!(
                "INSERT INTO leases AS l (name, holder, term, expires_ms)
                 VALUES ($1, $2, 1, {DB_NOW_MS} + $3)
                 ON CONFLICT (name) DO UPDATE SET
                    term = l.term + CASE WHEN l.holder = excluded.holder THEN 0 ELSE 1 END,
                    holder = excluded.holder,
                    expires_ms = excluded.expires_ms
                 WHERE l.holder = excluded.holder OR l.expires_ms <= {DB_NOW_MS}
                 RETURNING holder, term"
            );
            let taken = conn
                .query_opt(&sql, &[&name, &holder, &ttl])
                .await
                .map_err(&err)?;
            let row = match taken {
                Some(r) => r,
                None => conn
                    .query_one(sql::LEASE_HOLDER, &[&name])
                    .await
                    .map_err(&err)?,
            };
            let (by, term): (String, i64) = (row.get(0), row.get(1));
            Ok(LeaseState {
                held: by == holder,
                holder: by,
                term,
            })
        })
    }

    fn release_lease(&self, name: String, holder: String) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            conn.execute(sql::RELEASE_LEASE, &[&name, &holder])
                .await
                .map_err(pg_error(&self.at))?;
            Ok(())
        })
    }
}
