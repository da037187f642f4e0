//! SQLite: check-in files processed once, and the leases.

use super::*;
use crate::sql;

impl CheckinFiles for SqliteStore {
    fn file_processed(&self, key: KeyedHash) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.run(move |conn, path| {
            conn.query_row(sql::FILE_PROCESSED, params![key.as_str()], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
                .map_err(db_error(path))
        })
    }

    fn record_file(&self, file: ProcessedFile) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            // The file and its records, or nothing.
            let sp = conn.savepoint().map_err(&err)?;
            let new = sp
                .execute(
                    "INSERT OR IGNORE INTO checkin_files (key, at_ms, holder, records)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        file.key.as_str(),
                        ms(file.at),
                        file.holder,
                        file.records.len() as i64
                    ],
                )
                .map_err(&err)?
                == 1;
            if new {
                for rec in &file.records {
                    insert_audit(&sp, rec).map_err(&err)?;
                }
            }
            sp.commit().map_err(&err)?;
            Ok(new)
        })
    }

    fn lease(
        &self,
        name: String,
        holder: String,
        ttl: std::time::Duration,
    ) -> BoxFuture<'_, Result<LeaseState, StoreError>> {
        self.run(move |conn, path| {
            // One process owns the file: its clock is the store's.
            let now = ms(Utc::now());
            let expires = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
            let err = db_error(path);
            conn.execute(
                "INSERT INTO leases (name, holder, term, expires_ms) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (name) DO UPDATE SET
                    term = term + (holder <> excluded.holder),
                    holder = excluded.holder,
                    expires_ms = excluded.expires_ms
                 WHERE holder = excluded.holder OR expires_ms <= ?4",
                params![name, holder, expires, now],
            )
            .map_err(&err)?;
            let (by, term): (String, i64) = conn
                .query_row(sql::LEASE_HOLDER, params![name], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(&err)?;
            Ok(LeaseState {
                held: by == holder,
                holder: by,
                term,
            })
        })
    }

    fn release_lease(&self, name: String, holder: String) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |conn, path| {
            conn.execute(sql::RELEASE_LEASE, params![name, holder])
                .map_err(db_error(path))?;
            Ok(())
        })
    }
}
