//! The shared secret: secure by default (no secret set, no call accepted),
//! and a constant-time comparison of the secret the caller presented with
//! the expected one. Neither value is ever printed.

use super::{InboundError, IntakeSettings};

/// How long incwo is asked to wait before retrying a call refused for want of
/// a secret (`Retry-After` of the 503): the operator's fix takes minutes.
pub const NO_SECRET_RETRY_AFTER_SECONDS: u64 = 60;

/// Secure by default: without a secret the endpoint accepts nothing (503,
/// so incwo retries once the operator sets one), unless the host opted in.
pub(super) fn require_secret(settings: &IntakeSettings) -> Result<(), InboundError> {
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
pub(super) fn check_secret(presented: Option<&str>, expected: Option<&str>) -> Result<(), InboundError> {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{code, open, req};
    use super::super::{intake, IntakeSettings};
    use super::*;

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
    fn the_secret_is_compared_whole_and_never_echoed() {
        assert!(check_secret(None, None).is_ok());
        assert!(check_secret(Some("anything"), Some("")).is_ok());
        assert!(check_secret(Some("s3cret"), Some("s3cret")).is_ok());
        for presented in [
            None,
            Some(""),
            Some("s3cre"),
            Some("s3cret!"),
            Some("S3CRET"),
            Some("s3cret\0"),
        ] {
            let e = check_secret(presented, Some("s3cret")).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.http_status),
                ("inbound.bad_secret", 403),
                "{presented:?}"
            );
            assert!(!e.message.contains("s3cre") && !e.hint.contains("s3cre"));
        }
        assert!(require_secret(&open()).is_ok());
        let set = IntakeSettings {
            secret: Some("s3cret".into()),
            ..Default::default()
        };
        assert!(require_secret(&set).is_ok());
        let e = require_secret(&IntakeSettings::default()).unwrap_err();
        assert_eq!(e.retry_after_seconds, Some(NO_SECRET_RETRY_AFTER_SECONDS));
    }
}
