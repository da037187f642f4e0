use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{NaiveDate, TimeZone};

use super::*;
use crate::domain::check_digit::complete;
use futures::future::BoxFuture;

use crate::upstream::Answer;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Down,
    Hang,
    Status(u16),
    Rejected,
    Protocol,
}

struct Fake {
    calls: AtomicUsize,
    mode: Mutex<Mode>,
    certs: Mutex<Vec<Certificate>>,
    delay: Duration,
}

impl Fake {
    fn new(certs: Vec<Certificate>) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            mode: Mutex::new(Mode::Ok),
            certs: Mutex::new(certs),
            delay: Duration::from_millis(20),
        })
    }
    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Upstream for Fake {
    fn query<'a>(
        &'a self,
        _q: &'a Query,
        _d: Instant,
    ) -> BoxFuture<'a, Result<Answer, UpstreamError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mode = *self.mode.lock().unwrap();
            tokio::time::sleep(self.delay).await;
            match mode {
                Mode::Ok => Ok(Answer {
                    certificates: self.certs.lock().unwrap().clone(),
                    processed_at: None,
                }),
                Mode::Down => Err(UpstreamError::Connect("refused".into())),
                Mode::Status(s) => Err(UpstreamError::Status(s)),
                Mode::Rejected => Err(UpstreamError::Rejected {
                    code: "E001".into(),
                    message: "no such person".into(),
                }),
                Mode::Protocol => Err(UpstreamError::Protocol("unexpected shape".into())),
                Mode::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    unreachable!()
                }
            }
        })
    }
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn nanbyou(to: NaiveDate) -> Certificate {
    Certificate::simple(
        &complete("5413001").unwrap(),
        Some(&complete("123456").unwrap()),
        d(2026, 4, 1),
        to,
    )
}

fn person() -> InsuredIdentity {
    InsuredIdentity::new("06130011", Some("12"), "345", Some("01"), d(1980, 1, 2)).unwrap()
}

/// Another person, `n`.
fn req_for(n: u32) -> CheckRequest {
    CheckRequest {
        insured: InsuredIdentity::new(
            "06130011",
            Some("12"),
            &format!("9{n}"),
            None,
            d(1980, 1, 2),
        )
        .unwrap(),
        ..req()
    }
}

fn req() -> CheckRequest {
    CheckRequest {
        insured: person(),
        service_date: None,
        claim: Claim::Medical,
        care: Care::Outpatient,
        insurance: None,
    }
}

/// 2026-11-21 10:00 JST.
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
}

fn service(fake: Arc<Fake>, clock: Arc<ManualClock>, deadline_ms: u64) -> SubsidyService {
    let cfg = ServiceConfig {
        deadline: Duration::from_millis(deadline_ms),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_secs(30),
        ..ServiceConfig::default()
    };
    SubsidyService::new(
        fake,
        Arc::new(MasterStore::embedded()),
        clock,
        cfg,
        None,
        Arc::new(Metrics::new()),
    )
}

#[tokio::test]
async fn concurrent_misses_make_one_upstream_call() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let svc = Arc::new(service(
        fake.clone(),
        Arc::new(ManualClock::new(morning())),
        2000,
    ));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = svc.clone();
            tokio::spawn(async move { s.check(req()).await })
        })
        .collect();
    for t in tasks {
        let out = t.await.unwrap();
        assert_eq!(out.status, Status::Confirmed);
        assert_eq!(out.source, Some(Source::Upstream));
    }
    assert_eq!(fake.calls(), 1);
    let again = svc.check(req()).await;
    assert_eq!(again.source, Some(Source::Cache));
    assert_eq!(fake.calls(), 1);
}

/// A PMH call's stand-in change goes to the one check that made the call (the others waited on
/// it): recorded, it is that check's to write; dropped, the keeper writes it.
#[tokio::test]
async fn each_pmh_call_hands_its_stand_in_change_to_one_check() {
    let shelf = Arc::new(Shelf::default());
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let svc = Arc::new(
        service(fake.clone(), Arc::new(ManualClock::new(morning())), 2000)
            .with_durable(shelf.clone()),
    );
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = svc.clone();
            tokio::spawn(async move { s.check_to_record(req()).await })
        })
        .collect();
    let mut changes = Vec::new();
    for t in tasks {
        let checked = t.await.unwrap();
        assert_eq!(checked.outcome.status, Status::Confirmed);
        changes.extend(checked.stand_in);
    }
    assert_eq!((fake.calls(), changes.len()), (1, 1));
    let change = changes.pop().unwrap();
    assert!(change.saved().is_some());
    assert_eq!(change.person(), &person());
    // Written by its check's commit: the keeper has nothing to write.
    change.written();
    svc.flush_kept().await;
    assert!(shelf.items.lock().unwrap().is_empty());
    // A cached answer changes nothing.
    assert!(svc.check_to_record(req()).await.stand_in.is_none());
    // Not recorded (dropped): the keeper writes it.
    let other = svc.check_to_record(req_for(1)).await;
    assert!(other.stand_in.is_some());
    drop(other);
    svc.flush_kept().await;
    assert_eq!(shelf.items.lock().unwrap().len(), 1);
}

/// Check ids are UUIDs of version 7, each later one sorting after the one before (the store's
/// index of kept answers then grows at its end).
#[tokio::test]
async fn check_ids_are_time_ordered_uuids() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let svc = service(fake, Arc::new(ManualClock::new(morning())), 2000);
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(svc.check(req()).await.check_id);
    }
    for id in &ids {
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in the order made");
}

#[tokio::test]
async fn confirmed_answers_are_fresh_until_the_end_of_the_jst_day() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 2000);
    svc.check(req()).await;
    clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 12, 59, 0).unwrap()); // 21:59 JST, 11h59m later
    let same_day = CheckRequest {
        service_date: Some(ServiceDate::new(d(2026, 11, 21))),
        ..req()
    };
    assert_eq!(
        svc.check(same_day.clone()).await.source,
        Some(Source::Cache)
    );
    clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 1).unwrap()); // 00:00:01 JST next day
    assert_eq!(
        svc.check(same_day.clone()).await.source,
        Some(Source::Upstream)
    );
    assert_eq!(fake.calls(), 2);
    // The configured maximum age (12 h by default) ends freshness earlier on a long day.
    let tomorrow = CheckRequest {
        service_date: Some(ServiceDate::new(d(2026, 11, 22))),
        ..req()
    };
    assert_eq!(
        svc.check(tomorrow.clone()).await.source,
        Some(Source::Upstream)
    );
    clock.advance(chrono::Duration::hours(12));
    assert_eq!(svc.check(tomorrow).await.source, Some(Source::Upstream));
    assert_eq!(fake.calls(), 4);
}

#[tokio::test]
async fn none_found_is_fresh_only_briefly_and_errors_are_never_cached() {
    let fake = Fake::new(vec![]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 2000);
    assert_eq!(svc.check(req()).await.status, Status::NoneFound);
    clock.advance(chrono::Duration::seconds(30));
    assert_eq!(svc.check(req()).await.source, Some(Source::Cache));
    clock.advance(chrono::Duration::seconds(31));
    *fake.certs.lock().unwrap() = vec![nanbyou(d(2027, 3, 31))];
    let out = svc.check(req()).await;
    assert_eq!(
        (out.status, out.source),
        (Status::Confirmed, Some(Source::Upstream))
    );

    let fake = Fake::new(vec![]);
    let svc = service(fake.clone(), Arc::new(ManualClock::new(morning())), 2000);
    fake.set(Mode::Down);
    assert_eq!(svc.check(req()).await.status, Status::Unavailable);
    fake.set(Mode::Ok);
    assert_eq!(
        svc.check(req()).await.status,
        Status::NoneFound,
        "the error was not cached"
    );
}

#[tokio::test]
async fn upstream_failure_is_stale_or_unavailable_never_none_found() {
    let fake = Fake::new(vec![nanbyou(d(2026, 11, 30))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 2000);
    assert_eq!(svc.check(req()).await.status, Status::Confirmed);
    fake.set(Mode::Down);
    clock.advance(chrono::Duration::days(1));
    let out = svc.check(req()).await;
    assert_eq!(
        (out.status, out.source),
        (Status::Confirmed, Some(Source::Stale))
    );
    assert_eq!(out.age_seconds(), Some(86400));
    assert!(matches!(
        out.degradation,
        Some(Degradation::Upstream(UpstreamError::Connect(_)))
    ));
    // Once the certificate has expired on the service date, the stale answer no longer applies.
    clock.advance(chrono::Duration::days(10));
    let out = svc.check(req()).await;
    assert_eq!((out.status, out.source), (Status::Unavailable, None));
    assert!(out.mapped.active.is_empty());
}

// Paused time: the deadline is measured on tokio's clock, which only the timers move.
#[tokio::test(start_paused = true)]
async fn a_hanging_upstream_is_cut_off_at_the_deadline() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let svc = service(fake.clone(), Arc::new(ManualClock::new(morning())), 300);
    fake.set(Mode::Hang);
    let t0 = Instant::now();
    let out = svc.check(req()).await;
    let took = t0.elapsed();
    assert_eq!(out.status, Status::Unavailable);
    // The deadline less the margin kept for mapping (a tenth, at most 100 ms).
    assert_eq!(took, Duration::from_millis(270), "took {took:?}");
    assert!(matches!(
        out.degradation,
        Some(Degradation::Deadline(300) | Degradation::Upstream(UpstreamError::Timeout(_)))
    ));
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_fails_fast() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 2000);
    fake.set(Mode::Down);
    for n in 0..3 {
        assert_eq!(svc.check(req_for(n)).await.status, Status::Unavailable);
    }
    assert_eq!(svc.breaker_state(), BreakerState::Open);
    let out = svc.check(req()).await;
    assert_eq!(out.degradation, Some(Degradation::BreakerOpen));
    assert_eq!(fake.calls(), 3, "no call while open");
    fake.set(Mode::Ok);
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(
        svc.check(req()).await.status,
        Status::Confirmed,
        "trial call succeeds"
    );
    assert_eq!(svc.breaker_state(), BreakerState::Closed);
}

fn with_block(block: Option<Vec<Certificate>>) -> ResultCheck {
    ResultCheck {
        request: req(),
        block,
        reference: Some("0000000001".into()),
        person: None,
    }
}

fn check_in() -> Intake {
    Intake::CheckIn {
        file_name: "OQSsiquc01res_face_1.xml".into(),
        arrived_at: morning(),
    }
}

#[tokio::test]
async fn a_result_with_the_pmh_block_answers_and_replaces_the_cached_entry_without_a_query() {
    let fake = Fake::new(vec![]);
    let svc = service(fake.clone(), Arc::new(ManualClock::new(morning())), 2000);
    assert_eq!(svc.check(req()).await.status, Status::NoneFound);
    assert_eq!(fake.calls(), 1);
    let origin = Origin::OnshiResult {
        file: Some("OQSsiquc01res_face_1.xml".into()),
    };
    let out = svc
        .check_result(with_block(Some(vec![nanbyou(d(2027, 3, 31))])), check_in())
        .await;
    assert_eq!(
        (out.status, out.source, out.origin.clone()),
        (
            Status::Confirmed,
            Some(Source::OnshiResult),
            Some(origin.clone())
        )
    );
    // The next check is answered from the block, from the cache.
    let again = svc.check(req()).await;
    assert_eq!(
        (again.status, again.source, again.origin),
        (Status::Confirmed, Some(Source::Cache), Some(origin))
    );
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn a_result_without_the_block_refreshes_the_entry_from_the_upstream() {
    let fake = Fake::new(vec![]);
    let svc = service(fake.clone(), Arc::new(ManualClock::new(morning())), 2000);
    assert_eq!(svc.check(req()).await.status, Status::NoneFound);
    // Consent given at the terminal: PMH now returns the certificate.
    *fake.certs.lock().unwrap() = vec![nanbyou(d(2027, 3, 31))];
    assert_eq!(svc.check(req()).await.source, Some(Source::Cache));
    let out = svc
        .check_result(with_block(None), Intake::Posted { trusted: true })
        .await;
    assert_eq!(
        (out.status, out.source, out.origin),
        (
            Status::Confirmed,
            Some(Source::Upstream),
            Some(Origin::Upstream)
        )
    );
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn a_failed_refresh_is_never_none_found() {
    let fake = Fake::new(vec![]);
    let svc = service(fake.clone(), Arc::new(ManualClock::new(morning())), 300);
    fake.set(Mode::Down);
    let out = svc
        .check_result(with_block(None), Intake::Posted { trusted: true })
        .await;
    assert_eq!(out.status, Status::Unavailable);
}

#[tokio::test]
async fn the_breaker_counts_only_an_unwell_upstream_and_each_person_once() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 2000);
    // Answers about one request or one person: never the upstream's health.
    for mode in [
        Mode::Rejected,
        Mode::Protocol,
        Mode::Status(400),
        Mode::Status(404),
        Mode::Status(307),
    ] {
        fake.set(mode);
        for n in 0..5 {
            assert_eq!(svc.check(req_for(n)).await.status, Status::Unavailable);
        }
        assert_eq!(svc.breaker_state(), BreakerState::Closed);
    }
    // One caller asking about one person again and again cannot open it for everyone.
    fake.set(Mode::Status(503));
    for _ in 0..10 {
        assert_eq!(svc.check(req()).await.status, Status::Unavailable);
    }
    assert_eq!(svc.breaker_state(), BreakerState::Closed);
    // Failures for different persons do.
    for n in 0..2 {
        svc.check(req_for(n)).await;
    }
    assert_eq!(svc.breaker_state(), BreakerState::Open);
}

#[tokio::test]
async fn an_old_confirmed_answer_is_not_stale_after_pmh_said_none() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 2000);
    assert_eq!(svc.check(req()).await.status, Status::Confirmed);
    // The next day PMH answers "none" (consent withdrawn, certificate cancelled) …
    *fake.certs.lock().unwrap() = Vec::new();
    clock.advance(chrono::Duration::days(1));
    assert_eq!(svc.check(req()).await.status, Status::NoneFound);
    // … and the day after it is down: the old certificates must not come back.
    fake.set(Mode::Down);
    clock.advance(chrono::Duration::days(1));
    let out = svc.check(req()).await;
    assert_eq!((out.status, out.source), (Status::Unavailable, None));
    // Likewise when the "none" came in a check-in's PMH block.
    fake.set(Mode::Ok);
    *fake.certs.lock().unwrap() = vec![nanbyou(d(2027, 3, 31))];
    clock.advance(chrono::Duration::days(1));
    assert_eq!(svc.check(req()).await.status, Status::Confirmed);
    clock.advance(chrono::Duration::days(1));
    let out = svc
        .check_result(with_block(Some(Vec::new())), check_in())
        .await;
    assert_eq!(out.status, Status::NoneFound);
    fake.set(Mode::Down);
    clock.advance(chrono::Duration::days(1));
    let out = svc.check(req()).await;
    assert_eq!((out.status, out.source), (Status::Unavailable, None));
}

/// A durable state in memory, shared by the services built on it (a restart, or a replica).
#[derive(Default)]
struct Shelf {
    items: Mutex<std::collections::HashMap<String, Saved>>,
    fail: std::sync::atomic::AtomicBool,
}

impl Shelf {
    fn name(at: Lookup<'_>) -> String {
        match at {
            Lookup::StandIn(i) => format!("stand_in:{}", i.number()),
            Lookup::CheckIn(r) => format!("check_in:{r}"),
        }
    }
}

impl Durable for Shelf {
    fn put(
        &self,
        at: Lookup<'_>,
        saved: Option<Saved>,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), DurableError>> {
        let name = Self::name(at);
        Box::pin(async move {
            if self.fail.load(Ordering::SeqCst) {
                return Err(DurableError("the shelf is down".into()));
            }
            let mut items = self.items.lock().unwrap();
            match saved {
                Some(s) => items.insert(name, s),
                None => items.remove(&name),
            };
            Ok(())
        })
    }
    fn get(
        &self,
        at: Lookup<'_>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, DurableError>> {
        let name = Self::name(at);
        Box::pin(async move {
            if self.fail.load(Ordering::SeqCst) {
                return Err(DurableError("the shelf is down".into()));
            }
            Ok(self
                .items
                .lock()
                .unwrap()
                .get(&name)
                .filter(|s| s.expires_at > now)
                .map(|s| s.body.clone()))
        })
    }
}

#[tokio::test]
async fn a_restarted_service_keeps_check_ins_and_stale_stand_ins() {
    let shelf = Arc::new(Shelf::default());
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let before = service(fake.clone(), clock.clone(), 300).with_durable(shelf.clone());
    // A check-in answered from the upstream: the person's stand-in and the check-in are kept.
    let out = before.check_result(with_block(None), check_in()).await;
    assert_eq!(
        (out.status, out.source),
        (Status::Confirmed, Some(Source::Upstream))
    );
    before.flush_kept().await;
    assert_eq!(shelf.items.lock().unwrap().len(), 2);
    drop(before);

    // After the restart, an hour later: the check-in is found by its 照会番号 and answered from
    // the answer it prefetched (no upstream call), with the file's times.
    clock.advance(chrono::Duration::hours(1));
    let after = service(fake.clone(), clock.clone(), 300).with_durable(shelf.clone());
    let (out, c) = after
        .check_by_reference("0000000001", Claim::Medical, Care::Outpatient)
        .await
        .expect("the check-in survives");
    assert_eq!(
        (out.outcome.status, out.outcome.source),
        (Status::Confirmed, Some(Source::Cache))
    );
    assert_eq!(
        (c.file_name.as_str(), c.arrived_at),
        ("OQSsiquc01res_face_1.xml", morning())
    );
    assert_eq!(fake.calls(), 1);
    assert!(
        after
            .check_by_reference("0000000002", Claim::Medical, Care::Outpatient)
            .await
            .is_none()
    );

    // The next day the check-in is no longer fresh, PMH is down: the stand-in answers, `stale`.
    clock.advance(chrono::Duration::days(1));
    fake.set(Mode::Down);
    let again = service(fake.clone(), clock.clone(), 300).with_durable(shelf.clone());
    let out = again.check(req()).await;
    assert_eq!(
        (out.status, out.source),
        (Status::Confirmed, Some(Source::Stale))
    );
    assert_eq!(out.mapped.active.len(), 1);

    // PMH then says "none": the stand-in is forgotten in the durable state too.
    fake.set(Mode::Ok);
    *fake.certs.lock().unwrap() = Vec::new();
    clock.advance(chrono::Duration::days(1));
    assert_eq!(again.check(req()).await.status, Status::NoneFound);
    again.flush_kept().await;
    fake.set(Mode::Down);
    clock.advance(chrono::Duration::days(1));
    let fresh_start = service(fake.clone(), clock.clone(), 300).with_durable(shelf.clone());
    let out = fresh_start.check(req()).await;
    assert_eq!((out.status, out.source), (Status::Unavailable, None));
}

#[tokio::test]
async fn a_failing_durable_state_is_logged_never_an_answer() {
    let shelf = Arc::new(Shelf::default());
    shelf.fail.store(true, Ordering::SeqCst);
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let metrics = Arc::new(Metrics::new());
    let svc = SubsidyService::new(
        fake.clone(),
        Arc::new(MasterStore::embedded()),
        clock.clone(),
        ServiceConfig {
            deadline: Duration::from_millis(300),
            ..ServiceConfig::default()
        },
        None,
        metrics.clone(),
    )
    .with_durable(shelf.clone());
    let out = svc.check_result(with_block(None), check_in()).await;
    assert_eq!(out.status, Status::Confirmed);
    // Memory still answers.
    assert!(svc.check_in("0000000001").await.is_some());
    clock.advance(chrono::Duration::days(1));
    fake.set(Mode::Down);
    assert_eq!(svc.check(req()).await.source, Some(Source::Stale));
    // An unknown 照会番号 with the durable state failing is "not known", never an error answer.
    assert!(svc.check_in("0000000009").await.is_none());
    let text = metrics.render();
    assert!(
        text.contains(r#"pmh_gateway_durable_state_total{item="check_in",op="failed"} 2"#),
        "{text}"
    );
}

#[tokio::test]
async fn with_a_durable_state_memory_keeps_few_stand_ins_and_the_rest_are_read_back() {
    let shelf = Arc::new(Shelf::default());
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let mut svc = service(fake.clone(), clock.clone(), 300);
    svc.cfg.cache_capacity = 3;
    let svc = svc.with_durable(shelf.clone());
    for n in 0..10 {
        assert_eq!(svc.check(req_for(n)).await.status, Status::Confirmed);
    }
    svc.last_confirmed.run_pending_tasks().await;
    svc.flush_kept().await;
    assert!(
        svc.last_confirmed.entry_count() <= 3,
        "memory keeps the latest few"
    );
    assert_eq!(
        shelf.items.lock().unwrap().len(),
        10,
        "the durable state keeps all"
    );
    // The next day, PMH down: the first person's stand-in comes back from the durable state.
    clock.advance(chrono::Duration::days(1));
    fake.set(Mode::Down);
    let out = svc.check(req_for(0)).await;
    assert_eq!(
        (out.status, out.source),
        (Status::Confirmed, Some(Source::Stale))
    );
}

/// A durable state that takes `put_delay` to write and never answers a read when `reads_hang`.
struct Slow {
    shelf: Shelf,
    put_delay: Duration,
    reads_hang: bool,
}

impl Durable for Slow {
    fn put(
        &self,
        at: Lookup<'_>,
        saved: Option<Saved>,
        decided: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), DurableError>> {
        let put = self.shelf.put(at, saved, decided);
        Box::pin(async move {
            tokio::time::sleep(self.put_delay).await;
            put.await
        })
    }
    fn get(
        &self,
        at: Lookup<'_>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, DurableError>> {
        let get = self.shelf.get(at, now);
        Box::pin(async move {
            if self.reads_hang {
                std::future::pending::<()>().await;
            }
            get.await
        })
    }
}

/// The store is written after the answer: with every write taking far longer than the
/// deadline, a healthy upstream's answer is still `confirmed` from the upstream, and the
/// stand-in reaches the store afterwards.
#[tokio::test(start_paused = true)]
async fn a_slow_store_never_turns_a_good_answer_stale() {
    let slow = Arc::new(Slow {
        shelf: Shelf::default(),
        put_delay: Duration::from_secs(30),
        reads_hang: false,
    });
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 300).with_durable(slow.clone());
    for n in 0..3 {
        let out = svc.check(req_for(n)).await;
        assert_eq!(
            (out.status, out.source, out.degradation),
            (Status::Confirmed, Some(Source::Upstream), None)
        );
    }
    assert!(
        slow.shelf.items.lock().unwrap().is_empty(),
        "not yet written"
    );
    svc.flush_kept().await;
    assert_eq!(slow.shelf.items.lock().unwrap().len(), 3, "written after");
}

/// After the deadline the store is asked for a stand-in only as long as the check's own
/// deadline: a store that does not answer gives `unavailable` in time, never a hang.
#[tokio::test(start_paused = true)]
async fn a_store_that_does_not_answer_does_not_hold_the_check() {
    let slow = Arc::new(Slow {
        shelf: Shelf::default(),
        put_delay: Duration::ZERO,
        reads_hang: true,
    });
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    fake.set(Mode::Down);
    let clock = Arc::new(ManualClock::new(morning()));
    let metrics = Arc::new(Metrics::new());
    let mut svc = service(fake.clone(), clock.clone(), 300);
    svc.metrics = metrics.clone();
    let svc = svc.with_durable(slow);
    let started = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(60), svc.check(req()))
        .await
        .expect("the check answers although the store does not");
    assert_eq!((out.status, out.source), (Status::Unavailable, None));
    assert!(
        started.elapsed() <= Duration::from_millis(300),
        "by the deadline"
    );
    let text = metrics.render();
    assert!(
        text.contains(r#"pmh_gateway_durable_state_total{item="stand_in",op="late"} 1"#),
        "{text}"
    );
}

/// A confirmed answer about a past day (a month's receipts checked after it) stays fresh until
/// today ends: the same person asked again for that day, in another setting, is not asked of
/// PMH again; the next day asks again.
#[tokio::test]
async fn an_answer_about_a_past_day_is_fresh_until_today_ends() {
    let fake = Fake::new(vec![nanbyou(d(2027, 3, 31))]);
    let clock = Arc::new(ManualClock::new(morning()));
    let svc = service(fake.clone(), clock.clone(), 2000);
    let past = |care| CheckRequest {
        service_date: Some(ServiceDate::new(d(2026, 10, 31))),
        care,
        ..req()
    };
    assert_eq!(
        svc.check(past(Care::Outpatient)).await.source,
        Some(Source::Upstream)
    );
    clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 12, 59, 0).unwrap()); // 21:59 JST, 11h59m later
    assert_eq!(
        svc.check(past(Care::Inpatient)).await.source,
        Some(Source::Cache)
    );
    assert_eq!(fake.calls(), 1);
    clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 1).unwrap()); // 00:00:01 JST next day
    assert_eq!(
        svc.check(past(Care::Outpatient)).await.source,
        Some(Source::Upstream)
    );
    assert_eq!(fake.calls(), 2);
}
