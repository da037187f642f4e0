//! PostgreSQL: the reception page's sessions, shared by every replica.

use super::*;
use crate::{SessionExpiry, Sessions, sql};

impl Sessions for PostgresStore {
    fn open_session(
        &self,
        key: KeyedHash,
        client: String,
        now: DateTime<Utc>,
        expiry: SessionExpiry,
        per_client: usize,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let (idle, age) = expiry.cutoffs(now);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            tx.execute(sql::END_EXPIRED_SESSIONS, &[&idle, &age])
                .await
                .map_err(&err)?;
            tx.execute(sql::INSERT_SESSION, &[&key.as_str(), &client, &ms(now)])
                .await
                .map_err(&err)?;
            tx.execute(
                "DELETE FROM reception_sessions
                 WHERE key IN (SELECT key FROM reception_sessions WHERE client = $1
                               ORDER BY opened_ms DESC, key DESC OFFSET $2)",
                &[&client, &i64::try_from(per_client).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(&err)?;
            tx.commit().await.map_err(&err)?;
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
        Box::pin(async move {
            let err = pg_error(&self.at);
            let (idle, age) = expiry.cutoffs(now);
            let conn = self.conn().await?;
            let client: Option<String> = conn
                .query_opt(sql::LIVE_SESSION, &[&key.as_str(), &idle, &age])
                .await
                .map_err(&err)?
                .map(|r| r.get(0));
            match &client {
                None => {
                    conn.execute(sql::END_SESSION, &[&key.as_str()])
                        .await
                        .map_err(&err)?;
                }
                Some(_) if touch => {
                    conn.execute(sql::TOUCH_SESSION, &[&ms(now), &key.as_str()])
                        .await
                        .map_err(&err)?;
                }
                Some(_) => {}
            }
            Ok(client)
        })
    }

    fn close_session(&self, key: KeyedHash) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            conn.execute(sql::END_SESSION, &[&key.as_str()])
                .await
                .map_err(pg_error(&self.at))?;
            Ok(())
        })
    }
}
