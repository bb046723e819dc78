//! The built [`Request`] the host sends: read-only accessors, its call site,
//! and its three renderings: `Serialize` (for the host, secret included and
//! flagged), [`Request::redacted_json`] and `Debug`/`Display` (safe to log:
//! no `Authorization` value, no body).

use std::fmt;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::call::{CallSite, Method, Operation};
use super::encode::base64_encode;
use super::header::{find_header, is_sensitive_header, redacted_headers};

/// A fully built request for the host to send. Fields are read-only so the
/// validated invariants (encoded path, safe headers) hold.
///
/// `Serialize` gives what a host needs to send it, **including** the real
/// `Authorization` value (flagged `"sensitive": true`):
/// `{"method","url","endpoint","operation","correlationId","headers":[{"name","value","sensitive"}],"body","bodyEncoding"}`
/// where `bodyEncoding` is `"utf8"` or `"base64"`. Never log that JSON as is;
/// `Debug`, `Display` and [`Request::redacted_json`] are safe to log.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub(super) method: Method,
    pub(super) url: String,
    pub(super) endpoint: String,
    pub(super) operation: Operation,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) correlation_id: String,
}

impl Request {
    /// HTTP method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Absolute URL with the encoded path and query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Endpoint template, e.g. `/bill_sheets/{id}.xml`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Operation derived from method and path shape.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// Headers in sending order (includes the secret `Authorization`).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The correlation id (lowercase UUID text).
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// The call site, for error classification and telemetry.
    pub fn call_site(&self) -> CallSite {
        CallSite {
            method: self.method,
            endpoint: self.endpoint.clone(),
            operation: self.operation,
            correlation_id: Some(self.correlation_id.clone()),
        }
    }

    /// The same JSON as `Serialize`, with sensitive header values replaced by
    /// `[redacted]` and the body replaced by its length: safe to log.
    pub fn redacted_json(&self) -> serde_json::Value {
        let headers: Vec<serde_json::Value> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let sensitive = is_sensitive_header(name);
                serde_json::json!({
                    "name": name,
                    "value": if sensitive { "[redacted]" } else { value.as_str() },
                    "sensitive": sensitive,
                })
            })
            .collect();
        serde_json::json!({
            "method": self.method,
            "url": self.url,
            "endpoint": self.endpoint,
            "operation": self.operation,
            "correlationId": self.correlation_id,
            "headers": headers,
            "bodyLength": self.body.len(),
        })
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = redacted_headers(&self.headers);
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("operation", &self.operation)
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (correlation {}, {} body bytes)",
            self.method,
            self.url,
            self.correlation_id,
            self.body.len()
        )
    }
}

struct HeaderView<'a>(&'a str, &'a str);

impl Serialize for HeaderView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Header", 3)?;
        s.serialize_field("name", self.0)?;
        s.serialize_field("value", self.1)?;
        s.serialize_field("sensitive", &is_sensitive_header(self.0))?;
        s.end()
    }
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let headers: Vec<HeaderView<'_>> = self.headers.iter().map(|(n, v)| HeaderView(n, v)).collect();
        let (body, encoding) = match std::str::from_utf8(&self.body) {
            Ok(text) => (text.to_owned(), "utf8"),
            Err(_) => (base64_encode(&self.body), "base64"),
        };
        let mut s = serializer.serialize_struct("Request", 8)?;
        s.serialize_field("method", &self.method)?;
        s.serialize_field("url", &self.url)?;
        s.serialize_field("endpoint", &self.endpoint)?;
        s.serialize_field("operation", &self.operation)?;
        s.serialize_field("correlationId", &self.correlation_id)?;
        s.serialize_field("headers", &headers)?;
        s.serialize_field("body", &body)?;
        s.serialize_field("bodyEncoding", encoding)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_support::{config, CID, PASSWORD, TOKEN};
    use crate::http::{Auth, Response};

    #[test]
    fn debug_and_display_never_show_secrets() {
        let c = config();
        let r = c
            .request(
                Method::Post,
                "firms",
                None,
                &[],
                b"<firm><email>x@y.fr</email></firm>".to_vec(),
                CID,
            )
            .unwrap();
        let redacted = r.redacted_json().to_string();
        for text in [
            format!("{r:?}"),
            format!("{r}"),
            format!("{c:?}"),
            format!("{:?}", c.auth()),
            redacted,
            format!("{:?}", Auth::bearer("tok-secret-123")),
        ] {
            assert!(!text.contains(PASSWORD), "{text}");
            assert!(!text.contains(TOKEN), "{text}");
            assert!(!text.contains("tok-secret-123"), "{text}");
            assert!(!text.contains("api@example.fr"), "{text}");
            assert!(!text.contains("x@y.fr"), "{text}");
        }
        assert!(format!("{r:?}").contains("[redacted]"));
        // The serialized request does carry the secret (the host must send it), flagged.
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["headers"][0]["name"], "Authorization");
        assert_eq!(json["headers"][0]["sensitive"], true);
        let response = Response::new(401, vec![("Set-Cookie".into(), "session=abc".into())], b"no".to_vec());
        assert!(!format!("{response:?}").contains("session=abc"));
    }

    #[test]
    fn serialized_bodies_are_text_or_base64_and_the_call_site_has_no_raw_id() {
        let c = config();
        let text = c
            .request(Method::Put, "firms", Some("77"), &[], b"<firm/>".to_vec(), CID)
            .unwrap();
        let json = serde_json::to_value(&text).unwrap();
        assert_eq!(json["body"], "<firm/>");
        assert_eq!(json["bodyEncoding"], "utf8");
        assert_eq!(json["operation"], "update");
        assert_eq!(json["correlationId"], CID.to_ascii_lowercase());
        let binary = c
            .request(Method::Post, "firms", None, &[], vec![0xff, 0xfe, 0xfd], CID)
            .unwrap();
        let json = serde_json::to_value(&binary).unwrap();
        assert_eq!(
            (json["body"].as_str(), json["bodyEncoding"].as_str()),
            (Some("//79"), Some("base64"))
        );
        assert_eq!(binary.redacted_json()["bodyLength"], 3);
        let site = text.call_site();
        assert_eq!(site.endpoint, "/firms/{id}.xml");
        assert_eq!(site.operation, crate::http::Operation::Update);
        assert_eq!(site.correlation_id.as_deref(), Some(text.correlation_id()));
    }
}
