//! SQLite: committed charges and the 管理票 ledger.

use super::*;
use crate::ledger::{LiveEntry, VoidPlan};
use crate::sql;

impl Charges for SqliteStore {
    fn commit_charge(&self, c: ChargeCommit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            // A savepoint inside the batch's transaction: the visit and its rows, or nothing.
            let sp = conn.savepoint().map_err(&err)?;
            let latest = latest_charge(&sp, &c.owner, &c.visit_id).map_err(&err)?;
            let version = match latest {
                Some((version, voided, fingerprint, answer)) if !voided => {
                    if fingerprint == c.fingerprint {
                        return Ok(CommitOutcome::Repeated { version, answer });
                    }
                    if !c.correction {
                        return Ok(CommitOutcome::Conflict { version });
                    }
                    version + 1
                }
                Some((version, ..)) => version + 1,
                None => 1,
            };
            // The writer runs one commit at a time: the ledger read here is the one written to.
            let month = c.month;
            let now = c
                .computed_on
                .iter()
                .map(|(card, _)| ledger_rows(&sp, card, month))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(&err)?;
            if !c.still_computed_on(&now) {
                return Ok(CommitOutcome::Stale);
            }
            sp.execute(
                sql::INSERT_CHARGE,
                params![
                    c.owner,
                    c.visit_id,
                    version,
                    c.fingerprint,
                    month_key(c.month),
                    c.answer,
                    c.client,
                    ms(c.at)
                ],
            )
            .map_err(&err)?;
            for e in &c.entries {
                insert_entry(&sp, e, LedgerSource::Own, Some((&c.visit_id, version)))
                    .map_err(&err)?;
            }
            sp.commit().map_err(&err)?;
            Ok(CommitOutcome::Committed { version })
        })
    }

    fn charge(
        &self,
        owner: String,
        visit_id: String,
    ) -> BoxFuture<'_, Result<Option<ChargeRecord>, StoreError>> {
        self.run(move |conn, path| {
            conn.query_row(sql::LATEST_CHARGE, params![owner, visit_id], |r| {
                Ok(ChargeRecord {
                    owner: owner.clone(),
                    visit_id: visit_id.clone(),
                    version: r.get(0)?,
                    voided: r.get::<_, i64>(1)? != 0,
                    month: r.get(2)?,
                    answer: r.get(3)?,
                    client: r.get(4)?,
                    at: from_ms(r.get(5)?),
                })
            })
            .optional()
            .map_err(db_error(path))
        })
    }

    fn reseal_charges(&self, reseal: Reseal) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let legacy: Vec<LegacyCharge> = {
                let mut stmt = conn.prepare(sql::LEGACY_CHARGES).map_err(&err)?;
                stmt.query_map([], |r| {
                    Ok(LegacyCharge {
                        owner: r.get(0)?,
                        visit_id: r.get(1)?,
                        version: r.get(2)?,
                        fingerprint: r.get(3)?,
                        answer: r.get(4)?,
                    })
                })
                .map_err(&err)?
                .collect::<Result<_, _>>()
                .map_err(&err)?
            };
            if legacy.is_empty() {
                return Ok(0);
            }
            // The one rewrite of rows: the append-only trigger is lifted for it, in the same
            // savepoint as the rows.
            let sp = conn.savepoint().map_err(&err)?;
            sp.execute_batch("DROP TRIGGER charges_append_only")
                .map_err(&err)?;
            for c in &legacy {
                let (fingerprint, answer) = reseal(c);
                sp.execute(
                    sql::RESEAL_CHARGE,
                    params![fingerprint, answer, c.owner, c.visit_id, c.version],
                )
                .map_err(&err)?;
            }
            sp.execute_batch(
                "CREATE TRIGGER charges_append_only BEFORE UPDATE ON charges
                 BEGIN
                     SELECT RAISE(ABORT, 'charges are versioned, never changed');
                 END;",
            )
            .map_err(&err)?;
            sp.commit().map_err(&err)?;
            Ok(legacy.len())
        })
    }

    fn void_charge(
        &self,
        owner: String,
        visit_id: String,
        client: String,
        at: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<VoidOutcome, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let sp = conn.savepoint().map_err(&err)?;
            let Some((version, voided, fingerprint, answer)) =
                latest_charge(&sp, &owner, &visit_id).map_err(&err)?
            else {
                return Ok(if other_owner_has(&sp, &owner, &visit_id).map_err(&err)? {
                    VoidOutcome::NotOwner
                } else {
                    VoidOutcome::Unknown
                });
            };
            if voided {
                return Ok(VoidOutcome::AlreadyVoided { version });
            }
            let month: String = sp
                .query_row(
                    "SELECT month FROM charges WHERE owner = ?1 AND visit_id = ?2 AND version = ?3",
                    params![owner, visit_id, version],
                    |r| r.get(0),
                )
                .map_err(&err)?;
            sp.execute(
                sql::INSERT_CHARGE_VOID,
                params![
                    owner,
                    visit_id,
                    version + 1,
                    fingerprint,
                    month,
                    answer,
                    client,
                    ms(at)
                ],
            )
            .map_err(&err)?;
            sp.commit().map_err(&err)?;
            Ok(VoidOutcome::Voided {
                version: version + 1,
            })
        })
    }

    fn add_ledger_entry(&self, e: NewLedgerEntry) -> BoxFuture<'_, Result<EntryAdded, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            if let Some(id) = insert_entry(conn, &e, LedgerSource::Other, None).map_err(&err)? {
                return Ok(EntryAdded::Added(id));
            }
            let earlier: Option<(i64, Option<String>)> = conn
                .prepare_cached(sql::KEYED_ENTRY)
                .and_then(|mut stmt| {
                    stmt.query_row(
                        params![e.owner, e.key.as_ref().map(|k| k.id.as_str())],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                })
                .map_err(&err)?;
            Ok(EntryAdded::of_earlier(&e, earlier))
        })
    }

    fn void_ledger_entry(
        &self,
        id: i64,
        owner: Option<String>,
        client: String,
        at: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<EntryVoid, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let sp = conn.savepoint().map_err(&err)?;
            let row = sp
                .prepare_cached(sql::LIVE_ENTRY)
                .and_then(|mut stmt| {
                    stmt.query_row(params![id], |r| {
                        Ok(LiveEntry {
                            card: r.get(0)?,
                            month: r.get(1)?,
                            source: r.get(2)?,
                            date: r.get(3)?,
                            care: r.get(4)?,
                            owner: r.get(5)?,
                        })
                    })
                    .optional()
                })
                .map_err(&err)?;
            let (e, of) = match VoidPlan::new(row, owner.as_deref()) {
                VoidPlan::Answer(answer) => return Ok(answer),
                VoidPlan::Void { entry, of } => (entry, of),
            };
            let voided = |outcome| Ok(EntryVoid { outcome, of });
            let by: Option<i64> = sp
                .query_row(sql::VOIDER, params![id], |r| r.get(0))
                .optional()
                .map_err(&err)?;
            if let Some(by) = by {
                return voided(EntryVoidOutcome::AlreadyVoided { by });
            }
            let by: i64 = sp
                .query_row(
                    sql::INSERT_VOID,
                    params![e.card, e.month, e.date, e.care, id, client, ms(at), e.owner],
                    |r| r.get(0),
                )
                .map_err(&err)?;
            sp.commit().map_err(&err)?;
            voided(EntryVoidOutcome::Voided { by })
        })
    }

    fn ledger(
        &self,
        card: KeyedHash,
        month: NaiveDate,
    ) -> BoxFuture<'_, Result<Vec<LedgerRow>, StoreError>> {
        self.run(move |conn, path| ledger_rows(conn, &card, month).map_err(db_error(path)))
    }
}
