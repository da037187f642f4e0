//! SQLite: committed charges and the 管理票 ledger.

use super::*;

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
            sp.execute(
                "INSERT INTO charges (owner, visit_id, version, voided, fingerprint, month, answer,
                    client, at_ms)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8)",
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
            conn.query_row(
                "SELECT version, voided, month, answer, client, at_ms FROM charges
                 WHERE owner = ?1 AND visit_id = ?2 ORDER BY version DESC LIMIT 1",
                params![owner, visit_id],
                |r| {
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
                },
            )
            .optional()
            .map_err(db_error(path))
        })
    }

    fn reseal_charges(&self, reseal: Reseal) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.run(move |conn, path| {
            let err = db_error(path);
            let legacy: Vec<LegacyCharge> = {
                let mut stmt = conn
                    .prepare(
                        "SELECT owner, visit_id, version, fingerprint, answer FROM charges
                         WHERE fingerprint NOT LIKE 'k1:%' OR answer NOT LIKE 'sealed1:%'",
                    )
                    .map_err(&err)?;
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
                    "UPDATE charges SET fingerprint = ?1, answer = ?2
                     WHERE owner = ?3 AND visit_id = ?4 AND version = ?5",
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
                "INSERT INTO charges (owner, visit_id, version, voided, fingerprint, month, answer,
                    client, at_ms)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8)",
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

    fn add_ledger_entry(&self, e: NewLedgerEntry) -> BoxFuture<'_, Result<i64, StoreError>> {
        self.run(move |conn, path| {
            insert_entry(conn, &e, LedgerSource::Other, None).map_err(db_error(path))?;
            Ok(conn.last_insert_rowid())
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
            let row: Option<(String, String, String, String, String, String)> = sp
                .query_row(
                    "SELECT card, month, source, entry_date, care, owner FROM ledger_entries
                     WHERE id = ?1 AND voids IS NULL",
                    params![id],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(&err)?;
            let Some((card, month, source, date, care, entry_owner)) = row else {
                return Ok(EntryVoid {
                    outcome: EntryVoidOutcome::Unknown,
                    of: None,
                });
            };
            if owner.as_ref().is_some_and(|o| *o != entry_owner) {
                return Ok(EntryVoid {
                    outcome: EntryVoidOutcome::NotOwner,
                    of: None,
                });
            }
            let of = KeyedHash::parse(&card)
                .zip(pmh_core::domain::date::parse_iso(&date).ok())
                .map(|(card, date)| EntryOf { card, date });
            let done = |outcome| {
                Ok(EntryVoid {
                    outcome,
                    of: of.clone(),
                })
            };
            if source == "own" {
                return done(EntryVoidOutcome::OwnVisit);
            }
            let by: Option<i64> = sp
                .query_row(
                    "SELECT id FROM ledger_entries WHERE voids = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(&err)?;
            if let Some(by) = by {
                return done(EntryVoidOutcome::AlreadyVoided { by });
            }
            sp.execute(
                "INSERT INTO ledger_entries (card, month, source, entry_date, amount, care, voids,
                    client, at_ms, owner)
                 VALUES (?1, ?2, 'other', ?3, 0, ?4, ?5, ?6, ?7, ?8)",
                params![card, month, date, care, id, client, ms(at), entry_owner],
            )
            .map_err(&err)?;
            let by = sp.last_insert_rowid();
            sp.commit().map_err(&err)?;
            done(EntryVoidOutcome::Voided { by })
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
