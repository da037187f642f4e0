//! SQLite: the reception page's sessions.

use super::*;
use crate::{SessionExpiry, Sessions, sql};

impl Sessions for SqliteStore {
    fn open_session(
        &self,
        key: KeyedHash,
        client: String,
        now: DateTime<Utc>,
        expiry: SessionExpiry,
        per_client: usize,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let (idle, age) = expiry.cutoffs(now);
            let sp = conn.savepoint().map_err(&err)?;
            sp.execute(sql::END_EXPIRED_SESSIONS, params![idle, age])
                .map_err(&err)?;
            sp.execute(sql::INSERT_SESSION, params![key.as_str(), client, ms(now)])
                .map_err(&err)?;
            sp.execute(
                "DELETE FROM reception_sessions
                 WHERE key IN (SELECT key FROM reception_sessions WHERE client = ?1
                               ORDER BY opened_ms DESC, key DESC LIMIT -1 OFFSET ?2)",
                params![client, i64::try_from(per_client).unwrap_or(i64::MAX)],
            )
            .map_err(&err)?;
            sp.commit().map_err(&err)?;
            Ok(())
        })
    }

    fn session(
        &self,
        key: KeyedHash,
        now: DateTime<Utc>,
        expiry: SessionExpiry,
        touch: bool,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let (idle, age) = expiry.cutoffs(now);
            let client: Option<String> = conn
                .query_row(sql::LIVE_SESSION, params![key.as_str(), idle, age], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(&err)?;
            match &client {
                None => {
                    conn.execute(sql::END_SESSION, params![key.as_str()])
                        .map_err(&err)?;
                }
                Some(_) if touch => {
                    conn.execute(sql::TOUCH_SESSION, params![ms(now), key.as_str()])
                        .map_err(&err)?;
                }
                Some(_) => {}
            }
            Ok(client)
        })
    }

    fn close_session(&self, key: KeyedHash) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| {
            conn.execute(sql::END_SESSION, params![key.as_str()])
                .map_err(db_error(path))?;
            Ok(())
        })
    }
}
