//! Usage errors: the host called the core wrongly (malformed JSON, an unknown
//! kind, an unreadable profile). Never confused with the technical, contract
//! and business classes, which describe records and incwo's answers.

use serde::Serialize;

/// A mistake of the calling host, with a stable code and a hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message} ({code}); {hint}")]
pub struct UsageError {
    /// Stable code, e.g. `usage.malformed_json`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
    /// 1-based line of the problem in the input, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column of the problem in the input, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl UsageError {
    /// A usage error without a position.
    pub fn new(code: &str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            hint: hint.into(),
            line: None,
            column: None,
        }
    }

    /// Malformed JSON, with serde_json's position.
    pub fn malformed_json(error: &serde_json::Error) -> Self {
        Self {
            code: "usage.malformed_json".into(),
            message: format!(
                "malformed JSON at line {}, column {}: {error}",
                error.line(),
                error.column()
            ),
            hint: "send one JSON object encoded in UTF-8".into(),
            line: Some(error.line()),
            column: Some(error.column()),
        }
    }
}
