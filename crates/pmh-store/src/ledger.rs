//! The charges and the monthly cap ledger as stored: committed visits with their versions, and
//! the 自己負担上限額管理票 per certificate and month.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::KeyedHash;
use pmh_core::domain::{Care, Yen};

/// Where a ledger amount comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerSource {
    /// A visit committed at this institution.
    Own,
    /// An amount from the paper 管理票: another institution's.
    Other,
}

impl LedgerSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Other => "other",
        }
    }
}

/// A month (`YYYY-MM`), as the ledger keys it.
pub fn month_key(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// An amount to add to a certificate's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLedgerEntry {
    /// The client it belongs to: who entered it (a 管理票 amount), or the visit's owner.
    pub owner: String,
    pub card: KeyedHash,
    pub date: NaiveDate,
    /// The patient's share under the programme (the 管理票's 自己負担額).
    pub amount: Yen,
    /// 医療費総額 (10割), when known.
    pub total_cost: Option<Yen>,
    pub care: Care,
    /// The other institution's label (a name as the 管理票 shows it), for `Other` rows.
    pub institution: Option<String>,
    /// The monthly cap known when the row was written.
    pub cap: Option<Yen>,
    pub client: String,
    pub at: DateTime<Utc>,
    /// The client's own id for a 管理票 entry, with the request's fingerprint: the same entry
    /// sent again is added once.
    pub key: Option<EntryKey>,
}

/// A client's id for a 管理票 entry and the fingerprint of what it sent under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey {
    pub id: String,
    /// A keyed hash of the request (`Hasher::ledger_entry`).
    pub fingerprint: String,
}

/// What adding a 管理票 entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryAdded {
    /// Added now, as row `id`.
    Added(i64),
    /// The same entry was added before (the same owner, id and request): row `id`, nothing new.
    Again(i64),
    /// The owner's id is taken by another request.
    Conflict,
}

impl EntryAdded {
    /// When `e`'s id was taken: by the same request (its row) or by another one.
    pub(crate) fn of_earlier(e: &NewLedgerEntry, earlier: Option<(i64, Option<String>)>) -> Self {
        match (earlier, &e.key) {
            (Some((id, Some(fingerprint))), Some(k)) if fingerprint == k.fingerprint => {
                Self::Again(id)
            }
            _ => Self::Conflict,
        }
    }
}

/// A ledger row in force: another institution's amount, or the latest version of a committed
/// visit that is not voided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerRow {
    pub id: i64,
    pub source: LedgerSource,
    pub visit_id: Option<String>,
    pub version: Option<u32>,
    pub date: NaiveDate,
    pub amount: Yen,
    pub total_cost: Option<Yen>,
    pub care: Care,
    pub institution: Option<String>,
    pub cap: Option<Yen>,
    pub client: String,
    pub at: DateTime<Utc>,
}

/// The rows' amounts: (this institution's, other institutions').
pub fn ledger_totals<'a>(rows: impl IntoIterator<Item = &'a LedgerRow>) -> (u64, u64) {
    rows.into_iter()
        .fold((0, 0), |(own, others), r| match r.source {
            LedgerSource::Own => (own + r.amount.0, others),
            LedgerSource::Other => (own, others + r.amount.0),
        })
}

/// A visit to commit (a new version when `correction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeCommit {
    /// The client the visit belongs to: visits are keyed by owner and visit id (each receipt
    /// computer's ids are its own). The committing client, or another for an `admin`.
    pub owner: String,
    pub visit_id: String,
    /// Identifies the request as parsed (a keyed hash, `Hasher::charge_request`): the same
    /// commit again is answered from the first.
    pub fingerprint: String,
    /// Replace a committed visit whose request differs (else that is a conflict).
    pub correction: bool,
    pub month: NaiveDate,
    /// The answer to keep, sealed (`Hasher::seal_charge`).
    pub answer: String,
    /// The visit's rows for each certificate with a shared cap (`visit_id` and `version` are the
    /// commit's).
    pub entries: Vec<NewLedgerEntry>,
    pub client: String,
    pub at: DateTime<Utc>,
    /// The month's rows in force under each shared cap when the charge was computed (card,
    /// row ids): if any changed since (another window or replica committed against the same
    /// cap), nothing is written and the commit is `Stale` — computed again, it cannot spend
    /// one cap twice.
    pub computed_on: Vec<(KeyedHash, Vec<i64>)>,
}

impl ChargeCommit {
    /// Whether the rows in force now (per card of `computed_on`, in its order) are the ones
    /// the charge was computed on.
    pub(crate) fn still_computed_on(&self, now: &[Vec<LedgerRow>]) -> bool {
        self.computed_on.iter().zip(now).all(|((_, ids), rows)| {
            let mut now: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let mut then = ids.clone();
            now.sort_unstable();
            then.sort_unstable();
            now == then
        })
    }
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// A new version was written.
    Committed { version: u32 },
    /// The same request was committed before: its answer (sealed, as kept).
    Repeated { version: u32, answer: String },
    /// The visit id is committed with a different request, and no correction was asked for.
    Conflict { version: u32 },
    /// The month's ledger changed since the charge was computed: nothing written; compute it
    /// again.
    Stale,
}

/// The latest version of a committed visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRecord {
    pub owner: String,
    pub visit_id: String,
    pub version: u32,
    pub voided: bool,
    pub month: String,
    pub answer: String,
    pub client: String,
    pub at: DateTime<Utc>,
}

/// What voiding a ledger entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryVoidOutcome {
    /// Voided by the new row `by`.
    Voided {
        by: i64,
    },
    /// Void already (by that row; nothing written).
    AlreadyVoided {
        by: i64,
    },
    /// The row is a committed visit's: voided with its visit, not here.
    OwnVisit,
    /// Another client's entry, and the asker may not void it (answered as unknown: whether it
    /// exists is not told).
    NotOwner,
    Unknown,
}

/// Which certificate and day a ledger entry is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryOf {
    pub card: KeyedHash,
    pub date: NaiveDate,
}

/// What voiding a ledger entry did, and (when the entry exists) whose month it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryVoid {
    pub outcome: EntryVoidOutcome,
    pub of: Option<EntryOf>,
}

/// What a void did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidOutcome {
    /// The void is version `version`.
    Voided {
        version: u32,
    },
    /// Already void (nothing written).
    AlreadyVoided {
        version: u32,
    },
    /// The asker has no visit with this id, but another client has one (answered as unknown:
    /// whether it exists is not told).
    NotOwner,
    Unknown,
}

/// A committed version as an earlier build kept it (a plain SHA-256 of the request, a plain
/// answer), to be rewritten keyed and sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyCharge {
    pub owner: String,
    pub visit_id: String,
    pub version: u32,
    pub fingerprint: String,
    pub answer: String,
}

/// Rewrites a legacy row: its keyed fingerprint and its sealed answer.
pub type Reseal = std::sync::Arc<dyn Fn(&LegacyCharge) -> (String, String) + Send + Sync>;

/// Whether a row is kept as this build writes it (a keyed fingerprint and a sealed answer).
pub fn is_sealed_charge(fingerprint: &str, answer: &str) -> bool {
    fingerprint.starts_with(super::keyed::CHARGE_FINGERPRINT_PREFIX)
        && answer.starts_with(super::keyed::SEALED_CHARGE_PREFIX)
}

/// A live (not void) ledger entry, read for its void.
pub(crate) struct LiveEntry {
    pub card: String,
    pub month: String,
    pub source: String,
    pub date: String,
    pub care: String,
    pub owner: String,
}

/// What a void does with the entry it read, in both backends: answer at once, or void the
/// entry (unless a void of it exists) — then answer with `of`.
pub(crate) enum VoidPlan {
    Answer(EntryVoid),
    Void {
        entry: LiveEntry,
        of: Option<EntryOf>,
    },
}

impl VoidPlan {
    /// `row`: the live entry under the id, if any; `owner`: the asker, unless an admin acts
    /// for anyone.
    pub(crate) fn new(row: Option<LiveEntry>, owner: Option<&str>) -> Self {
        let answer = |outcome, of| Self::Answer(EntryVoid { outcome, of });
        let Some(entry) = row else {
            return answer(EntryVoidOutcome::Unknown, None);
        };
        if owner.is_some_and(|o| o != entry.owner) {
            return answer(EntryVoidOutcome::NotOwner, None);
        }
        let of = KeyedHash::parse(&entry.card)
            .zip(pmh_core::domain::date::parse_iso(&entry.date).ok())
            .map(|(card, date)| EntryOf { card, date });
        if entry.source == LedgerSource::Own.as_str() {
            return answer(EntryVoidOutcome::OwnVisit, of);
        }
        Self::Void { entry, of }
    }
}
