//! The [`Response`] the host received, and how a host hands it in as JSON
//! (headers as an object, pairs or `{name, value}` objects; body as text or
//! base64). `Debug` hides secret header values and the body.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::encode::base64_decode;
use super::header::{find_header, redacted_headers};

/// A response as the host received it. Header names are matched
/// case-insensitively.
///
/// JSON accepted (`Deserialize`): `{"status": 422, "headers": …, "body": "…"}`
/// where `headers` is an object `{"Name": "value"}`, an array of
/// `["Name","value"]` pairs or of `{"name","value"}` objects, and the body is
/// text (`body`) or base64 (`bodyBase64`); all but `status` optional.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers as received, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A response value.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers,
            body: body.into(),
        }
    }

    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = redacted_headers(&self.headers);
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "ResponseHeader"))]
/// One response header: a `[name, value]` pair or a `{name, value}` object.
#[serde(untagged)]
enum HeaderEntry {
    Pair(String, String),
    Object { name: String, value: String },
}

#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "ResponseHeaders"))]
/// A response's headers: a list of entries, or an object by name.
#[serde(untagged)]
enum HeadersIn {
    List(Vec<HeaderEntry>),
    Map(std::collections::BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "HttpResponse"))]
#[serde(rename_all = "camelCase")]
pub(super) struct ResponseIn {
    /// HTTP status code.
    status: u16,
    /// Headers as received: `{"Name": "value"}`, `[["Name", "value"]]` or `[{"name", "value"}]`.
    #[serde(default)]
    headers: Option<HeadersIn>,
    /// The body as text (give `body` or `bodyBase64`, not both).
    #[serde(default)]
    body: Option<String>,
    /// The body as base64, for bytes that are not UTF-8.
    #[serde(default)]
    body_base64: Option<String>,
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = ResponseIn::deserialize(deserializer)?;
        let headers = match raw.headers {
            None => Vec::new(),
            Some(HeadersIn::Map(map)) => map.into_iter().collect(),
            Some(HeadersIn::List(list)) => list
                .into_iter()
                .map(|h| match h {
                    HeaderEntry::Pair(n, v) | HeaderEntry::Object { name: n, value: v } => (n, v),
                })
                .collect(),
        };
        let body = match (raw.body, raw.body_base64) {
            (Some(_), Some(_)) => return Err(de::Error::custom("give body or bodyBase64, not both")),
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => {
                base64_decode(&b64).ok_or_else(|| de::Error::custom("bodyBase64 is not valid base64"))?
            }
            (None, None) => Vec::new(),
        };
        Ok(Response {
            status: raw.status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response_from_json;

    #[test]
    fn responses_read_every_header_shape() {
        let a = response_from_json(&serde_json::json!({"status": 429, "headers": {"Retry-After": "5"}})).unwrap();
        let b = response_from_json(&serde_json::json!({"status": 429, "headers": [["retry-after", "5"]]})).unwrap();
        let c = response_from_json(
            &serde_json::json!({"status": 429, "headers": [{"name": "RETRY-AFTER", "value": "5"}], "bodyBase64": "b2s="}),
        )
        .unwrap();
        for r in [&a, &b, &c] {
            assert_eq!(r.header("Retry-After"), Some("5"));
        }
        assert_eq!(c.body, b"ok");
        assert!(response_from_json(&serde_json::json!({"status": "x"})).is_err());
        assert!(response_from_json(&serde_json::json!({"status": 200, "body": "a", "bodyBase64": "YQ=="})).is_err());
    }

    #[test]
    fn success_is_2xx_and_debug_hides_the_body() {
        for (status, ok) in [
            (199, false),
            (200, true),
            (204, true),
            (299, true),
            (300, false),
            (422, false),
        ] {
            assert_eq!(
                Response::new(status, Vec::new(), Vec::new()).is_success(),
                ok,
                "{status}"
            );
        }
        let r = Response::new(
            200,
            vec![("Content-Type".into(), "application/xml".into())],
            b"<firm><email>x@y.fr</email></firm>".to_vec(),
        );
        let debug = format!("{r:?}");
        assert!(
            debug.contains("application/xml") && debug.contains("<34 bytes>"),
            "{debug}"
        );
        assert!(!debug.contains("x@y.fr"), "{debug}");
        let empty: Response = serde_json::from_value(serde_json::json!({"status": 204})).unwrap();
        assert_eq!(empty, Response::new(204, Vec::new(), Vec::new()));
    }
}
