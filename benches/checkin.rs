//! Check-in prefetch, side by side in one run:
//! - parse throughput: 500 synthetic オン資 result files (UTF-8 and Shift_JIS, half with the PMH
//!   block) parsed in memory;
//! - a 500-file burst into the watched `face` folder, renamed in by a thread of its own (the
//!   watcher with the SQLite audit, the service and the sandbox over mutual TLS for the files
//!   without the block): file arrival to cached answer, per file, and files/s end to end;
//! - the same number of files written one after another by that thread (a terminal at its
//!   fastest): arrival (the write returned) to cached answer;
//! - a trickle of single check-ins (one every 20 ms), the everyday case: arrival to cached.
//!
//! `cargo bench --bench checkin` (optionally `-- N` files per burst, default 500).
// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use pmh_gateway::api::AppState;
use pmh_gateway::checkin::{WatchOptions, Watcher};
use pmh_gateway::onshi::OnshiResult;
use pmh_gateway::sandbox::terminal::{check_in_xml, reference_of};
use pmh_gateway::sandbox::{self, Pki, Population, SandboxOptions};
use tokio::net::TcpListener;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let (med, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
    println!(
        "{name:<24} n={:<5} median={:>8.3} ms  p90={:>8.3} ms  p99={:>8.3} ms",
        v.len(),
        med.as_secs_f64() * 1e3,
        percentile(&v, 0.9).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    (med, p99)
}

/// File `n`: persona `n`, in the sandbox terminal's series (block on even n, Shift_JIS on every
/// third).
fn file(pop: &Population, n: usize, tag: &str) -> (String, Vec<u8>, String) {
    let p = &pop.personas[n % pop.personas.len()];
    let bytes = check_in_xml(p, n as u64, pop.today, "1311111111", &format!("{n:012}")).unwrap();
    (
        format!("OQSsiquc01res_face_{tag}{n:06}.xml"),
        bytes,
        reference_of(p),
    )
}

/// Arrival to cached, for the check-ins `(reference, written at)`, from the service's check-in
/// index. Arrival is when the bench's write of the file returned (creating a file on this
/// machine's ext4 can itself take milliseconds, which is the terminal's time, not the
/// gateway's); the file's mtime would not do: it comes from the kernel's coarse clock (a tick,
/// up to 4 ms early), which would inflate short latencies.
async fn arrival_to_cached(
    st: &AppState,
    written: &[(String, chrono::DateTime<chrono::Utc>)],
) -> Vec<Duration> {
    let mut out = Vec::new();
    for (r, at) in written {
        let c = st
            .service
            .check_in(r)
            .await
            .expect("every check-in indexed");
        out.push((c.cached_at - *at).to_std().unwrap_or_default());
    }
    out
}

async fn wait_processed(st: &AppState, n: u64) {
    let face = vec![("folder", "face")];
    while st
        .metrics
        .checkin_files_processed
        .get_or_create(&face)
        .get()
        < n
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Writes the files; returns each one's reference and when it was complete (written and
/// closed: the moment the terminal is done with it).
fn write(
    face: &Path,
    files: &[(String, Vec<u8>, String)],
) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    files
        .iter()
        .map(|(name, bytes, reference)| {
            std::fs::write(face.join(name), bytes).unwrap();
            (reference.clone(), chrono::Utc::now())
        })
        .collect()
}

/// Renames the staged files into the folder; returns each one's reference and when it was in.
fn move_in(
    staging: &Path,
    face: &Path,
    files: &[(String, Vec<u8>, String)],
) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    files
        .iter()
        .map(|(name, _, reference)| {
            std::fs::rename(staging.join(name), face.join(name)).unwrap();
            (reference.clone(), chrono::Utc::now())
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    pmh_gateway::tls::install_crypto_provider();
    let today = pmh_gateway::domain::date::jst_date(chrono::Utc::now());
    let sandbox = sandbox::start(SandboxOptions {
        https: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        admin: None,
        pki: Pki::generate("1311111111").unwrap(),
        seed: 42,
        today,
        population_size: (2 * n).max(100),
    })
    .await
    .unwrap();
    let pop = Population::generate(42, today, (2 * n).max(100));

    // 1. Parse throughput, in memory.
    let burst: Vec<_> = (0..n).map(|i| file(&pop, i, "b")).collect();
    let t0 = Instant::now();
    for (_, bytes, _) in &burst {
        std::hint::black_box(OnshiResult::parse(bytes).unwrap());
    }
    let parse = t0.elapsed();
    let parse_rate = n as f64 / parse.as_secs_f64();
    println!(
        "parse only               {n} files in {:.1} ms: {parse_rate:.0} files/s",
        parse.as_secs_f64() * 1e3
    );

    // The gateway's service and the watcher on a temporary face folder.
    let dir = tempfile::tempdir().unwrap();
    let cfg = pmh_gateway::demo::gateway_config(
        &sandbox,
        "127.0.0.1:0".parse().unwrap(),
        &dir.path().join("state"),
        Vec::new(),
    );
    let st = pmh_gateway::app::state_from_config(&cfg).await.unwrap();
    let mut opts = WatchOptions::for_face_dir(dir.path().join("face"));
    if let Ok(c) = std::env::var("BENCH_CONCURRENCY") {
        opts.concurrency = c.parse().unwrap();
    }
    // With the audit, as the gateway runs it: each file recorded as processed, each check audited.
    let audit = pmh_gateway::store::Recorder {
        store: st.store.clone(),
        hasher: st.hasher.clone(),
        holder: "bench".into(),
    };
    let watcher = Watcher::start(
        opts.clone(),
        st.service.clone(),
        st.metrics.clone(),
        Some(audit),
    )
    .unwrap();

    // 2. A burst, by a thread of its own (the terminal is another process, usually another
    // machine): never on one of the runtime's two workers. The files are written beside the
    // folder first and renamed in, so that what is measured is the gateway, not the creation
    // of 500 files on this machine's disk (which takes the writer up to a millisecond a file
    // and would compete with the gateway for the same two cores).
    let staging = dir.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    for (name, bytes, _) in &burst {
        std::fs::write(staging.join(name), bytes).unwrap();
    }
    let t0 = Instant::now();
    let writer = {
        let (face, burst) = (opts.face_dir.clone(), burst.clone());
        std::thread::spawn(move || {
            let w = move_in(&staging, &face, &burst);
            (w, t0.elapsed())
        })
    };
    wait_processed(&st, n as u64).await;
    let (burst_written, written) = writer.join().unwrap();
    let burst_wall = t0.elapsed();
    let burst_rate = n as f64 / burst_wall.as_secs_f64();
    println!(
        "burst                    {n} files moved in within {:.1} ms, all cached after {:.1} ms: {burst_rate:.0} files/s end to end",
        written.as_secs_f64() * 1e3,
        burst_wall.as_secs_f64() * 1e3
    );
    // The last file per person is the one indexed.
    let last: Vec<_> = burst_written
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
        .into_iter()
        .collect();
    let (burst_med, burst_p99) =
        summary("burst arrival→cached", arrival_to_cached(&st, &last).await);

    // 2b. The same number of other persons' files written one after another, as fast as a
    // thread can create them here (the terminal's pace at its fastest): arrival is when each
    // write returned.
    let written_burst: Vec<_> = (0..n).map(|i| file(&pop, n + i, "w")).collect();
    let t0 = Instant::now();
    let writer = {
        let (face, files) = (opts.face_dir.clone(), written_burst.clone());
        std::thread::spawn(move || {
            let w = write(&face, &files);
            (w, t0.elapsed())
        })
    };
    wait_processed(&st, 2 * n as u64).await;
    let (paced, paced_written) = writer.join().unwrap();
    println!(
        "written burst            {n} files written in {:.1} ms, all cached after {:.1} ms",
        paced_written.as_secs_f64() * 1e3,
        t0.elapsed().as_secs_f64() * 1e3
    );
    let last: Vec<_> = paced
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
        .into_iter()
        .collect();
    summary(
        "written arrival→cached",
        arrival_to_cached(&st, &last).await,
    );

    // 3. A trickle: one check-in every 20 ms (new persons, so nothing is cached before).
    let trickle: Vec<_> = (0..100).map(|i| file(&pop, i + 1, "t")).collect();
    let mut refs = Vec::new();
    for (k, f) in trickle.iter().enumerate() {
        refs.extend(write(&opts.face_dir, std::slice::from_ref(f)));
        wait_processed(&st, (2 * n + k + 1) as u64).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (trickle_med, trickle_p99) = summary(
        "trickle arrival→cached",
        arrival_to_cached(&st, &refs).await,
    );
    watcher.shutdown().await;
    sandbox.shutdown().await;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "ratios: parse-only / end-to-end burst throughput {:.1}x; burst / trickle arrival→cached median {:.1}x, p99 {:.1}x",
        parse_rate / burst_rate,
        ratio(burst_med, trickle_med),
        ratio(burst_p99, trickle_p99),
    );
}
