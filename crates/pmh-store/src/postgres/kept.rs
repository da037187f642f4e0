//! PostgreSQL: the service's durable state (stand-ins and check-ins).

use super::*;
use crate::sql;

impl Kept for PostgresStore {
    fn change_kept(&self, change: KeptChange) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            change_kept(&conn, &change)
                .await
                .map_err(pg_error(&self.at))
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
                .prepare_cached(sql::KEPT)
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

/// Makes a change to the kept items (alone, or in a check's transaction).
pub(super) async fn change_kept(
    conn: &impl deadpool_postgres::GenericClient,
    change: &KeptChange,
) -> Result<(), tokio_postgres::Error> {
    match change {
        KeptChange::Keep(row) => {
            let stmt = conn.prepare_cached(sql::PUT_KEPT).await?;
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
            .await?
        }
        KeptChange::Forget { item, key, at } => {
            let stmt = conn.prepare_cached(sql::FORGET_KEPT).await?;
            conn.execute(&stmt, &[&item.as_str(), &key.as_str(), &ms(*at)])
                .await?
        }
    };
    Ok(())
}
