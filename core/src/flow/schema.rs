//! The JSON Schema of the flow's messages (feature `schema`): the single
//! definition from which `tools/schema-gen` writes each host's types (the
//! TypeScript declarations, the Python `TypedDict`s, the PHP array shapes).
//!
//! Outputs (actions, outcomes, summaries, events, ledger entries,
//! checkpoints) are described as the core writes them; inputs (a response,
//! a transport failure, the flow's options) as the core reads them.

use super::ledger::Entry;
use super::queues::Event;
use super::{Action, Checkpoint, ErrorInfo, FlowOptions, Outcome, Summary};
use crate::errors::TransportFailure;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// `take_changed_entries` as the JSON façade answers it: the ledger entries
/// changed since the last call.
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema only: never built
struct ChangedEntries {
    /// The changed entries, by idempotency key.
    entries: Vec<Entry>,
}

/// `summary` as the JSON façade answers it: the counts and the outcome of
/// each record so far.
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema only: never built
struct FlowReport {
    /// The counts so far.
    summary: Summary,
    /// The outcome of each record (`null`: not finished).
    outcomes: Vec<Option<Outcome>>,
}

/// The schema of every flow message: `{"$schema", "title", "$defs"}`, each
/// message and the types it uses in `$defs`. Fails when an input and an
/// output type share a name with different shapes.
pub fn flow_messages() -> Result<Value, String> {
    let mut outputs = SchemaSettings::draft2020_12().for_serialize().into_generator();
    outputs.subschema_for::<Action>();
    outputs.subschema_for::<Outcome>();
    outputs.subschema_for::<Summary>();
    outputs.subschema_for::<ErrorInfo>();
    outputs.subschema_for::<Event>();
    outputs.subschema_for::<Entry>();
    outputs.subschema_for::<ChangedEntries>();
    outputs.subschema_for::<FlowReport>();
    outputs.subschema_for::<Checkpoint>();
    let mut defs = outputs.take_definitions(true);

    let mut inputs = SchemaSettings::draft2020_12().for_deserialize().into_generator();
    inputs.subschema_for::<TransportFailure>();
    crate::http::schema::response_schema(&mut inputs);
    inputs.subschema_for::<FlowOptions>();
    for (name, schema) in inputs.take_definitions(true) {
        match defs.get(&name) {
            Some(existing) if existing != &schema => {
                return Err(format!(
                    "{name} is both read and written by the flow with different shapes; rename one of them"
                ))
            }
            _ => {
                defs.insert(name, schema);
            }
        }
    }
    let defs: Map<String, Value> = defs.into_iter().collect();
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "incwo flow messages",
        "description": "What a host and the flow exchange: the actions poll returns, outcomes, summaries, events, ledger entries, checkpoints, and the responses and transport failures the host answers with.",
        "$defs": defs,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_message_is_defined() {
        let schema = super::flow_messages().unwrap();
        for name in [
            "Action",
            "Outcome",
            "Summary",
            "FlowEvent",
            "LedgerEntry",
            "Checkpoint",
            "HttpRequest",
            "HttpResponse",
            "TransportFailure",
        ] {
            assert!(schema["$defs"][name].is_object(), "{name} missing");
        }
    }
}
