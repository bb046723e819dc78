//! `partition.route`, `partition.gate`, `partition.settle`: the JSON façade
//! of scale-out routing by customer ([`crate::partition`]).

use serde_json::{json, Value};

use super::args::{bad_args, Args};
use crate::flow::ledger::Entry;
use crate::partition::{route, CustomerQueue, Settled, DEFAULT_SHARDS, DEFAULT_STALE_AFTER_MS, HEADER, MAX_SHARDS};
use crate::usage::UsageError;

fn render(value: &impl serde::Serialize) -> Result<Value, UsageError> {
    serde_json::to_value(value).map_err(|e| bad_args(format!("cannot render: {e}"), "report this"))
}

fn entries_arg(args: Args<'_>) -> Result<Vec<Entry>, UsageError> {
    Ok(args
        .optional_or_text(
            "entries",
            "pass ledger entries (a list or its JSON text) as the flow reports them",
        )?
        .unwrap_or_default())
}

fn queue_arg(args: Args<'_>) -> Result<CustomerQueue, UsageError> {
    if args.str("state") == Some("") {
        return Ok(CustomerQueue::default());
    }
    Ok(args
        .optional_or_text("state", "pass the state returned last time")?
        .unwrap_or_default())
}

fn record_arg(args: Args<'_>) -> Result<&str, UsageError> {
    args.required_text("recordKey", "pass the recordKey of partition.route")
}

/// `partition.route`: `{"record": {"kind", "record"}, "shards"?: 4,
/// "tenant"?: "", "orderCustomer"?: "C1", "entries"?: [ledger entries] or
/// their JSON text}` →
/// `{"customer", "partitionKey", "shard", "shards", "recordKey",
/// "ledgerRefs": [{"domain", "externalId", "step"}], "indexRefs": [{"resource",
/// "marker"}], "headers": {"x-customer": key}}`.
pub(crate) fn route_call(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let envelope = args.get("record");
    if !envelope.is_object() || !envelope["kind"].is_string() {
        return Err(bad_args(
            "record must be an envelope {\"kind\", \"record\"}",
            "pass one line of the batch",
        ));
    }
    let shards = args
        .optional_number(
            "shards",
            |n| u32::try_from(n).ok().filter(|n| (1..=MAX_SHARDS).contains(n)),
            &format!("shards must be between 1 and {MAX_SHARDS}"),
            "pass the number of shard queues",
        )?
        .unwrap_or(DEFAULT_SHARDS);
    let entries = entries_arg(args)?;
    let route = route(
        envelope,
        shards,
        args.str("tenant").unwrap_or(""),
        args.str("orderCustomer"),
        &entries,
    );
    let mut out = render(&route)?;
    out["headers"] = json!({ HEADER: route.partition_key });
    Ok(out)
}

/// `partition.gate`: `{"state"?: CustomerQueue, "recordKey", "now",
/// "staleAfterMs"?, "sequence"?}` → `{"decision": "run" | "defer",
/// "notBefore"?, "reason"?, "behind"?, "state", "empty"}` (`empty`: see
/// [`CustomerQueue::is_empty`]). With `sequence` (the
/// record's number in its customer's sequence, from 1, given by the
/// producer) the record runs only after every smaller number has ended
/// ([`CustomerQueue::gate_in_sequence`]).
pub(crate) fn gate(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let mut queue = queue_arg(args)?;
    let record = record_arg(args)?;
    let now = args.now()?;
    let stale = args.lenient_u64("staleAfterMs").unwrap_or(DEFAULT_STALE_AFTER_MS);
    let gate = match args.lenient_u64("sequence") {
        Some(seq) if seq > 0 => queue.gate_in_sequence(record, seq, now, stale),
        _ => queue.gate(record, now, stale),
    };
    let mut out = render(&gate)?;
    out["empty"] = json!(queue.is_empty());
    out["state"] = serde_json::to_value(&queue).unwrap_or(Value::Null);
    Ok(out)
}

/// `partition.settle`: `{"state"?, "recordKey", "outcome": "synced" |
/// "skipped" | "quarantined" | "deferred" | "waiting", "notBefore"?}` →
/// `{"state", "empty": bool}` (`empty`: see [`CustomerQueue::is_empty`]).
pub(crate) fn settle(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let mut queue = queue_arg(args)?;
    let record = record_arg(args)?;
    let settled = match args.str("outcome").unwrap_or("") {
        "synced" | "skipped" | "quarantined" => Settled::Ended,
        "deferred" | "waiting" => Settled::Waiting,
        other => {
            return Err(bad_args(
                format!("unknown outcome {other:?}"),
                "outcome is synced, skipped, quarantined, deferred or waiting",
            ))
        }
    };
    let not_before = args.lenient_u64("notBefore").unwrap_or(0);
    queue.settle(record, settled, not_before);
    Ok(json!({"empty": queue.is_empty(), "state": serde_json::to_value(&queue).unwrap_or(Value::Null)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(number: &str, customer: &str) -> Value {
        json!({"kind": "order", "record": {"orderNumber": number, "customerExternalId": customer,
            "lines": [{"sku": "P1"}, {"sku": "P2"}, {"sku": "P1"}]}})
    }

    #[test]
    fn json_calls_refuse_bad_arguments() {
        assert!(route_call(&json!({})).is_err());
        assert!(route_call(&json!({"record": order("O", "C"), "shards": 0})).is_err());
        assert!(gate(&json!({"recordKey": "a"})).is_err());
        assert!(settle(&json!({"recordKey": "a", "outcome": "x"})).is_err());
        let r = route_call(&json!({"record": order("O", "C"), "shards": 2})).unwrap();
        assert_eq!(r["headers"]["x-customer"], "customer/C");
        let g =
            gate(&json!({"recordKey": "a", "now": 1, "state": "{\"waiting\":[{\"record\":\"b\",\"notBefore\":5}]}"}))
                .unwrap();
        assert_eq!(g["decision"], "defer");
        assert_eq!(g["empty"], false);
        let s = settle(&json!({"recordKey": "b", "outcome": "synced", "state": g["state"]})).unwrap();
        assert_eq!(s["state"]["waiting"][0]["record"], "a");
        assert_eq!(s["empty"], false);
        let s = settle(&json!({"recordKey": "a", "outcome": "synced", "state": s["state"]})).unwrap();
        assert_eq!(s["empty"], true);
    }

    #[test]
    fn a_numbered_record_gates_against_the_stored_state() {
        let mut q = CustomerQueue::default();
        assert!(matches!(
            q.gate_in_sequence("r2", 2, 1, 1000),
            crate::partition::Gate::Defer { .. }
        ));
        assert_eq!(q.gate_in_sequence("r2", 2, 1500, 1000), crate::partition::Gate::Run);
        q.settle("r2", Settled::Ended, 0);
        let g = gate(&json!({"recordKey": "r3", "now": 1600, "sequence": 3, "state": q})).unwrap();
        assert_eq!(g["decision"], "run");
        let g = gate(&json!({"recordKey": "r4", "now": 1600, "sequence": 4, "state": g["state"]})).unwrap();
        assert_eq!(g["decision"], "defer");
    }
}
