//! One path for オン資 results: the same result posted to the API as `application/xml` and
//! dropped by the terminal into `face/` gives the same answer (status, subsidies, warnings,
//! レセプト種別, 負担区分) and the same upstream traffic, with and without the PMH block.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use pmh_gateway::api::AppState;
use pmh_gateway::checkin::{WatchOptions, Watcher};
use pmh_gateway::onshi::Charset;
use pmh_gateway::sandbox::Population;
use pmh_gateway::sandbox::terminal::reference_of;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{SEED, in_process_state, result_file, today};

async fn call(st: &AppState, mut req: Request<Body>) -> Value {
    req.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {}", crate::common::TEST_TOKEN)
            .parse()
            .unwrap(),
    );
    let resp = pmh_gateway::api::router(st.clone())
        .oneshot(req)
        .await
        .unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// The parts of an answer that do not depend on the door or the moment.
fn essence(v: &Value) -> Value {
    let mut v = v.clone();
    let m = v.as_object_mut().unwrap();
    for k in [
        "check_id",
        "checked_at",
        "obtained_at",
        "age_seconds",
        "source",
        "origin",
        "check_in",
    ] {
        m.remove(k);
    }
    v
}

async fn wait_processed(st: &AppState, n: u64) {
    let face = vec![("folder", "face")];
    for _ in 0..2000 {
        if st
            .metrics
            .checkin_files_processed
            .get_or_create(&face)
            .get()
            >= n
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the file was not processed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_result_and_a_filed_result_give_the_same_answer() {
    let pop = Population::generate(SEED, today(), 300);
    let p = pop.find(&["showcase", "triple"]).unwrap();
    for (block, charset) in [(true, Charset::ShiftJis), (false, Charset::Utf8)] {
        let xml = result_file(p, block, charset);

        // Posted.
        let (posted_state, posted_upstream) = in_process_state();
        let posted = call(
            &posted_state,
            Request::post("/v1/subsidy-checks")
                .header(header::CONTENT_TYPE, "application/xml")
                .body(Body::from(xml.clone()))
                .unwrap(),
        )
        .await;

        // Filed: the watcher reads it from face/; the receipt computer asks by 照会番号.
        let (filed_state, filed_upstream) = in_process_state();
        let dir = tempfile::tempdir().unwrap();
        let watcher = Watcher::start(
            WatchOptions::for_face_dir(dir.path().join("face")),
            filed_state.service.clone(),
            filed_state.metrics.clone(),
            None,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("face/OQSsiquc01res_face_000000000001.xml"),
            &xml,
        )
        .unwrap();
        wait_processed(&filed_state, 1).await;
        watcher.shutdown().await;
        let filed = call(
            &filed_state,
            Request::get(format!("/v1/subsidy-checks?reference={}", reference_of(p)))
                .body(Body::empty())
                .unwrap(),
        )
        .await;

        assert_eq!(posted["status"], "confirmed", "block {block}: {posted}");
        assert_eq!(essence(&posted), essence(&filed), "block {block}");
        assert_eq!(posted["subsidies"].as_array().unwrap().len(), 3);
        assert!(posted["receipt_type"].is_string());
        // With the block neither door asks the upstream; without it, each asks once.
        let calls = u64::from(!block);
        assert_eq!(
            (posted_upstream.calls(), filed_upstream.calls()),
            (calls, calls),
            "block {block}"
        );
        let origin = if block { "onshi_result" } else { "upstream" };
        assert_eq!(
            (&posted["origin"]["kind"], &filed["origin"]["kind"]),
            (&Value::from(origin), &Value::from(origin))
        );
    }
}
