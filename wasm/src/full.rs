//! The rest of the surface, in the full build only (feature `full`):
//! `parse`, `schema`, `checkProfile`, `call` (every JSON-only call of the
//! façade) and the `Flow` session. The lean build leaves all of it, and the
//! core's flow, inbound, telemetry and quarantine code, out of its module.

use crate::marshal::{finish, optional_text, text_of, usage, value_of};
use incwo_core::api;
use incwo_core::api::flow::FlowSession;
use serde_json::json;
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
const TS_FLOW_TYPES: &'static str = r#"
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
} from "../flow-messages.js";

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
