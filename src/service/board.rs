//! Today's check-ins as the reception page shows them: one row per 照会番号, in arrival order,
//! with what the clerk acts on (the status, the subsidies' short names in 第1公費 order, the
//! warnings that need a person) and the person as the オン資 result names them, for the clerk to
//! match the person at the counter (`Debug` redacts it; no insurance or recipient number is
//! here). Rows are added when a check-in file is seen (取得中) and replaced when its prefetch
//! ends; every change is sent to the subscribers (the page's live feed).
//!
//! Every change is also written to the durable list (the store's, shared by the replicas), and
//! each process reads that list back into its board (`Service::sync_board`): the board shows
//! every replica's check-ins, and the day's list survives a restart.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::{CheckOutcome, Source, Status};
use crate::domain::{PatientDetails, ServiceDate};
use crate::mapping::{Flag, SubsidyStatus, WarningCode};

/// The most rows kept (a busy day of a large clinic); the oldest go first.
const MAX_ROWS: usize = 2000;

/// How far a live feed may fall behind before it misses rows (and reloads the list).
const FEED_BUFFER: usize = 256;

/// Where a check-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// The file was seen; its prefetch is running.
    Pending,
    /// PMH answered with subsidies in force on the day.
    Subsidies,
    /// PMH answered, but nothing is in force (or nothing was found): check the paper certificate.
    NoneFound,
    /// PMH answered with certificates, none in force: the newest has expired (期限切れ).
    Expired,
    /// PMH answered with certificates, none in force yet (有効期間前).
    NotYetValid,
    /// PMH could not be reached and nothing is cached: check the paper certificate.
    Unavailable,
}

/// What needs the clerk, beyond the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alert {
    /// A certificate has expired (期限切れ).
    Expired,
    /// This institution is not among a certificate's designated ones (指定医療機関外).
    NotDesignated,
    /// 償還払いのみ: the patient pays in full here.
    ReimbursementOnly,
    /// A programme that must be billed alone is combined with others (単独公費の併用).
    SingleOnlyCombined,
    /// The answer is an earlier one: PMH could not be reached.
    Stale,
    /// Other warnings in the answer, to read on the patient's page.
    Other,
}

/// One check-in as listed: the 照会番号 and the person as the result names them (for the
/// clerk to match the person at the counter; `Debug` redacts them), no insurance or recipient
/// number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    /// 照会番号.
    pub reference: String,
    /// Name, kana, sex and birthdate from the result file.
    pub person: Option<PatientDetails>,
    pub service_date: ServiceDate,
    /// When the result file was written.
    pub arrived_at: DateTime<Utc>,
    pub status: RowStatus,
    /// Short names of the subsidies in force, 第1公費 first.
    pub subsidies: Vec<String>,
    pub alerts: Vec<Alert>,
    /// Which change of the board this row is (rising): the feed's event id.
    pub seq: u64,
}

impl BoardRow {
    fn of(
        reference: &str,
        person: Option<PatientDetails>,
        arrived_at: DateTime<Utc>,
        out: &CheckOutcome,
    ) -> Self {
        let m = &out.mapped;
        let status = match out.status {
            Status::Unavailable => RowStatus::Unavailable,
            Status::NoneFound => RowStatus::NoneFound,
            // Certificates, none in force: say why (the newest one's status), not "no
            // information".
            Status::Confirmed if m.active.is_empty() => {
                let newest = m
                    .inactive
                    .iter()
                    .filter(|s| {
                        matches!(
                            s.status,
                            SubsidyStatus::Expired | SubsidyStatus::NotYetValid
                        )
                    })
                    .max_by_key(|s| s.validity.as_ref().and_then(|v| v.from));
                match newest.map(|s| s.status) {
                    Some(SubsidyStatus::NotYetValid) => RowStatus::NotYetValid,
                    Some(SubsidyStatus::Expired) => RowStatus::Expired,
                    _ => RowStatus::NoneFound,
                }
            }
            Status::Confirmed => RowStatus::Subsidies,
        };
        let subsidies = m
            .active
            .iter()
            .map(|s| {
                s.programme
                    .short_name
                    .clone()
                    .or_else(|| s.programme.name.clone())
                    .unwrap_or_else(|| format!("公費 {}", s.payer_number.get(..2).unwrap_or("?")))
            })
            .collect();
        let mut alerts = Vec::new();
        let mut alert = |a: Alert| {
            if !alerts.contains(&a) {
                alerts.push(a);
            }
        };
        if out.source == Some(Source::Stale) {
            alert(Alert::Stale);
        }
        if m.inactive
            .iter()
            .any(|s| s.status == SubsidyStatus::Expired)
        {
            alert(Alert::Expired);
        }
        for s in &m.active {
            if s.flags.contains(&Flag::DesignatedInstitutionMismatch) {
                alert(Alert::NotDesignated);
            }
            if s.flags.contains(&Flag::ReimbursementOnly) {
                alert(Alert::ReimbursementOnly);
            }
        }
        let warnings = m
            .warnings
            .iter()
            .chain(m.active.iter().flat_map(|s| &s.warnings));
        for w in warnings {
            match w.code {
                WarningCode::SingleOnlyCombined => alert(Alert::SingleOnlyCombined),
                WarningCode::DesignatedInstitutionMismatch => alert(Alert::NotDesignated),
                _ => alert(Alert::Other),
            }
        }
        Self {
            reference: reference.to_owned(),
            person,
            service_date: out.service_date,
            arrived_at,
            status,
            subsidies,
            alerts,
            seq: 0,
        }
    }
}

/// The rows and their subscribers.
pub struct Board {
    rows: Mutex<Rows>,
    feed: broadcast::Sender<Arc<BoardRow>>,
}

#[derive(Default)]
struct Rows {
    rows: VecDeque<Arc<BoardRow>>,
    seq: u64,
}

impl Default for Board {
    fn default() -> Self {
        Self {
            rows: Mutex::default(),
            feed: broadcast::channel(FEED_BUFFER).0,
        }
    }
}

impl Board {
    /// A check-in file was seen: its row says 取得中 until [`Board::done`]. Returns the row
    /// when the board changed.
    pub fn pending(
        &self,
        reference: &str,
        person: Option<PatientDetails>,
        service_date: ServiceDate,
        arrived_at: DateTime<Utc>,
    ) -> Option<Arc<BoardRow>> {
        self.put(BoardRow {
            reference: reference.to_owned(),
            person,
            service_date,
            arrived_at,
            status: RowStatus::Pending,
            subsidies: Vec::new(),
            alerts: Vec::new(),
            seq: 0,
        })
    }

    /// A check-in's prefetch ended with `out`. Returns the row when the board changed.
    pub fn done(
        &self,
        reference: &str,
        person: Option<PatientDetails>,
        arrived_at: DateTime<Utc>,
        out: &CheckOutcome,
    ) -> Option<Arc<BoardRow>> {
        self.put(BoardRow::of(reference, person, arrived_at, out))
    }

    /// A row read from the durable list (another replica's change, or one from before a
    /// restart): put when it changes the board.
    pub fn merge(&self, row: BoardRow) -> Option<Arc<BoardRow>> {
        self.put(row)
    }

    /// Puts `row` unless an older check-in would replace a newer one, or nothing changes;
    /// returns it when it was put (and sent to the subscribers).
    fn put(&self, mut row: BoardRow) -> Option<Arc<BoardRow>> {
        let row = {
            let mut g = self
                .rows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let at = g.rows.iter().position(|r| r.reference == row.reference);
            if let Some(i) = at {
                let old = &g.rows[i];
                // The same row again differs from it at most in its sequence number.
                row.seq = old.seq;
                // An older check-in of the same person handled after a newer one (files are
                // handled several at once) does not replace it; the same row again, or its
                // 取得中 read back after its outcome (from the durable list), changes nothing.
                if old.arrived_at > row.arrived_at
                    || **old == row
                    || (old.arrived_at == row.arrived_at
                        && row.status == RowStatus::Pending
                        && old.status != RowStatus::Pending)
                {
                    return None;
                }
            }
            g.seq += 1;
            row.seq = g.seq;
            let row = Arc::new(row);
            match at {
                Some(i) => g.rows[i] = row.clone(),
                None => {
                    if g.rows.len() == MAX_ROWS {
                        g.rows.pop_front();
                    }
                    g.rows.push_back(row.clone());
                }
            }
            row
        };
        // No subscriber is no error.
        let _ = self.feed.send(row.clone());
        Some(row)
    }

    /// The rows of check-ins for `day`, newest first.
    pub fn rows_for(&self, day: ServiceDate) -> Vec<Arc<BoardRow>> {
        let g = self
            .rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut rows: Vec<_> = g
            .rows
            .iter()
            .filter(|r| r.service_date == day)
            .cloned()
            .collect();
        rows.sort_by(|a, b| b.arrived_at.cmp(&a.arrived_at).then(b.seq.cmp(&a.seq)));
        rows
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BoardRow>> {
        self.feed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_row_goes_from_pending_to_its_outcome_and_names_what_needs_the_clerk() {
        let board = Board::default();
        let mut feed = board.subscribe();
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap();
        let out = crate::api::test_outcome(&["2113601", "5413601"]);
        board.pending("R1", None, out.service_date, t);
        assert_eq!(feed.try_recv().unwrap().status, RowStatus::Pending);
        board.done("R1", None, t, &out);
        let row = feed.try_recv().unwrap();
        assert_eq!(row.status, RowStatus::Subsidies);
        assert_eq!(row.subsidies, ["精神通院", "難病"]);
        let rows = board.rows_for(out.service_date);
        assert_eq!(rows.len(), 1, "one row per 照会番号");
        assert_eq!(rows[0].seq, 2);

        let mut stale = out.clone();
        stale.source = Some(Source::Stale);
        board.done("R2", None, t + chrono::Duration::minutes(1), &stale);
        let rows = board.rows_for(out.service_date);
        assert_eq!(rows[0].reference, "R2", "newest first");
        assert_eq!(rows[0].alerts.first(), Some(&Alert::Stale));

        // What needs the clerk: a certificate expired, another institution designated, 償還払い.
        let mut m = (*out.mapped).clone();
        let mut expired = m.active[1].clone();
        expired.status = SubsidyStatus::Expired;
        m.inactive.push(expired);
        m.active[0].flags.push(Flag::DesignatedInstitutionMismatch);
        m.active[1].flags.push(Flag::ReimbursementOnly);
        let mut flagged = out.clone();
        flagged.mapped = Arc::new(m);
        board.done("R4", None, t, &flagged);
        let row = board
            .rows_for(out.service_date)
            .into_iter()
            .find(|r| r.reference == "R4")
            .unwrap();
        for a in [
            Alert::Expired,
            Alert::NotDesignated,
            Alert::ReimbursementOnly,
        ] {
            assert!(row.alerts.contains(&a), "{a:?} in {:?}", row.alerts);
        }

        let mut none = out.clone();
        none.status = Status::NoneFound;
        board.done("R3", None, t, &none);
        let rows = board.rows_for(out.service_date);
        assert_eq!(
            rows[1].reference, "R3",
            "the same time: the later change first"
        );
        assert_eq!(rows[1].status, RowStatus::NoneFound);
        let other_day = ServiceDate::new(out.service_date.date().succ_opt().unwrap());
        assert!(board.rows_for(other_day).is_empty());

        // Certificates, none in force: the row says why (期限切れ / 有効期間前), not 情報なし.
        for (status, row_status) in [
            (SubsidyStatus::Expired, RowStatus::Expired),
            (SubsidyStatus::NotYetValid, RowStatus::NotYetValid),
        ] {
            let mut m = (*out.mapped).clone();
            let mut gone = m.active.remove(0);
            gone.status = status;
            m.active.clear();
            m.inactive = vec![gone];
            let mut inactive = out.clone();
            inactive.mapped = Arc::new(m);
            board.done("R5", None, t + chrono::Duration::minutes(5), &inactive);
            let row = board
                .rows_for(out.service_date)
                .into_iter()
                .find(|r| r.reference == "R5")
                .unwrap();
            assert_eq!(row.status, row_status);
        }
    }
}
