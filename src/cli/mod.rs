//! The command line's own work (the binary, not the library): adding a client, searching the
//! audit, making certificates for clinics without a PKI.

pub mod audit;
pub mod clients;
pub mod pki;
