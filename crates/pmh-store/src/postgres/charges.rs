//! PostgreSQL: committed charges and the 管理票 ledger.

use super::*;
use crate::ledger::{LiveEntry, VoidPlan};
use crate::sql;

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
            // Each card's commits one at a time across replicas (cards in one order: no
            // deadlock), then its rows in force compared with those the charge was computed on.
            let mut cards: Vec<&str> = c.computed_on.iter().map(|(k, _)| k.as_str()).collect();
            cards.sort_unstable();
            cards.dedup();
            for card in cards {
                lock(&tx, &format!("card:{card}")).await.map_err(&err)?;
            }
            let mut now = Vec::with_capacity(c.computed_on.len());
            for (card, _) in &c.computed_on {
                now.push(ledger_rows(&tx, card, c.month).await.map_err(&err)?);
            }
            if !c.still_computed_on(&now) {
                return Ok(CommitOutcome::Stale);
            }
            tx.execute(
                sql::INSERT_CHARGE,
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
                .query_opt(sql::LATEST_CHARGE, &[&owner, &visit_id])
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
                .query(sql::LEGACY_CHARGES, &[])
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
                    sql::RESEAL_CHARGE,
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
                    .query_one(sql::VISIT_OF_ANOTHER, &[&visit_id, &owner])
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
                sql::INSERT_CHARGE_VOID,
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

    fn add_ledger_entry(&self, e: NewLedgerEntry) -> BoxFuture<'_, Result<EntryAdded, StoreError>> {
        Box::pin(async move {
            let err = pg_error(&self.at);
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(&err)?;
            let added = match insert_entry(&tx, &e, LedgerSource::Other, None)
                .await
                .map_err(&err)?
            {
                Some(id) => EntryAdded::Added(id),
                None => {
                    // The id is taken: by this same entry (a retry) or by another one. ON
                    // CONFLICT waited for a concurrent insert of it to commit.
                    let earlier = tx
                        .query_opt(
                            sql::KEYED_ENTRY,
                            &[&e.owner, &e.key.as_ref().map(|k| k.id.as_str())],
                        )
                        .await
                        .map_err(&err)?
                        .map(|r| (r.get(0), r.get(1)));
                    EntryAdded::of_earlier(&e, earlier)
                }
            };
            tx.commit().await.map_err(&err)?;
            Ok(added)
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
                .query_opt(&format!("{} FOR UPDATE", sql::LIVE_ENTRY), &[&id])
                .await
                .map_err(&err)?
                .map(|r| LiveEntry {
                    card: r.get(0),
                    month: r.get(1),
                    source: r.get(2),
                    date: r.get(3),
                    care: r.get(4),
                    owner: r.get(5),
                });
            let (e, of) = match VoidPlan::new(row, owner.as_deref()) {
                VoidPlan::Answer(answer) => return Ok(answer),
                VoidPlan::Void { entry, of } => (entry, of),
            };
            let voided = |outcome| Ok(EntryVoid { outcome, of });
            let by = tx.query_opt(sql::VOIDER, &[&id]).await.map_err(&err)?;
            if let Some(by) = by {
                return voided(EntryVoidOutcome::AlreadyVoided { by: by.get(0) });
            }
            let by: i64 = tx
                .query_one(
                    sql::INSERT_VOID,
                    &[
                        &e.card,
                        &e.month,
                        &e.date,
                        &e.care,
                        &id,
                        &client,
                        &ms(at),
                        &e.owner,
                    ],
                )
                .await
                .map_err(&err)?
                .get(0);
            tx.commit().await.map_err(&err)?;
            voided(EntryVoidOutcome::Voided { by })
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
