//! The module dependency graph of ARCHITECTURE.md is the code's: every `crate::` path in a
//! module's non-test code names a module the table allows, every module of `src/` is in the
//! table, and the table itself has no cycle (layers point one way).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- layers: begin -->";
const END: &str = "<!-- layers: end -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The table between the markers: `| `module` | `a`, `b` |` rows (`—` for none).
fn declared() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let start = text
        .find(BEGIN)
        .expect("ARCHITECTURE.md has the layers table")
        + BEGIN.len();
    let end = text.find(END).expect("the table ends");
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(|s| s.trim().trim_matches('`').to_owned())
            .filter(|s| !s.is_empty() && s != "—")
            .collect()
    };
    text[start..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').collect();
            let module = cells.first()?.trim();
            (cells.len() == 2 && module.starts_with('`'))
                .then(|| (module.trim_matches('`').to_owned(), names(cells[1])))
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for the crate roots).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.trim_end_matches(".rs").to_owned();
    (name != "lib" && name != "main").then_some(name)
}

/// The code of a file that is not test code: test-only files (`tests.rs`) are skipped, and a file
/// is cut at its `#[cfg(test)]` module.
fn production_code(file: &Path) -> Option<String> {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return None;
    }
    let text = std::fs::read_to_string(file).unwrap();
    let cut = text
        .find("#[cfg(test)]\nmod tests")
        .or_else(|| text.find("#[cfg(all(test"))
        .unwrap_or(text.len());
    Some(text[..cut].to_owned())
}

/// The top-level modules a piece of code names through `crate::` (plain paths and
/// `use crate::{a, b::c}` groups).
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find("};").unwrap_or(group.len())];
            // Top-level names of the group: at depth 0, after `{` or `,`.
            let mut depth = 0;
            let mut start = true;
            for (j, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 0 => {
                        start = false;
                        let name = ident(&body[j..]);
                        if !name.is_empty() && name != "self" {
                            out.insert(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn every_module_uses_only_what_the_architecture_allows() {
    let declared = declared();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut violations = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        found.insert(module.clone());
        let Some(allowed) = declared.get(&module) else {
            continue;
        };
        let Some(code) = production_code(f) else {
            continue;
        };
        for used in used_modules(&code) {
            if used != module && !allowed.contains(&used) {
                violations.push(format!(
                    "{}: `{module}` uses `{used}`, which ARCHITECTURE.md does not allow",
                    f.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    let table: BTreeSet<String> = declared.keys().cloned().collect();
    assert_eq!(
        found, table,
        "the modules of src/ and the rows of ARCHITECTURE.md's table"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_declared_layers_have_no_cycle() {
    let declared = declared();
    // Kahn's algorithm: repeatedly remove modules whose allowed dependencies are all removed.
    let mut left: BTreeMap<&String, &BTreeSet<String>> = declared.iter().collect();
    while !left.is_empty() {
        let free: Vec<&String> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| *m)
            .collect();
        assert!(
            !free.is_empty(),
            "a cycle among {:?}",
            left.keys().collect::<Vec<_>>()
        );
        for m in free {
            left.remove(m);
        }
    }
    for (m, deps) in &declared {
        for d in deps {
            assert!(
                declared.contains_key(d),
                "`{m}` may use `{d}`, which is no module"
            );
        }
    }
}

#[test]
fn the_reader_sees_grouped_and_nested_paths() {
    let code = "use crate::{domain::{A, B}, mapping, service::x};\nlet y = crate::api::z();";
    let got: Vec<String> = used_modules(code).into_iter().collect();
    assert_eq!(got, ["api", "domain", "mapping", "service"]);
}
