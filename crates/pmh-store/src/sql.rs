//! Statements that are the same SQL in both backends, written once. They number their
//! parameters `$1`, `$2` … in order of first use: PostgreSQL's positional parameters, and for
//! SQLite named parameters that take the same positions.

/// Keeps a kept item unless the one already there was decided later (a write of an older
/// answer that arrives late never replaces a newer one).
pub(crate) const PUT_KEPT: &str = "INSERT INTO kept (item, key, updated_ms, expires_ms, body)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (item, key) DO UPDATE SET updated_ms = excluded.updated_ms,
        expires_ms = excluded.expires_ms, body = excluded.body
     WHERE kept.updated_ms <= excluded.updated_ms";

/// Forgets a kept item unless it was kept after the decision to forget it.
pub(crate) const FORGET_KEPT: &str =
    "DELETE FROM kept WHERE item = $1 AND key = $2 AND updated_ms <= $3";

/// A kept item's sealed bytes, unless expired.
pub(crate) const KEPT: &str =
    "SELECT body FROM kept WHERE item = $1 AND key = $2 AND expires_ms > $3";

/// A live ledger entry by id (PostgreSQL adds `FOR UPDATE`).
pub(crate) const LIVE_ENTRY: &str =
    "SELECT card, month, source, entry_date, care, owner FROM ledger_entries
     WHERE id = $1 AND voids IS NULL";

/// The entry that voids an entry, if any.
pub(crate) const VOIDER: &str = "SELECT id FROM ledger_entries WHERE voids = $1";

/// An entry's void: a zero amount of the same card, month, day and care.
pub(crate) const INSERT_VOID: &str =
    "INSERT INTO ledger_entries (card, month, source, entry_date, amount, care, voids, client,
        at_ms, owner)
     VALUES ($1, $2, 'other', $3, 0, $4, $5, $6, $7, $8) RETURNING id";

/// A kept answer by check id, with its shared body, unless expired.
pub(crate) const KEPT_ANSWER: &str =
    "SELECT a.check_id, a.created_ms, a.expires_ms, a.patient, a.body, a.body_id,
                            b.body
                     FROM answers a LEFT JOIN answer_bodies b ON b.id = a.body_id
                     WHERE a.check_id = $1 AND a.expires_ms > $2";

/// The schema version the database is at.
pub(crate) const SCHEMA_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

/// A migration applied.
pub(crate) const RECORD_MIGRATION: &str =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

/// Whether another client has a visit with this id.
pub(crate) const VISIT_OF_ANOTHER: &str =
    "SELECT EXISTS (SELECT 1 FROM charges WHERE visit_id = $1 AND owner <> $2)";

/// The check value of the secret the store is written under.
pub(crate) const KEY_CHECK: &str = "SELECT key_check FROM store_key WHERE id = 1";

/// A committed version of a visit.
pub(crate) const INSERT_CHARGE: &str =
    "INSERT INTO charges (owner, visit_id, version, voided, fingerprint, month, answer,
                    client, at_ms)
                 VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8)";

/// A visit's latest version.
pub(crate) const LATEST_CHARGE: &str =
    "SELECT version, voided, month, answer, client, at_ms FROM charges
                     WHERE owner = $1 AND visit_id = $2 ORDER BY version DESC LIMIT 1";

/// The committed versions an earlier build kept in plain.
pub(crate) const LEGACY_CHARGES: &str =
    "SELECT owner, visit_id, version, fingerprint, answer FROM charges
                     WHERE fingerprint NOT LIKE 'k1:%' OR answer NOT LIKE 'sealed1:%'";

/// A legacy version rewritten keyed and sealed.
pub(crate) const RESEAL_CHARGE: &str = "UPDATE charges SET fingerprint = $1, answer = $2
                     WHERE owner = $3 AND visit_id = $4 AND version = $5";

/// A visit's void: a version marked voided.
pub(crate) const INSERT_CHARGE_VOID: &str =
    "INSERT INTO charges (owner, visit_id, version, voided, fingerprint, month, answer,
                    client, at_ms)
                 VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8)";

/// Sessions expired by idleness or age ($1: oldest last use alive, $2: oldest opening alive).
pub(crate) const END_EXPIRED_SESSIONS: &str =
    "DELETE FROM reception_sessions WHERE seen_ms <= $1 OR opened_ms <= $2";

/// A new session.
pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO reception_sessions (key, client, opened_ms, seen_ms) VALUES ($1, $2, $3, $3)";

/// A session that has not expired ($2, $3 as in [`END_EXPIRED_SESSIONS`]).
pub(crate) const LIVE_SESSION: &str = "SELECT client FROM reception_sessions
     WHERE key = $1 AND seen_ms > $2 AND opened_ms > $3";

/// A session's last use ($1, then the key: SQLite numbers `$n` by first appearance).
pub(crate) const TOUCH_SESSION: &str =
    "UPDATE reception_sessions SET seen_ms = $1 WHERE key = $2 AND seen_ms < $1";

/// A session ended.
pub(crate) const END_SESSION: &str = "DELETE FROM reception_sessions WHERE key = $1";

/// Board rows of days before $1 go.
pub(crate) const END_OLD_BOARD_ROWS: &str = "DELETE FROM board_rows WHERE day < $1";

/// A day's board rows after a sequence number, in order.
pub(crate) const BOARD_ROWS: &str =
    "SELECT seq, row FROM board_rows WHERE day = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// Whether a check-in file was processed.
pub(crate) const FILE_PROCESSED: &str = "SELECT 1 FROM checkin_files WHERE key = $1";

/// Who holds a lease, in which term.
pub(crate) const LEASE_HOLDER: &str = "SELECT holder, term FROM leases WHERE name = $1";

/// A lease given up by its holder.
pub(crate) const RELEASE_LEASE: &str =
    "UPDATE leases SET expires_ms = 0 WHERE name = $1 AND holder = $2";

/// A ledger entry: a committed visit's amount or another institution's.
pub(crate) const INSERT_ENTRY: &str =
    "INSERT INTO ledger_entries (card, month, source, visit_id, version, entry_date, amount,
        total_cost, care, institution, cap, client, at_ms, owner, entry_id, fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (owner, entry_id) WHERE entry_id IS NOT NULL DO NOTHING
     RETURNING id";

/// The owner's entry under its own id, with the fingerprint of the request that added it.
pub(crate) const KEYED_ENTRY: &str =
    "SELECT id, fingerprint FROM ledger_entries WHERE owner = $1 AND entry_id = $2";

/// A card's ledger rows in a month: other institutions' rows, and the rows of each visit's
/// latest version unless that version is a void. Without `ORDER BY`: with it and the card and
/// month bound, SQLite prepared the statement again whenever they changed (for every answer);
/// the few rows are sorted after reading.
pub(crate) const LEDGER_ROWS: &str =
    "SELECT l.id, l.source, l.visit_id, l.version, l.entry_date, l.amount,
        l.total_cost, l.care, l.institution, l.cap, l.client, l.at_ms
     FROM ledger_entries l
     WHERE l.card = $1 AND l.month = $2
       AND l.voids IS NULL
       AND NOT EXISTS (SELECT 1 FROM ledger_entries v WHERE v.voids = l.id)
       AND (l.source = 'other' OR (
            l.version = (SELECT MAX(c.version) FROM charges c
                         WHERE c.owner = l.owner AND c.visit_id = l.visit_id)
            AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.owner = l.owner
                            AND c.visit_id = l.visit_id AND c.version = l.version
                            AND c.voided = 1)))";

/// An answer's shared body, written by the first answer that holds it.
pub(crate) const INSERT_ANSWER_BODY: &str =
    "INSERT INTO answer_bodies (id, created_ms, body) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO NOTHING";

/// A kept answer (replacing one under the same check id).
pub(crate) const INSERT_ANSWER: &str =
    "INSERT INTO answers (check_id, created_ms, expires_ms, patient, body, body_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (check_id) DO UPDATE SET created_ms = excluded.created_ms,
        expires_ms = excluded.expires_ms, patient = excluded.patient,
        body = excluded.body, body_id = excluded.body_id";

/// What a purge statement's count adds to.
#[derive(Clone, Copy)]
pub(crate) enum Tally {
    Nothing,
    AuditRecords,
    Answers,
    LedgerRows,
    Kept,
    CheckinFiles,
    Reports,
}

impl Tally {
    pub(crate) fn add(self, to: &mut crate::Purged, n: u64) {
        let field = match self {
            Self::Nothing => return,
            Self::AuditRecords => &mut to.audit_records,
            Self::Answers => &mut to.answers,
            Self::LedgerRows => &mut to.ledger_rows,
            Self::Kept => &mut to.kept,
            Self::CheckinFiles => &mut to.checkin_files,
            Self::Reports => &mut to.receipt_reports,
        };
        *field += n;
    }
}

/// The purge, in order, in one transaction: each statement with its one parameter (a time in
/// milliseconds) and what its count adds to. Audit-aged rows go before `audit_before`, expired
/// ones at `now`; a void row goes with the row it voids; a shared body once no answer holds it
/// and it is older than `BODY_KEEP`.
pub(crate) fn purge(
    audit_before: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> [(&'static str, i64, Tally); 9] {
    let (before, at) = (audit_before.timestamp_millis(), now.timestamp_millis());
    let bodies = (now - crate::BODY_KEEP).timestamp_millis();
    [
        (
            "DELETE FROM audit_shown WHERE at_ms < $1",
            before,
            Tally::Nothing,
        ),
        (
            "DELETE FROM audit WHERE at_ms < $1",
            before,
            Tally::AuditRecords,
        ),
        (
            "DELETE FROM answers WHERE expires_ms <= $1",
            at,
            Tally::Answers,
        ),
        (
            "DELETE FROM answer_bodies WHERE created_ms < $1 AND NOT EXISTS
                (SELECT 1 FROM answers a WHERE a.body_id = answer_bodies.id)",
            bodies,
            Tally::Nothing,
        ),
        (
            "DELETE FROM ledger_entries WHERE at_ms < $1
                OR voids IN (SELECT id FROM ledger_entries WHERE at_ms < $1)",
            before,
            Tally::LedgerRows,
        ),
        (
            "DELETE FROM charges WHERE at_ms < $1",
            before,
            Tally::LedgerRows,
        ),
        ("DELETE FROM kept WHERE expires_ms <= $1", at, Tally::Kept),
        (
            "DELETE FROM checkin_files WHERE at_ms < $1",
            before,
            Tally::CheckinFiles,
        ),
        (
            "DELETE FROM receipt_reports WHERE expires_ms <= $1",
            at,
            Tally::Reports,
        ),
    ]
}

/// A receipt check's report (replacing one under the same key).
pub(crate) const PUT_REPORT: &str =
    "INSERT INTO receipt_reports (key, owner, created_ms, expires_ms, body)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, created_ms = excluded.created_ms,
        expires_ms = excluded.expires_ms, body = excluded.body";

/// A receipt check's report unless expired.
pub(crate) const REPORT: &str =
    "SELECT key, owner, created_ms, expires_ms, body FROM receipt_reports
     WHERE key = $1 AND (expires_ms IS NULL OR expires_ms > $2)";
