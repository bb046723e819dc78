//! Runs the golden vectors of `tests/vectors/{http,classify,retry}`: one JSON
//! file per case, `{"description", "call", "args", "expected"}`. `expected`
//! matches as a subset (objects: named keys only; arrays: same length,
//! element-wise; scalars: equal). A usage error is compared as
//! `{"error": {"class": "usage", "code", "message", "hint"}}`. No expected output may contain a password or a Basic
//! token from its args.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::http::encode::base64_encode;

/// Dispatches a vector's call to the JSON façade every binding exposes.
pub(crate) fn call(name: &str, args: &Value) -> Value {
    let result = match name {
        "request" => super::request::request(args),
        "classify" => super::classify::classify(args),
        "retry" => super::retry::replay(args),
        other => panic!("unknown call {other}"),
    };
    match result {
        Ok(value) => value,
        Err(usage) => super::usage_error(&usage),
    }
}

/// Subset match; returns the path of the first difference.
pub(crate) fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let inner = format!("{path}/{key}");
                match a.get(key) {
                    Some(actual) => matches(value, actual, &inner)?,
                    None => return Err(format!("{inner}: missing")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path}: expected {} elements, got {}", e.len(), a.len()));
            }
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                matches(e, a, &format!("{path}/{i}"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) => {
            // arbitrary_precision keeps the text: compare numerically.
            if e.as_f64() == a.as_f64() && e.as_u64() == a.as_u64() && e.as_i64() == a.as_i64() {
                Ok(())
            } else {
                Err(format!("{path}: expected {e}, got {a}"))
            }
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

/// Every secret named in the args: passwords, tokens, and Basic tokens.
fn secrets(args: &Value, out: &mut Vec<String>) {
    match args {
        Value::Object(map) => {
            if let (Some(Value::String(login)), Some(Value::String(password))) = (map.get("login"), map.get("password"))
            {
                out.push(base64_encode(format!("{login}:{password}").as_bytes()));
            }
            for (key, value) in map {
                if matches!(key.as_str(), "password" | "token") {
                    if let Value::String(s) = value {
                        out.push(s.clone());
                    }
                }
                secrets(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| secrets(v, out)),
        _ => {}
    }
}

fn vector_files(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn golden_vectors_of_http_classify_and_retry() {
    let mut count = 0;
    let mut failures = Vec::new();
    for (folder, expected_call) in [("http", "request"), ("classify", "classify"), ("retry", "retry")] {
        for file in vector_files(folder) {
            let text = std::fs::read_to_string(&file).unwrap();
            let vector: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            assert!(vector["description"].is_string(), "{name}: description");
            let call_name = vector["call"].as_str().unwrap_or_default();
            assert_eq!(call_name, expected_call, "{name}: call");
            let mut secret_values = vec!["s3cret-pass".to_owned()];
            secrets(&vector["args"], &mut secret_values);
            let expected_text = vector["expected"].to_string();
            for secret in &secret_values {
                assert!(
                    !expected_text.contains(secret.as_str()),
                    "{name}: expected output contains a secret"
                );
            }
            let actual = call(call_name, &vector["args"]);
            if let Err(diff) = matches(&vector["expected"], &actual, "") {
                failures.push(format!("{folder}/{name}: {diff}\n  actual: {actual}"));
            }
            count += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count >= 40, "only {count} vectors");
}
