//! The fuzz targets' committed corpora, replayed through the targets' own bodies
//! (`pmh_gateway::fuzzing`): every input returns (no panic, no broken assertion). With debug
//! assertions and overflow checks on, as in `fuzz/run`. And the targets of `fuzz/` are exactly
//! these: each `[[bin]]` of `fuzz/Cargo.toml` has a body here, calls it, has a corpus and is in
//! `fuzz/run`'s list, so no target is left out of the replay. And `fuzz/Cargo.lock` holds the
//! gateway's versions (CI checks the targets compile reusing what clippy checked).

use std::collections::BTreeSet;
use std::path::PathBuf;

use pmh_gateway::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn every_committed_input_passes_its_target() {
    for (name, body) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{name}: an empty corpus");
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{name}: {} panicked", input.display());
        }
    }
}

#[test]
fn the_targets_of_fuzz_are_the_shared_bodies() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let mut bins = BTreeSet::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(v) = line.strip_prefix("name = ") {
            bins.insert(v.trim_matches('"').to_owned());
        }
    }
    let bodies: BTreeSet<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        bins, bodies,
        "fuzz/Cargo.toml's targets and pmh_gateway::fuzzing::TARGETS"
    );

    let run = std::fs::read_to_string(fuzz_dir().join("run")).unwrap();
    let listed = run
        .lines()
        .find_map(|l| l.strip_prefix("TARGETS=("))
        .expect("fuzz/run lists its targets");
    let listed: BTreeSet<String> = listed
        .trim_end_matches(')')
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(listed, bodies, "fuzz/run's TARGETS");

    for name in &bodies {
        let file = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(&format!("pmh_gateway::fuzzing::{name}(data)")),
            "{} does not call its shared body",
            file.display()
        );
    }
}

/// `(name, version)` of every package of a Cargo.lock.
fn locked(path: &std::path::Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeSet::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            out.insert((n, v.trim_matches('"').to_owned()));
        }
    }
    out
}

#[test]
fn the_fuzz_lock_holds_the_gateways_versions() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let main = locked(&root.join("Cargo.lock"));
    let fuzz = locked(&fuzz_dir().join("Cargo.lock"));
    let names: BTreeSet<&String> = main.iter().map(|(n, _)| n).collect();
    let drifted: Vec<String> = fuzz
        .iter()
        .filter(|(n, _)| names.contains(n) && n != "pmh-gateway")
        .filter(|p| !main.contains(p))
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    assert!(
        drifted.is_empty(),
        "fuzz/Cargo.lock has versions Cargo.lock does not: {drifted:?} \
         (cp Cargo.lock fuzz/Cargo.lock && cargo check --manifest-path fuzz/Cargo.toml)"
    );
    assert!(fuzz.len() > 100, "fuzz/Cargo.lock is read");
}
