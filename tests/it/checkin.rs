//! The check-in folder watcher against real files: bursts, slow writers, malformed files,
//! restarts, files left in place, rescans without events.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pmh_gateway::api::AppState;
use pmh_gateway::checkin::{Disposal, WatchOptions, Watcher};
use pmh_gateway::sandbox::terminal::{Malformation, check_in_xml, reference_of};
use pmh_gateway::sandbox::{Persona, Population};
use pmh_gateway::service::Status;

fn population() -> Population {
    Population::generate(crate::common::SEED, crate::common::today(), 300)
}

/// The `n`-th synthetic check-in file: persona `n` mod 300 (the sandbox terminal's series rule
/// for the encoding and the PMH block).
fn check_in(pop: &Population, n: usize) -> (String, Vec<u8>, &Persona) {
    let p = &pop.personas[n % pop.personas.len()];
    let bytes = check_in_xml(
        p,
        n as u64,
        crate::common::today(),
        "1311111111",
        &format!("{n:012}"),
    )
    .unwrap();
    (format!("OQSsiquc01res_face_{n:06}.xml"), bytes, p)
}

fn options(dir: &Path) -> WatchOptions {
    WatchOptions {
        rescan_interval: Duration::from_millis(500),
        settle: Duration::from_millis(300),
        incomplete_grace: Duration::from_millis(600),
        ..WatchOptions::for_face_dir(dir.join("face"))
    }
}

/// `options`, with files left in place and remembered in a ledger under `dir/state`.
fn leave_options(dir: &Path) -> WatchOptions {
    WatchOptions {
        disposal: Disposal::Leave {
            ledger: dir.join("state/ledger.tsv"),
        },
        ..options(dir)
    }
}

fn start(opts: &WatchOptions, st: &AppState) -> Watcher {
    Watcher::start(opts.clone(), st.service.clone(), st.metrics.clone(), None).unwrap()
}

fn count(st: &AppState, what: &str) -> u64 {
    let face = vec![("folder", "face")];
    match what {
        "processed" => st
            .metrics
            .checkin_files_processed
            .get_or_create(&face)
            .get(),
        "rejected" => pmh_gateway::metrics::REJECTION_REASONS
            .iter()
            .map(|r| {
                st.metrics
                    .checkin_files_rejected
                    .get_or_create(&vec![("folder", "face"), ("reason", r)])
                    .get()
            })
            .sum(),
        "seen" => st.metrics.checkin_files_seen.get_or_create(&face).get(),
        "reads" => st.metrics.checkin_file_reads.get(),
        _ => unreachable!(),
    }
}

fn rejected_for(st: &AppState, reason: &'static str) -> u64 {
    st.metrics
        .checkin_files_rejected
        .get_or_create(&vec![("folder", "face"), ("reason", reason)])
        .get()
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the watcher has nothing left to do: a full scan of the folders has started and
/// ended since this was called (the `checkin_scans` counter moved by two), and no file it noticed
/// is waiting or being read. What did not happen by then cannot happen later from the files
/// present: this stands in for "wait and see that nothing more happens".
async fn quiescent(st: &AppState) {
    let m = &st.metrics;
    let start = m.checkin_scans.get();
    wait_for("a full rescan with nothing outstanding", 30, || {
        m.checkin_scans.get() >= start + 2 && m.checkin_files_outstanding.get() == 0
    })
    .await;
}

/// Writes `n` good files and one cut-off one into `face`, and waits until they are handled.
async fn good_files_and_a_bad_one(opts: &WatchOptions, st: &AppState, n: usize) {
    write_burst(opts.face_dir.clone(), 0..n).join().unwrap();
    std::fs::write(
        opts.face_dir.join("OQSsiquc01res_face_bad.xml"),
        b"<XmlMsg>",
    )
    .unwrap();
    wait_for("the good processed, the bad rejected", 10, || {
        count(st, "processed") == n as u64 && count(st, "rejected") == 1
    })
    .await;
}

/// Writes files `range` into `face` from a blocking thread, as fast as it can.
fn write_burst(face: PathBuf, range: std::ops::Range<usize>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let pop = population();
        for n in range {
            let (name, bytes, _) = check_in(&pop, n);
            std::fs::write(face.join(name), bytes).unwrap();
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_files_is_processed_with_none_lost_or_duplicated() {
    let (st, upstream) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let w = start(&opts, &st);
    write_burst(opts.face_dir.clone(), 0..500).join().unwrap();
    wait_for("500 processed", 60, || count(&st, "processed") >= 500).await;
    w.shutdown().await;

    let expected: BTreeSet<String> = (0..500)
        .map(|n| format!("OQSsiquc01res_face_{n:06}.xml"))
        .collect();
    let Disposal::Move(processed) = &opts.disposal else {
        unreachable!()
    };
    assert_eq!(names(processed), expected);
    assert!(names(&opts.face_dir).is_empty());
    assert!(names(&opts.rejected_dir).is_empty());
    assert_eq!(count(&st, "processed"), 500);
    assert_eq!(count(&st, "seen"), 500);
    assert_eq!(count(&st, "rejected"), 0);
    assert_eq!(count(&st, "reads"), 500, "every file is read exactly once");
    // Files without the block were queried; those with it were not.
    assert_eq!(upstream.calls(), 250);
    // Every check-in is indexed by its 照会番号 (the latest file per person).
    let pop = population();
    for n in 200..500 {
        let (name, _, p) = check_in(&pop, n);
        let c = st.service.check_in(&reference_of(p)).await.unwrap();
        assert_eq!(c.file_name, name);
        assert_ne!(c.status, Status::Unavailable);
    }
}

/// A file its writer closed is read at once: the close event is not lost behind the look its
/// creation asked for (the settle time here is a minute, so nothing else could read them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_files_are_read_at_once_not_after_their_settle_time() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = WatchOptions {
        settle: Duration::from_secs(60),
        incomplete_grace: Duration::from_secs(60),
        rescan_interval: Duration::from_secs(600),
        ..options(dir.path())
    };
    std::fs::create_dir_all(&opts.face_dir).unwrap();
    let w = start(&opts, &st);
    // The first scan has looked at the empty folder: what follows arrives by events.
    wait_for("the first scan", 10, || st.metrics.checkin_scans.get() >= 1).await;
    write_burst(opts.face_dir.clone(), 0..20).join().unwrap();
    wait_for("20 processed by their close events", 20, || {
        count(&st, "processed") == 20
    })
    .await;
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_slowly_in_chunks_is_read_once_complete() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let w = start(&opts, &st);
    let pop = population();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let n = pop.personas.iter().position(|x| x.id == p.id).unwrap();
    let n = if n % 2 == 0 {
        n
    } else {
        n + pop.personas.len()
    };
    let (name, bytes, _) = check_in(&pop, n);
    // The PMH block is near the end: a file read early would lack it (or not parse).
    let path = opts.face_dir.join(&name);
    let chunks: Vec<Vec<u8>> = bytes
        .chunks(bytes.len() / 12 + 1)
        .map(<[u8]>::to_vec)
        .collect();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::create(path).unwrap();
        for c in chunks {
            f.write_all(&c).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(60));
        }
    });
    writer.join().unwrap();
    wait_for("processed", 10, || count(&st, "processed") == 1).await;
    // A wrongly early second read would have happened by now.
    quiescent(&st).await;
    w.shutdown().await;
    assert_eq!(count(&st, "reads"), 1);
    assert_eq!(count(&st, "rejected"), 0);
    let c = st.service.check_in(&reference_of(p)).await.unwrap();
    assert_eq!(
        (c.file_name.as_str(), c.status),
        (name.as_str(), Status::Confirmed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_files_are_rejected_with_their_reason_and_the_watcher_goes_on() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let w = start(&opts, &st);
    let pop = population();
    let (_, good, _) = check_in(&pop, 0);
    for (i, m) in Malformation::ALL.iter().enumerate() {
        std::fs::write(
            opts.face_dir.join(format!("OQSsiquc01res_face_bad{i}.xml")),
            m.apply(&good),
        )
        .unwrap();
    }
    let (name, bytes, p) = check_in(&pop, 2);
    std::fs::write(opts.face_dir.join(&name), bytes).unwrap();
    wait_for("4 rejected, 1 processed", 10, || {
        count(&st, "rejected") == 4 && count(&st, "processed") == 1
    })
    .await;
    w.shutdown().await;
    assert!(st.service.check_in(&reference_of(p)).await.is_some());
    let rejected = names(&opts.rejected_dir);
    for i in 0..4 {
        let f = format!("OQSsiquc01res_face_bad{i}.xml");
        assert!(rejected.contains(&f), "{rejected:?}");
        let reason =
            std::fs::read_to_string(opts.rejected_dir.join(format!("{f}.reason.txt"))).unwrap();
        assert!(reason.starts_with(&format!("{f}: ")), "{reason}");
        // No personal value in the reason.
        assert!(
            !reason.contains(&pop.personas[0].insured.number),
            "{reason}"
        );
    }
    let reasons: String = (0..4)
        .map(|i| {
            std::fs::read_to_string(
                opts.rejected_dir
                    .join(format!("OQSsiquc01res_face_bad{i}.xml.reason.txt")),
            )
            .unwrap()
        })
        .collect();
    for expected in [
        "not closed",
        "<Message>",
        "not valid Shift_JIS",
        "Birthdate",
    ] {
        assert!(reasons.contains(expected), "{expected} in {reasons}");
    }
    assert!(names(&opts.face_dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_a_burst_loses_nothing() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let first = start(&opts, &st);
    let writer = write_burst(opts.face_dir.clone(), 0..500);
    wait_for("100 processed", 30, || count(&st, "processed") >= 100).await;
    first.shutdown().await;
    let after_first = count(&st, "processed");
    assert!(
        after_first < 500,
        "the restart came too late to test anything"
    );
    writer.join().unwrap();
    // A new process: new service, same folders.
    let (st2, _) = crate::common::in_process_state();
    let second = start(&opts, &st2);
    wait_for("the rest processed", 60, || {
        after_first + count(&st2, "processed") >= 500
    })
    .await;
    quiescent(&st2).await;
    second.shutdown().await;
    let Disposal::Move(processed) = &opts.disposal else {
        unreachable!()
    };
    let expected: BTreeSet<String> = (0..500)
        .map(|n| format!("OQSsiquc01res_face_{n:06}.xml"))
        .collect();
    assert_eq!(
        names(processed),
        expected,
        "each file once, none left behind"
    );
    assert_eq!(after_first + count(&st2, "processed"), 500);
    assert!(names(&opts.face_dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_left_in_place_are_not_processed_again_after_a_restart() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = leave_options(dir.path());
    let w = start(&opts, &st);
    good_files_and_a_bad_one(&opts, &st, 20).await;
    w.shutdown().await;
    assert_eq!(names(&opts.face_dir).len(), 21, "left in place");
    assert!(
        names(&opts.rejected_dir).contains("OQSsiquc01res_face_bad.xml"),
        "copied"
    );

    let (st2, _) = crate::common::in_process_state();
    let w = start(&opts, &st2);
    write_burst(opts.face_dir.clone(), 20..25).join().unwrap();
    wait_for("5 new processed", 10, || count(&st2, "processed") == 5).await;
    quiescent(&st2).await;
    w.shutdown().await;
    assert_eq!(count(&st2, "processed"), 5);
    assert_eq!(count(&st2, "rejected"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_events_the_rescan_finds_files() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = WatchOptions {
        events: false,
        rescan_interval: Duration::from_millis(200),
        ..options(dir.path())
    };
    let w = start(&opts, &st);
    write_burst(opts.face_dir.clone(), 0..10).join().unwrap();
    wait_for("10 processed", 10, || count(&st, "processed") == 10).await;
    w.shutdown().await;
    assert_eq!(count(&st, "reads"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_in_res_stay_and_the_terminal_upstreams_own_files_are_left_alone() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let res = dir.path().join("res");
    std::fs::create_dir_all(&res).unwrap();
    let opts = WatchOptions {
        res_dir: Some(res.clone()),
        disposal: Disposal::Leave {
            ledger: dir.path().join("ledger.tsv"),
        },
        skip_prefix: Some("PMHG".into()),
        ..options(dir.path())
    };
    let w = start(&opts, &st);
    let pop = population();
    let (_, bytes, p) = check_in(&pop, 4);
    std::fs::write(res.join("OQSsiquc01res_RC0000000001.xml"), &bytes).unwrap();
    std::fs::write(res.join("OQSsiquc01res_PMHG00000001.xml"), &bytes).unwrap();
    let res_processed = || {
        st.metrics
            .checkin_files_processed
            .get_or_create(&vec![("folder", "res")])
            .get()
    };
    wait_for("the res file processed", 10, || res_processed() == 1).await;
    quiescent(&st).await;
    w.shutdown().await;
    assert_eq!(
        res_processed(),
        1,
        "the PMHG file is the terminal upstream's"
    );
    assert_eq!(names(&res).len(), 2, "nothing moved out of res");
    assert_eq!(
        st.service
            .check_in(&reference_of(p))
            .await
            .unwrap()
            .file_name,
        "OQSsiquc01res_RC0000000001.xml"
    );
}

/// `bytes` with `extra` inserted before the first `</ResultOfQualificationConfirmation>` (ASCII,
/// so it works in either encoding).
fn with_element(bytes: &[u8], extra: &str) -> Vec<u8> {
    let end = b"</ResultOfQualificationConfirmation>";
    let at = bytes.windows(end.len()).position(|w| w == end).unwrap();
    [&bytes[..at], extra.as_bytes(), &bytes[at..]].concat()
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_large_files_odd_names_and_other_institutions_are_handled_without_harm() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = WatchOptions {
        max_file_bytes: 64 * 1024,
        ..options(dir.path())
    };
    let pop = population();
    // Outside the share: a patient's result and a secret, each reached by a link in face/.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let (_, linked_bytes, linked) = check_in(&pop, 7);
    std::fs::write(outside.join("result.xml"), &linked_bytes).unwrap();
    std::fs::write(outside.join("secret"), b"not for the gateway").unwrap();
    std::fs::create_dir_all(&opts.face_dir).unwrap();
    let face = opts.face_dir.clone();
    std::os::unix::fs::symlink(
        outside.join("result.xml"),
        face.join("OQSsiquc01res_face_l1.xml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret"),
        face.join("OQSsiquc01res_face_l2.xml"),
    )
    .unwrap();
    // Too large: rejected from its size, never read.
    let (_, good, _) = check_in(&pop, 8);
    let mut big = good.clone();
    big.resize(64 * 1024 + 1, b' ');
    std::fs::write(face.join("OQSsiquc01res_face_big.xml"), &big).unwrap();
    // Another institution's result.
    let other = check_in_xml(
        &pop.personas[9],
        9,
        crate::common::today(),
        "1322222222",
        "OTHER0000001",
    )
    .unwrap();
    std::fs::write(face.join("OQSsiquc01res_face_other.xml"), &other).unwrap();
    // A name with control characters: processed, and logged or recorded only escaped.
    let (_, odd_bytes, odd) = check_in(&pop, 10);
    let odd_name = "OQSsiquc01res_face_a\nb\u{1b}[31m.xml";
    std::fs::write(face.join(odd_name), &odd_bytes).unwrap();

    let w = start(&opts, &st);
    wait_for("4 rejected, 1 processed", 10, || {
        count(&st, "rejected") == 4 && count(&st, "processed") == 1
    })
    .await;
    quiescent(&st).await;
    w.shutdown().await;

    assert_eq!(rejected_for(&st, "link"), 2, "each link rejected once");
    assert_eq!(rejected_for(&st, "too_large"), 1);
    assert_eq!(rejected_for(&st, "other_institution"), 1);
    assert_eq!(
        count(&st, "reads"),
        2,
        "only the other institution's and the odd name's"
    );
    // The links are where they were, their targets untouched, nothing cached from them.
    for l in ["OQSsiquc01res_face_l1.xml", "OQSsiquc01res_face_l2.xml"] {
        assert!(pmh_gateway::files::is_link(&face.join(l)), "{l} left alone");
        let reason =
            std::fs::read_to_string(opts.rejected_dir.join(format!("{l}.reason.txt"))).unwrap();
        assert!(reason.contains("symbolic link"), "{reason}");
        assert!(!opts.rejected_dir.join(l).exists());
    }
    assert_eq!(
        std::fs::read(outside.join("result.xml")).unwrap(),
        linked_bytes
    );
    assert!(st.service.check_in(&reference_of(linked)).await.is_none());
    let reason = std::fs::read_to_string(
        opts.rejected_dir
            .join("OQSsiquc01res_face_big.xml.reason.txt"),
    )
    .unwrap();
    assert!(
        reason.contains("more than onshi.max_file_bytes"),
        "{reason}"
    );
    let reason = std::fs::read_to_string(
        opts.rejected_dir
            .join("OQSsiquc01res_face_other.xml.reason.txt"),
    )
    .unwrap();
    assert!(
        reason.contains("1322222222") && reason.contains("MedicalInstitutionCode"),
        "{reason}"
    );
    // The odd name was processed; its check-in keeps the real name.
    let c = st.service.check_in(&reference_of(odd)).await.unwrap();
    assert_eq!(c.file_name, odd_name);
    // Everything the gateway made is owner-only.
    let processed = dir.path().join("face/processed");
    assert_eq!(mode(&opts.rejected_dir), 0o700);
    assert_eq!(mode(&processed), 0o700);
    for d in [&opts.rejected_dir, &processed] {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processed_folder_that_is_a_link_stops_the_watcher_from_starting() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    std::fs::create_dir_all(&opts.face_dir).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, opts.face_dir.join("processed")).unwrap();
    let err = Watcher::start(opts.clone(), st.service.clone(), st.metrics.clone(), None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

/// Whoever can write the share can replace `processed/` or `rejected/` by a link to the
/// gateway's own state while it runs: the retention purge never follows it, and in the real
/// folders it removes only the names the watcher wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_purge_never_follows_a_replaced_folder_nor_takes_foreign_names() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    // The gateway's state, and a stray result-looking name, where the links will point.
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let precious = [
        "audit.key",
        "state.db",
        "state.db-wal",
        "OQSsiquc01res_elsewhere.xml",
    ];
    for n in precious {
        std::fs::write(state.join(n), b"keep").unwrap();
    }
    let opts = WatchOptions {
        retention: Duration::ZERO,
        ..options(dir.path())
    };
    let processed = dir.path().join("face/processed");
    std::fs::create_dir_all(&opts.rejected_dir).unwrap();
    // Names in the real folders that the watcher never wrote.
    for n in ["notes.txt", "state.db", "OQSsiquc01res_x.xml.bak"] {
        std::fs::write(opts.rejected_dir.join(n), b"keep").unwrap();
    }
    let w = start(&opts, &st);
    good_files_and_a_bad_one(&opts, &st, 2).await;
    // The two processed files, the rejected one and its reason: all four purged (the reason
    // may be written after its file was purged already).
    wait_for("its own files purged", 10, || {
        st.metrics.checkin_files_purged.get() >= 4
            && names(&processed).is_empty()
            && names(&opts.rejected_dir).len() == 3
    })
    .await;
    // Both folders replaced by links to the state.
    let refused = st.metrics.checkin_disposal_failures.get();
    for d in [&processed, &opts.rejected_dir] {
        std::fs::rename(d, d.with_extension("gone")).unwrap();
        std::os::unix::fs::symlink(&state, d).unwrap();
    }
    wait_for("two purges refused", 10, || {
        st.metrics.checkin_disposal_failures.get() >= refused + 4
    })
    .await;
    w.shutdown().await;
    for n in precious {
        assert!(state.join(n).exists(), "{n} was removed through a link");
    }
    assert_eq!(
        names(&dir.path().join("face/rejected.gone")),
        ["OQSsiquc01res_x.xml.bak", "notes.txt", "state.db"]
            .map(String::from)
            .into(),
        "foreign names stay"
    );
}

/// A share that stops answering (every call about one file blocks, as on a hung SMB server):
/// the other check-ins are processed, the API answers, and the watcher stops when asked — on a
/// runtime of one thread, which a blocking call on it would stall whole.
#[tokio::test]
async fn a_share_that_does_not_answer_stalls_neither_the_api_nor_other_check_ins() {
    use tower::ServiceExt;
    let (st, _) = crate::common::in_process_state();
    let app = pmh_gateway::api::router(st.clone());
    let dir = tempfile::tempdir().unwrap();
    let opts = WatchOptions {
        share_timeout: Duration::from_millis(300),
        ..options(dir.path())
    };
    std::fs::create_dir_all(&opts.face_dir).unwrap();
    let (share, release) = crate::common::hung_share("hung", opts.share_timeout);
    let pop = population();
    let (_, bytes, _) = check_in(&pop, 0);
    std::fs::write(opts.face_dir.join("OQSsiquc01res_face_hung.xml"), &bytes).unwrap();
    let w = Watcher::start_on(
        opts.clone(),
        share,
        st.service.clone(),
        st.metrics.clone(),
        None,
    )
    .unwrap();
    let writer = write_burst(opts.face_dir.clone(), 1..11);
    writer.join().unwrap();
    wait_for("10 processed beside the hung one", 20, || {
        count(&st, "processed") == 10
    })
    .await;
    wait_for("the hung calls given up", 10, || {
        st.metrics.checkin_share_timeouts.get() > 0
    })
    .await;
    let r = app
        .oneshot(
            axum::http::Request::post("/v1/subsidy-checks")
                .header(
                    "authorization",
                    format!("Bearer {}", crate::common::TEST_TOKEN),
                )
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    crate::common::body_for(&pop.personas[0]).to_string(),
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    w.shutdown().await;
    assert!(
        opts.face_dir.join("OQSsiquc01res_face_hung.xml").exists(),
        "the hung file stays for later"
    );
    drop(release);
}

/// A crafted file whose error quotes its own content (an entity name with a terminal escape):
/// the log and the reason file get it escaped, never raw.
#[tokio::test]
async fn a_rejection_reason_quoting_the_file_is_escaped_in_the_log_and_the_reason_file() {
    let (logs, _guard) = crate::common::capture_logs("info");
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    std::fs::create_dir_all(&opts.face_dir).unwrap();
    let w = start(&opts, &st);
    let crafted = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader>&\u{1b}[2K\u{1b}[1Gforged;</MessageHeader></XmlMsg>";
    std::fs::write(
        opts.face_dir.join("OQSsiquc01res_face_crafted.xml"),
        crafted,
    )
    .unwrap();
    wait_for("rejected", 10, || count(&st, "rejected") == 1).await;
    wait_for("its reason written", 10, || {
        names(&opts.rejected_dir).len() == 2
    })
    .await;
    w.shutdown().await;
    let reason = std::fs::read_to_string(
        opts.rejected_dir
            .join("OQSsiquc01res_face_crafted.xml.reason.txt"),
    )
    .unwrap();
    assert!(reason.contains("\\u{1b}[2K"), "{reason}");
    let logged = logs.text();
    assert!(
        logged.contains("OQSsiquc01res_face_crafted.xml"),
        "{logged}"
    );
    for text in [&reason, &logged] {
        assert!(!text.contains('\u{1b}'), "a raw escape: {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_naming_a_my_number_is_never_copied() {
    let pop = population();
    let (_, good, _) = check_in(&pop, 11);
    let bad = with_element(&good, "<MyNumber>123456789018</MyNumber>");
    // Files moved: it leaves face/ and is not kept anywhere; only the reason is written.
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let w = start(&opts, &st);
    std::fs::write(opts.face_dir.join("OQSsiquc01res_face_mn.xml"), &bad).unwrap();
    wait_for("rejected", 10, || rejected_for(&st, "my_number") == 1).await;
    w.shutdown().await;
    assert!(names(&opts.face_dir).is_empty());
    assert_eq!(
        names(&opts.rejected_dir),
        BTreeSet::from(["OQSsiquc01res_face_mn.xml.reason.txt".to_owned()])
    );
    assert!(names(&dir.path().join("face/processed")).is_empty());
    // Files left in place: it stays, is not copied, and is not read again after a restart.
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    let opts = leave_options(dir.path());
    let w = start(&opts, &st);
    std::fs::write(opts.face_dir.join("OQSsiquc01res_face_mn.xml"), &bad).unwrap();
    wait_for("rejected", 10, || rejected_for(&st, "my_number") == 1).await;
    w.shutdown().await;
    assert_eq!(names(&opts.face_dir).len(), 1);
    assert_eq!(
        names(&opts.rejected_dir),
        BTreeSet::from(["OQSsiquc01res_face_mn.xml.reason.txt".to_owned()])
    );
    let (st2, _) = crate::common::in_process_state();
    let w = start(&opts, &st2);
    quiescent(&st2).await;
    w.shutdown().await;
    assert_eq!(count(&st2, "reads"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processed_and_rejected_files_are_removed_after_the_retention() {
    let (st, _) = crate::common::in_process_state();
    let dir = tempfile::tempdir().unwrap();
    // Kept three days: nothing goes.
    let opts = options(dir.path());
    let w = start(&opts, &st);
    good_files_and_a_bad_one(&opts, &st, 3).await;
    quiescent(&st).await;
    w.shutdown().await;
    let processed = dir.path().join("face/processed");
    assert_eq!(names(&processed).len(), 3);
    assert_eq!(names(&opts.rejected_dir).len(), 2);
    assert_eq!(st.metrics.checkin_files_purged.get(), 0);
    // A retention of zero: the next start removes them.
    let (st, _) = crate::common::in_process_state();
    let opts = WatchOptions {
        retention: Duration::ZERO,
        ..opts
    };
    let w = start(&opts, &st);
    wait_for("5 purged", 10, || {
        st.metrics.checkin_files_purged.get() == 5
    })
    .await;
    w.shutdown().await;
    assert!(names(&processed).is_empty());
    assert!(names(&opts.rejected_dir).is_empty());
}

/// A process that committed a file's prefetch but died before moving the file (or a replica
/// that lost its lease in between): the next watcher finds the file's marker, moves the file
/// without a second prefetch, and the audit keeps one record for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_recorded_before_a_crash_is_moved_without_a_second_prefetch() {
    use pmh_gateway::store::{AuditQuery, AuditRecord, Operation, ProcessedFile};
    let sandbox = crate::common::start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::common::gateway_config(&sandbox, Duration::from_millis(800));
    cfg.checkin = Some(options(dir.path()));
    std::fs::create_dir_all(dir.path().join("face")).unwrap();
    let pop = population();
    let (recorded, recorded_bytes, _) = check_in(&pop, 1);
    let (fresh, fresh_bytes, _) = check_in(&pop, 2);
    {
        let (store, hasher) = pmh_gateway::app::open_local_store(&cfg.store).unwrap();
        let mut rec = AuditRecord::new(
            chrono::Utc::now(),
            pmh_gateway::checkin::WATCHER_CLIENT,
            Operation::Prefetch,
        );
        rec.detail = Some("the crashed process's prefetch".into());
        let file = ProcessedFile {
            key: hasher.checkin_file(&recorded, &recorded_bytes),
            at: chrono::Utc::now(),
            holder: "crashed/1".into(),
            records: vec![rec],
        };
        assert!(store.record_file(file.clone()).await.unwrap());
        assert!(
            !store.record_file(file).await.unwrap(),
            "a marker is written once"
        );
    }
    std::fs::write(dir.path().join("face").join(&recorded), &recorded_bytes).unwrap();
    std::fs::write(dir.path().join("face").join(&fresh), &fresh_bytes).unwrap();
    let gw = crate::common::Gateway::start(cfg.clone()).await;
    let processed = dir.path().join("face/processed");
    wait_for("both files moved", 30, || names(&processed).len() >= 2).await;
    assert_eq!(names(&processed), BTreeSet::from([recorded, fresh]));
    let metrics = gw.get_text("/metrics").await;
    assert!(
        metrics.contains("checkin_files_repeated_total 1\n"),
        "{metrics}"
    );
    gw.stop().await;

    let (store, _) = pmh_gateway::app::open_local_store(&cfg.store).unwrap();
    let prefetches = store
        .search(AuditQuery {
            operation: Some(Operation::Prefetch),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(prefetches.len(), 2, "one record per file: {prefetches:?}");
    assert_eq!(
        prefetches
            .iter()
            .filter(|r| r.detail.as_deref() == Some("the crashed process's prefetch"))
            .count(),
        1
    );
}
