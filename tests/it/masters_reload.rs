//! Hot reload of the master tables while requests flow: through `POST /v1/masters/reload` and
//! through the directory watcher. A bad file never replaces the snapshot in force, and no request
//! fails during a reload.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use pmh_gateway::masters::{FILES, LOCAL_FILE, MasterSource};

fn copy_shipped(dir: &Path) {
    for f in FILES {
        std::fs::copy(
            format!("{}/masters/{f}", env!("CARGO_MANIFEST_DIR")),
            dir.join(f),
        )
        .unwrap();
    }
}

/// Writes a file the way deployment tools do: a temporary file renamed over the old one.
fn replace(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

async fn get_json(url: String) -> serde_json::Value {
    http().get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_while_requests_flow_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    copy_shipped(dir.path());
    let sandbox = start_sandbox().await;
    let mut cfg = gateway_config(&sandbox, Duration::from_secs(3));
    cfg.masters = MasterSource::Dir(dir.path().to_path_buf());
    let gw = Gateway::start(cfg).await;

    // Requests flow the whole time; every one must succeed with the right order.
    let persons = [sandbox
        .population()
        .find(&["showcase", "triple"])
        .unwrap()
        .clone()];
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let url = gw.url("/v1/subsidy-checks");
    let traffic = {
        let (stop, done) = (stop.clone(), done.clone());
        tokio::spawn(async move {
            let client = http();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let p = &persons[i % persons.len()];
                i += 1;
                let r = client.post(&url).json(&body_for(p)).send().await.unwrap();
                assert_eq!(r.status(), 200);
                let v: serde_json::Value = r.json().await.unwrap();
                assert_eq!(v["status"], "confirmed");
                let laws: Vec<_> = v["subsidies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["law_code"].clone())
                    .collect();
                assert_eq!(laws, ["21", "54", "80"]);
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    let client = http();
    let reload = || client.post(gw.url("/v1/masters/reload")).send();
    let original = std::fs::read_to_string(dir.path().join(LOCAL_FILE)).unwrap();

    // A good change, by the API.
    replace(
        dir.path(),
        LOCAL_FILE,
        &with_version(&original, "2026.11-test.2"),
    );
    let r = reload().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        get_json(gw.url("/v1/masters")).await["version"]
            .as_str()
            .unwrap()
            .contains("2026.11-test.2")
    );

    // A bad change: refused with its line, the old snapshot keeps serving, readiness says so.
    replace(
        dir.path(),
        LOCAL_FILE,
        &original.replace("81137242,", "81137243,"),
    );
    let r = reload().await.unwrap();
    assert_eq!(r.status(), 422);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/masters-rejected");
    assert_eq!(problem["errors"][0]["field"], "local_programmes.csv:17");
    assert!(
        get_json(gw.url("/v1/masters")).await["version"]
            .as_str()
            .unwrap()
            .contains("2026.11-test.2")
    );
    let ready = get_json(gw.url("/readyz")).await;
    assert_eq!(ready["status"], "degraded");
    assert_eq!(
        ready["masters"]["last_reload_failure"]["errors"][0]["line"],
        17
    );

    // A good change picked up by the watcher alone.
    replace(
        dir.path(),
        LOCAL_FILE,
        &with_version(&original, "2026.11-test.3"),
    );
    let mut seen = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if get_json(gw.url("/v1/masters")).await["version"]
            .as_str()
            .unwrap()
            .contains("2026.11-test.3")
        {
            seen = true;
            break;
        }
    }
    assert!(seen, "the watcher reloaded the changed file");
    assert_eq!(get_json(gw.url("/readyz")).await["status"], "ready");

    stop.store(true, Ordering::SeqCst);
    traffic.await.unwrap();
    assert!(
        done.load(Ordering::SeqCst) > 10,
        "requests flowed during the reloads"
    );
    gw.stop().await;
    sandbox.shutdown().await;
}

/// A master file's text with another `# version:`.
fn with_version(text: &str, version: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("# version:") {
                format!("# version: {version}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
