//! End to end with the sandbox as the オン資 terminal on a folder: the real server (`run`) over
//! real sockets, check-ins flowing from `face` into the cache, and the terminal as the upstream.

use std::time::Duration;

use crate::common::*;
use pmh_gateway::checkin::WatchOptions;
use pmh_gateway::config::{GatewayConfig, UpstreamConfig};
use pmh_gateway::domain::MedicalInstitutionCode;
use pmh_gateway::onshi::Charset;
use pmh_gateway::sandbox::terminal::{Terminal, TerminalOptions};
use pmh_gateway::upstream::TerminalUpstreamOptions;

pub(crate) fn terminal_config(root: &std::path::Path, deadline_ms: u64) -> GatewayConfig {
    let mut cfg = demo_like_config();
    cfg.upstream = UpstreamConfig::Terminal(TerminalUpstreamOptions {
        req_dir: Terminal::req_dir(root),
        res_dir: Terminal::res_dir(root),
        charset: Charset::ShiftJis,
        poll: Duration::from_millis(10),
        share_timeout: Duration::from_secs(5),
    });
    cfg.service.deadline = Duration::from_millis(deadline_ms);
    cfg
}

fn demo_like_config() -> GatewayConfig {
    let mut cfg = pmh_gateway::config::FileConfig::from_toml(TERMINAL_TOML)
        .unwrap()
        .resolve(std::path::Path::new("/"))
        .unwrap();
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.access.clients = test_clients();
    cfg.store.dir = state_dir();
    cfg
}

pub(crate) fn emulator(root: &std::path::Path, check_ins: Option<Duration>) -> TerminalOptions {
    TerminalOptions {
        check_in_every: check_ins,
        population_size: 300,
        ..TerminalOptions::new(
            root,
            "1311111111",
            pmh_gateway::domain::date::jst_date(chrono::Utc::now()),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_answers_as_the_upstream_through_req_and_res_files() {
    let dir = tempfile::tempdir().unwrap();
    let term = Terminal::start(emulator(dir.path(), None)).unwrap();
    let gw = Gateway::start(terminal_config(dir.path(), 2000)).await;
    let triple = term
        .population()
        .find(&["showcase", "triple"])
        .unwrap()
        .clone();
    let none = term
        .population()
        .find(&["showcase", "none"])
        .unwrap()
        .clone();

    let (status, v) = gw.check(&body_for(&triple)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (&v["status"], &v["source"]),
        (
            &serde_json::json!("confirmed"),
            &serde_json::json!("upstream")
        )
    );
    assert_eq!(v["subsidies"].as_array().unwrap().len(), 3);
    let (status, v) = gw.check(&body_for(&none)).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("none_found")));
    assert_eq!(term.requests_answered(), 2);
    // The gateway removed its request and result files.
    for d in [Terminal::req_dir(dir.path()), Terminal::res_dir(dir.path())] {
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
    }
    gw.stop().await;

    // Another institution's requests come back as .err: refused, never "none".
    let mut cfg = terminal_config(dir.path(), 2000);
    cfg.institution = MedicalInstitutionCode::parse("1312345678").unwrap();
    let gw = Gateway::start(cfg).await;
    let (status, v) = gw.check(&body_for(&triple)).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["status"], "unavailable");
    assert_eq!(v["upstream_problem"]["kind"], "rejected");
    gw.stop().await;
    term.shutdown().await;

    // A terminal that does not answer: unavailable by the deadline, request withdrawn.
    let silent = Terminal::start(TerminalOptions {
        answer_requests: false,
        ..emulator(dir.path(), None)
    })
    .unwrap();
    let gw = Gateway::start(terminal_config(dir.path(), 600)).await;
    let (status, v) = gw.check(&body_for(&none)).await;
    assert_eq!((status, v["status"].as_str()), (503, Some("unavailable")));
    // Withdrawn before the answer, as a rule; when the service's deadline cut the query short,
    // by the task its guard left behind, at once after.
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while std::fs::read_dir(Terminal::req_dir(dir.path()))
        .unwrap()
        .count()
        > 0
    {
        assert!(
            std::time::Instant::now() < end,
            "the request was not withdrawn"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gw.stop().await;
    silent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_flow_from_the_face_folder_into_answers_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let term = Terminal::start(TerminalOptions {
        check_in_limit: Some(30),
        malformed_every: 10,
        ..emulator(&root, Some(Duration::from_millis(20)))
    })
    .unwrap();
    let mut notices = term.subscribe();
    let mut cfg = terminal_config(&root, 2000);
    cfg.checkin = Some(WatchOptions {
        incomplete_grace: Duration::from_millis(500),
        settle: Duration::from_millis(200),
        ..WatchOptions::for_face_dir(Terminal::face_dir(&root))
    });
    let gw = Gateway::start(cfg).await;
    let client = http();
    let mut answered = 0;
    let mut malformed = 0;
    for _ in 0..30 {
        let n = tokio::time::timeout(Duration::from_secs(10), notices.recv())
            .await
            .unwrap()
            .unwrap();
        let Some(reference) = n.reference else {
            malformed += 1;
            continue;
        };
        // Poll until this check-in (not an earlier one of the same person) is answered.
        let url = gw.url(&format!("/v1/subsidy-checks?reference={reference}"));
        let end = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = client.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap();
            if status == 200 && v["check_in"]["file_name"] == n.file_name.as_str() {
                assert_eq!(v["source"], "cache", "{v}");
                assert!(v["receipt_type"].is_string(), "{v}");
                if n.with_block {
                    assert_eq!(v["origin"]["kind"], "onshi_result");
                }
                answered += 1;
                break;
            }
            assert!(std::time::Instant::now() < end, "{reference}: {status} {v}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert_eq!((answered, malformed), (27, 3));
    // The malformed ones land in rejected/ with their reasons.
    let rejected = Terminal::face_dir(&root).join("rejected");
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&rejected).map(|d| d.count()).unwrap_or(0) < 6 {
        assert!(
            std::time::Instant::now() < end,
            "rejected files did not appear"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = gw.get_text("/metrics").await;
    for line in [
        "pmh_gateway_checkin_files_seen_total{folder=\"face\"} 30",
        "pmh_gateway_checkin_files_processed_total{folder=\"face\"} 27",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    let rejected: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("pmh_gateway_checkin_files_rejected_total{folder=\"face\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(rejected, 3, "{metrics}");
    assert!(
        metrics.contains("pmh_gateway_checkin_arrival_to_cached_seconds_count 27"),
        "{metrics}"
    );
    gw.stop().await;
    term.shutdown().await;
}

/// A caller that goes away (its future dropped, as at the service's deadline or a closed
/// connection) leaves nothing in the share: the request is withdrawn at once, and a late answer
/// is removed when it arrives.
#[tokio::test]
async fn a_cancelled_request_is_withdrawn_and_its_late_answer_removed() {
    use pmh_gateway::upstream::Upstream;
    let dir = tempfile::tempdir().unwrap();
    let (up, q, req, res) = terminal_upstream(dir.path());
    let far = tokio::time::Instant::now() + Duration::from_secs(600);
    let mut asking = up.query(&q, far);
    // Let it write its request, then go away.
    let name = loop {
        tokio::select! {
            _ = &mut asking => panic!("nobody answers"),
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        if let Some(name) = request_written(&req) {
            break name;
        }
    };
    drop(asking);
    // Withdrawn at once, off the runtime's threads.
    for _ in 0..500 {
        if std::fs::read_dir(&req).unwrap().count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(std::fs::read_dir(&req).unwrap().count(), 0, "withdrawn");
    // The terminal answers late: the answer does not stay in the share.
    let late = res.join(name.replace("req_", "res_"));
    std::fs::write(&late, b"<XmlMsg/>").unwrap();
    for _ in 0..500 {
        if !late.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the late answer stayed in res/");
}

/// A terminal upstream on `root`'s req/res folders, and a query about a sandbox persona.
fn terminal_upstream(
    root: &std::path::Path,
) -> (
    pmh_gateway::upstream::TerminalUpstream,
    pmh_gateway::upstream::Query,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    use pmh_gateway::upstream::{Query, TerminalUpstream};
    let (req, res) = (Terminal::req_dir(root), Terminal::res_dir(root));
    std::fs::create_dir_all(&req).unwrap();
    std::fs::create_dir_all(&res).unwrap();
    let up = TerminalUpstream::new(
        TerminalUpstreamOptions {
            req_dir: req.clone(),
            res_dir: res.clone(),
            charset: Charset::Utf8,
            poll: Duration::from_millis(10),
            share_timeout: Duration::from_secs(5),
        },
        MedicalInstitutionCode::parse("1311111111").unwrap(),
    )
    .unwrap();
    let p = pmh_gateway::sandbox::Population::generate(SEED, today(), 50)
        .personas
        .remove(0);
    let q = Query {
        insured: pmh_gateway::domain::InsuredIdentity::new(
            &p.insured.insurer_number,
            p.insured.symbol.as_deref(),
            &p.insured.number,
            p.insured.branch.as_deref(),
            chrono::NaiveDate::parse_from_str(&p.insured.birthdate, "%Y-%m-%d").unwrap(),
        )
        .unwrap(),
        date: today(),
        check_id: "c".into(),
    };
    (up, q, req, res)
}

/// The name of the request file the gateway wrote into `req`, once there.
fn request_written(req: &std::path::Path) -> Option<String> {
    std::fs::read_dir(req)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("OQSsiquc01req_") && n.ends_with(".xml"))
}

/// Asks, and once the request is written, lets `answer` put something into the share; returns
/// the upstream's result.
async fn ask_and_answer(
    answer: impl FnOnce(&std::path::Path, &std::path::Path, &str),
) -> Result<pmh_gateway::upstream::Answer, pmh_gateway::upstream::UpstreamError> {
    use pmh_gateway::upstream::Upstream;
    let dir = tempfile::tempdir().unwrap();
    let (up, q, req, res) = terminal_upstream(dir.path());
    let far = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut asking = up.query(&q, far);
    let mut answer = Some(answer);
    loop {
        tokio::select! {
            r = &mut asking => return r,
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        if let Some(name) = request_written(&req)
            && let Some(a) = answer.take()
        {
            a(&req, &res, &name);
        }
    }
}

#[tokio::test]
async fn a_refusal_file_never_reaches_the_caller_and_links_are_not_followed() {
    use pmh_gateway::upstream::UpstreamError;
    // The .err file's words (which may echo the request) stay out of the answer and the log.
    let (logs, _guard) = capture_logs("trace");
    let secret = "山田太郎 06139999 \u{1b}[31m";
    let r = ask_and_answer(|_, res, name| {
        let mut text = secret.repeat(1000);
        text.push_str("end");
        std::fs::write(res.join(format!("{name}.err")), text).unwrap();
    })
    .await;
    let Err(UpstreamError::Rejected { message, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(
        !message.contains("山田") && !message.contains("06139999"),
        "{message}"
    );
    assert!(message.contains(".xml.err"), "{message}");
    let logged = logs.text();
    assert!(logged.contains("refused a request"), "{logged}");
    assert!(logged.contains("bytes="), "its size is logged: {logged}");
    for word in ["山田", "06139999", "\u{1b}"] {
        assert!(!logged.contains(word), "the log holds {word:?}: {logged}");
    }
    // An answer that is a link elsewhere is not read: a protocol error, the target untouched.
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target.xml");
    std::fs::write(&target, b"<XmlMsg/>").unwrap();
    let t = target.clone();
    let r = ask_and_answer(move |_, res, name| {
        std::os::unix::fs::symlink(&t, res.join(name.replace("req_", "res_"))).unwrap();
    })
    .await;
    let Err(UpstreamError::Protocol(detail)) = r else {
        panic!("{r:?}")
    };
    assert!(detail.contains("symbolic link"), "{detail}");
    assert_eq!(std::fs::read(&target).unwrap(), b"<XmlMsg/>");
}

#[tokio::test]
async fn requests_are_written_owner_only() {
    let r = ask_and_answer(|req, _, name| {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(req.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(req.join(format!("{name}.err")), "no").unwrap();
    })
    .await;
    assert!(r.is_err());
}

/// A terminal share that stops answering (the request's write blocks, as on a hung SMB server):
/// the check answers `unavailable` by its deadline and the gateway's other routes answer
/// meanwhile — on a runtime of one thread, which a blocking call on it would stall whole.
#[tokio::test]
async fn a_terminal_share_that_does_not_answer_gives_unavailable_and_stalls_nothing() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let (req, res) = (Terminal::req_dir(dir.path()), Terminal::res_dir(dir.path()));
    std::fs::create_dir_all(&req).unwrap();
    std::fs::create_dir_all(&res).unwrap();
    let opts = TerminalUpstreamOptions {
        req_dir: req.clone(),
        res_dir: res,
        charset: Charset::Utf8,
        poll: Duration::from_millis(10),
        share_timeout: Duration::from_secs(30),
    };
    // Every call about a request file hangs (the gateway's requests are named …PMHG…).
    let (share, release) = hung_share("PMHG", Duration::from_secs(30));
    let up = std::sync::Arc::new(
        pmh_gateway::upstream::TerminalUpstream::on_share(
            share,
            opts,
            MedicalInstitutionCode::parse("1311111111").unwrap(),
        )
        .unwrap(),
    );
    let mut cfg = test_config_without_upstream();
    cfg.service.deadline = Duration::from_millis(500);
    let st = pmh_gateway::app::state_with_upstream(
        &cfg,
        up,
        std::sync::Arc::new(pmh_gateway::service::ManualClock::new(ten_am_jst())),
    )
    .unwrap();
    let app = pmh_gateway::api::router(st);
    let pop = pmh_gateway::sandbox::Population::generate(SEED, today(), 50);
    let check = axum::http::Request::post("/v1/subsidy-checks")
        .header("authorization", format!("Bearer {TEST_TOKEN}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            body_for(&pop.personas[0]).to_string(),
        ))
        .unwrap();
    let health = axum::http::Request::get("/healthz")
        .body(axum::body::Body::empty())
        .unwrap();
    let (checked, healthy) = tokio::join!(app.clone().oneshot(check), async {
        // Asked while the check's request hangs in the share.
        tokio::task::yield_now().await;
        app.clone().oneshot(health).await
    });
    assert_eq!(healthy.unwrap().status(), 200);
    let checked = checked.unwrap();
    assert_eq!(checked.status(), 503);
    let v: serde_json::Value = serde_json::from_slice(
        &http_body_util::BodyExt::collect(checked.into_body())
            .await
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(v["status"], "unavailable", "{v}");
    drop(release);
}

/// Replicas share the terminal's folder: each writes its own requests (its ids are random) and
/// takes only its own answers, so checks through both at once are each answered right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_terminal_folder_each_get_their_own_answers() {
    let dir = tempfile::tempdir().unwrap();
    let term = Terminal::start(emulator(dir.path(), None)).unwrap();
    let gws = [
        Gateway::start(terminal_config(dir.path(), 5000)).await,
        Gateway::start(terminal_config(dir.path(), 5000)).await,
    ];
    let people: Vec<_> = term
        .population()
        .personas
        .iter()
        .filter(|p| !p.certificates.is_empty())
        .take(12)
        .cloned()
        .collect();
    let asks = people.iter().enumerate().map(|(i, p)| {
        let gw = &gws[i % 2];
        async move { (p, gw.check(&body_for(p)).await) }
    });
    for (p, (status, v)) in futures::future::join_all(asks).await {
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["status"], "confirmed", "{v}");
        assert_eq!(
            v["subsidies"].as_array().unwrap().len()
                + v["inactive_subsidies"].as_array().map_or(0, Vec::len),
            p.certificates.len(),
            "{}: {v}",
            p.id
        );
    }
    assert_eq!(term.requests_answered(), people.len() as u64);
    for gw in gws {
        gw.stop().await;
    }
    for d in [Terminal::req_dir(dir.path()), Terminal::res_dir(dir.path())] {
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
    }
}
