//! The audit as text: JSON Lines and CSV for export, and the time criteria people type.

use super::{AuditQuery, AuditRecord, KeyedHash, Operation};
use pmh_core::domain::{InsuredIdentity, date};

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
/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first: `=HYPERLINK(…)` in a client name or a detail) is written after a `'`, which
/// spreadsheets show as text (OWASP's advice on CSV injection).
fn cell(value: String) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value
    }
}

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
        "card",
        "shown",
    ]);
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in records {
        let _ = w.write_record(
            [
                opt(r.seq.map(|s| s.to_string())),
                date::jst_rfc3339(r.at),
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
                opt(r.card.as_ref().map(KeyedHash::to_string)),
                r.shown
                    .iter()
                    .map(KeyedHash::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
            .map(cell),
        );
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// An audit search as people give it — strings, from a query string or the command line — read
/// into an [`AuditQuery`] the same way for both.
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    pub client: Option<String>,
    pub operation: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// A patient, by the whole insurance identity (its parts come together or not at all).
    pub patient: Option<PatientCriteria>,
    pub reference: Option<String>,
    pub limit: usize,
}

/// A patient's insurance identity as given to find their records (hashed, never kept).
#[derive(Debug, Clone, Default)]
pub struct PatientCriteria {
    pub insurer_number: String,
    pub symbol: Option<String>,
    pub number: String,
    pub branch: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
}

/// A criterion that cannot be read: its name (`from`, `operation`, `patient.birthdate` …) and
/// why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriteriaError {
    pub field: &'static str,
    pub reason: String,
}

impl Criteria {
    /// The query, with the patient and the 照会番号 hashed under `hasher`'s secret.
    pub fn to_query(&self, hasher: &super::Hasher) -> Result<AuditQuery, CriteriaError> {
        let bad = |field: &'static str, reason: String| CriteriaError { field, reason };
        let time = |field: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    parse_time(t).ok_or_else(|| bad(field, "must be RFC 3339 or YYYY-MM-DD".into()))
                })
                .transpose()
        };
        let operation = self
            .operation
            .as_deref()
            .map(|o| {
                Operation::parse(o.trim()).ok_or_else(|| {
                    bad(
                        "operation",
                        format!(
                            "is not an operation (one of {})",
                            Operation::ALL.map(Operation::as_str).join(", ")
                        ),
                    )
                })
            })
            .transpose()?;
        let patient = match &self.patient {
            None => None,
            Some(p) => {
                let bd = date::parse_iso(&p.birthdate)
                    .map_err(|e| bad("patient.birthdate", e.to_string()))?;
                let insured = InsuredIdentity::new(
                    &p.insurer_number,
                    p.symbol.as_deref(),
                    &p.number,
                    p.branch.as_deref(),
                    bd,
                )
                .map_err(|e| bad("patient", e.to_string()))?;
                Some(hasher.patient(&insured))
            }
        };
        Ok(AuditQuery {
            client: self.client.as_deref().map(|c| c.trim().to_owned()),
            operation,
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            patient,
            reference: self.reference.as_deref().map(|r| hasher.reference(r)),
            card: None,
            limit: self.limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operation;

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_written_as_text() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut rec = AuditRecord::new(at, "=HYPERLINK(\"http://evil\",\"x\")", Operation::Check);
        rec.detail = Some("+SUM(A1)".into());
        rec.status = Some("@cmd".into());
        rec.source = Some("-1+2".into());
        rec.check_id = Some("\tx".into());
        let csv = to_csv(&[rec]);
        let row = csv.lines().nth(1).unwrap();
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let cells: Vec<String> = r
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        for c in &cells {
            assert!(
                !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{c:?} in {row}"
            );
        }
        assert!(cells.contains(&"'=HYPERLINK(\"http://evil\",\"x\")".to_owned()));
        assert!(cells.contains(&"'+SUM(A1)".to_owned()));
        // Ordinary values are left as they are.
        assert!(cells.contains(&"check".to_owned()), "{cells:?}");
    }
}
