//! The pure core of pmh-gateway: what a subsidy is and what it costs, without I/O, a clock or
//! an async runtime. Everything here is a function of its arguments (the time included), so it
//! is tested without mocks and fuzzed without a harness.
//!
//! - `domain`: the types parsed once at the boundary (numbers with check digits, dates, money,
//!   certificates, the visit's setting);
//! - `masters`: the master tables, parsed from their texts, checked and indexed;
//! - `mapping`: certificates and a visit's setting to an ordered, validated answer;
//! - `charges`: the window-charge engine and its trace;
//! - `claims`: a month's receipts as sent for payment, and the checks made on them.
//!
//! See ARCHITECTURE.md at the repository's root for the crate graph and the invariants.

pub mod charges;
pub mod claims;
pub mod domain;
pub mod mapping;
pub mod masters;
