//! The formats pmh-gateway reads and writes at its edges, parsed into the core's types:
//!
//! - `pmh`: the PMH eligibility contract (PROVISIONAL: PMH's clinic-side format is not public),
//!   shared by the HTTP upstream, the オン資 result's PMH block and the sandbox;
//! - `onshi`: the オン資 terminal's XML request and result files (UTF-8 or Shift_JIS);
//! - `uke`: the month's claims as a receipt computer writes them (UKE, レセプト電算処理システム).
//!
//! Pure functions of bytes: no I/O, no clock. See ARCHITECTURE.md at the repository's root.

pub mod onshi;
pub mod pmh;
pub mod uke;
