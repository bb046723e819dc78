//! The one argument reader of the JSON façade: every handler in `api/`
//! reads its `args` object through [`Args`], so a missing or malformed field
//! gives the same kind of usage error everywhere, naming the field's path.
//!
//! Two error codes, as the façade has always answered:
//! - `usage.invalid_json` ([`Args::typed`]): the whole object has the wrong
//!   shape for a call described by one Rust type (`request`, `classify`,
//!   `retry`, `retry.decide`);
//! - `usage.bad_arguments` (every field getter): one field is missing or
//!   wrong; the message starts with the field's name (`options: …`,
//!   `target: …`, `now (ms since the epoch) is required`) and the hint is
//!   the handler's.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::base::profile::Profile;
use crate::http::{invalid_json, response_from_json, ConnectionConfig, Response};
use crate::usage::UsageError;

/// A `usage.bad_arguments` error.
pub(crate) fn bad_args(message: impl Into<String>, hint: &str) -> UsageError {
    UsageError::new("usage.bad_arguments", message, hint)
}

/// The arguments of one call (a JSON object, or anything a host sent).
#[derive(Clone, Copy)]
pub(crate) struct Args<'a> {
    value: &'a Value,
}

impl<'a> Args<'a> {
    /// Reads `value` as a call's arguments.
    pub(crate) fn new(value: &'a Value) -> Self {
        Self { value }
    }

    /// The raw field (`Null` when absent).
    pub(crate) fn get(&self, name: &str) -> &'a Value {
        &self.value[name]
    }

    /// The field when it is a string.
    pub(crate) fn str(&self, name: &str) -> Option<&'a str> {
        self.value[name].as_str()
    }

    /// The field when it is a non-negative integer; anything else counts as absent.
    pub(crate) fn lenient_u64(&self, name: &str) -> Option<u64> {
        self.value[name].as_u64()
    }

    /// The whole object as `T`; a shape error is `usage.invalid_json`.
    pub(crate) fn typed<T: DeserializeOwned>(&self) -> Result<T, UsageError> {
        T::deserialize(self.value).map_err(invalid_json)
    }

    /// The field as `T`, or serde's error (for handlers that word it themselves).
    pub(crate) fn parse<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, serde_json::Error> {
        match &self.value[name] {
            Value::Null => Ok(None),
            v => T::deserialize(v).map(Some),
        }
    }

    /// A required field as `T`: `"{name}: {serde's error}"` when missing or wrong.
    pub(crate) fn required<T: DeserializeOwned>(&self, name: &str, hint: &str) -> Result<T, UsageError> {
        T::deserialize(&self.value[name]).map_err(|e| bad_args(format!("{name}: {e}"), hint))
    }

    /// An optional field as `T` (`None` when absent or null): `"{name}: {serde's error}"` when wrong.
    pub(crate) fn optional<T: DeserializeOwned>(&self, name: &str, hint: &str) -> Result<Option<T>, UsageError> {
        self.parse(name).map_err(|e| bad_args(format!("{name}: {e}"), hint))
    }

    /// [`Args::optional`], also accepting the value's JSON text (hosts that
    /// keep ledger entries or states as text).
    pub(crate) fn optional_or_text<T: DeserializeOwned>(
        &self,
        name: &str,
        hint: &str,
    ) -> Result<Option<T>, UsageError> {
        let parsed = match &self.value[name] {
            Value::Null => return Ok(None),
            Value::String(text) => serde_json::from_str(text),
            v => T::deserialize(v),
        };
        parsed.map(Some).map_err(|e| bad_args(format!("{name}: {e}"), hint))
    }

    /// An optional non-negative integer that `check` accepts; `message` when
    /// present but not one.
    pub(crate) fn optional_number<T>(
        &self,
        name: &str,
        check: impl FnOnce(u64) -> Option<T>,
        message: &str,
        hint: &str,
    ) -> Result<Option<T>, UsageError> {
        match &self.value[name] {
            Value::Null => Ok(None),
            v => v
                .as_u64()
                .and_then(check)
                .map(Some)
                .ok_or_else(|| bad_args(message, hint)),
        }
    }

    /// A required non-empty string: `"{name} is required"` otherwise.
    pub(crate) fn required_text(&self, name: &str, hint: &str) -> Result<&'a str, UsageError> {
        self.str(name)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad_args(format!("{name} is required"), hint))
    }

    /// A required string (possibly empty): `"args.{name} must be a string"` otherwise.
    pub(crate) fn required_str(&self, name: &str, hint: &str) -> Result<&'a str, UsageError> {
        self.str(name)
            .ok_or_else(|| bad_args(format!("args.{name} must be a string"), hint))
    }

    /// The host's clock, `now` (ms since the epoch), required.
    pub(crate) fn now(&self) -> Result<u64, UsageError> {
        self.lenient_u64("now")
            .ok_or_else(|| bad_args("now (ms since the epoch) is required", "pass the host's clock"))
    }

    /// The mapping profile, `profile`: absent (the shipped one), its JSON
    /// text, or the object itself; `usage.invalid_profile` when unreadable.
    pub(crate) fn profile(&self) -> Result<Profile, UsageError> {
        let text = match &self.value["profile"] {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        };
        super::load_profile(text.as_deref())
    }

    /// The connection config, `config` (required; its own usage errors).
    pub(crate) fn config(&self) -> Result<ConnectionConfig, UsageError> {
        ConnectionConfig::from_json(&self.value["config"]).map_err(UsageError::from)
    }

    /// A response the host received, at field `name` (`usage.invalid_json` when malformed).
    pub(crate) fn response(&self, name: &str) -> Result<Response, UsageError> {
        response_from_json(&self.value[name])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_errors_name_the_field_and_keep_the_handlers_hint() {
        let v = json!({"options": 3, "n": "x", "key": "", "entries": "[1"});
        let args = Args::new(&v);
        let e = args.optional::<Vec<u8>>("options", "see the options").unwrap_err();
        assert_eq!(e.code, "usage.bad_arguments");
        assert!(e.message.starts_with("options: invalid type"), "{}", e.message);
        assert_eq!(e.hint, "see the options");
        assert_eq!(args.optional::<u8>("absent", "h"), Ok(None));
        let e = args.required::<u8>("absent", "h").unwrap_err();
        assert!(e.message.starts_with("absent: invalid type: null"), "{}", e.message);
        assert!(args
            .optional_or_text::<Vec<u8>>("entries", "h")
            .unwrap_err()
            .message
            .starts_with("entries: "));
        let e = args.optional_number("n", Some, "n must be a number", "h").unwrap_err();
        assert_eq!(e.message, "n must be a number");
        assert_eq!(args.required_text("key", "h").unwrap_err().message, "key is required");
        assert_eq!(args.required_str("n", "h"), Ok("x"));
        assert_eq!(
            args.required_str("m", "h").unwrap_err().message,
            "args.m must be a string"
        );
        assert_eq!(args.now().unwrap_err().message, "now (ms since the epoch) is required");
    }

    #[test]
    fn whole_shapes_and_profiles_have_their_own_codes() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Shape {
            _a: u8,
        }
        let v = json!({"b": 1, "profile": "{}"});
        assert_eq!(Args::new(&v).typed::<Shape>().unwrap_err().code, "usage.invalid_json");
        assert_eq!(Args::new(&v).profile().unwrap_err().code, "usage.invalid_profile");
        assert!(Args::new(&json!({})).profile().is_ok());
    }
}
