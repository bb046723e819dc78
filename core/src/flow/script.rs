//! Scripted flow runs for golden vectors (being written).

use crate::usage::UsageError;
use serde_json::Value;

/// Runs a flow against a scripted sequence of answers (being written).
pub fn run_json(_args: &Value) -> Result<Value, UsageError> {
    Err(UsageError::new(
        "usage.unknown_call",
        "flow.script is being written",
        "wait",
    ))
}
