//! Check-in prefetch, side by side in one run:
//! - parse throughput: 500 synthetic オン資 result files (UTF-8 and Shift_JIS, half with the PMH
//!   block) parsed in memory;
//! - a 500-file burst into the watched `face` folder (the watcher, the service and the sandbox
//!   over mutual TLS for the files without the block): file arrival (its mtime) to cached
//!   answer, per file, and files/s end to end;
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
/// index. Arrival is when the bench started writing the file: the file's mtime comes from the
/// kernel's coarse clock (a tick, up to 4 ms early), which would inflate short latencies.
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

/// Writes the files; returns each one's reference and when its writing started.
fn write(
    face: &Path,
    files: &[(String, Vec<u8>, String)],
) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    files
        .iter()
        .map(|(name, bytes, reference)| {
            let at = chrono::Utc::now();
            std::fs::write(face.join(name), bytes).unwrap();
            (reference.clone(), at)
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
        population_size: n.max(100),
    })
    .await
    .unwrap();
    let pop = Population::generate(42, today, n.max(100));

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
    let opts = WatchOptions::for_face_dir(dir.path().join("face"));
    let watcher =
        Watcher::start(opts.clone(), st.service.clone(), st.metrics.clone(), None).unwrap();

    // 2. A burst.
    let t0 = Instant::now();
    let burst_written = write(&opts.face_dir, &burst);
    let written = t0.elapsed();
    wait_processed(&st, n as u64).await;
    let burst_wall = t0.elapsed();
    let burst_rate = n as f64 / burst_wall.as_secs_f64();
    println!(
        "burst                    {n} files written in {:.1} ms, all cached after {:.1} ms: {burst_rate:.0} files/s end to end",
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

    // 3. A trickle: one check-in every 20 ms (new persons, so nothing is cached before).
    let trickle: Vec<_> = (0..100).map(|i| file(&pop, i + 1, "t")).collect();
    let mut refs = Vec::new();
    for (k, f) in trickle.iter().enumerate() {
        refs.extend(write(&opts.face_dir, std::slice::from_ref(f)));
        wait_processed(&st, (n + k + 1) as u64).await;
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
