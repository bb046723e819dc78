//! The flow loop's protocol types as uniffi records and enums, read from
//! (and written to) the core's JSON shapes. Marshalling only: every value
//! comes from the core's JSON; nothing is decided here.

use crate::IncwoError;
use incwo_core::http::encode::{base64_decode, base64_encode};
use incwo_core::usage::UsageError;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One broken contract rule, located by a JSON pointer into the input.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Violation {
    /// JSON pointer (`/lines/0/unitPriceExclTax`); empty for the whole input.
    pub path: String,
    /// Stable code (`required`, `format`, `range`…).
    pub code: String,
    /// `error` or `warning`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// A request header; `sensitive` flags values that must never be shown
/// (the `Authorization` header).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value (secret when `sensitive`).
    pub value: String,
    /// True for credentials: never log the value.
    pub sensitive: bool,
}

/// A response header as received.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A request the host must send, exactly as the core built it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Request {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Endpoint template (`/bill_sheets/{id}.xml`), for metrics and logs.
    pub endpoint: String,
    /// `create`, `read`, `update`, `delete` or `list`.
    pub operation: String,
    /// Correlation id of the call.
    pub correlation_id: String,
    /// Headers in sending order (includes the sensitive `Authorization`).
    pub headers: Vec<Header>,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
}

/// The answer the host received.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers as received, in order.
    pub headers: Vec<HttpHeader>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// How a call failed without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TransportKind {
    /// The connection was refused (nothing sent).
    ConnectRefused,
    /// The host name did not resolve (nothing sent).
    Dns,
    /// TLS handshake or stream failure.
    Tls,
    /// No (complete) response in time.
    Timeout,
    /// The connection was reset or closed early.
    Reset,
}

/// How far a failed request got; the core derives from it whether the
/// request may have reached incwo (only `Connect` and `TlsHandshake` say no).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TransportPhase {
    /// Resolving or connecting: nothing sent.
    Connect,
    /// The TLS handshake: nothing sent.
    TlsHandshake,
    /// The request was (at least partly) written.
    Sent,
    /// The host cannot tell: may have been sent.
    Unknown,
}

/// A transport failure: what failed and how far the request had got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TransportFailure {
    /// What failed.
    pub kind: TransportKind,
    /// How far the request had got; `None` (the default) is `Unknown`:
    /// the request may have been sent.
    #[uniffi(default)]
    pub phase: Option<TransportPhase>,
}

/// An error attached to an outcome (`class` is `error_class`: `class` is a
/// Python keyword).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ErrorInfo {
    /// `technical`, `contract`, `business` or `usage`.
    pub error_class: String,
    /// Stable code.
    pub code: String,
    /// What happened.
    pub message: String,
    /// Contract violations, for contract errors found locally.
    pub violations: Vec<Violation>,
    /// What incwo said or what differed, as JSON text.
    pub details_json: Option<String>,
}

/// How a record ended.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Outcome {
    /// incwo now holds the record.
    Synced {
        /// incwo id of the record's main object.
        incwo_id: Option<u64>,
    },
    /// Already applied: nothing was sent.
    Skipped {
        /// incwo id of the record's main object.
        incwo_id: Option<u64>,
    },
    /// Refused (contract) or blocked (business): needs a fix, never retried.
    Quarantined {
        /// Why.
        error: ErrorInfo,
    },
    /// Not done now; replay the record not before `not_before`.
    Deferred {
        /// ms since the epoch.
        not_before: u64,
        /// Why.
        error: ErrorInfo,
    },
}

/// Counts of a batch's outcomes.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Summary {
    /// Records in the batch.
    pub total: u64,
    /// Records that ended.
    pub finished: u64,
    /// Synced.
    pub synced: u64,
    /// Skipped (already applied).
    pub skipped: u64,
    /// Quarantined.
    pub quarantined: u64,
    /// Deferred.
    pub deferred: u64,
    /// Quarantined and deferred records by error code.
    pub errors_by_code: HashMap<String, u64>,
    /// Set when the run stopped early (bad credentials, API access off).
    pub stopped: Option<ErrorInfo>,
}

/// What the host must do next.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Action {
    /// Send this request and answer with `request_id`.
    Send {
        /// Id to answer with.
        request_id: u64,
        /// The request.
        request: Request,
    },
    /// Nothing to do before `until` (ms since the epoch): sleep, or requeue.
    Wait {
        /// ms since the epoch.
        until: u64,
        /// Why (`retry_backoff`, `breaker_open`…).
        reason: String,
    },
    /// Publish this event on this queue.
    Publish {
        /// Queue name.
        queue: String,
        /// The event's `type` (`order.created`, `record.quarantined`…).
        event_type: String,
        /// The whole event as JSON text.
        event_json: String,
    },
    /// A record ended (for progress reports).
    RecordDone {
        /// 0-based index in the batch.
        index: u64,
        /// 1-based line in the input.
        line: u64,
        /// Kind, when the line named a valid one.
        kind: Option<String>,
        /// External id, when readable.
        external_id: Option<String>,
        /// How it ended.
        outcome: Outcome,
        /// The outcome as the core's JSON text.
        outcome_json: String,
        /// For a quarantined record: its quarantine entry as the core's JSON
        /// text (already redacted), to store under its `id` (merged with the
        /// previous one through `quarantine.merge`).
        quarantine_json: Option<String>,
    },
    /// The batch is over.
    Done {
        /// The outcome counts.
        summary: Summary,
    },
}

fn shape_error(what: &str) -> IncwoError {
    IncwoError::usage(&UsageError::new(
        "usage.internal",
        format!("the core's {what} JSON has an unexpected shape"),
        "report this to the connector's maintainers",
    ))
}

fn string(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn opt_string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn number(value: &Value, key: &str, what: &str) -> Result<u64, IncwoError> {
    value.get(key).and_then(Value::as_u64).ok_or_else(|| shape_error(what))
}

/// The violations of a JSON array (missing or malformed entries give none).
pub(crate) fn violations_from(value: Option<&Value>) -> Vec<Violation> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|v| Violation {
                    path: string(v, "path"),
                    code: string(v, "code"),
                    severity: string(v, "severity"),
                    message: string(v, "message"),
                    hint: string(v, "hint"),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn error_info(value: &Value) -> ErrorInfo {
    ErrorInfo {
        error_class: string(value, "class"),
        code: string(value, "code"),
        message: string(value, "message"),
        violations: violations_from(value.get("violations")),
        details_json: value.get("details").filter(|d| !d.is_null()).map(Value::to_string),
    }
}

fn outcome(value: &Value) -> Result<Outcome, IncwoError> {
    let incwo_id = value.get("incwoId").and_then(Value::as_u64);
    Ok(match value.get("outcome").and_then(Value::as_str) {
        Some("synced") => Outcome::Synced { incwo_id },
        Some("skipped") => Outcome::Skipped { incwo_id },
        Some("quarantined") => Outcome::Quarantined {
            error: error_info(&value["error"]),
        },
        Some("deferred") => Outcome::Deferred {
            not_before: number(value, "notBefore", "outcome")?,
            error: error_info(&value["error"]),
        },
        _ => return Err(shape_error("outcome")),
    })
}

fn request(value: &Value) -> Result<Request, IncwoError> {
    let body_text = string(value, "body");
    let body = match value.get("bodyEncoding").and_then(Value::as_str) {
        Some("base64") => base64_decode(&body_text).ok_or_else(|| shape_error("request body"))?,
        _ => body_text.into_bytes(),
    };
    let headers = value
        .get("headers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|h| Header {
                    name: string(h, "name"),
                    value: string(h, "value"),
                    sensitive: h.get("sensitive").and_then(Value::as_bool).unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Request {
        method: string(value, "method"),
        url: string(value, "url"),
        endpoint: string(value, "endpoint"),
        operation: string(value, "operation"),
        correlation_id: string(value, "correlationId"),
        headers,
        body,
    })
}

/// Reads a summary from its JSON shape.
pub(crate) fn summary(value: &Value) -> Result<Summary, IncwoError> {
    let count = |key: &str| number(value, key, "summary");
    let errors_by_code = value
        .get("errorsByCode")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(code, n)| (code.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    Ok(Summary {
        total: count("total")?,
        finished: count("finished")?,
        synced: count("synced")?,
        skipped: count("skipped")?,
        quarantined: count("quarantined")?,
        deferred: count("deferred")?,
        errors_by_code,
        stopped: value.get("stopped").filter(|s| !s.is_null()).map(error_info),
    })
}

/// Reads an action from the core's JSON (`{"action": "send", …}`).
pub(crate) fn action(value: &Value) -> Result<Action, IncwoError> {
    Ok(match value.get("action").and_then(Value::as_str) {
        Some("send") => Action::Send {
            request_id: number(value, "requestId", "send action")?,
            request: request(&value["request"])?,
        },
        Some("wait") => Action::Wait {
            until: number(value, "until", "wait action")?,
            reason: string(value, "reason"),
        },
        Some("publish") => Action::Publish {
            queue: string(value, "queue"),
            event_type: string(&value["event"], "type"),
            event_json: value["event"].to_string(),
        },
        Some("recordDone") => Action::RecordDone {
            index: number(value, "index", "recordDone action")?,
            line: number(value, "line", "recordDone action")?,
            kind: opt_string(value, "kind"),
            external_id: opt_string(value, "externalId"),
            outcome: outcome(&value["outcome"])?,
            outcome_json: value["outcome"].to_string(),
            quarantine_json: value.get("quarantine").filter(|q| !q.is_null()).map(Value::to_string),
        },
        Some("done") => Action::Done {
            summary: summary(&value["summary"])?,
        },
        _ => return Err(shape_error("action")),
    })
}

/// The JSON shape of a response for the core: the body as text when it is
/// UTF-8, else as base64.
pub(crate) fn response_json(response: &Response) -> Value {
    let headers: Vec<Value> = response
        .headers
        .iter()
        .map(|h| json!({"name": h.name, "value": h.value}))
        .collect();
    match std::str::from_utf8(&response.body) {
        Ok(text) => json!({"status": response.status, "headers": headers, "body": text}),
        Err(_) => json!({"status": response.status, "headers": headers, "bodyBase64": base64_encode(&response.body)}),
    }
}

/// The JSON shape of a transport failure for the core.
pub(crate) fn failure_json(failure: &TransportFailure) -> Value {
    let kind = match failure.kind {
        TransportKind::ConnectRefused => "connect_refused",
        TransportKind::Dns => "dns",
        TransportKind::Tls => "tls",
        TransportKind::Timeout => "timeout",
        TransportKind::Reset => "reset",
    };
    let phase = match failure.phase {
        Some(TransportPhase::Connect) => "connect",
        Some(TransportPhase::TlsHandshake) => "tls_handshake",
        Some(TransportPhase::Sent) => "sent",
        Some(TransportPhase::Unknown) | None => "unknown",
    };
    json!({"kind": kind, "phase": phase})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_action_decodes_its_body() {
        let value = json!({"action": "send", "requestId": 3, "request": {
            "method": "POST", "url": "http://127.0.0.1:1/1/firms.xml", "endpoint": "/firms.xml",
            "operation": "create", "correlationId": "c",
            "headers": [{"name": "Authorization", "value": "Basic x", "sensitive": true}],
            "body": base64_encode(&[0xff, 0x00]), "bodyEncoding": "base64"}});
        match action(&value).unwrap() {
            Action::Send { request_id, request } => {
                assert_eq!(request_id, 3);
                assert_eq!(request.body, vec![0xff, 0x00]);
                assert!(request.headers[0].sensitive);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outcomes_and_summaries_read_back() {
        let value = json!({"action": "recordDone", "index": 0, "line": 1, "kind": "order", "externalId": "X",
            "outcome": {"outcome": "deferred", "notBefore": 5, "error": {"class": "technical", "code": "http.503",
            "message": "m", "details": {"status": 503}}}});
        let Action::RecordDone {
            outcome,
            quarantine_json,
            ..
        } = action(&value).unwrap()
        else {
            panic!()
        };
        assert_eq!(quarantine_json, None);
        let quarantined = json!({"action": "recordDone", "index": 0, "line": 1, "kind": "order", "externalId": "X",
            "outcome": {"outcome": "quarantined", "error": {"class": "contract", "code": "contract.invalid", "message": "m"}},
            "quarantine": {"id": "q-1", "state": "open"}});
        let Action::RecordDone { quarantine_json, .. } = action(&quarantined).unwrap() else {
            panic!()
        };
        assert_eq!(quarantine_json.as_deref(), Some("{\"id\":\"q-1\",\"state\":\"open\"}"));
        let Outcome::Deferred { not_before, error } = outcome else {
            panic!()
        };
        assert_eq!((not_before, error.error_class.as_str()), (5, "technical"));
        assert_eq!(error.details_json.as_deref(), Some("{\"status\":503}"));
        assert!(action(&json!({"action": "fly"})).is_err());
    }

    #[test]
    fn binary_bodies_go_as_base64() {
        let r = Response {
            status: 200,
            headers: vec![],
            body: vec![0xff],
        };
        assert_eq!(response_json(&r)["bodyBase64"], "/w==");
    }
}
