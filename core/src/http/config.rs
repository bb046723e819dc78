//! Connection configuration: where incwo lives, which business file, how to
//! authenticate, and which headers every request carries.
//!
//! The config is validated once, when built or deserialized, so the request
//! builder can rely on it: a base URL is `http(s)://host[:port][/prefix]`
//! without credentials, query or fragment; plain `http` is refused unless the
//! host is loopback (the simulator) or `allowInsecureHttp` is set.

use std::fmt;

use serde::Deserialize;

use super::auth::Auth;
use super::base_url::BaseUrl;
use super::HttpError;
use crate::base::classification::ClassificationTable;

/// Everything needed to address one incwo business file: validated base
/// URL, business file id, credentials, optional idempotency-key header name
/// (incwo has none; a gateway may), optional `User-Agent`, and the error
/// classification table (defaults, overridable per status).
///
/// JSON (camelCase): `{"server": "https://www.incwo.com", "businessFileId":
/// "123456" (or a number), "auth": {...}, "allowInsecureHttp": false,
/// "idempotencyKeyHeader": null, "userAgent": null, "classification": {...}}`.
#[derive(Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct ConnectionConfig {
    base: BaseUrl,
    business_file_id: String,
    auth: Auth,
    idempotency_key_header: Option<String>,
    user_agent: Option<String>,
    classification: ClassificationTable,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("base", &self.base.to_string())
            .field("business_file_id", &self.business_file_id)
            .field("auth", &self.auth)
            .field("idempotency_key_header", &self.idempotency_key_header)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl ConnectionConfig {
    /// Validates and builds a config. `allow_insecure_http` lets a non-loopback
    /// `http://` base through (e.g. incwo's plain-http dev shard); leave it off
    /// in production. A base URL ending in the business file id is refused:
    /// the id is appended by the builder.
    pub fn new(server: &str, business_file_id: &str, auth: Auth, allow_insecure_http: bool) -> Result<Self, HttpError> {
        let base = BaseUrl::parse(server)?;
        if !base.is_https() && !base.is_loopback() && !allow_insecure_http {
            return Err(HttpError::InsecureBaseUrl);
        }
        if business_file_id.is_empty()
            || business_file_id.len() > 20
            || !business_file_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(HttpError::InvalidBusinessFileId);
        }
        if base.last_segment() == Some(business_file_id) {
            return Err(HttpError::BaseUrlIncludesBusinessFile);
        }
        auth.validate()?;
        Ok(Self {
            base,
            business_file_id: business_file_id.to_owned(),
            auth,
            idempotency_key_header: None,
            user_agent: None,
            classification: ClassificationTable::default(),
        })
    }

    /// Names the header that carries the idempotency key (for a gateway that
    /// honours one; incwo itself documents none). The name must be an HTTP token.
    pub fn with_idempotency_key_header(mut self, name: &str) -> Result<Self, HttpError> {
        super::validate_header_name(name)?;
        self.idempotency_key_header = Some(name.to_owned());
        Ok(self)
    }

    /// Sets a `User-Agent` sent with every request.
    pub fn with_user_agent(mut self, value: &str) -> Result<Self, HttpError> {
        super::validate_header_value("User-Agent", value)?;
        self.user_agent = Some(value.to_owned());
        Ok(self)
    }

    /// Replaces the error classification table (per-status overrides).
    pub fn with_classification(mut self, table: ClassificationTable) -> Self {
        self.classification = table;
        self
    }

    /// The validated base URL.
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The business file id (digits).
    pub fn business_file_id(&self) -> &str {
        &self.business_file_id
    }

    /// The configured credentials (their `Debug` is redacted).
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The idempotency-key header name, when configured.
    pub fn idempotency_key_header(&self) -> Option<&str> {
        self.idempotency_key_header.as_deref()
    }

    /// The `User-Agent`, when configured.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The error classification table in force.
    pub fn classification(&self) -> &ClassificationTable {
        &self.classification
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BusinessFileId {
    Text(String),
    Number(u64),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawConfig {
    server: String,
    business_file_id: BusinessFileId,
    auth: Auth,
    #[serde(default)]
    allow_insecure_http: bool,
    #[serde(default)]
    idempotency_key_header: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    classification: ClassificationTable,
}

impl ConnectionConfig {
    /// Reads a config from its JSON shape. Validation failures keep their own
    /// code; shape errors become `usage.invalid_json` with every quoted value
    /// scrubbed from the message (it could be a password given as a number).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, HttpError> {
        let raw = RawConfig::deserialize(value).map_err(|e| HttpError::InvalidJson {
            reason: format!("config: {}", scrub_quoted(&e.to_string())),
        })?;
        Self::try_from(raw)
    }
}

/// Replaces every quoted or back-ticked span of a serde message with `…`.
fn scrub_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in message.chars() {
        match open {
            Some(q) if c == q => {
                out.push('…');
                open = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => open = Some(c),
            None => out.push(c),
        }
    }
    out
}

impl TryFrom<RawConfig> for ConnectionConfig {
    type Error = HttpError;

    fn try_from(raw: RawConfig) -> Result<Self, HttpError> {
        let id = match raw.business_file_id {
            BusinessFileId::Text(text) => text,
            BusinessFileId::Number(n) => n.to_string(),
        };
        let mut config = ConnectionConfig::new(&raw.server, &id, raw.auth, raw.allow_insecure_http)?
            .with_classification(raw.classification);
        if let Some(name) = raw.idempotency_key_header {
            config = config.with_idempotency_key_header(&name)?;
        }
        if let Some(agent) = raw.user_agent {
            config = config.with_user_agent(&agent)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_support::{CID, PASSWORD};
    use crate::http::Method;
    use proptest::prelude::*;

    #[test]
    fn config_refuses_insecure_and_malformed_servers() {
        let auth = || Auth::basic("api@example.fr", PASSWORD);
        let new = |s: &str| ConnectionConfig::new(s, "123456", auth(), false);
        assert_eq!(new("http://www.incwo.com").unwrap_err(), HttpError::InsecureBaseUrl);
        assert!(ConnectionConfig::new("http://dev.incwo.com", "123456", auth(), true).is_ok());
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:3000/",
            "http://[::1]:9000",
            "HTTPS://Shard1.INCWO.com/",
        ] {
            assert!(new(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            new("HTTPS://Shard1.INCWO.com/").unwrap().base().to_string(),
            "https://shard1.incwo.com"
        );
        assert_eq!(
            new("https://gw.example.com/incwo/").unwrap().base().to_string(),
            "https://gw.example.com/incwo"
        );
        for bad in [
            "",
            "www.incwo.com",
            "ftp://www.incwo.com",
            "https://user:pw@www.incwo.com",
            "https://www.incwo.com?x=1",
            "https://www.incwo.com/#x",
            "https://www.incwo.com/a/../b",
            "https://www.incwo.com:0",
            "https://www.incwo.com:99999",
            "https://ww w.incwo.com",
            "https://",
            "http://127.0.0.1.evil.com",
        ] {
            assert!(new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            new("https://www.incwo.com/123456").unwrap_err(),
            HttpError::BaseUrlIncludesBusinessFile
        );
        assert_eq!(
            ConnectionConfig::new("https://www.incwo.com", "12a", auth(), false).unwrap_err(),
            HttpError::InvalidBusinessFileId
        );
        assert!(ConnectionConfig::new("https://www.incwo.com", "1", Auth::basic("a:b", "p"), false).is_err());
        assert!(ConnectionConfig::new("https://www.incwo.com", "1", Auth::bearer("has space"), false).is_err());
        let bearer = ConnectionConfig::new("https://gw.example.com", "1", Auth::bearer("tok-123"), false).unwrap();
        let r = bearer
            .request(Method::Get, "firms", None, &[], Vec::new(), CID)
            .unwrap();
        assert_eq!(r.header("Authorization"), Some("Bearer tok-123"));
    }

    #[test]
    fn config_reads_its_json_shape() {
        let value = serde_json::json!({
            "server": "http://127.0.0.1:4010",
            "businessFileId": 123456,
            "auth": {"type": "basic", "login": "api@example.fr", "password": PASSWORD},
            "idempotencyKeyHeader": "Idempotency-Key",
            "classification": {"overrides": {"404": {"class": "technical", "retryable": true}}}
        });
        let c = ConnectionConfig::from_json(&value).unwrap();
        assert_eq!(c.business_file_id(), "123456");
        assert_eq!(c.idempotency_key_header(), Some("Idempotency-Key"));
        assert_eq!(
            c.classification().rule(404).class,
            crate::base::classification::ErrorClass::Technical
        );
        // A password of the wrong type never appears in the error message.
        let bad = serde_json::json!({
            "server": "https://www.incwo.com", "businessFileId": "1",
            "auth": {"type": "basic", "login": "a", "password": 987654321}
        });
        let err = ConnectionConfig::from_json(&bad).unwrap_err();
        assert_eq!(err.code(), "usage.invalid_json");
        assert!(!err.to_string().contains("987654321"), "{err}");
    }

    proptest! {
        #[test]
        fn any_server_text_never_panics(server in any::<String>(), bfid in "[0-9a-z]{0,8}") {
            let _ = ConnectionConfig::new(&server, &bfid, Auth::basic("a", "b"), false);
            let _ = ConnectionConfig::new(&format!("https://{server}"), &bfid, Auth::basic("a", "b"), false);
        }
    }
}
