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

/// `YYYY-MM-DD` (the REST API's form).
pub fn parse_iso(s: &str) -> Result<NaiveDate, DateError> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| DateError::Format {
        format: "YYYY-MM-DD",
    })?;
    if s.len() != 10 {
        return Err(DateError::Format {
            format: "YYYY-MM-DD",
        });
    }
    in_range(d)
}

/// `YYYYMMDD` (the オン資 XML and the provisional PMH contract).
pub fn parse_compact(s: &str) -> Result<NaiveDate, DateError> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DateError::Format { format: "YYYYMMDD" });
    }
    let d = NaiveDate::parse_from_str(s, "%Y%m%d")
        .map_err(|_| DateError::Format { format: "YYYYMMDD" })?;
    in_range(d)
}

pub fn format_compact(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
