//! SQLite: the month-end receipt checks' reports.

use super::*;
use crate::{Reports, StoredReport, sql};

impl Reports for SqliteStore {
    fn put_report(&self, report: StoredReport) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| {
            conn.execute(
                sql::PUT_REPORT,
                params![
                    report.key.as_str(),
                    report.owner,
                    ms(report.created_at),
                    report.expires_at.map(ms),
                    report.sealed
                ],
            )
            .map_err(db_error(path))?;
            Ok(())
        })
    }

    fn report(
        &self,
        key: KeyedHash,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<StoredReport>, StoreError>> {
        self.run(move |conn, path| {
            conn.query_row(sql::REPORT, params![key.as_str(), ms(now)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get(4)?,
                ))
            })
            .optional()
            .map_err(db_error(path))
            .map(|row| {
                row.and_then(|(k, owner, created, expires, sealed)| {
                    Some(StoredReport {
                        key: KeyedHash::parse(&k)?,
                        owner,
                        created_at: from_ms(created),
                        expires_at: expires.map(from_ms),
                        sealed,
                    })
                })
            })
        })
    }
}
