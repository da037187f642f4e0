//! A circuit breaker for the upstream: after consecutive failures for `threshold` different
//! persons it opens for `cooldown`; then one trial call is let through (half-open); its success
//! closes the breaker, its failure opens it again.
//!
//! Only failures that say the upstream is unwell count (the service decides which: connection
//! and TLS failures, timeouts, 5xx), and a person counts once per run of failures: one caller
//! asking again and again about one person whose queries fail cannot open it for everyone.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::clock::Clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open => "open",
        }
    }
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

#[derive(Debug)]
enum Inner {
    /// `failed`: the persons (a hash of each) with a failure since the last success.
    Closed {
        failed: HashSet<u64>,
    },
    Open {
        until: DateTime<Utc>,
    },
    HalfOpen {
        trial_started: DateTime<Utc>,
    },
}

pub struct Breaker {
    inner: Mutex<Inner>,
    threshold: u32,
    cooldown: Duration,
    clock: Arc<dyn Clock>,
}

/// Permission to call the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    Call,
    /// Open: fail fast.
    Refused,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: std::time::Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Inner::Closed {
                failed: HashSet::new(),
            }),
            threshold: threshold.max(1),
            cooldown: Duration::from_std(cooldown).unwrap_or(Duration::seconds(10)),
            clock,
        }
    }

    pub fn permit(&self) -> Permit {
        let now = self.clock.now();
        let mut g = self.inner.lock().expect("breaker lock");
        match *g {
            Inner::Closed { .. } => Permit::Call,
            Inner::Open { until } if now >= until => {
                *g = Inner::HalfOpen { trial_started: now };
                Permit::Call
            }
            Inner::Open { .. } => Permit::Refused,
            // One trial at a time; a trial that never reported back is replaced after a cooldown.
            Inner::HalfOpen { trial_started } if now >= trial_started + self.cooldown => {
                *g = Inner::HalfOpen { trial_started: now };
                Permit::Call
            }
            Inner::HalfOpen { .. } => Permit::Refused,
        }
    }

    pub fn record_success(&self) {
        *self.inner.lock().expect("breaker lock") = Inner::Closed {
            failed: HashSet::new(),
        };
    }

    /// A failure that says the upstream is unwell, in a query about person `who` (a hash).
    pub fn record_failure(&self, who: u64) {
        let now = self.clock.now();
        let mut g = self.inner.lock().expect("breaker lock");
        if let Inner::Closed { failed } = &mut *g {
            failed.insert(who);
            if failed.len() < self.threshold as usize {
                return;
            }
        }
        *g = Inner::Open {
            until: now + self.cooldown,
        };
    }

    pub fn state(&self) -> BreakerState {
        let now = self.clock.now();
        match *self.inner.lock().expect("breaker lock") {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if now >= until => BreakerState::HalfOpen,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::clock::ManualClock;

    #[test]
    fn opens_after_threshold_and_half_opens_after_cooldown() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let b = Breaker::new(3, std::time::Duration::from_secs(10), clock.clone());
        for who in 0..2 {
            b.record_failure(who);
            assert_eq!(b.state(), BreakerState::Closed);
        }
        b.record_failure(2);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.permit(), Permit::Refused);
        clock.advance(Duration::seconds(10));
        assert_eq!(b.permit(), Permit::Call, "one trial");
        assert_eq!(b.permit(), Permit::Refused, "only one trial at a time");
        b.record_failure(0);
        assert_eq!(b.state(), BreakerState::Open);
        clock.advance(Duration::seconds(10));
        assert_eq!(b.permit(), Permit::Call);
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.permit(), Permit::Call);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let b = Breaker::new(2, std::time::Duration::from_secs(5), clock);
        b.record_failure(1);
        b.record_success();
        b.record_failure(2);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn one_person_failing_again_and_again_does_not_open_it() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let b = Breaker::new(3, std::time::Duration::from_secs(5), clock);
        for _ in 0..100 {
            b.record_failure(7);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_failure(8);
        b.record_failure(9);
        assert_eq!(b.state(), BreakerState::Open);
    }
}
