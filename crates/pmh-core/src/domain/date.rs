//! Dates as the domain uses them: calendar days in Japan Standard Time (UTC+9, no DST).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DateError {
    #[error("must be a date written {format}")]
    Format { format: &'static str },
    #[error("the year is outside the supported range 1900-2199")]
    OutOfRange(i32),
}

/// A date format's name as [`DateError::Format`] gives it, from its text (a kept certificate's
/// error read back); an unknown name is the compact form PMH uses.
pub fn format_named(name: &str) -> &'static str {
    match name {
        "YYYY-MM-DD" => "YYYY-MM-DD",
        _ => "YYYYMMDD",
    }
}

/// Japan Standard Time.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

/// The JST calendar day of an instant.
/// A time in JST, RFC 3339 with milliseconds (`2026-11-21T10:00:00.000+09:00`).
pub fn jst_rfc3339(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// Serde's `serialize_with` for an instant the API writes: RFC 3339 in JST (`+09:00`), the
/// one time-zone convention of every timestamp the gateway answers with.
pub fn serialize_jst<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&jst_rfc3339(*t))
}

/// [`serialize_jst`] for an optional instant.
pub fn serialize_jst_opt<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&jst_rfc3339(*t)),
        None => s.serialize_none(),
    }
}

pub fn jst_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&jst()).date_naive()
}

/// The first instant of the JST day after `day`: when "until the end of the service date" ends.
pub fn end_of_jst_day(day: NaiveDate) -> DateTime<Utc> {
    let next = day + Duration::days(1);
    jst()
        .from_local_datetime(&next.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("fixed offset is unambiguous")
        .with_timezone(&Utc)
}

fn in_range(d: NaiveDate) -> Result<NaiveDate, DateError> {
    if (1900..2200).contains(&d.year()) {
        Ok(d)
    } else {
        Err(DateError::OutOfRange(d.year()))
    }
}

/// The number ASCII digits write; `None` when any byte is not a digit.
fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// The day a year, month and day written in digits name; `None` when there is no such day.
/// Read by hand: chrono's `parse_from_str` interprets its format string on every call (a
/// measurable share of a cached check, which parses a birthdate or two).
fn ymd(y: &[u8], m: &[u8], d: &[u8]) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(digits(y)?).ok()?, digits(m)?, digits(d)?)
}

/// `YYYY-MM-DD` (the REST API's form).
pub fn parse_iso(s: &str) -> Result<NaiveDate, DateError> {
    let b = s.as_bytes();
    let d = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        ymd(&b[0..4], &b[5..7], &b[8..10])
    } else {
        None
    };
    in_range(d.ok_or(DateError::Format {
        format: "YYYY-MM-DD",
    })?)
}

/// `YYYYMMDD` (the オン資 XML and the provisional PMH contract).
pub fn parse_compact(s: &str) -> Result<NaiveDate, DateError> {
    let b = s.as_bytes();
    let d = if b.len() == 8 {
        ymd(&b[0..4], &b[4..6], &b[6..8])
    } else {
        None
    };
    in_range(d.ok_or(DateError::Format { format: "YYYYMMDD" })?)
}

pub fn format_compact(d: NaiveDate) -> String {
    Yyyymmdd(d).to_string()
}

/// A date written `YYYYMMDD` where it is formatted (no `String` of its own), by hand: chrono's
/// `format` interprets its format string on every call. As chrono's `%Y%m%d` for the years 0 to
/// 9999, which hold every date the parsers above accept.
pub struct Yyyymmdd(pub NaiveDate);

impl std::fmt::Display for Yyyymmdd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(f, "{:04}{:02}{:02}", d.year(), d.month(), d.day())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_by_hand_as_chrono_reads_them() {
        assert!(parse_iso("2024-01- 5").is_err() && parse_iso("2024-01-05").is_ok());
        // Every day of two years around a leap day, each written both ways and with one byte
        // changed (a letter, a sign, a space, another separator, a digit more or less).
        let mut day = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let mut forms = vec![
            "2024-1-05".to_owned(),
            "+024-01-05".to_owned(),
            "2024-01- 5".to_owned(),
            "0000-01-01".to_owned(),
            "1899-12-31".to_owned(),
            "2200-01-01".to_owned(),
            "２０２４-01-05".to_owned(),
        ];
        while day.year() < 2025 {
            for f in [day.format("%Y-%m-%d").to_string(), format_compact(day)] {
                for (i, c) in [(9, 'x'), (0, '+'), (5, ' '), (4, '/'), (7, '1')] {
                    if i < f.len() {
                        let mut g = f.clone();
                        g.replace_range(i..=i, &c.to_string());
                        forms.push(g);
                    }
                }
                forms.push(format!("{f}0"));
                forms.push(f[1..].to_owned());
                forms.push(f);
            }
            day = day.succ_opt().unwrap();
        }
        for f in &forms {
            // chrono also reads a space for a leading zero ("2024-01- 5"): not YYYY-MM-DD.
            let written = f.len() == 10
                && f.bytes().enumerate().all(|(i, b)| match i {
                    4 | 7 => b == b'-',
                    _ => b.is_ascii_digit(),
                });
            let iso = NaiveDate::parse_from_str(f, "%Y-%m-%d")
                .ok()
                .filter(|_| written)
                .and_then(|d| in_range(d).ok());
            assert_eq!(parse_iso(f).ok(), iso, "{f:?} as YYYY-MM-DD");
            let compact = NaiveDate::parse_from_str(f, "%Y%m%d")
                .ok()
                .filter(|_| f.len() == 8 && f.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| in_range(d).ok());
            assert_eq!(parse_compact(f).ok(), compact, "{f:?} as YYYYMMDD");
        }
    }

    #[test]
    fn yyyymmdd_is_chronos_compact_form() {
        for (y, m, d) in [
            (1, 1, 1),
            (999, 12, 31),
            (1900, 1, 1),
            (2024, 2, 29),
            (2199, 12, 31),
        ] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(format_compact(day), day.format("%Y%m%d").to_string());
        }
    }

    #[test]
    fn jst_day_boundaries() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 14, 59, 59).unwrap();
        assert_eq!(jst_date(at), NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap();
        assert_eq!(jst_date(at), NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        assert_eq!(
            end_of_jst_day(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()),
            Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap()
        );
    }

    #[test]
    fn parsing_dates() {
        assert!(parse_iso("2026-11-21").is_ok());
        assert!(parse_iso("2026-02-30").is_err());
        assert!(parse_iso("2026-1-2").is_err());
        assert_eq!(parse_iso("1800-01-01"), Err(DateError::OutOfRange(1800)));
        assert_eq!(
            parse_compact("20261121"),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap())
        );
        assert!(parse_compact("2026-11-21").is_err());
    }
}
