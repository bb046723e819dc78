//! The record path, in both builds: `validate`, `map`, `mapBytes`, the
//! batch `mapMany`, `classify` and `version`. Input crosses as a JSON text or
//! its UTF-8 bytes (`Uint8Array`), the XML comes back as a string or as bytes.

use crate::batch;
use crate::marshal::{finish, optional_text, parse_text, text_of, thrown_or_usage, usage, utf8, value_of};
use incwo_core::api;
use incwo_core::contract::Violation;
use incwo_core::mapping::{totals::Totals, Mapped};
use serde::Serialize;
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
    map_one(kind, &input, &profile, false)
}

/// `map` with the XML returned as its UTF-8 bytes (`Uint8Array`), for a
/// host that sends or stores them as they are: no JS string is made of it.
#[wasm_bindgen(js_name = mapBytes, unchecked_return_type = "MapBytesResult")]
pub fn map_bytes(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | object")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
) -> Result<JsValue, JsValue> {
    map_one(kind, &input, &profile, true)
}

/// `map` / `mapBytes`: the core's typed fast path (the walker only when the
/// record breaks a rule or has a warning, see `api::map_parts`), the result
/// without the XML as one JSON text for `JSON.parse`, the XML as a string
/// in that text or as bytes set beside it.
fn map_one(kind: &str, input: &JsValue, profile: &JsValue, bytes: bool) -> Result<JsValue, JsValue> {
    let input = text_of(input, "input")?;
    let profile = optional_text(profile, "profile")?;
    let (kind, profile) = api::setup(kind, profile.as_deref()).map_err(|e| thrown_or_usage(&e))?;
    let (mapped, warnings) = api::map_parts(kind, &input, &profile).map_err(|e| thrown_or_usage(&e))?;
    let mut json = Vec::with_capacity(256 + if bytes { 0 } else { mapped.xml.len() + 16 });
    write_result(&mut json, &mapped, &warnings, !bytes);
    let object = parse_text(json)?;
    if bytes {
        let xml = js_sys::Uint8Array::from(mapped.xml.as_bytes());
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str("xml"), &xml);
    }
    Ok(object)
}

/// Maps N records of one kind in one call: one result per record, in
/// order, each `map`'s result or `{error}` (a record that cannot be mapped
/// does not stop the others). `records` is an array (each a JSON text, its
/// bytes or an object), or one text / `Uint8Array` holding a JSON array of
/// records or JSON Lines (one record per line, blank lines skipped). With
/// `bytes`, each `xml` is a `Uint8Array`: a view into one buffer that holds
/// the XML of the whole batch (one copy out of the module, not one per
/// record).
#[wasm_bindgen(js_name = mapMany, unchecked_return_type = "Array<MapResult | MapBytesResult | MapManyError>")]
pub fn map_many(
    kind: &str,
    #[wasm_bindgen(unchecked_param_type = "Array<string | Uint8Array | object> | string | Uint8Array")]
    records: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | object | null")] profile: JsValue,
    bytes: Option<bool>,
) -> Result<JsValue, JsValue> {
    let bytes = bytes.unwrap_or(false);
    let profile = optional_text(&profile, "profile")?;
    // An unknown kind or a bad profile is every record's error, as `map`'s.
    let setup = api::setup(kind, profile.as_deref());
    let one = |text: &str| match &setup {
        Ok((kind, profile)) => api::map_parts(*kind, text, profile),
        Err(error) => Err(error.clone()),
    };
    let mut batch = Batch::new(bytes);
    if let Some(array) = records.dyn_ref::<js_sys::Array>() {
        for (i, item) in array.iter().enumerate() {
            let text = text_of(&item, &format!("records[{i}]"))?;
            batch.push(one(&text));
        }
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
        for text in texts {
            batch.push(one(text));
        }
    } else {
        return Err(usage(
            "usage.bad_arguments",
            "records must be an array, a string or a Uint8Array",
            "pass an array of records (texts, bytes or objects), or one JSON array / JSON Lines text or buffer",
        ));
    }
    batch.finish()
}

/// The results of one `mapMany` call as they are built: one JSON array
/// text and, for bytes, every XML in one buffer with each record's span.
struct Batch {
    json: Vec<u8>,
    xml: Option<(Vec<u8>, Vec<Span>)>,
}

/// Where a record's XML lies in the batch's buffer (`None`: no XML, an error).
type Span = Option<(u32, u32)>;

impl Batch {
    fn new(bytes: bool) -> Self {
        Batch {
            json: vec![b'['],
            xml: bytes.then(|| (Vec::new(), Vec::new())),
        }
    }

    fn push(&mut self, result: Result<(Mapped, Vec<Violation>), Value>) {
        if self.json.len() > 1 {
            self.json.push(b',');
        }
        let span = match &result {
            Ok((mapped, warnings)) => {
                write_result(&mut self.json, mapped, warnings, self.xml.is_none());
                self.xml.as_mut().map(|(all, _)| {
                    let start = all.len();
                    all.extend_from_slice(mapped.xml.as_bytes());
                    (start as u32, all.len() as u32)
                })
            }
            Err(error) => {
                let _ = serde_json::to_writer(&mut self.json, error);
                None
            }
        };
        if let Some((_, spans)) = self.xml.as_mut() {
            spans.push(span);
        }
    }

    fn finish(mut self) -> Result<JsValue, JsValue> {
        self.json.push(b']');
        let array = parse_text(std::mem::take(&mut self.json))?;
        if let Some((all, spans)) = &self.xml {
            let buffer = js_sys::Uint8Array::from(all.as_slice());
            let list: &js_sys::Array = array.unchecked_ref();
            let key = JsValue::from_str("xml");
            for (i, span) in spans.iter().enumerate() {
                if let Some((start, end)) = span {
                    let _ = js_sys::Reflect::set(&list.get(i as u32), &key, &buffer.subarray(*start, *end));
                }
            }
        }
        Ok(array)
    }
}

/// Appends a mapping result as a JSON object: `{resource, xml?, totals?,
/// warnings}` (the `xml` only when `with_xml`).
fn write_result(out: &mut Vec<u8>, mapped: &Mapped, warnings: &[Violation], with_xml: bool) {
    let result = MapResult {
        resource: mapped.resource,
        xml: with_xml.then_some(mapped.xml.as_str()),
        totals: mapped.totals.as_ref(),
        warnings,
    };
    // Writing into a Vec cannot fail, and every field serialises.
    let _ = serde_json::to_writer(out, &result);
}

/// The fields of `map`'s result, borrowed from the core's.
#[derive(Serialize)]
struct MapResult<'a> {
    resource: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    xml: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    totals: Option<&'a Totals>,
    warnings: &'a [Violation],
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
