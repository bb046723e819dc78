use super::*;

fn call(method: Method, endpoint: &str) -> CallSite {
    CallSite::new(method, endpoint)
}

fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    Response::new(
        status,
        headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        body.as_bytes().to_vec(),
    )
}

fn classify(method: Method, endpoint: &str, status: u16, body: &str) -> ClassifiedError {
    classify_response(
        &call(method, endpoint),
        &respond(status, &[], body),
        0,
        &ClassificationTable::default(),
    )
    .unwrap()
}

#[test]
fn success_is_not_an_error() {
    let table = ClassificationTable::default();
    for status in [200, 201, 204] {
        assert!(classify_response(&call(Method::Post, "/firms.xml"), &respond(status, &[], ""), 0, &table).is_none());
    }
}

#[test]
fn status_families_land_in_their_class() {
    let e = classify(Method::Get, "/bill_sheets/{id}.xml", 503, "");
    assert_eq!(
        (e.class, e.code.as_str(), e.retryable, e.outcome_unknown),
        (ErrorClass::Technical, "http.503", true, false)
    );
    let e = classify(Method::Post, "/bill_sheets.xml", 503, "");
    assert!(e.outcome_unknown);
    let e = classify(
        Method::Post,
        "/bill_sheets.xml",
        422,
        "<errors><error>Customer can't be blank</error><error field=\"billing_date\">is invalid</error></errors>",
    );
    assert_eq!(
        (e.class, e.code.as_str(), e.retryable),
        (ErrorClass::Contract, "contract.rejected", false)
    );
    assert_eq!(e.messages.len(), 2);
    assert_eq!(e.messages[1].field.as_deref(), Some("billing_date"));
    assert!(e.raw_body.as_deref().unwrap().contains("<errors>"));
    let e = classify(Method::Get, "/firms.xml", 401, "");
    assert_eq!(
        (e.class, e.code.as_str(), e.needs_operator, e.retryable),
        (ErrorClass::Technical, "auth.unauthorized", true, false)
    );
    assert_eq!(classify(Method::Get, "/firms.xml", 403, "").code, "auth.forbidden");
    assert_eq!(
        classify(Method::Get, "/firms/{id}.xml", 404, "").class,
        ErrorClass::Business
    );
    assert_eq!(
        classify(Method::Put, "/firms/{id}.xml", 409, "").code,
        "business.conflict"
    );
    assert_eq!(classify(Method::Get, "/firms.xml", 302, "").code, "http.redirect");
    assert_eq!(classify(Method::Get, "/firms.xml", 405, "").class, ErrorClass::Contract);
    assert!(!classify(Method::Get, "/firms.xml", 501, "").retryable);
    assert_eq!(
        classify(Method::Get, "/firms.xml", 99, "").code,
        "http.unexpected_status"
    );
    assert!(classify(Method::Post, "/firms.xml", 408, "").outcome_unknown);
    assert!(!classify(Method::Post, "/firms.xml", 429, "").outcome_unknown);
    assert!(!classify(Method::Put, "/firms/{id}.xml", 500, "").outcome_unknown);
}

#[test]
fn table_overrides_a_status() {
    let table = ClassificationTable::default().with_override(
        404,
        StatusRule {
            class: ErrorClass::Technical,
            code: None,
            retryable: None,
            needs_operator: false,
        },
    );
    let e = classify_response(&call(Method::Get, "/firms.xml"), &respond(404, &[], ""), 0, &table).unwrap();
    assert_eq!(
        (e.class, e.code.as_str(), e.retryable),
        (ErrorClass::Technical, "http.404", true)
    );
}

#[test]
fn transport_failures_flag_unknown_write_outcomes() {
    use TransportPhase::{Connect, Sent, TlsHandshake, Unknown};
    let t = |method, kind, phase| {
        classify_transport(&call(method, "/proposal_sheets.xml"), TransportFailure { kind, phase })
    };
    let e = t(Method::Post, TransportKind::Timeout, Sent);
    assert_eq!(
        (e.code.as_str(), e.outcome_unknown, e.retryable),
        ("transport.timeout", true, true)
    );
    assert!(!t(Method::Post, TransportKind::Timeout, Connect).outcome_unknown);
    assert!(!t(Method::Post, TransportKind::Tls, TlsHandshake).outcome_unknown);
    assert!(t(Method::Post, TransportKind::Tls, Sent).outcome_unknown);
    assert!(t(Method::Post, TransportKind::Tls, Unknown).outcome_unknown);
    assert!(!t(Method::Post, TransportKind::ConnectRefused, Sent).outcome_unknown);
    assert!(!t(Method::Post, TransportKind::Dns, Unknown).outcome_unknown);
    assert!(t(Method::Put, TransportKind::Reset, Unknown).outcome_unknown);
    assert!(!t(Method::Get, TransportKind::Reset, Sent).outcome_unknown);
    assert_eq!(t(Method::Get, TransportKind::Tls, TlsHandshake).code, "transport.tls");
}

#[test]
fn a_missing_phase_means_the_request_may_have_been_sent() {
    let failure: TransportFailure = serde_json::from_str(r#"{"kind": "tls"}"#).unwrap();
    assert_eq!(failure.phase, TransportPhase::Unknown);
    assert!(failure.may_have_been_sent());
    let failure: TransportFailure = serde_json::from_str(r#"{"kind": "reset", "phase": "tls_handshake"}"#).unwrap();
    assert!(!failure.may_have_been_sent());
}

#[test]
fn the_former_maybe_sent_flag_is_refused_not_trusted() {
    let error = serde_json::from_str::<TransportFailure>(r#"{"kind": "tls", "maybeSent": false}"#).unwrap_err();
    assert!(error.to_string().contains("maybeSent"), "{error}");
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let now = 1_445_412_480_000; // 2015-10-21T07:28:00Z
    assert_eq!(parse_retry_after("120", now), Some(now + 120_000));
    assert_eq!(parse_retry_after(" 0 ", now), Some(now));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(now + 30_000)
    );
    assert_eq!(
        parse_retry_after("Wednesday, 21-Oct-15 07:28:30 GMT", now),
        Some(now + 30_000)
    );
    assert_eq!(parse_retry_after("Wed Oct 21 07:28:30 2015", now), Some(now + 30_000));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(now));
    assert_eq!(parse_retry_after("-5", now), None);
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("99999999999999999999999", now), Some(u64::MAX));
    let e = classify_response(
        &call(Method::Get, "/firms.xml"),
        &respond(429, &[("retry-after", "120")], ""),
        now,
        &ClassificationTable::default(),
    )
    .unwrap();
    assert_eq!(e.retry_after_ms, Some(now + 120_000));
}

#[test]
fn classified_errors_never_show_credentials_or_emails() {
    let body = "<html><head><title>Action Controller: Exception caught</title></head><body>\
        HTTP_AUTHORIZATION: Basic YXBpQGV4YW1wbGUuZnI6czNjcmV0LXBhc3M= user api@example.fr</body></html>";
    let e = classify(Method::Post, "/firms.xml", 500, body);
    let json = serde_json::to_string(&e).unwrap();
    for text in [format!("{e:?}"), format!("{e}"), json] {
        assert!(!text.contains("YXBpQGV4YW1wbGUuZnI6czNjcmV0LXBhc3M="), "{text}");
        assert!(!text.contains("api@example.fr"), "{text}");
    }
    assert_eq!(e.messages[0].text, "Action Controller: Exception caught");
}

#[test]
fn classification_never_panics_on_odd_bodies() {
    for body in [
        &b"\xff\xfe<errors>"[..],
        b"<errors><error></error></errors>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><errors><error>&a;</error></errors>",
        b"{\"errors\": 12}",
        b"<title>",
        b"<html><title>unclosed",
        b"[1, 2, \"x\"]",
    ] {
        let r = Response::new(422, Vec::new(), body.to_vec());
        let _ = classify_response(
            &call(Method::Post, "/firms.xml"),
            &r,
            0,
            &ClassificationTable::default(),
        );
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_body_and_header_classify_without_panic(
            status in 0u16..1000,
            body in prop::collection::vec(any::<u8>(), 0..600),
            text in any::<String>(),
            retry_after in any::<String>(),
        ) {
            let table = ClassificationTable::default();
            for bytes in [body.clone(), text.clone().into_bytes(), format!("<errors><error>{text}</error></errors>").into_bytes()] {
                let r = Response::new(status, vec![("Retry-After".into(), retry_after.clone())], bytes);
                if let Some(e) = classify_response(&call(Method::Post, "/bill_sheets.xml"), &r, 0, &table) {
                    let raw_len = e.raw_body.as_ref().map_or(0, String::len);
                    prop_assert!(raw_len <= RAW_BODY_LIMIT + 20);
                    prop_assert!(e.messages.len() <= 50);
                    let _ = format!("{e} {e:?}");
                }
            }
        }
    }
}
