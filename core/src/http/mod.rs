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
//!
//! One concern per module: `call` (method, operation, call site), `header`
//! (names, secrecy, validation), `error` (the usage [`HttpError`]s), `auth`
//! (credentials), `base_url` (the server address), `config` (the connection), `builder` (spec to request), `request` and
//! `response` (the values exchanged with the host), `json` (their JSON
//! shapes) and [`encode`] (percent and base64). Everything is re-exported
//! here, so paths stay `incwo_core::http::…`.

mod auth;
mod base_url;
mod builder;
mod call;
mod config;
pub mod encode;
mod error;
mod header;
mod json;
mod request;
mod response;
#[cfg(feature = "schema")]
pub(crate) mod schema;

pub use auth::{Auth, Secret};
pub use base_url::BaseUrl;
pub use builder::{normalize_uuid, RequestSpec};
pub use call::{CallSite, Method, Operation};
pub use config::ConnectionConfig;
pub use error::HttpError;
pub use header::{
    is_sensitive_header, validate_header_name, validate_header_value, CORRELATION_HEADER, MAX_HEADER_VALUE,
    XML_MEDIA_TYPE,
};
pub use json::{invalid_json, response_from_json};
pub use request::Request;
pub use response::Response;

#[cfg(test)]
mod test_support;
