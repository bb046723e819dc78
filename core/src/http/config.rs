//! Connection configuration: where incwo lives, which business file, how to
//! authenticate, and which headers every request carries.
//!
//! The config is validated once, when built or deserialized, so the request
//! builder can rely on it: a base URL is `http(s)://host[:port][/prefix]`
//! without credentials, query or fragment; plain `http` is refused unless the
//! host is loopback (the simulator) or `allowInsecureHttp` is set.

use std::fmt;

use serde::Deserialize;

use super::encode::base64_encode;
use super::HttpError;
use crate::base::classification::ClassificationTable;

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

    fn validate(&self) -> Result<(), HttpError> {
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

/// A validated base URL: scheme, host (with port) and an optional path
/// prefix, without trailing slash. `Display` gives `https://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    https: bool,
    authority: String,
    prefix: String,
    loopback: bool,
}

impl BaseUrl {
    /// Parses and normalizes (lower-cased scheme and host, no trailing slash)
    /// a base URL. Refuses credentials, query, fragment, dot-segments and
    /// anything but `http`/`https`. Does not apply the https rule (see
    /// [`ConnectionConfig::new`]).
    pub fn parse(text: &str) -> Result<Self, HttpError> {
        let bad = |reason: &str| {
            Err(HttpError::InvalidBaseUrl {
                reason: reason.to_owned(),
            })
        };
        if text.is_empty() {
            return bad("the server address is empty");
        }
        if text.len() > 2048 {
            return bad("the server address is longer than 2048 bytes");
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("the server address contains whitespace or control characters");
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return bad("the server address must start with https:// (or http:// for loopback)");
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return bad("only http and https server addresses are supported"),
        };
        if rest.contains('?') || rest.contains('#') {
            return bad("the server address cannot carry a query or a fragment");
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return bad("credentials go in the auth settings, never in the server address");
        }
        let (host, port) = split_host_port(authority)?;
        let host = host.to_ascii_lowercase();
        let loopback = is_loopback(&host);
        let mut prefix = String::new();
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            if segment == "." || segment == ".." {
                return bad("the server address path cannot contain dot-segments");
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
            {
                return bad("the server address path may only use letters, digits and - _ . ~");
            }
            prefix.push('/');
            prefix.push_str(segment);
        }
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Ok(Self {
            https,
            authority,
            prefix,
            loopback,
        })
    }

    /// True for `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// True when the host is `localhost`, `127.0.0.0/8` or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// The last path segment of the prefix, if any.
    fn last_segment(&self) -> Option<&str> {
        self.prefix.rsplit('/').next().filter(|s| !s.is_empty())
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.prefix)
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), HttpError> {
    let bad = |reason: &str| HttpError::InvalidBaseUrl {
        reason: reason.to_owned(),
    };
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| bad("unclosed IPv6 literal"))?;
        let literal = &rest[..end];
        if literal.is_empty() || !literal.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return Err(bad("invalid IPv6 literal"));
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(bad("unexpected text after the IPv6 literal")),
        };
        (&authority[..end + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("the server address has no host"));
    }
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(bad("the host may only use letters, digits, - and ."));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(bad("the port must be a number between 1 and 65535")),
        },
    };
    Ok((host, port))
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host == "[::1]" {
        return true;
    }
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts[0] == "127"
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

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
