//! Every scenario file of tests/scenarios, run by the CLI host against the
//! simulator over real loopback HTTP (`incwo demo --json`).

use std::process::Command;

#[test]
fn every_scenario_passes_against_the_simulator() {
    let out = Command::new(env!("CARGO_BIN_EXE_incwo"))
        .args(["demo", "--json"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run incwo demo");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let rows = rows.as_array().expect("an array of results");
    assert!(rows.len() >= 10, "expected the whole test matrix, got {}", rows.len());
    let failed: Vec<&serde_json::Value> = rows.iter().filter(|r| r["passed"] != true).collect();
    assert!(failed.is_empty(), "failing scenarios: {failed:#?}");
    for row in rows {
        assert_eq!(row["duplicates"], 0, "{row}");
    }
    assert_eq!(out.status.code(), Some(0));
    // The demo's simulator password never reaches stdout or stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("demo-pass-7f3a9c") && !stderr.contains("demo-pass-7f3a9c"));
}
