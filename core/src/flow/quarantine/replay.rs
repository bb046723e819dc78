//! A manual replay, the same in every host: which lines it sends (a fixed
//! record, or the entries' lines of a batch), that only open entries are
//! replayed, and which entry a replayed record settles.

use super::{select, Entry, State};
use crate::usage::UsageError;
use serde_json::Value;

/// What the operator fixed: one record (a bare record of the entry's kind,
/// an envelope `{"kind", "record"}`, or envelope lines), or a batch whose
/// lines of the entries are replayed.
#[derive(Debug, Clone, Copy)]
pub enum Fix<'a> {
    /// The text of `--record`.
    Record(&'a str),
    /// The text of `--batch` (JSON Lines).
    Batch(&'a str),
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Open => "open",
        State::Replayed => "replayed",
        State::Dropped => "dropped",
    }
}

/// The JSON Lines a replay of `entries` sends, each line ending in `\n`.
/// Refused (a usage error naming the entry) when an entry is not open, when
/// a bare record is given for other than one entry or for an entry of no
/// kind, or when the batch holds no line for an entry.
pub fn replay_batch(entries: &[Entry], fix: Fix<'_>) -> Result<String, UsageError> {
    if let Some(closed) = entries.iter().find(|e| e.state != State::Open) {
        return Err(UsageError::new(
            "usage.quarantine_not_open",
            format!(
                "{} is {}; only open entries are replayed",
                closed.id,
                state_name(closed.state)
            ),
            "list them with --status all: a replayed or dropped entry is final",
        ));
    }
    match fix {
        Fix::Record(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) if value.get("record").is_some() => Ok(format!("{value}\n")),
            Ok(value) if !value.is_object() => Err(UsageError::new(
                "usage.bad_arguments",
                "the fixed record must be a JSON object (a bare record or {\"kind\", \"record\"})",
                "give the record as the batch line's \"record\" object",
            )),
            Ok(value) => {
                let [entry] = entries else {
                    return Err(UsageError::new(
                        "usage.quarantine_bare_record",
                        format!("a bare record replays one entry, not {}", entries.len()),
                        "give one id, or {\"kind\", \"record\"} lines",
                    ));
                };
                let kind = entry.kind.as_deref().ok_or_else(|| {
                    UsageError::new(
                        "usage.quarantine_no_kind",
                        format!("{} has no kind (its line named none)", entry.id),
                        "give {\"kind\": …, \"record\": {…}} as the fixed record",
                    )
                })?;
                Ok(format!("{}\n", serde_json::json!({ "kind": kind, "record": value })))
            }
            // Several envelope lines: sent as they are.
            Err(_) => Ok(text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("{l}\n"))
                .collect()),
        },
        Fix::Batch(text) => {
            let (lines, missing) = select(entries, text);
            if !missing.is_empty() {
                return Err(UsageError::new(
                    "usage.quarantine_not_in_batch",
                    format!(
                        "no line of the batch matches {} (by kind and external id)",
                        missing.join(", ")
                    ),
                    "fix the batch, or give the fixed record of each entry",
                ));
            }
            Ok(lines.iter().map(|l| format!("{l}\n")).collect())
        }
    }
}

/// The entry among `entries` (those a replay sent) that a replayed record of
/// `kind` and `external_id` settles: the entry of that record, else the only
/// entry replayed when it has that kind (a fixed record may carry a new
/// external id).
pub fn settled_entry<'a>(entries: &'a [Entry], kind: Option<&str>, external_id: Option<&str>) -> Option<&'a Entry> {
    let id = super::entry_id(kind, external_id, "", 0);
    entries
        .iter()
        .find(|e| external_id.is_some() && e.id == id)
        .or(match entries {
            [only] if kind.is_some() && only.kind.as_deref() == kind => Some(only),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(kind: &str, external_id: &str, state: State) -> Entry {
        serde_json::from_value(json!({
            "id": super::super::entry_id(Some(kind), Some(external_id), "", 0),
            "state": state, "kind": kind, "externalId": external_id, "line": 3, "batch": "b",
            "error": {"class": "contract", "code": "contract.invalid", "message": "m"},
            "runbook": "r", "record": {}, "firstSeen": 1, "lastSeen": 1, "attempts": 1
        }))
        .expect("an entry")
    }

    #[test]
    fn a_bare_record_takes_the_kind_of_its_one_entry() {
        let order = entry("order", "CMD-1", State::Open);
        let jsonl =
            replay_batch(std::slice::from_ref(&order), Fix::Record(r#"{"orderNumber": "CMD-1"}"#)).expect("a batch");
        assert_eq!(jsonl, "{\"kind\":\"order\",\"record\":{\"orderNumber\":\"CMD-1\"}}\n");
        let two = [order.clone(), entry("order", "CMD-2", State::Open)];
        let refused = replay_batch(&two, Fix::Record(r#"{"orderNumber": "CMD-1"}"#)).unwrap_err();
        assert_eq!(refused.code, "usage.quarantine_bare_record");
        let envelope = r#"{"kind": "order", "record": {"orderNumber": "CMD-1"}}"#;
        assert!(replay_batch(&two, Fix::Record(envelope)).is_ok());
        assert_eq!(
            replay_batch(std::slice::from_ref(&order), Fix::Record("[1]"))
                .unwrap_err()
                .code,
            "usage.bad_arguments"
        );
        let mut no_kind = order;
        no_kind.kind = None;
        assert_eq!(
            replay_batch(&[no_kind], Fix::Record("{}")).unwrap_err().code,
            "usage.quarantine_no_kind"
        );
    }

    #[test]
    fn only_open_entries_are_replayed_and_a_batch_must_hold_each() {
        let dropped = entry("order", "CMD-1", State::Dropped);
        let refused = replay_batch(&[dropped], Fix::Record("{}")).unwrap_err();
        assert_eq!(refused.code, "usage.quarantine_not_open");
        assert!(refused.message.contains("is dropped"), "{}", refused.message);
        let open = [
            entry("order", "CMD-1", State::Open),
            entry("order", "CMD-2", State::Open),
        ];
        let batch = "{\"kind\": \"order\", \"record\": {\"orderNumber\": \"CMD-1\"}}\n";
        let missing = replay_batch(&open, Fix::Batch(batch)).unwrap_err();
        assert_eq!(missing.code, "usage.quarantine_not_in_batch");
        assert!(missing.message.contains(&open[1].id) && !missing.message.contains(&open[0].id));
        assert_eq!(
            replay_batch(&open[..1], Fix::Batch(batch))
                .expect("a batch")
                .lines()
                .count(),
            1
        );
    }

    #[test]
    fn a_replayed_record_settles_its_entry_or_the_only_one_of_its_kind() {
        let order = entry("order", "CMD-1", State::Open);
        let both = [order.clone(), entry("order", "CMD-2", State::Open)];
        assert_eq!(
            settled_entry(&both, Some("order"), Some("CMD-2")).map(|e| &e.id),
            Some(&both[1].id)
        );
        assert!(settled_entry(&both, Some("order"), Some("CMD-9")).is_none());
        let only = [order];
        assert_eq!(
            settled_entry(&only, Some("order"), Some("CMD-1-FIXED")).map(|e| &e.id),
            Some(&only[0].id)
        );
        assert!(settled_entry(&only, Some("customer"), Some("C1")).is_none());
    }
}
