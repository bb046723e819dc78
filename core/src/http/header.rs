//! Header rules: the standard header names and media type, which headers are
//! secret (never shown), case-insensitive lookup, and the validation that
//! keeps CR, LF, NUL and other control characters out of every header, so
//! no value can inject a header or split a request.

use super::HttpError;

/// Header carrying the correlation id of a call.
pub const CORRELATION_HEADER: &str = "X-Correlation-Id";
/// incwo speaks XML only; this is sent as `Content-Type` and `Accept`.
pub const XML_MEDIA_TYPE: &str = "application/xml";
/// Longest header value accepted, in bytes.
pub const MAX_HEADER_VALUE: usize = 8 * 1024;

/// Headers whose values must never be shown.
pub fn is_sensitive_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie", "set-cookie"]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
}

/// `(name, value)` pairs for a `Debug` print: the value of a sensitive
/// header is `[redacted]`.
pub(super) fn redacted_headers(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| {
            let v = if is_sensitive_header(n) {
                "[redacted]"
            } else {
                v.as_str()
            };
            (n.as_str(), v)
        })
        .collect()
}

/// The first value of the header `name` (case-insensitive) in `headers`.
pub(super) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Refuses a header name that is not an RFC 9110 token.
pub fn validate_header_name(name: &str) -> Result<(), HttpError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(HttpError::InvalidHeader {
            name: "[invalid name]".to_owned(),
            reason: "a header name must be a non-empty HTTP token".to_owned(),
        })
    }
}

/// Refuses a header value with CR, LF, NUL or another control character
/// (tab excepted), or longer than [`MAX_HEADER_VALUE`]: such a value could
/// inject headers or split the request.
pub fn validate_header_value(name: &str, value: &str) -> Result<(), HttpError> {
    let reason = if value.len() > MAX_HEADER_VALUE {
        Some("the value is too long")
    } else if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        Some("the value contains CR, LF or NUL")
    } else if value.chars().any(|c| c.is_control() && c != '\t') {
        Some("the value contains a control character")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(HttpError::InvalidHeader {
            name: name.to_owned(),
            reason: reason.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_support::{config, CID};
    use crate::http::{Method, RequestSpec};
    use proptest::prelude::*;

    #[test]
    fn header_values_with_cr_lf_nul_are_refused() {
        for bad in ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\0b", "a\u{7f}b"] {
            assert!(validate_header_value("X", bad).is_err(), "{bad:?}");
        }
        assert!(validate_header_value("X", "a\tb").is_ok());
        let c = config().with_idempotency_key_header("Idempotency-Key").unwrap();
        let spec = RequestSpec::new(Method::Post, "firms", CID).idempotency_key("k\r\nX-Evil: 1");
        assert!(matches!(c.build(spec), Err(HttpError::InvalidHeader { .. })));
        let ok = c
            .build(RequestSpec::new(Method::Post, "firms", CID).idempotency_key("k-1"))
            .unwrap();
        assert_eq!(ok.header("Idempotency-Key"), Some("k-1"));
        assert!(config().with_user_agent("a\nb").is_err());
        assert!(config().with_idempotency_key_header("Bad Name").is_err());
        // Without a configured header, the key is not sent.
        let plain = config()
            .build(RequestSpec::new(Method::Post, "firms", CID).idempotency_key("k-1"))
            .unwrap();
        assert_eq!(plain.headers().len(), 4);
        assert!(matches!(
            config().request(Method::Get, "firms", None, &[], Vec::new(), "not-a-uuid"),
            Err(HttpError::InvalidCorrelationId)
        ));
    }

    proptest! {
        #[test]
        fn header_values_never_carry_line_breaks(value in any::<String>()) {
            let accepted = validate_header_value("X", &value).is_ok();
            prop_assert!(!accepted || !(value.contains('\r') || value.contains('\n') || value.contains('\0')));
        }
    }

    #[test]
    fn header_names_must_be_http_tokens() {
        for ok in ["Idempotency-Key", "X-Correlation-Id", "a", "x!#$%&'*+-.^_`|~"] {
            assert!(validate_header_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(257);
        for bad in ["", "Bad Name", "a:b", "é", "a\r\nb", long.as_str()] {
            let err = validate_header_name(bad).unwrap_err();
            assert_eq!(err.code(), "usage.invalid_header", "{bad:?}");
            // The refused name is never echoed back.
            assert!(!err.to_string().contains(bad) || bad.is_empty(), "{err}");
        }
        let long_value = "v".repeat(MAX_HEADER_VALUE + 1);
        assert!(validate_header_value("X", &long_value).is_err());
        assert!(validate_header_value("X", &long_value[1..]).is_ok());
    }

    #[test]
    fn secret_headers_are_known_and_lookup_ignores_case() {
        for name in ["Authorization", "proxy-authorization", "COOKIE", "Set-Cookie"] {
            assert!(is_sensitive_header(name), "{name}");
        }
        for name in ["Accept", CORRELATION_HEADER, "X-Authorization-Hint"] {
            assert!(!is_sensitive_header(name), "{name}");
        }
        let headers = vec![
            ("Retry-After".to_owned(), "5".to_owned()),
            ("retry-after".to_owned(), "9".to_owned()),
        ];
        assert_eq!(find_header(&headers, "RETRY-AFTER"), Some("5"));
        assert_eq!(find_header(&headers, "Accept"), None);
    }
}
