//! The quarantine workflow end to end, real `incwo` processes against the
//! simulator over HTTP: a contract-violating order is quarantined by
//! `incwo sync`, listed, shown with its violation path and runbook line,
//! fixed, replayed (`replay_total{reason="manual"}` = 1) and synced exactly
//! once (counted in the simulator's state); another is dropped with a reason.

mod support;

use incwo_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use support::{account, incwo, temp_dir, text};

fn dir(name: &str) -> PathBuf {
    temp_dir("quarantine", name)
}

fn run(args: &[&str]) -> Output {
    incwo().args(args).output().unwrap()
}

fn stdout(o: &Output, code: i32) -> String {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `incwo sync` of [`batch`] (written into `dir`) on `state`.
fn first_sync(sim: &SimHandle, dir: &Path, state: &Path) -> Output {
    let batch_path = dir.join("batch.jsonl");
    std::fs::write(&batch_path, batch()).unwrap();
    incwo()
        .args(["sync", batch_path.to_str().unwrap()])
        .args(account(sim))
        .args(["--state", state.to_str().unwrap()])
        .output()
        .unwrap()
}

fn order(number: &str, price: Option<f64>) -> Value {
    let mut line =
        json!({"sku": "KIT-API-01", "description": "Kit, ask jane.doe@example.com", "qty": 2, "taxCode": "TVA20"});
    if let Some(price) = price {
        line["unitPriceExclTax"] = json!(price);
    }
    json!({"orderNumber": number, "customerExternalId": "CLI-Q", "orderDate": "2026-04-11", "currency": "EUR", "lines": [line]})
}

fn batch() -> String {
    [
        json!({"kind": "customer", "record": {"externalId": "CLI-Q", "name": "Client Q", "kind": "client",
            "billingAddress": {"line1": "18 rue des Tanneurs", "zipCode": "69002", "city": "Lyon", "country": "FR"}}}),
        json!({"kind": "product", "record": {"sku": "KIT-API-01", "name": "Kit", "unitPriceExclTax": 49.9, "taxCode": "TVA20", "unit": "unit", "active": true}}),
        json!({"kind": "order", "record": order("CMD-Q-1", None)}),
        json!({"kind": "order", "record": order("CMD-Q-2", None)}),
    ]
    .iter()
    .map(|l| l.to_string() + "\n")
    .collect()
}

/// The simulator's orders titled `number`.
fn orders_in_incwo(sim: &SimHandle, number: &str) -> usize {
    let state = sim.state();
    assert_eq!(state["duplicates"], json!([]), "{}", state["duplicates"]);
    state["objects"]["proposal_sheets"]
        .as_array()
        .map_or(0, |all| all.iter().filter(|o| o["title"] == number).count())
}

fn list_json(state: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "quarantine",
        "list",
        "--state",
        state.to_str().unwrap(),
        "--business-file",
        "123456",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out: Value = serde_json::from_str(&stdout(&run(&args), 0)).unwrap();
    out["entries"].as_array().unwrap().clone()
}

#[test]
fn a_contract_violating_order_is_quarantined_listed_shown_fixed_replayed_once_or_dropped() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let d = dir("e2e");
    let state = d.join("state.db");
    let state_arg = state.to_str().unwrap();

    // Quarantined by the sync: nothing reaches incwo.
    let report: Value = serde_json::from_str(&stdout(&first_sync(&sim, &d, &state), 1)).unwrap();
    assert_eq!(report["summary"]["quarantined"], 2, "{report}");
    assert_eq!(orders_in_incwo(&sim, "CMD-Q-1"), 0);

    // Listed: table, JSON, filters.
    let table = stdout(
        &run(&["quarantine", "list", "--state", state_arg, "--business-file", "123456"]),
        0,
    );
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains("contract.invalid") && table.contains("CMD-Q-1") && table.contains("2 record(s)"),
        "{table}"
    );
    let entries = list_json(&state, &[]);
    assert_eq!(entries.len(), 2);
    let id = |n: &str| -> String {
        entries.iter().find(|e| e["externalId"] == n).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (first, second) = (id("CMD-Q-1"), id("CMD-Q-2"));
    assert_eq!(
        list_json(
            &state,
            &["--code", "contract.", "--class", "contract", "--resource", "order"]
        )
        .len(),
        2
    );
    assert!(list_json(&state, &["--code", "business."]).is_empty());
    assert!(list_json(&state, &["--resource", "invoice"]).is_empty());
    assert!(list_json(&state, &["--older-than", "1h"]).is_empty());

    // Shown: the violation's path, the runbook line, the record redacted.
    let show = stdout(
        &run(&[
            "quarantine",
            "show",
            &first,
            "--state",
            state_arg,
            "--business-file",
            "123456",
        ]),
        0,
    );
    assert!(show.contains("/lines/0/unitPriceExclTax  required"), "{show}");
    assert!(show.contains("runbook: contract.invalid (contract): "), "{show}");
    assert!(
        show.contains("[email]") && !show.contains("jane.doe"),
        "personal data is redacted: {show}"
    );
    assert!(show.contains("requests already made: none"), "{show}");
    let unknown = run(&[
        "quarantine",
        "show",
        "q-0",
        "--state",
        state_arg,
        "--business-file",
        "123456",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no quarantine entry q-0"));
    let typo = run(&[
        "quarantine",
        "list",
        "--state",
        "/nonexistent/state.db",
        "--business-file",
        "123456",
    ]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("no state store at /nonexistent/state.db"));

    // Fixed and replayed: synced once, counted as a manual replay.
    let fixed = d.join("fixed.json");
    std::fs::write(&fixed, order("CMD-Q-1", Some(49.9)).to_string()).unwrap();
    let mut replay = vec![
        "quarantine".to_string(),
        "replay".into(),
        first.clone(),
        "--record".into(),
    ];
    replay.push(fixed.to_str().unwrap().into());
    replay.extend(account(&sim));
    replay.extend(["--state".into(), state_arg.into()]);
    let replay: Vec<&str> = replay.iter().map(String::as_str).collect();
    let out: Value = serde_json::from_str(&stdout(&run(&replay), 0)).unwrap();
    assert_eq!(out["replayed"], json!([first]), "{out}");
    assert_eq!(out["metrics"], json!(["replay_total{reason=\"manual\"} 1"]), "{out}");
    assert_eq!(out["summary"]["synced"], 1, "{out}");
    assert_eq!(orders_in_incwo(&sim, "CMD-Q-1"), 1);

    // A replayed entry is closed: replaying it again is refused, and the
    // fixed record synced again is a no-op (the ledger has it).
    let again = run(&replay);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is replayed"));
    let replayed = list_json(&state, &["--status", "replayed"]);
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0]["id"], first.as_str());
    assert_eq!(orders_in_incwo(&sim, "CMD-Q-1"), 1);

    // The other one is dropped with its reason, kept.
    let drop = [
        "quarantine",
        "drop",
        &second,
        "--reason",
        "cancelled by the shop, told jane.doe@example.com",
    ];
    let dropped = stdout(
        &run(&[&drop[..], &["--state", state_arg, "--business-file", "123456"]].concat()),
        0,
    );
    assert!(
        dropped.contains("dropped  cancelled by the shop, told [email]"),
        "{dropped}"
    );
    assert!(list_json(&state, &[]).is_empty());
    let all = list_json(&state, &["--status", "dropped"]);
    assert_eq!(all[0]["dropReason"], "cancelled by the shop, told [email]");
    let no_reason = run(&[
        "quarantine",
        "drop",
        &second,
        "--reason",
        " ",
        "--state",
        state_arg,
        "--business-file",
        "123456",
    ]);
    assert_eq!(no_reason.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_reason.stderr).contains("needs a reason"));
    assert_eq!(orders_in_incwo(&sim, "CMD-Q-2"), 0);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn replay_all_matching_takes_the_lines_from_the_fixed_batch() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let d = dir("batch");
    let state = d.join("state.db");
    let state_arg = state.to_str().unwrap();
    stdout(&first_sync(&sim, &d, &state), 1);

    let fixed_batch = d.join("fixed.jsonl");
    let fixed: String = batch()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["kind"] == "order" {
                v["record"]["lines"][0]["unitPriceExclTax"] = json!(49.9);
            }
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(&fixed_batch, fixed).unwrap();
    let mut replay = vec![
        "quarantine",
        "replay",
        "--all-matching",
        "--code",
        "contract.invalid",
        "--batch",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    replay.push(fixed_batch.to_str().unwrap().into());
    replay.extend(account(&sim));
    replay.extend(["--state".into(), state_arg.into()]);
    let replay: Vec<&str> = replay.iter().map(String::as_str).collect();
    let out: Value = serde_json::from_str(&stdout(&run(&replay), 0)).unwrap();
    assert_eq!(out["replayed"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(out["metrics"], json!(["replay_total{reason=\"manual\"} 2"]), "{out}");
    assert_eq!(out["requests"]["POST"], 2, "only the two orders are created: {out}");
    assert_eq!(
        (orders_in_incwo(&sim, "CMD-Q-1"), orders_in_incwo(&sim, "CMD-Q-2")),
        (1, 1)
    );
    let nothing = stdout(&run(&replay), 0);
    assert!(nothing.contains("nothing replayed"), "{nothing}");
    let _ = std::fs::remove_dir_all(&d);
}
