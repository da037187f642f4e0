//! The integration tests, in one binary: the API in-process (`api`), the charge and ledger routes
//! in-process (`charges`), the check-in watcher over
//! real files (`checkin`), the command line (`cli`), the gateway against the sandbox over real
//! sockets with mutual TLS (`e2e`), master reloads under load (`masters_reload`), the one path for
//! オン資 results (`one_path`), no personal data in logs or `Debug` (`privacy`), property tests
//! (`properties`), a restart mid-day (`restart`), two replicas on one PostgreSQL (`replicas`), the terminal as upstream and check-ins (`terminal`), the fuzz targets' corpora (`fuzz_corpora`), and the module layers
//! ARCHITECTURE.md states (`layers`), the deploy kit's configurations (`deploy`). Shared helpers are in `common`.

// Test helpers unwrap: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod access;
mod api;
mod charges;
mod checkin;
mod cli;
mod common;
mod deploy;
mod e2e;
mod examples;
mod fuzz_corpora;
mod layers;
mod listener;
mod masters_reload;
mod one_path;
mod privacy;
mod properties;
mod receipt_checks;
mod reception;
mod replicas;
mod restart;
mod store_trips;
mod terminal;
mod webdriver;
