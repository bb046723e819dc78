//! The docs cite the repository, and only the repository:
//! - every file or folder of the repository that a Markdown file
//!   (`tests/README.md`, `docs/*.md`, every README; not the changelog) names
//!   in backticks exists (a glob `*` must match something;
//!   `path::name` also needs `name` in that file; `path#anchor` a heading),
//!   and every relative Markdown link resolves, anchor included;
//! - no file cites a document that lives outside the repository (the former
//!   `../shared` design notes): `tools/fix-citations.sh` re-points them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Folders whose citations `tools/fix-citations.sh` has not been run on yet.
/// Empty it once the script has run there.
const PENDING_FIX_CITATIONS: &[&str] = &[];

/// Files allowed to spell the outside forms: the script that rewrites them, and this test.
const CITATION_EXEMPT: &[&str] = &["tools/fix-citations.sh", "core/tests/doc_paths.rs"];

/// Build outputs and installed dependencies: cited by the docs, absent from a fresh clone.
const GENERATED: &[&str] = &[
    "target/",
    "wasm/pkg",
    "node_modules",
    ".venv",
    "vendor/",
    "var/",
    "dist/",
];

/// Folders never walked.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "target",
    "node_modules",
    ".venv",
    "vendor",
    "var",
    "pkg",
    "dist",
    "__pycache__",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Markdown files whose citations are not checked: history may name what is gone.
const HISTORY: &[&str] = &["CHANGELOG.md"];

/// The docs whose citations are checked: every Markdown file of the repository
/// (`tests/README.md` and `docs/*.md` first) but the history.
fn checked_docs() -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(&root(), &mut found);
    let mut docs: Vec<PathBuf> = found
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .filter_map(|p| p.strip_prefix(root()).ok().map(Path::to_path_buf))
        .filter(|p| !HISTORY.iter().any(|h| p == Path::new(h)))
        .collect();
    docs.sort();
    for must in [
        "tests/README.md",
        "docs/ARCHITECTURE.md",
        "docs/DESIGN.md",
        "docs/RELIABILITY.md",
    ] {
        assert!(
            docs.iter().any(|d| d == Path::new(must)),
            "{must} is not among the checked docs"
        );
    }
    docs
}

/// The text of a doc outside its fenced code blocks, one entry per line.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            lines.push(line);
        }
    }
    lines
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    prose_lines(text)
        .into_iter()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

/// Matches one path segment against a pattern with `*` wildcards.
fn wildcard(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The paths under `base` matching a relative path that may hold `*` segments.
fn expand(base: &Path, path: &str) -> Vec<PathBuf> {
    let mut found = vec![base.to_path_buf()];
    for segment in path.split('/').filter(|s| !s.is_empty() && *s != ".") {
        let mut next = Vec::new();
        for dir in &found {
            if segment.contains('*') {
                if let Ok(entries) = fs::read_dir(dir) {
                    for entry in entries.flatten() {
                        if wildcard(segment, &entry.file_name().to_string_lossy()) {
                            next.push(entry.path());
                        }
                    }
                }
            } else if dir.join(segment).exists() {
                next.push(dir.join(segment));
            }
        }
        found = next;
    }
    found
}

/// Checks one cited path (relative to `base`, with an optional `#anchor` or
/// `::name`); returns what is wrong.
fn check_target(base: &Path, cited: &str) -> Option<String> {
    let (path, anchor) = match cited.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (cited, None),
    };
    let (path, name) = match path.split_once("::") {
        Some((p, n)) => (p, Some(n)),
        None => (path, None),
    };
    let matches = if path.is_empty() {
        vec![base.to_path_buf()]
    } else {
        expand(base, path)
    };
    let Some(first) = matches.first() else {
        return Some(format!("`{path}` does not exist"));
    };
    if let Some(name) = name {
        if !read(first).contains(name) {
            return Some(format!("`{path}` does not contain `{name}`"));
        }
    }
    if let Some(anchor) = anchor.filter(|a| !a.is_empty()) {
        if first.extension().is_some_and(|x| x == "md") && !anchors(&read(first)).contains(anchor) {
            return Some(format!("`{path}` has no heading with the anchor `#{anchor}`"));
        }
    }
    None
}

/// The top-level entries of the repository: a backticked token whose first
/// segment is one of them is a path.
fn top_level() -> BTreeSet<String> {
    fs::read_dir(root())
        .expect("the repository root")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !SKIPPED_DIRS.contains(&n.as_str()))
        .collect()
}

/// A backticked token that names a file or folder of the repository, if it is one.
fn as_repo_path<'a>(token: &'a str, top: &BTreeSet<String>) -> Option<&'a str> {
    if token.is_empty()
        || token
            .chars()
            .any(|c| c.is_whitespace() || "{}<>…$=\"'|,;()[]".contains(c))
    {
        return None;
    }
    let first = token.split(['/', '#', ':']).next()?;
    if !top.contains(first) || GENERATED.iter().any(|g| token.contains(g)) {
        return None;
    }
    Some(token)
}

/// Problems with the paths cited in one doc (path relative to the root).
fn doc_problems(doc: &Path, top: &BTreeSet<String>) -> Vec<String> {
    let text = read(&root().join(doc));
    let dir = root().join(doc.parent().unwrap_or(Path::new("")));
    let mut problems = Vec::new();
    for line in prose_lines(&text) {
        let at = |what: String| format!("{}: {what} (in {line:?})", doc.display());
        for token in line.split('`').skip(1).step_by(2) {
            if let Some(path) = as_repo_path(token.trim(), top) {
                if let Some(problem) = check_target(&root(), path) {
                    problems.push(at(problem));
                }
            }
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            rest = &rest[end..];
            if target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            let problem = if let Some(anchor) = target.strip_prefix('#') {
                (!anchors(&text).contains(anchor)).then(|| format!("no heading here has the anchor `#{anchor}`"))
            } else {
                check_target(&dir, target)
            };
            if let Some(problem) = problem {
                problems.push(at(format!("link ({target}): {problem}")));
            }
        }
    }
    problems
}

#[test]
fn every_path_cited_in_the_docs_exists() {
    let top = top_level();
    let problems: Vec<String> = checked_docs().iter().flat_map(|d| doc_problems(d, &top)).collect();
    assert!(
        problems.is_empty(),
        "paths cited in the docs that do not exist:\n- {}",
        problems.join("\n- ")
    );
    // Not vacuous: tests/README.md alone cites well over a hundred paths.
    let readme = read(&root().join("tests/README.md"));
    let cited = prose_lines(&readme)
        .into_iter()
        .flat_map(|l| l.split('`').skip(1).step_by(2))
        .filter(|t| as_repo_path(t.trim(), &top).is_some())
        .count();
    assert!(
        cited >= 100,
        "tests/README.md cites only {cited} repository paths: is the checker still reading it?"
    );
}

/// The backticked names of the flow test matrix's fake-incwo tests
/// (`s1_…`, `s2b_…`), and the scenario files it names.
fn matrix_of(readme: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let start = readme
        .find("## The flow test matrix")
        .expect("tests/README.md has a section \"The flow test matrix\"");
    let body = &readme[start + 3..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut tests = BTreeSet::new();
    let mut files = BTreeSet::new();
    for line in body.lines().filter(|l| l.starts_with('|')) {
        for token in line.split('`').skip(1).step_by(2) {
            if let Some(file) = token.strip_prefix("tests/scenarios/") {
                files.insert(file.to_string());
            } else if token.starts_with('s')
                && token[1..].starts_with(|c: char| c.is_ascii_digit())
                && token.contains('_')
            {
                tests.insert(token.to_string());
            }
        }
    }
    (tests, files)
}

#[test]
fn the_flow_test_matrix_names_every_scenario_file_and_every_fake_incwo_scenario_test() {
    let (tests, files) = matrix_of(&read(&root().join("tests/README.md")));
    let mut problems = Vec::new();
    let scenario_files: BTreeSet<String> = fs::read_dir(root().join("tests/scenarios"))
        .expect("tests/scenarios/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    for file in scenario_files.difference(&files) {
        problems.push(format!("scenario file tests/scenarios/{file} has no row"));
    }
    let source = read(&root().join("core/tests/flow_scenarios.rs"));
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let declared: BTreeSet<String> = lines
        .windows(2)
        .filter(|w| w[0] == "#[test]")
        .filter_map(|w| w[1].strip_prefix("fn ")?.split('(').next().map(str::to_string))
        .filter(|name| name.starts_with('s') && name[1..].starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(
        declared.len() >= 10,
        "core/tests/flow_scenarios.rs declares only {} scenario tests",
        declared.len()
    );
    for name in declared.difference(&tests) {
        problems.push(format!("core/tests/flow_scenarios.rs::{name} is in no row"));
    }
    for name in tests.difference(&declared) {
        problems.push(format!(
            "the matrix names `{name}`, which core/tests/flow_scenarios.rs does not declare as a test"
        ));
    }
    assert!(
        problems.is_empty(),
        "tests/README.md's flow test matrix disagrees with the tests:\n- {}",
        problems.join("\n- ")
    );
}

/// The forms of a citation of a document outside the repository.
fn outside_citations(text: &str) -> Vec<String> {
    const FORMS: &[&str] = &[
        "shared/DESIGN",
        "shared/TEST-MATRIX",
        "shared/CONTRACT",
        "shared/incwo-api",
        "shared/bench",
        "DESIGN section ",
        "DESIGN.md section ",
        "DESIGN §",
        "DESIGN.md §",
        "REFERENCE section ",
        "REFERENCE.md section ",
        "REFERENCE §",
        "REFERENCE.md §",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(form) = FORMS.iter().find(|f| line.contains(*f)) {
            found.push(format!("line {}: {form:?}", i + 1));
            continue;
        }
        // A citation split over two comment lines: "… DESIGN" / "//! section 7".
        let trimmed = line.trim_end();
        if trimmed.ends_with("DESIGN") || trimmed.ends_with("REFERENCE") {
            let next = lines
                .get(i + 1)
                .map(|l| l.trim_start().trim_start_matches(['/', '!', '*', '#']).trim_start());
            if next.is_some_and(|n| n.starts_with("section") || n.starts_with('§')) {
                found.push(format!("line {}: a citation split over two lines", i + 1));
            }
        }
    }
    found
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                walk(&path, out);
            }
        } else if [
            ".rs", ".md", ".php", ".py", ".mjs", ".js", ".ts", ".sh", ".toml", ".json", ".yaml", ".c", ".h",
        ]
        .iter()
        .any(|x| name.ends_with(x))
        {
            out.push(path);
        }
    }
}

#[test]
fn nothing_cites_a_document_outside_the_repository() {
    let root = root();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut problems = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if CITATION_EXEMPT.contains(&relative.as_str()) || PENDING_FIX_CITATIONS.iter().any(|p| relative.starts_with(p))
        {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else { continue };
        for found in outside_citations(&text) {
            problems.push(format!("{relative}: {found}"));
        }
    }
    assert!(
        problems.is_empty(),
        "citations of documents outside the repository (run tools/fix-citations.sh on these files, or cite docs/ by hand):\n- {}",
        problems.join("\n- ")
    );
}

#[test]
fn the_checkers_see_what_they_must() {
    assert_eq!(slug("4. Webhooks / notifications"), "4-webhooks--notifications");
    assert_eq!(slug(" The module map of `incwo-core`"), "the-module-map-of-incwo-core");
    assert!(wildcard("*.json", "01-nominal.json") && wildcard("transport_*", "transport_sent.json"));
    assert!(!wildcard("*.json", "README.md") && !wildcard("a*b*c", "acb"));
    let top: BTreeSet<String> = ["core", "docs"].into_iter().map(String::from).collect();
    assert_eq!(as_repo_path("core/src/lib.rs", &top), Some("core/src/lib.rs"));
    assert_eq!(as_repo_path("/bill_sheets/{id}.xml", &top), None);
    assert_eq!(as_repo_path("mod.rs", &top), None);
    assert!(check_target(&root(), "core/src/no-such-file.rs").is_some());
    assert!(check_target(&root(), "core/tests/*.rs").is_none());
    assert!(check_target(&root(), "core/tests/doc_paths.rs::the_checkers_see_what_they_must").is_none());
    let absent = format!("core/tests/doc_paths.rs::{}_{}", "no_such", "test_here");
    assert!(check_target(&root(), &absent).is_some());
    assert!(check_target(&root(), "docs/DESIGN.md#6-errors-and-retries").is_none());
    assert!(check_target(&root(), "docs/DESIGN.md#12-no-such-section").is_some());
    assert_eq!(outside_citations("a (DESIGN section 7)").len(), 1);
    assert_eq!(outside_citations("//! queues of DESIGN\n//! section 7: x").len(), 1);
    assert!(outside_citations("see docs/DESIGN.md#7-flows-replayable-steps").is_empty());
}
