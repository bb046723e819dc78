//! The quarantine calls of the JSON façade (`quarantine.*`), so every
//! binding gets the same rules with no logic of its own.

use super::args::Args;
use crate::flow::quarantine::{self as q, Entry, Filter};
use crate::usage::UsageError;
use serde_json::json;

const ENTRIES: &str = "pass the stored entries as the flow reported them (RecordDone.quarantine)";

/// Runs `quarantine.<name>`:
/// - `list` `{entries, filter?, now, retentionDays?}` → `{entries, expired}`;
/// - `merge` `{previous?, entry}` → `{entry}` (store this, under `entry.id`);
/// - `select` `{entries, jsonl}` → `{jsonl, missing}`: the batch lines that replay them;
/// - `settle` `{entries, done, now}` → `{entry}` (or `null`): `done` is a
///   replay's `recordDone` action, `entries` those the replay sent;
/// - `replay_batch` `{entries, record? | jsonl?}` → `{jsonl}`: the lines a
///   replay sends (only open entries; a bare record takes its entry's kind);
/// - `drop` `{entry, reason, now}` → `{entry}`;
/// - `runbook` `{code}` → `{line}`.
pub(crate) fn call(name: &str, args: &serde_json::Value) -> Result<serde_json::Value, UsageError> {
    let a = Args::new(args);
    match name {
        "quarantine.list" => {
            let entries: Vec<Entry> = a.required("entries", ENTRIES)?;
            let filter: Filter = a
                .optional("filter", "filter fields: code, class, resource, olderThanSeconds, state")?
                .unwrap_or_default();
            let retention = a.lenient_u64("retentionDays").unwrap_or(q::RETENTION_DAYS);
            let (listed, expired) = q::list(&entries, &filter, a.now()?, retention);
            Ok(json!({ "entries": listed, "expired": expired }))
        }
        "quarantine.merge" => {
            let entry: Entry = a.required("entry", ENTRIES)?;
            let previous: Option<Entry> = a.optional("previous", ENTRIES)?;
            Ok(json!({ "entry": q::merge(previous.as_ref(), entry) }))
        }
        "quarantine.select" => {
            let entries: Vec<Entry> = a.required("entries", ENTRIES)?;
            let jsonl = a.required_str("jsonl", "pass the original (or fixed) batch")?;
            let (lines, missing) = q::select(&entries, jsonl);
            let mut text = lines.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            Ok(json!({ "jsonl": text, "missing": missing }))
        }
        "quarantine.settle" => {
            let entries: Vec<Entry> = a.required("entries", ENTRIES)?;
            let done = a.get("done");
            let outcome: crate::flow::Outcome =
                Args::new(done).required("outcome", "pass the replay's recordDone action")?;
            let at = a.now()?;
            let entry = q::settled_entry(&entries, done["kind"].as_str(), done["externalId"].as_str())
                .map(|e| q::settle(e.clone(), &outcome, at));
            Ok(json!({ "entry": entry }))
        }
        "quarantine.replay_batch" => {
            let entries: Vec<Entry> = a.required("entries", ENTRIES)?;
            let record = match a.get("record") {
                serde_json::Value::Null => None,
                serde_json::Value::String(text) => Some(text.clone()),
                value => Some(value.to_string()),
            };
            let fix = match (&record, a.str("jsonl")) {
                (Some(record), None) => q::Fix::Record(record),
                (None, Some(jsonl)) => q::Fix::Batch(jsonl),
                _ => {
                    return Err(super::args::bad_args(
                        "give exactly one of record (the fixed record) and jsonl (a batch)",
                        "record: the fixed record, an envelope or envelope lines; jsonl: the original or fixed batch",
                    ))
                }
            };
            Ok(json!({ "jsonl": q::replay_batch(&entries, fix)? }))
        }
        "quarantine.drop" => {
            let entry: Entry = a.required("entry", ENTRIES)?;
            let reason = a.str("reason").unwrap_or_default();
            Ok(json!({ "entry": q::drop_entry(entry, reason, a.now()?)? }))
        }
        "quarantine.runbook" => {
            let code = a.required_str("code", "pass an error code, e.g. contract.invalid")?;
            Ok(json!({ "line": q::runbook_line(code) }))
        }
        other => Err(UsageError::new(
            "usage.unknown_call",
            format!("unknown call {other:?}"),
            "quarantine calls: quarantine.list, quarantine.merge, quarantine.select, quarantine.settle, quarantine.replay_batch, quarantine.drop, quarantine.runbook",
        )),
    }
}
