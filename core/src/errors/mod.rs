//! Error classification: every failed call lands in exactly one of three
//! classes (docs/DESIGN.md#6-errors-and-retries), with a stable code, the endpoint template,
//! the HTTP status and incwo's own messages.
//!
//! - **technical**: transport failures, timeouts, 408, 425, 429, 5xx, and
//!   authentication (401/403, which also need an operator);
//! - **contract**: incwo refused the payload (400, 422, other 4xx);
//! - **business**: the request is well-formed but the business state forbids
//!   it (404/410 on a record, 409).
//!
//! The status table is a default that a [`ClassificationTable`] overrides per
//! status. A host's misuse of the API is a [`crate::usage::UsageError`],
//! never one of the three classes. incwo documents no idempotency: a write whose bytes may
//! have reached incwo before the failure is flagged `outcomeUnknown` so the
//! retry policy reconciles before repeating a create.

mod body;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::http::{CallSite, Method, Operation, Response};

pub use crate::base::classification::{default_rule, ClassificationTable, ErrorClass, StatusRule};
pub use body::{extract_messages, mask_emails, raw_body_for_operator, IncwoMessage, RAW_BODY_LIMIT};

/// How a call failed without a response. JSON: snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// The connection was refused (nothing sent).
    ConnectRefused,
    /// The host name did not resolve (nothing sent).
    Dns,
    /// TLS handshake or TLS stream failure.
    Tls,
    /// No (complete) response in time.
    Timeout,
    /// The connection was reset or closed early.
    Reset,
}

impl TransportKind {
    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::ConnectRefused => "connect_refused",
            TransportKind::Dns => "dns",
            TransportKind::Tls => "tls",
            TransportKind::Timeout => "timeout",
            TransportKind::Reset => "reset",
        }
    }

    /// True for kinds that fail before any byte of the request can leave.
    pub fn is_before_sending(self) -> bool {
        matches!(self, TransportKind::ConnectRefused | TransportKind::Dns)
    }
}

/// How far a failed request got, as the host's HTTP client reports it
/// through structured signals (an exception class, an error kind, the
/// connection's timings), never through an error message's wording.
/// JSON: snake_case; a missing phase is `unknown`.
///
/// Only `connect` and `tls_handshake` prove that no byte of the request
/// left: a write that failed in `sent` or `unknown` may have reached incwo,
/// so the core reconciles it before repeating it (unless its kind is
/// `connect_refused` or `dns`: see [`TransportFailure::may_have_been_sent`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransportPhase {
    /// Resolving the host or opening the TCP connection: nothing was sent.
    Connect,
    /// The TLS handshake, before any request byte: nothing was sent.
    TlsHandshake,
    /// The request was (at least partly) written: incwo may have received it.
    Sent,
    /// The host cannot tell: treated as "may have been sent".
    #[default]
    Unknown,
}

impl TransportPhase {
    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportPhase::Connect => "connect",
            TransportPhase::TlsHandshake => "tls_handshake",
            TransportPhase::Sent => "sent",
            TransportPhase::Unknown => "unknown",
        }
    }

    /// False only for the phases that end before any request byte leaves.
    pub fn may_have_sent(self) -> bool {
        !matches!(self, TransportPhase::Connect | TransportPhase::TlsHandshake)
    }
}

/// A transport failure reported by the host: what failed (`kind`, which
/// names the error code and metric labels) and how far the request had got
/// (`phase`). JSON: `{"kind": "reset", "phase": "sent"}`; `phase` defaults
/// to `unknown`. The former `maybeSent` flag is refused: the host reports the
/// phase and the core derives whether the request may have been sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransportFailure {
    /// What failed.
    pub kind: TransportKind,
    /// How far the request had got when it failed.
    #[serde(default)]
    pub phase: TransportPhase,
}

impl TransportFailure {
    /// Whether the request may have reached incwo: false only when the phase
    /// ends before sending (`connect`, `tls_handshake`) or the kind cannot
    /// happen after it (`connect_refused`, `dns`).
    ///
    /// The kind rule holds whatever the phase, a missing or `unknown` one
    /// included: `connect_refused` and `dns` are themselves structured signals
    /// (an error kind or class of the host's client, not a message's wording)
    /// that the connection never opened, so no byte can have left. Every other
    /// kind (`tls`, `timeout`, `reset`) follows the phase alone.
    pub fn may_have_been_sent(&self) -> bool {
        self.phase.may_have_sent() && !self.kind.is_before_sending()
    }
}

/// A classified failure: everything the retry policy, the flow, telemetry
/// and an operator need. No credentials ever; e-mail addresses in incwo's
/// messages and raw body are masked.
///
/// JSON (camelCase): `{"class", "code", "message", "method", "endpoint",
/// "operation", "correlationId", "status", "retryable", "outcomeUnknown",
/// "needsOperator", "retryAfterMs", "messages": [{"field","text"}], "rawBody"}`;
/// absent optional values are `null`. `retryAfterMs` is an absolute time in
/// milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifiedError {
    /// Technical, contract or business.
    pub class: ErrorClass,
    /// Stable code (`http.503`, `auth.unauthorized`, `transport.timeout`, `contract.rejected`, …).
    pub code: String,
    /// One-line explanation for an operator (no secret, no personal data).
    pub message: String,
    /// HTTP method of the call.
    pub method: Method,
    /// Endpoint template (`/bill_sheets/{id}.xml`), never a raw id.
    pub endpoint: String,
    /// Operation of the call.
    pub operation: Operation,
    /// Correlation id of the call, when known.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// HTTP status, when there was a response.
    #[serde(default)]
    pub status: Option<u16>,
    /// Whether a retry may help.
    pub retryable: bool,
    /// A write may have been applied by incwo although the call failed.
    pub outcome_unknown: bool,
    /// An operator must act (credentials, API access, server address).
    pub needs_operator: bool,
    /// Earliest retry time (ms since the epoch) from `Retry-After`.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
    /// incwo's messages from the body.
    #[serde(default)]
    pub messages: Vec<IncwoMessage>,
    /// The raw body, capped at [`RAW_BODY_LIMIT`] bytes, scrubbed.
    #[serde(default)]
    pub raw_body: Option<String>,
}

impl ClassifiedError {
    /// True when this failure is a timeout (transport timeout, 408, 504):
    /// retrying it costs more of the retry budget.
    pub fn is_timeout(&self) -> bool {
        self.code == "transport.timeout" || matches!(self.status, Some(408) | Some(504))
    }
}

impl fmt::Display for ClassifiedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} error {} on {} {}",
            self.class.as_str(),
            self.code,
            self.method,
            self.endpoint
        )?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ClassifiedError {}

/// Parses a `Retry-After` value, seconds or HTTP-date (IMF-fixdate, RFC 850
/// or asctime), into an absolute time in ms since the epoch. A date in the
/// past gives `now_ms`; an unreadable value gives `None`.
pub fn parse_retry_after(value: &str, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = value.parse().unwrap_or(u64::MAX);
        return Some(now_ms.saturating_add(seconds.saturating_mul(1000)));
    }
    let millis = chrono::DateTime::parse_from_rfc2822(value)
        .map(|d| d.timestamp_millis())
        .ok()
        .or_else(|| {
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(value, f).ok())
                .map(|d| d.and_utc().timestamp_millis())
        })?;
    Some(u64::try_from(millis).unwrap_or(0).max(now_ms))
}

fn summary(rule: &StatusRule, code: &str, status: u16) -> String {
    match code {
        "auth.unauthorized" => "incwo refused the credentials (401): check the API user's login and password".to_owned(),
        "auth.forbidden" => "incwo denied access (403): check that API access is switched on for this business file and allowed by its plan".to_owned(),
        "http.redirect" => format!("incwo answered a redirect ({status}): check the server address and the business file id"),
        "contract.rejected" => format!("incwo rejected the payload ({status}); see its messages"),
        "business.not_found" => format!("the record does not exist in incwo ({status})"),
        "business.conflict" => format!("incwo reports a conflict with the current state ({status})"),
        _ => match (rule.class, status) {
            (ErrorClass::Technical, 429) => "incwo is throttling requests (429)".to_owned(),
            (ErrorClass::Technical, 500..=599) => format!("incwo failed to handle the request ({status})"),
            (ErrorClass::Technical, _) => format!("incwo answered {status}"),
            (ErrorClass::Contract, _) => format!("incwo refused the request ({status})"),
            (ErrorClass::Business, _) => format!("incwo refused the request for a business reason ({status})"),
        },
    }
}

/// Classifies a response. `None` for 2xx (not an error). `now_ms` turns a
/// `Retry-After` into an absolute time.
pub fn classify_response(
    call: &CallSite,
    response: &Response,
    now_ms: u64,
    table: &ClassificationTable,
) -> Option<ClassifiedError> {
    if response.is_success() {
        return None;
    }
    let status = response.status;
    let rule = table.rule(status);
    let code = rule.code.clone().unwrap_or_else(|| format!("http.{status}"));
    let technical = rule.class == ErrorClass::Technical;
    let retryable = rule.retryable.unwrap_or(technical);
    let mut message = summary(&rule, &code, status);
    let outcome_unknown = technical && call.method == Method::Post && (status == 408 || (500..=599).contains(&status));
    if outcome_unknown {
        message.push_str("; the write may have been applied, its outcome is unknown");
    }
    Some(ClassifiedError {
        class: rule.class,
        message,
        code,
        method: call.method,
        endpoint: call.endpoint.clone(),
        operation: call.operation,
        correlation_id: call.correlation_id.clone(),
        status: Some(status),
        retryable,
        outcome_unknown,
        needs_operator: rule.needs_operator,
        retry_after_ms: response
            .header("Retry-After")
            .and_then(|v| parse_retry_after(v, now_ms)),
        messages: extract_messages(&response.body),
        raw_body: raw_body_for_operator(&response.body),
    })
}

/// Classifies a transport failure: always technical and retryable; a write
/// (POST/PUT) whose bytes may have left is flagged `outcomeUnknown`.
pub fn classify_transport(call: &CallSite, failure: TransportFailure) -> ClassifiedError {
    let sent = failure.may_have_been_sent();
    let outcome_unknown = sent && matches!(call.method, Method::Post | Method::Put);
    let what = match failure.kind {
        TransportKind::ConnectRefused => "the connection to incwo was refused",
        TransportKind::Dns => "incwo's host name did not resolve",
        TransportKind::Tls => "the TLS connection to incwo failed",
        TransportKind::Timeout => "incwo did not answer in time",
        TransportKind::Reset => "the connection to incwo was reset",
    };
    let when = if outcome_unknown {
        "after the request may have been sent: the write's outcome is unknown"
    } else if sent {
        "after the request may have been sent"
    } else {
        "before the request was sent"
    };
    ClassifiedError {
        class: ErrorClass::Technical,
        code: format!("transport.{}", failure.kind.as_str()),
        message: format!("{what} {when}"),
        method: call.method,
        endpoint: call.endpoint.clone(),
        operation: call.operation,
        correlation_id: call.correlation_id.clone(),
        status: None,
        retryable: true,
        outcome_unknown,
        needs_operator: false,
        retry_after_ms: None,
        messages: Vec::new(),
        raw_body: None,
    }
}

/// A contract error found locally (before anything is sent), so that local
/// violations and incwo's 400/422 share one shape. `code` is e.g.
/// `contract.required`.
pub fn contract_violation(call: &CallSite, code: &str, messages: Vec<IncwoMessage>) -> ClassifiedError {
    ClassifiedError {
        class: ErrorClass::Contract,
        code: code.to_owned(),
        message: "the record breaks the contract; nothing was sent".to_owned(),
        method: call.method,
        endpoint: call.endpoint.clone(),
        operation: call.operation,
        correlation_id: call.correlation_id.clone(),
        status: None,
        retryable: false,
        outcome_unknown: false,
        needs_operator: false,
        retry_after_ms: None,
        messages,
        raw_body: None,
    }
}

#[cfg(test)]
mod tests;
