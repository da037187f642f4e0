//! The service's durable state in the store, keyed and sealed as `answers::kept_change` says:
//! the store — SQLite file or shared PostgreSQL — holds no identity, 照会番号 or certificate
//! that reads without both the store's secret and the value looked up by.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::answers::{kept_change, kept_key};
use crate::service::{Durable, DurableError, Lookup, Saved};
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
}
