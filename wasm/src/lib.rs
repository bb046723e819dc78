//! WebAssembly bindings (wasm-bindgen) of the incwo connector core.
//!
//! The same surface as the C ABI: `validate`, `map`, `parse`, `schema`,
//! `checkProfile`, `call` and the `Flow` session, each a thin wrapper over
//! the core's JSON façade (`incwo_core::api`). Values cross the boundary as
//! JSON text (`serde_json` → text → `JSON.parse`, and `JSON.stringify` →
//! text → `serde_json`) so the core's exact numbers are never routed through
//! an intermediate representation. A result of the shape `{"error": {...}}`
//! is thrown as a JS `Error` carrying `class`, `code`, `message`, `hint`,
//! `violations`, `problems` and `details` as the core wrote them.
//!
//! Nothing here reads a clock or draws randomness: `now` and the seed are
//! arguments. Bindings marshal and nothing else; every rule lives in the core.

use incwo_core::api;
use incwo_core::api::flow::FlowSession;
use serde_json::{json, Value};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TS_INDEX_TYPES: &'static str = r#"
/** The objects of one resource carrying one marker (the core's `flow::index`). */
export interface IndexEntry {
  resource: string;
  marker: string;
  found: { id: number; progressId?: number; firmId?: number; sheetType?: string }[];
}

/** What changed in the marker index (or all of it): entries upserted by resource and marker, coverage by resource. */
export interface IndexChanges {
  entries: IndexEntry[];
  coverage: Record<string, Record<string, unknown>>;
}

/** The marker index passes in progress. */
export interface IndexProgress {
  passes: { resource: string; pagesRead: number; totalPages: number }[];
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
// The flow's messages are generated from the core's types
// (`cargo run -p incwo-schema-gen`) into the package's flow-messages.d.ts.
import type {
  Action,
  ChangedEntries,
  FlowOptions,
  FlowReport,
  HttpResponse,
  LedgerEntry,
  TransportFailure,
  Violation,
} from "../flow-messages.js";

/** The JSON carried by every thrown error (also the `{error}` of the vectors). */
export interface ErrorPayload {
  class: "usage" | "contract" | "technical" | "business" | "inbound";
  code: string;
  message: string;
  hint?: string;
  violations?: Violation[];
  problems?: unknown[];
  details?: unknown;
}

/** `validate` result. */
export interface ValidationReport {
  kind: string;
  valid: boolean;
  violations: Violation[];
  record?: Record<string, unknown>;
}

/** `map` result: the incwo resource and the XML body it becomes. */
export interface MapResult {
  resource: string;
  xml: string;
  totals?: Record<string, string>;
  warnings: Violation[];
}

/** A record of a batch. */
export interface BatchRecord { kind: string; record: Record<string, unknown> }

/** Connection settings (the password never appears in a checkpoint, log or error). */
export interface ConnectionConfig {
  server: string;
  businessFileId: string;
  auth: { type: "basic"; login: string; password: string };
  allowInsecureHttp?: boolean;
  [key: string]: unknown;
}

/** `Flow.start` arguments. `now` (ms since the epoch) and `seed` come from the host. */
export interface FlowStartArgs {
  config: ConnectionConfig;
  profile?: string | Record<string, unknown>;
  options?: FlowOptions;
  records?: BatchRecord[];
  jsonl?: string;
  now: number;
  seed?: number;
  checkpoint?: string;
  /** Ledger entries from a shared store (ignored when resuming from `checkpoint`). */
  ledger?: LedgerEntry[] | string;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// TS type `ValidationReport`.
    #[wasm_bindgen(typescript_type = "ValidationReport")]
    #[derive(Debug, Clone)]
    pub type JsValidationReport;
    /// TS type `MapResult`.
    #[wasm_bindgen(typescript_type = "MapResult")]
    #[derive(Debug, Clone)]
    pub type JsMapResult;
    /// TS type `Action`.
    #[wasm_bindgen(typescript_type = "Action")]
    #[derive(Debug, Clone)]
    pub type JsAction;
    /// TS type `FlowReport`.
    #[wasm_bindgen(typescript_type = "FlowReport")]
    #[derive(Debug, Clone)]
    pub type JsFlowReport;
    /// TS type `{ ok: true }`.
    #[wasm_bindgen(typescript_type = "{ ok: true }")]
    #[derive(Debug, Clone)]
    pub type JsOk;
    /// TS type `ChangedEntries`.
    #[wasm_bindgen(typescript_type = "ChangedEntries")]
    #[derive(Debug, Clone)]
    pub type JsChangedEntries;
}

thread_local! {
    static ERROR_FACTORY: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Installs the function that turns an error payload (`{class, code,
/// message, hint?, violations?}`) into the thrown value, so a JS layer can
/// throw its own typed error classes; `undefined` restores the default (a
/// plain `Error` named after the class, e.g. `IncwoContractError`, with the
/// payload's fields copied onto it).
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: Option<js_sys::Function>) {
    ERROR_FACTORY.with(|f| *f.borrow_mut() = factory);
}

/// Turns the core's error payload into the value to throw. `document` is
/// the whole result the error came in when it carries more than the error
/// (e.g. the `status` of an `inbound.webhook` refusal: `{"status": 403,
/// "error": {...}}`): the factory receives it as its second argument, and the
/// default error gets it as `document` (and its `status`, if any).
fn error_value_in(payload: &Value, document: Option<&Value>) -> JsValue {
    let object = js_sys::JSON::parse(&payload.to_string()).unwrap_or_else(|_| JsValue::from(js_sys::Object::new()));
    let document = document
        .and_then(|d| js_sys::JSON::parse(&d.to_string()).ok())
        .unwrap_or(JsValue::UNDEFINED);
    let factory = ERROR_FACTORY.with(|f| f.borrow().clone());
    if let Some(factory) = factory {
        if let Ok(thrown) = factory.call2(&JsValue::UNDEFINED, &object, &document) {
            return thrown;
        }
    }
    let message = payload["message"].as_str().unwrap_or("incwo connector error");
    let error = js_sys::Error::new(message);
    let class = payload["class"].as_str().unwrap_or("usage");
    let mut name = String::from("Incwo");
    let mut chars = class.chars();
    if let Some(first) = chars.next() {
        name.extend(first.to_uppercase());
        name.push_str(chars.as_str());
    }
    name.push_str("Error");
    error.set_name(&name);
    if let Some(source) = object.dyn_ref::<js_sys::Object>() {
        js_sys::Object::assign(error.unchecked_ref(), source);
    }
    if !document.is_undefined() {
        let target: &JsValue = error.unchecked_ref();
        let _ = js_sys::Reflect::set(target, &JsValue::from_str("document"), &document);
        if let Ok(status) = js_sys::Reflect::get(&document, &JsValue::from_str("status")) {
            if !status.is_undefined() {
                let _ = js_sys::Reflect::set(target, &JsValue::from_str("status"), &status);
            }
        }
    }
    error.into()
}

/// Turns the core's error payload into the value to throw.
fn error_value(payload: &Value) -> JsValue {
    error_value_in(payload, None)
}

/// A usage error raised while marshalling (bad argument types).
fn usage(code: &str, message: &str, hint: &str) -> JsValue {
    error_value(&json!({"class": "usage", "code": code, "message": message, "hint": hint}))
}

/// Result → JS: `{"error": {...}}` is thrown, anything else is returned as
/// a plain JS object built by `JSON.parse`.
fn finish(value: Value) -> Result<JsValue, JsValue> {
    if let Some(error) = value.get("error").filter(|e| e.is_object()) {
        // A document with more than the error (an intake refusal's
        // `status`) travels with it, so nothing of it is lost.
        let richer = value.as_object().is_some_and(|o| o.len() > 1);
        return Err(error_value_in(error, richer.then_some(&value)));
    }
    js_sys::JSON::parse(&value.to_string())
        .map_err(|_| usage("usage.internal", "the result could not be read as JSON", "report this"))
}

/// A JS argument as JSON text: strings pass as they are (exact), other
/// values go through `JSON.stringify`.
fn text_of(value: &JsValue, what: &str) -> Result<String, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    let hint = "pass a JSON text or a plain object";
    match js_sys::JSON::stringify(value) {
        Ok(text) if !value.is_undefined() => Ok(String::from(text)),
        _ => Err(usage(
            "usage.bad_arguments",
            &format!("{what} is not serialisable to JSON"),
            hint,
        )),
    }
}

/// An optional JSON argument (`undefined` / `null` → `None`).
fn optional_text(value: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        text_of(value, what).map(Some)
    }
}

/// A JS value as a `serde_json::Value`, through JSON text.
fn value_of(value: &JsValue, what: &str) -> Result<Value, JsValue> {
    let text = text_of(value, what)?;
    serde_json::from_str(&text).map_err(|e| {
        usage(
            "usage.malformed_json",
            &format!("{what} is not valid JSON: {e}"),
            "pass a JSON text or a plain object",
        )
    })
}

/// A JS number that must be a non-negative integer (ms, ids).
fn integer(value: f64, what: &str) -> Result<u64, JsValue> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_991.0 {
        Ok(value as u64)
    } else {
        Err(usage(
            "usage.bad_arguments",
            &format!("{what} must be a non-negative integer"),
            "pass milliseconds since the epoch / the requestId of the Send action",
        ))
    }
}

/// Checks a canonical record against the contract: `{kind, valid,
/// violations, record?}`. `input` is the record's JSON text (exact numbers)
/// or an object; `profile` a mapping profile (text or object), the default
/// profile when absent.
#[wasm_bindgen(unchecked_return_type = "ValidationReport")]
pub fn validate(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "string | object")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
) -> Result<JsValue, JsValue> {
    let input = text_of(&input, "input")?;
    let profile = optional_text(&profile, "profile")?;
    finish(api::validate(kind, &input, profile.as_deref()))
}

/// Maps a canonical record to the incwo XML it becomes: `{resource, xml,
/// totals?, warnings}`; an invalid record throws a contract error with its
/// violations.
#[wasm_bindgen(unchecked_return_type = "MapResult")]
pub fn map(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "string | object")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
) -> Result<JsValue, JsValue> {
    let input = text_of(&input, "input")?;
    let profile = optional_text(&profile, "profile")?;
    finish(api::map(kind, &input, profile.as_deref()))
}

/// Reads an incwo XML document (text or bytes) of `resource` (plural name)
/// into its typed view (`{one}` / `{page}`).
#[wasm_bindgen(unchecked_return_type = "Record<string, unknown>")]
pub fn parse(
    resource: &str,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] xml: JsValue,
) -> Result<JsValue, JsValue> {
    let bytes = if let Some(text) = xml.as_string() {
        text.into_bytes()
    } else if let Some(array) = xml.dyn_ref::<js_sys::Uint8Array>() {
        array.to_vec()
    } else {
        return Err(usage(
            "usage.bad_arguments",
            "xml must be a string or a Uint8Array",
            "pass the response body",
        ));
    };
    finish(api::parse(resource, &bytes))
}

/// The JSON Schema of a kind (tax codes, currencies and warehouses come
/// from the profile).
#[wasm_bindgen(unchecked_return_type = "Record<string, unknown>")]
pub fn schema(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
) -> Result<JsValue, JsValue> {
    let profile = optional_text(&profile, "profile")?;
    finish(api::schema(kind, profile.as_deref()))
}

/// Checks a mapping profile: the profile with its defaults filled, or a
/// thrown usage error listing its `problems`.
#[wasm_bindgen(js_name = checkProfile, unchecked_return_type = "Record<string, unknown>")]
pub fn check_profile(
    #[wasm_bindgen(unchecked_param_type = "string | object")] profile: JsValue,
) -> Result<JsValue, JsValue> {
    let text = text_of(&profile, "profile")?;
    finish(api::check_profile(&text))
}

/// The calls that take JSON arguments only: `request`, `classify`, `retry`,
/// `retry.decide`, `telemetry.render`, `telemetry.redact`,
/// `telemetry.normalize_endpoint`, `telemetry.log`.
#[wasm_bindgen(unchecked_return_type = "any")]
pub fn call(
    name: &str,
    #[wasm_bindgen(unchecked_param_type = "string | object")] args: JsValue,
) -> Result<JsValue, JsValue> {
    let args = if args.is_undefined() || args.is_null() {
        json!({})
    } else {
        value_of(&args, "args")?
    };
    finish(api::call(name, &args))
}

/// The version of the connector core inside this module.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A running flow: the replayable multi-step sync of a batch. The host
/// drains `poll(now)` and answers every `send` with `onResponse` or
/// `onTransportError`; `checkpoint()` is what it saves (before every send).
#[wasm_bindgen]
pub struct Flow {
    session: FlowSession,
}

#[wasm_bindgen]
impl Flow {
    /// Starts, or resumes from `args.checkpoint`, a flow. See `FlowStartArgs`.
    pub fn start(#[wasm_bindgen(unchecked_param_type = "FlowStartArgs")] args: JsValue) -> Result<Flow, JsValue> {
        let args = value_of(&args, "args")?;
        FlowSession::start(&args)
            .map(|session| Flow { session })
            .map_err(|e| finish(api::usage_error(&e)).unwrap_err())
    }

    /// The next action (`send`, `wait`, `publish`, `recordDone`, `done`).
    pub fn poll(&mut self, now: f64) -> Result<JsAction, JsValue> {
        let now = integer(now, "now")?;
        finish(self.session.poll(now)).map(JsCast::unchecked_into)
    }

    /// The answer to request `requestId`: `{status, headers?, body? | bodyBase64?}`.
    #[wasm_bindgen(js_name = onResponse)]
    pub fn on_response(
        &mut self,
        #[wasm_bindgen(js_name = requestId)] request_id: f64,
        #[wasm_bindgen(unchecked_param_type = "HttpResponse")] response: JsValue,
        now: f64,
    ) -> Result<JsOk, JsValue> {
        let request_id = integer(request_id, "requestId")?;
        let now = integer(now, "now")?;
        let response = value_of(&response, "response")?;
        finish(self.session.on_response(request_id, &response, now)).map(JsCast::unchecked_into)
    }

    /// The transport failure of request `requestId`: `{kind, phase?}`.
    #[wasm_bindgen(js_name = onTransportError)]
    pub fn on_transport_error(
        &mut self,
        #[wasm_bindgen(js_name = requestId)] request_id: f64,
        #[wasm_bindgen(unchecked_param_type = "TransportFailure")] failure: JsValue,
        now: f64,
    ) -> Result<JsOk, JsValue> {
        let request_id = integer(request_id, "requestId")?;
        let now = integer(now, "now")?;
        let failure = value_of(&failure, "failure")?;
        finish(self.session.on_transport_error(request_id, &failure, now)).map(JsCast::unchecked_into)
    }

    /// The checkpoint to save (versioned JSON text, no credentials).
    pub fn checkpoint(&self) -> String {
        self.session.checkpoint()
    }

    /// The ledger entries changed since the last call (a create's `pending`
    /// entry is there before its `send` is returned): what a host with a
    /// per-entry store writes back, instead of the whole checkpoint.
    #[wasm_bindgen(js_name = takeChangedEntries)]
    pub fn take_changed_entries(&mut self) -> Result<JsChangedEntries, JsValue> {
        finish(self.session.take_changed_entries()).map(JsCast::unchecked_into)
    }

    /// Loads the marker index the host saved beside the ledger (before the
    /// first poll): what `takeIndexChanges` returned, accumulated (entries
    /// upserted by resource and marker, coverage by resource), as JSON text
    /// or an object. One that does not parse throws `usage.bad_index`.
    #[wasm_bindgen(js_name = loadIndex)]
    pub fn load_index(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | IndexChanges")] index: JsValue,
    ) -> Result<JsOk, JsValue> {
        let text = text_of(&index, "index")?;
        match self.session.load_index(&text) {
            Ok(()) => finish(json!({"ok": true})).map(JsCast::unchecked_into),
            Err(e) => Err(finish(api::usage_error(&e)).unwrap_err()),
        }
    }

    /// What changed in the marker index since the last call, to save in the
    /// same transaction as the ledger entries.
    #[wasm_bindgen(js_name = takeIndexChanges, unchecked_return_type = "IndexChanges")]
    pub fn take_index_changes(&mut self) -> Result<JsValue, JsValue> {
        finish(self.session.take_index_changes())
    }

    /// The marker index passes in progress (`{passes}`), for a progress display.
    #[wasm_bindgen(js_name = indexProgress, unchecked_return_type = "IndexProgress")]
    pub fn index_progress(&self) -> Result<JsValue, JsValue> {
        finish(self.session.index_progress())
    }

    /// The flow's metrics in Prometheus text format.
    pub fn metrics(&self) -> String {
        self.session.metrics()
    }

    /// The outcome counts and each record's outcome.
    pub fn summary(&self) -> Result<JsFlowReport, JsValue> {
        finish(self.session.summary()).map(JsCast::unchecked_into)
    }
}
