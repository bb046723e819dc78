//! `flow.script`: scripted flow runs, for golden vectors every host replays through
//! `api::call("flow.script", args)`: a batch, a list of answers fed in order
//! to each `Send`, and the actions and outcomes that follow.
//!
//! `args` (JSON, camelCase):
//! `{"records": [{"kind", "record"}…] | "jsonl": "…", "profile"?: {…} | "…",
//!   "options"?: {…}, "config"?: {server, businessFileId, auth…}, "now"?: ms,
//!   "seed"?: n, "answers": [{"status", "headers"?, "body"?} |
//!   {"transport": {"kind", "phase"?}}…]}`.
//!
//! The run is deterministic: the clock stands still except that a `Wait`
//! moves it to its `until`. It ends at `Done`, or when a `Send` finds no
//! answer left (`"stoppedAt": "answers_exhausted"`). Result:
//! `{"actions": [...], "outcomes": [...], "summary": {...}, "counters": {...},
//!   "answersLeft": n, "stoppedAt"?: "..."}` where a send is
//! `{"action": "send", "requestId", "method", "endpoint", "operation"}` (never
//! the Authorization header), the other actions are the flow's own JSON, and
//! `counters` holds every non-histogram metric sample by series name.

use super::args::{bad_args, Args};
use super::flow::read_batch;
use crate::errors::TransportFailure;
use crate::flow::{Action, Flow, FlowOptions};
use crate::http::{response_from_json, Auth, ConnectionConfig};
use crate::usage::UsageError;
use serde_json::{json, Map, Value};

/// Most actions one script may produce before it is cut (a usage error).
const MAX_ACTIONS: usize = 100_000;

/// The hint of every `flow.script` argument error.
const HINT: &str = "see tests/vectors/flow/README.md for the flow.script arguments";

fn bad(message: impl Into<String>) -> UsageError {
    bad_args(message, HINT)
}

fn default_config() -> Result<ConnectionConfig, UsageError> {
    ConnectionConfig::new(
        "https://www.incwo.com",
        "123456",
        Auth::basic("api@example.fr", "secret"),
        false,
    )
    .map_err(UsageError::from)
}

/// Counter and gauge samples of a Prometheus text, by series.
fn counters(text: &str) -> Value {
    let mut out = Map::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("api_call_duration_ms"))
    {
        if let Some((series, value)) = line.rsplit_once(' ') {
            if let Ok(n) = value.parse::<u64>() {
                out.insert(series.to_string(), json!(n));
            }
        }
    }
    Value::Object(out)
}

/// Runs a flow against a scripted sequence of answers.
pub(crate) fn run(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let profile = args.profile()?;
    let options: FlowOptions = args.optional("options", HINT)?.unwrap_or_default();
    let config = match args.get("config") {
        Value::Null => default_config()?,
        _ => args.config()?,
    };
    let items = read_batch(args, &profile, HINT)?;
    let mut now = args
        .optional_number("now", Some, "now must be ms since the epoch", HINT)?
        .unwrap_or(0);
    let seed = args
        .optional_number("seed", Some, "seed must be a non-negative integer", HINT)?
        .unwrap_or(0);
    let answers = match args.get("answers") {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        _ => return Err(bad("answers must be an array")),
    };
    let mut answers = answers.into_iter();
    let mut flow = Flow::start(items, profile, config, options, now, seed);
    let mut actions = Vec::new();
    let mut stopped_at = None;
    loop {
        if actions.len() >= MAX_ACTIONS {
            return Err(bad(format!("the script produced more than {MAX_ACTIONS} actions")));
        }
        match flow.poll(now)? {
            Action::Send { request_id, request } => {
                actions.push(json!({
                    "action": "send",
                    "requestId": request_id,
                    "method": request.method(),
                    "endpoint": request.endpoint(),
                    "operation": request.operation(),
                }));
                let Some(answer) = answers.next() else {
                    stopped_at = Some("answers_exhausted");
                    break;
                };
                match answer.get("transport") {
                    Some(t) => {
                        let failure: TransportFailure = serde_json::from_value(t.clone())
                            .map_err(|e| bad(format!("answer {}: transport: {e}", actions.len())))?;
                        flow.on_transport_error(request_id, failure, now)?;
                    }
                    None => flow.on_response(request_id, response_from_json(&answer)?, now)?,
                }
            }
            Action::Wait { until, reason } => {
                actions.push(json!({"action": "wait", "until": until, "reason": reason}));
                now = now.max(until);
            }
            Action::Done { summary } => {
                actions.push(json!({"action": "done", "summary": summary}));
                break;
            }
            other => actions.push(serde_json::to_value(&other).map_err(|e| bad(e.to_string()))?),
        }
    }
    let mut result = json!({
        "actions": actions,
        "outcomes": flow.outcomes(),
        "summary": flow.summary(),
        "counters": counters(&flow.metrics().render_prometheus()),
        "answersLeft": answers.len(),
    });
    if let Some(at) = stopped_at {
        result["stoppedAt"] = json!(at);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_without_answers_stops_at_the_first_send() {
        let args = json!({"records": [{"kind": "product", "record": {"sku": "A", "name": "A", "unitPriceExclTax": "1.00", "taxCode": "TVA20"}}]});
        let out = run(&args).unwrap();
        assert_eq!(out["stoppedAt"], "answers_exhausted");
        assert_eq!(out["actions"][0]["endpoint"], "/customer_products.xml");
        assert!(!out.to_string().contains("Authorization"));
        assert!(run(&json!({})).is_err());
        assert!(run(&json!({"records": [], "answers": 3})).is_err());
    }
}
