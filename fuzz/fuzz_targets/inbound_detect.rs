//! Inbound change detection on hostile input: arbitrary ledger entries (a
//! hand-edited or imported checkpoint) compared with an arbitrary incwo
//! object (quantities and totals of any size), twice in a row, as quotes,
//! orders and invoices. A clear error or a detection, never a panic.
//! Input: the entries' JSON, a NUL byte, then the XML body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|b| *b == 0) else { return };
    let (entries, body) = (&data[..split], &data[split + 1..]);
    let Ok(entries) = serde_json::from_slice::<Value>(entries) else { return };
    let body = String::from_utf8_lossy(body);
    // The ids the ledger names, plus the first <id> of the body.
    let mut ids: Vec<u64> = entries
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["incwoId"].as_u64())
        .take(4)
        .collect();
    if let Some(id) = body
        .split_once("<id>")
        .and_then(|(_, rest)| rest.split_once("</id>"))
        .and_then(|(id, _)| id.trim().parse().ok())
    {
        ids.push(id);
    }
    for resource in ["proposal_sheets", "bill_sheets"] {
        for id in &ids {
            let mut ledger = entries.clone();
            for source in ["webhook", "poll"] {
                let args = json!({
                    "target": {"resource": resource, "id": id},
                    "response": {"status": 200, "body": body},
                    "entries": ledger,
                    "options": {"company": "acme"},
                    "source": source,
                    "now": 1_776_000_000_000u64,
                });
                let out = incwo_core::api::call("inbound.detect", &args);
                // The next detection sees the changed entries (later ones win).
                if let (Some(all), Some(changed)) = (ledger.as_array_mut(), out["entries"].as_array()) {
                    all.extend(changed.iter().cloned());
                }
            }
        }
    }
});
