//! The service's durable state in the store, keyed and sealed as `answers::kept_change` says:
//! the store — SQLite file or shared PostgreSQL — holds no identity, 照会番号 or certificate
//! that reads without both the store's secret and the value looked up by.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::answers::{kept_change, kept_key};
use crate::domain::ServiceDate;
use crate::service::{Durable, DurableError, ListRow, Lookup, Saved};
use crate::store::{Hasher, Store};
use futures::future::BoxFuture;

pub struct StoreDurable {
    pub store: Arc<dyn Store>,
    pub hasher: Arc<Hasher>,
}

fn failed(e: crate::store::StoreError) -> DurableError {
    DurableError(e.to_string())
}

impl Durable for StoreDurable {
    fn put(
        &self,
        at: Lookup<'_>,
        saved: Option<Saved>,
        decided: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), DurableError>> {
        let change = kept_change(&self.hasher, at, saved.as_ref(), decided);
        Box::pin(async move { self.store.change_kept(change).await.map_err(failed) })
    }

    fn get(
        &self,
        at: Lookup<'_>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, DurableError>> {
        let (item, (key, sealer)) = kept_key(&self.hasher, at);
        Box::pin(async move {
            let Some(sealed) = self.store.kept(item, key, now).await.map_err(failed)? else {
                return Ok(None);
            };
            sealer.open(&sealed).map(Some).ok_or_else(|| {
                DurableError(format!(
                    "a kept {} does not open with this store's secret (was the secret replaced?)",
                    item.as_str()
                ))
            })
        })
    }

    fn add_row(
        &self,
        day: ServiceDate,
        body: Vec<u8>,
        at: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), DurableError>> {
        // Sealed: a row names a 照会番号, the person (name, kana, sex, birthdate) and the
        // programmes of their certificates.
        let date = day.date();
        let sealed = self.hasher.board(&date.to_string()).seal(&body);
        // Yesterday's rows stay (a list opened just after midnight); older ones go.
        let keep_from = date.pred_opt().unwrap_or(date);
        Box::pin(async move {
            self.store
                .add_board_row(date, sealed, at, keep_from)
                .await
                .map(|_| ())
                .map_err(failed)
        })
    }

    fn rows(
        &self,
        day: ServiceDate,
        after: i64,
    ) -> BoxFuture<'_, Result<Vec<ListRow>, DurableError>> {
        let date = day.date();
        let sealer = self.hasher.board(&date.to_string());
        Box::pin(async move {
            let rows = self
                .store
                .board_rows(date, after, ROWS_PER_READ)
                .await
                .map_err(failed)?;
            rows.into_iter()
                .map(|(seq, sealed)| {
                    sealer.open(&sealed).map(|b| (seq, b)).ok_or_else(|| {
                        DurableError(
                            "a row of the reception list does not open with this store's secret"
                                .into(),
                        )
                    })
                })
                .collect()
        })
    }
}

/// The most rows of the reception list read at once (a busy day's list reads in a few).
const ROWS_PER_READ: u32 = 2000;
