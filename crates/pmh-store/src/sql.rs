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
