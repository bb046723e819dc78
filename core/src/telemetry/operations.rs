//! The metrics operators alert on, beyond the five the product names:
//!
//! | metric | type | labels | updated by |
//! |---|---|---|---|
//! | `quarantined_records_total` | counter | `class`, `code`, `resource` | a flow's record ends quarantined |
//! | `retry_total` | counter | `endpoint` | a flow sends a request again (attempt > 1) |
//! | `retry_budget_remaining` | gauge | `host` | every flow action (the tenant's token bucket) |
//! | `retry_budget_capacity` | gauge | `host` | every flow action (the bucket's size) |
//! | `circuit_breaker_state` | gauge | `host` | every flow action: 0 closed, 1 half-open, 2 open |
//! | `last_successful_sync_timestamp_seconds` | gauge | none | a flow's batch ends with nothing deferred and no stop |
//! | `webhook_backlog_size` | gauge | none | the host (webhook targets waiting to be re-read) |
//!
//! Label values are bounded: `code` is a code of the core's table
//! ([`crate::codes`]; an `http.{status}` code becomes its family `http.4xx`
//! or `http.5xx`, anything else `other`), `class` one of the error classes,
//! `resource` a record kind, `host` the incwo server's host (and port).
//! Every value still goes through the same normalisation as the five's.
//!
//! JSON forms (`telemetry.render` and `Flow::record_metric`), beside the five's:
//! `{"metric": "quarantined", "class", "code", "resource"}`,
//! `{"metric": "retry", "endpoint"}`,
//! `{"metric": "retry_budget", "host", "remaining", "capacity"}`,
//! `{"metric": "breaker_state", "host", "state": "closed"|"half_open"|"open"}`,
//! `{"metric": "sync_succeeded", "atSeconds"}`, `{"metric": "webhook_backlog", "size"}`.

use super::{escape_label, header, normalize_endpoint, sanitize_label, MetricEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The text of the runbook's "Metrics and alerts" section (appended to
/// `docs/RUNBOOK.md` by [`crate::codes::runbook_markdown`]).
pub const RUNBOOK_SECTION: &str = include_str!("operations_runbook.md");

/// Error classes a `class` label may take; anything else is `other`.
const CLASSES: [&str; 6] = ["technical", "contract", "business", "usage", "deferred", "inbound"];

/// Position of a circuit breaker, as the gauge reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerGauge {
    /// Calls flow (0).
    Closed,
    /// One probe is let through (1).
    HalfOpen,
    /// Calls are held (2).
    Open,
}

impl BreakerGauge {
    fn value(self) -> u64 {
        match self {
            BreakerGauge::Closed => 0,
            BreakerGauge::HalfOpen => 1,
            BreakerGauge::Open => 2,
        }
    }
}

/// A measurement for the operations metrics (see the module's table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum OperationsEvent {
    /// A record ended quarantined.
    Quarantined {
        /// Error class (`contract`, `business`…).
        class: String,
        /// Stable error code.
        code: String,
        /// Record kind (`order`, `invoice`…; `unknown` when the line named none).
        resource: String,
    },
    /// A request was sent again.
    Retry {
        /// Endpoint template.
        endpoint: String,
    },
    /// The retry budget (token bucket) of the tenant served by `host`.
    RetryBudget {
        /// incwo server host.
        host: String,
        /// Tokens left.
        remaining: u64,
        /// Bucket size.
        capacity: u64,
    },
    /// The circuit breaker's position for `host`.
    BreakerState {
        /// incwo server host.
        host: String,
        /// Position.
        state: BreakerGauge,
    },
    /// A batch ended with nothing deferred and no stop.
    #[serde(rename_all = "camelCase")]
    SyncSucceeded {
        /// When, in seconds since the epoch.
        at_seconds: u64,
    },
    /// Webhook targets waiting to be re-read (set by the host).
    WebhookBacklog {
        /// How many.
        size: u64,
    },
}

/// Series of the operations metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationsRegistry {
    quarantined: BTreeMap<(String, String, String), u64>,
    retries: BTreeMap<String, u64>,
    budget_remaining: BTreeMap<String, u64>,
    budget_capacity: BTreeMap<String, u64>,
    breaker: BTreeMap<String, u64>,
    last_sync: Option<u64>,
    webhook_backlog: Option<u64>,
    host_label: HostLabel,
}

/// The last host label sanitised: the retry budget and breaker gauges are
/// set on every poll with the same host, and sanitising it each time was a
/// fifth of a replay's time. A cache, so it takes no part in equality.
#[derive(Debug, Clone, Default)]
struct HostLabel(Option<(String, String)>);

impl HostLabel {
    fn get(&mut self, host: &str) -> String {
        match &self.0 {
            Some((raw, label)) if raw == host => label.clone(),
            _ => {
                let label = sanitize_label(host);
                self.0 = Some((host.to_owned(), label.clone()));
                label
            }
        }
    }
}

impl PartialEq for HostLabel {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for HostLabel {}

/// A `code` label value from the core's table (bounded).
fn bounded_code(code: &str) -> String {
    crate::base::codes::lookup(code).map_or_else(|| "other".to_owned(), |info| info.code.to_owned())
}

fn bounded_class(class: &str) -> String {
    CLASSES
        .iter()
        .find(|c| **c == class)
        .map_or_else(|| "other".to_owned(), |c| (*c).to_owned())
}

fn add(total: &mut u64, n: u64) {
    *total = total.saturating_add(n);
}

impl OperationsRegistry {
    /// Applies one event, bounding and normalising its label values.
    pub fn record(&mut self, event: &OperationsEvent) {
        match event {
            OperationsEvent::Quarantined { class, code, resource } => add(
                self.quarantined
                    .entry((bounded_class(class), bounded_code(code), sanitize_label(resource)))
                    .or_insert(0),
                1,
            ),
            OperationsEvent::Retry { endpoint } => {
                add(self.retries.entry(normalize_endpoint(endpoint)).or_insert(0), 1)
            }
            OperationsEvent::RetryBudget {
                host,
                remaining,
                capacity,
            } => {
                let label = self.host_label.get(host);
                self.budget_remaining.insert(label.clone(), *remaining);
                self.budget_capacity.insert(label, *capacity);
            }
            OperationsEvent::BreakerState { host, state } => {
                let label = self.host_label.get(host);
                self.breaker.insert(label, state.value());
            }
            OperationsEvent::SyncSucceeded { at_seconds } => {
                self.last_sync = Some(self.last_sync.unwrap_or(0).max(*at_seconds));
            }
            OperationsEvent::WebhookBacklog { size } => self.webhook_backlog = Some(*size),
        }
    }

    /// Appends the operations families (HELP and TYPE also when empty).
    pub fn render(&self, out: &mut String) {
        let name = "circuit_breaker_state";
        header(
            out,
            name,
            "Circuit breaker position per incwo host: 0 closed, 1 half-open, 2 open.",
            "gauge",
        );
        series(out, name, "host", &self.breaker);
        let name = "last_successful_sync_timestamp_seconds";
        header(
            out,
            name,
            "When a batch last ended with nothing deferred, in seconds since the epoch.",
            "gauge",
        );
        if let Some(at) = self.last_sync {
            let _ = writeln!(out, "{name} {at}");
        }
        let name = "quarantined_records_total";
        header(
            out,
            name,
            "Records quarantined (they need an operator), by error class, code and record kind.",
            "counter",
        );
        for ((class, code, resource), n) in &self.quarantined {
            let _ = writeln!(
                out,
                "{name}{{class=\"{}\",code=\"{}\",resource=\"{}\"}} {n}",
                escape_label(class),
                escape_label(code),
                escape_label(resource)
            );
        }
        let name = "retry_budget_capacity";
        header(
            out,
            name,
            "Size of the retry budget (token bucket) per incwo host.",
            "gauge",
        );
        series(out, name, "host", &self.budget_capacity);
        let name = "retry_budget_remaining";
        header(out, name, "Tokens left in the retry budget per incwo host.", "gauge");
        series(out, name, "host", &self.budget_remaining);
        let name = "retry_total";
        header(
            out,
            name,
            "Requests sent again after a failure, by endpoint template.",
            "counter",
        );
        series(out, name, "endpoint", &self.retries);
        let name = "webhook_backlog_size";
        header(
            out,
            name,
            "Webhook targets waiting to be re-read, as reported by the host.",
            "gauge",
        );
        if let Some(size) = self.webhook_backlog {
            let _ = writeln!(out, "{name} {size}");
        }
    }

    /// Reads back one series [`OperationsRegistry::render`] wrote; `Ok(false)`
    /// when `name` is not one of these families.
    pub(super) fn read(&mut self, name: &str, labels: &BTreeMap<String, String>, value: u64) -> Result<bool, String> {
        let label = |key: &str| -> Result<String, String> {
            labels
                .get(key)
                .cloned()
                .ok_or_else(|| format!("`{name}` needs the label `{key}`"))
        };
        match name {
            "circuit_breaker_state" => {
                self.breaker.insert(label("host")?, value);
            }
            "last_successful_sync_timestamp_seconds" => self.last_sync = Some(value),
            "quarantined_records_total" => {
                self.quarantined
                    .insert((label("class")?, label("code")?, label("resource")?), value);
            }
            "retry_budget_capacity" => {
                self.budget_capacity.insert(label("host")?, value);
            }
            "retry_budget_remaining" => {
                self.budget_remaining.insert(label("host")?, value);
            }
            "retry_total" => {
                self.retries.insert(label("endpoint")?, value);
            }
            "webhook_backlog_size" => self.webhook_backlog = Some(value),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Adds a run to these totals: counters add up, gauges take the run's
    /// value, the last sync time keeps the latest.
    pub(super) fn merge(&mut self, run: &OperationsRegistry) {
        for (key, n) in &run.quarantined {
            add(self.quarantined.entry(key.clone()).or_insert(0), *n);
        }
        for (key, n) in &run.retries {
            add(self.retries.entry(key.clone()).or_insert(0), *n);
        }
        for (totals, run) in [
            (&mut self.budget_remaining, &run.budget_remaining),
            (&mut self.budget_capacity, &run.budget_capacity),
            (&mut self.breaker, &run.breaker),
        ] {
            totals.extend(run.iter().map(|(k, v)| (k.clone(), *v)));
        }
        if let Some(at) = run.last_sync {
            self.last_sync = Some(self.last_sync.unwrap_or(0).max(at));
        }
        if run.webhook_backlog.is_some() {
            self.webhook_backlog = run.webhook_backlog;
        }
    }
}

fn series(out: &mut String, name: &str, label: &str, values: &BTreeMap<String, u64>) {
    for (value, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape_label(value));
    }
}

impl From<OperationsEvent> for MetricEvent {
    fn from(event: OperationsEvent) -> Self {
        MetricEvent::Operations(event)
    }
}

#[cfg(test)]
mod tests;
