//! The quarantine: what a human must decide, kept so an operator can act on it.
//!
//! A record the flow ends as [`Outcome::Quarantined`](crate::flow::Outcome)
//! (a contract violation, a business refusal, an inconclusive
//! reconciliation…) comes with an [`Entry`] in its
//! [`Action::RecordDone`](crate::flow::Action): the record, its error (class,
//! code, violations with their paths, incwo's answer), the runbook line of
//! its code and the requests already made for it. Hosts only store entries
//! by [`Entry::id`]; every rule about them lives here and in the JSON calls
//! of `quarantine.*` (`crate::api`), so every host behaves the same:
//!
//! - **Redaction**: an entry holds customers' personal data, so its record
//!   and texts are redacted as log lines are ([`crate::telemetry::redact`];
//!   values under sensitive keys such as `email` or `phone` become
//!   `[redacted]`). The external id and the violation paths are kept.
//! - **Retention**: [`list`] reports as `expired` every entry whose last
//!   change is older than the retention (default [`RETENTION_DAYS`] days);
//!   hosts delete them.
//! - **Identity**: one entry per record (kind + external id, else batch and
//!   line): a record quarantined again updates its entry ([`merge`]: first
//!   seen kept, attempts counted, open again).
//! - **Replay** goes through the normal flow (ledger, reconcile-before-create,
//!   so it never duplicates) with the flow option `manualReplay`, which
//!   counts `replay_total{reason="manual"}` once per replayed record;
//!   [`select`] picks the records of a batch that match entries, [`settle`]
//!   marks an entry replayed when its record synced.
//! - **Drop** keeps the entry with its (mandatory) reason ([`drop_entry`]).

mod redact;
mod replay;
pub mod runbook;
pub use replay::{replay_batch, settled_entry, Fix};
mod tracker;

#[cfg(test)]
mod tests;

pub use tracker::Tracker;

use crate::flow::ErrorInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Days an entry is kept after its last change, unless the host says otherwise.
pub const RETENTION_DAYS: u64 = 30;

const DAY_MS: u64 = 86_400_000;

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "QuarantineState"))]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waits for an operator.
    Open,
    /// Replayed and synced (or found already applied).
    Replayed,
    /// Dropped by an operator, with a reason.
    Dropped,
}

/// A request already made for the quarantined record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestTrace {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The URL, redacted like a log line.
    pub url: String,
    /// The HTTP status answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The transport failure (`timeout`, `reset`…), if no status came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One quarantined record. JSON camelCase; times are ms since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "QuarantineEntry"))]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Stable id (`q-` + 16 hex digits): the same record gets the same id.
    pub id: String,
    /// `open`, `replayed` or `dropped`.
    pub state: State,
    /// The record's kind (`order`…), when the line named a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The record's external id (order number, SKU…), when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// 1-based line in the batch it came from.
    pub line: usize,
    /// Digest of that batch.
    pub batch: String,
    /// Why: class, code, message, violations (with paths), incwo's answer.
    pub error: ErrorInfo,
    /// The runbook line of the code: what it means and what to do.
    pub runbook: String,
    /// The record as received, redacted (`null` when the line was not JSON).
    pub record: Value,
    /// Requests made for the record before it was quarantined.
    #[serde(default)]
    pub requests: Vec<RequestTrace>,
    /// When it was first quarantined.
    pub first_seen: u64,
    /// When it was last quarantined, replayed or dropped.
    pub last_seen: u64,
    /// How many times it was quarantined.
    pub attempts: u32,
    /// Why it was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_reason: Option<String>,
}

/// The id of a record's entry: by kind and external id when known (a fixed
/// record keeps its entry), else by batch and line.
pub fn entry_id(kind: Option<&str>, external_id: Option<&str>, batch: &str, line: usize) -> String {
    let name = match (kind, external_id) {
        (Some(kind), Some(id)) => format!("{kind}\u{1f}{id}"),
        _ => format!("{batch}\u{1f}{line}"),
    };
    let hash = crate::flow::ledger::payload_hash(&format!("quarantine\u{1f}{name}"));
    format!("q-{}", &hash[..16])
}

/// The runbook line of a code: `code (class): meaning → action`, from the
/// core's code table (docs/RUNBOOK.md).
pub fn runbook_line(code: &str) -> String {
    match crate::base::codes::lookup(code) {
        Some(info) => format!("{} ({}): {} → {}", code, info.class, info.meaning, info.action),
        None => format!("{code}: not in the code table; see docs/RUNBOOK.md and report it"),
    }
}

/// Builds the entry of a record quarantined at `now` (redacted).
pub fn new_entry(
    item: &crate::flow::batch::BatchItem,
    batch: &str,
    error: &ErrorInfo,
    requests: Vec<RequestTrace>,
    now: u64,
) -> Entry {
    let kind = item.kind.map(|k| k.as_str().to_string());
    let record = match (&item.record, &item.raw) {
        (Ok(record), _) => serde_json::to_value(record)
            .map(|v| v["record"].clone())
            .unwrap_or(Value::Null),
        (Err(_), Some(raw)) => raw.clone(),
        (Err(_), None) => Value::Null,
    };
    Entry {
        id: entry_id(kind.as_deref(), item.external_id.as_deref(), batch, item.line),
        state: State::Open,
        kind,
        external_id: item.external_id.clone(),
        line: item.line,
        batch: batch.to_string(),
        error: redact::error(error),
        runbook: runbook_line(&error.code),
        record: redact::value(&record),
        requests,
        first_seen: now,
        last_seen: now,
        attempts: 1,
        drop_reason: None,
    }
}

/// A record quarantined again: the new entry, with the first sighting and
/// the count of the previous one; open again whatever it was.
pub fn merge(previous: Option<&Entry>, mut entry: Entry) -> Entry {
    if let Some(previous) = previous.filter(|p| p.id == entry.id) {
        entry.first_seen = previous.first_seen.min(entry.first_seen);
        entry.attempts = previous.attempts.saturating_add(entry.attempts);
    }
    entry.state = State::Open;
    entry.drop_reason = None;
    entry
}

/// What an operator filters a list by; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Filter {
    /// Exact code (`contract.invalid`) or a prefix ending in `.` (`business.`).
    pub code: Option<String>,
    /// Class: `contract`, `business`, `technical`, `usage`.
    pub class: Option<String>,
    /// The record's kind (`order`, `invoice`…).
    pub resource: Option<String>,
    /// Only entries first seen at least this many seconds ago.
    pub older_than_seconds: Option<u64>,
    /// `open` (the default), `replayed`, `dropped` or `all`.
    pub state: Option<String>,
}

impl Filter {
    /// Whether an entry matches at `now`.
    pub fn matches(&self, entry: &Entry, now: u64) -> bool {
        let code_ok = self.code.as_deref().map_or(true, |c| {
            if c.ends_with('.') {
                entry.error.code.starts_with(c)
            } else {
                entry.error.code == c
            }
        });
        let state_ok = match self.state.as_deref().unwrap_or("open") {
            "all" => true,
            name => serde_json::to_value(entry.state).is_ok_and(|s| s == name),
        };
        code_ok
            && state_ok
            && self.class.as_deref().map_or(true, |c| entry.error.class == c)
            && self
                .resource
                .as_deref()
                .map_or(true, |r| entry.kind.as_deref() == Some(r))
            && self
                .older_than_seconds
                .map_or(true, |s| now.saturating_sub(entry.first_seen) >= s.saturating_mul(1000))
    }
}

/// The entries that match, oldest first, and the ids of the entries past
/// their retention (`retention_days` after their last change), which the
/// host deletes. Expired entries are never listed.
pub fn list(entries: &[Entry], filter: &Filter, now: u64, retention_days: u64) -> (Vec<Entry>, Vec<String>) {
    let horizon = retention_days.saturating_mul(DAY_MS);
    let (expired, live): (Vec<&Entry>, Vec<&Entry>) =
        entries.iter().partition(|e| now.saturating_sub(e.last_seen) > horizon);
    let mut listed: Vec<Entry> = live.into_iter().filter(|e| filter.matches(e, now)).cloned().collect();
    listed.sort_by(|a, b| (a.first_seen, &a.id).cmp(&(b.first_seen, &b.id)));
    (listed, expired.into_iter().map(|e| e.id.clone()).collect())
}

/// The lines of a batch (JSON Lines text) that replay the open `entries`:
/// a line matches an entry by kind and external id. Returns the lines to
/// replay (in batch order) and the ids of the entries no line matched.
pub fn select(entries: &[Entry], jsonl: &str) -> (Vec<String>, Vec<String>) {
    let mut found = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for text in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let kind = value["kind"]
            .as_str()
            .and_then(|k| k.parse::<crate::model::Kind>().ok());
        let Some(kind) = kind else { continue };
        let external_id = crate::model::external_id(kind, &value["record"]).map(str::to_string);
        let id = entry_id(Some(kind.as_str()), external_id.as_deref(), "", 0);
        if external_id.is_some() && entries.iter().any(|e| e.id == id && e.state == State::Open) {
            found.insert(id);
            lines.push(text.to_string());
        }
    }
    let missing = entries
        .iter()
        .filter(|e| !found.contains(&e.id))
        .map(|e| e.id.clone())
        .collect();
    (lines, missing)
}

/// An entry after its record was replayed and ended with `outcome`: synced
/// or skipped (already applied) marks it `replayed`; otherwise it stays as
/// it is (a new quarantine comes with its own entry, see [`merge`]).
pub fn settle(mut entry: Entry, outcome: &crate::flow::Outcome, now: u64) -> Entry {
    if matches!(
        outcome,
        crate::flow::Outcome::Synced { .. } | crate::flow::Outcome::Skipped { .. }
    ) {
        entry.state = State::Replayed;
        entry.last_seen = now;
    }
    entry
}

/// An entry dropped by an operator with `reason` (required, kept redacted).
pub fn drop_entry(mut entry: Entry, reason: &str, now: u64) -> Result<Entry, crate::usage::UsageError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(crate::usage::UsageError::new(
            "usage.bad_arguments",
            format!("dropping {} needs a reason", entry.id),
            "say why the record is dropped (e.g. \"duplicate of CMD-7, fixed by hand in incwo\"); it is kept with the entry",
        ));
    }
    entry.state = State::Dropped;
    entry.drop_reason = Some(crate::telemetry::redact(reason));
    entry.last_seen = now;
    Ok(entry)
}
