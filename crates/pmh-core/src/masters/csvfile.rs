//! The common shape of a master file: `# key: value` header lines (at least `version` and
//! `effective`), other `#` comment lines, then a CSV table with a header row.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;

use super::{FileInfo, RowError};
use crate::domain::{Yen, date};

/// Parses `text`; returns the file info and each row with its 1-based line number, or records
/// errors and returns `None` when the file as a whole is unusable.
pub(super) fn parse<R: DeserializeOwned>(
    file: &str,
    text: &str,
    errors: &mut Vec<RowError>,
) -> Option<(FileInfo, Vec<(u64, R)>)> {
    let err = |line: u64, reason: String| RowError {
        file: file.to_owned(),
        line,
        reason,
    };
    let mut version = None;
    let mut effective = None;
    for (i, l) in text
        .lines()
        .enumerate()
        .take_while(|(_, l)| l.starts_with('#'))
    {
        let Some((k, v)) = l[1..].split_once(':') else {
            continue;
        };
        match k.trim() {
            "version" => version = Some(v.trim().to_owned()),
            "effective" => match date::parse_iso(v.trim()) {
                Ok(d) => effective = Some(d),
                Err(e) => errors.push(err(i as u64 + 1, format!("effective {e}"))),
            },
            _ => {}
        }
    }
    let (Some(version), Some(effective)) = (version, effective) else {
        errors.push(err(
            1,
            "header must declare `# version: …` and `# effective: YYYY-MM-DD`".into(),
        ));
        return None;
    };
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errors.push(err(1, format!("header row: {e}")));
            return None;
        }
    };
    let mut rows = Vec::new();
    let before = errors.len();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(err(line, e.to_string()));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        match rec.deserialize::<R>(Some(&headers)) {
            Ok(r) => rows.push((line, r)),
            Err(e) => {
                let reason = match e.kind() {
                    csv::ErrorKind::Deserialize { err: de, .. } => match de.field() {
                        Some(f) => format!(
                            "column `{}`: {}",
                            headers.get(f as usize).unwrap_or("?"),
                            de.kind()
                        ),
                        None => de.kind().to_string(),
                    },
                    _ => e.to_string(),
                };
                errors.push(err(line, reason));
            }
        }
    }
    if rows.is_empty() && errors.len() == before {
        errors.push(err(1, "the table has no rows".into()));
    }
    Some((
        FileInfo {
            file: file.to_owned(),
            version,
            effective,
            rows: rows.len(),
        },
        rows,
    ))
}

/// `YYYY-MM-DD` or empty.
/// A dated row's period: `valid_from` required, `valid_to` optional (inclusive), in order.
pub(super) fn period(from: &str, to: &str) -> Result<(NaiveDate, Option<NaiveDate>), String> {
    let from = opt_date(from)
        .map_err(|e| format!("valid_from {e}"))?
        .ok_or("valid_from is required")?;
    let to = opt_date(to).map_err(|e| format!("valid_to {e}"))?;
    if to.is_some_and(|t| t < from) {
        return Err("valid_to is before valid_from".to_owned());
    }
    Ok((from, to))
}

/// Whether two inclusive periods (an open end is `None`) share a day.
pub(super) fn overlap(
    a: (NaiveDate, Option<NaiveDate>),
    b: (NaiveDate, Option<NaiveDate>),
) -> bool {
    a.0 <= b.1.unwrap_or(NaiveDate::MAX) && b.0 <= a.1.unwrap_or(NaiveDate::MAX)
}

pub(super) fn opt_date(s: &str) -> Result<Option<NaiveDate>, String> {
    if s.is_empty() {
        Ok(None)
    } else {
        date::parse_iso(s).map(Some).map_err(|e| e.to_string())
    }
}

/// The most any cap or fixed amount in a master may say: a sanity bound that catches a shifted
/// column or a typo (no public-expense cap comes near it).
pub(super) const MAX_YEN: u64 = 1_000_000;

/// An amount in yen, or empty.
pub(super) fn opt_yen(s: &str) -> Result<Option<Yen>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u64>() {
        Ok(v) if v <= MAX_YEN => Ok(Some(Yen(v))),
        Ok(v) => Err(format!("{v} is over {MAX_YEN} yen")),
        Err(_) => Err(format!("`{s}` is not a whole number of yen")),
    }
}

/// A small whole number (a percentage, a count, an age) with an inclusive upper bound, or empty.
pub(super) fn opt_small(s: &str, max: u16) -> Result<Option<u16>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u16>() {
        Ok(v) if v <= max => Ok(Some(v)),
        Ok(v) => Err(format!("{v} is over {max}")),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}
