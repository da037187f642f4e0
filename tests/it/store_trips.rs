//! Store trips per request, counted by a store that passes every call to a real SQLite store:
//! an answered check is one trip (its audit record, kept answer, the stand-in its PMH call
//! changed and the ledger months, in one commit), and nothing is left for later.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures::future::BoxFuture;
use pmh_gateway::api::AppState;
use pmh_gateway::sandbox::Population;
use pmh_gateway::service::Clock;
use pmh_gateway::store::{
    Audit, AuditQuery, AuditRecord, ChargeCommit, ChargeRecord, Charges, CheckCommit,
    CheckCommitted, CheckinFiles, CommitOutcome, EntryAdded, EntryVoid, KeptChange, KeptItem,
    KeyedHash, LeaseState, LedgerRow, NewLedgerEntry, ProcessedFile, Purged, Reseal, Store,
    StoreError, StoreInfo, StoredAnswer, VoidOutcome,
};
use serde_json::Value;

use crate::common::*;

/// A real store, each call counted by its method's name.
struct Trips {
    inner: Arc<dyn Store>,
    calls: Mutex<BTreeMap<&'static str, u32>>,
}

impl Trips {
    fn count(&self, name: &'static str) -> &dyn Store {
        *self.calls.lock().unwrap().entry(name).or_default() += 1;
        &*self.inner
    }
    /// The calls since the last look, by name.
    fn take(&self) -> BTreeMap<&'static str, u32> {
        std::mem::take(&mut self.calls.lock().unwrap())
    }
}

type F<'a, T> = BoxFuture<'a, Result<T, StoreError>>;
type Time = chrono::DateTime<chrono::Utc>;

impl Audit for Trips {
    fn append(&self, r: AuditRecord) -> F<'_, i64> {
        self.count("append").append(r)
    }
    fn search(&self, q: AuditQuery) -> F<'_, Vec<AuditRecord>> {
        self.count("search").search(q)
    }
    fn record_check(&self, c: CheckCommit) -> F<'_, CheckCommitted> {
        self.count("record_check").record_check(c)
    }
    fn answer(&self, id: String, now: Time) -> F<'_, Option<StoredAnswer>> {
        self.count("answer").answer(id, now)
    }
    fn purge(&self, before: Time, now: Time) -> F<'_, Purged> {
        self.count("purge").purge(before, now)
    }
}

impl Charges for Trips {
    fn commit_charge(&self, c: ChargeCommit) -> F<'_, CommitOutcome> {
        self.count("commit_charge").commit_charge(c)
    }
    fn charge(&self, owner: String, visit: String) -> F<'_, Option<ChargeRecord>> {
        self.count("charge").charge(owner, visit)
    }
    fn reseal_charges(&self, r: Reseal) -> F<'_, usize> {
        self.count("reseal_charges").reseal_charges(r)
    }
    fn void_charge(&self, o: String, v: String, by: String, at: Time) -> F<'_, VoidOutcome> {
        self.count("void_charge").void_charge(o, v, by, at)
    }
    fn add_ledger_entry(&self, e: NewLedgerEntry) -> F<'_, EntryAdded> {
        self.count("add_ledger_entry").add_ledger_entry(e)
    }
    fn void_ledger_entry(
        &self,
        id: i64,
        o: Option<String>,
        by: String,
        at: Time,
    ) -> F<'_, EntryVoid> {
        self.count("void_ledger_entry")
            .void_ledger_entry(id, o, by, at)
    }
    fn ledger(&self, card: KeyedHash, month: chrono::NaiveDate) -> F<'_, Vec<LedgerRow>> {
        self.count("ledger").ledger(card, month)
    }
}

impl pmh_gateway::store::Kept for Trips {
    fn change_kept(&self, c: KeptChange) -> F<'_, ()> {
        self.count("change_kept").change_kept(c)
    }
    fn kept(&self, item: KeptItem, key: KeyedHash, now: Time) -> F<'_, Option<Vec<u8>>> {
        self.count("kept").kept(item, key, now)
    }
}

impl CheckinFiles for Trips {
    fn file_processed(&self, key: KeyedHash) -> F<'_, bool> {
        self.count("file_processed").file_processed(key)
    }
    fn record_file(&self, f: ProcessedFile) -> F<'_, bool> {
        self.count("record_file").record_file(f)
    }
    fn lease(&self, name: String, holder: String, term: Duration) -> F<'_, LeaseState> {
        self.count("lease").lease(name, holder, term)
    }
    fn release_lease(&self, name: String, holder: String) -> F<'_, ()> {
        self.count("release_lease").release_lease(name, holder)
    }
}

impl pmh_gateway::store::Sessions for Trips {
    fn open_session(
        &self,
        key: KeyedHash,
        client: String,
        now: Time,
        expiry: pmh_gateway::store::SessionExpiry,
        per_client: usize,
    ) -> F<'_, ()> {
        self.count("open_session")
            .open_session(key, client, now, expiry, per_client)
    }
    fn session(
        &self,
        key: KeyedHash,
        now: Time,
        expiry: pmh_gateway::store::SessionExpiry,
        touch: bool,
    ) -> F<'_, Option<String>> {
        self.count("session").session(key, now, expiry, touch)
    }
    fn close_session(&self, key: KeyedHash) -> F<'_, ()> {
        self.count("close_session").close_session(key)
    }
}

impl pmh_gateway::store::BoardRows for Trips {
    fn add_board_row(
        &self,
        day: chrono::NaiveDate,
        row: Vec<u8>,
        at: Time,
        keep_from: chrono::NaiveDate,
    ) -> F<'_, i64> {
        self.count("add_board_row")
            .add_board_row(day, row, at, keep_from)
    }
    fn board_rows(
        &self,
        day: chrono::NaiveDate,
        after: i64,
        limit: u32,
    ) -> F<'_, Vec<pmh_gateway::store::SealedRow>> {
        self.count("board_rows").board_rows(day, after, limit)
    }
}

impl pmh_gateway::store::Reports for Trips {
    fn put_report(&self, r: pmh_gateway::store::StoredReport) -> F<'_, ()> {
        self.count("put_report").put_report(r)
    }
    fn report(&self, key: KeyedHash, now: Time) -> F<'_, Option<pmh_gateway::store::StoredReport>> {
        self.count("report").report(key, now)
    }
}

impl Store for Trips {
    fn info(&self) -> F<'_, StoreInfo> {
        self.count("info").info()
    }
    fn ping(&self) -> F<'_, ()> {
        self.count("ping").ping()
    }
    fn key_check(&self, check: String) -> F<'_, bool> {
        self.count("key_check").key_check(check)
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        self.count("close").close()
    }
}

async fn call(st: &AppState, req: Request<Body>) -> (StatusCode, Value) {
    call_as(st, TEST_TOKEN, req).await
}

fn post(body: &Value) -> Request<Body> {
    Request::post("/v1/subsidy-checks")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn trips(calls: &[(&'static str, u32)]) -> BTreeMap<&'static str, u32> {
    calls.iter().copied().collect()
}

#[tokio::test]
async fn an_answered_check_is_one_store_trip_with_its_stand_in() {
    let population = Population::generate(SEED, today(), 300);
    let mut trips_store = None;
    let InProcess {
        state: st, clock, ..
    } = in_process_on(|real| {
        let store = Arc::new(Trips {
            inner: real,
            calls: Mutex::default(),
        });
        trips_store = Some(store.clone());
        store
    });
    let store = trips_store.unwrap();
    let (real, hasher) = (store.inner.clone(), st.hasher.clone());
    store.take();
    let p = population.find(&["showcase", "multi"]).unwrap();

    // A miss: PMH answers, and the answer, its record and the person's new stand-in are one
    // commit — nothing is handed to the keeper, not even after a flush.
    let (status, v) = call(&st, post(&body_for(p))).await;
    assert_eq!(
        (status, v["source"].as_str()),
        (StatusCode::OK, Some("upstream"))
    );
    st.service.flush_kept().await;
    assert_eq!(store.take(), trips(&[("record_check", 1)]));
    let (key, _) = hasher.stand_in(&insured(p));
    assert!(
        real.kept(KeptItem::StandIn, key, clock.now())
            .await
            .unwrap()
            .is_some(),
        "the stand-in was kept in the check's commit"
    );
    let metrics = st.metrics.render();
    assert!(
        metrics.contains(r#"pmh_gateway_durable_state_total{item="stand_in",op="kept"} 1"#),
        "{metrics}"
    );

    // A hit: one trip, no stand-in change.
    let (_, again) = call(&st, post(&body_for(p))).await;
    assert_eq!(again["source"], "cache");
    st.service.flush_kept().await;
    assert_eq!(store.take(), trips(&[("record_check", 1)]));

    // The earlier answer by its check id: read, then recorded with its ledger months.
    let id = v["check_id"].as_str().unwrap();
    let (status, earlier) = call(
        &st,
        Request::get(format!("/v1/subsidy-checks/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, earlier["check_id"].as_str()),
        (StatusCode::OK, Some(id))
    );
    assert_eq!(store.take(), trips(&[("answer", 1), ("record_check", 1)]));

    // A check whose answer is not recorded (a check-in's prefetch) leaves its stand-in change
    // to the keeper, which writes it after the answer.
    let other = population.find(&["showcase", "triple"]).unwrap();
    let req = pmh_gateway::service::CheckRequest {
        insured: insured(other),
        service_date: None,
        claim: pmh_gateway::domain::Claim::Medical,
        care: pmh_gateway::domain::Care::Outpatient,
        insurance: None,
    };
    let out = st.service.check(req).await;
    assert_eq!(out.status, pmh_gateway::service::Status::Confirmed);
    st.service.flush_kept().await;
    assert_eq!(store.take(), trips(&[("change_kept", 1)]));
}
