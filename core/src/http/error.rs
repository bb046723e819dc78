//! The usage errors of the request API: what a host did wrong when it built
//! a config or a request (bad server address, id, header…), each with a
//! stable `usage.*` code and a hint. Messages never quote a secret or a
//! header value.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::UsageError;

    #[test]
    fn every_error_has_a_usage_code_and_a_hint() {
        let reason = || "why".to_owned();
        let all = [
            HttpError::InvalidBaseUrl { reason: reason() },
            HttpError::InsecureBaseUrl,
            HttpError::InvalidBusinessFileId,
            HttpError::BaseUrlIncludesBusinessFile,
            HttpError::InvalidCredentials { reason: reason() },
            HttpError::InvalidResource { reason: reason() },
            HttpError::InvalidId { reason: reason() },
            HttpError::InvalidQuery { reason: reason() },
            HttpError::InvalidHeader {
                name: "X".into(),
                reason: reason(),
            },
            HttpError::InvalidCorrelationId,
            HttpError::InvalidJson { reason: reason() },
        ];
        let mut codes: Vec<&str> = all.iter().map(HttpError::code).collect();
        for e in &all {
            assert!(e.code().starts_with("usage."), "{e:?}");
            assert!(!e.hint().is_empty(), "{e:?}");
            assert!(!e.to_string().is_empty(), "{e:?}");
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "codes are distinct");
    }

    #[test]
    fn converts_to_a_usage_error_with_the_same_code_message_and_hint() {
        let e = HttpError::InvalidHeader {
            name: "User-Agent".into(),
            reason: "the value contains CR, LF or NUL".into(),
        };
        let usage = UsageError::from(e.clone());
        assert_eq!(usage, UsageError::new(e.code(), e.to_string(), e.hint()));
        assert_eq!(
            e.to_string(),
            "invalid header User-Agent: the value contains CR, LF or NUL"
        );
    }
}
