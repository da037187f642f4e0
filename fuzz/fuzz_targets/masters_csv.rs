//! Fuzz the master CSV loader: the first byte picks which of the six files the rest replaces; the
//! national programmes table (the root of the references between files) stays the shipped one,
//! and the other files are their headers only, so that each execution loads one fuzzed table
//! (with its row parsing, validation and references) quickly. Any text gives a snapshot or
//! located row errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmh_gateway::masters::{FILES, MasterSnapshot, MasterSource};

/// The `#` header lines and the column header of a master file: a table with no rows.
fn header_only(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if !line.starts_with('#') {
            break;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    static BASE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let shipped = MasterSnapshot::embedded_texts();
        shipped
            .iter()
            .enumerate()
            .map(|(i, t)| if i == 0 { t.clone() } else { header_only(t) })
            .collect()
    });
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut texts = base.clone();
    texts[usize::from(pick) % FILES.len()] = String::from_utf8_lossy(rest).into_owned();
    if let Err(e) = MasterSnapshot::from_texts(&texts, &MasterSource::Embedded) {
        let _ = e.rows();
    }
});
