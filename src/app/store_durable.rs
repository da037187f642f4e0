//! The service's durable state in the store: each item under a keyed hash of what it is looked
//! up by, sealed under a key derived from the same value (`store::Hasher::stand_in`,
//! `check_in`), so the store — SQLite file or shared PostgreSQL — holds no identity, 照会番号 or
//! certificate that reads without both the store's secret and that value.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::service::{Clock, Durable, DurableError, Lookup, Saved};
use crate::store::{Hasher, KeptItem, KeptRow, KeyedHash, Sealer, Store};
use futures::future::BoxFuture;

pub struct StoreDurable {
    pub store: Arc<dyn Store>,
    pub hasher: Arc<Hasher>,
    pub clock: Arc<dyn Clock>,
}

impl StoreDurable {
    fn locate(&self, at: Lookup<'_>) -> (KeptItem, KeyedHash, Sealer) {
        let (item, (key, sealer)) = match at {
            Lookup::StandIn(insured) => (KeptItem::StandIn, self.hasher.stand_in(insured)),
            Lookup::CheckIn(reference) => (KeptItem::CheckIn, self.hasher.check_in(reference)),
        };
        (item, key, sealer)
    }
}

fn failed(e: crate::store::StoreError) -> DurableError {
    DurableError(e.to_string())
}

impl Durable for StoreDurable {
    fn put(&self, at: Lookup<'_>, saved: Option<Saved>) -> BoxFuture<'_, Result<(), DurableError>> {
        let (item, key, sealer) = self.locate(at);
        let row = saved.map(|s| KeptRow {
            item,
            key: key.clone(),
            updated_at: self.clock.now(),
            expires_at: s.expires_at,
            sealed: sealer.seal(&s.body),
        });
        Box::pin(async move {
            match row {
                Some(row) => self.store.put_kept(row).await.map_err(failed),
                None => self.store.forget_kept(item, key).await.map_err(failed),
            }
        })
    }

    fn get(
        &self,
        at: Lookup<'_>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, DurableError>> {
        let (item, key, sealer) = self.locate(at);
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
}
