//! pmh-gateway: the clinic-side gateway for public-expense medical subsidies held in PMH.
//! See ARCHITECTURE.md for the map of modules and their invariants.

pub mod api;
pub mod app;
pub mod auth;
pub mod charges;
pub mod checkin;
pub mod config;
#[cfg(feature = "emulator")]
pub mod demo;
pub mod domain;
pub mod errors;
pub mod files;
#[cfg(feature = "emulator")]
pub mod fuzzing;
pub mod mapping;
pub mod masters;
pub mod metrics;
pub mod onshi;
pub mod pmh;
#[cfg(feature = "emulator")]
pub mod sandbox;
pub mod service;
pub mod store;
pub mod tls;
pub mod upstream;

pub use app::run;
