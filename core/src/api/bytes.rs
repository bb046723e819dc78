//! Bytes in, XML bytes out: [`super::map`] for hosts that only want the
//! body (no JSON result to build, decode or copy). A clean result is the XML
//! itself; everything else (an error, or a record that maps with warnings)
//! is the very JSON value `map` returns, so nothing is dropped.

use super::{kind, map_with, profile_ref, usage_error};
use crate::mapping::{self, Links, Profile};
use crate::model::Kind;
use crate::usage::UsageError;
use serde_json::Value;

/// `map(kind, input, profile?)` taking the input as bytes: `Ok(xml)` when
/// the record is valid and maps without a warning (the same bytes as the
/// `xml` of `map`); otherwise `Err(value)` with exactly what `map` returns
/// (`{"error": …}`, or `{resource, xml, totals, warnings}` when there are
/// warnings). Input that is not UTF-8 is a `usage.malformed_json` error.
pub fn map_bytes(kind_name: &str, input: &[u8], profile: Option<&str>) -> Result<Vec<u8>, Value> {
    let kind = kind(kind_name).map_err(|e| usage_error(&e))?;
    let profile = profile_ref(profile).map_err(|e| usage_error(&e))?;
    map_bytes_with(kind, input, &profile)
}

/// [`map_bytes`] with the kind and the profile already read (a host that
/// maps many records reads its profile once).
pub fn map_bytes_with(kind: Kind, input: &[u8], profile: &Profile) -> Result<Vec<u8>, Value> {
    let text = std::str::from_utf8(input).map_err(|e| {
        usage_error(&UsageError::new(
            "usage.malformed_json",
            format!("the input is not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
            "send one JSON object encoded in UTF-8",
        ))
    })?;
    let mut out = String::new();
    if mapping::fast::map_into(kind, text, profile, &Links::default(), &mut out).is_some() {
        return Ok(out.into_bytes());
    }
    let value = map_with(kind, text, profile);
    let clean = value.get("error").is_none() && value["warnings"].as_array().is_some_and(Vec::is_empty);
    match value["xml"].as_str() {
        Some(xml) if clean => Ok(xml.as_bytes().to_vec()),
        _ => Err(value),
    }
}

/// [`map_bytes`] for many records of one kind, the profile read once: one
/// result per input, in order.
pub fn map_many(
    kind_name: &str,
    inputs: &[&[u8]],
    profile: Option<&str>,
) -> Result<Vec<Result<Vec<u8>, Value>>, Value> {
    let kind = kind(kind_name).map_err(|e| usage_error(&e))?;
    let profile = profile_ref(profile).map_err(|e| usage_error(&e))?;
    Ok(inputs
        .iter()
        .map(|input| map_bytes_with(kind, input, &profile))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORDER: &str = r#"{"orderNumber":"CMD-1","customerExternalId":"C-1","orderDate":"2026-04-11","currency":"EUR",
        "lines":[{"sku":"A","qty":10,"unitPriceExclTax":49.90,"taxCode":"TVA20"}]}"#;

    #[test]
    fn a_clean_record_gives_the_xml_of_map() {
        let xml = map_bytes("order", ORDER.as_bytes(), None).expect("clean");
        assert_eq!(
            json!(String::from_utf8(xml).unwrap()),
            super::super::map("order", ORDER, None)["xml"]
        );
        let customer = r#"{"externalId":"C-1","name":"Atelier"}"#;
        let xml = map_bytes("customer", customer.as_bytes(), None).expect("clean, through the walker");
        assert_eq!(
            json!(String::from_utf8(xml).unwrap()),
            super::super::map("customer", customer, None)["xml"]
        );
    }

    #[test]
    fn errors_and_warnings_are_what_map_returns() {
        for (kind, input) in [
            ("order", ORDER.replace("49.90", "-1")),
            ("order", "{".to_string()),
            ("nope", ORDER.to_string()),
            (
                "customer",
                r#"{"externalId":"C-1","name":"A","vatNumber":"FR53123456789"}"#.to_string(),
            ),
        ] {
            let err = map_bytes(kind, input.as_bytes(), None).expect_err("not clean");
            assert_eq!(err, super::super::map(kind, &input, None), "{kind} {input}");
        }
        let err = map_bytes("order", b"{\"orderNumber\":\"\xff\"}", None).expect_err("not UTF-8");
        assert_eq!(err["error"]["code"], "usage.malformed_json");
    }

    #[test]
    fn many_records_give_one_result_each() {
        let bad = ORDER.replace("EUR", "XXX");
        let results = map_many("order", &[ORDER.as_bytes(), bad.as_bytes()], None).unwrap();
        assert!(results[0].is_ok());
        assert_eq!(results[1].as_ref().unwrap_err()["error"]["code"], "contract.invalid");
        assert!(map_many("nope", &[], None).is_err());
    }
}
