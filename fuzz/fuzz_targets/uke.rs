//! Fuzz target `uke`: its body is `pmh_gateway::fuzzing::uke` (what it feeds and what it
//! asserts), shared with `cargo test`, which replays this target's committed corpus.
//! Run: `fuzz/run` (or `RUSTC_BOOTSTRAP=1 cargo fuzz run uke`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pmh_gateway::fuzzing::uke(data));
