//! Answers rendered once: the JSON of a cached answer is written once per mapping (its
//! [`basis`](crate::service::CheckOutcome::basis)) and kept, bounded by bytes; each check writes
//! only its own head (check id, status, source, dates, age) before the kept bytes, and its
//! check-in (answers by 照会番号) in between. The bytes are exactly what the full rendering
//! writes (a test compares them). A reload of the masters gives new bases, so nothing written
//! with the old tables is reused; kept bytes of old bases fall out of the bounded cache.

use std::sync::Arc;

use serde::Serialize;

use super::dto::{CheckInDto, SubsidyCheckResponse};
use super::labels::{source_label, status_label};
use crate::domain::ServiceDate;
use crate::domain::date::jst_rfc3339;
use crate::service::{CheckIn, CheckOutcome, Source};

/// The default bound of the kept JSON bytes: the answers of the memoised mappings
/// ([`MAPPED_CAPACITY`](crate::service::MAPPED_CAPACITY), a few kilobytes each); an answer of a basis whose mapping has left is
/// never asked for again. Beyond it an answer is written again; with 16 MB the caches held 32 of
/// the 177 MB measured for 100,000 cached persons (benches/allocs.rs).
pub const DEFAULT_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// The JSON after the head: from `,"subsidies":` to the closing brace, and where a check-in
/// goes (before `,"upstream_problem":`).
#[derive(Debug)]
struct Tail {
    bytes: Vec<u8>,
    check_in_at: usize,
}

/// The per-check fields, in the answer's order (the first fields of [`SubsidyCheckResponse`]).
#[derive(Serialize)]
struct Head<'a> {
    check_id: &'a str,
    status: &'static str,
    source: Option<&'static str>,
    service_date: ServiceDate,
    checked_at: String,
    obtained_at: Option<String>,
    age_seconds: Option<i64>,
}

const TAIL_START: &[u8] = b",\"subsidies\":";
const CHECK_IN_BEFORE: &[u8] = b",\"upstream_problem\":";

/// Rendered answers by basis, bounded by their bytes.
#[derive(Debug)]
pub struct JsonCache {
    json: moka::sync::Cache<u64, Arc<Tail>>,
}

impl JsonCache {
    /// `max_bytes` of JSON.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            json: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, t: &Arc<Tail>| u32::try_from(t.bytes.len()).unwrap_or(u32::MAX))
                .build(),
        }
    }

    /// The JSON answer, from kept bytes when this answer's mapping has been written before;
    /// `None` when it is not one to keep (no basis, or a degraded answer: those are written in
    /// full each time).
    pub fn json(
        &self,
        o: &CheckOutcome,
        check_in: Option<&CheckIn>,
    ) -> Option<Result<Vec<u8>, serde_json::Error>> {
        let basis = o.basis?;
        if o.degradation.is_some() || o.source == Some(Source::Stale) {
            return None;
        }
        let tail = match self.json.get(&basis) {
            Some(t) => t,
            None => match tail_of(o) {
                Ok(t) => {
                    let t = Arc::new(t);
                    self.json.insert(basis, t.clone());
                    t
                }
                Err(e) => return Some(Err(e)),
            },
        };
        Some(write(o, check_in, &tail))
    }
}

/// Writes the whole answer once and keeps what follows the head.
fn tail_of(o: &CheckOutcome) -> Result<Tail, serde_json::Error> {
    let full = serde_json::to_vec(&SubsidyCheckResponse::new(o))?;
    let start = find(&full, TAIL_START).ok_or_else(|| unexpected("subsidies"))?;
    let end = rfind(&full, CHECK_IN_BEFORE).ok_or_else(|| unexpected("upstream_problem"))?;
    Ok(Tail {
        check_in_at: end - start,
        bytes: full[start..].to_vec(),
    })
}

fn unexpected(key: &str) -> serde_json::Error {
    <serde_json::Error as serde::ser::Error>::custom(format!("the answer has no `{key}` key"))
}

fn write(
    o: &CheckOutcome,
    check_in: Option<&CheckIn>,
    tail: &Tail,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(tail.bytes.len() + 320);
    serde_json::to_writer(
        &mut out,
        &Head {
            check_id: &o.check_id,
            status: status_label(o.status),
            source: o.source.map(source_label),
            service_date: o.service_date,
            checked_at: jst_rfc3339(o.checked_at),
            obtained_at: o.obtained_at.map(jst_rfc3339),
            age_seconds: o.age_seconds(),
        },
    )?;
    out.pop(); // the head's closing brace: the tail closes the answer
    match check_in {
        None => out.extend_from_slice(&tail.bytes),
        Some(c) => {
            let (before, after) = tail.bytes.split_at(tail.check_in_at);
            out.extend_from_slice(before);
            out.extend_from_slice(b",\"check_in\":");
            serde_json::to_writer(&mut out, &CheckInDto::from(c))?;
            out.extend_from_slice(after);
        }
    }
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::domain::InsuredIdentity;
    use crate::service::{Origin, Status};

    /// A cached answer as the fast path sees it: with a basis, a source, an age, its origin.
    fn outcome(payer_bodies: &[&str], source: Source, origin: Origin) -> CheckOutcome {
        let mut o = crate::api::test_outcome(payer_bodies);
        if payer_bodies.is_empty() {
            o.status = Status::NoneFound;
        }
        o.source = Some(source);
        o.obtained_at = Some(o.checked_at - Duration::seconds(95));
        o.origin = Some(origin);
        o.masters_version = crate::masters::embedded().version();
        o.check_id = "1b4e28ba-2fa1-11d2-883f-0016d3cca427".into();
        o.basis = Some(7);
        o
    }

    fn check_in(file_name: &str) -> CheckIn {
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        CheckIn {
            insured: InsuredIdentity::new("06132013", Some("12"), "345", Some("01"), day).unwrap(),
            service_date: ServiceDate::new(day),
            insurance: None,
            file_name: file_name.into(),
            arrived_at: Utc.with_ymd_and_hms(2026, 11, 21, 0, 59, 0).unwrap(),
            cached_at: Utc.with_ymd_and_hms(2026, 11, 21, 0, 59, 1).unwrap(),
            status: Status::Confirmed,
            person: None,
        }
    }

    fn full(o: &CheckOutcome, c: Option<&CheckIn>) -> Vec<u8> {
        let mut body = SubsidyCheckResponse::new(o);
        body.check_in = c.map(Into::into);
        serde_json::to_vec(&body).unwrap()
    }

    #[test]
    fn kept_bytes_with_a_new_head_are_the_full_rendering_byte_for_byte() {
        // A file name that holds the keys the split looks for (escaped in the JSON).
        let tricky = r#"x,"upstream_problem":"subsidies",.xml"#;
        let cases = [
            outcome(
                &["2113601", "5413601", "8013601"],
                Source::Cache,
                Origin::Upstream,
            ),
            outcome(&[], Source::Upstream, Origin::Upstream),
            outcome(
                &["5213601"],
                Source::OnshiResult,
                Origin::OnshiResult {
                    file: Some(tricky.into()),
                },
            ),
        ];
        for first in cases {
            let cache = JsonCache::new(DEFAULT_MAX_BYTES);
            let written = cache.json(&first, None).unwrap().unwrap();
            assert_eq!(written, full(&first, None));
            // Later checks on the same basis: other ids, times, sources, a check-in.
            let mut later = first.clone();
            later.check_id = "another-check".into();
            later.checked_at += Duration::seconds(3600);
            later.source = Some(Source::Cache);
            for c in [
                None,
                Some(check_in("OQSsiquc01res_face.xml")),
                Some(check_in(tricky)),
            ] {
                let kept = cache.json(&later, c.as_ref()).unwrap().unwrap();
                assert_eq!(
                    String::from_utf8(kept).unwrap(),
                    String::from_utf8(full(&later, c.as_ref())).unwrap()
                );
            }
            cache.json.run_pending_tasks();
            assert_eq!(cache.json.entry_count(), 1, "one write per basis");
        }
    }

    #[test]
    fn answers_without_a_basis_or_degraded_are_written_in_full() {
        let cache = JsonCache::new(DEFAULT_MAX_BYTES);
        let mut o = outcome(&["2113601"], Source::Cache, Origin::Upstream);
        o.basis = None;
        assert!(cache.json(&o, None).is_none());
        o.basis = Some(1);
        o.source = Some(Source::Stale);
        assert!(cache.json(&o, None).is_none());
    }
}
