use super::*;

const CID: &str = "0F8FAD5B-D9CB-469F-A165-70867728950E";
const PASSWORD: &str = "s3cret-pass";
// base64("api@example.fr:s3cret-pass")
const TOKEN: &str = "YXBpQGV4YW1wbGUuZnI6czNjcmV0LXBhc3M=";

fn config() -> ConnectionConfig {
    ConnectionConfig::new(
        "https://www.incwo.com",
        "123456",
        Auth::basic("api@example.fr", PASSWORD),
        false,
    )
    .unwrap()
}

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

#[test]
fn debug_and_display_never_show_secrets() {
    let c = config();
    let r = c
        .request(
            Method::Post,
            "firms",
            None,
            &[],
            b"<firm><email>x@y.fr</email></firm>".to_vec(),
            CID,
        )
        .unwrap();
    let redacted = r.redacted_json().to_string();
    for text in [
        format!("{r:?}"),
        format!("{r}"),
        format!("{c:?}"),
        format!("{:?}", c.auth()),
        redacted,
        format!("{:?}", Auth::bearer("tok-secret-123")),
    ] {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("tok-secret-123"), "{text}");
        assert!(!text.contains("api@example.fr"), "{text}");
        assert!(!text.contains("x@y.fr"), "{text}");
    }
    assert!(format!("{r:?}").contains("[redacted]"));
    // The serialized request does carry the secret (the host must send it), flagged.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["headers"][0]["name"], "Authorization");
    assert_eq!(json["headers"][0]["sensitive"], true);
    let response = Response::new(401, vec![("Set-Cookie".into(), "session=abc".into())], b"no".to_vec());
    assert!(!format!("{response:?}").contains("session=abc"));
}

#[test]
fn responses_read_every_header_shape() {
    let a = response_from_json(&serde_json::json!({"status": 429, "headers": {"Retry-After": "5"}})).unwrap();
    let b = response_from_json(&serde_json::json!({"status": 429, "headers": [["retry-after", "5"]]})).unwrap();
    let c = response_from_json(
        &serde_json::json!({"status": 429, "headers": [{"name": "RETRY-AFTER", "value": "5"}], "bodyBase64": "b2s="}),
    )
    .unwrap();
    for r in [&a, &b, &c] {
        assert_eq!(r.header("Retry-After"), Some("5"));
    }
    assert_eq!(c.body, b"ok");
    assert!(response_from_json(&serde_json::json!({"status": "x"})).is_err());
    assert!(response_from_json(&serde_json::json!({"status": 200, "body": "a", "bodyBase64": "YQ=="})).is_err());
}

#[test]
fn operations_follow_method_and_shape() {
    assert_eq!(Operation::from_endpoint(Method::Get, "/firms.xml"), Operation::List);
    assert_eq!(
        Operation::from_endpoint(Method::Get, "/firms/{id}.xml"),
        Operation::Read
    );
    assert_eq!(Operation::from_endpoint(Method::Post, "/firms.xml"), Operation::Create);
    assert_eq!(
        Operation::from_endpoint(Method::Put, "/firms/{id}.xml"),
        Operation::Update
    );
    assert_eq!(
        Operation::from_endpoint(Method::Delete, "/firms/{id}.xml"),
        Operation::Delete
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

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

        #[test]
        fn any_server_text_never_panics(server in any::<String>(), bfid in "[0-9a-z]{0,8}") {
            let _ = ConnectionConfig::new(&server, &bfid, Auth::basic("a", "b"), false);
            let _ = ConnectionConfig::new(&format!("https://{server}"), &bfid, Auth::basic("a", "b"), false);
        }

        #[test]
        fn header_values_never_carry_line_breaks(value in any::<String>()) {
            let accepted = validate_header_value("X", &value).is_ok();
            prop_assert!(!accepted || !(value.contains('\r') || value.contains('\n') || value.contains('\0')));
        }
    }
}
