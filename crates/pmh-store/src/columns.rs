//! How values are written in the store's columns, the same in both backends: times as
//! milliseconds since the epoch, yen as integers, care and a ledger row's source as words.

use chrono::{DateTime, TimeZone, Utc};
use pmh_core::domain::{Care, Yen};

use crate::LedgerSource;

/// A day as its column holds it: `YYYY-MM-DD` (which sorts as the days do).
pub(crate) fn day_text(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn yen(y: Yen) -> i64 {
    i64::try_from(y.0).unwrap_or(i64::MAX)
}

pub(crate) fn yen_of(v: i64) -> Yen {
    Yen(v.max(0) as u64)
}

pub(crate) fn care_str(c: Care) -> &'static str {
    match c {
        Care::Inpatient => "inpatient",
        Care::Outpatient => "outpatient",
    }
}

pub(crate) fn care_of(s: &str) -> Care {
    if s == "inpatient" {
        Care::Inpatient
    } else {
        Care::Outpatient
    }
}

pub(crate) fn source_of(s: &str) -> LedgerSource {
    if s == LedgerSource::Own.as_str() {
        LedgerSource::Own
    } else {
        LedgerSource::Other
    }
}
