//! A store that keeps nothing: the gateway without an audit or kept answers, for comparison
//! only (benches/audit.rs and the no-store gateway peer of deploy/bench/run).

use std::time::Duration;

use futures::future::BoxFuture;

use pmh_gateway::store::{
    Audit, AuditQuery, AuditRecord, ChargeCommit, ChargeRecord, Charges, CheckCommit,
    CheckCommitted, CheckinFiles, CommitOutcome, EntryAdded, EntryVoid, EntryVoidOutcome, Kept,
    KeptChange, KeptItem, KeyedHash, LedgerRow, NewLedgerEntry, Purged, Store, StoreError,
    StoreInfo, StoredAnswer, VoidOutcome,
};

/// A store that keeps nothing: the gateway without an audit, for comparison only.
pub struct NullStore;

impl Audit for NullStore {
    fn append(&self, _: AuditRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async { Ok(0) })
    }

    fn search(&self, _: AuditQuery) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn record_check(&self, c: CheckCommit) -> BoxFuture<'_, Result<CheckCommitted, StoreError>> {
        Box::pin(async move {
            Ok(CheckCommitted {
                answer_kept: Ok(()),
                kept: Ok(()),
                ledger: c.cards.iter().map(|_| Ok(Vec::new())).collect(),
            })
        })
    }

    fn answer(
        &self,
        _: String,
        _: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, Result<Option<StoredAnswer>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    fn purge(
        &self,
        _: chrono::DateTime<chrono::Utc>,
        _: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, Result<Purged, StoreError>> {
        Box::pin(async { Ok(Purged::default()) })
    }
}

impl Charges for NullStore {
    fn commit_charge(&self, _: ChargeCommit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        Box::pin(async { Ok(CommitOutcome::Committed { version: 1 }) })
    }

    fn charge(
        &self,
        _: String,
        _: String,
    ) -> BoxFuture<'_, Result<Option<ChargeRecord>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    fn reseal_charges(
        &self,
        _: pmh_gateway::store::Reseal,
    ) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async { Ok(0) })
    }

    fn void_charge(
        &self,
        _: String,
        _: String,
        _: String,
        _: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, Result<VoidOutcome, StoreError>> {
        Box::pin(async { Ok(VoidOutcome::Unknown) })
    }

    fn add_ledger_entry(&self, _: NewLedgerEntry) -> BoxFuture<'_, Result<EntryAdded, StoreError>> {
        Box::pin(async { Ok(EntryAdded::Added(0)) })
    }

    fn void_ledger_entry(
        &self,
        _: i64,
        _: Option<String>,
        _: String,
        _: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, Result<EntryVoid, StoreError>> {
        Box::pin(async {
            Ok(EntryVoid {
                outcome: EntryVoidOutcome::Unknown,
                of: None,
            })
        })
    }

    fn ledger(
        &self,
        _: KeyedHash,
        _: chrono::NaiveDate,
    ) -> BoxFuture<'_, Result<Vec<LedgerRow>, StoreError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

impl Kept for NullStore {
    fn change_kept(&self, _: KeptChange) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn kept(
        &self,
        _: KeptItem,
        _: KeyedHash,
        _: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async { Ok(None) })
    }
}

impl CheckinFiles for NullStore {
    fn file_processed(&self, _: KeyedHash) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async { Ok(false) })
    }

    fn record_file(
        &self,
        _: pmh_gateway::store::ProcessedFile,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async { Ok(true) })
    }

    fn lease(
        &self,
        _: String,
        holder: String,
        _: Duration,
    ) -> BoxFuture<'_, Result<pmh_gateway::store::LeaseState, StoreError>> {
        Box::pin(async move {
            Ok(pmh_gateway::store::LeaseState {
                held: true,
                holder,
                term: 1,
            })
        })
    }

    fn release_lease(&self, _: String, _: String) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

impl pmh_gateway::store::Sessions for NullStore {
    fn open_session(
        &self,
        _: KeyedHash,
        _: String,
        _: chrono::DateTime<chrono::Utc>,
        _: pmh_gateway::store::SessionExpiry,
        _: usize,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn session(
        &self,
        _: KeyedHash,
        _: chrono::DateTime<chrono::Utc>,
        _: pmh_gateway::store::SessionExpiry,
        _: bool,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    fn close_session(&self, _: KeyedHash) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

impl pmh_gateway::store::BoardRows for NullStore {
    fn add_board_row(
        &self,
        _: chrono::NaiveDate,
        _: Vec<u8>,
        _: chrono::DateTime<chrono::Utc>,
        _: chrono::NaiveDate,
    ) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async { Ok(0) })
    }

    fn board_rows(
        &self,
        _: chrono::NaiveDate,
        _: i64,
        _: u32,
    ) -> BoxFuture<'_, Result<Vec<pmh_gateway::store::SealedRow>, StoreError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

impl pmh_gateway::store::Reports for NullStore {
    fn put_report(
        &self,
        _: pmh_gateway::store::StoredReport,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
    fn report(
        &self,
        _: KeyedHash,
        _: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'_, Result<Option<pmh_gateway::store::StoredReport>, StoreError>> {
        Box::pin(async { Ok(None) })
    }
}

impl Store for NullStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        Box::pin(async { Ok(StoreInfo::default()) })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn key_check(&self, _: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async { Ok(true) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
