//! The status → class table of error classification: the three classes and
//! the per-status rules, defaults and overrides. It is configuration data
//! (a connection config carries its overrides), so it sits in the base layer
//! below both `http` (whose connection config holds it)
//! and `errors` (which applies it); `crate::errors` re-exports it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The three error classes. JSON: `"technical"`, `"contract"`, `"business"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// Transport, timeouts, throttling, server errors, authentication.
    Technical,
    /// The payload breaks the contract (locally or as judged by incwo).
    Contract,
    /// Well-formed, but the business state forbids it.
    Business,
}

impl ErrorClass {
    /// The lowercase label, as used in metrics (`api_error_total{class}`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Technical => "technical",
            ErrorClass::Contract => "contract",
            ErrorClass::Business => "business",
        }
    }
}

/// How one HTTP status is classified. JSON (camelCase):
/// `{"class": "business", "code": "business.not_found", "retryable": false, "needsOperator": false}`;
/// in an override, `code` defaults to `http.{status}`, `retryable` to
/// "class is technical" and `needsOperator` to false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRule {
    /// Class of the error.
    pub class: ErrorClass,
    /// Stable code; `None` means `http.{status}`.
    #[serde(default)]
    pub code: Option<String>,
    /// Whether a retry may help; `None` means "technical".
    #[serde(default)]
    pub retryable: Option<bool>,
    /// Whether an operator must act (credentials, configuration).
    #[serde(default)]
    pub needs_operator: bool,
}

impl StatusRule {
    fn new(class: ErrorClass, code: &str, retryable: bool, needs_operator: bool) -> Self {
        Self {
            class,
            code: Some(code.to_owned()),
            retryable: Some(retryable),
            needs_operator,
        }
    }
}

/// The status → class table: defaults from docs/DESIGN.md#6-errors-and-retries, plus
/// per-status overrides from the config. JSON:
/// `{"overrides": {"404": {"class": "technical", "retryable": true}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClassificationTable {
    /// Overrides by status code.
    #[serde(default)]
    pub overrides: BTreeMap<u16, StatusRule>,
}

impl ClassificationTable {
    /// Adds or replaces the rule for one status.
    pub fn with_override(mut self, status: u16, rule: StatusRule) -> Self {
        self.overrides.insert(status, rule);
        self
    }

    /// The rule for a non-2xx status: the override if any, else the default.
    pub fn rule(&self, status: u16) -> StatusRule {
        self.overrides
            .get(&status)
            .cloned()
            .unwrap_or_else(|| default_rule(status))
    }
}

/// The default classification of a non-2xx status.
pub fn default_rule(status: u16) -> StatusRule {
    use ErrorClass::*;
    let http = format!("http.{status}");
    match status {
        300..=399 => StatusRule::new(Technical, "http.redirect", false, true),
        400 | 422 => StatusRule::new(Contract, "contract.rejected", false, false),
        401 => StatusRule::new(Technical, "auth.unauthorized", false, true),
        403 => StatusRule::new(Technical, "auth.forbidden", false, true),
        404 | 410 => StatusRule::new(Business, "business.not_found", false, false),
        408 | 425 | 429 => StatusRule::new(Technical, &http, true, false),
        409 => StatusRule::new(Business, "business.conflict", false, false),
        400..=499 => StatusRule::new(Contract, &http, false, false),
        501 | 505 => StatusRule::new(Technical, &http, false, false),
        500..=599 => StatusRule::new(Technical, &http, true, false),
        _ => StatusRule::new(Technical, "http.unexpected_status", false, false),
    }
}
