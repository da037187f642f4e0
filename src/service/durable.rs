//! What the service keeps beyond its process: the last confirmed answer per person (the stale
//! stand-in) and the check-in index by 照会番号, with the answer the check-in prefetched. The
//! service writes them when they change and reads them when its memory misses (after a restart,
//! or when another replica wrote them); where they live is the wiring's business (`app` hands in
//! a [`Durable`] over the store), so the service stays free of storage.
//!
//! A failure to keep or read is logged and counted, never turned into an answer: the memory
//! still answers, and a failed read is "not known here".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fetched::Fetched;
use super::{CheckIn, Origin, Status};
use crate::domain::{Certificate, InsuredIdentity, ServiceDate};
use futures::future::BoxFuture;

/// What a kept item is looked up by. The backend derives its key (and may derive a sealing key)
/// from it; the value itself is not to be stored in plain.
#[derive(Clone, Copy)]
pub enum Lookup<'a> {
    /// The last confirmed answer of a person.
    StandIn(&'a InsuredIdentity),
    /// The latest check-in under a 照会番号.
    CheckIn(&'a str),
}

/// Why something could not be kept or read (the backend's words; no personal value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DurableError(pub String);

/// A kept item: the service's serialised form, and when it stops mattering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub expires_at: DateTime<Utc>,
    pub body: Vec<u8>,
}

/// Where the service's durable state lives.
pub trait Durable: Send + Sync + 'static {
    /// Keeps `saved` under `at` (replacing what was there), or forgets it (`None`); neither
    /// undoes a change decided after `decided`.
    fn put(
        &self,
        at: Lookup<'_>,
        saved: Option<Saved>,
        decided: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), DurableError>>;
    /// What is kept under `at`, unless it expired before `now`.
    fn get(
        &self,
        at: Lookup<'_>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, DurableError>>;
    /// Appends a row of the day's reception list (`body` serialised), written at `at`.
    fn add_row(
        &self,
        day: ServiceDate,
        body: Vec<u8>,
        at: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), DurableError>> {
        let _ = (day, body, at);
        Box::pin(async { Ok(()) })
    }
    /// The day's rows written after sequence number `after`, in order, with their numbers.
    fn rows(
        &self,
        day: ServiceDate,
        after: i64,
    ) -> BoxFuture<'_, Result<Vec<ListRow>, DurableError>> {
        let _ = (day, after);
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// A row of the reception list as read back: its sequence number and its serialised body.
pub type ListRow = (i64, Vec<u8>);

/// A row of the reception list as kept.
#[derive(Serialize, Deserialize)]
pub(super) struct KeptRow {
    reference: String,
    #[serde(default)]
    person: Option<crate::domain::PatientDetails>,
    service_date: chrono::NaiveDate,
    arrived_at: DateTime<Utc>,
    status: super::RowStatus,
    subsidies: Vec<String>,
    alerts: Vec<super::Alert>,
}

impl KeptRow {
    pub(super) fn of(r: &super::BoardRow) -> Self {
        Self {
            reference: r.reference.clone(),
            person: r.person.clone(),
            service_date: r.service_date.date(),
            arrived_at: r.arrived_at,
            status: r.status,
            subsidies: r.subsidies.clone(),
            alerts: r.alerts.clone(),
        }
    }

    pub(super) fn into_row(self) -> super::BoardRow {
        super::BoardRow {
            reference: self.reference,
            person: self.person,
            service_date: ServiceDate::new(self.service_date),
            arrived_at: self.arrived_at,
            status: self.status,
            subsidies: self.subsidies,
            alerts: self.alerts,
            seq: 0,
        }
    }
}

/// An answer as kept: what was fetched, and when.
#[derive(Serialize, Deserialize)]
pub(super) struct KeptFetched {
    certificates: Vec<Certificate>,
    obtained_at: DateTime<Utc>,
    fresh_until: DateTime<Utc>,
    origin: Origin,
}

impl KeptFetched {
    pub(super) fn of(f: &Fetched) -> Self {
        Self {
            certificates: f.certificates().to_vec(),
            obtained_at: f.obtained_at(),
            fresh_until: f.fresh_until(),
            origin: f.origin(),
        }
    }
    pub(super) fn into_fetched(self) -> Fetched {
        Fetched::new(
            &self.certificates,
            self.obtained_at,
            self.fresh_until,
            self.origin,
        )
    }
}

/// A check-in as kept, with the answer its prefetch put in the cache (when there was one).
#[derive(Serialize, Deserialize)]
pub(super) struct KeptCheckIn {
    insurer_number: String,
    symbol: Option<String>,
    number: String,
    branch: Option<String>,
    birthdate: chrono::NaiveDate,
    service_date: ServiceDate,
    insurance: Option<KeptInsurance>,
    file_name: String,
    arrived_at: DateTime<Utc>,
    cached_at: DateTime<Utc>,
    status: Status,
    answer: Option<KeptFetched>,
    #[serde(default)]
    person: Option<crate::domain::PatientDetails>,
}

/// The insurance context in the kept form (the domain type has no serialised form of its own).
#[derive(Serialize, Deserialize)]
struct KeptInsurance {
    kind: crate::domain::InsuranceKind,
    beneficiary: String,
}

impl KeptCheckIn {
    pub(super) fn of(c: &CheckIn, answer: Option<&Fetched>) -> Self {
        let i = &c.insured;
        Self {
            insurer_number: i.insurer_number().to_owned(),
            symbol: i.symbol().map(str::to_owned),
            number: i.number().to_owned(),
            branch: i.branch().map(str::to_owned),
            birthdate: i.birthdate(),
            service_date: c.service_date,
            insurance: c.insurance.map(|x| KeptInsurance {
                kind: x.kind,
                beneficiary: beneficiary_name(x.beneficiary).to_owned(),
            }),
            file_name: c.file_name.clone(),
            arrived_at: c.arrived_at,
            cached_at: c.cached_at,
            status: c.status,
            answer: answer.map(KeptFetched::of),
            person: c.person.clone(),
        }
    }

    /// The check-in and its answer; `None` when the kept form no longer reads (a kept item
    /// from another build that this one cannot use is "not known", never a wrong answer).
    pub(super) fn into_parts(self) -> Option<(CheckIn, Option<Fetched>)> {
        let insured = InsuredIdentity::new(
            &self.insurer_number,
            self.symbol.as_deref(),
            &self.number,
            self.branch.as_deref(),
            self.birthdate,
        )
        .ok()?;
        let insurance = match self.insurance {
            None => None,
            Some(k) => Some(crate::domain::InsuranceContext {
                kind: k.kind,
                beneficiary: beneficiary_named(&k.beneficiary)?,
            }),
        };
        Some((
            CheckIn {
                insured,
                service_date: self.service_date,
                insurance,
                file_name: self.file_name,
                arrived_at: self.arrived_at,
                cached_at: self.cached_at,
                status: self.status,
                person: self.person,
            },
            self.answer.map(KeptFetched::into_fetched),
        ))
    }
}

fn beneficiary_name(b: crate::domain::Beneficiary) -> &'static str {
    use crate::domain::Beneficiary::*;
    match b {
        Insured => "insured",
        Family => "family",
        Preschool => "preschool",
        ElderlyGeneral => "elderly_general",
        ElderlyHigh => "elderly_high",
    }
}

fn beneficiary_named(s: &str) -> Option<crate::domain::Beneficiary> {
    use crate::domain::Beneficiary::*;
    [Insured, Family, Preschool, ElderlyGeneral, ElderlyHigh]
        .into_iter()
        .find(|b| beneficiary_name(*b) == s)
}

/// Nothing kept: a service without durable state (tests, and tools that need none).
pub struct Forgetful;

impl Durable for Forgetful {
    fn put(
        &self,
        _: Lookup<'_>,
        _: Option<Saved>,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), DurableError>> {
        Box::pin(async { Ok(()) })
    }
    fn get(
        &self,
        _: Lookup<'_>,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Vec<u8>>, DurableError>> {
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_keeps_what_was_received_and_how_it_was_read() {
        let pmh = crate::pmh::WireSubsidy {
            medical_subsidy_insurer_number: "5413601".into(),
            medical_subsidy_recipient_number: Some("1234566".into()),
            valid_from: Some("2026-04-01".into()),
            unreadable: vec!["maxCopaymentAmount.outpatient.perMonth"],
            ..Default::default()
        };
        let c = pmh.to_certificate();
        let back: Certificate = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{c:?}"));
        assert_eq!(
            back.payer_number, c.payer_number,
            "a bad check digit stays bad"
        );
        assert_eq!(
            back.validity, c.validity,
            "an unreadable date stays unreadable"
        );
        assert_eq!(back.recipient_number_raw, c.recipient_number_raw);
        assert_eq!(back.unreadable, c.unreadable);
    }
}
