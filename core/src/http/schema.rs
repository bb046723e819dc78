//! JSON Schema of the HTTP shapes the flow exchanges with its host (feature
//! `schema`): the request a `send` action carries, as [`Request`]'s
//! hand-written `Serialize` writes it, and the response the host answers
//! with, as [`Response`]'s `Deserialize` reads it (through `ResponseIn`).

use super::response::ResponseIn;
use super::{Method, Operation, Request};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

/// How a request's `body` is written.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: never built
enum BodyEncoding {
    /// The body is the text itself.
    Utf8,
    /// The body is base64 (bytes that are not UTF-8).
    Base64,
}

/// A request header. Values flagged `sensitive` (the `Authorization`
/// header) must never be logged.
#[derive(JsonSchema)]
#[schemars(rename = "HttpHeader")]
#[allow(dead_code)] // a schema only: never built
struct HeaderShape {
    /// Header name.
    name: String,
    /// Header value (a credential when `sensitive`).
    value: String,
    /// True for credentials: never log the value.
    sensitive: bool,
}

/// A request the host must send, exactly as the core built it. Never log it
/// as is: its `Authorization` header carries the credentials.
#[derive(JsonSchema)]
#[schemars(rename = "HttpRequest")]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only: never built
struct RequestShape {
    /// HTTP method.
    method: Method,
    /// Absolute URL with the encoded path and query.
    url: String,
    /// Endpoint template (`/bill_sheets/{id}.xml`), for metrics and logs.
    endpoint: String,
    /// What the call does.
    operation: Operation,
    /// Correlation id of the call.
    correlation_id: String,
    /// Headers in sending order (includes the sensitive `Authorization`).
    headers: Vec<HeaderShape>,
    /// The body: text, or base64 when `bodyEncoding` says so.
    body: String,
    /// How `body` is written.
    body_encoding: BodyEncoding,
}

impl JsonSchema for Request {
    fn schema_name() -> Cow<'static, str> {
        RequestShape::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        RequestShape::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        RequestShape::json_schema(generator)
    }
}

/// The schema of a response as the host passes it (`on_response`).
pub(crate) fn response_schema(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<ResponseIn>()
}
