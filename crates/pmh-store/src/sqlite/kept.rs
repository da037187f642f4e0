//! SQLite: the service's durable state (stand-ins and check-ins).

use super::*;

impl Kept for SqliteStore {
    fn put_kept(&self, row: KeptRow) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO kept (item, key, updated_ms, expires_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    row.item.as_str(),
                    row.key.as_str(),
                    ms(row.updated_at),
                    ms(row.expires_at),
                    row.sealed
                ])
            })
            .map_err(db_error(path))?;
            Ok(())
        })
    }

    fn forget_kept(&self, item: KeptItem, key: KeyedHash) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| {
            conn.execute(
                "DELETE FROM kept WHERE item = ?1 AND key = ?2",
                params![item.as_str(), key.as_str()],
            )
            .map_err(db_error(path))?;
            Ok(())
        })
    }

    fn kept(
        &self,
        item: KeptItem,
        key: KeyedHash,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, StoreError>> {
        self.run(move |conn, path| {
            conn.query_row(
                "SELECT body FROM kept WHERE item = ?1 AND key = ?2 AND expires_ms > ?3",
                params![item.as_str(), key.as_str(), ms(now)],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error(path))
        })
    }
}
