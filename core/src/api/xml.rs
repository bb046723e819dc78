//! Bytes in, XML bytes out: the mapping for hosts that want only the XML,
//! one record ([`map_xml`]) or many in one call ([`map_many_xml`]).
//!
//! Same rules and same bytes as [`super::map`] (it is built on the same
//! [`map_parts`]); only the JSON document around the XML is left out, so a
//! host neither escapes nor decodes it. Warnings are kept apart (most records
//! have none). Errors are the same `{"error": {...}}` documents as `map`'s.

use super::{contract_error, kind, profile_ref, usage_error};
use crate::contract::{self, Violation};
use crate::mapping::{self, Links, Mapped, Profile};
use crate::model::Kind;
use crate::usage::UsageError;
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Validates and maps one record: the mapping and the record's warnings, or
/// the error document `map` answers. A valid quote, order or invoice takes
/// the typed fast path ([`mapping::fast`]); anything else, or anything it
/// gives up on, goes through the walker. Public for a binding that builds
/// its own result from the parts (the wasm module: the XML as bytes, the
/// rest as JSON), with the kind and profile of [`super::setup`].
pub fn map_parts(kind: Kind, input: &str, profile: &Profile) -> Result<(Mapped, Vec<Violation>), Value> {
    if let Some(mapped) = mapping::fast::map(kind, input, profile, &Links::default()) {
        return Ok((mapped, Vec::new()));
    }
    let report = contract::validate(kind, input, profile).map_err(|e| usage_error(&e))?;
    let Some(record) = &report.record else {
        return Err(contract_error(&report.violations));
    };
    match mapping::map_record(record, profile, &Links::default()) {
        Ok(mapped) => Ok((mapped, report.violations)),
        Err(e) => Err(
            json!({"error": {"class": "contract", "code": e.code, "message": e.message, "hint": "check the mapping profile"}}),
        ),
    }
}

/// The record's text: input that is not UTF-8 is malformed JSON, located
/// at its first invalid byte (1-based line and column, in bytes).
fn utf8(input: &[u8]) -> Result<&str, Value> {
    std::str::from_utf8(input).map_err(|e| {
        let before = &input[..e.valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = before.len() - before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        let mut error = UsageError::new(
            "usage.malformed_json",
            format!("malformed JSON at line {line}, column {column}: the bytes are not valid UTF-8"),
            "send one JSON object encoded in UTF-8",
        );
        error.line = Some(line);
        error.column = Some(column);
        usage_error(&error)
    })
}

/// One record mapped to XML.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedXml {
    /// The XML body (the `xml` of [`super::map`]).
    pub xml: String,
    /// The record's warnings (the `warnings` of [`super::map`]); usually empty.
    pub warnings: Vec<Violation>,
}

impl MappedXml {
    /// The warnings as JSON text, the `warnings` of [`super::map`] (same
    /// text, keys in the same order), or `None` when there are none.
    pub fn warnings_json(&self) -> Option<String> {
        (!self.warnings.is_empty()).then(|| super::to_json(&self.warnings).to_string())
    }
}

/// `map(kind, input, profile?)` keeping only the XML and the warnings; the
/// error document of `map` otherwise. `input` is the record's JSON as bytes.
pub fn map_xml(kind_name: &str, input: &[u8], profile: Option<&str>) -> Result<MappedXml, Value> {
    let kind = kind(kind_name).map_err(|e| usage_error(&e))?;
    let profile = profile_ref(profile).map_err(|e| usage_error(&e))?;
    let (mapped, warnings) = map_parts(kind, utf8(input)?, &profile)?;
    Ok(MappedXml {
        xml: mapped.xml,
        warnings,
    })
}

/// A batch mapped to XML: one item per record, in order, in one buffer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManyXml {
    /// The items, each followed by one NUL byte (neither XML nor JSON text
    /// holds a NUL, so splitting on it gives the items back): the XML of a
    /// record mapped, the error document (`{"error": {...}}`) of one that
    /// was not.
    pub items: Vec<u8>,
    /// The records that were not mapped: index and error class (`usage`,
    /// `contract`, `technical`, `business`), in order.
    pub failed: Vec<(usize, String)>,
    /// The warnings of the records mapped with some: index and warnings.
    pub warnings: Vec<(usize, Vec<Violation>)>,
}

impl ManyXml {
    /// `[{"index": i, "warnings": [...]}, ...]`, or `None` when no record
    /// has a warning.
    pub fn warnings_json(&self) -> Option<String> {
        if self.warnings.is_empty() {
            return None;
        }
        let list: Vec<Value> = self
            .warnings
            .iter()
            .map(|(index, warnings)| json!({"index": index, "warnings": super::to_json(warnings)}))
            .collect();
        Some(Value::Array(list).to_string())
    }
}

/// Maps many records of one kind in one call (the batch entry point of the
/// bindings): the per-record results of [`map_xml`] in one buffer. The kind
/// and the profile are read once; a record's failure (including a panic,
/// which becomes its `usage.internal_panic` document) is that record's item
/// and never stops the others. `Err` is the error document of the whole call
/// (unknown kind, invalid profile).
pub fn map_many_xml<'a>(
    kind_name: &str,
    inputs: impl IntoIterator<Item = &'a [u8]>,
    profile: Option<&str>,
) -> Result<ManyXml, Value> {
    let kind = kind(kind_name).map_err(|e| usage_error(&e))?;
    let profile = profile_ref(profile).map_err(|e| usage_error(&e))?;
    let mut many = ManyXml::default();
    for (index, input) in inputs.into_iter().enumerate() {
        let one = catch_unwind(AssertUnwindSafe(|| map_parts(kind, utf8(input)?, &profile)))
            .unwrap_or_else(|payload| Err(super::panic_error(&*payload)));
        match one {
            Ok((mapped, warnings)) => {
                many.items.extend_from_slice(mapped.xml.as_bytes());
                if !warnings.is_empty() {
                    many.warnings.push((index, warnings));
                }
            }
            Err(document) => {
                let class = document["error"]["class"].as_str().unwrap_or("usage").to_owned();
                many.items.extend_from_slice(document.to_string().as_bytes());
                many.failed.push((index, class));
            }
        }
        many.items.push(0);
    }
    Ok(many)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = include_str!("../../../examples/data/order.json");
    const MISSING_PRICE: &str = include_str!("../../../examples/data/order-missing-price.json");

    #[test]
    fn the_xml_is_the_xml_of_map() {
        let mapped = map_xml("order", ORDER.as_bytes(), None).unwrap();
        let full = super::super::map("order", ORDER, None);
        assert_eq!(mapped.xml, full["xml"].as_str().unwrap());
        assert!(mapped.warnings.is_empty());
        let error = map_xml("order", MISSING_PRICE.as_bytes(), None).unwrap_err();
        assert_eq!(error, super::super::map("order", MISSING_PRICE, None));
        assert_eq!(
            map_xml("orders", b"{}", None).unwrap_err()["error"]["code"],
            "usage.unknown_kind"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_malformed_json() {
        let error = map_xml("order", b"{\"orderNumber\": \"\xff\"}", None).unwrap_err();
        assert_eq!(error["error"]["code"], "usage.malformed_json");
        assert_eq!(
            (error["error"]["line"].as_u64(), error["error"]["column"].as_u64()),
            (Some(1), Some(18))
        );
        let error = map_xml("order", b"{\n \"a\": \"\xc3\"}", None).unwrap_err();
        assert_eq!(
            (error["error"]["line"].as_u64(), error["error"]["column"].as_u64()),
            (Some(2), Some(8))
        );
    }

    #[test]
    fn a_batch_gives_one_item_per_record_in_order() {
        let inputs: Vec<&[u8]> = vec![ORDER.as_bytes(), MISSING_PRICE.as_bytes(), b"{", ORDER.as_bytes()];
        let many = map_many_xml("order", inputs.iter().copied(), None).unwrap();
        let items: Vec<&[u8]> = many.items.split(|b| *b == 0).collect();
        assert_eq!(items.len(), 5, "four items and the empty tail");
        assert_eq!(items[4], b"");
        for (i, input) in inputs.iter().enumerate() {
            let one = map_xml("order", input, None);
            match one {
                Ok(mapped) => assert_eq!(items[i], mapped.xml.as_bytes()),
                Err(document) => assert_eq!(serde_json::from_slice::<Value>(items[i]).unwrap(), document),
            }
        }
        assert_eq!(many.failed, vec![(1, "contract".to_owned()), (2, "usage".to_owned())]);
        assert_eq!(many.warnings_json(), None);
        assert_eq!(
            map_many_xml("orders", inputs, None).unwrap_err()["error"]["code"],
            "usage.unknown_kind"
        );
        assert_eq!(map_many_xml("order", [], None).unwrap(), ManyXml::default());
    }

    /// Every `map` vector (default profile or its own) through `map_xml` and
    /// one `map_many_xml` call per profile and kind: `map`'s bytes, warnings
    /// and error documents.
    #[test]
    fn the_map_vectors_give_the_same_results_one_by_one_and_in_a_batch() {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
        let mut groups: std::collections::BTreeMap<(Option<String>, String), Vec<Vec<u8>>> = Default::default();
        for entry in std::fs::read_dir(base.join("map")).unwrap() {
            let vector: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            let input = match (&vector["inputText"], &vector["inputFile"]) {
                (Value::String(text), _) => text.clone().into_bytes(),
                (_, Value::String(file)) => std::fs::read(base.join(file)).unwrap(),
                _ => vector["input"].to_string().into_bytes(),
            };
            let profile = vector["profileFile"]
                .as_str()
                .map(|f| std::fs::read_to_string(base.join(f)).unwrap());
            let kind = vector["args"]["kind"].as_str().unwrap().to_owned();
            groups.entry((profile, kind)).or_default().push(input);
        }
        let mut records = 0;
        for ((profile, kind), inputs) in groups {
            let profile = profile.as_deref();
            let many = map_many_xml(&kind, inputs.iter().map(Vec::as_slice), profile).unwrap();
            let items: Vec<&[u8]> = many.items.split(|b| *b == 0).collect();
            for (i, input) in inputs.iter().enumerate() {
                records += 1;
                let full = super::super::map(&kind, std::str::from_utf8(input).unwrap(), profile);
                let one = map_xml(&kind, input, profile);
                let batch_warnings = many.warnings.iter().find(|(at, _)| *at == i).map(|(_, w)| w.clone());
                if full.get("error").is_some() {
                    assert_eq!(one.unwrap_err(), full);
                    assert_eq!(serde_json::from_slice::<Value>(items[i]).unwrap(), full);
                    assert!(many.failed.iter().any(|(at, _)| *at == i));
                } else {
                    let one = one.unwrap();
                    assert_eq!(one.xml.as_bytes(), items[i]);
                    assert_eq!(full["xml"].as_str().unwrap(), one.xml);
                    assert_eq!(super::super::to_json(&one.warnings), full["warnings"]);
                    assert_eq!(batch_warnings.unwrap_or_default(), one.warnings);
                }
            }
        }
        assert!(records >= 12, "{records} map vectors");
    }

    #[test]
    fn warnings_are_kept_by_index() {
        let customer = include_str!("../../../examples/data/customer.json");
        let one = map_xml("customer", customer.as_bytes(), None).unwrap();
        assert_eq!(one.warnings[0].code, "vat_key");
        let full = super::super::map("customer", customer, None);
        assert_eq!(one.warnings_json().unwrap(), full["warnings"].to_string());
        let many = map_many_xml("customer", [b"{".as_slice(), customer.as_bytes()], None).unwrap();
        assert_eq!(many.warnings, vec![(1, one.warnings.clone())]);
        let listed: Value = serde_json::from_str(&many.warnings_json().unwrap()).unwrap();
        assert_eq!(listed[0]["index"], 1);
        assert_eq!(listed[0]["warnings"][0]["path"], "/vatNumber");
    }
}
