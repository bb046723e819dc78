//! `inbound.webhook`, `inbound.fetch`, `inbound.detect`, `inbound.poll`,
//! `inbound.throttle`: the JSON façade of inbound sync ([`crate::inbound`]),
//! documented in `docs/INBOUND.md`.

use serde::Serialize;
use serde_json::{json, Value};

use super::args::{bad_args, Args};
use super::usage_error;
use crate::adapters::Adapter;
use crate::base::profile::Profile;
use crate::flow::ledger::{Domain, Entry, Ledger};
use crate::http::{CallSite, ConnectionConfig, Method, Response};
use crate::inbound::detect::{detect as detect_changes, Observed};
use crate::inbound::intake::{self, IntakeSettings, Target, WebhookRequest};
use crate::inbound::poll::{PollState, DEFAULT_PAGE_BUDGET, DEFAULT_RESOURCES};
use crate::inbound::throttle::{refusal, throttle, ThrottleState};
use crate::inbound::{snapshot, InboundOptions, Source};
use crate::usage::UsageError;

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A correlation id: the host's, or one derived from `what`.
fn correlation(args: Args<'_>, what: &str) -> String {
    match args
        .str("correlationId")
        .or_else(|| args.get("options")["correlationId"].as_str())
    {
        Some(c) => c.to_string(),
        None => uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, what.as_bytes()).to_string(),
    }
}

fn target(args: Args<'_>) -> Result<Target, UsageError> {
    let t: Target = args.required(
        "target",
        "pass the target inbound.webhook returned: {\"resource\": \"bill_sheets\", \"id\": 500001}",
    )?;
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
pub(crate) fn webhook(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let body = match (args.get("body"), args.get("bodyBase64")) {
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
    let mut settings: IntakeSettings = args
        .parse("settings")
        .map_err(|e| {
            bad_args(
                format!("settings: {}", e.to_string().replace('"', "")),
                "settings are secret, insecureNoSecret, allowNetworks, businessFileId",
            )
        })?
        .unwrap_or_default();
    let config = match args.get("config") {
        Value::Null => None,
        _ => Some(args.config()?),
    };
    if settings.business_file_id.is_none() {
        settings.business_file_id = config.as_ref().map(|c| c.business_file_id().to_string());
    }
    let text = |k: &str| args.str(k);
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
pub(crate) fn fetch(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let t = target(args)?;
    let corr = correlation(args, &format!("{}/{}", t.resource, t.id));
    Ok(json!({ "request": fetch_request(&args.config()?, &t, &corr)? }))
}

/// Where the ledger came from, so it goes back in the same form.
enum LedgerForm {
    Checkpoint(Value),
    Ledger,
    Entries,
}

fn read_ledger(args: Args<'_>) -> Result<(Ledger, LedgerForm), UsageError> {
    let hint = "pass the flow checkpoint (checkpoint), the ledger JSON (ledger) or its entries (entries)";
    if let Some(text) = args.str("checkpoint") {
        let value: Value = serde_json::from_str(text).map_err(|e| UsageError::malformed_json(&e))?;
        let ledger: Ledger = serde_json::from_value(value["ledger"].clone())
            .map_err(|e| bad_args(format!("checkpoint.ledger: {e}"), hint))?;
        return Ok((ledger, LedgerForm::Checkpoint(value)));
    }
    if let Some(ledger) = args.optional::<Ledger>("ledger", hint)? {
        return Ok((ledger, LedgerForm::Ledger));
    }
    if let Some(entries) = args.optional::<Vec<Entry>>("entries", hint)? {
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
    profile: Profile,
    options: InboundOptions,
    now: u64,
}

fn detector(args: Args<'_>) -> Result<Detector, UsageError> {
    let profile = args.profile()?;
    let mut options: InboundOptions = args
        .optional("options", "options are tenant, company, correlationId")?
        .unwrap_or_default();
    if let Some(c) = args.str("correlationId") {
        options.correlation_id = Some(c.to_string());
    }
    let bfid = &args.get("config")["businessFileId"];
    if let Some(bfid) = bfid.as_str() {
        options.business_file_id = bfid.to_string();
    } else if let Some(n) = bfid.as_u64() {
        options.business_file_id = n.to_string();
    }
    let now = args.now()?;
    Ok(Detector { profile, options, now })
}

fn http_error(method: Method, endpoint: String, response: &Response, now: u64) -> Value {
    let call = CallSite::new(method, endpoint);
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
/// A 404 is a deletion; another error status is a `technical` error to retry;
/// a sum of the object's numbers beyond the decimal range is `{"error":
/// {"class": "contract", "code": "contract.overflow", "path", …}}`, the
/// ledger unchanged.
pub(crate) fn detect(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let t = target(args)?;
    let d = detector(args)?;
    let response = args.response("response")?;
    let source = match args.str("source") {
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
    let detection = match detect_changes(&mut ledger, &d.profile, &d.options, &observed, source, d.now) {
        Ok(detection) => detection,
        Err(e) => return Ok(json!({"error": to_json(&e)})),
    };
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
pub(crate) fn poll(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let config = args.config()?;
    let d = detector(args)?;
    let mut state = PollState::from_json(args.get("state"))?;
    let (mut ledger, form) = read_ledger(args)?;
    let mut events = Vec::new();
    let mut compared = 0usize;
    let mut stopped = Value::Null;
    if args.get("response").is_null() {
        let resources: Vec<String> = args
            .optional("resources", "a list of resource names")?
            .unwrap_or_else(|| DEFAULT_RESOURCES.iter().map(|s| s.to_string()).collect());
        let budget = args
            .optional_number(
                "pageBudget",
                |n| u32::try_from(n).ok(),
                "pageBudget must be a positive integer",
                "e.g. 10",
            )?
            .unwrap_or(DEFAULT_PAGE_BUDGET);
        state.begin(&resources, budget)?;
    } else {
        let response = args.response("response")?;
        if response.is_success() {
            let unread = state.clone();
            match state.feed(&response.body) {
                Ok(items) => {
                    // A page counts whole: an object whose sums overflow
                    // (`contract.overflow`) stops the run as an unreadable
                    // page does, the cursor where it was, and the page's
                    // other changes are not kept either (a stopped run
                    // publishes no events); the next run reads it again.
                    let mut page = ledger.clone();
                    let mut page_events = Vec::new();
                    for s in items {
                        compared += 1;
                        match detect_changes(
                            &mut page,
                            &d.profile,
                            &d.options,
                            &Observed::Object(s),
                            Source::Poll,
                            d.now,
                        ) {
                            Ok(detection) => page_events.extend(detection.events),
                            Err(e) => {
                                stopped = to_json(&e);
                                state = unread;
                                state.abort();
                                break;
                            }
                        }
                    }
                    if stopped.is_null() {
                        ledger = page;
                        events = page_events;
                    }
                }
                Err(e) => stopped = usage_error(&e)["error"].clone(),
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

/// `inbound.throttle`: `{"state": {windowStart, failures} | null, "now": ms,
/// "failed"?: bool}` → `{"state", "allowed": true}` or, once the address
/// made too many failures, `{"state", "allowed": false, "retryAfterSeconds",
/// "status": 429, "error"}`. Hosts call it before serving a request, and
/// with `failed: true` after the core refused its secret
/// (`inbound.bad_secret`), keeping `state` per client address.
pub(crate) fn throttle_call(args: &Value) -> Result<Value, UsageError> {
    let args = Args::new(args);
    let bad = |m: String| {
        bad_args(
            m,
            "pass {\"state\": {\"windowStart\": ms, \"failures\": n} or null, \"now\": ms, \"failed\": bool}",
        )
    };
    let state = args
        .parse::<ThrottleState>("state")
        .map_err(|e| bad(format!("state: {}", e.to_string().replace('"', ""))))?;
    let now = args
        .lenient_u64("now")
        .ok_or_else(|| bad("now must be the time in ms since the epoch".into()))?;
    let failed = match args.get("failed") {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => return Err(bad("failed must be a boolean".into())),
    };
    let decision = throttle(state, now, failed);
    let state = serde_json::to_value(decision.state).unwrap_or(Value::Null);
    Ok(match decision.retry_after_seconds {
        None => json!({"state": state, "allowed": true}),
        Some(seconds) => {
            let mut out = refusal(seconds).to_json();
            out["state"] = state;
            out["allowed"] = json!(false);
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_call_checks_its_arguments() {
        assert!(throttle_call(&json!({"now": "x"})).is_err());
        assert!(throttle_call(&json!({"now": 1, "state": {"windowStart": 0}, "failed": 1})).is_err());
        assert!(throttle_call(&json!({"now": 1, "state": {"windowStart": 0, "failures": 1, "x": 1}})).is_err());
        let out = throttle_call(&json!({"now": 5, "state": {"windowStart": 0, "failures": 10}})).unwrap();
        assert_eq!(
            (
                out["status"].as_u64(),
                out["allowed"].as_bool(),
                out["retryAfterSeconds"].as_u64()
            ),
            (Some(429), Some(false), Some(60))
        );
        assert_eq!(out["error"]["code"], "inbound.too_many_failures");
    }

    #[test]
    fn json_calls_never_panic_on_odd_arguments() {
        for name in ["inbound.webhook", "inbound.fetch", "inbound.detect", "inbound.poll"] {
            for args in [
                json!(null),
                json!({}),
                json!({"body": 1}),
                json!({"target": {"resource": "firms", "id": 1}}),
                json!({"state": {"pollStateVersion": 9}}),
            ] {
                let out = crate::api::call(name, &args);
                assert!(
                    out.get("error").is_some() || out.get("status").is_some(),
                    "{name} {args}: {out}"
                );
            }
        }
    }
}
