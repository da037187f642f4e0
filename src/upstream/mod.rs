//! The only code that talks to the outside world: the PMH query client (HTTPS with the
//! institution's client certificate, private CA pinned), or — for clinics that reach PMH only
//! through the オン資 terminal — the terminal's request and result files (`terminal`).
//!
//! Invariants: no other module makes outbound connections; errors carry no personal data (no
//! request bodies, no identities), so they can be logged and counted.

mod client;
#[cfg(feature = "emulator")]
mod memory;
mod terminal;

use futures::future::BoxFuture;

use chrono::NaiveDate;
use thiserror::Error;

pub use client::{
    ClientBuildError, MAX_ANSWER_BYTES, PmhClient, UpstreamTls, into_answer, parse_answer,
};
#[cfg(feature = "emulator")]
pub use memory::InMemoryUpstream;
pub use terminal::{OWN_PREFIX, TerminalUpstream, TerminalUpstreamOptions};

use crate::domain::{Certificate, InsuredIdentity};

/// What the gateway asks PMH.
#[derive(Debug, Clone)]
pub struct Query {
    pub insured: InsuredIdentity,
    /// `qualificationConfirmationDate`.
    pub date: NaiveDate,
    /// The check this query is for; sent as `arbitraryIdentifier`. Not personal.
    pub check_id: String,
}

/// What PMH answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub certificates: Vec<Certificate>,
    pub processed_at: Option<String>,
}

#[derive(Debug, Clone, Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UpstreamError {
    #[error("cannot connect to the upstream: {0}")]
    Connect(String),
    #[error("the upstream did not answer within {0} ms")]
    Timeout(u64),
    #[error("the upstream answered HTTP {0}")]
    Status(u16),
    #[error("the upstream answer is not a valid eligibility response: {0}")]
    Protocol(String),
    #[error("the upstream reported an error (code {code}): {message}")]
    Rejected { code: String, message: String },
    #[error("the upstream request failed: {0}")]
    Other(String),
}

impl UpstreamError {
    /// A description safe for logs: the upstream's own error message is left out, since an
    /// upstream might echo request data in it.
    pub fn log_safe(&self) -> String {
        match self {
            Self::Rejected { code, .. } => format!("the upstream reported error code {code}"),
            other => other.to_string(),
        }
    }

    /// Whether the error says the upstream itself is unwell (and so counts towards the circuit
    /// breaker): it cannot be reached (connection or TLS failure, or a transport error while
    /// answering), is too slow, or fails with a 5xx. A refusal, a 4xx, a redirect or an answer
    /// that does not parse concern one request, not the upstream's health.
    pub fn is_unwell(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Timeout(_) | Self::Other(_) => true,
            Self::Status(s) => *s >= 500,
            Self::Protocol(_) | Self::Rejected { .. } => false,
        }
    }

    /// A stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "connect",
            Self::Timeout(_) => "timeout",
            Self::Status(_) => "status",
            Self::Protocol(_) => "protocol",
            Self::Rejected { .. } => "rejected",
            Self::Other(_) => "other",
        }
    }
}

/// An eligibility source. The real one is [`PmhClient`]; tests may substitute their own.
pub trait Upstream: Send + Sync + 'static {
    /// Answers before `deadline` or fails with [`UpstreamError::Timeout`].
    fn query<'a>(
        &'a self,
        q: &'a Query,
        deadline: tokio::time::Instant,
    ) -> BoxFuture<'a, Result<Answer, UpstreamError>>;
}
