//! Keeps the core's source files small (issue #21): no file under
//! `core/src` may be over [`MAX_LINES`] lines. A file that grows past it is
//! split by concern, with its tests beside each part.

use std::path::{Path, PathBuf};

/// The most lines a source file under `core/src` may have.
const MAX_LINES: usize = 600;

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Each file's path relative to the crate and its line count.
fn line_counts() -> Vec<(String, usize)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    rust_files(&root.join("src"))
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.strip_prefix(root).unwrap_or(&path).display().to_string();
            (format!("core/{name}"), text.lines().count())
        })
        .collect()
}

#[test]
fn the_walk_sees_every_source_file_with_its_line_count() {
    let counts = line_counts();
    let find = |name: &str| counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    let lib = find("core/src/lib.rs").expect("lib.rs is walked");
    let expected = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .unwrap()
        .matches('\n')
        .count();
    assert_eq!(lib, expected);
    // Nested modules are walked too.
    assert!(find("core/src/http/builder.rs").is_some(), "{counts:?}");
    assert!(find("core/src/inbound/intake/body.rs").is_some(), "{counts:?}");
    assert!(counts.len() > 50, "only {} files", counts.len());
}

#[test]
fn no_source_file_is_over_600_lines() {
    let over: Vec<String> = line_counts()
        .into_iter()
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(name, lines)| format!("{name}: {lines} lines"))
        .collect();
    assert!(
        over.is_empty(),
        "{} file(s) over {MAX_LINES} lines; split each by concern, tests beside each part:\n{}",
        over.len(),
        over.join("\n")
    );
}
