//! `Request` / `Response` values and the connection config that builds them.
//!
//! The core never sends anything: it hands the host a fully built
//! [`Request`] (method, absolute URL, headers, body bytes) and receives a
//! [`Response`] or a transport failure back. incwo's REST paths are
//! `{server}/{business_file_id}/{resource}.xml` and
//! `{server}/{business_file_id}/{resource}/{id}.xml`; every request records
//! its endpoint template (`/bill_sheets/{id}.xml`) so metrics and errors never
//! carry a raw id. Ids and query values are percent-encoded so that no value
//! can change the path it is put in. Header values with CR, LF or NUL are
//! refused. `Debug` and `Display` never show the `Authorization` value nor
//! the body (which may hold personal data).

mod config;
pub mod encode;
mod json;

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

pub use config::{Auth, BaseUrl, ConnectionConfig, Secret};
pub use json::{invalid_json, response_from_json};

use encode::{base64_decode, base64_encode, percent_encode};

/// Header carrying the correlation id of a call.
pub const CORRELATION_HEADER: &str = "X-Correlation-Id";
/// incwo speaks XML only; this is sent as `Content-Type` and `Accept`.
pub const XML_MEDIA_TYPE: &str = "application/xml";
/// Longest header value accepted, in bytes.
pub const MAX_HEADER_VALUE: usize = 8 * 1024;

/// A misuse of the request API by the host (bad config, bad id, bad header):
/// a usage error, never one of the three error classes. Messages never quote
/// a secret or a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The server address cannot be parsed or is not acceptable.
    #[error("invalid server address: {reason}")]
    InvalidBaseUrl {
        /// Why.
        reason: String,
    },
    /// Plain http to a non-loopback host without `allowInsecureHttp`.
    #[error("plain http is refused for a non-loopback server: use https, or set allowInsecureHttp explicitly")]
    InsecureBaseUrl,
    /// The business file id is not 1–20 digits.
    #[error("the business file id must be 1 to 20 digits")]
    InvalidBusinessFileId,
    /// The server address already ends with the business file id.
    #[error(
        "the server address must not include the business file id: give the host only (e.g. https://www.incwo.com)"
    )]
    BaseUrlIncludesBusinessFile,
    /// Credentials are unusable.
    #[error("invalid credentials: {reason}")]
    InvalidCredentials {
        /// Why (never the secret itself).
        reason: String,
    },
    /// The resource or action segment is not `[a-z][a-z0-9_]*`.
    #[error("invalid resource segment: {reason}")]
    InvalidResource {
        /// Why.
        reason: String,
    },
    /// The record id is empty, too long or contains control characters.
    #[error("invalid record id: {reason}")]
    InvalidId {
        /// Why.
        reason: String,
    },
    /// A query parameter is unusable.
    #[error("invalid query parameter: {reason}")]
    InvalidQuery {
        /// Why.
        reason: String,
    },
    /// A header name is not an HTTP token, or its value holds CR, LF, NUL or
    /// another control character, or is too long.
    #[error("invalid header {name}: {reason}")]
    InvalidHeader {
        /// The header name (or `[invalid name]`).
        name: String,
        /// Why (never the value).
        reason: String,
    },
    /// The correlation id is not a UUID in its 8-4-4-4-12 text form.
    #[error("the correlation id must be a UUID (8-4-4-4-12 hexadecimal)")]
    InvalidCorrelationId,
    /// JSON handed to a façade function does not have the documented shape.
    #[error("invalid JSON input: {reason}")]
    InvalidJson {
        /// Why.
        reason: String,
    },
}

impl From<HttpError> for crate::usage::UsageError {
    fn from(e: HttpError) -> Self {
        crate::usage::UsageError::new(e.code(), e.to_string(), e.hint())
    }
}

impl HttpError {
    /// What the host should do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            HttpError::InvalidBaseUrl { .. } | HttpError::InsecureBaseUrl => {
                "give the server address shown in incwo's APIs panel, e.g. https://www.incwo.com"
            }
            HttpError::InvalidBusinessFileId | HttpError::BaseUrlIncludesBusinessFile => {
                "give the host as server and the numeric business file id separately"
            }
            HttpError::InvalidCredentials { .. } => "check the API user's login and password (or the gateway token)",
            HttpError::InvalidResource { .. } | HttpError::InvalidId { .. } | HttpError::InvalidQuery { .. } => {
                "this is a bug in the caller: resources are fixed names, ids come from incwo"
            }
            HttpError::InvalidHeader { .. } => "header values cannot contain CR, LF, NUL or control characters",
            HttpError::InvalidCorrelationId => "pass a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e",
            HttpError::InvalidJson { .. } => "send the JSON shape documented for this call",
        }
    }

    /// Stable code for hosts (`usage.*`).
    pub fn code(&self) -> &'static str {
        match self {
            HttpError::InvalidBaseUrl { .. } => "usage.invalid_base_url",
            HttpError::InsecureBaseUrl => "usage.insecure_base_url",
            HttpError::InvalidBusinessFileId => "usage.invalid_business_file_id",
            HttpError::BaseUrlIncludesBusinessFile => "usage.base_url_includes_business_file",
            HttpError::InvalidCredentials { .. } => "usage.invalid_credentials",
            HttpError::InvalidResource { .. } => "usage.invalid_resource",
            HttpError::InvalidId { .. } => "usage.invalid_id",
            HttpError::InvalidQuery { .. } => "usage.invalid_query",
            HttpError::InvalidHeader { .. } => "usage.invalid_header",
            HttpError::InvalidCorrelationId => "usage.invalid_correlation_id",
            HttpError::InvalidJson { .. } => "usage.invalid_json",
        }
    }
}

/// HTTP method. JSON: `"GET"`, `"POST"`, `"PUT"`, `"DELETE"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read one record or a list page.
    Get,
    /// Create (incwo's POST is not idempotent).
    Post,
    /// Partial update.
    Put,
    /// Delete.
    Delete,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// True for methods that may change state (POST, PUT, DELETE).
    pub fn is_write(self) -> bool {
        !matches!(self, Method::Get)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a call does, derived from the method and the path shape (with or
/// without an id). Used as a metric label and by retry decisions (a create
/// whose outcome is unknown is reconciled, never blindly repeated).
/// JSON: lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// POST on a collection.
    Create,
    /// GET of one record.
    Read,
    /// PUT of one record, or a POST action on one record.
    Update,
    /// DELETE of one record.
    Delete,
    /// GET of a collection page.
    List,
}

impl Operation {
    /// Derives the operation from the method and whether the path names a record.
    pub fn derive(method: Method, has_id: bool) -> Self {
        match (method, has_id) {
            (Method::Get, false) => Operation::List,
            (Method::Get, true) => Operation::Read,
            (Method::Post, false) => Operation::Create,
            (Method::Post, true) | (Method::Put, _) => Operation::Update,
            (Method::Delete, _) => Operation::Delete,
        }
    }

    /// Derives the operation from the method and an endpoint template
    /// (a template naming a record contains `{id}`).
    pub fn from_endpoint(method: Method, endpoint: &str) -> Self {
        Self::derive(method, endpoint.contains("{id}"))
    }

    /// The lowercase label (`create`, `read`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::List => "list",
        }
    }
}

/// What a classification needs to know about the call that failed: method,
/// endpoint template, operation and correlation id. Built from a
/// [`Request`] with [`Request::call_site`] or directly from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSite {
    /// HTTP method.
    pub method: Method,
    /// Endpoint template, e.g. `/bill_sheets/{id}.xml` (never a raw id).
    pub endpoint: String,
    /// Operation derived from method and template.
    pub operation: Operation,
    /// Correlation id of the call, when known.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl CallSite {
    /// A call site from a method and an endpoint template; the operation is derived.
    pub fn new(method: Method, endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        Self {
            method,
            operation: Operation::from_endpoint(method, &endpoint),
            endpoint,
            correlation_id: None,
        }
    }
}

/// What to build: a REST call (`/{resource}[/{id}].xml`) or, with `action`,
/// incwo's legacy controller/action style
/// (`{server}/{resource}/{action}/{business_file_id}[/{id}].xml`) for the few
/// objects without a REST route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec<'a> {
    /// HTTP method.
    pub method: Method,
    /// Resource segment, e.g. `bill_sheets` (`[a-z][a-z0-9_]*`).
    pub resource: &'a str,
    /// Legacy action segment (`list`, `create`, `show`, `destroy`), if any.
    pub action: Option<&'a str>,
    /// Record id; percent-encoded, it can never change the path.
    pub id: Option<&'a str>,
    /// Query parameters in order; keys and values percent-encoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Body bytes (XML).
    pub body: Vec<u8>,
    /// Correlation id (UUID text), given by the host or derived by the flow.
    pub correlation_id: &'a str,
    /// Idempotency key, sent only when the config names a header for it.
    pub idempotency_key: Option<&'a str>,
}

impl<'a> RequestSpec<'a> {
    /// A REST call on a collection with no query, body nor idempotency key.
    pub fn new(method: Method, resource: &'a str, correlation_id: &'a str) -> Self {
        Self {
            method,
            resource,
            action: None,
            id: None,
            query: &[],
            body: Vec::new(),
            correlation_id,
            idempotency_key: None,
        }
    }

    /// Names a record.
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Uses the legacy controller/action style.
    pub fn action(mut self, action: &'a str) -> Self {
        self.action = Some(action);
        self
    }

    /// Sets the query parameters.
    pub fn query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

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
    method: Method,
    url: String,
    endpoint: String,
    operation: Operation,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    correlation_id: String,
}

/// Headers whose values must never be shown.
pub fn is_sensitive_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie", "set-cookie"]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
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
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = if is_sensitive_header(n) {
                    "[redacted]"
                } else {
                    v.as_str()
                };
                (n.as_str(), v)
            })
            .collect();
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
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = if is_sensitive_header(n) {
                    "[redacted]"
                } else {
                    v.as_str()
                };
                (n.as_str(), v)
            })
            .collect();
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderEntry {
    Pair(String, String),
    Object { name: String, value: String },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HeadersIn {
    List(Vec<HeaderEntry>),
    Map(std::collections::BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseIn {
    status: u16,
    #[serde(default)]
    headers: Option<HeadersIn>,
    #[serde(default)]
    body: Option<String>,
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

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Refuses a header name that is not an RFC 9110 token.
pub fn validate_header_name(name: &str) -> Result<(), HttpError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(HttpError::InvalidHeader {
            name: "[invalid name]".to_owned(),
            reason: "a header name must be a non-empty HTTP token".to_owned(),
        })
    }
}

/// Refuses a header value with CR, LF, NUL or another control character
/// (tab excepted), or longer than [`MAX_HEADER_VALUE`]: such a value could
/// inject headers or split the request.
pub fn validate_header_value(name: &str, value: &str) -> Result<(), HttpError> {
    let reason = if value.len() > MAX_HEADER_VALUE {
        Some("the value is too long")
    } else if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        Some("the value contains CR, LF or NUL")
    } else if value.chars().any(|c| c.is_control() && c != '\t') {
        Some("the value contains a control character")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(HttpError::InvalidHeader {
            name: name.to_owned(),
            reason: reason.to_owned(),
        }),
    }
}

fn validate_segment(kind: &str, segment: &str) -> Result<(), HttpError> {
    let ok = !segment.is_empty()
        && segment.len() <= 64
        && segment.as_bytes()[0].is_ascii_lowercase()
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(HttpError::InvalidResource {
            reason: format!("the {kind} must be 1 to 64 characters of [a-z0-9_], starting with a letter"),
        })
    }
}

fn validate_id(id: &str) -> Result<(), HttpError> {
    let reason = if id.is_empty() {
        "the id is empty"
    } else if id.len() > 128 {
        "the id is longer than 128 bytes"
    } else if id.chars().any(char::is_control) {
        "the id contains a control character"
    } else {
        return Ok(());
    };
    Err(HttpError::InvalidId {
        reason: reason.to_owned(),
    })
}

/// Checks the 8-4-4-4-12 UUID text form and returns it lower-cased.
pub fn normalize_uuid(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let ok = bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    ok.then(|| text.to_ascii_lowercase())
}

impl ConnectionConfig {
    /// Builds a request from a spec: validates every part, encodes the path
    /// and query, records the endpoint template and adds the standard headers
    /// (`Authorization`, `Accept` and `Content-Type: application/xml`,
    /// `X-Correlation-Id`, then `User-Agent` and the idempotency-key header
    /// when configured).
    pub fn build(&self, spec: RequestSpec<'_>) -> Result<Request, HttpError> {
        validate_segment("resource", spec.resource)?;
        if let Some(action) = spec.action {
            validate_segment("action", action)?;
        }
        if let Some(id) = spec.id {
            validate_id(id)?;
        }
        let correlation_id = normalize_uuid(spec.correlation_id).ok_or(HttpError::InvalidCorrelationId)?;

        let mut url = self.base().to_string();
        let mut endpoint = String::new();
        match spec.action {
            None => {
                url.push('/');
                url.push_str(self.business_file_id());
                url.push('/');
                url.push_str(spec.resource);
                endpoint.push('/');
                endpoint.push_str(spec.resource);
            }
            Some(action) => {
                url.push('/');
                url.push_str(spec.resource);
                url.push('/');
                url.push_str(action);
                url.push('/');
                url.push_str(self.business_file_id());
                endpoint.push('/');
                endpoint.push_str(spec.resource);
                endpoint.push('/');
                endpoint.push_str(action);
                endpoint.push_str("/{bfid}");
            }
        }
        if let Some(id) = spec.id {
            url.push('/');
            url.push_str(&percent_encode(id));
            endpoint.push_str("/{id}");
        }
        url.push_str(".xml");
        endpoint.push_str(".xml");
        for (i, (key, value)) in spec.query.iter().enumerate() {
            if key.is_empty() {
                return Err(HttpError::InvalidQuery {
                    reason: "a query key is empty".to_owned(),
                });
            }
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&percent_encode(key));
            url.push('=');
            url.push_str(&percent_encode(value));
        }

        let mut headers = vec![
            ("Authorization".to_owned(), self.auth().header_value()),
            ("Accept".to_owned(), XML_MEDIA_TYPE.to_owned()),
            ("Content-Type".to_owned(), XML_MEDIA_TYPE.to_owned()),
            (CORRELATION_HEADER.to_owned(), correlation_id.clone()),
        ];
        if let Some(agent) = self.user_agent() {
            headers.push(("User-Agent".to_owned(), agent.to_owned()));
        }
        if let (Some(name), Some(key)) = (self.idempotency_key_header(), spec.idempotency_key) {
            if key.is_empty() {
                return Err(HttpError::InvalidHeader {
                    name: name.to_owned(),
                    reason: "the idempotency key is empty".to_owned(),
                });
            }
            headers.push((name.to_owned(), key.to_owned()));
        }
        for (name, value) in &headers {
            validate_header_value(name, value)?;
        }
        Ok(Request {
            method: spec.method,
            operation: Operation::derive(spec.method, spec.id.is_some()),
            url,
            endpoint,
            headers,
            body: spec.body,
            correlation_id,
        })
    }

    /// Shorthand for [`ConnectionConfig::build`] of a REST call without
    /// idempotency key: `{server}/{bfid}/{resource}[/{id}].xml[?query]`.
    pub fn request(
        &self,
        method: Method,
        resource: &str,
        id: Option<&str>,
        query: &[(&str, &str)],
        body: Vec<u8>,
        correlation_id: &str,
    ) -> Result<Request, HttpError> {
        self.build(RequestSpec {
            method,
            resource,
            action: None,
            id,
            query,
            body,
            correlation_id,
            idempotency_key: None,
        })
    }
}

#[cfg(test)]
mod tests;
