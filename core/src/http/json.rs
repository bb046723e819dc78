//! Typed readers of the JSON shapes shared by the façade's calls (a
//! response, a shape error); the handlers themselves live in `crate::api`.

use serde::Deserialize;
use serde_json::Value;

use super::{HttpError, Response};
use crate::usage::UsageError;

/// A usage error for JSON that does not have the documented shape.
pub fn invalid_json(e: impl std::fmt::Display) -> UsageError {
    UsageError::from(HttpError::InvalidJson { reason: e.to_string() })
}

/// Reads a [`Response`] from its JSON shape.
pub fn response_from_json(value: &Value) -> Result<Response, UsageError> {
    Response::deserialize(value).map_err(invalid_json)
}
