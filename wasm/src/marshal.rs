//! Marshalling between JS values and the core's JSON façade, shared by the
//! lean and the full build: the error factory, arguments as JSON text or
//! bytes, results as plain JS objects (`JSON.parse` of the core's JSON) and
//! thrown errors for `{"error": {...}}`.

use serde_json::{json, Value};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

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
pub(crate) fn error_value_in(payload: &Value, document: Option<&Value>) -> JsValue {
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
pub(crate) fn usage(code: &str, message: &str, hint: &str) -> JsValue {
    error_value(&json!({"class": "usage", "code": code, "message": message, "hint": hint}))
}

/// The `{"error": {...}}` of a result, with the whole result when it holds
/// more than the error (an intake refusal's `status`), or `None`.
pub(crate) fn thrown(value: &Value) -> Option<JsValue> {
    let error = value.get("error").filter(|e| e.is_object())?;
    let richer = value.as_object().is_some_and(|o| o.len() > 1);
    Some(error_value_in(error, richer.then_some(value)))
}

/// Result → JS: `{"error": {...}}` is thrown, anything else is returned as
/// a plain JS object built by `JSON.parse`.
pub(crate) fn finish(value: Value) -> Result<JsValue, JsValue> {
    if let Some(error) = thrown(&value) {
        return Err(error);
    }
    parse_json(&value)
}

/// A JSON value as a plain JS value (through its text, so numbers stay as
/// the core wrote them).
pub(crate) fn parse_json(value: &Value) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(&value.to_string())
        .map_err(|_| usage("usage.internal", "the result could not be read as JSON", "report this"))
}

/// JSON text written by serde_json (UTF-8 bytes) as a plain JS value.
pub(crate) fn parse_text(json: Vec<u8>) -> Result<JsValue, JsValue> {
    let internal = || usage("usage.internal", "the result could not be read as JSON", "report this");
    let text = String::from_utf8(json).map_err(|_| internal())?;
    js_sys::JSON::parse(&text).map_err(|_| internal())
}

/// The value to throw for an error document of the core (`{"error": ...}`);
/// anything else is an internal usage error (never expected).
pub(crate) fn thrown_or_usage(document: &Value) -> JsValue {
    thrown(document).unwrap_or_else(|| {
        usage(
            "usage.internal",
            "the core answered an error without its payload",
            "report this",
        )
    })
}

/// UTF-8 bytes as text; `what` names the argument in the error.
pub(crate) fn utf8(bytes: Vec<u8>, what: &str) -> Result<String, JsValue> {
    String::from_utf8(bytes).map_err(|e| {
        usage(
            "usage.bad_arguments",
            &format!("{what} is not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
            "pass UTF-8 encoded JSON (TextEncoder, Buffer.from(text, 'utf8'))",
        )
    })
}

/// A JS argument as JSON text: strings pass as they are (exact),
/// `Uint8Array`s are read as UTF-8, other values go through
/// `JSON.stringify`.
pub(crate) fn text_of(value: &JsValue, what: &str) -> Result<String, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
        return utf8(bytes.to_vec(), what);
    }
    let hint = "pass a JSON text, its UTF-8 bytes (Uint8Array) or a plain object";
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
pub(crate) fn optional_text(value: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        text_of(value, what).map(Some)
    }
}

/// A JS value as a `serde_json::Value`, through JSON text.
pub(crate) fn value_of(value: &JsValue, what: &str) -> Result<Value, JsValue> {
    let text = text_of(value, what)?;
    serde_json::from_str(&text).map_err(|e| {
        usage(
            "usage.malformed_json",
            &format!("{what} is not valid JSON: {e}"),
            "pass a JSON text or a plain object",
        )
    })
}
