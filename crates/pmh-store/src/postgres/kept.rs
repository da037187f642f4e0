//! PostgreSQL: the service's durable state (stand-ins and check-ins).

use super::*;

impl Kept for PostgresStore {
    fn put_kept(&self, row: KeptRow) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let stmt = conn
                .prepare_cached(
                    "INSERT INTO kept (item, key, updated_ms, expires_ms, body)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (item, key) DO UPDATE SET updated_ms = EXCLUDED.updated_ms,
                        expires_ms = EXCLUDED.expires_ms, body = EXCLUDED.body",
                )
                .await
                .map_err(pg_error(&self.at))?;
            conn.execute(
                &stmt,
                &[
                    &row.item.as_str(),
                    &row.key.as_str(),
                    &ms(row.updated_at),
                    &ms(row.expires_at),
                    &row.sealed,
                ],
            )
            .await
            .map_err(pg_error(&self.at))?;
            Ok(())
        })
    }

    fn forget_kept(&self, item: KeptItem, key: KeyedHash) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            conn.execute(
                "DELETE FROM kept WHERE item = $1 AND key = $2",
                &[&item.as_str(), &key.as_str()],
            )
            .await
            .map_err(pg_error(&self.at))?;
            Ok(())
        })
    }

    fn kept(
        &self,
        item: KeptItem,
        key: KeyedHash,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let stmt = conn
                .prepare_cached(
                    "SELECT body FROM kept WHERE item = $1 AND key = $2 AND expires_ms > $3",
                )
                .await
                .map_err(pg_error(&self.at))?;
            let row = conn
                .query_opt(&stmt, &[&item.as_str(), &key.as_str(), &ms(now)])
                .await
                .map_err(pg_error(&self.at))?;
            Ok(row.map(|r| r.get(0)))
        })
    }
}
