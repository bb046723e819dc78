//! `incwo sync` killed with SIGKILL at several points of a 200-record batch
//! with faults on, then rerun: incwo (the simulator) ends with every
//! document exactly once and every record accounted for.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::incwo_bare as incwo;

struct Sim(Child, String);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim() -> Sim {
    let mut child = incwo()
        .args(["sim", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let url = support::listening_url(&mut child);
    Sim(child, url)
}

fn batch() -> String {
    let scenario: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/scenarios/10-batch-resume.json")).unwrap();
    scenario["steps"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string() + "\n")
        .collect()
}

fn sync(url: &str, batch: &std::path::Path, state: &std::path::Path) -> Command {
    sync_with(url, batch, state, 1)
}

/// `sync` with `k` requests in flight.
fn sync_with(url: &str, batch: &std::path::Path, state: &std::path::Path, k: u32) -> Command {
    let mut c = incwo();
    c.args([
        "sync",
        batch.to_str().unwrap(),
        "--server",
        url,
        "--business-file",
        "123456",
    ])
    .args([
        "--login",
        "api@example.fr",
        "--password-env",
        "INCWO_TEST_PASSWORD",
        "--company",
        "acme",
    ])
    .args(["--state", state.to_str().unwrap(), "--timeout-ms", "2000"])
    .args(["--max-in-flight", &k.to_string()])
    .env("INCWO_TEST_PASSWORD", "secret")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    c
}

#[test]
fn killed_syncs_resume_without_duplicates() {
    killed_syncs_resume(1);
}

/// The same with 8 requests in flight: a kill leaves several of them
/// unanswered (some committed), and records ended out of order.
#[test]
fn killed_syncs_with_eight_in_flight_resume_without_duplicates() {
    killed_syncs_resume(8);
}

fn killed_syncs_resume(k: u32) {
    let sim = start_sim();
    let dir = std::env::temp_dir().join(format!("incwo-kill-{k}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let batch_file = dir.join("batch.jsonl");
    let state = dir.join("state.db");
    std::fs::write(&batch_file, batch()).unwrap();
    let faults = serde_json::json!([
        {"method": "POST", "fault": {"kind": "drop_after_commit"}, "probability": 0.05, "seed": 11, "times": 1000},
        {"method": "POST", "fault": {"kind": "http_error", "status": 503}, "probability": 0.05, "seed": 12, "times": 1000},
        {"method": "GET", "fault": {"kind": "http_error", "status": 502}, "probability": 0.03, "seed": 13, "times": 1000}
    ]);
    ureq::post(&format!("{}/_sim/faults", sim.1))
        .send_json(faults)
        .expect("add faults");

    // Kill at several points (deterministic delays), then let it finish.
    let mut cursors = Vec::new();
    for delay_ms in [150u64, 400, 250, 700, 120] {
        let mut child = sync_with(&sim.1, &batch_file, &state, k).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // The state store prints its checkpoint as version-1 JSON.
        let export = incwo()
            .args(["state", "export", "--state", state.to_str().unwrap()])
            .output()
            .unwrap();
        let checkpoint: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap_or_default();
        cursors.push(checkpoint["cursor"].as_u64().unwrap_or(0));
    }
    assert!(
        cursors.iter().any(|c| (1..200).contains(c)),
        "no kill landed mid-batch: {cursors:?}"
    );
    let started = Instant::now();
    let mut report = serde_json::Value::Null;
    for _ in 0..6 {
        let out = sync_with(&sim.1, &batch_file, &state, k).output().unwrap();
        report = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if report["summary"]["deferred"] == 0 {
            break;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(240));
    let summary = &report["summary"];
    assert_eq!(summary["total"], 200, "{report}");
    assert_eq!(summary["finished"], 200, "{report}");
    assert_eq!(summary["quarantined"], 0, "{report}");
    assert_eq!(summary["deferred"], 0, "{report}");

    let state_json: serde_json::Value = ureq::get(&format!("{}/_sim/state", sim.1))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(
        state_json["duplicates"],
        serde_json::json!([]),
        "{}",
        state_json["duplicates"]
    );
    assert_eq!(state_json["counts"]["firms"], 40);
    assert_eq!(state_json["counts"]["proposal_sheets"], 100);
    assert_eq!(state_json["counts"]["bill_sheets"], 59);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lost_state_file_and_lookup_before_create_create_nothing_twice() {
    let sim = start_sim();
    let dir = std::env::temp_dir().join(format!("incwo-lost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let batch_file = dir.join("batch.jsonl");
    let state = dir.join("state.db");
    std::fs::write(&batch_file, batch()).unwrap();
    let counts = || -> serde_json::Value {
        let s: serde_json::Value = ureq::get(&format!("{}/_sim/state", sim.1))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        assert_eq!(s["duplicates"], serde_json::json!([]), "{}", s["duplicates"]);
        s["counts"].clone()
    };

    let first = sync(&sim.1, &batch_file, &state).output().unwrap();
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first["summary"]["finished"], 200, "{first}");
    let before = counts();

    // The state file is lost; the same batch is synced again with the flag.
    std::fs::remove_file(&state).unwrap();
    let _ = std::fs::remove_dir_all(dir.join("state.db.locks"));
    let out = sync(&sim.1, &batch_file, &state)
        .arg("--lookup-before-create")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["finished"], 200, "{report}");
    assert_eq!(counts(), before, "nothing created again: {report}");
    let _ = std::fs::remove_dir_all(&dir);
}
