//! The record path, in both builds: `validate`, `map`, `mapBytes`, the
//! batch `mapMany`, `classify` and `version`. Input crosses as a JSON text or
//! its UTF-8 bytes (`Uint8Array`), the XML comes back as a string or as bytes.

use crate::batch;
use crate::marshal::{finish, optional_text, parse_json, text_of, thrown, usage, utf8, value_of};
use incwo_core::api;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TS_RECORD_TYPES: &'static str = r#"
import type { Violation } from "../flow-messages.js";

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

/** `mapBytes` result: `map`'s, with the XML as its UTF-8 bytes. */
export interface MapBytesResult {
  resource: string;
  xml: Uint8Array;
  totals?: Record<string, string>;
  warnings: Violation[];
}

/** A record of `mapMany` that could not be mapped: the error `map` would have thrown. */
export interface MapManyError { error: ErrorPayload }
"#;

/// Checks a canonical record against the contract: `{kind, valid,
/// violations, record?}`. `input` is the record's JSON text (exact numbers),
/// its UTF-8 bytes or an object; `profile` a mapping profile (text or
/// object), the default profile when absent.
#[wasm_bindgen(unchecked_return_type = "ValidationReport")]
pub fn validate(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | object")] input: JsValue,
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
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | object")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
) -> Result<JsValue, JsValue> {
    let input = text_of(&input, "input")?;
    let profile = optional_text(&profile, "profile")?;
    finish(api::map(kind, &input, profile.as_deref()))
}

/// `map` with the XML returned as its UTF-8 bytes (`Uint8Array`), for a
/// host that sends or stores them as they are: no JS string is made of it.
#[wasm_bindgen(js_name = mapBytes, unchecked_return_type = "MapBytesResult")]
pub fn map_bytes(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | object")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
) -> Result<JsValue, JsValue> {
    let input = text_of(&input, "input")?;
    let profile = optional_text(&profile, "profile")?;
    let mut value = api::map(kind, &input, profile.as_deref());
    if let Some(error) = thrown(&value) {
        return Err(error);
    }
    let xml = take_xml(&mut value);
    let object = parse_json(&value)?;
    set_xml_bytes(&object, xml.as_deref());
    Ok(object)
}

/// Maps N records of one kind in one call: one result per record, in
/// order, each `map`'s result or `{error}` (a record that cannot be mapped
/// does not stop the others). `records` is an array (each a JSON text, its
/// bytes or an object), or one text / `Uint8Array` holding a JSON array of
/// records or JSON Lines (one record per line, blank lines skipped). With
/// `bytes`, each `xml` is a `Uint8Array`.
#[wasm_bindgen(js_name = mapMany, unchecked_return_type = "Array<MapResult | MapBytesResult | MapManyError>")]
pub fn map_many(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "Array<string | Uint8Array | object> | string | Uint8Array")]
    records: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
    bytes: Option<bool>,
) -> Result<JsValue, JsValue> {
    let profile = optional_text(&profile, "profile")?;
    let one = |text: &str| api::map(kind, text, profile.as_deref());
    let mut results: Vec<Value> = if let Some(array) = records.dyn_ref::<js_sys::Array>() {
        let mut out = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            out.push(one(&text_of(&item, &format!("records[{i}]"))?));
        }
        out
    } else if records.is_string() || records.is_instance_of::<js_sys::Uint8Array>() {
        let text = match records.as_string() {
            Some(text) => text,
            None => utf8(records.unchecked_ref::<js_sys::Uint8Array>().to_vec(), "records")?,
        };
        let texts = batch::split(&text).map_err(|message| {
            usage(
                "usage.malformed_json",
                &message,
                "pass a JSON array of records, JSON Lines (one record per line) or an array",
            )
        })?;
        texts.into_iter().map(one).collect()
    } else {
        return Err(usage(
            "usage.bad_arguments",
            "records must be an array, a string or a Uint8Array",
            "pass an array of records (texts, bytes or objects), or one JSON array / JSON Lines text or buffer",
        ));
    };
    if !bytes.unwrap_or(false) {
        return parse_json(&Value::Array(results));
    }
    let xmls: Vec<Option<String>> = results.iter_mut().map(take_xml).collect();
    let array = parse_json(&Value::Array(results))?;
    let array: &js_sys::Array = array.unchecked_ref();
    for (i, xml) in xmls.iter().enumerate() {
        set_xml_bytes(&array.get(i as u32), xml.as_deref());
    }
    Ok(array.into())
}

/// Removes the `xml` text of a mapping result (nothing for an error).
fn take_xml(value: &mut Value) -> Option<String> {
    match value.as_object_mut()?.remove("xml")? {
        Value::String(xml) => Some(xml),
        _ => None,
    }
}

/// Sets `object.xml` to the bytes of `xml`, when there is one.
fn set_xml_bytes(object: &JsValue, xml: Option<&str>) {
    if let Some(xml) = xml {
        let bytes = js_sys::Uint8Array::from(xml.as_bytes());
        let _ = js_sys::Reflect::set(object, &JsValue::from_str("xml"), &bytes);
    }
}

/// Classifies an HTTP answer or a transport failure (`{method, endpoint,
/// operation?, correlationId?, nowMs?, response | transport, table?}`):
/// the classified error, or `null` for a 2xx response. Same as
/// `call("classify", args)` in the full build (see [`crate::classify`]).
#[wasm_bindgen(unchecked_return_type = "Record<string, unknown> | null")]
pub fn classify(#[wasm_bindgen(unchecked_param_type = "string | object")] args: JsValue) -> Result<JsValue, JsValue> {
    let args = value_of(&args, "args")?;
    finish(api::classify(&args).unwrap_or_else(|e| api::usage_error(&e)))
}

/// The version of the connector core inside this module.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
