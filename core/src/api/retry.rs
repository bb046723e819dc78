//! `retry` and `retry.decide`: the JSON façade of the retry policy
//! ([`crate::retry`]), the exact shapes every binding exposes.

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::Args;
use super::classify::ClassifyArgs;
use crate::errors::ClassifiedError;
use crate::http::invalid_json;
use crate::retry::{decide, RetryPolicy, RetryState};
use crate::usage::UsageError;

/// The failed call: a classified error as returned by `classify`, or the
/// arguments of `classify` to classify it on the spot.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Step {
    #[serde(default)]
    now_ms: u64,
    #[serde(default)]
    attempt: Option<u32>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    error: Option<ClassifiedError>,
    #[serde(default)]
    classify: Option<ClassifyArgs>,
    #[serde(default)]
    success: bool,
    #[serde(default)]
    admit: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplayArgs {
    #[serde(default)]
    policy: RetryPolicy,
    #[serde(default)]
    state: Option<RetryState>,
    #[serde(default)]
    seed: u64,
    steps: Vec<Step>,
}

fn usage(message: &str) -> UsageError {
    UsageError::new(
        "usage.invalid_json",
        message,
        "send the JSON shape documented for this call",
    )
}

impl Step {
    fn error(self, now_ms: u64) -> Result<Option<ClassifiedError>, UsageError> {
        match (self.error, self.classify) {
            (Some(error), None) => Ok(Some(error)),
            (None, Some(args)) => args.classify(now_ms),
            _ => Err(usage("a step needs exactly one of error, classify, success or admit")),
        }
    }
}

fn run_step(policy: &RetryPolicy, state: &mut RetryState, default_seed: u64, step: Step) -> Result<Value, UsageError> {
    let now_ms = step.now_ms;
    let is_call = step.error.is_some() || step.classify.is_some();
    match (step.success, step.admit, is_call) {
        (true, false, false) => {
            state.record_success(policy, now_ms);
            Ok(json!({"recorded": "success"}))
        }
        (false, true, false) => serde_json::to_value(state.admit(policy, now_ms)).map_err(invalid_json),
        (false, false, true) => {
            let attempt = step.attempt.unwrap_or(1);
            let seed = step.seed.unwrap_or(default_seed);
            match step.error(now_ms)? {
                // A 2xx classified on the spot is a success.
                None => {
                    state.record_success(policy, now_ms);
                    Ok(json!({"recorded": "success"}))
                }
                Some(error) => {
                    let decision = decide(policy, state, &error, attempt, now_ms, seed);
                    serde_json::to_value(decision).map_err(invalid_json)
                }
            }
        }
        _ => Err(usage("a step needs exactly one of error, classify, success or admit")),
    }
}

/// `retry`: runs a sequence of steps against one tenant's state, as a host would:
/// `{"policy"?: {…}, "state"?: {…}, "seed": 42, "steps": [
///   {"nowMs", "attempt", "seed"?, "error": {…classified error…} | "classify": {…classify args…}},
///   {"nowMs", "success": true}, {"nowMs", "admit": true}]}`
/// → `{"results": [decision | {"recorded": "success"} | admission, …], "state": {…}}`.
pub(crate) fn replay(args: &Value) -> Result<Value, UsageError> {
    let args: ReplayArgs = Args::new(args).typed()?;
    let mut state = args.state.unwrap_or_else(|| RetryState::new(&args.policy));
    let mut results = Vec::with_capacity(args.steps.len());
    for step in args.steps {
        results.push(run_step(&args.policy, &mut state, args.seed, step)?);
    }
    Ok(json!({"results": results, "state": state}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DecideArgs {
    #[serde(default)]
    policy: RetryPolicy,
    #[serde(default)]
    state: Option<RetryState>,
    error: ClassifiedError,
    #[serde(default)]
    attempt: u32,
    now_ms: u64,
    #[serde(default)]
    seed: u64,
}

/// `retry.decide`, one decision: `{"policy"?: {…}, "state"?: {…}, "error": {…classified
/// error…}, "attempt": 1, "nowMs": …, "seed": …}` → `{"decision": {…},
/// "state": {…}}` (the updated state to store).
pub(crate) fn decide_one(args: &Value) -> Result<Value, UsageError> {
    let args: DecideArgs = Args::new(args).typed()?;
    let mut state = args.state.unwrap_or_else(|| RetryState::new(&args.policy));
    let decision = decide(
        &args.policy,
        &mut state,
        &args.error,
        args.attempt,
        args.now_ms,
        args.seed,
    );
    Ok(json!({"decision": decision, "state": state}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::classify_response;
    use crate::http::{CallSite, Method, Response};

    const NOW: u64 = 1_700_000_000_000;

    fn response_error(method: Method, endpoint: &str, status: u16, headers: &[(&str, &str)]) -> ClassifiedError {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let response = Response::new(status, headers, Vec::new());
        classify_response(&CallSite::new(method, endpoint), &response, NOW, &Default::default()).unwrap()
    }

    #[test]
    fn json_facades_decide_and_refuse_bad_steps() {
        let error = serde_json::to_value(response_error(
            Method::Get,
            "/firms.xml",
            429,
            &[("Retry-After", "120")],
        ))
        .unwrap();
        let out = decide_one(&serde_json::json!({"error": error, "attempt": 1, "nowMs": NOW, "seed": 1})).unwrap();
        assert_eq!(out["decision"]["decision"], "requeue");
        assert_eq!(out["state"]["budget"]["tokens"], 500);
        for args in [
            serde_json::json!({"steps": [{"nowMs": 1}]}),
            serde_json::json!({"steps": [{"nowMs": 1, "success": true, "admit": true}]}),
            serde_json::json!({"steps": [{"nowMs": 1, "error": {}}]}),
            serde_json::json!({"policy": {"maxAttempts": -1}, "steps": []}),
            serde_json::json!({"state": {"budget": {"tokens": "many"}}, "steps": []}),
        ] {
            let err = replay(&args).unwrap_err();
            assert!(err.code.starts_with("usage."), "{args}");
        }
    }
}
