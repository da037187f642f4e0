//! Fuzz the master CSV loader: the first byte picks which of the master files (`FILES`, modulo their number) the rest
//! stands for; it is parsed and validated row by row, its references resolved against the shipped
//! tables (`MasterSnapshot::check_file`, the loader's per-file core). Any text gives `Ok` or
//! located row errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmh_gateway::masters::MasterSnapshot;

fuzz_target!(|data: &[u8]| {
    static SHIPPED: std::sync::OnceLock<MasterSnapshot> = std::sync::OnceLock::new();
    let shipped = SHIPPED.get_or_init(MasterSnapshot::embedded);
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if let Err(rows) = shipped.check_file(usize::from(pick), &text) {
        for r in rows {
            let _ = r.to_string();
        }
    }
});
