//! Webhook intake: a pure function from what the host received to the
//! object to re-fetch, or a refusal with the HTTP status to answer.
//!
//! incwo's webhook body is a JSON object carrying at least `zname` (the
//! object type, e.g. `proposal_sheets`) and `zid` (its id); extra fields are
//! accepted, and so is the same pair form-encoded. incwo signs nothing, so
//! the body is only a "something changed" ping: the core never reads
//! statuses or amounts from it, it names the object to re-read. What the
//! host can check is checked here, from values the host passes in: a shared
//! secret carried in the webhook URL, the source address against an
//! allow-list of networks, and the business file when the body names one.

use super::InboundError;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The path of the webhook endpoint every host serves; the secret, when
/// carried in the path, is the segment after it (and is redacted from logs).
pub const WEBHOOK_PATH: &str = "/incwo/webhook";

/// Largest webhook body read (incwo's pings are a few dozen bytes).
pub const MAX_WEBHOOK_BODY: usize = 64 * 1024;

/// incwo's documented source network for its calls (REFERENCE section 4).
pub const INCWO_NETWORK: &str = "185.16.44.0/24";

/// What the host received, as plain values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookRequest<'a> {
    /// The body bytes.
    pub body: &'a [u8],
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The peer address (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`), if known.
    pub remote_addr: Option<&'a str>,
    /// The secret the caller presented (a URL path segment or query value).
    pub presented_secret: Option<&'a str>,
}

/// The host's intake settings. JSON camelCase; every field optional.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct IntakeSettings {
    /// When set, a webhook must present this secret (carried in the URL the
    /// host registered with incwo). Compared in constant time, never printed.
    pub secret: Option<String>,
    /// Accept webhooks without a secret. Off by default: without a secret
    /// every call is refused with 503 `inbound.no_secret`. Hosts set it only
    /// behind their own explicit flag (a local trial on loopback).
    pub insecure_no_secret: bool,
    /// When not empty, the peer address must be in one of these networks
    /// (`185.16.44.0/24`, `185.16.44.*`, `127.0.0.1`, `::1/128`).
    pub allow_networks: Vec<String>,
    /// The business file the host serves: a body naming another is refused.
    pub business_file_id: Option<String>,
}

impl std::fmt::Debug for IntakeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("insecure_no_secret", &self.insecure_no_secret)
            .field("allow_networks", &self.allow_networks)
            .field("business_file_id", &self.business_file_id)
            .finish()
    }
}

/// The object a webhook names, to be re-read from incwo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// incwo resource (`proposal_sheets`, `bill_sheets`).
    pub resource: String,
    /// incwo id.
    pub id: u64,
}

/// What to do with an accepted webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "intake", rename_all = "camelCase")]
pub enum Intake {
    /// Answer 202 and re-read `target` (now or later, from a queue).
    Fetch {
        /// The object to re-read.
        target: Target,
    },
    /// Answer 202 and do nothing: the object type is not one the connector
    /// tracks (contacts, leads…). Refusing would make incwo retry, then
    /// deactivate the webhook.
    Ignored {
        /// The `zname` received (at most 64 characters).
        zname: String,
        /// Why.
        reason: String,
    },
}

/// The resource a `zname` names, in any plausible spelling (`bill_sheets`,
/// `bill_sheet`, `BillSheet`); `None` when it is not a document.
pub fn tracked_resource(zname: &str) -> Option<&'static str> {
    let mut snake = String::new();
    for (i, c) in zname.trim().chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    match snake.trim_end_matches('s') {
        "proposal_sheet" => Some("proposal_sheets"),
        "bill_sheet" => Some("bill_sheets"),
        _ => None,
    }
}

/// Checks a webhook and names the object to re-read. Never panics; the
/// error carries the HTTP status to answer (400, 403, 413, 500, 503).
pub fn intake(request: &WebhookRequest<'_>, settings: &IntakeSettings) -> Result<Intake, InboundError> {
    require_secret(settings)?;
    check_source(request.remote_addr, &settings.allow_networks)?;
    check_secret(request.presented_secret, settings.secret.as_deref())?;
    if request.body.len() > MAX_WEBHOOK_BODY {
        return Err(InboundError::new(
            "inbound.too_large",
            413,
            format!("the webhook body is over {MAX_WEBHOOK_BODY} bytes"),
            "incwo's pings carry zname and zid only; check what is posting to this URL",
        ));
    }
    let fields = read_fields(request.body, request.content_type)?;
    let zname = fields
        .zname
        .ok_or_else(|| bad_body("the body has no zname (the object type)"))?;
    let zid = fields
        .zid
        .ok_or_else(|| bad_body("the body has no zid (the object id)"))?;
    if zname.is_empty() || zname.len() > 64 || !zname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad_body("zname must be an incwo object type such as proposal_sheets"));
    }
    let id = parse_id(&zid).ok_or_else(|| bad_body("zid must be a positive integer of at most 20 digits"))?;
    if let (Some(expected), Some(given)) = (&settings.business_file_id, &fields.business_file) {
        if expected.trim() != given.trim() {
            return Err(InboundError::new(
                "inbound.other_business_file",
                403,
                "the webhook names another business file than the one this endpoint serves",
                "register one webhook URL per business file, each with its own settings",
            ));
        }
    }
    Ok(match tracked_resource(&zname) {
        Some(resource) => Intake::Fetch {
            target: Target {
                resource: resource.into(),
                id,
            },
        },
        None => Intake::Ignored {
            reason: format!("{zname} objects are not tracked (documents are proposal_sheets and bill_sheets)"),
            zname,
        },
    })
}

fn bad_body(message: &str) -> InboundError {
    InboundError::new(
        "inbound.bad_body",
        400,
        message,
        "an incwo webhook is a JSON object (or a form) carrying zname and zid, e.g. {\"zname\": \"bill_sheets\", \"zid\": 123}",
    )
}

#[derive(Default)]
struct Fields {
    zname: Option<String>,
    zid: Option<String>,
    business_file: Option<String>,
}

const BUSINESS_FILE_KEYS: [&str; 4] = ["business_file_id", "businessFileId", "bfid", "business_file"];

fn read_fields(body: &[u8], content_type: Option<&str>) -> Result<Fields, InboundError> {
    let text = std::str::from_utf8(body).map_err(|_| bad_body("the body is not UTF-8"))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(bad_body("the body is empty"));
    }
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let json = match media.as_deref() {
        Some(m) if m.ends_with("json") => true,
        Some("application/x-www-form-urlencoded") => false,
        _ => text.starts_with('{') || text.starts_with('['),
    };
    if json {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad_body(&format!("the body is not JSON ({e})")))?;
        let map = value
            .as_object()
            .ok_or_else(|| bad_body("the body is JSON but not an object"))?;
        let scalar = |key: &str| -> Result<Option<String>, InboundError> {
            match map.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(bad_body(&format!("{key} must be a string or a number"))),
            }
        };
        let mut fields = Fields {
            zname: scalar("zname")?,
            zid: scalar("zid")?,
            business_file: None,
        };
        for key in BUSINESS_FILE_KEYS {
            if let Some(v) = scalar(key)? {
                fields.business_file = Some(v);
                break;
            }
        }
        Ok(fields)
    } else {
        let mut fields = Fields::default();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = form_decode(key).ok_or_else(|| bad_body("the form body is not valid percent-encoding"))?;
            let value = form_decode(value).ok_or_else(|| bad_body("the form body is not valid percent-encoding"))?;
            let value = value.trim().to_string();
            match key.as_str() {
                "zname" => fields.zname = Some(value),
                "zid" => fields.zid = Some(value),
                k if BUSINESS_FILE_KEYS.contains(&k) => fields.business_file = Some(value),
                _ => {}
            }
        }
        if fields.zname.is_none() && fields.zid.is_none() {
            return Err(bad_body(
                "the body is neither a JSON object nor a form carrying zname and zid",
            ));
        }
        Ok(fields)
    }
}

fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn parse_id(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u64>().ok().filter(|id| *id > 0)
}

/// How long incwo is asked to wait before retrying a call refused for want of
/// a secret (`Retry-After` of the 503): the operator's fix takes minutes.
pub const NO_SECRET_RETRY_AFTER_SECONDS: u64 = 60;

/// Secure by default: without a secret the endpoint accepts nothing (503,
/// so incwo retries once the operator sets one), unless the host opted in.
fn require_secret(settings: &IntakeSettings) -> Result<(), InboundError> {
    let has_secret = settings.secret.as_deref().is_some_and(|s| !s.trim().is_empty());
    if has_secret || settings.insecure_no_secret {
        return Ok(());
    }
    Err(InboundError::new(
        "inbound.no_secret",
        503,
        "this webhook endpoint has no secret set, so it accepts no call: anyone reaching it could make the connector re-read documents",
        "set a long random webhook secret in the host's settings and register the URL with it in incwo (Webhooks app); for a local trial only, a host flag may set insecureNoSecret",
    )
    .retry_after(NO_SECRET_RETRY_AFTER_SECONDS))
}

/// Constant-time comparison of the presented secret with the expected one.
fn check_secret(presented: Option<&str>, expected: Option<&str>) -> Result<(), InboundError> {
    let Some(expected) = expected.filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let presented = presented.unwrap_or("").as_bytes();
    let expected = expected.as_bytes();
    let mut diff = u64::from(presented.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= u64::from(presented.get(i).copied().unwrap_or(0) ^ e);
    }
    if diff == 0 {
        Ok(())
    } else {
        Err(InboundError::new(
            "inbound.bad_secret",
            403,
            "the webhook URL does not carry the expected secret",
            "register the webhook URL with its secret in incwo (Webhooks app); the secret is never logged",
        ))
    }
}

/// A network of the allow-list: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Reads `185.16.44.0/24`, `185.16.44.*`, `127.0.0.1` or `::1/128`.
    pub fn parse(text: &str) -> Option<Network> {
        let t = text.trim();
        if let Some(stem) = t.strip_suffix(".*") {
            let mut parts: Vec<&str> = stem.split('.').collect();
            let prefix = u8::try_from(parts.len() * 8).ok()?;
            if parts.is_empty() || parts.len() > 3 {
                return None;
            }
            while parts.len() < 4 {
                parts.push("0");
            }
            let addr: IpAddr = parts.join(".").parse().ok()?;
            return Some(Network { addr, prefix });
        }
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = t.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Network { addr, prefix })
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Reads a peer address: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:80`.
pub fn parse_remote(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = t.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    t.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(a, _)| a.parse().ok())
}

/// Checks every allow-list entry; a bad one is named.
pub fn parse_networks(entries: &[String]) -> Result<Vec<Network>, String> {
    entries
        .iter()
        .map(|e| {
            Network::parse(e).ok_or_else(|| {
                format!(
                    "allowNetworks entry {:?} is not an address or network (185.16.44.0/24, 185.16.44.*, ::1/128)",
                    e.chars().take(64).collect::<String>()
                )
            })
        })
        .collect()
}

fn check_source(remote: Option<&str>, allow: &[String]) -> Result<(), InboundError> {
    if allow.is_empty() {
        return Ok(());
    }
    let networks = parse_networks(allow).map_err(|message| {
        InboundError::new(
            "inbound.bad_settings",
            500,
            message,
            "fix the allow-list in the host's webhook settings",
        )
    })?;
    let Some(ip) = remote.and_then(parse_remote) else {
        return Err(InboundError::new(
            "inbound.forbidden_source",
            403,
            "the peer address is unknown or unreadable and an allow-list is set",
            "pass the peer address (behind a proxy, the client address the proxy reports)",
        ));
    };
    if networks.iter().any(|n| n.contains(ip)) {
        Ok(())
    } else {
        Err(InboundError::new(
            "inbound.forbidden_source",
            403,
            format!("the webhook comes from {ip}, outside the allowed networks"),
            format!("incwo calls from {INCWO_NETWORK}; add the source to allowNetworks if it is legitimate"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> WebhookRequest<'_> {
        WebhookRequest {
            body: body.as_bytes(),
            ..Default::default()
        }
    }

    fn code(r: Result<Intake, InboundError>) -> String {
        r.unwrap_err().code
    }

    /// Settings that opted in to no secret, to test the body checks alone.
    fn open() -> IntakeSettings {
        IntakeSettings {
            insecure_no_secret: true,
            ..Default::default()
        }
    }

    #[test]
    fn without_a_secret_nothing_is_accepted_unless_the_host_opted_in() {
        let body = r#"{"zname":"bill_sheets","zid":1}"#;
        for secret in [None, Some(String::new()), Some("  ".into())] {
            let s = IntakeSettings {
                secret,
                allow_networks: vec!["localhost".into()],
                ..Default::default()
            };
            let e = intake(&req(body), &s).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.http_status, e.retry_after_seconds),
                ("inbound.no_secret", 503, Some(NO_SECRET_RETRY_AFTER_SECONDS))
            );
            assert!(e.hint.contains("insecureNoSecret"));
        }
        assert!(intake(&req(body), &open()).is_ok());
        let with_secret = IntakeSettings {
            secret: Some("s3cret".into()),
            ..Default::default()
        };
        assert_eq!(code(intake(&req(body), &with_secret)), "inbound.bad_secret");
    }

    #[test]
    fn json_and_form_bodies_name_the_object() {
        let s = open();
        let want = Intake::Fetch {
            target: Target {
                resource: "bill_sheets".into(),
                id: 500001,
            },
        };
        assert_eq!(
            intake(&req(r#"{"zname":"bill_sheets","zid":500001,"x":[1]}"#), &s).unwrap(),
            want
        );
        assert_eq!(
            intake(&req(r#"{"zname":"BillSheet","zid":"500001"}"#), &s).unwrap(),
            want
        );
        assert_eq!(intake(&req("zname=bill_sheet&zid=500001&other=1"), &s).unwrap(), want);
        assert!(matches!(
            intake(&req(r#"{"zname":"contacts","zid":3}"#), &s).unwrap(),
            Intake::Ignored { .. }
        ));
    }

    #[test]
    fn anything_else_is_refused_clearly() {
        let s = open();
        for body in [
            "",
            "[]",
            "{",
            r#"{"zname":"bill_sheets"}"#,
            r#"{"zid":1}"#,
            r#"{"zname":"bill_sheets","zid":0}"#,
            r#"{"zname":"bill_sheets","zid":-1}"#,
            r#"{"zname":"bill_sheets","zid":"1; DROP"}"#,
            r#"{"zname":"../x","zid":1}"#,
            r#"{"zname":{"a":1},"zid":1}"#,
            "hello",
            "zname=%ZZ&zid=1",
        ] {
            let e = intake(&req(body), &s).unwrap_err();
            assert_eq!((e.code.as_str(), e.http_status), ("inbound.bad_body", 400), "{body}");
        }
        let big = "x".repeat(MAX_WEBHOOK_BODY + 1);
        assert_eq!(code(intake(&req(&big), &s)), "inbound.too_large");
    }

    #[test]
    fn secret_network_and_business_file_are_checked() {
        let s = IntakeSettings {
            secret: Some("s3cret".into()),
            allow_networks: vec![INCWO_NETWORK.into(), "127.0.0.1".into()],
            business_file_id: Some("123456".into()),
            ..Default::default()
        };
        let body = r#"{"zname":"proposal_sheets","zid":1,"business_file_id":123456}"#;
        let ok = WebhookRequest {
            body: body.as_bytes(),
            remote_addr: Some("185.16.44.7:443"),
            presented_secret: Some("s3cret"),
            content_type: Some("application/json"),
        };
        assert!(intake(&ok, &s).is_ok());
        let e = intake(
            &WebhookRequest {
                presented_secret: Some("s3cre"),
                ..ok.clone()
            },
            &s,
        )
        .unwrap_err();
        assert_eq!((e.code.as_str(), e.http_status), ("inbound.bad_secret", 403));
        assert!(!e.message.contains("s3cre"));
        assert_eq!(
            code(intake(
                &WebhookRequest {
                    presented_secret: None,
                    ..ok.clone()
                },
                &s
            )),
            "inbound.bad_secret"
        );
        assert_eq!(
            code(intake(
                &WebhookRequest {
                    remote_addr: Some("10.0.0.1"),
                    ..ok.clone()
                },
                &s
            )),
            "inbound.forbidden_source"
        );
        assert_eq!(
            code(intake(
                &WebhookRequest {
                    remote_addr: None,
                    ..ok.clone()
                },
                &s
            )),
            "inbound.forbidden_source"
        );
        assert!(intake(
            &WebhookRequest {
                remote_addr: Some("[::ffff:127.0.0.1]:9"),
                ..ok.clone()
            },
            &s
        )
        .is_ok());
        let other = r#"{"zname":"proposal_sheets","zid":1,"bfid":"999"}"#;
        assert_eq!(
            code(intake(
                &WebhookRequest {
                    body: other.as_bytes(),
                    ..ok.clone()
                },
                &s
            )),
            "inbound.other_business_file"
        );
        assert!(format!("{s:?}").contains("<redacted>"));
    }

    #[test]
    fn networks_read_every_documented_form() {
        let n = Network::parse("185.16.44.*").unwrap();
        assert!(n.contains("185.16.44.200".parse().unwrap()));
        assert!(!n.contains("185.16.45.1".parse().unwrap()));
        assert!(Network::parse("::1/128").unwrap().contains("::1".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Network::parse("1.2.3.4/33").is_none());
        assert!(Network::parse("*").is_none());
        assert!(parse_networks(&["nope".into()]).is_err());
    }
}
