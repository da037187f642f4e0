//! Answers kept for re-reading (`GET /v1/subsidy-checks/{check_id}`, a charge quote by check
//! id): each answer's own fields sealed under a key derived from its check id, and its mapped
//! part sealed once per mapping (its [`basis`](crate::service::CheckOutcome::basis)) in a shared
//! body under a random key, stored once for all the checks that gave it. Opened, it is the
//! answer again. Used by the API and the reception page alike; the store only holds the bytes.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::domain::{ServiceDate, hex, unhex};
use crate::mapping::Mapped;
use crate::service::{
    CheckOutcome, Degradation, Lookup, MAPPED_CAPACITY, Origin, Saved, Source, StandInChange,
    Status,
};
use crate::store::{
    AuditRecord, BODY_KEEP, CheckCommit, CheckCommitted, Hasher, KEY_BYTES, KeptChange, KeptItem,
    KeptRow, KeyedHash, LedgerRow, Sealer, Store, StoreError, StoredAnswer,
};

/// The item a shared body is sealed as.
pub const BODY_ITEM: &str = "answer-body";

/// An answer's mapped part, sealed once per basis under a random key, for the kept answers of
/// the checks that gave it; used for half of [`BODY_KEEP`], then written anew (the store removes
/// bodies no answer holds once older than that). The sealed bytes are held only until the store
/// has them: later answers send only the id, so memory keeps the id and key.
#[derive(Debug)]
pub struct SharedBody {
    pub id: String,
    pub key: [u8; KEY_BYTES],
    /// The sealed body while the store does not have it yet.
    unsent: Mutex<Option<Arc<[u8]>>>,
    made_at: DateTime<Utc>,
}

impl SharedBody {
    /// The sealed body, when the store does not have it yet (an answer then sends it along).
    pub fn unsent(&self) -> Option<Arc<[u8]>> {
        self.slot().clone()
    }

    /// The store has it: later answers send only its id, and its bytes are let go.
    pub fn mark_stored(&self) {
        self.slot().take();
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<[u8]>>> {
        // One assignment or clone under the lock: whole under a panic elsewhere.
        self.unsent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How many shared bodies are held (their ids and keys, once stored): one per memoised mapping.
/// A body not held is sealed and stored anew, a few kilobytes more in the store.
pub const BODIES_HELD: u64 = MAPPED_CAPACITY;

/// The shared bodies held, by basis (their ids and keys, once stored): [`BODIES_HELD`].
#[derive(Debug)]
pub struct Bodies {
    bodies: moka::sync::Cache<u64, Arc<SharedBody>>,
}

impl Default for Bodies {
    fn default() -> Self {
        Self {
            bodies: moka::sync::Cache::new(BODIES_HELD),
        }
    }
}

impl Bodies {
    /// The shared body for this answer's kept copy, `now` by the service's clock; `None` when
    /// the answer has no basis (it is then kept whole).
    pub fn body(&self, o: &CheckOutcome, now: DateTime<Utc>) -> Option<Arc<SharedBody>> {
        let basis = o.basis?;
        if let Some(b) = self.bodies.get(&basis)
            && now - b.made_at < BODY_KEEP / 2
            && now >= b.made_at
        {
            return Some(b);
        }
        let plain = serde_json::to_vec(&*o.mapped).ok()?;
        let (sealer, key) = Sealer::random(BODY_ITEM);
        let b = Arc::new(SharedBody {
            id: uuid::Uuid::new_v4().to_string(),
            key,
            unsent: Mutex::new(Some(sealer.seal(&plain).into())),
            made_at: now,
        });
        self.bodies.insert(basis, b.clone());
        Some(b)
    }
}

/// A kept answer as sealed under its check id, written: the answer's own fields without its
/// mapped part, and the key of the shared body that holds that part.
#[derive(serde::Serialize)]
struct KeptHeadOut<'a> {
    status: &'a Status,
    source: &'a Option<Source>,
    service_date: &'a ServiceDate,
    checked_at: &'a DateTime<Utc>,
    obtained_at: &'a Option<DateTime<Utc>>,
    origin: &'a Option<Origin>,
    degradation: &'a Option<Degradation>,
    masters_version: &'a str,
    check_id: &'a str,
    body_key: String,
}

impl<'a> KeptHeadOut<'a> {
    /// `outcome`'s own fields, its mapped part in the shared body under `body_key`.
    fn new(outcome: &'a CheckOutcome, body_key: String) -> Self {
        Self {
            status: &outcome.status,
            source: &outcome.source,
            service_date: &outcome.service_date,
            checked_at: &outcome.checked_at,
            obtained_at: &outcome.obtained_at,
            origin: &outcome.origin,
            degradation: &outcome.degradation,
            masters_version: &outcome.masters_version,
            check_id: &outcome.check_id,
            body_key,
        }
    }
}

/// A kept answer as read: [`KeptHeadOut`]; or, written without a shared body (or by a build
/// that wrote the empty mapped part too), the whole answer with its `mapped` part.
#[derive(serde::Deserialize)]
struct KeptHeadIn {
    status: Status,
    source: Option<Source>,
    service_date: ServiceDate,
    checked_at: DateTime<Utc>,
    obtained_at: Option<DateTime<Utc>>,
    origin: Option<Origin>,
    #[serde(default)]
    mapped: Option<Arc<Mapped>>,
    degradation: Option<Degradation>,
    masters_version: String,
    check_id: String,
    #[serde(default)]
    body_key: Option<String>,
}

/// An answer to keep for `retention`, with the shared body it refers to (`now` by the service's
/// clock); `None` (logged) when it cannot be written, which is not fatal: the access itself is
/// recorded either way.
pub fn seal(
    hasher: &Hasher,
    bodies: &Bodies,
    retention: std::time::Duration,
    outcome: &CheckOutcome,
    patient: Option<KeyedHash>,
    now: DateTime<Utc>,
) -> Option<(StoredAnswer, Option<Arc<SharedBody>>)> {
    let shared = bodies.body(outcome, now);
    let written = match &shared {
        Some(b) => serde_json::to_vec(&KeptHeadOut::new(outcome, hex(&b.key))),
        None => serde_json::to_vec(outcome),
    };
    let plain = match written {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise an answer to keep it");
            return None;
        }
    };
    let created_at = outcome.checked_at;
    let expires_at =
        created_at + chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(1));
    let answer = StoredAnswer {
        check_id: outcome.check_id.clone(),
        created_at,
        expires_at,
        patient,
        sealed: hasher.answer(&outcome.check_id).seal(&plain),
        body_id: shared.as_ref().map(|b| b.id.clone()),
        body: shared.as_ref().and_then(|b| b.unsent()).map(|b| b.to_vec()),
    };
    Some((answer, shared))
}

/// A kept answer, opened and read (with its shared body, when it has one); `None` when it does
/// not open (another store secret), its body is gone, or it no longer reads (another build's
/// form).
pub fn open(hasher: &Hasher, k: &StoredAnswer) -> Option<CheckOutcome> {
    let plain = hasher.answer(&k.check_id).open(&k.sealed)?;
    let head: KeptHeadIn = serde_json::from_slice(&plain).ok()?;
    let mapped = match head.body_key {
        Some(key) => {
            let key: [u8; KEY_BYTES] = unhex(&key)?.try_into().ok()?;
            let body = Sealer::with_key(&key, BODY_ITEM).open(k.body.as_deref()?)?;
            Arc::new(serde_json::from_slice(&body).ok()?)
        }
        None => head.mapped?,
    };
    Some(CheckOutcome {
        status: head.status,
        source: head.source,
        service_date: head.service_date,
        checked_at: head.checked_at,
        obtained_at: head.obtained_at,
        origin: head.origin,
        mapped,
        degradation: head.degradation,
        masters_version: head.masters_version,
        check_id: head.check_id,
        basis: None,
    })
}

/// An answered check committed: per active subsidy of the answer, in its order, the ledger
/// rows of its shared cap's month as read in the same transaction (`None` when the subsidy has
/// no shared cap or no readable certificate; an `Err` when they could not be read — the answer
/// does not depend on them).
pub type Months = Vec<Option<Result<Vec<LedgerRow>, StoreError>>>;

/// An earlier answer, by its check id, read at `now`: `Ok(None)` when none is kept (never
/// given, or expired); `Ok(Some((patient, None)))` when one is kept but does not open (another
/// secret, its body gone, another build's form). The patient's keyed hash is the audit's.
pub async fn earlier(
    store: &dyn Store,
    hasher: &Hasher,
    check_id: String,
    now: DateTime<Utc>,
) -> Result<Option<(Option<KeyedHash>, Option<CheckOutcome>)>, StoreError> {
    let kept = store.answer(check_id, now).await?;
    Ok(kept.map(|k| (k.patient.clone(), open(hasher, &k))))
}

/// Per active subsidy, in the answer's order: the ledger card of its shared monthly cap, when it
/// has one (and a recipient number).
fn cards(hasher: &Hasher, outcome: &CheckOutcome) -> Vec<Option<KeyedHash>> {
    outcome
        .mapped
        .active
        .iter()
        .map(|s| {
            hasher.shared_card(
                s.copay.monthly_cap_shared,
                &s.payer_number,
                s.recipient_number.as_deref(),
            )
        })
        .collect()
}

/// The service's durable item under `at` as the store keeps it: under a keyed hash of what it
/// is looked up by, sealed under a key derived from the same value (`Hasher::stand_in`,
/// `check_in`), so the store holds no identity, 照会番号 or certificate that reads without both
/// the store's secret and that value.
pub fn kept_change(
    hasher: &Hasher,
    at: Lookup<'_>,
    saved: Option<&Saved>,
    decided: DateTime<Utc>,
) -> KeptChange {
    let (item, (key, sealer)) = kept_key(hasher, at);
    match saved {
        Some(s) => KeptChange::Keep(KeptRow {
            item,
            key,
            updated_at: decided,
            expires_at: s.expires_at,
            sealed: sealer.seal(&s.body),
        }),
        None => KeptChange::Forget {
            item,
            key,
            at: decided,
        },
    }
}

/// Where the item under `at` is kept, and the sealer of its bytes.
pub fn kept_key(hasher: &Hasher, at: Lookup<'_>) -> (KeptItem, (KeyedHash, Sealer)) {
    match at {
        Lookup::StandIn(insured) => (KeptItem::StandIn, hasher.stand_in(insured)),
        Lookup::CheckIn(reference) => (KeptItem::CheckIn, hasher.check_in(reference)),
    }
}

/// Commits an answered check in one transaction: its audit record `audit`, its kept answer
/// (sealed, for `retention`), the person's stand-in change when its PMH call made one, and the
/// ledger months its shared caps show. `Err` when the audit record could not be committed —
/// then the answer must not be sent; a failure to keep the answer is logged, never fatal, and
/// a stand-in change the commit did not make goes to the service's keeper.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    store: &dyn Store,
    hasher: &Hasher,
    bodies: &Bodies,
    retention: std::time::Duration,
    audit: AuditRecord,
    outcome: &CheckOutcome,
    stand_in: Option<StandInChange>,
    now: DateTime<Utc>,
) -> Result<Months, StoreError> {
    let (answer, shared) = seal(
        hasher,
        bodies,
        retention,
        outcome,
        audit.patient.clone(),
        now,
    )
    .unzip();
    let kept = stand_in
        .as_ref()
        .map(|c| kept_change(hasher, Lookup::StandIn(c.person()), c.saved(), c.decided()));
    let (months, committed) = commit(store, hasher, audit, outcome, answer, kept).await?;
    if let (Some(change), Ok(())) = (stand_in, &committed.kept) {
        change.written();
    }
    match committed.answer_kept {
        Ok(()) => {
            if let Some(b) = shared.flatten() {
                b.mark_stored();
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot keep an answer for GET /v1/subsidy-checks/{{check_id}}");
        }
    }
    Ok(months)
}

/// Records the access to an earlier answer (`rec`, about `outcome`) and reads the ledger months
/// its shared caps show now, in one commit; `Err` when the record could not be committed.
pub async fn record_reread(
    store: &dyn Store,
    hasher: &Hasher,
    audit: AuditRecord,
    outcome: &CheckOutcome,
) -> Result<Months, StoreError> {
    let (months, _) = commit(store, hasher, audit, outcome, None, None).await?;
    Ok(months)
}

/// One commit of an access to `outcome`: its record, the answer and stand-in change to keep
/// with it, and the ledger months its shared caps show, read in it (one per active subsidy, in
/// the answer's order).
async fn commit(
    store: &dyn Store,
    hasher: &Hasher,
    audit: AuditRecord,
    outcome: &CheckOutcome,
    answer: Option<StoredAnswer>,
    kept: Option<KeptChange>,
) -> Result<(Months, CheckCommitted), StoreError> {
    let cards = cards(hasher, outcome);
    let mut committed = store
        .record_check(CheckCommit {
            audit,
            answer,
            cards: cards.iter().flatten().cloned().collect(),
            month: outcome.service_date.date(),
            kept,
        })
        .await?;
    let mut read = std::mem::take(&mut committed.ledger).into_iter();
    let months = cards
        .iter()
        .map(|card| card.as_ref().and_then(|_| read.next()))
        .collect();
    Ok((months, committed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows kept by earlier builds (the whole answer with an empty mapped part beside the body
    /// key, or the whole answer alone) still read, as do this build's (no mapped part).
    #[test]
    fn kept_heads_of_every_form_read() {
        let earlier = r#"{"status":"Confirmed","source":null,"service_date":"2026-11-21","checked_at":"2026-11-21T01:00:00Z","obtained_at":null,"origin":null,"mapped":{"active":[],"inactive":[],"warnings":[],"receipt_type":null,"burden_codes":[],"calc_codes_version":""},"degradation":null,"masters_version":"m","check_id":"c","body_key":"00"}"#;
        let head: KeptHeadIn = serde_json::from_str(earlier).unwrap();
        assert_eq!(head.body_key.as_deref(), Some("00"));
        assert_eq!(head.masters_version, "m");

        let outcome = crate::api::test_outcome(&["2113601"]);
        let now = serde_json::to_vec(&KeptHeadOut::new(&outcome, "11".into())).unwrap();
        assert!(!String::from_utf8_lossy(&now).contains("mapped"));
        let head: KeptHeadIn = serde_json::from_slice(&now).unwrap();
        assert!(head.mapped.is_none());
        assert_eq!(head.check_id, outcome.check_id);

        let whole: KeptHeadIn =
            serde_json::from_slice(&serde_json::to_vec(&outcome).unwrap()).unwrap();
        assert_eq!(whole.mapped.unwrap().active.len(), 1);
        assert!(whole.body_key.is_none());
    }

    #[test]
    fn a_shared_body_is_held_sealed_until_stored_then_only_by_its_id_and_key() {
        let cache = Bodies::default();
        let mut o = crate::api::test_outcome(&["2113601", "5413601"]);
        o.source = Some(Source::Cache);
        o.basis = Some(7);
        let now = o.checked_at;
        let first = cache.body(&o, now).unwrap();
        let sealed = first.unsent().expect("sealed until the store has it");
        let plain = Sealer::with_key(&first.key, BODY_ITEM)
            .open(&sealed)
            .unwrap();
        assert_eq!(plain, serde_json::to_vec(&*o.mapped).unwrap());
        // Not stored yet (the commit failed or is under way): the next answer sends it too.
        let again = cache.body(&o, now).unwrap();
        assert_eq!(again.id, first.id);
        assert!(again.unsent().is_some());
        first.mark_stored();
        let later = cache.body(&o, now + BODY_KEEP / 4).unwrap();
        assert_eq!(
            (later.id.as_str(), later.key),
            (first.id.as_str(), first.key)
        );
        assert!(later.unsent().is_none(), "its bytes let go once stored");
        // Past half its keeping time, a body is written anew.
        let renewed = cache.body(&o, now + BODY_KEEP / 2).unwrap();
        assert_ne!(renewed.id, first.id);
        assert!(renewed.unsent().is_some());
        // Without a basis, an answer is kept whole.
        let mut unbased = o.clone();
        unbased.basis = None;
        assert!(cache.body(&unbased, now).is_none());
    }
}
