//! Redaction of what an entry keeps, the same as log lines: texts through
//! [`telemetry::redact`], values under sensitive keys replaced.

use crate::flow::ErrorInfo;
use crate::telemetry;
use serde_json::Value;

/// Keys whose values are identifiers or codes the operator needs verbatim:
/// the error's, and the records' references (an order number such as
/// `CMD-2026-0411` looks like a phone number to the text heuristics).
const KEPT: &[&str] = &[
    "path",
    "code",
    "class",
    "severity",
    "status",
    "method",
    "endpoint",
    "externalId",
    "customerExternalId",
    "orderNumber",
    "quoteNumber",
    "invoiceNumber",
    "sourceQuote",
    "sourceOrder",
    "movementId",
    "sku",
    "taxCode",
    "currency",
    "warehouse",
];

/// A JSON value with every string redacted and sensitive keys hidden.
pub(super) fn value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(telemetry::redact(s)),
        Value::Array(items) => Value::Array(items.iter().map(value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if telemetry::is_sensitive_key(k) && !v.is_null() {
                        Value::String("[redacted]".into())
                    } else if KEPT.contains(&k.as_str()) {
                        v.clone()
                    } else {
                        value(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An error with its message, violation texts and details redacted.
pub(super) fn error(error: &ErrorInfo) -> ErrorInfo {
    let mut out = error.clone();
    out.message = telemetry::redact(&error.message);
    for v in &mut out.violations {
        v.message = telemetry::redact(&v.message);
        v.hint = telemetry::redact(&v.hint);
    }
    out.details = error.details.as_ref().map(value);
    out
}
