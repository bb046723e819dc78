//! `incwo sync --max-in-flight K` against the simulator with 25 ms of
//! latency on every request: 200 orders of 50 customers synced with K = 1
//! and K = 16 leave the same objects in incwo (no duplicate), each
//! customer's orders are created in batch order, and K = 16 is at least 5×
//! faster. Records per second for K = 1, 4, 16, 64 are measured by the scale
//! bench (`bench/scale/lanes.py`, `BENCH_HOSTS=scale ./scripts/bench`).

mod support;

use incwo_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::*;

const CUSTOMERS: usize = 50;
const ORDERS: usize = 200;
const PRODUCTS: usize = 5;

/// 50 customers, 5 products, then 200 orders, customer `i % 50` each, all
/// naming the products (shared by every customer).
fn batch(work: &Path) -> PathBuf {
    let mut lines = Vec::new();
    for c in 0..CUSTOMERS {
        lines.push(
            json!({"kind": "customer", "record": {"externalId": format!("C-{c:03}"), "name": format!("Client {c}")}}),
        );
    }
    for p in 0..PRODUCTS {
        lines.push(json!({"kind": "product", "record": {"sku": format!("P-{p}"), "name": format!("Produit {p}"), "unitPriceExclTax": "12.50", "taxCode": "TVA20"}}));
    }
    for o in 0..ORDERS {
        let line =
            |p: usize| json!({"sku": format!("P-{p}"), "qty": "2", "unitPriceExclTax": "12.50", "taxCode": "TVA20"});
        lines.push(json!({"kind": "order", "record": {
            "orderNumber": format!("O-{o:04}"), "customerExternalId": format!("C-{:03}", o % CUSTOMERS),
            "orderDate": "2026-04-11", "currency": "EUR", "lines": [line(o % PRODUCTS), line((o + 1) % PRODUCTS)]}}));
    }
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let path = work.join("batch.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

/// A simulator answering every request 25 ms late.
fn slow_sim() -> SimHandle {
    let sim = incwo_sim::spawn(SimConfig::default());
    sim.add_faults(&json!([{"fault": {"kind": "latency", "ms": 25}}]))
        .expect("a latency rule");
    sim
}

/// Syncs `batch` into `sim` with `k` requests in flight; the run's wall time.
fn sync(sim: &SimHandle, work: &Path, batch: &Path, k: usize) -> Duration {
    let state = work.join(format!("state-{k}"));
    let started = Instant::now();
    let out = incwo()
        .args(["sync", batch.to_str().unwrap()])
        .args(account(sim))
        .args(["--state", state.to_str().unwrap()])
        .args(["--max-in-flight", &k.to_string()])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "K={k}: {}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["summary"]["synced"],
        CUSTOMERS + PRODUCTS + ORDERS,
        "K={k}: {report}"
    );
    took
}

/// What incwo holds, by marker: firms, products, and each order with its
/// customer's marker and totals.
fn holdings(state: &Value) -> (BTreeSet<String>, BTreeSet<String>, BTreeMap<String, Value>) {
    let objects = |res: &str| state["objects"][res].as_array().cloned().unwrap_or_default();
    let firm_of: BTreeMap<u64, String> = objects("firms")
        .iter()
        .map(|f| {
            (
                f["id"].as_u64().unwrap(),
                f["accounting_ref"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let firms = firm_of.values().cloned().collect();
    let products = objects("customer_products")
        .iter()
        .map(|p| p["reference"].as_str().unwrap().to_string())
        .collect();
    let orders = objects("proposal_sheets")
        .iter()
        .map(|s| {
            let firm = s["firm_id"].as_u64().and_then(|id| firm_of.get(&id).cloned());
            (
                s["title"].as_str().unwrap().to_string(),
                json!({"firm": firm, "total": s["vat_inc_total"], "lines": s["proposal_lines"].as_array().map(Vec::len)}),
            )
        })
        .collect();
    (firms, products, orders)
}

/// Each customer's orders, in the order incwo created them (ascending ids).
fn created_order_by_customer(state: &Value) -> BTreeMap<u64, Vec<String>> {
    let mut sheets: Vec<(u64, u64, String)> = state["objects"]["proposal_sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["firm_id"].as_u64().unwrap(),
                s["id"].as_u64().unwrap(),
                s["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    sheets.sort_by_key(|(_, id, _)| *id);
    let mut by_firm: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (firm, _, title) in sheets {
        by_firm.entry(firm).or_default().push(title);
    }
    by_firm
}

#[test]
fn sixteen_in_flight_sync_the_same_objects_in_each_customers_order_at_least_five_times_faster() {
    let work = temp_dir("lanes", "compare");
    let batch = batch(&work);
    let mut runs = Vec::new();
    for k in [1, 16] {
        let sim = slow_sim();
        let took = sync(&sim, &work, &batch, k);
        let state = sim.state();
        assert_eq!(state["duplicates"], json!([]), "K={k}");
        for (firm, titles) in created_order_by_customer(&state) {
            let mut sorted = titles.clone();
            sorted.sort();
            assert_eq!(
                titles, sorted,
                "K={k}: firm {firm}'s orders were created out of batch order"
            );
        }
        eprintln!(
            "K={k}: {} records in {:.2} s ({:.0} records/s)",
            CUSTOMERS + PRODUCTS + ORDERS,
            took.as_secs_f64(),
            (CUSTOMERS + PRODUCTS + ORDERS) as f64 / took.as_secs_f64()
        );
        runs.push((took, holdings(&state)));
    }
    let (one, sixteen) = (&runs[0], &runs[1]);
    assert_eq!(one.1 .0.len(), CUSTOMERS);
    assert_eq!(one.1 .1.len(), PRODUCTS);
    assert_eq!(one.1 .2.len(), ORDERS);
    assert_eq!(one.1, sixteen.1, "K=16 leaves what K=1 leaves");
    let speedup = one.0.as_secs_f64() / sixteen.0.as_secs_f64();
    eprintln!("K=16 is {speedup:.1}x faster than K=1");
    assert!(speedup >= 5.0, "K=16 is only {speedup:.1}x faster than K=1");
}
