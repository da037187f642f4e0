//! PostgreSQL: committed charges and the 管理票 ledger.

use super::*;

impl Charges for PostgresStore {
    fn commit_charge(&self, c: ChargeCommit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            lock_visit(&tx, &c.owner, &c.visit_id).await.map_err(&err)?;
            let version = match latest_charge(&tx, &c.owner, &c.visit_id)
                .await
                .map_err(&err)?
            {
                Some((version, false, fingerprint, answer, _)) => {
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
            tx.execute(
                "INSERT INTO charges (owner, visit_id, version, voided, fingerprint, month, answer,
                    client, at_ms)
                 VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8)",
                &[
                    &c.owner,
                    &c.visit_id,
                    &(version as i32),
                    &c.fingerprint,
                    &month_key(c.month),
                    &c.answer,
                    &c.client,
                    &ms(c.at),
                ],
            )
            .await
            .map_err(&err)?;
            for e in &c.entries {
                insert_entry(&tx, e, LedgerSource::Own, Some((&c.visit_id, version)))
                    .await
                    .map_err(&err)?;
            }
            tx.commit().await.map_err(&err)?;
            Ok(CommitOutcome::Committed { version })
        })
    }

    fn charge(
        &self,
        owner: String,
        visit_id: String,
    ) -> BoxFuture<'_, Result<Option<ChargeRecord>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .query_opt(
                    "SELECT version, voided, month, answer, client, at_ms FROM charges
                     WHERE owner = $1 AND visit_id = $2 ORDER BY version DESC LIMIT 1",
                    &[&owner, &visit_id],
                )
                .await
                .map_err(pg_error(&self.at))?;
            Ok(row.map(|r| ChargeRecord {
                owner: owner.clone(),
                visit_id: visit_id.clone(),
                version: r.get::<_, i32>(0).max(0) as u32,
                voided: r.get::<_, i32>(1) != 0,
                month: r.get(2),
                answer: r.get(3),
                client: r.get(4),
                at: from_ms(r.get(5)),
            }))
        })
    }

    fn reseal_charges(&self, reseal: Reseal) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            // Replicas starting together: one rewrites, the others find nothing left.
            tx.execute("LOCK TABLE charges IN EXCLUSIVE MODE", &[])
                .await
                .map_err(&err)?;
            let legacy: Vec<LegacyCharge> = tx
                .query(
                    "SELECT owner, visit_id, version, fingerprint, answer FROM charges
                     WHERE fingerprint NOT LIKE 'k1:%' OR answer NOT LIKE 'sealed1:%'",
                    &[],
                )
                .await
                .map_err(&err)?
                .iter()
                .map(|r| LegacyCharge {
                    owner: r.get(0),
                    visit_id: r.get(1),
                    version: r.get::<_, i32>(2).max(0) as u32,
                    fingerprint: r.get(3),
                    answer: r.get(4),
                })
                .collect();
            if legacy.is_empty() {
                return Ok(0);
            }
            // The one rewrite of rows: the append-only trigger is lifted for it, inside the
            // transaction.
            tx.execute(
                "ALTER TABLE charges DISABLE TRIGGER charges_append_only",
                &[],
            )
            .await
            .map_err(&err)?;
            for c in &legacy {
                let (fingerprint, answer) = reseal(c);
                tx.execute(
                    "UPDATE charges SET fingerprint = $1, answer = $2
                     WHERE owner = $3 AND visit_id = $4 AND version = $5",
                    &[
                        &fingerprint,
                        &answer,
                        &c.owner,
                        &c.visit_id,
                        &(c.version as i32),
                    ],
                )
                .await
                .map_err(&err)?;
            }
            tx.execute(
                "ALTER TABLE charges ENABLE TRIGGER charges_append_only",
                &[],
            )
            .await
            .map_err(&err)?;
            tx.commit().await.map_err(&err)?;
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
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            lock_visit(&tx, &owner, &visit_id).await.map_err(&err)?;
            let Some((version, voided, fingerprint, answer, month)) =
                latest_charge(&tx, &owner, &visit_id).await.map_err(&err)?
            else {
                let others: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM charges WHERE visit_id = $1 AND owner <> $2)",
                        &[&visit_id, &owner],
                    )
                    .await
                    .map_err(&err)?
                    .get(0);
                return Ok(if others {
                    VoidOutcome::NotOwner
                } else {
                    VoidOutcome::Unknown
                });
            };
            if voided {
                return Ok(VoidOutcome::AlreadyVoided { version });
            }
            tx.execute(
                "INSERT INTO charges (owner, visit_id, version, voided, fingerprint, month, answer,
                    client, at_ms)
                 VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8)",
                &[
                    &owner,
                    &visit_id,
                    &(version as i32 + 1),
                    &fingerprint,
                    &month,
                    &answer,
                    &client,
                    &ms(at),
                ],
            )
            .await
            .map_err(&err)?;
            tx.commit().await.map_err(&err)?;
            Ok(VoidOutcome::Voided {
                version: version + 1,
            })
        })
    }

    fn add_ledger_entry(&self, e: NewLedgerEntry) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            let id = insert_entry(&tx, &e, LedgerSource::Other, None)
                .await
                .map_err(&err)?;
            tx.commit().await.map_err(&err)?;
            Ok(id)
        })
    }

    fn void_ledger_entry(
        &self,
        id: i64,
        owner: Option<String>,
        client: String,
        at: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<EntryVoid, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            // The row locked: two replicas voiding it at once see one void.
            let row = tx
                .query_opt(
                    "SELECT card, month, source, entry_date, care, owner FROM ledger_entries
                     WHERE id = $1 AND voids IS NULL FOR UPDATE",
                    &[&id],
                )
                .await
                .map_err(&err)?;
            let Some(row) = row else {
                return Ok(EntryVoid {
                    outcome: EntryVoidOutcome::Unknown,
                    of: None,
                });
            };
            let (card, month, source, date, care): (String, String, String, String, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
            let entry_owner: String = row.get(5);
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
            let by = tx
                .query_opt("SELECT id FROM ledger_entries WHERE voids = $1", &[&id])
                .await
                .map_err(&err)?;
            if let Some(by) = by {
                return done(EntryVoidOutcome::AlreadyVoided { by: by.get(0) });
            }
            let by: i64 = tx
                .query_one(
                    "INSERT INTO ledger_entries (card, month, source, entry_date, amount, care,
                        voids, client, at_ms, owner)
                     VALUES ($1, $2, 'other', $3, 0, $4, $5, $6, $7, $8) RETURNING id",
                    &[
                        &card,
                        &month,
                        &date,
                        &care,
                        &id,
                        &client,
                        &ms(at),
                        &entry_owner,
                    ],
                )
                .await
                .map_err(&err)?
                .get(0);
            tx.commit().await.map_err(&err)?;
            done(EntryVoidOutcome::Voided { by })
        })
    }

    fn ledger(
        &self,
        card: KeyedHash,
        month: NaiveDate,
    ) -> BoxFuture<'_, Result<Vec<LedgerRow>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            ledger_rows(&conn, &card, month)
                .await
                .map_err(pg_error(&self.at))
        })
    }
}
