//! Accounts at scale, with real `incwo` processes and real HTTP against the
//! simulator: the marker index makes a record's cost independent of the
//! account's size. A first run sweeps the account's list pages once (its
//! cost reported apart); after it, new customers cost one list page and one
//! create each, in both list orders, and none is quarantined or duplicated.

mod support;

use incwo_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;
use support::{temp_dir, text};

/// `n` new customers `{tag}-n` (JSON Lines).
fn customers(n: usize, tag: &str) -> String {
    (0..n)
        .map(|i| {
            json!({"kind": "customer", "record": {
                "externalId": format!("{tag}-{i:05}"), "name": format!("Client {tag} {i}"), "kind": "client",
                "email": format!("c{i}@example.fr"),
                "billingAddress": {"line1": "1 rue A", "zipCode": "69002", "city": "Lyon", "country": "FR"}}})
            .to_string()
                + "\n"
        })
        .collect()
}

/// Syncs `batch` with the state `state`; returns the run's report.
fn sync(sim: &SimHandle, dir: &Path, name: &str, batch: &str, state: &Path) -> (Value, Output) {
    let file = dir.join(format!("{name}.jsonl"));
    std::fs::write(&file, batch).unwrap();
    let out = support::incwo()
        .args(["sync", file.to_str().unwrap()])
        .args(support::account(sim))
        .args(["--state", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("a report: {}", text(&out)));
    (report, out)
}

fn requests(report: &Value) -> u64 {
    report["requests"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum()
}

/// Seeds `firms` firms, sweeps them in a first run, then syncs `new` new
/// customers; returns (sweep requests, requests per new customer).
fn first_sync_after_sweep(sim: &SimHandle, name: &str, firms: u64, new: usize) -> (u64, f64) {
    let dir = temp_dir("scale", name);
    let state = dir.join("state.db");
    let seeded = sim.seed(&json!({"firms": firms, "prefix": "OLD"})).unwrap();
    assert_eq!(seeded["firms"]["count"], firms, "{seeded}");

    let (sweep, out) = sync(sim, &dir, "first", &customers(1, &format!("{name}-FIRST")), &state);
    assert_eq!(sweep["summary"]["synced"], 1, "{}", text(&out));
    let sweep_requests = requests(&sweep);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("incwo: indexed firms"),
        "the sweep shows its progress: {stderr}"
    );

    let (run, out) = sync(sim, &dir, "new", &customers(new, name), &state);
    assert_eq!(
        (
            run["summary"]["synced"].as_u64(),
            run["summary"]["quarantined"].as_u64()
        ),
        (Some(new as u64), Some(0)),
        "{}",
        text(&out)
    );
    let counts = sim.counts();
    assert_eq!(counts["duplicatesTotal"], 0, "{counts}");
    assert_eq!(
        counts["counts"]["firms"].as_u64().unwrap(),
        firms + 1 + new as u64,
        "{counts}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    (sweep_requests, requests(&run) as f64 / new as f64)
}

#[test]
fn two_thousand_new_customers_into_five_thousand_firms_cost_two_requests_each() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let (sweep, per_record) = first_sync_after_sweep(&sim, "asc", 5_000, 2_000);
    eprintln!("ascending order: sweep {sweep} requests, then {per_record:.3} requests per new customer");
    let pages = 5_000 / 20 + 1;
    assert!(
        (pages..=pages + 3).contains(&sweep),
        "the sweep reads each page once: {sweep}"
    );
    assert!(per_record <= 2.2, "{per_record} requests per record");
}

#[test]
fn in_an_unknown_list_order_the_sweep_is_paid_once_per_run() {
    let sim = incwo_sim::spawn(SimConfig::default());
    sim.configure(&json!({"listOrder": "unknown"})).unwrap();
    let (sweep, per_record) = first_sync_after_sweep(&sim, "unknown", 2_000, 300);
    eprintln!("unknown order: sweep {sweep} requests, then {per_record:.3} requests per new customer");
    // One whole read per run (about 100 pages) shared by 300 records, plus
    // one create each.
    assert!(per_record <= 1.0 + 110.0 / 300.0, "{per_record} requests per record");
}

#[test]
fn a_sweep_cut_by_the_page_budget_defers_and_the_next_run_continues() {
    let sim = incwo_sim::spawn(SimConfig::default());
    sim.seed(&json!({"firms": 1_000, "prefix": "OLD"})).unwrap();
    let dir = temp_dir("scale", "budget");
    let (state, file) = (dir.join("state.db"), dir.join("batch.jsonl"));
    std::fs::write(&file, customers(5, "BUDGET")).unwrap();
    let run = || {
        support::incwo()
            .args(["sync", file.to_str().unwrap()])
            .args(support::account(&sim))
            .args(["--state", state.to_str().unwrap(), "--max-lookup-pages", "20"])
            .output()
            .unwrap()
    };
    let mut gets = Vec::new();
    for attempt in 1..=4 {
        let out = run();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
        gets.push(report["requests"]["GET"].as_u64().unwrap_or(0));
        if out.status.success() {
            assert_eq!(report["summary"]["synced"], 5, "{}", text(&out));
            assert!(attempt >= 3, "51 pages at 20 a run take three runs: {gets:?}");
            assert_eq!(sim.counts()["duplicatesTotal"], 0);
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert_eq!(
            report["summary"]["stopped"]["code"],
            "deferred.index_budget",
            "{}",
            text(&out)
        );
        assert_eq!(report["summary"]["deferred"], 5, "{}", text(&out));
        // The budget counts the pages of a pass beyond its first.
        assert!(gets[attempt - 1] <= 21, "the budget holds: {gets:?}");
    }
    panic!("the sweep never finished: {gets:?}");
}

/// Seeds `firms` firms in unknown list order, sweeps them in a first run,
/// then syncs 12 new customers while half the creates' answers are lost
/// (the connection closes after the commit); returns (list pages of the
/// account, answers lost, GETs of that run, its report).
fn lost_answers_in_unknown_order(firms: u64) -> (u64, usize, u64, Value) {
    let sim = incwo_sim::spawn(SimConfig::default());
    sim.configure(&json!({"listOrder": "unknown"})).unwrap();
    sim.seed(&json!({"firms": firms, "prefix": "OLD"})).unwrap();
    let name = format!("lost-{firms}");
    let dir = temp_dir("scale", &name);
    let state = dir.join("state.db");
    sync(&sim, &dir, "first", &customers(1, &format!("{name}-FIRST")), &state);
    sim.add_faults(
        &json!({"method": "POST", "resource": "firms", "probability": 0.5, "seed": 7,
                           "fault": {"kind": "drop_after_commit"}}),
    )
    .unwrap();
    sim.reset_requests();
    let (run, out) = sync(&sim, &dir, "lost", &customers(12, &name), &state);
    let log = sim.request_log(0, 100_000);
    let lost = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "POST" && !e["fault"].is_null())
        .count();
    assert_eq!(
        (
            run["summary"]["synced"].as_u64(),
            run["summary"]["quarantined"].as_u64()
        ),
        (Some(12), Some(0)),
        "{}",
        text(&out)
    );
    let counts = sim.counts();
    assert_eq!(counts["duplicatesTotal"], 0, "{counts}");
    assert_eq!(counts["counts"]["firms"].as_u64().unwrap(), firms + 1 + 12, "{counts}");
    let _ = std::fs::remove_dir_all(&dir);
    let pages = (firms + 1 + 12).div_ceil(20);
    (pages, lost, run["requests"]["GET"].as_u64().unwrap_or(0), run)
}

#[test]
fn in_an_unknown_list_order_lost_answers_share_one_whole_read_per_run() {
    for firms in [400, 4_000] {
        let (pages, lost, gets, run) = lost_answers_in_unknown_order(firms);
        let reconciled = run["requests"]["POST"].as_u64().unwrap();
        eprintln!("unknown order, {firms} firms, {lost} answers lost: {gets} GETs for {pages} pages; {run}");
        assert!(lost >= 3, "the fault loses several answers: {lost}");
        // One whole read for the lookups, one for every lost answer of the
        // run (not one each): the count follows the account's pages, never
        // the number of lost answers.
        assert!(gets <= 2 * (pages + 1), "{gets} GETs for {pages} pages: {run}");
        assert_eq!(reconciled, 12, "every lost create was found, none created again: {run}");
    }
}
