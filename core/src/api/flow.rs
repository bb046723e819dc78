//! The flow as JSON: a session object every binding wraps in its own
//! handle type. Arguments and results are the JSON shapes of
//! [`crate::flow`]; errors are `{"error": {"class": "usage", ...}}`.

use super::args::{bad_args, Args};
use super::usage_error;
use crate::base::profile::Profile;
use crate::errors::TransportFailure;
use crate::flow::batch::{self, BatchItem};
use crate::flow::index::{Coverage, IndexChanges};
use crate::flow::ledger::{Entry, Ledger};
use crate::flow::{Flow, FlowOptions};
use crate::http::response_from_json;
use crate::usage::UsageError;
use serde_json::{json, Value};

/// The batch of a call: `records` (a list of `{"kind", "record"}`) or
/// `jsonl` (their JSON Lines text); `hint` is the caller's.
pub(crate) fn read_batch(args: Args<'_>, profile: &Profile, hint: &str) -> Result<Vec<BatchItem>, UsageError> {
    Ok(match (args.get("records"), args.get("jsonl")) {
        (Value::Array(records), _) => records
            .iter()
            .enumerate()
            .map(|(i, r)| batch::parse_line(i + 1, &r.to_string(), profile))
            .collect(),
        (_, Value::String(text)) => batch::parse_jsonl(text, profile),
        _ => return Err(bad_args("records (an array) or jsonl (a text) is required", hint)),
    })
}

/// A running flow driven through JSON.
#[derive(Debug)]
pub struct FlowSession {
    flow: Flow,
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| usage_error(&bad_args(format!("cannot render: {e}"), "report this")))
}

impl FlowSession {
    /// Starts (or resumes) a flow. `args`:
    /// `{"config": {server, businessFileId, auth, allowInsecureHttp?},
    ///   "profile": {...}?, "options": {...}?,
    ///   "records": [{"kind", "record"}, ...] | "jsonl": "...",
    ///   "now": ms, "seed": n, "checkpoint": "..."?, "ledger": [entries]?}`.
    /// `ledger` (entries fetched from a shared ledger table, a list or its
    /// JSON text) starts the flow with them; it is ignored when resuming
    /// from a checkpoint.
    pub fn start(args: &Value) -> Result<FlowSession, UsageError> {
        let args = Args::new(args);
        let config = args.config()?;
        let profile = args.profile()?;
        let options: FlowOptions = args
            .optional(
                "options",
                "see FlowOptions: tenant, company, retry, maxLookupPages, readBack",
            )?
            .unwrap_or_default();
        let items = read_batch(args, &profile, "pass the batch to sync")?;
        let now = args.now()?;
        let seed = args.lenient_u64("seed").unwrap_or(0);
        let flow = match args.str("checkpoint") {
            Some(checkpoint) => Flow::resume(checkpoint, items, profile, config, options, now)?,
            // A list of entries, or its JSON text (hosts that keep entries as text).
            None => {
                match args.optional_or_text::<Vec<Entry>>("ledger", "pass ledger entries as the flow reported them")? {
                    None => Flow::start(items, profile, config, options, now, seed),
                    Some(entries) => {
                        let ledger = Ledger::from_entries(entries);
                        Flow::with_ledger(items, profile, config, options, ledger, now, seed)
                    }
                }
            }
        };
        Ok(FlowSession { flow })
    }

    /// [`Flow::poll`]: the next action as JSON.
    pub fn poll(&mut self, now: u64) -> Value {
        match self.flow.poll(now) {
            Ok(action) => to_value(&action),
            Err(e) => usage_error(&e),
        }
    }

    /// [`Flow::on_response`]; `response` is `{"status", "headers"?, "body"? | "bodyBase64"?}`.
    pub fn on_response(&mut self, request_id: u64, response: &Value, now: u64) -> Value {
        let result = response_from_json(response).and_then(|r| self.flow.on_response(request_id, r, now));
        match result {
            Ok(()) => json!({"ok": true}),
            Err(e) => usage_error(&e),
        }
    }

    /// [`Flow::on_transport_error`]; `failure` is `{"kind": "timeout", "phase": "sent"}`.
    pub fn on_transport_error(&mut self, request_id: u64, failure: &Value, now: u64) -> Value {
        let result = serde_json::from_value::<TransportFailure>(failure.clone())
            .map_err(|e| {
                bad_args(
                    format!("failure: {e}"),
                    "kind is connect_refused, dns, tls, timeout or reset",
                )
            })
            .and_then(|f| self.flow.on_transport_error(request_id, f, now));
        match result {
            Ok(()) => json!({"ok": true}),
            Err(e) => usage_error(&e),
        }
    }

    /// [`Flow::checkpoint`].
    pub fn checkpoint(&self) -> String {
        self.flow.checkpoint()
    }

    /// [`Flow::take_changed_entries`]: `{"entries": [...]}`, the ledger
    /// entries changed since the last call (a `pending` entry is there
    /// before its create's `Send` is returned).
    pub fn take_changed_entries(&mut self) -> Value {
        json!({ "entries": to_value(&self.flow.take_changed_entries()) })
    }

    /// [`Flow::load_index`]: loads the marker index a host saved, as
    /// [`IndexChanges`] JSON text (`{"entries": [{"resource", "marker",
    /// "found"}], "coverage": {resource: {...}}}`, the changes accumulated
    /// or an export). Call it before the first poll.
    pub fn load_index(&mut self, json: &str) -> Result<(), UsageError> {
        let saved: IndexChanges = serde_json::from_str(json).map_err(|e| {
            UsageError::new(
                "usage.bad_index",
                format!(
                    "the saved marker index does not parse at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
                "pass what take_index_changes returned, accumulated (entries upserted by resource and marker, \
                 coverage by resource); an index that cannot be repaired can be dropped: the next run rebuilds it",
            )
        })?;
        self.flow.load_index(saved);
        Ok(())
    }

    /// [`Flow::take_index_changes`]: `{"entries": [...], "coverage": {...}}`,
    /// what changed in the marker index since the last call, to upsert
    /// beside the ledger entries in the same transaction.
    pub fn take_index_changes(&mut self) -> Value {
        to_value(&self.flow.take_index_changes())
    }

    /// [`Flow::index_progress`]: `{"passes": [{"resource", "pagesRead",
    /// "totalPages"}]}`, the index passes in progress (for a progress bar).
    pub fn index_progress(&self) -> Value {
        json!({ "passes": to_value(&self.flow.index_progress()) })
    }

    /// The flow's metrics in Prometheus text format.
    pub fn metrics(&self) -> String {
        self.flow.metrics().render_prometheus()
    }

    /// [`Flow::summary`] and the outcome of each record.
    pub fn summary(&self) -> Value {
        json!({"summary": to_value(&self.flow.summary()), "outcomes": to_value(&self.flow.outcomes())})
    }

    /// The underlying flow.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }
}

/// `index.merge_coverage`: `{"stored"?: coverage, "incoming": coverage}` →
/// the coverage a store shared by several writers keeps for one resource
/// (see [`Coverage::merge`]); each a [`Coverage`] object or its JSON text,
/// `stored` absent or null when the store holds none yet.
pub(crate) fn merge_coverage_call(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let hint = "pass the coverage of takeIndexChanges() (incoming) and the one the store holds (stored)";
    let incoming: Coverage = args
        .optional_or_text("incoming", hint)?
        .ok_or_else(|| bad_args("incoming (a coverage) is required", hint))?;
    let stored: Option<Coverage> = args.optional_or_text("stored", hint)?;
    Ok(match stored {
        Some(stored) => to_value(&Coverage::merge(&stored, &incoming)),
        None => to_value(&incoming),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> FlowSession {
        FlowSession::start(&json!({
            "config": {"server": "https://www.incwo.com", "businessFileId": "123456",
                       "auth": {"type": "basic", "login": "api@example.fr", "password": "secret"}},
            "records": [],
            "now": 0,
        }))
        .unwrap()
    }

    #[test]
    fn a_saved_index_loads_and_exports_the_same() {
        let mut s = session();
        let saved = json!({
            "entries": [{"resource": "firms", "marker": "C-1", "found": [{"id": 7}]}],
            "coverage": {"firms": {"watermark": 7, "totalPages": 1, "order": "ascending"}},
        });
        s.load_index(&saved.to_string()).unwrap();
        assert_eq!(to_value(&s.flow().export_index()), saved);
        // Loading is not a change to save again.
        assert_eq!(s.take_index_changes(), json!({"entries": [], "coverage": {}}));
        assert_eq!(s.index_progress(), json!({"passes": []}));
    }

    #[test]
    fn merge_coverage_keeps_the_higher_watermark_and_names_a_missing_argument() {
        let stored = json!({"watermark": 80, "totalPages": 4, "order": "ascending"});
        let incoming = json!({"watermark": 40, "totalPages": 5, "order": "ascending", "pass": {"nextPage": 3}});
        let merged = merge_coverage_call(&json!({"stored": stored, "incoming": incoming.to_string()})).unwrap();
        assert_eq!(
            (merged["watermark"].as_u64(), merged["totalPages"].as_u64()),
            (Some(80), Some(5))
        );
        assert_eq!(merged["pass"]["nextPage"], 3);
        let first = merge_coverage_call(&json!({"stored": null, "incoming": incoming})).unwrap();
        assert_eq!(first["watermark"], 40);
        let e = merge_coverage_call(&json!({"stored": stored})).unwrap_err();
        assert_eq!(e.code, "usage.bad_arguments");
        assert!(e.message.starts_with("incoming"), "{}", e.message);
    }

    #[test]
    fn a_saved_index_that_does_not_parse_is_a_usage_error_with_a_hint() {
        let mut s = session();
        for bad in ["", "[1]", r#"{"entries": [{"resource": "firms"}]}"#] {
            let e = s.load_index(bad).unwrap_err();
            assert_eq!(e.code, "usage.bad_index", "{bad}");
            assert!(e.hint.contains("rebuilds"), "{}", e.hint);
        }
    }
}
