//! The command line's own work (the binary, not the library): adding a client, searching the
//! audit, making certificates for clinics without a PKI, quoting a visit from a file.

pub mod audit;
pub mod clients;
pub mod healthcheck;
#[cfg(feature = "pki")]
pub mod pki;
pub mod quote;
pub mod receipts;
