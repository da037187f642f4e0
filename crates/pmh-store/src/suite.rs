//! The store's contract, run against every backend (`sqlite/` and `postgres/` tests call
//! each of these on an empty store). What only one backend can show (files on disk, its own
//! refusal of an UPDATE) stays with its own tests.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use pmh_core::domain::{Care, Yen};

pub fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, h, 0, 0).unwrap()
}

/// After `close`, what was committed before is there (a new store on the same state reads it:
/// the backend's own test) and every call fails as stopped.
pub async fn a_closed_store_keeps_what_was_committed_and_refuses_more(store: &dyn Store) {
    store
        .append(AuditRecord::new(at(1), "recept-1", Operation::Check))
        .await
        .unwrap();
    store.close().await;
    let refused = store
        .append(AuditRecord::new(at(2), "recept-1", Operation::Check))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Stopped), "{refused}");
    assert!(matches!(store.ping().await, Err(StoreError::Stopped)));
    // Closing twice is harmless.
    store.close().await;
}

/// Records appended, searched (newest first, by criteria) and purged by age.
pub async fn records_are_appended_searched_and_purged(store: &dyn Store) {
    let hasher = Hasher::from_secret(b"0123456789abcdef0123456789abcdef");
    let patient = hasher.reference("0000000007");
    for (h, client) in [(1, "recept-1"), (2, "pharmacy"), (3, "recept-1")] {
        let mut r = AuditRecord::new(at(h), client, Operation::Check);
        r.http_status = Some(200);
        r.status = Some("confirmed".into());
        r.patient = (h != 2).then(|| patient.clone());
        r.detail = Some("ある詳細".into());
        store.append(r).await.unwrap();
    }
    let all = store
        .search(AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].at, at(3), "newest first");
    assert_eq!(all[0].detail.as_deref(), Some("ある詳細"));
    assert!(all[0].seq > all[1].seq);
    let mine = store
        .search(AuditQuery {
            patient: Some(patient.clone()),
            from: Some(at(2)),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].client, "recept-1");
    let by_client = store
        .search(AuditQuery {
            client: Some("pharmacy".into()),
            operation: Some(Operation::Check),
            to: Some(at(3)),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_client.len(), 1);
    // A list view that showed several 照会番号 is found by each of them, with what it showed.
    let (one, two) = (
        hasher.reference("0000000001"),
        hasher.reference("0000000002"),
    );
    let mut list = AuditRecord::new(at(4), "counter", Operation::ReceptionList);
    list.shown = vec![one.clone(), two.clone()];
    store.append(list).await.unwrap();
    let mut about = AuditRecord::new(at(5), "recept-1", Operation::CheckByReference);
    about.reference = Some(two.clone());
    store.append(about).await.unwrap();
    let saw_two = store
        .search(AuditQuery {
            reference: Some(two.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        saw_two
            .iter()
            .map(|r| r.client.as_str())
            .collect::<Vec<_>>(),
        ["recept-1", "counter"]
    );
    assert_eq!(saw_two[1].shown, [one.clone(), two.clone()]);
    let saw_one = store
        .search(AuditQuery {
            reference: Some(one),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(saw_one.len(), 1);
    let purged = store.purge(at(2), at(12)).await.unwrap();
    assert_eq!(purged.audit_records, 1);
    assert_eq!(store.info().await.unwrap().audit_records, 4);
    let purged = store.purge(at(5), at(12)).await.unwrap();
    assert_eq!(purged.audit_records, 3);
    assert!(
        store
            .search(AuditQuery {
                reference: Some(two),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .iter()
            .all(|r| r.operation != Operation::ReceptionList),
        "what it showed goes with the record"
    );
    store.ping().await.unwrap();
}

/// Appends from many tasks at once: each has its own row and hears back once it is committed.
pub async fn concurrent_appends_are_each_committed(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(AuditRecord::new(at(1), &format!("c{i}"), Operation::Check))
                    .await
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().unwrap());
    }
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), 300, "every append has its own row");
    assert_eq!(store.info().await.unwrap().audit_records, 300);
}

/// Keeps an answer as an answered check does: beside its access record, in one commit.
pub async fn keep(store: &dyn Store, answer: StoredAnswer) {
    let month = answer.created_at.date_naive();
    let audit = AuditRecord::new(answer.created_at, "keeper", Operation::Check);
    let done = store
        .record_check(CheckCommit {
            audit,
            answer: Some(answer),
            cards: Vec::new(),
            month,
            kept: None,
        })
        .await
        .unwrap();
    done.answer_kept.unwrap();
}

/// Answers are kept until they expire, replaced under the same check id, purged once expired.
pub async fn answers_expire(store: &dyn Store) {
    let answer = |sealed: &[u8]| StoredAnswer {
        check_id: "c1".into(),
        created_at: at(1),
        expires_at: at(5),
        patient: None,
        sealed: sealed.to_vec(),
        body_id: None,
        body: None,
    };
    keep(store, answer(b"\x00first")).await;
    keep(store, answer(b"\x00\xffsecond")).await;
    let kept = store.answer("c1".into(), at(4)).await.unwrap().unwrap();
    assert_eq!(
        kept.sealed, b"\x00\xffsecond",
        "bytes kept exactly, the last one"
    );
    assert_eq!((kept.created_at, kept.expires_at), (at(1), at(5)));
    assert!(store.answer("c1".into(), at(5)).await.unwrap().is_none());
    assert!(store.answer("c2".into(), at(2)).await.unwrap().is_none());
    assert_eq!(store.purge(at(0), at(6)).await.unwrap().answers, 1);

    // An answered check in one commit: its record, its kept answer, and the months of its
    // cards read in the same transaction (another institution's 管理票 row on one, none on
    // the other).
    let hasher = Hasher::from_secret(b"0123456789abcdef0123456789abcdef");
    let (card, empty) = (hasher.reference("card-1"), hasher.reference("card-2"));
    store
        .add_ledger_entry(NewLedgerEntry {
            institution: Some("薬局".into()),
            ..entry(&card, "2026-11-02", 700)
        })
        .await
        .unwrap();
    let mut rec = AuditRecord::new(at(7), "recept-2", Operation::Check);
    rec.check_id = Some("c3".into());
    let done = store
        .record_check(CheckCommit {
            audit: rec,
            answer: Some(StoredAnswer {
                check_id: "c3".into(),
                created_at: at(7),
                expires_at: at(9),
                patient: None,
                sealed: b"sealed".to_vec(),
                body_id: None,
                body: None,
            }),
            cards: vec![card, empty],
            month: pmh_core::domain::date::parse_iso("2026-11-21").unwrap(),
            kept: Some(KeptChange::Keep(KeptRow {
                item: KeptItem::StandIn,
                key: hasher.reference("person"),
                updated_at: at(7),
                expires_at: at(20),
                sealed: b"stand-in".to_vec(),
            })),
        })
        .await
        .unwrap();
    assert!(done.answer_kept.is_ok());
    assert!(done.kept.is_ok());
    assert_eq!(
        store
            .kept(KeptItem::StandIn, hasher.reference("person"), at(8))
            .await
            .unwrap()
            .as_deref(),
        Some(&b"stand-in"[..]),
        "the stand-in in the check's commit"
    );
    let amounts: Vec<Vec<u64>> = done
        .ledger
        .into_iter()
        .map(|r| r.unwrap().iter().map(|row| row.amount.0).collect())
        .collect();
    assert_eq!(amounts, [vec![700], vec![]]);
    let recorded = store
        .search(AuditQuery {
            client: Some("recept-2".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].check_id.as_deref(), Some("c3"));
    let kept = store.answer("c3".into(), at(8)).await.unwrap().unwrap();
    assert_eq!(kept.sealed, b"sealed");

    // Answers sharing a body: written with the first, not replaced by a later one with the same
    // id, read back with each; removed once no answer holds it and it is older than BODY_KEEP.
    let shared = |check_id: &str, body: Option<&[u8]>, expires| StoredAnswer {
        check_id: check_id.into(),
        created_at: at(10),
        expires_at: at(expires),
        patient: None,
        sealed: check_id.as_bytes().to_vec(),
        body_id: Some("b1".into()),
        body: body.map(<[u8]>::to_vec),
    };
    keep(store, shared("s1", Some(b"body"), 11)).await;
    keep(store, shared("s2", Some(b"other"), 13)).await;
    keep(store, shared("s3", None, 13)).await;
    for id in ["s1", "s2", "s3"] {
        let kept = store.answer(id.into(), at(10)).await.unwrap().unwrap();
        assert_eq!(kept.sealed, id.as_bytes());
        assert_eq!(
            kept.body.as_deref(),
            Some(&b"body"[..]),
            "{id}: the first body"
        );
    }
    let unshared = store.answer("c3".into(), at(8)).await.unwrap().unwrap();
    assert_eq!((unshared.body_id, unshared.body), (None, None));
    // s1 expires; the body stays for s2 and s3.
    store.purge(at(0), at(12)).await.unwrap();
    let kept = store.answer("s2".into(), at(12)).await.unwrap().unwrap();
    assert_eq!(kept.body.as_deref(), Some(&b"body"[..]));
    // All expired: the body goes with the purge once it is old enough.
    store.purge(at(0), at(14)).await.unwrap();
    keep(store, shared("s4", None, 20)).await;
    assert_eq!(
        store
            .answer("s4".into(), at(14))
            .await
            .unwrap()
            .unwrap()
            .body,
        None,
        "the body was removed with its last answer"
    );
}

/// The secret's fingerprint is recorded at first use and compared afterwards.
pub async fn another_secret_is_refused(store: &dyn Store) {
    let one = Hasher::from_secret(b"one secret of thirty-two bytes!!");
    let other = Hasher::from_secret(b"another secret, thirty-two bytes");
    assert!(store.key_check(one.key_check()).await.unwrap());
    assert!(store.key_check(one.key_check()).await.unwrap());
    assert!(!store.key_check(other.key_check()).await.unwrap());
}

/// Kept items (stand-ins, check-ins): replaced, forgotten, expired, purged; the item and the
/// key both matter; a change never undoes one decided later.
pub async fn kept_items_are_replaced_forgotten_and_expire(store: &dyn Store) {
    let hasher = Hasher::from_secret(b"0123456789abcdef0123456789abcdef");
    let key = hasher.reference("0000000001");
    let other = hasher.reference("0000000002");
    let row = |item, key: &KeyedHash, sealed: &[u8], decided, expires| {
        KeptChange::Keep(KeptRow {
            item,
            key: key.clone(),
            updated_at: at(decided),
            expires_at: at(expires),
            sealed: sealed.to_vec(),
        })
    };
    let forget = |item, key: &KeyedHash, decided| KeptChange::Forget {
        item,
        key: key.clone(),
        at: at(decided),
    };
    for change in [
        row(KeptItem::CheckIn, &key, b"\x01one", 1, 5),
        row(KeptItem::CheckIn, &key, b"\x01two", 2, 6),
        // Decided before "two", arriving after it: not kept.
        row(KeptItem::CheckIn, &key, b"\x01late", 1, 7),
        row(KeptItem::StandIn, &key, b"\x02stand", 1, 9),
        row(KeptItem::CheckIn, &other, b"\x03", 1, 3),
    ] {
        store.change_kept(change).await.unwrap();
    }
    let get = |item, key: &KeyedHash, h| store.kept(item, key.clone(), at(h));
    assert_eq!(
        get(KeptItem::CheckIn, &key, 5).await.unwrap().unwrap(),
        b"\x01two"
    );
    assert_eq!(
        get(KeptItem::StandIn, &key, 5).await.unwrap().unwrap(),
        b"\x02stand"
    );
    assert!(
        get(KeptItem::CheckIn, &key, 6).await.unwrap().is_none(),
        "expired"
    );
    assert!(get(KeptItem::StandIn, &other, 1).await.unwrap().is_none());
    assert_eq!(store.info().await.unwrap().kept, 3);
    // A forget decided before the stand-in was kept leaves it.
    store
        .change_kept(forget(KeptItem::StandIn, &key, 0))
        .await
        .unwrap();
    assert!(get(KeptItem::StandIn, &key, 5).await.unwrap().is_some());
    store
        .change_kept(forget(KeptItem::StandIn, &key, 1))
        .await
        .unwrap();
    assert!(get(KeptItem::StandIn, &key, 5).await.unwrap().is_none());
    store
        .change_kept(forget(KeptItem::StandIn, &key, 1))
        .await
        .unwrap();
    assert_eq!(store.purge(at(0), at(4)).await.unwrap().kept, 1);
    assert_eq!(store.info().await.unwrap().kept, 1);
}

pub fn entry(card: &KeyedHash, day: &str, amount: u64) -> NewLedgerEntry {
    NewLedgerEntry {
        owner: "recept".into(),
        card: card.clone(),
        date: pmh_core::domain::date::parse_iso(day).unwrap(),
        amount: Yen(amount),
        total_cost: Some(Yen(amount * 10)),
        care: Care::Outpatient,
        institution: None,
        cap: Some(Yen(5_000)),
        client: "reception".into(),
        at: at(9),
        key: None,
    }
}

/// A 管理票 entry with the client's own id: added once; the same request again is the same
/// row; another request under the id is a conflict; another owner's id is its own.
pub async fn keyed_entries_are_added_once(store: &dyn Store) {
    let hasher = Hasher::from_secret(b"0123456789abcdef0123456789abcdef");
    let card = hasher.reference("card-keyed");
    let keyed = |owner: &str, id: &str, fingerprint: &str, amount| NewLedgerEntry {
        owner: owner.into(),
        key: Some(EntryKey {
            id: id.into(),
            fingerprint: fingerprint.into(),
        }),
        ..entry(&card, "2026-04-05", amount)
    };
    let first = store
        .add_ledger_entry(keyed("recept", "E1", "fp-a", 700))
        .await
        .unwrap();
    let EntryAdded::Added(id) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        store
            .add_ledger_entry(keyed("recept", "E1", "fp-a", 700))
            .await
            .unwrap(),
        EntryAdded::Again(id)
    );
    assert_eq!(
        store
            .add_ledger_entry(keyed("recept", "E1", "fp-b", 900))
            .await
            .unwrap(),
        EntryAdded::Conflict
    );
    assert!(matches!(
        store
            .add_ledger_entry(keyed("pharmacy", "E1", "fp-a", 700))
            .await
            .unwrap(),
        EntryAdded::Added(other) if other != id
    ));
    // Entries without an id are never taken for one another.
    for _ in 0..2 {
        assert!(matches!(
            store
                .add_ledger_entry(entry(&card, "2026-04-05", 100))
                .await
                .unwrap(),
            EntryAdded::Added(_)
        ));
    }
    let month = pmh_core::domain::date::parse_iso("2026-04-01").unwrap();
    let total: u64 = store
        .ledger(card, month)
        .await
        .unwrap()
        .iter()
        .map(|r| r.amount.0)
        .sum();
    assert_eq!(total, 700 + 700 + 100 + 100, "the retry added nothing");
}

pub fn commit(
    visit: &str,
    fingerprint: &str,
    correction: bool,
    rows: Vec<NewLedgerEntry>,
) -> ChargeCommit {
    ChargeCommit {
        owner: "recept".into(),
        visit_id: visit.into(),
        fingerprint: fingerprint.into(),
        correction,
        month: pmh_core::domain::date::parse_iso("2026-04-01").unwrap(),
        answer: format!("{{\"fingerprint\":\"{fingerprint}\"}}"),
        entries: rows,
        client: "recept".into(),
        at: at(10),
        computed_on: Vec::new(),
    }
}

/// A commit computed on a month's ledger that has changed since is written only when the rows
/// in force are still those it was computed on: two windows computing against one cap at the
/// same moment cannot both spend it.
pub async fn a_commit_on_a_changed_ledger_is_stale(store: &dyn Store) {
    let h = Hasher::from_secret(b"stale");
    let card = h.reference("card-stale");
    let april = pmh_core::domain::date::parse_iso("2026-04-01").unwrap();
    // Two windows computed on the same (empty) month.
    let on_empty = |visit: &str, f: &str| ChargeCommit {
        computed_on: vec![(card.clone(), Vec::new())],
        ..commit(visit, f, false, vec![entry(&card, "2026-04-02", 3_000)])
    };
    assert_eq!(
        store.commit_charge(on_empty("A", "fa")).await.unwrap(),
        CommitOutcome::Committed { version: 1 }
    );
    assert_eq!(
        store.commit_charge(on_empty("B", "fb")).await.unwrap(),
        CommitOutcome::Stale,
        "B was computed before A's rows were in"
    );
    // Computed again on the month as it is now: written.
    let rows = store.ledger(card.clone(), april).await.unwrap();
    let again = ChargeCommit {
        computed_on: vec![(card.clone(), rows.iter().map(|r| r.id).collect())],
        ..commit("B", "fb", false, vec![entry(&card, "2026-04-02", 2_000)])
    };
    assert_eq!(
        store.commit_charge(again).await.unwrap(),
        CommitOutcome::Committed { version: 1 }
    );
    // The same request as A again is answered from the first, whatever the ledger now.
    assert!(matches!(
        store.commit_charge(on_empty("A", "fa")).await.unwrap(),
        CommitOutcome::Repeated { version: 1, .. }
    ));
    let total: u64 = store
        .ledger(card, april)
        .await
        .unwrap()
        .iter()
        .map(|r| r.amount.0)
        .sum();
    assert_eq!(total, 5_000);
}

/// Charges and the ledger: versions, idempotence, voids, 管理票 entries, months, the purge.
pub async fn charges_are_versioned_idempotent_and_voidable(store: &dyn Store) {
    let h = Hasher::from_secret(b"k");
    let card = h.card(
        &pmh_core::domain::PayerNumber::parse("21136015").unwrap(),
        "1234566",
    );
    let april = pmh_core::domain::date::parse_iso("2026-04-01").unwrap();
    let amounts = |rows: &[LedgerRow]| -> Vec<(LedgerSource, u64)> {
        rows.iter().map(|r| (r.source, r.amount.0)).collect()
    };
    // A visit, committed; the same request again is answered from the first commit.
    let v1 = commit("V1", "f1", false, vec![entry(&card, "2026-04-01", 1_000)]);
    assert_eq!(
        store.commit_charge(v1.clone()).await.unwrap(),
        CommitOutcome::Committed { version: 1 }
    );
    assert_eq!(
        store.commit_charge(v1).await.unwrap(),
        CommitOutcome::Repeated {
            version: 1,
            answer: "{\"fingerprint\":\"f1\"}".into()
        }
    );
    // A different request under the same id is a conflict, unless it is a correction.
    let v1b = commit("V1", "f2", false, vec![entry(&card, "2026-04-01", 1_200)]);
    assert_eq!(
        store.commit_charge(v1b.clone()).await.unwrap(),
        CommitOutcome::Conflict { version: 1 }
    );
    assert_eq!(
        amounts(&store.ledger(card.clone(), april).await.unwrap()),
        [(LedgerSource::Own, 1_000)]
    );
    let v1b = ChargeCommit {
        correction: true,
        ..v1b
    };
    assert_eq!(
        store.commit_charge(v1b).await.unwrap(),
        CommitOutcome::Committed { version: 2 }
    );
    // Only the latest version counts; another institution's amount is added.
    store
        .add_ledger_entry(NewLedgerEntry {
            institution: Some("薬局".into()),
            ..entry(&card, "2026-04-02", 500)
        })
        .await
        .unwrap();
    let v2 = commit("V2", "f3", false, vec![entry(&card, "2026-04-03", 3_000)]);
    store.commit_charge(v2).await.unwrap();
    let rows = store.ledger(card.clone(), april).await.unwrap();
    assert_eq!(
        amounts(&rows),
        [
            (LedgerSource::Own, 1_200),
            (LedgerSource::Other, 500),
            (LedgerSource::Own, 3_000)
        ]
    );
    assert_eq!(rows[0].version, Some(2));
    // A void is a new version; its rows no longer count; a second void changes nothing.
    assert_eq!(
        store
            .void_charge("recept".into(), "V2".into(), "recept".into(), at(11))
            .await
            .unwrap(),
        VoidOutcome::Voided { version: 2 }
    );
    assert_eq!(
        store
            .void_charge("recept".into(), "V2".into(), "recept".into(), at(11))
            .await
            .unwrap(),
        VoidOutcome::AlreadyVoided { version: 2 }
    );
    assert_eq!(
        store
            .void_charge("recept".into(), "V9".into(), "recept".into(), at(11))
            .await
            .unwrap(),
        VoidOutcome::Unknown
    );
    assert_eq!(
        amounts(&store.ledger(card.clone(), april).await.unwrap()),
        [(LedgerSource::Own, 1_200), (LedgerSource::Other, 500)]
    );
    let latest = store
        .charge("recept".into(), "V2".into())
        .await
        .unwrap()
        .unwrap();
    assert!(latest.voided && latest.version == 2);
    // Visits are each client's own: another's "V2" is not this one, and cannot be voided by
    // it (told apart from an unknown id for the audit only).
    assert_eq!(
        store
            .void_charge("intruder".into(), "V2".into(), "intruder".into(), at(11))
            .await
            .unwrap(),
        VoidOutcome::NotOwner
    );
    assert!(
        store
            .charge("intruder".into(), "V2".into())
            .await
            .unwrap()
            .is_none()
    );
    // Committed again after a void: version 3 counts.
    let v2 = commit("V2", "f3", false, vec![entry(&card, "2026-04-03", 2_000)]);
    assert_eq!(
        store.commit_charge(v2).await.unwrap(),
        CommitOutcome::Committed { version: 3 }
    );
    assert_eq!(store.ledger(card.clone(), april).await.unwrap().len(), 3);
    // Another month, another certificate: nothing.
    let may = pmh_core::domain::date::parse_iso("2026-05-01").unwrap();
    assert!(store.ledger(card.clone(), may).await.unwrap().is_empty());
    let other = h.card(
        &pmh_core::domain::PayerNumber::parse("21136015").unwrap(),
        "7654321",
    );
    assert!(store.ledger(other, april).await.unwrap().is_empty());
    // A mistyped 管理票 amount is voided by a row naming it; a visit's row is not voided here.
    let other_id = store
        .ledger(card.clone(), april)
        .await
        .unwrap()
        .iter()
        .find(|r| r.source == LedgerSource::Other)
        .unwrap()
        .id;
    let v = store
        .void_ledger_entry(other_id, Some("intruder".into()), "intruder".into(), at(11))
        .await
        .unwrap();
    assert_eq!(
        (v.outcome, v.of),
        (EntryVoidOutcome::NotOwner, None),
        "another client's entry"
    );
    let v = store
        .void_ledger_entry(other_id, Some("recept".into()), "recept".into(), at(11))
        .await
        .unwrap();
    assert!(
        matches!(v.outcome, EntryVoidOutcome::Voided { .. }),
        "{v:?}"
    );
    assert_eq!(v.of.unwrap().card, card);
    assert!(matches!(
        store
            .void_ledger_entry(other_id, None, "admin".into(), at(11))
            .await
            .unwrap()
            .outcome,
        EntryVoidOutcome::AlreadyVoided { .. }
    ));
    let own_id = store.ledger(card.clone(), april).await.unwrap()[0].id;
    assert_eq!(
        store
            .void_ledger_entry(own_id, Some("recept".into()), "recept".into(), at(11))
            .await
            .unwrap()
            .outcome,
        EntryVoidOutcome::OwnVisit
    );
    assert_eq!(
        store
            .void_ledger_entry(9_999, None, "admin".into(), at(11))
            .await
            .unwrap()
            .outcome,
        EntryVoidOutcome::Unknown
    );
    assert_eq!(store.ledger(card.clone(), april).await.unwrap().len(), 2);
    assert_eq!(store.info().await.unwrap().ledger_rows, 6);
    // The rows written at 9:00 go before 10:00, and the void written at 11:00 goes with the
    // 管理票 row it voids; the charges (10:00, the void 11:00) go before 12:00.
    assert_eq!(store.purge(at(10), at(10)).await.unwrap().ledger_rows, 6);
    assert_eq!(store.purge(at(12), at(12)).await.unwrap().ledger_rows, 5);
}

/// Visits are keyed by owner and visit id: two clients' "V1" are two visits, each in the ledger,
/// each voided by its own owner only.
pub async fn visits_are_their_owners(store: &dyn Store) {
    let h = Hasher::from_secret(b"k");
    let card = h.card(
        &pmh_core::domain::PayerNumber::parse("21136015").unwrap(),
        "1234566",
    );
    let april = pmh_core::domain::date::parse_iso("2026-04-01").unwrap();
    let mine = commit("V1", "f1", false, vec![entry(&card, "2026-04-01", 1_000)]);
    let theirs = ChargeCommit {
        owner: "pharmacy".into(),
        client: "pharmacy".into(),
        entries: vec![NewLedgerEntry {
            owner: "pharmacy".into(),
            ..entry(&card, "2026-04-02", 700)
        }],
        ..commit("V1", "f9", false, Vec::new())
    };
    for c in [mine, theirs.clone()] {
        assert_eq!(
            store.commit_charge(c).await.unwrap(),
            CommitOutcome::Committed { version: 1 }
        );
    }
    let total = |rows: Vec<LedgerRow>| rows.iter().map(|r| r.amount.0).sum::<u64>();
    assert_eq!(
        total(store.ledger(card.clone(), april).await.unwrap()),
        1_700
    );
    // A correction by one owner leaves the other's visit as it was.
    let corrected = ChargeCommit {
        correction: true,
        entries: vec![NewLedgerEntry {
            owner: "pharmacy".into(),
            ..entry(&card, "2026-04-02", 300)
        }],
        fingerprint: "f10".into(),
        ..theirs
    };
    assert_eq!(
        store.commit_charge(corrected).await.unwrap(),
        CommitOutcome::Committed { version: 2 }
    );
    assert_eq!(
        total(store.ledger(card.clone(), april).await.unwrap()),
        1_300
    );
    assert_eq!(
        store
            .void_charge("pharmacy".into(), "V1".into(), "admin".into(), at(11))
            .await
            .unwrap(),
        VoidOutcome::Voided { version: 3 }
    );
    assert_eq!(
        total(store.ledger(card.clone(), april).await.unwrap()),
        1_000
    );
    let mine = store
        .charge("recept".into(), "V1".into())
        .await
        .unwrap()
        .unwrap();
    assert!(!mine.voided && mine.version == 1 && mine.owner == "recept");
}

/// Rows an earlier build kept (a plain fingerprint, a plain answer) are rewritten once, keyed
/// and sealed; rows of this build are left alone.
pub async fn legacy_charges_are_resealed_once(store: &dyn Store) {
    let h = Arc::new(Hasher::from_secret(b"0123456789abcdef0123456789abcdef"));
    let legacy = commit("OLD", "0123abcd", false, Vec::new());
    store.commit_charge(legacy).await.unwrap();
    let current = ChargeCommit {
        fingerprint: h.charge_request("feed"),
        answer: h.seal_charge("recept", "NEW", "{}"),
        ..commit("NEW", "x", false, Vec::new())
    };
    store.commit_charge(current.clone()).await.unwrap();
    let hh = h.clone();
    let reseal: Reseal = Arc::new(move |c| {
        (
            hh.charge_request(&c.fingerprint),
            hh.seal_charge(&c.owner, &c.visit_id, &c.answer),
        )
    });
    assert_eq!(store.reseal_charges(reseal.clone()).await.unwrap(), 1);
    assert_eq!(store.reseal_charges(reseal).await.unwrap(), 0, "once");
    let old = store
        .charge("recept".into(), "OLD".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        h.open_charge("recept", "OLD", &old.answer).as_deref(),
        Some("{\"fingerprint\":\"0123abcd\"}")
    );
    // The same request again is still recognised by its (now keyed) fingerprint.
    let again = ChargeCommit {
        fingerprint: h.charge_request("0123abcd"),
        ..commit("OLD", "0123abcd", false, Vec::new())
    };
    assert!(matches!(
        store.commit_charge(again).await.unwrap(),
        CommitOutcome::Repeated { version: 1, .. }
    ));
    let new = store
        .charge("recept".into(), "NEW".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.answer, current.answer, "left alone");
}

/// A processed check-in file is recorded once with its records; recording it again (a
/// replica that read it too) appends nothing; two at once append once; the purge removes old
/// ones.
pub async fn checkin_files_are_recorded_once_with_their_records(store: Arc<dyn Store>) {
    let hasher = Hasher::from_secret(b"0123456789abcdef0123456789abcdef");
    let key = hasher.checkin_file("OQSsiquc01res_face_1.xml", b"<xml/>");
    assert_ne!(
        key,
        hasher.checkin_file("OQSsiquc01res_face_2.xml", b"<xml/>"),
        "the name counts"
    );
    assert_ne!(
        key,
        hasher.checkin_file("OQSsiquc01res_face_1.xml", b"<xml />"),
        "the bytes count"
    );
    let file = |holder: &str, n: usize| ProcessedFile {
        key: key.clone(),
        at: at(2),
        holder: holder.into(),
        records: (0..n)
            .map(|_| AuditRecord::new(at(2), "checkin-watcher", Operation::Prefetch))
            .collect(),
    };
    let prefetches = || async {
        store
            .search(AuditQuery {
                operation: Some(Operation::Prefetch),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
    };
    assert!(!store.file_processed(key.clone()).await.unwrap());
    assert!(store.record_file(file("a", 2)).await.unwrap());
    assert!(store.file_processed(key.clone()).await.unwrap());
    assert!(!store.record_file(file("b", 2)).await.unwrap());
    assert_eq!(prefetches().await, 2);
    // Two replicas recording another file at the same moment: one of them records it.
    let other = hasher.checkin_file("OQSsiquc01res_face_3.xml", b"<xml/>");
    let race = |holder: &'static str| {
        let (store, mut f) = (store.clone(), file(holder, 3));
        f.key = other.clone();
        tokio::spawn(async move { store.record_file(f).await.unwrap() })
    };
    let (a, b) = (race("a"), race("b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(a ^ b, "exactly one records it: {a} {b}");
    assert_eq!(prefetches().await, 5);
    assert_eq!(store.info().await.unwrap().checkin_files, 2);
    let purged = store.purge(at(3), at(3)).await.unwrap();
    assert_eq!(purged.checkin_files, 2);
    assert!(!store.file_processed(key).await.unwrap());
}

/// A lease has one holder: another asking is told who; the holder renews it (same term); it
/// passes on when it expires or is released (a new term each time).
pub async fn a_lease_has_one_holder_until_it_expires_or_is_released(store: &dyn Store) {
    use std::time::Duration;
    let long = Duration::from_secs(3600);
    let take = |who: &str, ttl| store.lease("face".into(), who.into(), ttl);
    let a = take("a", long).await.unwrap();
    assert_eq!((a.held, a.holder.as_str(), a.term), (true, "a", 1));
    let b = take("b", long).await.unwrap();
    assert_eq!((b.held, b.holder.as_str(), b.term), (false, "a", 1));
    assert_eq!(take("a", long).await.unwrap().term, 1, "a renewal");
    // Another lease name is another lease.
    let other = store.lease("other".into(), "b".into(), long).await.unwrap();
    assert!(other.held);
    // Released: the next asker has it at once, in a new term.
    store
        .release_lease("face".into(), "b".into())
        .await
        .unwrap();
    assert!(
        !take("b", long).await.unwrap().held,
        "only the holder releases"
    );
    store
        .release_lease("face".into(), "a".into())
        .await
        .unwrap();
    let b = take("b", Duration::ZERO).await.unwrap();
    assert_eq!((b.held, b.term), (true, 2));
    // Taken for no time: expired as soon as it is taken, so the next asker has it.
    let a = take("a", long).await.unwrap();
    assert_eq!((a.held, a.holder.as_str(), a.term), (true, "a", 3));
    assert!(!take("b", long).await.unwrap().held);
}

/// Sessions: found until idle or too old, touched by use, ended at sign-out; a client past its
/// cap loses its own oldest, never another client's; any handle on the store sees them.
pub async fn sessions_expire_are_touched_and_capped_per_client(store: &dyn Store) {
    let expiry = SessionExpiry {
        idle: std::time::Duration::from_secs(15 * 60),
        lifetime: std::time::Duration::from_secs(8 * 3600),
    };
    let key = |n: &str| KeyedHash::parse(&format!("{n:0>64}")).unwrap();
    let min = |m: i64| at(9) + chrono::Duration::minutes(m);
    store
        .open_session(key("a1"), "counter".into(), min(0), expiry, 2)
        .await
        .unwrap();
    let found = store
        .session(key("a1"), min(10), expiry, false)
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("counter"));
    // Not touched at 10: idle since 0, gone at 15.
    assert_eq!(
        store
            .session(key("a1"), min(15), expiry, true)
            .await
            .unwrap(),
        None
    );
    // Touched, it lives on; ended by its lifetime whatever the use.
    store
        .open_session(key("a2"), "counter".into(), min(20), expiry, 2)
        .await
        .unwrap();
    for m in (30..480).step_by(10) {
        let s = store
            .session(key("a2"), min(m), expiry, true)
            .await
            .unwrap();
        assert!(s.is_some(), "alive at {m}");
    }
    assert_eq!(
        store
            .session(key("a2"), min(500), expiry, true)
            .await
            .unwrap(),
        None
    );
    // A client's third session ends its oldest; another client's is untouched.
    store
        .open_session(key("b1"), "desk".into(), min(600), expiry, 2)
        .await
        .unwrap();
    for (n, m) in [("c1", 601), ("c2", 602), ("c3", 603)] {
        store
            .open_session(key(n), "counter".into(), min(m), expiry, 2)
            .await
            .unwrap();
    }
    let alive = |n: &'static str| async move {
        store
            .session(key(n), min(604), expiry, false)
            .await
            .unwrap()
            .is_some()
    };
    assert!(!alive("c1").await && alive("c2").await && alive("c3").await);
    assert!(alive("b1").await);
    // Signed out.
    store.close_session(key("c3")).await.unwrap();
    assert!(!alive("c3").await);
}

/// Board rows: appended in order, read per day after a sequence number, sealed bytes as given;
/// days before the one kept from go.
pub async fn board_rows_are_read_in_order_per_day(store: &dyn Store) {
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let a = store
        .add_board_row(day(21), b"a".to_vec(), at(9), day(20))
        .await
        .unwrap();
    let b = store
        .add_board_row(day(21), b"b".to_vec(), at(10), day(20))
        .await
        .unwrap();
    store
        .add_board_row(day(20), b"old".to_vec(), at(8), day(20))
        .await
        .unwrap();
    assert!(b > a);
    let rows = store.board_rows(day(21), 0, 100).await.unwrap();
    assert_eq!(rows, [(a, b"a".to_vec()), (b, b"b".to_vec())]);
    assert_eq!(
        store.board_rows(day(21), a, 100).await.unwrap(),
        [(b, b"b".to_vec())]
    );
    assert_eq!(store.board_rows(day(21), 0, 1).await.unwrap().len(), 1);
    // The next day's first row ends the day before yesterday's.
    store
        .add_board_row(day(22), b"c".to_vec(), at(11), day(21))
        .await
        .unwrap();
    assert!(store.board_rows(day(20), 0, 100).await.unwrap().is_empty());
    assert_eq!(store.board_rows(day(21), 0, 100).await.unwrap().len(), 2);
}

/// A report is replaced under its key (running, then finished), read until it expires, kept
/// when its expiry is cleared, and purged once expired.
pub async fn reports_are_replaced_kept_and_expire(store: &dyn Store) {
    let hasher = Hasher::from_secret(b"suite");
    let report = |id: &str, body: &[u8], expires: Option<u32>| StoredReport {
        key: hasher.report(id).0,
        owner: "clinic".into(),
        created_at: at(9),
        expires_at: expires.map(at),
        sealed: body.to_vec(),
    };
    store
        .put_report(report("a", b"running", Some(12)))
        .await
        .unwrap();
    store
        .put_report(report("a", b"done", Some(12)))
        .await
        .unwrap();
    store
        .put_report(report("b", b"other", Some(12)))
        .await
        .unwrap();
    let got = store.report(hasher.report("a").0, at(10)).await.unwrap();
    assert_eq!(got, Some(report("a", b"done", Some(12))));
    assert_eq!(
        store.report(hasher.report("c").0, at(10)).await.unwrap(),
        None
    );
    // Expired: not read, then purged; a kept one stays.
    store.put_report(report("b", b"other", None)).await.unwrap();
    assert_eq!(
        store.report(hasher.report("a").0, at(12)).await.unwrap(),
        None
    );
    let purged = store.purge(at(0), at(13)).await.unwrap();
    assert_eq!(purged.receipt_reports, 1);
    assert_eq!(
        store.report(hasher.report("b").0, at(23)).await.unwrap(),
        Some(report("b", b"other", None))
    );
}
