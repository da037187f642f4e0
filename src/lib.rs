//! pmh-gateway: the clinic-side gateway for public-expense medical subsidies held in PMH.
//! See ARCHITECTURE.md for the map of modules and their invariants.

pub mod answers;
pub mod api;
pub mod app;
pub mod auth;
pub mod billing;
pub mod checkin;
pub mod config;
#[cfg(feature = "emulator")]
pub mod demo;
pub mod errors;
#[cfg(feature = "emulator")]
pub mod fuzzing;
pub mod masters;
pub mod metrics;
pub mod receipts;
#[cfg(feature = "emulator")]
pub mod sandbox {
    //! The emulators (`crates/pmh-sandbox`), and the sandbox's population as an in-process
    //! upstream, under the paths the gateway's tests and the demo use.
    pub use crate::upstream::InMemoryUpstream;
    pub use pmh_sandbox::*;
}
pub mod service;
pub mod upstream;

pub use app::run;
/// The pure core (`crates/pmh-core`), under the paths the gateway has always used.
pub use pmh_core::{charges, claims, domain, mapping};
/// The file operations (`crates/pmh-files`), likewise.
pub use pmh_files as files;
/// The wire formats (`crates/pmh-formats`), likewise.
pub use pmh_formats::{onshi, pmh, uke};
/// The durable state (`crates/pmh-store`), likewise.
pub use pmh_store as store;
/// TLS (`crates/pmh-tls`), likewise.
pub use pmh_tls as tls;
