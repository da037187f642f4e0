//! The sandbox's population as an in-process upstream: no sockets, the same data and contract
//! semantics as the sandbox PMH. For the demo, in-process API tests and benchmarks (feature
//! `emulator`).

use std::sync::atomic::{AtomicU64, Ordering};

use pmh_sandbox::{DEMO_INSTITUTION, Population};

use futures::future::BoxFuture;

use super::{Answer, Query, Upstream, UpstreamError, into_answer};
use crate::pmh::{self, EligibilityRequest, EligibilityResponse};

/// The sandbox population as an in-process upstream: no sockets, same data and contract
/// semantics. For in-process API tests and benchmarks.
pub struct InMemoryUpstream {
    pub population: Population,
    pub institution: String,
    calls: AtomicU64,
    failing: std::sync::atomic::AtomicBool,
}

impl InMemoryUpstream {
    pub fn new(population: Population) -> Self {
        Self {
            population,
            institution: DEMO_INSTITUTION.into(),
            calls: AtomicU64::new(0),
            failing: std::sync::atomic::AtomicBool::new(false),
        }
    }
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
    /// While set, every query fails as if the upstream refused connections.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Upstream for InMemoryUpstream {
    fn query<'a>(
        &'a self,
        q: &'a Query,
        _deadline: tokio::time::Instant,
    ) -> BoxFuture<'a, Result<Answer, UpstreamError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(UpstreamError::Connect(
                    "in-memory upstream set to fail".into(),
                ));
            }
            let req = EligibilityRequest::new(&self.institution, &q.insured, q.date, &q.check_id);
            let certs = self
                .population
                .lookup(&req)
                .map(|p| p.certificates.clone())
                .unwrap_or_default();
            into_answer(EligibilityResponse {
                processing_result_status: pmh::STATUS_OK.into(),
                processed_at: None,
                arbitrary_identifier: None,
                error_code: None,
                error_message: None,
                medical_subsidies: Some(certs),
            })
        })
    }
}
