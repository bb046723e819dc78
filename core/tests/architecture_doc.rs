//! Keeps the module map of docs/ARCHITECTURE.md ("The module map of
//! `incwo-core`") equal to the code: every top-level module declared in
//! `core/src/lib.rs` has a row, every row is such a module, and each row's
//! submodules are exactly the ones its module declares (test modules aside).
//! A row marked `*(pending)*` names a planned module: allowed while it is not
//! in `lib.rs`, refused once it is (the mark must then go).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const SECTION: &str = "## The module map of `incwo-core`";
const PENDING: &str = "*(pending)*";

fn core_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The modules a Rust source declares with `mod x;` / `pub mod x;` /
/// `pub(crate) mod x;`, leaving out those under `#[cfg(test)]`.
fn declared_modules(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut test_only = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[cfg(test)]") {
            test_only = true;
            continue;
        }
        if line.starts_with("#[") || line.starts_with("//") || line.is_empty() {
            continue;
        }
        let rest = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "));
        if let Some(name) = rest.and_then(|r| r.strip_suffix(';')) {
            if !test_only {
                found.insert(name.trim().to_string());
            }
        }
        test_only = false;
    }
    found
}

/// The file that declares a top-level module's submodules.
fn module_root(name: &str) -> Option<PathBuf> {
    let src = core_dir().join("src");
    [src.join(format!("{name}.rs")), src.join(name).join("mod.rs")]
        .into_iter()
        .find(|p| p.is_file())
}

/// The backticked names of a cell, each taken up to its first space or `(`.
fn backticked(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_string())
        .collect()
}

/// One row of the module map.
struct Row {
    module: String,
    pending: bool,
    submodules: BTreeSet<String>,
}

/// The rows of the module map section; panics naming what is malformed.
fn rows(doc: &str) -> Vec<Row> {
    let start = doc
        .find(SECTION)
        .unwrap_or_else(|| panic!("docs/ARCHITECTURE.md has no section {SECTION:?}"));
    let body = &doc[start + SECTION.len()..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut rows = Vec::new();
    for line in body.lines().filter(|l| l.starts_with('|')).skip(2) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(
            cells.len(),
            3,
            "a module map row needs 3 cells (module, concern, submodules): {line}"
        );
        let names = backticked(cells[0]);
        assert_eq!(names.len(), 1, "the first cell names one module in backticks: {line}");
        // Submodules: the backticked names of the cell that are bare
        // identifiers, before any parenthesis ("`profile`, `v1` (mapper …)").
        let mut submodules = BTreeSet::new();
        for part in cells[2].split(',') {
            let head = part.split('(').next().unwrap_or("");
            for name in backticked(head) {
                if name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    submodules.insert(name);
                }
            }
        }
        rows.push(Row {
            module: names.into_iter().next().unwrap_or_default(),
            pending: cells[0].contains(PENDING),
            submodules,
        });
    }
    assert!(!rows.is_empty(), "the module map section has no table");
    rows
}

#[test]
fn the_module_map_names_every_module_of_lib_rs_and_nothing_else() {
    let declared = declared_modules(&read(&core_dir().join("src/lib.rs")));
    let doc = read(&core_dir().join("../docs/ARCHITECTURE.md"));
    let rows = rows(&doc);
    let mut problems = Vec::new();
    let documented: BTreeSet<String> = rows.iter().map(|r| r.module.clone()).collect();
    for module in declared.difference(&documented) {
        problems.push(format!(
            "module `{module}` (core/src/lib.rs) has no row in the module map"
        ));
    }
    for row in &rows {
        let in_lib = declared.contains(&row.module);
        match (row.pending, in_lib) {
            (false, false) => problems.push(format!(
                "row `{}` is not a module of core/src/lib.rs (remove it, or mark it {PENDING} if it is planned)",
                row.module
            )),
            (true, true) => problems.push(format!(
                "module `{}` is in core/src/lib.rs now: remove its {PENDING} mark and list its submodules",
                row.module
            )),
            _ => {}
        }
        if !in_lib {
            continue;
        }
        let Some(root) = module_root(&row.module) else {
            problems.push(format!(
                "module `{}` has neither core/src/{0}.rs nor core/src/{0}/mod.rs",
                row.module
            ));
            continue;
        };
        let actual = declared_modules(&read(&root));
        for sub in actual.difference(&row.submodules) {
            problems.push(format!(
                "submodule `{}::{sub}` is missing from the row of `{}`",
                row.module, row.module
            ));
        }
        for sub in row.submodules.difference(&actual) {
            problems.push(format!(
                "the row of `{}` names `{sub}`, which {} does not declare",
                row.module,
                Path::new("core")
                    .join(root.strip_prefix(core_dir()).unwrap_or(&root))
                    .display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/ARCHITECTURE.md's module map disagrees with the code:\n- {}",
        problems.join("\n- ")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    let source = "pub mod a;\nmod b;\npub(crate) mod c;\n#[cfg(test)]\nmod tests;\n#[cfg(test)]\n#[path = \"x.rs\"]\nmod vector_tests;\nfn mod_like() {}\n";
    let names: Vec<String> = declared_modules(source).into_iter().collect();
    assert_eq!(names, ["a", "b", "c"]);
    let doc = format!(
        "{SECTION}\n\n| module | concern | submodules |\n|---|---|---|\n| `a` | x | `one` (the first), `two` |\n| `z` {PENDING} | y | — |\n\n## Next\n| `q` | not | read |\n"
    );
    let rows = rows(&doc);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].module, "a");
    assert_eq!(rows[0].submodules.iter().collect::<Vec<_>>(), ["one", "two"]);
    assert!(rows[1].pending && rows[1].submodules.is_empty());
}
