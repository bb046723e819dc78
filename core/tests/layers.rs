//! The layers of `incwo-core`, enforced (issue #21): every `crate::<module>`
//! reference in `core/src` (grouped `use crate::{a::x, b}` included, and
//! `super::…` chains that climb out of a top-level module) must point to the
//! same layer or one below, and the top-level modules must import each other
//! without a cycle. Test modules (`#[cfg(test)]`) are held to the same rule:
//! none needs an exemption. Comments (doc links included) and string
//! literals are not imports and are skipped.
//!
//! [`LAYERS`] is the one table; docs/ARCHITECTURE.md's `## Layers` section
//! must list the same modules in the same order (checked below).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: a module may use its own layer and those before it.
const LAYERS: &[&[&str]] = &[
    &["model", "base", "usage"],
    &["xml"],
    &["contract"],
    &["mapping", "views"],
    &["http"],
    &["errors", "retry", "telemetry"],
    &["adapters", "discover"],
    &["flow"],
    &["inbound", "partition"],
    &["api", "codes"],
];

/// Upward edges tolerated for now: `(file, from, to)`.
/// None today: an entry needs an issue that removes it.
const ALLOWLIST: &[(&str, &str, &str)] = &[];

/// One reference from a file to a top-level module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Reference {
    file: String,
    line: usize,
    from: String,
    to: String,
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The source with comments blanked and string/char literal contents
/// removed; newlines are kept so line numbers stay right.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !is_ident(chars.get(i.wrapping_sub(1))) {
            // Raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some(&ch) => out.push(blank(ch)),
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'), or a lifetime.
            if next == Some('\\') {
                let mut j = i + 3;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                out.push_str("' '");
                i = j + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// The module path of a file: `core/src/flow/ledger.rs` → `["flow", "ledger"]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// The top-level names a path segment list starts with, after `crate::` or
/// an escaping `super::` chain: one identifier, or each item of a group.
fn heads(chars: &[char], mut i: usize) -> Vec<String> {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    if chars.get(i) == Some(&'{') {
        let mut depth = 0;
        let mut names = Vec::new();
        let mut expect = true;
        while let Some(&c) = chars.get(i) {
            match c {
                '{' => {
                    depth += 1;
                    i += 1;
                    if depth == 1 {
                        expect = true;
                    }
                    continue;
                }
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ',' if depth == 1 => expect = true,
                c if expect && depth == 1 && (c.is_alphanumeric() || c == '_') => {
                    let start = i;
                    while is_ident(chars.get(i)) {
                        i += 1;
                    }
                    names.push(chars[start..i].iter().collect());
                    expect = false;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        names
    } else {
        let start = i;
        while is_ident(chars.get(i)) {
            i += 1;
        }
        vec![chars[start..i].iter().collect()]
    }
}

/// Every reference to another top-level module in one file's source.
fn references(file: &str, module: &[String], source: &str) -> Vec<Reference> {
    let Some(top) = module.first() else {
        return Vec::new(); // lib.rs declares the modules.
    };
    let text = strip(source);
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut depth = 0usize;
    // Inline modules open at (brace depth, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    let mut push = |to: String, line: usize| {
        if !to.is_empty() && &to != top && to != "self" {
            out.push(Reference {
                file: file.to_string(),
                line,
                from: top.clone(),
                to,
            });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        } else if c == '{' {
            depth += 1;
            if let Some(name) = pending_mod.take() {
                inline.push((depth, name));
            }
        } else if c == '}' {
            if inline.last().is_some_and(|(d, _)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        } else if c == ';' {
            pending_mod = None;
        } else if is_ident(Some(&c)) && !is_ident(chars.get(i.wrapping_sub(1))) {
            let start = i;
            while is_ident(chars.get(i)) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let after_path = start >= 2 && chars[start - 1] == ':' && chars[start - 2] == ':';
            let dollar = start >= 1 && chars[start - 1] == '$';
            let follows = |at: usize| chars.get(at) == Some(&':') && chars.get(at + 1) == Some(&':');
            match word.as_str() {
                "mod" => {
                    let mut j = i;
                    while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                        j += 1;
                    }
                    let s = j;
                    while is_ident(chars.get(j)) {
                        j += 1;
                    }
                    pending_mod = Some(chars[s..j].iter().collect());
                }
                "crate" if !after_path && !dollar && follows(i) => {
                    for head in heads(&chars, i + 2) {
                        push(head, line);
                    }
                }
                "super" if !after_path && follows(i) => {
                    let mut ups = 1;
                    let mut j = i + 2;
                    loop {
                        let mut k = j;
                        while chars.get(k).is_some_and(|c| c.is_whitespace()) {
                            k += 1;
                        }
                        let word: String = chars[k..].iter().take(5).collect();
                        if word == "super" && follows(k + 5) {
                            ups += 1;
                            j = k + 7;
                        } else {
                            break;
                        }
                    }
                    let here = module.len() + inline.len();
                    if ups >= here {
                        for head in heads(&chars, j) {
                            push(head, line);
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        i += 1;
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn all_references() -> Vec<Reference> {
    let src = crate_dir().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let relative = path.strip_prefix(&src).unwrap();
        let name = format!("core/src/{}", relative.display());
        let source = std::fs::read_to_string(&path).unwrap();
        out.extend(references(&name, &module_path(relative), &source));
    }
    out
}

fn allowed(r: &Reference) -> bool {
    ALLOWLIST
        .iter()
        .any(|(file, from, to)| r.file == *file && r.from == *from && r.to == *to)
}

/// The violations of the layer order: unknown modules and upward references.
fn violations(references: &[Reference]) -> Vec<String> {
    let mut out = Vec::new();
    for r in references {
        match (layer_of(&r.from), layer_of(&r.to)) {
            (Some(from), Some(to)) if to > from && !allowed(r) => out.push(format!(
                "{}:{}: `{}` (layer {}) imports `{}` (layer {}), a layer above it",
                r.file,
                r.line,
                r.from,
                from + 1,
                r.to,
                to + 1
            )),
            (Some(_), Some(_)) => {}
            (from, _) => {
                let unknown = if from.is_none() { &r.from } else { &r.to };
                out.push(format!(
                    "{}:{}: `{unknown}` is in no layer: add it to LAYERS and to docs/ARCHITECTURE.md",
                    r.file, r.line
                ))
            }
        }
    }
    out
}

/// A cycle between top-level modules, as `a -> b -> a` with one place per edge.
fn cycle(references: &[Reference]) -> Option<String> {
    let mut edges: BTreeMap<&str, BTreeMap<&str, &Reference>> = BTreeMap::new();
    for r in references.iter().filter(|r| !allowed(r)) {
        edges.entry(&r.from).or_default().entry(&r.to).or_insert(r);
    }
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, BTreeMap<&'a str, &'a Reference>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut path = stack[at..].to_vec();
            path.push(node);
            return Some(path);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in edges.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(path) = visit(next, edges, stack, done) {
                return Some(path);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        let mut stack = Vec::new();
        if let Some(path) = visit(node, &edges, &mut stack, &mut done) {
            let places: Vec<String> = path
                .windows(2)
                .map(|w| {
                    let r = edges[w[0]][w[1]];
                    format!("{}:{}: `{}` imports `{}`", r.file, r.line, r.from, r.to)
                })
                .collect();
            return Some(format!("{}\n  {}", path.join(" -> "), places.join("\n  ")));
        }
    }
    None
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let references = all_references();
    assert!(references.len() > 100, "only {} references found", references.len());
    let bad = violations(&references);
    assert!(bad.is_empty(), "{} upward import(s):\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    if let Some(cycle) = cycle(&all_references()) {
        panic!("an import cycle between top-level modules: {cycle}");
    }
}

#[test]
fn every_allowlisted_edge_still_exists() {
    let references = all_references();
    for (file, from, to) in ALLOWLIST {
        assert!(
            references
                .iter()
                .any(|r| r.file == *file && r.from == *from && r.to == *to),
            "{file}: `{from}` no longer imports `{to}`: remove it from ALLOWLIST"
        );
    }
}

#[test]
fn every_module_of_lib_rs_is_in_a_layer() {
    let lib = std::fs::read_to_string(crate_dir().join("src/lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub mod ")
                .or_else(|| l.trim().strip_prefix("mod "))
        })
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let layered: BTreeSet<&str> = LAYERS.iter().flat_map(|l| l.iter().copied()).collect();
    assert_eq!(declared, layered, "lib.rs's modules and LAYERS differ");
}

/// The modules of each numbered line of docs/ARCHITECTURE.md's `## Layers`
/// (the backticked names before the dash).
fn documented_layers(doc: &str) -> Vec<Vec<String>> {
    let start = doc
        .find("\n## Layers\n")
        .expect("docs/ARCHITECTURE.md has a `## Layers` section");
    let section = &doc[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
    let rest = &section[end..];
    assert!(
        rest.starts_with("\n## The sans-IO contract"),
        "`## Layers` must come right before `## The sans-IO contract`"
    );
    section[..end]
        .lines()
        .filter(|l| l.split_once(". ").is_some_and(|(n, _)| n.parse::<u32>().is_ok()))
        .map(|l| {
            let head = l.split(" — ").next().unwrap_or(l);
            head.split('`').skip(1).step_by(2).map(str::to_string).collect()
        })
        .collect()
}

#[test]
fn the_architecture_page_lists_the_same_layers() {
    let doc = std::fs::read_to_string(crate_dir().join("../docs/ARCHITECTURE.md")).unwrap();
    let expected: Vec<Vec<String>> = LAYERS
        .iter()
        .map(|l| l.iter().map(|m| m.to_string()).collect())
        .collect();
    assert_eq!(
        documented_layers(&doc),
        expected,
        "docs/ARCHITECTURE.md's `## Layers` and LAYERS in core/tests/layers.rs differ"
    );
}

// ---- the scanner itself ----

fn scan(file: &str, source: &str) -> Vec<(usize, String)> {
    let module = module_path(Path::new(file));
    references(file, &module, source)
        .into_iter()
        .map(|r| (r.line, r.to))
        .collect()
}

#[test]
fn the_scanner_sees_grouped_uses_and_escaping_super_chains() {
    let source = "use crate::{flow::ledger::Domain, http::{Method, Response}, model};\n\
                  mod tests {\n    use super::super::super::api::call;\n    use super::*;\n}\n\
                  fn f() -> u8 { crate::xml::X }\n";
    assert_eq!(
        scan("inbound/poll.rs", source),
        vec![
            (1, "flow".to_string()),
            (1, "http".to_string()),
            (1, "model".to_string()),
            (3, "api".to_string()),
            (6, "xml".to_string()),
        ]
    );
    // From a top-level file, one `super` out of `mod tests` stays inside.
    assert_eq!(scan("usage.rs", "mod tests {\n use super::*;\n}\n"), vec![]);
    assert_eq!(
        scan("usage.rs", "mod tests {\n use super::super::api;\n}\n"),
        vec![(2, "api".to_string())]
    );
}

#[test]
fn the_scanner_skips_comments_strings_and_macros() {
    let source = "//! see [`crate::api`]\n/* crate::flow */\nconst A: &str = \"crate::flow\";\n\
                  const B: &str = r#\"crate::api \"q\"\"#;\nconst C: char = '\"';\n\
                  macro_rules! m { () => { $crate::x } }\nfn g<'a>(_: &'a str) { let _ = crate::xml::Y; }\n";
    assert_eq!(scan("usage.rs", source), vec![(7, "xml".to_string())]);
}

#[test]
fn an_upward_import_and_a_cycle_are_reported_with_file_and_line() {
    let mut refs = references("core/src/http/mod.rs", &["http".into()], "\n\nuse crate::flow::Flow;\n");
    assert_eq!(
        violations(&refs),
        vec!["core/src/http/mod.rs:3: `http` (layer 5) imports `flow` (layer 8), a layer above it"]
    );
    refs.extend(references(
        "core/src/flow/mod.rs",
        &["flow".into()],
        "use crate::http::Request;\n",
    ));
    let found = cycle(&refs).expect("a cycle");
    assert!(found.starts_with("flow -> http -> flow"), "{found}");
    assert!(
        found.contains("core/src/http/mod.rs:3: `http` imports `flow`"),
        "{found}"
    );
    let unknown = references("core/src/xml/mod.rs", &["xml".into()], "use crate::nowhere::X;\n");
    assert!(violations(&unknown)[0].contains("`nowhere` is in no layer"));
}

#[test]
fn the_doc_section_is_read_line_by_line() {
    let doc = "# A\n\n## Layers\n\nText `x`.\n\n1. `model`, `base` — the records; `not` this\n2. `xml` — XML\n\n## The sans-IO contract\n";
    assert_eq!(
        documented_layers(doc),
        vec![vec!["model".to_string(), "base".to_string()], vec!["xml".to_string()]]
    );
}
