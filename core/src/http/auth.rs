//! Credentials: the [`Secret`] wrapper that never prints its value, and
//! [`Auth`] (HTTP Basic, incwo's scheme, or a gateway's bearer token) with
//! its validation and the `Authorization` value the builder sends.

use std::fmt;

use serde::Deserialize;

use super::encode::base64_encode;
use super::HttpError;

/// A secret string (password, bearer token). Its `Debug` prints
/// `[redacted]` and it has no `Display`, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How requests authenticate. incwo itself speaks HTTP Basic with the
/// login/password of the API user; `Bearer` serves gateways placed in front
/// of incwo. JSON: `{"type":"basic","login":…,"password":…}` or
/// `{"type":"bearer","token":…}`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Auth {
    /// HTTP Basic (incwo's real scheme). The token is computed only when headers are built.
    Basic {
        /// The API user's login (an e-mail: personal data, redacted in `Debug`).
        login: String,
        /// The API user's password.
        password: Secret,
    },
    /// `Authorization: Bearer …`, for a gateway in front of incwo.
    Bearer {
        /// The gateway token.
        token: Secret,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { .. } => f.write_str("Basic { login: [redacted], password: [redacted] }"),
            Auth::Bearer { .. } => f.write_str("Bearer { token: [redacted] }"),
        }
    }
}

impl Auth {
    /// HTTP Basic credentials.
    pub fn basic(login: impl Into<String>, password: impl Into<String>) -> Self {
        Auth::Basic {
            login: login.into(),
            password: Secret::new(password),
        }
    }

    /// Bearer token credentials.
    pub fn bearer(token: impl Into<String>) -> Self {
        Auth::Bearer {
            token: Secret::new(token),
        }
    }

    /// Refuses unusable credentials (empty, `:` in a Basic login, control
    /// characters, spaces in a token) without quoting them.
    pub(super) fn validate(&self) -> Result<(), HttpError> {
        let bad = |reason: &str| {
            Err(HttpError::InvalidCredentials {
                reason: reason.to_owned(),
            })
        };
        match self {
            Auth::Basic { login, password } => {
                if login.is_empty() {
                    return bad("the Basic login is empty");
                }
                if login.contains(':') {
                    return bad("a Basic login cannot contain ':'");
                }
                if login.chars().any(char::is_control) {
                    return bad("the Basic login contains a control character");
                }
                if password.expose().is_empty() {
                    return bad("the Basic password is empty");
                }
                if password.expose().chars().any(char::is_control) {
                    return bad("the Basic password contains a control character");
                }
            }
            Auth::Bearer { token } => {
                let token = token.expose();
                if token.is_empty() {
                    return bad("the bearer token is empty");
                }
                if !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return bad("the bearer token must be visible ASCII without spaces");
                }
            }
        }
        Ok(())
    }

    /// The `Authorization` header value. Only the request builder calls it.
    pub(crate) fn header_value(&self) -> String {
        match self {
            Auth::Basic { login, password } => {
                let mut pair = String::with_capacity(login.len() + 1 + password.expose().len());
                pair.push_str(login);
                pair.push(':');
                pair.push_str(password.expose());
                format!("Basic {}", base64_encode(pair.as_bytes()))
            }
            Auth::Bearer { token } => format!("Bearer {}", token.expose()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values_are_basic_or_bearer() {
        // RFC 7617's example.
        assert_eq!(
            Auth::basic("Aladdin", "open sesame").header_value(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(Auth::bearer("tok-123").header_value(), "Bearer tok-123");
        let json: Auth =
            serde_json::from_value(serde_json::json!({"type": "basic", "login": "a@b.fr", "password": "pw"})).unwrap();
        assert_eq!(json, Auth::basic("a@b.fr", "pw"));
        let json: Auth = serde_json::from_value(serde_json::json!({"type": "bearer", "token": "t"})).unwrap();
        assert_eq!(json, Auth::bearer("t"));
        assert!(serde_json::from_value::<Auth>(serde_json::json!({"type": "digest", "token": "t"})).is_err());
        assert!(
            serde_json::from_value::<Auth>(serde_json::json!({"type": "bearer", "token": "t", "extra": 1})).is_err()
        );
    }

    #[test]
    fn unusable_credentials_are_refused_without_quoting_them() {
        for ok in [Auth::basic("api@example.fr", "p w"), Auth::bearer("a.b-c_d~e+/=")] {
            assert!(ok.validate().is_ok(), "{ok:?}");
        }
        for bad in [
            Auth::basic("", "pw"),
            Auth::basic("a:b", "pw"),
            Auth::basic("a\nb", "pw"),
            Auth::basic("a", ""),
            Auth::basic("a", "pw\r\nX: 1"),
            Auth::bearer(""),
            Auth::bearer("has space"),
            Auth::bearer("tök"),
        ] {
            let err = bad.validate().unwrap_err();
            assert_eq!(err.code(), "usage.invalid_credentials", "{bad:?}");
            assert!(
                !err.to_string().contains("pw") && !err.to_string().contains("tök"),
                "{err}"
            );
        }
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
        assert_eq!(Secret::new("hunter2").expose(), "hunter2");
    }
}
