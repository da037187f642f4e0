//! Service dates and validity periods: calendar days in JST.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};

use super::date::jst_date;

/// 診療日 / 調剤日: the JST calendar day the care is given on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceDate(NaiveDate);

impl ServiceDate {
    pub fn new(d: NaiveDate) -> Self {
        Self(d)
    }
    pub fn date(self) -> NaiveDate {
        self.0
    }
    /// Today in JST at the given instant.
    pub fn today_at(now: DateTime<Utc>) -> Self {
        Self(jst_date(now))
    }
}

impl fmt::Display for ServiceDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl Serialize for ServiceDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ServiceDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        super::date::parse_iso(&s)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// A certificate's validity: both ends inclusive, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validity {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Where a service date falls relative to a validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityStatus {
    Valid,
    Expired,
    NotYetValid,
}

impl Validity {
    pub fn status_on(&self, day: ServiceDate) -> ValidityStatus {
        let d = day.date();
        if self.from.is_some_and(|f| d < f) {
            ValidityStatus::NotYetValid
        } else if self.to.is_some_and(|t| d > t) {
            ValidityStatus::Expired
        } else {
            ValidityStatus::Valid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::date::parse_iso;

    #[test]
    fn validity_is_inclusive_at_both_ends() {
        let d = |s| ServiceDate::new(parse_iso(s).unwrap());
        let v = Validity {
            from: Some(parse_iso("2026-04-01").unwrap()),
            to: Some(parse_iso("2027-03-31").unwrap()),
        };
        assert_eq!(v.status_on(d("2026-04-01")), ValidityStatus::Valid);
        assert_eq!(v.status_on(d("2027-03-31")), ValidityStatus::Valid);
        assert_eq!(v.status_on(d("2026-03-31")), ValidityStatus::NotYetValid);
        assert_eq!(v.status_on(d("2027-04-01")), ValidityStatus::Expired);
        let open = Validity {
            from: None,
            to: None,
        };
        assert_eq!(open.status_on(d("2000-01-01")), ValidityStatus::Valid);
    }
}
