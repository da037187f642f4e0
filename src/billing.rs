//! Window charges as the gateway bills them. A request read into the core's terms (the API's
//! charge routes and the CLI's `quote` read it) is resolved here: its certificates — typed from
//! paper, or an earlier check's kept answer — against the masters, its subsidies counted against
//! the 管理票 ledger of this month, quoted by the core's engine, and committed to the store
//! (the answer sealed, the request's fingerprint keyed) or voided. It speaks no HTTP: its
//! errors say what went wrong, and the API says it in HTTP.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::charges::{
    self, ChargeError, Described, Insurance, Month, Named, PaidElsewhere, Quote, Visit,
};
use crate::domain::{Certificate, MedicalInstitutionCode, PayerNumber, ServiceDate, Validity, Yen};
use crate::mapping::{Flag, MappedSubsidy, VisitContext};
use crate::masters::MasterSnapshot;
use crate::store::{
    ChargeCommit, CommitOutcome, EntryAdded, EntryVoidOutcome, Hasher, KeyedHash, LedgerRow,
    LedgerSource, NewLedgerEntry, Store, StoreError, VoidOutcome, ledger_totals,
};

/// The running gateway's books: the store (kept answers, the ledger, committed charges), its
/// keyed hashes and seals, and the time by the service's clock. Without them (the CLI) a
/// request is quoted from the masters and typed certificates alone.
#[derive(Clone, Copy)]
pub struct Books<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a Hasher,
    pub now: DateTime<Utc>,
}

/// Where a request's certificates come from.
pub enum Certificates {
    /// The subsidies of an earlier check, by its check id (kept for the answer retention).
    Earlier(String),
    /// Typed from paper certificates.
    Typed(Vec<Named>),
}

/// A charge request in the core's terms.
pub struct ChargeRequest {
    pub insurance: Insurance,
    /// The visit to quote.
    pub visit: Visit,
    /// This month's earlier visits at this institution.
    pub earlier: Vec<Visit>,
    /// The engine's id of the visit to quote.
    pub visit_key: String,
    /// The receipt computer's id of the visit, when it gave one (a commit needs it).
    pub visit_id: Option<String>,
    pub correction: bool,
    /// The request as parsed, canonical (what makes the same commit recognised again).
    pub fingerprint: String,
    pub certificates: Certificates,
    /// Warnings about the request itself (code, Japanese, English), passed on to the answer.
    pub notices: Vec<(ChargeNotice, String, String)>,
}

/// A request resolved, ready for the engine.
pub struct Prepared {
    /// The snapshot the request was read with: the limits and the answer's version come from
    /// it too, so a reload in between cannot mix two.
    pub masters: Arc<MasterSnapshot>,
    pub month: Month,
    /// The engine's id of the visit to quote.
    pub visit_key: String,
    pub visit: Visit,
    pub described: Vec<Described>,
    /// Per subsidy: the certificate's ledger key, when its cap is shared and it has a recipient
    /// number.
    pub cards: Vec<Option<KeyedHash>>,
    /// Per subsidy: (own committed visits outside the request, other institutions) this month.
    pub ledger: Vec<Option<(u64, u64)>>,
    /// The month's rows in force that were read, per card: a commit is written only if they
    /// are still the ones in force.
    pub computed_on: Vec<(KeyedHash, Vec<i64>)>,
    pub visit_id: Option<String>,
    pub fingerprint: String,
    pub correction: bool,
    /// Warnings about the request itself (code, Japanese, English), for the answer.
    pub notices: Vec<(ChargeNotice, String, String)>,
}

/// Why a charge could not be worked out or written.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// `check_id` without the running gateway (the CLI).
    #[error("an earlier check is known only to the running gateway: give `subsidies` here")]
    EarlierCheckOffline,
    /// No kept answer under `check_id`.
    #[error(
        "no answer with this check id is kept (never given, or older than the answer retention)"
    )]
    NoKeptAnswer,
    /// The request, well-formed, cannot be computed.
    #[error(transparent)]
    Charge(#[from] ChargeError),
    /// The store failed (what the gateway was doing, and the store's words).
    #[error("{what}: {source}")]
    Store {
        what: &'static str,
        source: StoreError,
    },
    /// A committed answer could not be written or read back.
    #[error("{0}")]
    Answer(&'static str),
    /// The caller's `entry_id` names another 管理票 entry (a different request under it).
    #[error(
        "this entry_id was used for another entry; a retry sends the same body, a new entry a new id"
    )]
    EntryIdTaken,
}

fn store_failed(what: &'static str) -> impl Fn(StoreError) -> BillingError {
    move |source| BillingError::Store { what, source }
}

/// Resolves `req` with `masters`, the institution this gateway serves, and — when running —
/// the books (an earlier check's certificates, the ledger's month).
pub async fn prepare(
    masters: Arc<MasterSnapshot>,
    institution: Option<MedicalInstitutionCode>,
    books: Option<Books<'_>>,
    req: ChargeRequest,
) -> Result<Prepared, BillingError> {
    let this = req.visit;
    let mut ids: HashSet<String> = req.earlier.iter().map(|v| v.id.clone()).collect();
    ids.insert(req.visit_key.clone());
    let named = match req.certificates {
        Certificates::Typed(named) => named,
        Certificates::Earlier(check_id) => {
            let books = books.ok_or(BillingError::EarlierCheckOffline)?;
            let outcome = crate::answers::earlier(books.store, books.hasher, check_id, books.now)
                .await
                .map_err(store_failed("the kept answers could not be read"))?
                .and_then(|(_, outcome)| outcome)
                .ok_or(BillingError::NoKeptAnswer)?;
            outcome
                .mapped
                .active
                .iter()
                .map(|m| Named {
                    certificate: certificate_of(m),
                    own_payment: None,
                })
                .collect()
        }
    };
    let base = VisitContext {
        institution,
        ..VisitContext::on(ServiceDate::new(this.date))
    };
    let given = named.len();
    let (mut subsidies, described) =
        charges::resolve(&named, &masters, ServiceDate::new(this.date), &base)?;
    // The ledger: what was paid this month under each shared cap, here and elsewhere.
    let mut cards = Vec::new();
    let mut ledger = Vec::new();
    let mut computed_on = Vec::new();
    for (s, d) in subsidies.iter_mut().zip(&described) {
        let card = books.and_then(|b| {
            b.hasher.shared_card(
                d.shared_cap || d.counts_visits,
                &d.payer_number,
                d.recipient_number.as_deref(),
            )
        });
        let sums = match (&card, books) {
            (Some(c), Some(b)) => {
                let rows = b
                    .store
                    .ledger(c.clone(), this.date)
                    .await
                    .map_err(store_failed("the ledger could not be read"))?;
                computed_on.push((c.clone(), rows.iter().map(|r| r.id).collect()));
                // Committed visits that are in the request are computed, not counted twice.
                let outside: Vec<&LedgerRow> = rows
                    .iter()
                    .filter(|r| r.visit_id.as_ref().is_none_or(|v| !ids.contains(v)))
                    .collect();
                let (own, others) = ledger_totals(outside.iter().copied());
                s.paid_elsewhere = outside
                    .iter()
                    .map(|r| PaidElsewhere {
                        date: r.date,
                        amount: r.amount,
                        own: r.source == LedgerSource::Own,
                    })
                    .collect();
                Some((own, others))
            }
            _ => None,
        };
        cards.push(card);
        ledger.push(sums);
    }
    let mut visits = req.earlier;
    visits.push(this);
    charges::to_receipt_order(&mut visits, &described, given)?;
    let this = visits.last().cloned().expect("the quoted visit was pushed");
    let month = Month::new(req.insurance, subsidies, visits)?;
    Ok(Prepared {
        masters,
        month,
        visit_key: req.visit_key,
        visit: this,
        described,
        cards,
        ledger,
        computed_on,
        visit_id: req.visit_id,
        fingerprint: req.fingerprint,
        correction: req.correction,
        notices: req.notices,
    })
}

/// The quoted visit's charge, by the core's engine, with the limits of the request's masters.
pub fn quote(p: &Prepared) -> Result<Quote, ChargeError> {
    charges::quote(&p.month, &p.visit_key, &p.masters)
}

/// What a commit did.
pub enum Committed {
    /// A new version.
    New { version: u32 },
    /// The same request was committed before: its answer, as it was written then.
    Repeated { version: u32, answer: String },
    /// The visit id is committed with a different request (and this is no correction).
    Conflict { version: u32 },
    /// The month's ledger changed since the charge was computed (another window or replica
    /// committed against the same cap): nothing written; prepare and quote again.
    Stale,
}

/// Commits `p`'s visit for `owner` (the client whose visit ids these are), by `client`: the
/// answer `answer_json` sealed, the request's fingerprint keyed, and the visit's amounts under
/// each shared monthly cap written to the ledger, in one transaction.
pub async fn commit(
    books: Books<'_>,
    p: &Prepared,
    q: &Quote,
    owner: &str,
    client: &str,
    answer_json: &str,
) -> Result<Committed, BillingError> {
    let visit_id = p.visit_id.clone().unwrap_or_default();
    // Kept sealed: the answer names programmes and amounts of a patient's certificates.
    let sealed = books.hasher.seal_charge(owner, &visit_id, answer_json);
    let entries = p
        .cards
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let card = c.clone()?;
            let covered: u64 = p
                .visit
                .parts
                .iter()
                .filter(|part| part.subsidies.contains(&i))
                .map(|part| part.cost.0)
                .sum();
            Some(NewLedgerEntry {
                owner: owner.to_owned(),
                card,
                date: p.visit.date,
                amount: q.shares[i],
                total_cost: Some(Yen(covered)),
                care: p.visit.setting.care(),
                institution: None,
                cap: p.described[i].monthly_cap,
                client: client.to_owned(),
                at: books.now,
                key: None,
            })
        })
        .collect();
    let outcome = books
        .store
        .commit_charge(ChargeCommit {
            owner: owner.to_owned(),
            visit_id: visit_id.clone(),
            // Keyed: a plain hash of the request could be searched for its recipient number.
            fingerprint: books.hasher.charge_request(&p.fingerprint),
            correction: p.correction,
            month: p.visit.date,
            answer: sealed,
            entries,
            client: client.to_owned(),
            at: books.now,
            computed_on: p.computed_on.clone(),
        })
        .await
        .map_err(store_failed("the charge could not be committed"))?;
    Ok(match outcome {
        CommitOutcome::Committed { version } => Committed::New { version },
        CommitOutcome::Repeated { version, answer } => Committed::Repeated {
            version,
            answer: books.hasher.open_charge(owner, &visit_id, &answer).ok_or(
                BillingError::Answer("the committed answer could not be read back"),
            )?,
        },
        CommitOutcome::Conflict { version } => Committed::Conflict { version },
        CommitOutcome::Stale => Committed::Stale,
    })
}

/// Voids `owner`'s committed visit `visit_id` (a new version written by `client`).
pub async fn void(
    books: Books<'_>,
    owner: &str,
    visit_id: &str,
    client: &str,
) -> Result<VoidOutcome, BillingError> {
    books
        .store
        .void_charge(
            owner.to_owned(),
            visit_id.to_owned(),
            client.to_owned(),
            books.now,
        )
        .await
        .map_err(store_failed("the charge could not be voided"))
}

/// The certificate behind a subsidy of an earlier answer.
fn certificate_of(m: &MappedSubsidy) -> Certificate {
    Certificate {
        certificate_type_id: m.certificate_type_id.clone(),
        certification_name: m.certification_name.clone(),
        payer_number_raw: m.payer_number.clone(),
        payer_number: PayerNumber::parse(&m.payer_number),
        recipient_number_raw: m.recipient_number.clone(),
        segment: m.segment.clone(),
        income_segment: m.income_segment.clone(),
        additional_conditions: m.additional_conditions.clone(),
        designated_institutions: m.designated_institutions.clone(),
        always_reimbursement: m.flags.contains(&Flag::ReimbursementOnly),
        not_disclosed: m.flags.contains(&Flag::NotDisclosed),
        max_copayment: m.copay.certificate,
        validity: Ok(m.validity.unwrap_or(Validity {
            from: None,
            to: None,
        })),
        details: Vec::new(),
        unreadable: Vec::new(),
    }
}

/// Adds an amount from the paper 管理票 (another institution's) and answers the certificate's
/// month after it, oldest row first.
pub async fn add_entry(
    books: Books<'_>,
    entry: NewLedgerEntry,
) -> Result<EntryAddedTo, BillingError> {
    let (card, date) = (entry.card.clone(), entry.date);
    let added = books
        .store
        .add_ledger_entry(entry)
        .await
        .map_err(store_failed("the ledger could not be written"))?;
    let (id, again) = match added {
        EntryAdded::Added(id) => (id, false),
        EntryAdded::Again(id) => (id, true),
        EntryAdded::Conflict => return Err(BillingError::EntryIdTaken),
    };
    Ok(EntryAddedTo {
        id,
        again,
        rows: month(books, card, date).await?,
    })
}

/// A 管理票 entry added (or found added before, the same request sent again) and the
/// certificate's month after it.
pub struct EntryAddedTo {
    /// The entry's row (`DELETE /v1/ledger-entries/{id}`).
    pub id: i64,
    /// The same entry was added before: nothing new was written.
    pub again: bool,
    pub rows: Vec<LedgerRow>,
}

/// What voiding a 管理票 entry did.
pub enum EntryVoided {
    /// Voided now or before: the certificate's month after it.
    Done {
        card: KeyedHash,
        month: NaiveDate,
        rows: Vec<LedgerRow>,
    },
    /// Another client's entry (answered as unknown; the audit says what was refused).
    NotOwner { card: Option<KeyedHash> },
    /// No such entry.
    Unknown,
    /// A committed visit's row: the visit is voided instead.
    OwnVisit { card: Option<KeyedHash> },
}

/// Voids entry `id` (a mistyped amount) with a row that names it; only `owner`'s entry, unless
/// `owner` is `None` (an `admin`).
pub async fn void_entry(
    books: Books<'_>,
    id: i64,
    owner: Option<String>,
    client: &str,
) -> Result<EntryVoided, BillingError> {
    let v = books
        .store
        .void_ledger_entry(id, owner, client.to_owned(), books.now)
        .await
        .map_err(store_failed("the ledger could not be written"))?;
    let card = v.of.as_ref().map(|o| o.card.clone());
    Ok(match (v.outcome, v.of) {
        (EntryVoidOutcome::NotOwner, _) => EntryVoided::NotOwner { card },
        (EntryVoidOutcome::Unknown, _) | (_, None) => EntryVoided::Unknown,
        (EntryVoidOutcome::OwnVisit, _) => EntryVoided::OwnVisit { card },
        (EntryVoidOutcome::Voided { .. } | EntryVoidOutcome::AlreadyVoided { .. }, Some(o)) => {
            let rows = month(books, o.card.clone(), o.date).await?;
            EntryVoided::Done {
                card: o.card,
                month: o.date,
                rows,
            }
        }
    })
}

/// The rows in force for a certificate (`card`) and the month of `date`, oldest first.
pub async fn month(
    books: Books<'_>,
    card: KeyedHash,
    date: NaiveDate,
) -> Result<Vec<LedgerRow>, BillingError> {
    books
        .store
        .ledger(card, date)
        .await
        .map_err(store_failed("the ledger could not be read"))
}

/// The charge routes' own notices (beside the mapping's warnings of each subsidy); their wire
/// words are `as_str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeNotice {
    /// The share given differs from the one the birthdate gives.
    ShareDiffersFromBirthdate,
    /// An age flag given differs from the birthdate.
    AgeDiffersFromBirthdate,
    /// The subsidies were typed in another order than their priority.
    SubsidyOrderDiffers,
    /// No 高額療養費 class was given.
    NoHighCostClass,
}

impl ChargeNotice {
    pub const ALL: &'static [Self] = &[
        Self::ShareDiffersFromBirthdate,
        Self::AgeDiffersFromBirthdate,
        Self::SubsidyOrderDiffers,
        Self::NoHighCostClass,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ShareDiffersFromBirthdate => "share_differs_from_birthdate",
            Self::AgeDiffersFromBirthdate => "age_differs_from_birthdate",
            Self::SubsidyOrderDiffers => "subsidy_order_differs",
            Self::NoHighCostClass => "no_high_cost_class",
        }
    }
}
