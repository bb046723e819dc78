//! Inbound sync: document changes made inside incwo, brought back to the host.
//!
//! Statuses also change in incwo (a quote accepted by the sales team, an
//! invoice finalised or paid, a document edited or deleted by hand). Two
//! ways bring those changes in, both sans-IO:
//!
//! - **webhooks** ([`intake`]): a pure function turns what the host received
//!   into the object to re-read (incwo signs nothing, so the body is never
//!   trusted: the object is always re-fetched) or a refusal with the HTTP
//!   status to answer. Hosts answer incwo at once and re-fetch later, from a
//!   queue;
//! - **polling** ([`poll`]): for hosts that cannot receive webhooks, a
//!   cursor over list pages, bounded by a page budget per run.
//!
//! Either way, [`detect`] compares what incwo shows with the ledger (status
//! through the profile's `progress_id` tables, totals, order lines,
//! deletion) and returns typed change events for the queues of
//! docs/DESIGN.md#7-flows-replayable-steps: `quote.accepted`, `order.delivered`, `invoice.issued`,
//! `invoice.paid`… (`{domain}.{status}` in snake case), `document.deleted`
//! and `document.edited_in_incwo` with the differing fields. The ledger is
//! updated with what was seen, so a change is reported once and the
//! connector's own writes are never echoed back.
//!
//! The JSON calls (`inbound.webhook`, `inbound.fetch`, `inbound.detect`,
//! `inbound.poll`, `inbound.throttle`) live in `crate::api` and are
//! documented in `docs/INBOUND.md`.

pub mod detect;
pub mod intake;
pub mod poll;
pub mod snapshot;
pub mod throttle;

use crate::mapping::totals::Totals;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A webhook refused, with the HTTP status the host answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code}); {hint}")]
pub struct InboundError {
    /// Stable code (`inbound.bad_body`, `inbound.bad_secret`…).
    pub code: String,
    /// The HTTP status to answer (400, 403, 413; 500 for bad settings).
    pub http_status: u16,
    /// What is wrong (never the secret nor the body).
    pub message: String,
    /// What to do.
    pub hint: String,
    /// When the caller may try again (answered as `Retry-After`), for the
    /// refusals that end by themselves: a missing secret, a throttled address.
    pub retry_after_seconds: Option<u64>,
}

impl InboundError {
    /// An intake refusal.
    pub fn new(code: &str, http_status: u16, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            http_status,
            message: message.into(),
            hint: hint.into(),
            retry_after_seconds: None,
        }
    }

    /// The same refusal, to be retried after `seconds` (`Retry-After`).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// `{"status": 403, "error": {"class": "inbound", "code", "message", "hint"}}`.
    pub fn to_json(&self) -> Value {
        let mut out = json!({"status": self.http_status, "error": {
            "class": "inbound", "code": self.code, "message": self.message, "hint": self.hint,
        }});
        if let Some(seconds) = self.retry_after_seconds {
            out["retryAfterSeconds"] = json!(seconds);
        }
        out
    }
}

/// Where a change was noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// An incwo webhook, then a re-fetch.
    #[default]
    Webhook,
    /// A polling run.
    Poll,
}

/// Settings of detection. JSON camelCase; every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InboundOptions {
    /// Tenant name in event keys (the flows' `tenant`); the business file id when empty.
    pub tenant: String,
    /// Company segment of queue names (the flows' `company`).
    pub company: String,
    /// Correlation id of the events and requests; derived when absent.
    pub correlation_id: Option<String>,
    /// Set from the connection config: the tenant when none is given.
    #[serde(skip)]
    pub business_file_id: String,
}

impl Default for InboundOptions {
    fn default() -> Self {
        Self {
            tenant: String::new(),
            company: "default".into(),
            correlation_id: None,
            business_file_id: String::new(),
        }
    }
}

/// One field that differs: what the ledger knew, what incwo shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// Before (as the ledger knew it).
    pub before: Option<String>,
    /// After (as incwo shows it).
    pub after: Option<String>,
}

/// A change made in incwo, for the host to publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    /// `quote.accepted`, `order.delivered`, `invoice.issued`, `invoice.paid`,
    /// `document.deleted`, `document.edited_in_incwo`…
    #[serde(rename = "type")]
    pub event_type: String,
    /// The record's external id (document number).
    pub external_id: String,
    /// incwo's id.
    pub incwo_id: Option<u64>,
    /// incwo resource.
    pub resource: String,
    /// Status now (`deleted` after a deletion).
    pub status: Option<String>,
    /// Status the ledger knew before.
    pub previous_status: Option<String>,
    /// For status events: whether the transition table allows the move
    /// (incwo's users are not bound by it; `false` deserves a look).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_transition: Option<bool>,
    /// Totals now.
    pub totals: Option<Totals>,
    /// For `document.edited_in_incwo`: the differing fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, FieldChange>,
    /// `webhook` or `poll`.
    pub source: Source,
    /// Correlation id.
    pub correlation_id: String,
    /// Deterministic key: consumers dedupe on it.
    pub idempotency_key: String,
    /// When (RFC 3339, from the time the host passed in).
    pub occurred_at: String,
}

#[cfg(test)]
mod tests;
