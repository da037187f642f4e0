#![allow(clippy::unwrap_used)] // test helpers
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::domain::{Care, Claim};
use crate::masters::MasterStore;
use crate::onshi::Charset;
use crate::sandbox::terminal::{Malformation, ResultSpec, reference_of, result_xml};
use crate::sandbox::{InMemoryUpstream, Population};
use crate::service::{ManualClock, ServiceConfig, Source, Status};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn setup() -> (Arc<SubsidyService>, Arc<InMemoryUpstream>, Population) {
    crate::tls::install_crypto_provider();
    let upstream = Arc::new(InMemoryUpstream::new(Population::generate(
        42,
        today(),
        100,
    )));
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap(),
    ));
    let svc = SubsidyService::new(
        upstream.clone(),
        Arc::new(MasterStore::embedded()),
        clock,
        ServiceConfig::default(),
        None,
        Arc::new(Metrics::new()),
    );
    (
        Arc::new(svc),
        upstream,
        Population::generate(42, today(), 100),
    )
}

fn file(p: &crate::sandbox::Persona, block: bool, charset: Charset) -> Vec<u8> {
    result_xml(&ResultSpec {
        persona: p,
        date: today(),
        institution: "1311111111",
        file_id: "F1",
        reference: Some(&reference_of(p)),
        charset,
        block: block.then_some(p.certificates.as_slice()),
    })
    .unwrap()
}

#[tokio::test]
async fn a_file_with_the_block_is_cached_without_a_query_and_indexed_by_reference() {
    let (svc, upstream, pop) = setup();
    let m = Metrics::new();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let arrived = Utc::now();
    let done = prefetch(
        &svc,
        &m,
        None,
        &file(p, true, Charset::ShiftJis),
        "f.xml",
        arrived,
    )
    .await
    .unwrap();
    assert_eq!(
        done,
        Prefetched {
            results: 1,
            with_block: 1,
            already_processed: false,
        }
    );
    assert_eq!(upstream.calls(), 0);
    let (checked, c) = svc
        .check_by_reference(&reference_of(p), Claim::Medical, Care::Outpatient)
        .await
        .unwrap();
    assert_eq!(
        (c.file_name.as_str(), c.status),
        ("f.xml", Status::Confirmed)
    );
    assert_eq!(c.service_date.date(), today());
    let out = checked.outcome;
    assert_eq!(out.source, Some(Source::Cache));
    assert_eq!(out.mapped.active.len(), 3);
    assert!(out.mapped.receipt_type.is_some());
    assert_eq!(upstream.calls(), 0);
}

#[tokio::test]
async fn a_file_without_the_block_queries_the_upstream() {
    let (svc, upstream, pop) = setup();
    let p = pop.find(&["showcase", "triple"]).unwrap();
    let done = prefetch(
        &svc,
        &Metrics::new(),
        None,
        &file(p, false, Charset::Utf8),
        "f.xml",
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(done.with_block, 0);
    assert_eq!(upstream.calls(), 1);
    // A second check-in refreshes (consent may have changed).
    prefetch(
        &svc,
        &Metrics::new(),
        None,
        &file(p, false, Charset::Utf8),
        "g.xml",
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(upstream.calls(), 2);
    assert_eq!(
        svc.check_by_reference(&reference_of(p), Claim::Medical, Care::Outpatient)
            .await
            .unwrap()
            .1
            .file_name,
        "g.xml"
    );
}

#[tokio::test]
async fn malformed_files_are_invalid_or_possibly_partial() {
    let (svc, _, pop) = setup();
    let good = file(&pop.personas[0], true, Charset::Utf8);
    for m in Malformation::ALL {
        let err = prefetch(
            &svc,
            &Metrics::new(),
            None,
            &m.apply(&good),
            "bad.xml",
            Utc::now(),
        )
        .await
        .unwrap_err();
        let partial = matches!(err, FileError::Partial(_));
        assert_eq!(
            partial,
            matches!(m, Malformation::Truncated | Malformation::Undecodable),
            "{m:?}: {err}"
        );
        // The reason names no personal value.
        let text = err.to_string();
        assert!(!text.contains(&pop.personas[0].insured.number), "{text}");
    }
}
