//! The audit as text: JSON Lines and CSV for export, and the time criteria people type.

use super::{AuditRecord, KeyedHash};
use crate::domain::date;

/// RFC 3339, or a day (its JST midnight).
pub fn parse_time(v: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v.trim()) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let day = date::parse_iso(v.trim()).ok()?;
    Some(date::end_of_jst_day(day) - chrono::Duration::days(1))
}

/// One JSON object a line.
pub fn to_jsonl(records: &[AuditRecord]) -> String {
    records
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|l| l + "\n")
        .collect()
}

/// CSV with a header row; the gateway's own values need no quoting but are quoted when they
/// could.
pub fn to_csv(records: &[AuditRecord]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "seq",
        "at",
        "client",
        "operation",
        "http_status",
        "status",
        "source",
        "subsidies",
        "check_id",
        "patient",
        "reference",
        "detail",
    ]);
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in records {
        let _ = w.write_record([
            opt(r.seq.map(|s| s.to_string())),
            r.at.to_rfc3339(),
            r.client.clone(),
            r.operation.as_str().to_owned(),
            opt(r.http_status.map(|s| s.to_string())),
            opt(r.status.clone()),
            opt(r.source.clone()),
            opt(r.subsidies.map(|s| s.to_string())),
            opt(r.check_id.clone()),
            opt(r.patient.as_ref().map(KeyedHash::to_string)),
            opt(r.reference.as_ref().map(KeyedHash::to_string)),
            opt(r.detail.clone()),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
