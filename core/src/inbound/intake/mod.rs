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
//!
//! One concern per module: `body` reads the ping (JSON or form) into the
//! object it names, `secret` requires and checks the shared secret, and
//! `network` checks the source address against the allow-list; this module
//! holds the values exchanged with the host and runs the checks in order.

use super::InboundError;
use serde::{Deserialize, Serialize};

mod body;
mod network;
mod secret;
#[cfg(test)]
mod test_support;

pub use body::tracked_resource;
pub use network::{parse_networks, parse_remote, Network, INCWO_NETWORK};
pub use secret::NO_SECRET_RETRY_AFTER_SECONDS;

use body::{bad_body, parse_id, read_fields};
use network::check_source;
use secret::{check_secret, require_secret};

pub use crate::base::WEBHOOK_PATH;

/// Largest webhook body read (incwo's pings are a few dozen bytes).
pub const MAX_WEBHOOK_BODY: usize = 64 * 1024;

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

#[cfg(test)]
mod tests {
    use super::test_support::code;
    use super::*;

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
    fn checks_run_in_order_secret_source_then_body() {
        // No secret set beats every other fault: 503, so incwo retries later.
        let all_wrong = WebhookRequest {
            body: b"not a ping",
            remote_addr: Some("10.0.0.1"),
            presented_secret: Some("nope"),
            content_type: None,
        };
        let strict = IntakeSettings {
            allow_networks: vec![INCWO_NETWORK.into()],
            ..Default::default()
        };
        assert_eq!(code(intake(&all_wrong, &strict)), "inbound.no_secret");
        let strict = IntakeSettings {
            secret: Some("s3cret".into()),
            ..strict
        };
        assert_eq!(code(intake(&all_wrong, &strict)), "inbound.forbidden_source");
        let from_incwo = WebhookRequest {
            remote_addr: Some("185.16.44.1"),
            ..all_wrong.clone()
        };
        assert_eq!(code(intake(&from_incwo, &strict)), "inbound.bad_secret");
        let with_secret = WebhookRequest {
            presented_secret: Some("s3cret"),
            ..from_incwo
        };
        assert_eq!(code(intake(&with_secret, &strict)), "inbound.bad_body");
        // Without a business file in the settings, any named in the body is accepted.
        let body = r#"{"zname":"bill_sheets","zid":9,"bfid":"1"}"#;
        assert_eq!(
            intake(
                &WebhookRequest {
                    body: body.as_bytes(),
                    ..with_secret
                },
                &strict
            )
            .unwrap(),
            Intake::Fetch {
                target: Target {
                    resource: "bill_sheets".into(),
                    id: 9
                }
            }
        );
    }

    #[test]
    fn settings_and_outcomes_have_their_json_shapes() {
        let s: IntakeSettings = serde_json::from_value(serde_json::json!({
            "secret": "s3cret", "allowNetworks": ["127.0.0.1"], "businessFileId": "123456"
        }))
        .unwrap();
        assert_eq!(s.allow_networks, ["127.0.0.1"]);
        assert!(!s.insecure_no_secret);
        assert!(serde_json::from_value::<IntakeSettings>(serde_json::json!({"secrets": "x"})).is_err());
        let ignored = Intake::Ignored {
            zname: "contacts".into(),
            reason: "not tracked".into(),
        };
        assert_eq!(
            serde_json::to_value(&ignored).unwrap(),
            serde_json::json!({"intake": "ignored", "zname": "contacts", "reason": "not tracked"})
        );
        let fetch = Intake::Fetch {
            target: Target {
                resource: "proposal_sheets".into(),
                id: 3,
            },
        };
        assert_eq!(
            serde_json::to_value(&fetch).unwrap(),
            serde_json::json!({"intake": "fetch", "target": {"resource": "proposal_sheets", "id": 3}})
        );
    }
}
