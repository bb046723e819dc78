//! Runs every golden vector in `tests/vectors/` through the core's JSON
//! façade, with the matching rule documented in `tests/vectors/README.md`.

use serde_json::Value;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !matches!(path.file_name().and_then(|n| n.to_str()), Some("fixtures" | "profiles")) {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn input_bytes(vector: &Value, base: &Path) -> Option<Vec<u8>> {
    if let Some(text) = vector["inputText"].as_str() {
        Some(text.as_bytes().to_vec())
    } else if let Some(file) = vector["inputFile"].as_str() {
        Some(std::fs::read(base.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")))
    } else {
        vector.get("input").map(|v| serde_json::to_vec(v).unwrap())
    }
}

fn run(vector: &Value, base: &Path) -> Value {
    let args = &vector["args"];
    let arg = |name: &str| {
        args[name]
            .as_str()
            .unwrap_or_else(|| panic!("args.{name} missing"))
            .to_string()
    };
    let input = input_bytes(vector, base);
    let text = || String::from_utf8(input.clone().expect("input")).expect("UTF-8 input");
    let profile = vector["profileFile"]
        .as_str()
        .map(|f| std::fs::read_to_string(base.join(f)).unwrap());
    let call = vector["call"].as_str().expect("call");
    match call {
        "validate" => incwo_core::api::validate(&arg("kind"), &text(), profile.as_deref()),
        "map" => incwo_core::api::map(&arg("kind"), &text(), profile.as_deref()),
        "schema" => incwo_core::api::schema(&arg("kind"), profile.as_deref()),
        "parse" => incwo_core::api::parse(&arg("resource"), &input.expect("input")),
        other => incwo_core::api::call(other, args),
    }
}

#[test]
fn every_golden_vector_passes() {
    let base = vectors_dir();
    let mut files = Vec::new();
    collect(&base, &mut files);
    files.sort();
    let mut failures = Vec::new();
    let mut by_call = std::collections::BTreeMap::<String, usize>::new();
    for file in &files {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        *by_call
            .entry(vector["call"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        let actual = run(&vector, &base);
        if let Err(diff) = incwo_core::api::subset_match(&vector["expected"], &actual) {
            failures.push(format!(
                "{}: {diff}\n  actual: {actual}",
                file.strip_prefix(&base).unwrap().display()
            ));
        }
    }
    eprintln!("{} vectors: {by_call:?}", files.len());
    assert!(files.len() >= 40, "only {} vectors", files.len());
    assert!(
        failures.is_empty(),
        "{} failing vectors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
