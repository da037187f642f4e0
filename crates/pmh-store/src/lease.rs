//! The lease of a job one replica at a time may do (the `face/` watcher), as this replica sees
//! it: the lease loop (`app::lease`) writes it, `/readyz` shows it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The lease's name in the store.
pub const WATCHER_LEASE: &str = "face-watcher";

/// How the watcher is elected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaseMode {
    /// No watcher is configured.
    #[default]
    None,
    /// SQLite: the process that owns the store's file is the only one; it always holds it.
    Local,
    /// PostgreSQL: replicas share the store and take the lease in turn.
    Shared,
}

/// What `/readyz` says about the lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaseReport {
    pub mode: LeaseMode,
    /// This replica, as the store names holders.
    pub replica: String,
    /// Whether this replica holds the lease (and runs the watcher).
    pub held: bool,
    /// Who holds it, as last seen (`None` before the store was first asked).
    pub holder: Option<String>,
    pub term: Option<i64>,
    /// Since when this replica holds it.
    #[serde(serialize_with = "pmh_core::domain::date::serialize_jst_opt")]
    pub held_since: Option<DateTime<Utc>>,
    /// When the store last answered the lease loop.
    #[serde(serialize_with = "pmh_core::domain::date::serialize_jst_opt")]
    pub checked_at: Option<DateTime<Utc>>,
    /// The lease's time to live.
    pub ttl_ms: u64,
    /// The last failure to ask the store (cleared by an answer).
    pub error: Option<String>,
}

/// The report, shared between the lease loop and the API.
#[derive(Debug, Default)]
pub struct LeaseBoard(Mutex<LeaseReport>);

impl LeaseBoard {
    pub fn new(report: LeaseReport) -> Self {
        Self(Mutex::new(report))
    }

    pub fn report(&self) -> LeaseReport {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn update(&self, f: impl FnOnce(&mut LeaseReport)) {
        if let Ok(mut r) = self.0.lock() {
            f(&mut r);
        }
    }
}
