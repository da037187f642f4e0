//! PostgreSQL: the reception page's list of the day's check-ins, shared by every replica.

use super::*;
use crate::columns::day_text;
use crate::{BoardRows, sql};

impl BoardRows for PostgresStore {
    fn add_board_row(
        &self,
        day: NaiveDate,
        row: Vec<u8>,
        at: DateTime<Utc>,
        keep_from: NaiveDate,
    ) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            tx.execute(sql::END_OLD_BOARD_ROWS, &[&day_text(keep_from)])
                .await
                .map_err(&err)?;
            let seq: i64 = tx
                .query_one(
                    "INSERT INTO board_rows (day, row, at_ms) VALUES ($1, $2, $3) RETURNING seq",
                    &[&day_text(day), &row, &ms(at)],
                )
                .await
                .map_err(&err)?
                .get(0);
            tx.commit().await.map_err(&err)?;
            Ok(seq)
        })
    }

    fn board_rows(
        &self,
        day: NaiveDate,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<crate::SealedRow>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let rows = conn
                .query(
                    sql::BOARD_ROWS,
                    &[&day_text(day), &after, &i64::from(limit)],
                )
                .await
                .map_err(pg_error(&self.at))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }
}
