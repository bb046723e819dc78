//! `classify` without the façade's `call` dispatcher, whose other branches
//! (flow, inbound, telemetry, quarantine) would otherwise all be linked into
//! the lean module. It reads the arguments exactly as the core's
//! `api::call("classify", …)` does (same shape, same `usage.invalid_json`
//! errors) and hands them to the core's classifiers; the golden vectors of
//! `tests/vectors/classify` run through both in the js suite.

use incwo_core::errors::{classify_response, classify_transport, ClassificationTable, TransportFailure};
use incwo_core::http::{invalid_json, CallSite, Method, Operation, Response};
use incwo_core::usage::UsageError;
use serde::Deserialize;
use serde_json::Value;

/// The arguments of `classify` (the shape of the core's `api::call`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClassifyArgs {
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

/// The classified error of `args` as JSON, `null` for a 2xx response.
pub(crate) fn classify(args: &Value) -> Result<Value, UsageError> {
    let args = ClassifyArgs::deserialize(args).map_err(invalid_json)?;
    let mut call = CallSite::new(args.method, args.endpoint);
    if let Some(op) = args.operation {
        call.operation = op;
    }
    call.correlation_id = args.correlation_id;
    let table = args.table.unwrap_or_default();
    let classified = match (args.response, args.transport) {
        (Some(response), None) => classify_response(&call, &response, args.now_ms.unwrap_or(0), &table),
        (None, Some(failure)) => Some(classify_transport(&call, failure)),
        _ => {
            return Err(UsageError::new(
                "usage.invalid_json",
                "a classification needs exactly one of response or transport",
                "pass the response the host received, or the transport failure it saw",
            ))
        }
    };
    serde_json::to_value(&classified).map_err(invalid_json)
}
