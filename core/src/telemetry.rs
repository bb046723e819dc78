//! Metric and log events, a registry that renders them in the Prometheus text
//! exposition format (version 0.0.4), and the redaction rules they share.
//!
//! The core emits events; hosts export them. Metric names follow the product:
//! `api_call_duration_ms{endpoint,operation}` (histogram),
//! `api_error_total{class,endpoint}`, `integration_backlog_size{queue}` (gauge
//! set by the host), `replay_total{reason}`, `reconciliation_gap_total{domain}`.
//!
//! Label values are normalised before they are stored, never refused (a metric
//! must not fail a call): `endpoint` becomes a template (`/bill_sheets/123.xml?page=2`
//! → `/bill_sheets/{id}.xml`), and any label that looks like it carries an
//! e-mail, a phone number or a credential becomes `{redacted}`. So no
//! credential, Authorization value, e-mail or phone reaches a label, and raw
//! ids do not blow up the series count.
//!
//! JSON forms (for hosts and golden vectors in `tests/vectors/telemetry/`):
//! a [`MetricEvent`] is `{"metric": "api_call", "endpoint": "...",
//! "operation": "...", "durationMs": 120}` (also `api_error` {class, endpoint},
//! `backlog_size` {queue, size}, `replay` {reason}, `reconciliation_gap`
//! {domain}, and the operations events of [`operations`]); `crate::api`'s
//! `telemetry.render` turns a list of them into `{"text": "..."}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Upper bounds (milliseconds) of the `api_call_duration_ms` buckets; `+Inf` follows.
pub const DURATION_BUCKETS_MS: [u64; 11] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/// Longest label value kept (longer values are cut).
const MAX_LABEL_CHARS: usize = 128;

/// What replaces a label value or a text span that must not be exported.
pub const REDACTED_LABEL: &str = "{redacted}";

/// One measurement the core or the host reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum MetricEvent {
    /// An incwo API call finished (whatever its outcome) after `duration_ms`.
    #[serde(rename_all = "camelCase")]
    ApiCall {
        /// Endpoint template, e.g. `/bill_sheets/{id}.xml` (raw paths are normalised).
        endpoint: String,
        /// Operation, e.g. `GET`, `create`, `list`.
        operation: String,
        /// Duration in milliseconds.
        duration_ms: u64,
    },
    /// An incwo API call failed with an error of `class`.
    ApiError {
        /// Error class: `technical`, `contract`, `business`, `usage`.
        class: String,
        /// Endpoint template.
        endpoint: String,
    },
    /// The host's view of a queue's backlog (sets the gauge).
    BacklogSize {
        /// Queue name, e.g. `erp.incwo.billing.acme`.
        queue: String,
        /// Messages waiting.
        size: u64,
    },
    /// A record was replayed.
    Replay {
        /// Why: `already_applied` (skipped, nothing sent) or `reconciled` (a write of unknown outcome found in incwo).
        reason: String,
    },
    /// A read-back after a write differed from what was written.
    ReconciliationGap {
        /// Domain, e.g. `invoice`, `stock`.
        domain: String,
    },
    /// One of the operations metrics (quarantine, retries, breaker, last sync, webhook backlog).
    #[serde(untagged)]
    Operations(operations::OperationsEvent),
}

/// Cumulative-ready histogram state: per-bucket counts, count and sum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Histogram {
    /// Observations per bucket (not cumulative); index 11 is `+Inf`.
    buckets: [u64; DURATION_BUCKETS_MS.len() + 1],
    count: u64,
    sum: u64,
}

impl Histogram {
    fn observe(&mut self, value: u64) {
        let index = DURATION_BUCKETS_MS
            .iter()
            .position(|&le| value <= le)
            .unwrap_or(DURATION_BUCKETS_MS.len());
        self.buckets[index] = self.buckets[index].saturating_add(1);
        self.count = self.count.saturating_add(1);
        self.sum = self.sum.saturating_add(value);
    }
}

/// In-memory metric state, rendered on demand. Deterministic: series are
/// kept sorted by their label values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    durations: BTreeMap<(String, String), Histogram>,
    errors: BTreeMap<(String, String), u64>,
    backlog: BTreeMap<String, u64>,
    replays: BTreeMap<String, u64>,
    gaps: BTreeMap<String, u64>,
    ops: operations::OperationsRegistry,
}

fn bump(map: &mut BTreeMap<String, u64>, key: String) {
    let entry = map.entry(key).or_insert(0);
    *entry = entry.saturating_add(1);
}

impl Registry {
    /// Applies one event, normalising its label values first.
    pub fn record(&mut self, event: &MetricEvent) {
        match event {
            MetricEvent::ApiCall {
                endpoint,
                operation,
                duration_ms,
            } => self
                .durations
                .entry((normalize_endpoint(endpoint), sanitize_label(operation)))
                .or_default()
                .observe(*duration_ms),
            MetricEvent::ApiError { class, endpoint } => {
                let entry = self
                    .errors
                    .entry((sanitize_label(class), normalize_endpoint(endpoint)))
                    .or_insert(0);
                *entry = entry.saturating_add(1);
            }
            MetricEvent::BacklogSize { queue, size } => {
                self.backlog.insert(sanitize_label(queue), *size);
            }
            MetricEvent::Replay { reason } => bump(&mut self.replays, sanitize_label(reason)),
            MetricEvent::ReconciliationGap { domain } => bump(&mut self.gaps, sanitize_label(domain)),
            MetricEvent::Operations(event) => self.ops.record(event),
        }
    }

    /// The whole registry in Prometheus text format 0.0.4: the five families
    /// sorted by name, then the operations ones ([`operations`]) sorted by
    /// name, each with HELP and TYPE lines (also when empty), series sorted
    /// by label values, label values escaped.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        let name = "api_call_duration_ms";
        header(
            &mut out,
            name,
            "Duration of incwo API calls in milliseconds, by endpoint template and operation.",
            "histogram",
        );
        for ((endpoint, operation), h) in &self.durations {
            let labels = format!(
                "endpoint=\"{}\",operation=\"{}\"",
                escape_label(endpoint),
                escape_label(operation)
            );
            let mut cumulative = 0u64;
            for (i, le) in DURATION_BUCKETS_MS.iter().enumerate() {
                cumulative = cumulative.saturating_add(h.buckets[i]);
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
        }

        let name = "api_error_total";
        header(
            &mut out,
            name,
            "incwo API call errors, by error class and endpoint template.",
            "counter",
        );
        for ((class, endpoint), n) in &self.errors {
            let _ = writeln!(
                out,
                "{name}{{class=\"{}\",endpoint=\"{}\"}} {n}",
                escape_label(class),
                escape_label(endpoint)
            );
        }

        single_label_family(
            &mut out,
            "integration_backlog_size",
            "Messages waiting in an integration queue, as reported by the host.",
            "gauge",
            "queue",
            &self.backlog,
        );
        single_label_family(
            &mut out,
            "reconciliation_gap_total",
            "Differences found when reading back what was written to incwo, by domain.",
            "counter",
            "domain",
            &self.gaps,
        );
        single_label_family(
            &mut out,
            "replay_total",
            "Records replayed, by reason.",
            "counter",
            "reason",
            &self.replays,
        );
        self.ops.render(&mut out);
        out
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn single_label_family(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    label: &str,
    series: &BTreeMap<String, u64>,
) {
    header(out, name, help, kind);
    for (value, n) in series {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape_label(value));
    }
}

/// Escapes a label value per the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn cap_chars(s: &str) -> String {
    s.chars().take(MAX_LABEL_CHARS).collect()
}

/// Turns a path or URL into an endpoint template: scheme, host, query and
/// fragment are dropped; an all-digit (or UUID) segment becomes `{id}`
/// (keeping an extension, `123.xml` → `{id}.xml`); a segment that could carry
/// personal data (an `@`, a phone-like number, other digits, unusual
/// characters) becomes `{redacted}`. Template segments (`{id}`) are kept.
pub fn normalize_endpoint(raw: &str) -> String {
    let mut path = raw.trim();
    if let Some(i) = path.find("://") {
        let rest = &path[i + 3..];
        path = rest.find('/').map_or("/", |j| &rest[j..]);
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(normalize_segment)
        .collect();
    cap_chars(&format!("/{}", segments.join("/")))
}

fn normalize_segment(segment: &str) -> String {
    if !is_plain_word(segment) && (segment.contains('@') || segment.contains('%') || redact(segment) != segment) {
        return REDACTED_LABEL.to_owned();
    }
    let (stem, ext) = match segment.split_once('.') {
        Some((stem, ext)) => (stem, Some(ext)),
        None => (segment, None),
    };
    let ext_ok = match ext {
        None => true,
        Some(e) => !e.is_empty() && e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()),
    };
    let is_template = stem.len() > 2
        && stem.starts_with('{')
        && stem.ends_with('}')
        && stem[1..stem.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let stem = if !ext_ok {
        return REDACTED_LABEL.to_owned();
    } else if is_template {
        stem.to_owned()
    } else if !stem.is_empty() && stem.chars().all(|c| c.is_ascii_digit()) || is_uuid(stem) {
        "{id}".to_owned()
    } else if stem.chars().filter(char::is_ascii_digit).count() >= 3
        || !stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return REDACTED_LABEL.to_owned();
    } else {
        stem.to_owned()
    };
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Normalises a non-endpoint label value: path-like values are normalised as
/// endpoints; values that look like they carry an e-mail, a phone number or a
/// credential become `{redacted}`; long values are cut at 128 characters.
pub fn sanitize_label(value: &str) -> String {
    if is_plain_word(value) {
        // Nothing redaction looks for can hide in it: no digit (phones), no
        // `@` (e-mails), no `/`, `=`, `:`, quote or space (credentials).
        return value.to_owned();
    }
    if value.contains('/') {
        return normalize_endpoint(value);
    }
    if value.contains('@') || redact(value) != value {
        return REDACTED_LABEL.to_owned();
    }
    cap_chars(value)
}

/// A short label of lowercase ASCII letters, `_`, `-` and `.` only (the
/// flow's own reasons, queues and classes): [`sanitize_label`] returns it as
/// it is, so it skips the redaction scan on the per-record path.
fn is_plain_word(value: &str) -> bool {
    value.len() <= MAX_LABEL_CHARS && value.bytes().all(|b| b.is_ascii_lowercase() || b"_-.".contains(&b))
}

// ---- structured logs ----

/// Severity of a [`LogEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the flow handled.
    Warn,
    /// Something failed.
    Error,
}

/// A structured log line with the correlation id of the record or call it
/// belongs to. Build it with [`LogEvent::new`] and [`LogEvent::with_field`],
/// which redact as they go; [`LogEvent::to_json`] redacts again, so an event
/// built field by field cannot leak through it either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Severity.
    pub level: Level,
    /// Human-readable message (redacted).
    pub message: String,
    /// Correlation id linking the lines of one record or call.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Extra key/value context (values redacted; sensitive keys hidden).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl LogEvent {
    /// A new event; the message is redacted.
    pub fn new(level: Level, message: &str) -> Self {
        Self {
            level,
            message: redact(message),
            correlation_id: None,
            fields: BTreeMap::new(),
        }
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: &str) -> Self {
        self.correlation_id = Some(redact(id));
        self
    }

    /// Adds a field; its value is redacted, or hidden entirely when the key
    /// names sensitive data (password, token, authorization, e-mail, phone…).
    pub fn with_field(mut self, key: &str, value: &str) -> Self {
        self.fields.insert(key.to_owned(), redact_field(key, value));
        self
    }

    /// The same event with every text redacted (idempotent).
    pub fn redacted(&self) -> Self {
        Self {
            level: self.level,
            message: redact(&self.message),
            correlation_id: self.correlation_id.as_deref().map(redact),
            fields: self
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), redact_field(k, v)))
                .collect(),
        }
    }

    /// `{"level", "message", "correlationId", "fields"}`, redacted.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.redacted()).unwrap_or(Value::Null)
    }
}

fn redact_field(key: &str, value: &str) -> String {
    if is_sensitive_key(key) {
        "[redacted]".to_owned()
    } else {
        redact(value)
    }
}

mod credentials;
mod redaction;
pub use redaction::{is_sensitive_key, redact};
mod exposition;
pub mod operations;
pub use exposition::ExpositionError;

#[cfg(test)]
mod tests;
