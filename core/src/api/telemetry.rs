//! `telemetry.render`, `telemetry.log`, `telemetry.accumulate`,
//! `telemetry.redact`, `telemetry.normalize_endpoint`: the JSON façade of
//! [`crate::telemetry`]. Their errors keep the telemetry codes
//! (`telemetry.bad_event`, `telemetry.bad_log_event`,
//! `telemetry.bad_exposition`) that hosts and golden vectors know.

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::Args;
use crate::telemetry::{normalize_endpoint, redact, LogEvent, MetricEvent, Registry};
use crate::usage::UsageError;

fn usage_error(code: &str, message: &str) -> Value {
    json!({"error": {"class": "usage", "code": code, "message": message}})
}

/// `telemetry.render`: records a JSON list of [`MetricEvent`]s in a fresh registry and returns
/// `{"text": <Prometheus text>}`, or `{"error": {"class": "usage", "code":
/// "telemetry.bad_event", ...}}` when an event does not have the expected form.
pub(crate) fn render(events: &Value) -> Value {
    match Vec::<MetricEvent>::deserialize(events) {
        Ok(events) => {
            let mut registry = Registry::default();
            for event in &events {
                registry.record(event);
            }
            json!({"text": registry.render_prometheus()})
        }
        Err(_) => usage_error(
            "telemetry.bad_event",
            "expected a list of metric events (api_call, api_error, backlog_size, replay, reconciliation_gap, quarantined, retry, retry_budget, breaker_state, sync_succeeded, webhook_backlog)",
        ),
    }
}

/// `telemetry.log`: reads a JSON [`LogEvent`] and returns its redacted JSON form, or a
/// `telemetry.bad_log_event` usage error.
pub(crate) fn log(event: &Value) -> Value {
    match LogEvent::deserialize(event) {
        Ok(event) => event.to_json(),
        Err(_) => usage_error(
            "telemetry.bad_log_event",
            "expected {level, message, correlationId?, fields?}",
        ),
    }
}

/// `telemetry.accumulate`: `{"total": <text>|null, "run": <text>}` → `{"text":
/// <total + run>}`, both texts as this core renders them (a flow's metrics
/// or an earlier total), or a `telemetry.bad_exposition` usage error.
pub(crate) fn accumulate(args: &Value) -> Value {
    let read = |name: &str, required: bool| -> Result<Registry, Value> {
        match &args[name] {
            Value::String(text) => Registry::from_prometheus(text).map_err(|e| match e.line {
                0 => bad(name, &format!("args.{name}: {}", e.message)),
                line => bad(name, &format!("args.{name}, line {line}: {}", e.message)),
            }),
            Value::Null if !required => Ok(Registry::default()),
            _ => Err(bad(name, &format!("args.{name} must be the Prometheus text of a run"))),
        }
    };
    let run = || -> Result<Value, Value> {
        let mut total = read("total", false)?;
        total.merge(&read("run", true)?);
        Ok(json!({"text": total.render_prometheus()}))
    };
    run().unwrap_or_else(|e| e)
}

/// The usage error; `details.argument` names the text at fault (`total` or
/// `run`), so a host can start its totals again when only they are unreadable.
fn bad(argument: &str, message: &str) -> Value {
    json!({"error": {
        "class": "usage",
        "code": "telemetry.bad_exposition",
        "message": message,
        "details": {"argument": argument},
        "hint": "pass texts this core rendered: a flow's metrics, or the text of an earlier telemetry.accumulate",
    }})
}

/// `telemetry.redact`: `{"text"}` → `{"text": redacted}`.
pub(crate) fn redact_call(args: &Value) -> Result<Value, UsageError> {
    let text = Args::new(args).required_str("text", "pass {\"text\": \"...\"}")?;
    Ok(json!({ "text": redact(text) }))
}

/// `telemetry.normalize_endpoint`: `{"endpoint"}` → `{"endpoint": template}`.
pub(crate) fn normalize_endpoint_call(args: &Value) -> Result<Value, UsageError> {
    let endpoint = Args::new(args).required_str("endpoint", "pass {\"endpoint\": \"/firms/12.xml\"}")?;
    Ok(json!({ "endpoint": normalize_endpoint(endpoint) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn accumulate_names_the_text_at_fault() {
        let run = crate::telemetry::Registry::default().render_prometheus();
        let out = accumulate(&json!({"total": "bogus 1", "run": run}));
        assert_eq!(out["error"]["code"], "telemetry.bad_exposition");
        assert!(out["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("args.total, line 1: "));
        assert_eq!(out["error"]["details"]["argument"], "total");
        assert_eq!(accumulate(&json!({}))["error"]["code"], "telemetry.bad_exposition");
    }

    fn subset_match(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => e.iter().try_for_each(|(k, ev)| {
                let av = a.get(k).ok_or_else(|| format!("{at}.{k}: missing"))?;
                subset_match(ev, av, &format!("{at}.{k}"))
            }),
            (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
                .iter()
                .zip(a)
                .enumerate()
                .try_for_each(|(i, (ev, av))| subset_match(ev, av, &format!("{at}[{i}]"))),
            (e, a) if e == a => Ok(()),
            (e, a) => Err(format!("{at}: expected {e}, got {a}")),
        }
    }

    #[test]
    fn golden_telemetry_vectors() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/telemetry");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert!(files.len() >= 5, "only {} vectors", files.len());
        let mut failures = Vec::new();
        for path in &files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            assert!(v["description"].is_string(), "{name}");
            let actual = match v["call"].as_str() {
                Some("telemetry.render") => render(&v["args"]["events"]),
                Some("telemetry.redact") => redact_call(&v["args"]).unwrap(),
                Some("telemetry.normalize_endpoint") => normalize_endpoint_call(&v["args"]).unwrap(),
                Some("telemetry.log") => log(&v["args"]["event"]),
                Some("telemetry.accumulate") => accumulate(&v["args"]),
                other => panic!("{name}: unknown call {other:?}"),
            };
            if let Err(e) = subset_match(&v["expected"], &actual, "$") {
                failures.push(format!("{name}: {e}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
