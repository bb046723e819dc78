//! The quarantine calls of the JSON façade (`quarantine.*`), so every
//! binding gets the same rules with no logic of its own.

use super::{Entry, Filter};
use crate::usage::UsageError;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

fn bad(message: String, hint: &str) -> UsageError {
    UsageError::new("usage.bad_arguments", message, hint)
}

fn arg<T: DeserializeOwned>(args: &Value, name: &str, hint: &str) -> Result<T, UsageError> {
    serde_json::from_value(args[name].clone()).map_err(|e| bad(format!("args.{name}: {e}"), hint))
}

fn now(args: &Value) -> Result<u64, UsageError> {
    args["now"].as_u64().ok_or_else(|| {
        bad(
            "args.now (ms since the epoch) is required".into(),
            "pass the host's clock",
        )
    })
}

const ENTRIES: &str = "pass the stored entries as the flow reported them (RecordDone.quarantine)";

/// Runs `quarantine.<name>`:
/// - `list` `{entries, filter?, now, retentionDays?}` → `{entries, expired}`;
/// - `merge` `{previous?, entry}` → `{entry}` (store this, under `entry.id`);
/// - `select` `{entries, jsonl}` → `{jsonl, missing}`: the batch lines that replay them;
/// - `settle` `{entries, done, now}` → `{entry}` (or `null`): `done` is a
///   replay's `recordDone` action;
/// - `drop` `{entry, reason, now}` → `{entry}`;
/// - `runbook` `{code}` → `{line}`.
pub fn call_json(name: &str, args: &Value) -> Result<Value, UsageError> {
    match name {
        "quarantine.list" => {
            let entries: Vec<Entry> = arg(args, "entries", ENTRIES)?;
            let filter: Filter = match &args["filter"] {
                Value::Null => Filter::default(),
                _ => arg(args, "filter", "filter fields: code, class, resource, olderThanSeconds, state")?,
            };
            let retention = args["retentionDays"].as_u64().unwrap_or(super::RETENTION_DAYS);
            let (listed, expired) = super::list(&entries, &filter, now(args)?, retention);
            Ok(json!({ "entries": listed, "expired": expired }))
        }
        "quarantine.merge" => {
            let entry: Entry = arg(args, "entry", ENTRIES)?;
            let previous: Option<Entry> = arg(args, "previous", ENTRIES)?;
            Ok(json!({ "entry": super::merge(previous.as_ref(), entry) }))
        }
        "quarantine.select" => {
            let entries: Vec<Entry> = arg(args, "entries", ENTRIES)?;
            let jsonl = args["jsonl"]
                .as_str()
                .ok_or_else(|| bad("args.jsonl must be a text".into(), "pass the original (or fixed) batch"))?;
            let (lines, missing) = super::select(&entries, jsonl);
            let mut text = lines.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            Ok(json!({ "jsonl": text, "missing": missing }))
        }
        "quarantine.settle" => {
            let entries: Vec<Entry> = arg(args, "entries", ENTRIES)?;
            let done = &args["done"];
            let outcome: crate::flow::Outcome = arg(done, "outcome", "pass the replay's recordDone action")?;
            let id = super::entry_id(done["kind"].as_str(), done["externalId"].as_str(), "", 0);
            let at = now(args)?;
            let entry = entries
                .into_iter()
                .find(|e| e.id == id && done["externalId"].is_string())
                .map(|e| super::settle(e, &outcome, at));
            Ok(json!({ "entry": entry }))
        }
        "quarantine.drop" => {
            let entry: Entry = arg(args, "entry", ENTRIES)?;
            let reason = args["reason"].as_str().unwrap_or_default();
            Ok(json!({ "entry": super::drop_entry(entry, reason, now(args)?)? }))
        }
        "quarantine.runbook" => match args["code"].as_str() {
            Some(code) => Ok(json!({ "line": super::runbook_line(code) })),
            None => Err(bad("args.code must be a text".into(), "pass an error code, e.g. contract.invalid")),
        },
        other => Err(UsageError::new(
            "usage.unknown_call",
            format!("unknown call {other:?}"),
            "quarantine calls: quarantine.list, quarantine.merge, quarantine.select, quarantine.settle, quarantine.drop, quarantine.runbook",
        )),
    }
}
