//! The schema describes what the core really writes and reads: every flow
//! vector (`tests/vectors/flow/`) is driven through the JSON façade, and
//! every action, answer, changed-entries batch, report and checkpoint must
//! match its definition exactly (no key the schema lacks, none it requires
//! missing). A field a hand-written `Serialize` adds without the schema
//! fails here.

use incwo_core::api::flow::FlowSession;
use incwo_schema_gen::ir::{defs, Def, Ty};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

struct Schema(BTreeMap<String, Def>);

impl Schema {
    fn load() -> Schema {
        let schema = incwo_core::flow::schema::flow_messages().unwrap();
        Schema(
            defs(&schema)
                .unwrap()
                .into_iter()
                .map(|d| (d.name.clone(), d))
                .collect(),
        )
    }

    fn check(&self, name: &str, value: &Value) {
        if let Err(e) = self.conforms(value, &Ty::Ref(name.into()), name) {
            panic!("{e}\nvalue: {value}");
        }
    }

    fn conforms(&self, value: &Value, ty: &Ty, at: &str) -> Result<(), String> {
        let wrong = || Err(format!("{at}: {value} is not {ty:?}"));
        match (ty, value) {
            (Ty::Any, _) | (Ty::Null, Value::Null) | (Ty::Bool, Value::Bool(_)) | (Ty::Str, Value::String(_)) => Ok(()),
            (Ty::Int, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
            (Ty::Num, Value::Number(_)) => Ok(()),
            (Ty::Lit(lit), Value::String(s)) if lit == s => Ok(()),
            (Ty::Ref(name), _) => self.conforms(value, &self.0[name].ty, &format!("{at}→{name}")),
            (Ty::Array(item), Value::Array(items)) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| self.conforms(v, item, &format!("{at}[{i}]"))),
            (Ty::Tuple(types), Value::Array(items)) if types.len() == items.len() => items
                .iter()
                .zip(types)
                .enumerate()
                .try_for_each(|(i, (v, t))| self.conforms(v, t, &format!("{at}[{i}]"))),
            (Ty::Map(item), Value::Object(map)) => map
                .iter()
                .try_for_each(|(k, v)| self.conforms(v, item, &format!("{at}.{k}"))),
            (Ty::Object(obj), Value::Object(map)) => {
                for key in map.keys() {
                    if !obj.fields.iter().any(|f| &f.name == key) {
                        return Err(format!("{at}: key {key} is not in the schema"));
                    }
                }
                for f in &obj.fields {
                    match map.get(&f.name) {
                        Some(v) => self.conforms(v, &f.ty, &format!("{at}.{}", f.name))?,
                        None if f.required => return Err(format!("{at}: required key {} is missing", f.name)),
                        None => {}
                    }
                }
                Ok(())
            }
            (Ty::Union(members), _) => {
                let errors: Vec<String> = members
                    .iter()
                    .filter_map(|m| self.conforms(value, m, at).err())
                    .collect();
                if errors.len() < members.len() {
                    Ok(())
                } else {
                    Err(errors.join("\n"))
                }
            }
            _ => wrong(),
        }
    }
}

fn config() -> Value {
    json!({"server": "https://www.incwo.com", "businessFileId": "123456",
        "auth": {"type": "basic", "login": "api@example.fr", "password": "secret"}})
}

/// Drives one vector's batch over its recorded answers, checking every
/// message; returns how many actions it saw.
fn drive(schema: &Schema, args: &Value) -> usize {
    let mut start = json!({"config": config(), "records": args["records"], "now": args["now"], "seed": args["seed"]});
    for key in ["profile", "options"] {
        if !args[key].is_null() {
            start[key] = args[key].clone();
        }
    }
    let mut session = FlowSession::start(&start).unwrap();
    let mut answers = args["answers"].as_array().unwrap().iter();
    let mut now = args["now"].as_u64().unwrap();
    let mut actions = 0;
    loop {
        let action = session.poll(now);
        schema.check("Action", &action);
        actions += 1;
        schema.check("ChangedEntries", &session.take_changed_entries());
        match action["action"].as_str().unwrap() {
            "send" => {
                let Some(answer) = answers.next() else { break };
                let id = action["requestId"].as_u64().unwrap();
                let result = match answer.get("transport") {
                    Some(failure) => {
                        schema.check("TransportFailure", failure);
                        session.on_transport_error(id, failure, now)
                    }
                    None => {
                        schema.check("HttpResponse", answer);
                        session.on_response(id, answer, now)
                    }
                };
                assert_eq!(result, json!({"ok": true}));
            }
            "wait" => now = now.max(action["until"].as_u64().unwrap()),
            "publish" => schema.check("FlowEvent", &action["event"]),
            "done" => break,
            _ => {}
        }
    }
    schema.check("FlowReport", &session.summary());
    let checkpoint: Value = serde_json::from_str(&session.checkpoint()).unwrap();
    schema.check("Checkpoint", &checkpoint);
    actions
}

#[test]
fn every_flow_vector_speaks_the_schema() {
    let schema = Schema::load();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/flow");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "flow vectors not found in {}", dir.display());
    let mut seen = BTreeMap::new();
    for file in &files {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        seen.insert(
            file.file_name().unwrap().to_string_lossy().to_string(),
            drive(&schema, &vector["args"]),
        );
    }
    assert!(seen.values().all(|n| *n > 0), "{seen:?}");
}

#[test]
fn a_key_the_schema_lacks_is_caught() {
    let schema = Schema::load();
    let summary = json!({"total": 1, "finished": 1, "synced": 1, "skipped": 0, "quarantined": 0,
        "deferred": 0, "errorsByCode": {}});
    assert!(schema.conforms(&summary, &Ty::Ref("Summary".into()), "Summary").is_ok());
    let mut extra = summary.clone();
    extra["addedInTheCore"] = json!(1);
    let err = schema
        .conforms(&extra, &Ty::Ref("Summary".into()), "Summary")
        .unwrap_err();
    assert!(err.contains("addedInTheCore"), "{err}");
    let mut missing = summary;
    missing.as_object_mut().unwrap().remove("synced");
    assert!(schema
        .conforms(&missing, &Ty::Ref("Summary".into()), "Summary")
        .is_err());
}
