//! Fuzz the master CSV loader: the first byte picks which of the six files the rest replaces (the
//! others stay the shipped ones, so references between files are exercised); any text gives a
//! snapshot or located row errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmh_gateway::masters::{FILES, MasterSnapshot, MasterSource};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut texts = MasterSnapshot::embedded_texts();
    texts[usize::from(pick) % FILES.len()] = String::from_utf8_lossy(rest).into_owned();
    if let Err(e) = MasterSnapshot::from_texts(&texts, &MasterSource::Embedded) {
        let _ = e.rows();
    }
});
