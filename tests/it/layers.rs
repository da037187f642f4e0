//! The architecture of ARCHITECTURE.md is the code's.
//!
//! Between crates the compiler keeps it: a crate can use only what its `Cargo.toml` names, and
//! the crate table must say exactly that. Inside each crate, the module table must hold: every
//! `crate::` path and every `super::` path that climbs to the crate's root, in every line that is
//! not a test module, names a module its row allows; every module of the crate is in the table;
//! no table has a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// The crates of the workspace: (package name, folder), the gateway's own first.
fn crates() -> Vec<(String, PathBuf)> {
    let mut out = vec![("pmh-gateway".to_owned(), root())];
    let mut members: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    members.sort();
    for dir in members {
        out.push((package_name(&dir), dir));
    }
    out
}

fn manifest(dir: &Path) -> toml::Table {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

fn package_name(dir: &Path) -> String {
    manifest(dir)["package"]["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The table between `<!-- {marker}: begin -->` and its end: `| `name` | `a`, `b` |` rows (`—`
/// for none).
fn table(marker: &str) -> BTreeMap<String, BTreeSet<String>> {
    let text = architecture();
    let begin = format!("<!-- {marker}: begin -->");
    let end = format!("<!-- {marker}: end -->");
    let start = text
        .find(&begin)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has the table {begin}"))
        + begin.len();
    let stop = start + text[start..].find(&end).expect("the table ends");
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(|s| s.trim().trim_matches('`').to_owned())
            .filter(|s| !s.is_empty() && s != "—")
            .collect()
    };
    text[start..stop]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').collect();
            let name = cells.first()?.trim();
            (cells.len() == 2 && name.starts_with('`'))
                .then(|| (name.trim_matches('`').to_owned(), names(cells[1])))
        })
        .collect()
}

fn assert_no_cycle(what: &str, declared: &BTreeMap<String, BTreeSet<String>>) {
    // Kahn's algorithm: repeatedly remove the names whose allowed dependencies are all removed.
    let mut left: BTreeMap<&String, &BTreeSet<String>> = declared.iter().collect();
    while !left.is_empty() {
        let free: Vec<&String> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| *m)
            .collect();
        assert!(
            !free.is_empty(),
            "{what}: a cycle among {:?}",
            left.keys().collect::<Vec<_>>()
        );
        for m in free {
            left.remove(m);
        }
    }
    for (m, deps) in declared {
        for d in deps {
            assert!(
                declared.contains_key(d),
                "{what}: `{m}` may use `{d}`, which is not in the table"
            );
        }
    }
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

/// The module path of a file of `src/` (`api/reception/html.rs` → `[api, reception, html]`,
/// `api/mod.rs` → `[api]`; the crate roots → `[]`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().unwrap().to_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    let top_root = parts.is_empty() && (stem == "lib" || stem == "main");
    if stem != "mod" && !top_root {
        parts.push(stem.to_owned());
    }
    parts
}

/// `text` with string and character literals and comments blanked (same length, newlines
/// kept), so that braces and paths are found in code only.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                let mut j = i;
                while j < b.len() {
                    if b[j..].starts_with(b"/*") {
                        depth += 1;
                        j += 2;
                    } else if b[j..].starts_with(b"*/") {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i, j);
                i = j;
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let end = text[body..]
                    .find(&close)
                    .map_or(b.len(), |n| body + n + close.len());
                blank(&mut out, i, end);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(b.len());
                blank(&mut out, i, end);
                i = end;
            }
            // A character literal ('{', '\'', '\u{7b}'), not a lifetime ('a).
            b'\'' => {
                let end = if b.get(i + 1) == Some(&b'\\') {
                    text[i + 2..].find('\'').map(|n| i + 2 + n + 1)
                } else {
                    let c = text[i + 1..].chars().next();
                    c.and_then(|c| {
                        let after = i + 1 + c.len_utf8();
                        (b.get(after) == Some(&b'\'')).then_some(after + 1)
                    })
                };
                match end {
                    Some(end) => {
                        blank(&mut out, i, end);
                        i = end;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap()
}

/// The code of a file without its test modules: an item `mod NAME { … }` or `mod NAME;` at the
/// top level whose attributes include a `cfg` naming `test`. Returns the code and the names of
/// the test modules declared as files (they are skipped whole).
fn without_test_modules(code: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut test_files = Vec::new();
    let lines: Vec<&str> = code.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let is_test_cfg =
            line.starts_with("#[cfg(") && line.contains("test") && !line.contains("not(test");
        if is_test_cfg {
            // The attributes that follow, then the item.
            let mut j = i + 1;
            while j < lines.len() && lines[j].starts_with("#[") {
                j += 1;
            }
            let item = lines.get(j).copied().unwrap_or("");
            let item = item.strip_prefix("pub(crate) ").unwrap_or(item);
            if let Some(rest) = item.strip_prefix("mod ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if rest.trim_end().ends_with(';') {
                    test_files.push(name);
                    i = j + 1;
                    continue;
                }
                // Skip to the brace that closes the module.
                let mut depth = 0i32;
                let mut k = j;
                'lines: while k < lines.len() {
                    for c in lines[k].chars() {
                        match c {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break 'lines;
                                }
                            }
                            _ => {}
                        }
                    }
                    k += 1;
                }
                i = k + 1;
                continue;
            }
        }
        out.push_str(line);
        i += 1;
    }
    (out, test_files)
}

/// The identifier `s` starts with.
fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules a piece of code names: `crate::a`, `use crate::{a, b::c}` groups, and
/// `super::` paths that climb from `path` (the file's module path) to the crate's root.
fn used_modules(code: &str, path: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let is_path_start = |i: usize| {
        i == 0 || {
            let p = code.as_bytes()[i - 1];
            !(p.is_ascii_alphanumeric() || p == b'_' || p == b':')
        }
    };
    // (position after the root prefix) for every path that reaches the crate's root.
    let mut at_root = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if is_path_start(i) {
            at_root.push(i + "crate::".len());
        }
    }
    for (i, _) in code.match_indices("super::") {
        if !is_path_start(i) {
            continue;
        }
        let mut j = i;
        let mut ups = 0;
        while code[j..].starts_with("super::") {
            ups += 1;
            j += "super::".len();
        }
        if ups >= path.len() {
            at_root.push(j);
        }
    }
    for start in at_root {
        let rest = &code[start..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find("};").unwrap_or(group.len())];
            // Top-level names of the group: at depth 0, after `{` or `,`.
            let mut depth = 0;
            let mut first = true;
            for (j, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => first = true,
                    c if c.is_whitespace() => {}
                    _ if first && depth == 0 => {
                        first = false;
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

/// Violations of one crate's module table, and the modules found.
fn check_crate(
    name: &str,
    dir: &Path,
    declared: &BTreeMap<String, BTreeSet<String>>,
) -> (BTreeSet<String>, Vec<String>) {
    let src = dir.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // The crate's own top-level modules; other `crate::` names are re-exports of lower crates
    // (which the compiler checks) or items of the root.
    let mut modules = BTreeSet::new();
    for f in &files {
        if let Some(m) = module_path(&src, f).first() {
            modules.insert(m.clone());
        }
    }
    // Test-only files: declared by their parent as a test module.
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    let mut code_of = BTreeMap::new();
    for f in &files {
        let code = code_only(&std::fs::read_to_string(f).unwrap());
        let (code, test_mods) = without_test_modules(&code);
        let here = if f
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs" || n == "main.rs")
        {
            f.parent().unwrap().to_owned()
        } else {
            f.with_extension("")
        };
        for m in test_mods {
            test_only.insert(here.join(format!("{m}.rs")));
            test_only.insert(here.join(&m).join("mod.rs"));
        }
        code_of.insert(f.clone(), code);
    }
    let mut violations = Vec::new();
    for f in &files {
        if test_only
            .iter()
            .any(|t| f.starts_with(t.with_extension("")) || f == t)
        {
            continue;
        }
        let path = module_path(&src, f);
        let Some(module) = path.first() else {
            continue;
        };
        let Some(allowed) = declared.get(module) else {
            continue;
        };
        for used in used_modules(&code_of[f], &path) {
            if used != *module && modules.contains(&used) && !allowed.contains(&used) {
                violations.push(format!(
                    "{}: `{module}` uses `{used}`, which ARCHITECTURE.md does not allow in {name}",
                    f.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    (modules, violations)
}

#[test]
fn every_module_uses_only_what_the_architecture_allows() {
    let mut violations = Vec::new();
    for (name, dir) in crates() {
        let declared = table(&format!("layers {name}"));
        let (found, v) = check_crate(&name, &dir, &declared);
        violations.extend(v);
        let rows: BTreeSet<String> = declared.keys().cloned().collect();
        assert_eq!(
            found, rows,
            "the modules of {name} and the rows of its table in ARCHITECTURE.md"
        );
        assert_no_cycle(&name, &declared);
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_crate_table_is_the_workspace_s_manifests() {
    let declared = table("crates");
    let mut found = BTreeMap::new();
    for (name, dir) in crates() {
        let m = manifest(&dir);
        let deps: BTreeSet<String> = m
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|d| {
                d.keys()
                    .filter(|k| k.starts_with("pmh-"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        found.insert(name, deps);
    }
    assert_eq!(found, declared, "the crates and what each may use");
    assert_no_cycle("crates", &declared);
}

#[test]
fn the_reader_sees_grouped_nested_and_climbing_paths() {
    let code = "use crate::{domain::{A, B}, mapping, service::x};\nlet y = crate::api::z();\n\
                use super::super::store::S;\nuse super::sibling;";
    let path = ["api".to_owned(), "reception".to_owned()];
    let got: Vec<String> = used_modules(code, &path).into_iter().collect();
    assert_eq!(got, ["api", "domain", "mapping", "service", "store"]);
}

#[test]
fn only_test_modules_are_cut_and_strings_hide_nothing() {
    let text = "fn a() { let s = \"crate::x {\"; }\n\
                #[cfg(all(test, feature = \"emulator\"))]\n\
                pub(crate) fn helper() { crate::service::go() }\n\
                #[cfg(test)]\nmod tests {\n    fn t() { '{'; crate::sandbox::x(); }\n}\n\
                fn after() { crate::upstream::call() }\n\
                #[cfg(test)]\nmod more;\n";
    let (code, files) = without_test_modules(&code_only(text));
    let got: Vec<String> = used_modules(&code, &[]).into_iter().collect();
    assert_eq!(got, ["service", "upstream"], "{code}");
    assert_eq!(files, ["more"]);
}

/// The scan sees the whole of the PostgreSQL store past its first test-only helper (a
/// `#[cfg(test)]` function inside an `impl`, where the scan once stopped): a path to the SQLite
/// backend (which the store's table does not allow the PostgreSQL one) planted between that
/// helper and the file's test module is caught. (A path to the gateway's service would not
/// even compile there: the store is a crate below it.)
#[test]
fn an_import_deep_in_a_long_file_is_caught() {
    let file = root().join("crates/pmh-store/src/postgres/mod.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let helper = lines
        .iter()
        .position(|l| l.starts_with("    #[cfg(test"))
        .expect("the file has a test-only helper");
    let tests = lines
        .iter()
        .position(|l| l.starts_with("#[cfg(test"))
        .expect("the file has a test module");
    assert!(tests > helper + 100, "production code lies between them");
    let at = (helper + tests) / 2;
    let mut planted = lines[..at].join("\n");
    planted.push_str("\nfn planted() { crate::sqlite::SqliteStore::noop(); }\n");
    planted.push_str(&lines[at..].join("\n"));
    let (code, _) = without_test_modules(&code_only(&planted));
    assert!(
        used_modules(&code, &["postgres".to_owned()]).contains("sqlite"),
        "a line planted at line {at} is read"
    );
}

/// The pure crates name no crate that does I/O, reads the clock or runs tasks: their
/// dependencies are parsing and data crates only, and chrono comes without its `clock`
/// (CI also builds them alone, where feature unification cannot give it back).
#[test]
fn the_pure_crates_depend_on_no_io_clock_or_runtime() {
    let allowed = [
        "pmh-core",
        "serde",
        "thiserror",
        "chrono",
        "csv",
        "unicode-normalization",
        "quick-xml",
        "encoding_rs",
    ];
    let workspace = manifest(&root());
    let chrono = &workspace["workspace"]["dependencies"]["chrono"];
    assert!(
        chrono
            .get("default-features")
            .is_some_and(|d| d.as_bool() == Some(false))
            && !chrono["features"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f.as_str() == Some("clock")),
        "the workspace's chrono has no clock: {chrono}"
    );
    for name in ["pmh-core", "pmh-formats"] {
        let m = manifest(&root().join("crates").join(name));
        for (dep, spec) in m["dependencies"].as_table().unwrap() {
            assert!(
                allowed.contains(&dep.as_str()),
                "{name} depends on {dep}, which is not a pure parsing or data crate"
            );
            assert!(
                spec.get("features")
                    .and_then(|f| f.as_array())
                    .is_none_or(|f| f.iter().all(|f| f.as_str() != Some("clock"))),
                "{name} asks for {dep}'s clock"
            );
        }
    }
}

/// No cycle among the submodules of any module either (`api::checks` → `api::charges` →
/// `api::checks` was one): the sibling paths a submodule's non-test code names — `super::x` from
/// a direct child, `crate::m::x` — form a graph without cycles.
#[test]
fn no_submodules_use_each_other_in_a_circle() {
    for (name, dir) in crates() {
        let src = dir.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        // Each module's submodules, by the files of src/.
        let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &files {
            let path = module_path(&src, f);
            if path.len() >= 2 {
                children
                    .entry(path[0].clone())
                    .or_default()
                    .insert(path[1].clone());
            }
        }
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &files {
            let path = module_path(&src, f);
            if path.len() < 2 || f.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let (top, sub) = (&path[0], &path[1]);
            let siblings = &children[top];
            let (code, _) = without_test_modules(&code_only(&std::fs::read_to_string(f).unwrap()));
            let mut named = BTreeSet::new();
            if path.len() == 2 {
                for (i, _) in code.match_indices("super::") {
                    named.insert(ident(&code[i + "super::".len()..]));
                }
            }
            let prefix = format!("crate::{top}::");
            for (i, _) in code.match_indices(&prefix) {
                named.insert(ident(&code[i + prefix.len()..]));
            }
            let edges = graph.entry(format!("{top}::{sub}")).or_default();
            for n in named {
                if siblings.contains(&n) && n != *sub {
                    edges.insert(format!("{top}::{n}"));
                }
            }
        }
        for deps in graph.clone().values() {
            for d in deps {
                graph.entry(d.clone()).or_default();
            }
        }
        assert_no_cycle(&format!("{name}'s submodules"), &graph);
    }
}
