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
//! deletion) and returns typed change events for the queues of DESIGN
//! section 7: `quote.accepted`, `order.delivered`, `invoice.issued`,
//! `invoice.paid`… (`{domain}.{status}` in snake case), `document.deleted`
//! and `document.edited_in_incwo` with the differing fields. The ledger is
//! updated with what was seen, so a change is reported once and the
//! connector's own writes are never echoed back.
//!
//! The JSON calls (`inbound.webhook`, `inbound.fetch`, `inbound.detect`,
//! `inbound.poll`, `inbound.throttle`) are documented in `docs/INBOUND.md`.

pub mod detect;
pub mod intake;
pub mod poll;
pub mod snapshot;
pub mod throttle;

use crate::adapters::Adapter;
use crate::flow::ledger::{Entry, Ledger};
use crate::http::{response_from_json, ConnectionConfig, Method};
use crate::mapping::totals::Totals;
use crate::model::Domain;
use crate::usage::UsageError;
use detect::{detect as detect_changes, Observed};
use intake::{IntakeSettings, Target, WebhookRequest};
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

fn bad_args(message: impl Into<String>, hint: &str) -> UsageError {
    UsageError::new("usage.bad_arguments", message, hint)
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A correlation id: the host's, or one derived from `what`.
fn correlation(args: &Value, what: &str) -> String {
    match args["correlationId"]
        .as_str()
        .or_else(|| args["options"]["correlationId"].as_str())
    {
        Some(c) => c.to_string(),
        None => uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, what.as_bytes()).to_string(),
    }
}

fn config(args: &Value) -> Result<ConnectionConfig, UsageError> {
    ConnectionConfig::from_json(&args["config"]).map_err(UsageError::from)
}

fn target(args: &Value) -> Result<Target, UsageError> {
    let t: Target = serde_json::from_value(args["target"].clone()).map_err(|e| {
        bad_args(
            format!("target: {e}"),
            "pass the target inbound.webhook returned: {\"resource\": \"bill_sheets\", \"id\": 500001}",
        )
    })?;
    if intake::tracked_resource(&t.resource) != Some(t.resource.as_str()) {
        return Err(bad_args(
            "target.resource must be proposal_sheets or bill_sheets",
            "pass the target inbound.webhook returned",
        ));
    }
    Ok(t)
}

fn fetch_request(config: &ConnectionConfig, t: &Target, correlation_id: &str) -> Result<Value, UsageError> {
    let domain = if t.resource == "bill_sheets" {
        Domain::Invoice
    } else {
        Domain::Quote
    };
    let request = Adapter::new(domain)
        .read(config, t.id, correlation_id)
        .map_err(UsageError::from)?;
    Ok(to_json(&request))
}

/// `inbound.webhook`: checks a webhook and names the object to re-read.
/// Args: `{"body": text | "bodyBase64", "contentType"?, "remoteAddr"?,
/// "presentedSecret"?, "settings"?: {secret, insecureNoSecret, allowNetworks,
/// businessFileId}, "config"?, "correlationId"?}`. Every answer carries the
/// `status` to answer incwo with: 202 and `{"intake": "fetch", "target",
/// "request"?}` or `{"intake": "ignored", "zname", "reason"}`; else the
/// refusal (`{"status": 403, "error": {"class": "inbound", …}}`). Without a
/// secret, and without `insecureNoSecret: true` (set by a host only behind
/// its own explicit flag), every call is refused: 503 `inbound.no_secret`.
pub fn webhook_json(args: &Value) -> Result<Value, UsageError> {
    let body = match (&args["body"], &args["bodyBase64"]) {
        (Value::String(text), _) => text.as_bytes().to_vec(),
        (_, Value::String(b64)) => crate::http::encode::base64_decode(b64)
            .ok_or_else(|| bad_args("bodyBase64 is not base64", "pass the raw body as body or bodyBase64"))?,
        _ => {
            return Err(bad_args(
                "body (a text) or bodyBase64 is required",
                "pass the raw body received",
            ))
        }
    };
    let mut settings: IntakeSettings = match &args["settings"] {
        Value::Null => IntakeSettings::default(),
        v => serde_json::from_value(v.clone()).map_err(|e| {
            bad_args(
                format!("settings: {}", e.to_string().replace('"', "")),
                "settings are secret, insecureNoSecret, allowNetworks, businessFileId",
            )
        })?,
    };
    let config = match &args["config"] {
        Value::Null => None,
        _ => Some(config(args)?),
    };
    if settings.business_file_id.is_none() {
        settings.business_file_id = config.as_ref().map(|c| c.business_file_id().to_string());
    }
    let text = |k: &str| args[k].as_str();
    let request = WebhookRequest {
        body: &body,
        content_type: text("contentType"),
        remote_addr: text("remoteAddr"),
        presented_secret: text("presentedSecret"),
    };
    Ok(match intake::intake(&request, &settings) {
        Err(e) => e.to_json(),
        Ok(accepted) => {
            let mut out = to_json(&accepted);
            out["status"] = json!(202);
            if let (intake::Intake::Fetch { target }, Some(config)) = (&accepted, &config) {
                let corr = correlation(args, &format!("{}/{}", target.resource, target.id));
                out["request"] = fetch_request(config, target, &corr)?;
            }
            out
        }
    })
}

/// `inbound.fetch`: `{"config", "target", "correlationId"?}` → `{"request"}`,
/// the re-read of a queued target.
pub fn fetch_json(args: &Value) -> Result<Value, UsageError> {
    let t = target(args)?;
    let corr = correlation(args, &format!("{}/{}", t.resource, t.id));
    Ok(json!({ "request": fetch_request(&config(args)?, &t, &corr)? }))
}

/// Where the ledger came from, so it goes back in the same form.
enum LedgerForm {
    Checkpoint(Value),
    Ledger,
    Entries,
}

fn read_ledger(args: &Value) -> Result<(Ledger, LedgerForm), UsageError> {
    let hint = "pass the flow checkpoint (checkpoint), the ledger JSON (ledger) or its entries (entries)";
    if let Some(text) = args["checkpoint"].as_str() {
        let value: Value = serde_json::from_str(text).map_err(|e| UsageError::malformed_json(&e))?;
        let ledger: Ledger = serde_json::from_value(value["ledger"].clone())
            .map_err(|e| bad_args(format!("checkpoint.ledger: {e}"), hint))?;
        return Ok((ledger, LedgerForm::Checkpoint(value)));
    }
    if !args["ledger"].is_null() {
        let ledger: Ledger =
            serde_json::from_value(args["ledger"].clone()).map_err(|e| bad_args(format!("ledger: {e}"), hint))?;
        return Ok((ledger, LedgerForm::Ledger));
    }
    if !args["entries"].is_null() {
        let entries: Vec<Entry> =
            serde_json::from_value(args["entries"].clone()).map_err(|e| bad_args(format!("entries: {e}"), hint))?;
        return Ok((Ledger::from_entries(entries), LedgerForm::Entries));
    }
    Err(bad_args("the ledger is required", hint))
}

fn write_ledger(out: &mut Value, ledger: &mut Ledger, form: LedgerForm) {
    out["entries"] = to_json(&ledger.take_changed());
    match form {
        LedgerForm::Checkpoint(mut value) => {
            value["ledger"] = to_json(ledger);
            out["checkpoint"] = json!(value.to_string());
        }
        LedgerForm::Ledger => out["ledger"] = to_json(ledger),
        LedgerForm::Entries => {}
    }
}

struct Detector {
    profile: crate::mapping::Profile,
    options: InboundOptions,
    now: u64,
}

fn detector(args: &Value) -> Result<Detector, UsageError> {
    let profile_text = match &args["profile"] {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    };
    let profile = crate::api::load_profile(profile_text.as_deref())?;
    let mut options: InboundOptions = match &args["options"] {
        Value::Null => InboundOptions::default(),
        v => serde_json::from_value(v.clone())
            .map_err(|e| bad_args(format!("options: {e}"), "options are tenant, company, correlationId"))?,
    };
    if let Some(c) = args["correlationId"].as_str() {
        options.correlation_id = Some(c.to_string());
    }
    if let Some(bfid) = args["config"]["businessFileId"].as_str() {
        options.business_file_id = bfid.to_string();
    } else if let Some(n) = args["config"]["businessFileId"].as_u64() {
        options.business_file_id = n.to_string();
    }
    let now = args["now"]
        .as_u64()
        .ok_or_else(|| bad_args("now (ms since the epoch) is required", "pass the host's clock"))?;
    Ok(Detector { profile, options, now })
}

fn http_error(method: Method, endpoint: String, response: &crate::http::Response, now: u64) -> Value {
    let call = crate::http::CallSite::new(method, endpoint);
    match crate::errors::classify_response(&call, response, now, &Default::default()) {
        Some(e) => json!({"class": e.class.as_str(), "code": e.code, "message": e.message, "retryable": e.retryable}),
        None => Value::Null,
    }
}

/// `inbound.detect`: compares a re-read object with the ledger.
/// Args: `{"target", "response": {"status", "headers"?, "body" | "bodyBase64"},
/// "checkpoint" | "ledger" | "entries", "profile"?, "options"?: {tenant,
/// company, correlationId}, "source"?: "webhook" | "poll", "now", "config"?}`
/// → `{"outcome": "changed" | "unchanged" | "notTracked", "events": [{queue,
/// event}], "entries": [changed entries], "checkpoint"? | "ledger"?}`.
/// A 404 is a deletion; another error status is a `technical` error to retry.
pub fn detect_json(args: &Value) -> Result<Value, UsageError> {
    let t = target(args)?;
    let d = detector(args)?;
    let response = response_from_json(&args["response"])?;
    let source = match args["source"].as_str() {
        None | Some("webhook") => Source::Webhook,
        Some("poll") => Source::Poll,
        Some(_) => return Err(bad_args("source is webhook or poll", "name where the change came from")),
    };
    let observed = if response.status == 404 {
        Observed::Gone {
            resource: t.resource.clone(),
            id: t.id,
        }
    } else if response.is_success() {
        let (items, _, _) = snapshot::read(&t.resource, &response.body).map_err(|e| {
            UsageError::new(
                e.code(),
                format!("the {} read back could not be read: {e}", t.resource),
                "pass the body of GET /{resource}/{id}.xml",
            )
        })?;
        match items.into_iter().find(|s| s.id == t.id) {
            Some(s) => Observed::Object(s),
            None => {
                return Err(bad_args(
                    "the response does not hold the target object",
                    "pass the answer to the request inbound.webhook or inbound.fetch built for this target",
                ))
            }
        }
    } else {
        let endpoint = format!("/{}/{{id}}.xml", t.resource);
        return Ok(json!({"error": http_error(Method::Get, endpoint, &response, d.now)}));
    };
    let (mut ledger, form) = read_ledger(args)?;
    let detection = detect_changes(&mut ledger, &d.profile, &d.options, &observed, source, d.now);
    let mut out = to_json(&detection);
    write_ledger(&mut out, &mut ledger, form);
    Ok(out)
}

/// `inbound.poll`: one step of a polling run. Without `response`, starts a
/// run; with it, feeds the page the last call asked for. Args: `{"config",
/// "state"?, "resources"?, "pageBudget"?, "response"?, "checkpoint" |
/// "ledger" | "entries", "profile"?, "options"?, "now", "correlationId"?}` →
/// `{"state", "request": Request | null, "done", "events", "entries",
/// "checkpoint"? | "ledger"?, "compared", "stopped"?}`. Store `state` after
/// every call; send `request` and call again with its answer until `done`.
pub fn poll_json(args: &Value) -> Result<Value, UsageError> {
    let config = config(args)?;
    let d = detector(args)?;
    let mut state = poll::PollState::from_json(&args["state"])?;
    let (mut ledger, form) = read_ledger(args)?;
    let mut events = Vec::new();
    let mut compared = 0usize;
    let mut stopped = Value::Null;
    if args["response"].is_null() {
        let resources: Vec<String> = match &args["resources"] {
            Value::Null => poll::DEFAULT_RESOURCES.iter().map(|s| s.to_string()).collect(),
            v => serde_json::from_value(v.clone())
                .map_err(|e| bad_args(format!("resources: {e}"), "a list of resource names"))?,
        };
        let budget = match &args["pageBudget"] {
            Value::Null => poll::DEFAULT_PAGE_BUDGET,
            v => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad_args("pageBudget must be a positive integer", "e.g. 10"))?,
        };
        state.begin(&resources, budget)?;
    } else {
        let response = response_from_json(&args["response"])?;
        if response.is_success() {
            match state.feed(&response.body) {
                Ok(items) => {
                    for s in items {
                        compared += 1;
                        let detection = detect_changes(
                            &mut ledger,
                            &d.profile,
                            &d.options,
                            &Observed::Object(s),
                            Source::Poll,
                            d.now,
                        );
                        events.extend(detection.events);
                    }
                }
                Err(e) => stopped = crate::api::usage_error(&e)["error"].clone(),
            }
        } else {
            let resource = state.pending.as_ref().map_or("-".to_string(), |p| p.0.clone());
            stopped = http_error(Method::Get, format!("/{resource}.xml"), &response, d.now);
            state.abort();
        }
    }
    let corr = correlation(args, &format!("poll/{}", d.now));
    let request = state.next_request(&config, &corr)?;
    let mut out = json!({
        "state": to_json(&state),
        "done": request.is_none(),
        "request": to_json(&request),
        "events": to_json(&events),
        "compared": compared,
    });
    if !stopped.is_null() {
        out["stopped"] = stopped;
    }
    write_ledger(&mut out, &mut ledger, form);
    Ok(out)
}

#[cfg(test)]
mod tests;
