//! Fuzz the オン資 result parser: any bytes must give a value or an error, never a panic.
//! Run: `fuzz/run` (or `RUSTC_BOOTSTRAP=1 cargo fuzz run onshi_result`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pmh_gateway::onshi::OnshiResult::parse(data);
});
