//! JSON façade of the classifier, the exact shapes every binding exposes.

use serde::Deserialize;
use serde_json::Value;

use super::{classify_response, classify_transport, ClassificationTable, ClassifiedError, TransportFailure};
use crate::http::{CallSite, Method, Operation, Response};
use crate::usage::UsageError;

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

/// Classifies from JSON: `{"method": "POST", "endpoint": "/bill_sheets.xml",
/// "operation"?: "create", "correlationId"?: "…", "nowMs": 0,
/// "response": {"status", "headers", "body" | "bodyBase64"} | "transport":
/// {"kind", "phase"?}, "table"?: {"overrides": {…}}}` → the
/// [`ClassifiedError`] JSON, or `null` for a 2xx response.
pub fn classify_json(args: &Value) -> Result<Value, UsageError> {
    let args = ClassifyArgs::deserialize(args).map_err(crate::http::invalid_json)?;
    let classified = args.classify(0)?;
    serde_json::to_value(&classified).map_err(crate::http::invalid_json)
}
