//! `classify`: the JSON façade of the error classifier ([`crate::errors`]).

use serde::Deserialize;
use serde_json::Value;

use super::args::Args;
use crate::errors::{classify_response, classify_transport, ClassificationTable, ClassifiedError, TransportFailure};
use crate::http::{invalid_json, CallSite, Method, Operation, Response};
use crate::usage::UsageError;

/// The arguments of `classify` (also a step of `retry`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ClassifyArgs {
    method: Method,
    endpoint: String,
    #[serde(default)]
    operation: Option<Operation>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    now_ms: Option<u64>,
    #[serde(default)]
    response: Option<Response>,
    #[serde(default)]
    transport: Option<TransportFailure>,
    #[serde(default)]
    table: Option<ClassificationTable>,
}

impl ClassifyArgs {
    /// Classifies; `Ok(None)` for a 2xx response. `default_now_ms` applies
    /// when the arguments carry no `nowMs`.
    pub(crate) fn classify(self, default_now_ms: u64) -> Result<Option<ClassifiedError>, UsageError> {
        let now_ms = self.now_ms.unwrap_or(default_now_ms);
        let mut call = CallSite::new(self.method, self.endpoint);
        if let Some(op) = self.operation {
            call.operation = op;
        }
        call.correlation_id = self.correlation_id;
        let table = self.table.unwrap_or_default();
        match (self.response, self.transport) {
            (Some(response), None) => Ok(classify_response(&call, &response, now_ms, &table)),
            (None, Some(failure)) => Ok(Some(classify_transport(&call, failure))),
            _ => Err(UsageError::new(
                "usage.invalid_json",
                "a classification needs exactly one of response or transport",
                "pass the response the host received, or the transport failure it saw",
            )),
        }
    }
}

/// `classify`: `{"method": "POST", "endpoint": "/bill_sheets.xml",
/// "operation"?: "create", "correlationId"?: "…", "nowMs": 0,
/// "response": {"status", "headers", "body" | "bodyBase64"} | "transport":
/// {"kind", "phase"?}, "table"?: {"overrides": {…}}}` → the
/// [`ClassifiedError`] JSON, or `null` for a 2xx response. Public so that a
/// binding can classify without linking the whole [`super::call`] dispatcher
/// (the lean wasm module).
pub fn classify(args: &Value) -> Result<Value, UsageError> {
    let classified = Args::new(args).typed::<ClassifyArgs>()?.classify(0)?;
    serde_json::to_value(&classified).map_err(invalid_json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_refuses_bad_shapes_without_panic() {
        for args in [
            serde_json::json!(null),
            serde_json::json!({}),
            serde_json::json!({"method": "GET", "endpoint": "/x.xml"}),
            serde_json::json!({"method": "PATCH", "endpoint": "/x.xml", "response": {"status": 500}}),
            serde_json::json!({"method": "GET", "endpoint": "/x.xml", "response": {"status": 70000}}),
            serde_json::json!({"method": "GET", "endpoint": "/x.xml", "transport": {"kind": "meteor"}}),
            serde_json::json!({"method": "GET", "endpoint": "/x.xml", "response": {"status": 500}, "table": {"overrides": {"x": {}}}}),
        ] {
            let err = classify(&args).unwrap_err();
            assert!(err.code.starts_with("usage."), "{args}");
        }
    }
}
