//! PostgreSQL: the month-end receipt checks' reports, shared by every replica.

use super::*;
use crate::{Reports, StoredReport, sql};

impl Reports for PostgresStore {
    fn put_report(&self, report: StoredReport) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            conn.execute(
                sql::PUT_REPORT,
                &[
                    &report.key.as_str(),
                    &report.owner,
                    &ms(report.created_at),
                    &report.expires_at.map(ms),
                    &report.sealed,
                ],
            )
            .await
            .map_err(pg_error(&self.at))?;
            Ok(())
        })
    }

    fn report(
        &self,
        key: KeyedHash,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<StoredReport>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .query_opt(sql::REPORT, &[&key.as_str(), &ms(now)])
                .await
                .map_err(pg_error(&self.at))?;
            Ok(row.and_then(|r| {
                Some(StoredReport {
                    key: KeyedHash::parse(r.get(0))?,
                    owner: r.get(1),
                    created_at: from_ms(r.get(2)),
                    expires_at: r.get::<_, Option<i64>>(3).map(from_ms),
                    sealed: r.get(4),
                })
            }))
        })
    }
}
