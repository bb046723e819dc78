//! The request builder: a [`RequestSpec`] (what to call) turned by
//! [`ConnectionConfig::build`] into a [`Request`]. It validates the resource,
//! action and id, percent-encodes the path and query so no value can change
//! the path it is put in, records the endpoint template
//! (`/bill_sheets/{id}.xml`, never a raw id) and adds the standard headers.

use super::call::{Method, Operation};
use super::encode::percent_encode;
use super::header::{validate_header_value, CORRELATION_HEADER, XML_MEDIA_TYPE};
use super::{ConnectionConfig, HttpError, Request};

/// What to build: a REST call (`/{resource}[/{id}].xml`) or, with `action`,
/// incwo's legacy controller/action style
/// (`{server}/{resource}/{action}/{business_file_id}[/{id}].xml`) for the few
/// objects without a REST route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec<'a> {
    /// HTTP method.
    pub method: Method,
    /// Resource segment, e.g. `bill_sheets` (`[a-z][a-z0-9_]*`).
    pub resource: &'a str,
    /// Legacy action segment (`list`, `create`, `show`, `destroy`), if any.
    pub action: Option<&'a str>,
    /// Record id; percent-encoded, it can never change the path.
    pub id: Option<&'a str>,
    /// Query parameters in order; keys and values percent-encoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Body bytes (XML).
    pub body: Vec<u8>,
    /// Correlation id (UUID text), given by the host or derived by the flow.
    pub correlation_id: &'a str,
    /// Idempotency key, sent only when the config names a header for it.
    pub idempotency_key: Option<&'a str>,
}

impl<'a> RequestSpec<'a> {
    /// A REST call on a collection with no query, body nor idempotency key.
    pub fn new(method: Method, resource: &'a str, correlation_id: &'a str) -> Self {
        Self {
            method,
            resource,
            action: None,
            id: None,
            query: &[],
            body: Vec::new(),
            correlation_id,
            idempotency_key: None,
        }
    }

    /// Names a record.
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Uses the legacy controller/action style.
    pub fn action(mut self, action: &'a str) -> Self {
        self.action = Some(action);
        self
    }

    /// Sets the query parameters.
    pub fn query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

fn validate_segment(kind: &str, segment: &str) -> Result<(), HttpError> {
    let ok = !segment.is_empty()
        && segment.len() <= 64
        && segment.as_bytes()[0].is_ascii_lowercase()
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(HttpError::InvalidResource {
            reason: format!("the {kind} must be 1 to 64 characters of [a-z0-9_], starting with a letter"),
        })
    }
}

fn validate_id(id: &str) -> Result<(), HttpError> {
    let reason = if id.is_empty() {
        "the id is empty"
    } else if id.len() > 128 {
        "the id is longer than 128 bytes"
    } else if id.chars().any(char::is_control) {
        "the id contains a control character"
    } else {
        return Ok(());
    };
    Err(HttpError::InvalidId {
        reason: reason.to_owned(),
    })
}

/// Checks the 8-4-4-4-12 UUID text form and returns it lower-cased.
pub fn normalize_uuid(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let ok = bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    ok.then(|| text.to_ascii_lowercase())
}

impl ConnectionConfig {
    /// Builds a request from a spec: validates every part, encodes the path
    /// and query, records the endpoint template and adds the standard headers
    /// (`Authorization`, `Accept` and `Content-Type: application/xml`,
    /// `X-Correlation-Id`, then `User-Agent` and the idempotency-key header
    /// when configured).
    pub fn build(&self, spec: RequestSpec<'_>) -> Result<Request, HttpError> {
        validate_segment("resource", spec.resource)?;
        if let Some(action) = spec.action {
            validate_segment("action", action)?;
        }
        if let Some(id) = spec.id {
            validate_id(id)?;
        }
        let correlation_id = normalize_uuid(spec.correlation_id).ok_or(HttpError::InvalidCorrelationId)?;

        let mut url = self.base().to_string();
        let mut endpoint = String::new();
        match spec.action {
            None => {
                url.push('/');
                url.push_str(self.business_file_id());
                url.push('/');
                url.push_str(spec.resource);
                endpoint.push('/');
                endpoint.push_str(spec.resource);
            }
            Some(action) => {
                url.push('/');
                url.push_str(spec.resource);
                url.push('/');
                url.push_str(action);
                url.push('/');
                url.push_str(self.business_file_id());
                endpoint.push('/');
                endpoint.push_str(spec.resource);
                endpoint.push('/');
                endpoint.push_str(action);
                endpoint.push_str("/{bfid}");
            }
        }
        if let Some(id) = spec.id {
            url.push('/');
            url.push_str(&percent_encode(id));
            endpoint.push_str("/{id}");
        }
        url.push_str(".xml");
        endpoint.push_str(".xml");
        for (i, (key, value)) in spec.query.iter().enumerate() {
            if key.is_empty() {
                return Err(HttpError::InvalidQuery {
                    reason: "a query key is empty".to_owned(),
                });
            }
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&percent_encode(key));
            url.push('=');
            url.push_str(&percent_encode(value));
        }

        let mut headers = vec![
            ("Authorization".to_owned(), self.auth().header_value()),
            ("Accept".to_owned(), XML_MEDIA_TYPE.to_owned()),
            ("Content-Type".to_owned(), XML_MEDIA_TYPE.to_owned()),
            (CORRELATION_HEADER.to_owned(), correlation_id.clone()),
        ];
        if let Some(agent) = self.user_agent() {
            headers.push(("User-Agent".to_owned(), agent.to_owned()));
        }
        if let (Some(name), Some(key)) = (self.idempotency_key_header(), spec.idempotency_key) {
            if key.is_empty() {
                return Err(HttpError::InvalidHeader {
                    name: name.to_owned(),
                    reason: "the idempotency key is empty".to_owned(),
                });
            }
            headers.push((name.to_owned(), key.to_owned()));
        }
        for (name, value) in &headers {
            validate_header_value(name, value)?;
        }
        Ok(Request {
            method: spec.method,
            operation: Operation::derive(spec.method, spec.id.is_some()),
            url,
            endpoint,
            headers,
            body: spec.body,
            correlation_id,
        })
    }

    /// Shorthand for [`ConnectionConfig::build`] of a REST call without
    /// idempotency key: `{server}/{bfid}/{resource}[/{id}].xml[?query]`.
    pub fn request(
        &self,
        method: Method,
        resource: &str,
        id: Option<&str>,
        query: &[(&str, &str)],
        body: Vec<u8>,
        correlation_id: &str,
    ) -> Result<Request, HttpError> {
        self.build(RequestSpec {
            method,
            resource,
            action: None,
            id,
            query,
            body,
            correlation_id,
            idempotency_key: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_support::{config, CID, TOKEN};
    use proptest::prelude::*;

    #[test]
    fn builds_rest_paths_headers_and_templates() {
        let c = config();
        let r = c
            .request(
                Method::Get,
                "bill_sheets",
                Some("42"),
                &[("page", "2")],
                Vec::new(),
                CID,
            )
            .unwrap();
        assert_eq!(r.url(), "https://www.incwo.com/123456/bill_sheets/42.xml?page=2");
        assert_eq!(r.endpoint(), "/bill_sheets/{id}.xml");
        assert_eq!(r.operation(), Operation::Read);
        assert_eq!(r.header("authorization"), Some(format!("Basic {TOKEN}").as_str()));
        assert_eq!(r.header("Accept"), Some("application/xml"));
        assert_eq!(r.header("Content-Type"), Some("application/xml"));
        assert_eq!(r.header("X-Correlation-Id"), Some(CID.to_ascii_lowercase().as_str()));

        let r = c
            .build(RequestSpec::new(Method::Post, "proposal_sheets", CID).body("<proposal_sheet/>"))
            .unwrap();
        assert_eq!(r.url(), "https://www.incwo.com/123456/proposal_sheets.xml");
        assert_eq!(r.endpoint(), "/proposal_sheets.xml");
        assert_eq!(r.operation(), Operation::Create);
        assert_eq!(r.body(), b"<proposal_sheet/>");

        let r = c
            .build(RequestSpec::new(Method::Get, "customer_product_categories", CID).action("list"))
            .unwrap();
        assert_eq!(
            r.url(),
            "https://www.incwo.com/customer_product_categories/list/123456.xml"
        );
        assert_eq!(r.endpoint(), "/customer_product_categories/list/{bfid}.xml");
        assert_eq!(r.operation(), Operation::List);
    }

    #[test]
    fn ids_and_query_values_can_never_change_the_path() {
        let c = config();
        for id in ["../x", "%2F", "a/b", "?x", "#frag", "..", ".", "a\\b", "x y", "é"] {
            let r = c.request(Method::Get, "firms", Some(id), &[], Vec::new(), CID).unwrap();
            let path = r.url().strip_prefix("https://www.incwo.com/123456/firms/").unwrap();
            let segment = path.strip_suffix(".xml").unwrap();
            assert!(
                segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"%-_~".contains(&b)),
                "{id} -> {segment}"
            );
            assert!(!r.url().contains('?') && !r.url().contains('#'), "{id}");
        }
        let r = c
            .request(Method::Get, "firms", None, &[("q", "a&b=c/../d#e")], Vec::new(), CID)
            .unwrap();
        assert_eq!(
            r.url(),
            "https://www.incwo.com/123456/firms.xml?q=a%26b%3Dc%2F%2E%2E%2Fd%23e"
        );
        assert!(c.request(Method::Get, "firms", Some(""), &[], Vec::new(), CID).is_err());
        assert!(c
            .request(Method::Get, "firms", Some("a\nb"), &[], Vec::new(), CID)
            .is_err());
        for bad in ["../firms", "Firms", "firms/1", "", "firms.xml", "1firms"] {
            assert!(matches!(
                c.request(Method::Get, bad, None, &[], Vec::new(), CID),
                Err(HttpError::InvalidResource { .. })
            ));
        }
    }

    proptest! {
        #[test]
        fn any_id_and_query_stay_in_their_component(id in any::<String>(), key in "[a-z]{1,8}", value in any::<String>()) {
            let c = config();
            if let Ok(r) = c.request(Method::Get, "bill_sheets", Some(&id), &[(&key, &value)], Vec::new(), CID) {
                let rest = r.url().strip_prefix("https://www.incwo.com/123456/bill_sheets/").unwrap();
                let (path, query) = rest.split_once(".xml?").unwrap();
                prop_assert!(path.bytes().all(|b| b.is_ascii_alphanumeric() || b"%-_~".contains(&b)));
                prop_assert_eq!(query.matches('&').count(), 0);
                prop_assert_eq!(query.matches('=').count(), 1);
                prop_assert!(!r.url().contains('#'));
                prop_assert_eq!(r.endpoint(), "/bill_sheets/{id}.xml");
            }
        }
    }
}
