//! SQLite: the reception page's list of the day's check-ins.

use super::*;
use crate::columns::day_text;
use crate::{BoardRows, sql};

impl BoardRows for SqliteStore {
    fn add_board_row(
        &self,
        day: NaiveDate,
        row: Vec<u8>,
        at: DateTime<Utc>,
        keep_from: NaiveDate,
    ) -> BoxFuture<'_, Result<i64, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let sp = conn.savepoint().map_err(&err)?;
            sp.execute(sql::END_OLD_BOARD_ROWS, params![day_text(keep_from)])
                .map_err(&err)?;
            sp.execute(
                "INSERT INTO board_rows (day, row, at_ms) VALUES (?1, ?2, ?3)",
                params![day_text(day), row, ms(at)],
            )
            .map_err(&err)?;
            let seq = sp.last_insert_rowid();
            sp.commit().map_err(&err)?;
            Ok(seq)
        })
    }

    fn board_rows(
        &self,
        day: NaiveDate,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<crate::SealedRow>, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let mut st = conn.prepare_cached(sql::BOARD_ROWS).map_err(&err)?;
            let rows = st
                .query_map(params![day_text(day), after, i64::from(limit)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(&err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(&err)?;
            Ok(rows)
        })
    }
}
