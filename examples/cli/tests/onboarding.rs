//! Onboarding a real account, against the simulator over loopback HTTP with
//! the real `incwo` binary: `incwo profile discover` finds a non-default
//! account's ids and the discovered profile syncs the nominal scenario;
//! `incwo doctor` names each failure mode; `docs/RUNBOOK.md` is up to date.

mod support;

use incwo_sim::{Account, SimConfig, SimHandle};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::{account_flags, incwo, temp_dir, text};

const OTHER: &str = include_str!("../../../profiles/sim-other-account.json");

fn other_account() -> SimConfig {
    SimConfig {
        account: Account::from_profile_json(OTHER).expect("the example profile"),
        ..SimConfig::default()
    }
}

fn dir(name: &str) -> PathBuf {
    temp_dir("onboarding", name)
}

/// The account flags for `server` and `business_file` (3 s timeout).
fn account(server: &str, business_file: &str) -> Vec<String> {
    account_flags(server, business_file, "3000")
}

fn discover(sim: &SimHandle, out: &Path) -> Output {
    incwo()
        .args(["profile", "discover"])
        .args(account(&sim.base_url(), "123456"))
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap()
}

/// A decimal string without trailing zeros (`0.20` → `0.2`, `0` → `0`).
fn decimal(v: &Value) -> String {
    let s = v.as_str().unwrap();
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[test]
fn discovery_finds_a_non_default_account_and_its_profile_syncs_the_nominal_scenario() {
    let sim = incwo_sim::spawn(other_account());
    let work = dir("discover");
    let out = work.join("profile.json");
    let run = discover(&sim, &out);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let found: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let expected: Value = serde_json::from_str(OTHER).unwrap();
    // Exactly the account's ids: taxes (code, rate, id), currency, sheet types, statuses, warehouses.
    let taxes = expected["taxes"].as_object().unwrap();
    assert_eq!(found["taxes"].as_object().unwrap().len(), taxes.len(), "{found}");
    for (code, tax) in taxes {
        assert_eq!(found["taxes"][code]["vatValueId"], tax["vatValueId"], "{code}: {found}");
        assert_eq!(decimal(&found["taxes"][code]["rate"]), decimal(&tax["rate"]), "{code}");
    }
    assert_eq!(found["currencies"], expected["currencies"]);
    assert_eq!(found["defaultCurrency"], "EUR");
    assert_eq!(found["sheetTypes"], expected["sheetTypes"]);
    assert_eq!(found["statuses"], expected["statuses"]);
    let ids = |v: &Value| {
        let mut ids: Vec<u64> = v.as_object().unwrap().values().map(|x| x.as_u64().unwrap()).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(ids(&found["warehouses"]), ids(&expected["warehouses"]));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["complete"], true);
    assert!(report["report"]["statuses"]["quote"]["seen"][2]["examples"][0]
        .as_str()
        .unwrap()
        .starts_with('D'));
    // Discovery only read.
    let state = sim.state();
    assert_eq!(state["counters"]["creates"], serde_json::json!({}));
    assert!(state["counters"]["requests"]
        .as_object()
        .unwrap()
        .values()
        .all(|methods| methods.as_object().unwrap().keys().all(|m| m == "GET")));

    // The nominal scenario syncs with the discovered profile.
    let scenario: Value = serde_json::from_str(include_str!("../../../tests/scenarios/01-nominal.json")).unwrap();
    let batch: String = scenario["steps"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string() + "\n")
        .collect();
    let batch_file = work.join("batch.jsonl");
    std::fs::write(&batch_file, batch).unwrap();
    let sync = incwo()
        .args(["sync", batch_file.to_str().unwrap()])
        .args(account(&sim.base_url(), "123456"))
        .args(["--profile", out.to_str().unwrap(), "--company", "acme"])
        .args(["--state", work.join("state.json").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(sync.status.code(), Some(0), "{}", text(&sync));
    let report: Value = serde_json::from_slice(&sync.stdout).unwrap();
    assert_eq!(report["summary"]["total"], 5, "{report}");
    assert_eq!(report["summary"]["quarantined"], 0, "{report}");
    assert_eq!(report["summary"]["deferred"], 0, "{report}");
    let state = sim.state();
    assert_eq!(state["duplicates"], serde_json::json!([]));
    let proposals = state["objects"]["proposal_sheets"].as_array().unwrap();
    let by_title = |t: &str| proposals.iter().find(|p| p["title"] == t).unwrap().clone();
    let quote = by_title("DEV-INC-2026-0107");
    assert_eq!(
        (quote["sheet_type"].as_str(), quote["progress_id"].as_i64()),
        (Some("proposal"), Some(71003))
    );
    assert_eq!(quote["vat_inc_total"], "598.80");
    let order = by_title("CMD-INC-2026-0411");
    assert_eq!(
        (order["sheet_type"].as_str(), order["progress_id"].as_i64()),
        (Some("commande"), Some(72001))
    );
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn an_account_without_data_leaves_unknowns_that_sync_refuses() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let work = dir("unknowns");
    let out = work.join("profile.json");
    let run = discover(&sim, &out);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("/sheetTypes/order") && stderr.contains("/warehouses/MAIN"),
        "{stderr}"
    );
    let profile = std::fs::read_to_string(&out).unwrap();
    assert!(profile.contains("\"unknown\""), "{profile}");
    std::fs::write(work.join("batch.jsonl"), "").unwrap();
    let sync = incwo()
        .args(["sync", work.join("batch.jsonl").to_str().unwrap()])
        .args(account(&sim.base_url(), "123456"))
        .args(["--profile", out.to_str().unwrap()])
        .args(["--state", work.join("state.json").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(sync.status.code(), Some(2), "{}", text(&sync));
    let stderr = String::from_utf8_lossy(&sync.stderr);
    for path in [
        "/sheetTypes/order",
        "/statuses/quote/accepted",
        "/taxes/TVA20/vatValueId",
    ] {
        assert!(stderr.contains(path), "{path}: {stderr}");
    }
    assert!(stderr.contains("cannot run a sync"), "{stderr}");
    assert!(!stderr.contains("secret"));
    let _ = std::fs::remove_dir_all(&work);
}

fn doctor(server: &str, business_file: &str, password: &str) -> (Option<i32>, Value) {
    let out = incwo()
        .arg("doctor")
        .args(account(server, business_file))
        .arg("--json")
        .env("INCWO_TEST_PASSWORD", password)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(password) || password == "secret");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.code(), v)
}

fn verdict(report: &Value, name: &str) -> (String, String) {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"));
    (
        c["verdict"].as_str().unwrap().to_string(),
        format!("{} {}", c["detail"].as_str().unwrap(), c["fix"].as_str().unwrap()),
    )
}

#[test]
fn doctor_names_each_failure_mode() {
    let sim = incwo_sim::spawn(other_account());
    let url = sim.base_url();
    let (code, report) = doctor(&url, "123456", "secret");
    assert_eq!(code, Some(0), "{report}");
    for name in [
        "server",
        "tls",
        "credentials",
        "business file",
        "api access",
        "list proposal_sheets",
        "clock",
    ] {
        assert_eq!(verdict(&report, name).0, "ok", "{name}: {report}");
    }

    let (code, report) = doctor(&url, "123456", "wrong-password");
    assert_eq!(code, Some(1));
    let (v, detail) = verdict(&report, "credentials");
    assert_eq!(v, "fail");
    assert!(detail.contains("wrong login or password"), "{detail}");
    assert!(!report.to_string().contains("wrong-password"));

    let (code, report) = doctor(&url, "999999", "secret");
    assert_eq!(code, Some(1));
    let (v, detail) = verdict(&report, "business file");
    assert_eq!(v, "fail");
    assert!(detail.contains("123456 (other-account)"), "{detail}");

    let off = incwo_sim::spawn(SimConfig {
        api_access: false,
        ..SimConfig::default()
    });
    let (code, report) = doctor(&off.base_url(), "123456", "secret");
    assert_eq!(code, Some(1));
    assert_eq!(verdict(&report, "credentials").0, "ok");
    assert_eq!(verdict(&report, "business file").0, "ok");
    let (v, detail) = verdict(&report, "api access");
    assert_eq!(v, "fail");
    assert!(
        detail.contains("403") && detail.contains("Settings / Users / APIs"),
        "{detail}"
    );

    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (code, report) = doctor(&down, "123456", "secret");
    assert_eq!(code, Some(1));
    let (v, detail) = verdict(&report, "server");
    assert_eq!(v, "fail");
    assert!(detail.contains("connection refused"), "{detail}");
    assert_eq!(verdict(&report, "credentials").0, "skip");
}

#[test]
fn the_runbook_is_up_to_date() {
    let out = incwo().arg("runbook").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/RUNBOOK.md")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "docs/RUNBOOK.md is stale: run `incwo runbook > docs/RUNBOOK.md`"
    );
    for code in [
        "auth.unauthorized",
        "business.reconciliation_gap",
        "deferred.customer_waiting",
    ] {
        assert!(committed.contains(&format!("`{code}`")), "{code}");
    }
}
