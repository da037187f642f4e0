//! SQLite: the service's durable state (stand-ins and check-ins).

use super::*;
use crate::sql;

impl Kept for SqliteStore {
    fn change_kept(&self, change: KeptChange) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| change_kept(conn, &change).map_err(db_error(path)))
    }

    fn kept(
        &self,
        item: KeptItem,
        key: KeyedHash,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, StoreError>> {
        self.run(move |conn, path| {
            conn.prepare_cached(sql::KEPT)
                .and_then(|mut stmt| {
                    stmt.query_row(params![item.as_str(), key.as_str(), ms(now)], |r| r.get(0))
                        .optional()
                })
                .map_err(db_error(path))
        })
    }
}

/// Makes a change to the kept items (alone, or in a check's transaction).
pub(super) fn change_kept(conn: &Connection, change: &KeptChange) -> rusqlite::Result<()> {
    match change {
        KeptChange::Keep(row) => conn.prepare_cached(sql::PUT_KEPT)?.execute(params![
            row.item.as_str(),
            row.key.as_str(),
            ms(row.updated_at),
            ms(row.expires_at),
            row.sealed
        ])?,
        KeptChange::Forget { item, key, at } => conn
            .prepare_cached(sql::FORGET_KEPT)?
            .execute(params![item.as_str(), key.as_str(), ms(*at)])?,
    };
    Ok(())
}
