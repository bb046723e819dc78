//! Hostile input, one test each: a clear error, nothing sent, nothing lost,
//! never a panic.

use incwo_core::api;
use incwo_core::flow::{batch, Action, Flow, FlowOptions};
use incwo_core::http::{Auth, ConnectionConfig, Method, RequestSpec, Response};
use incwo_core::mapping::Profile;
use serde_json::{json, Value};

const ORDER: &str = include_str!("../../examples/data/order.json");

fn config() -> ConnectionConfig {
    ConnectionConfig::new(
        "http://127.0.0.1:9",
        "123456",
        Auth::basic("api@example.fr", "pw"),
        false,
    )
    .unwrap()
}

fn error_code(value: &Value) -> &str {
    value["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn xml_with_doctype_entities_or_billion_laughs_is_refused_never_expanded() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><firm><id>1</id><name>&lol2;</name></firm>"#;
    assert_eq!(error_code(&api::parse("firms", laughs.as_bytes())), "xml.doctype");
    let external =
        r#"<!DOCTYPE firm [<!ENTITY x SYSTEM "file:///etc/passwd">]><firm><id>1</id><name>&x;</name></firm>"#;
    assert_eq!(error_code(&api::parse("firms", external.as_bytes())), "xml.doctype");
    let undeclared = "<firm><id>1</id><name>&x;</name></firm>";
    assert_eq!(api::parse("firms", undeclared.as_bytes())["error"]["class"], "usage");
}

#[test]
fn oversized_inputs_and_responses_are_refused() {
    let big = format!("{{\"orderNumber\": \"{}\"}}", "x".repeat(6 * 1024 * 1024));
    let report = api::validate("order", &big, None);
    assert_eq!(report["violations"][0]["code"], "input_too_large");
    let body = format!(
        "<firms type=\"array\">{}</firms>",
        "<firm><id>1</id></firm>".repeat(800_000)
    );
    assert_eq!(error_code(&api::parse("firms", body.as_bytes())), "xml.too_large");
}

#[test]
fn deeply_nested_json_is_refused_before_parsing() {
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        api::validate("order", &deep, None)["violations"][0]["code"],
        "input_too_large"
    );
    let deep_xml = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert_eq!(error_code(&api::parse("firms", deep_xml.as_bytes())), "xml.too_deep");
}

#[test]
fn invalid_utf8_and_lone_surrogates_are_clear_errors() {
    assert_eq!(
        error_code(&api::parse("firms", &[b'<', 0xff, 0xfe, b'>'])),
        "xml.not_utf8"
    );
    let lone = ORDER.replace("CMD-INC-2026-0411", "\\ud800");
    assert_eq!(error_code(&api::validate("order", &lone, None)), "usage.malformed_json");
}

#[test]
fn cr_lf_and_nul_never_reach_a_header_a_url_or_the_xml() {
    for bad in ["CMD\r\nX-Evil: 1", "CMD\0", "CMD\n"] {
        let order = ORDER.replace(
            "CMD-INC-2026-0411",
            &bad.replace('\r', "\\r").replace('\n', "\\n").replace('\0', "\\u0000"),
        );
        let report = api::validate("order", &order, None);
        assert_eq!(report["valid"], false, "{bad:?}");
        assert_eq!(report["violations"][0]["path"], "/orderNumber");
    }
    let with_nul = ORDER.replace("Kit d'intégration API", "Kit\\u0000API");
    assert_eq!(
        api::validate("order", &with_nul, None)["violations"][0]["code"],
        "control_character"
    );
    let spec =
        RequestSpec::new(Method::Get, "firms", "2f1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d").idempotency_key("k\r\nX: 1");
    let with_key_header = config().with_idempotency_key_header("Idempotency-Key").unwrap();
    assert!(
        with_key_header.build(spec).is_err(),
        "a header value with CR/LF is refused"
    );
}

#[test]
fn ids_cannot_escape_their_path() {
    for id in ["../firms", "%2F..", "1?page=2", "a/b", "1#x"] {
        let spec = RequestSpec::new(Method::Get, "firms", "2f1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d").id(id);
        if let Ok(request) = config().build(spec) {
            let path = request.url().trim_start_matches("http://127.0.0.1:9/123456/firms/");
            assert!(
                !path.contains('/') && !path.contains('?') && !path.contains('#'),
                "{id} → {}",
                request.url()
            );
            assert_eq!(request.endpoint(), "/firms/{id}.xml");
        }
    }
    // Document numbers may hold `.` and `/`; they only travel in XML bodies
    // (the marker), never in a URL path, where only incwo's numeric ids go.
    let order = ORDER.replace("CMD-INC-2026-0411", "../../x");
    let mapped = api::map("order", &order, None);
    assert!(mapped["xml"].as_str().unwrap().contains("<title>../../x</title>"));
    let order = ORDER.replace("CMD-INC-2026-0411", "a?b#c");
    assert_eq!(api::validate("order", &order, None)["violations"][0]["code"], "format");
}

#[test]
fn numbers_with_400_digits_are_refused_exactly() {
    let order = ORDER.replace("49.90", &"9".repeat(400));
    let report = api::validate("order", &order, None);
    assert_eq!(report["violations"][0]["path"], "/lines/0/unitPriceExclTax");
    assert_eq!(report["violations"][0]["code"], "range");
    let tiny = ORDER.replace("49.90", &format!("0.{}1", "0".repeat(398)));
    assert_eq!(api::validate("order", &tiny, None)["valid"], false);
}

#[test]
fn absurd_retry_after_values_are_bounded() {
    for retry_after in [
        "315360000",
        "-5",
        "Fri, 01 Jan 2100 00:00:00 GMT",
        "soon",
        "99999999999999999999999",
    ] {
        let args = json!({
            "method": "GET", "endpoint": "/firms.xml", "nowMs": 1_700_000_000_000u64,
            "response": {"status": 429, "headers": {"Retry-After": retry_after}, "body": ""}
        });
        let error = api::call("classify", &args);
        assert_eq!(error["class"], "technical", "{retry_after}: {error}");
        let decision = api::call(
            "retry.decide",
            &json!({"error": error, "attempt": 1, "nowMs": 1_700_000_000_000u64}),
        );
        let d = &decision["decision"];
        match d["decision"].as_str() {
            Some("retryAt") => assert!(d["delayMs"].as_u64().unwrap() <= 60_000, "{retry_after}: {d}"),
            Some("requeue") => assert!(
                d["notBefore"].as_u64().unwrap() > 1_700_000_000_000,
                "{retry_after}: {d}"
            ),
            other => panic!("{retry_after}: unexpected decision {other:?}"),
        }
    }
}

#[test]
fn a_checkpoint_edited_by_hand_is_read_or_refused_never_misread() {
    let profile = Profile::default();
    let items = || batch::parse_jsonl(include_str!("../../examples/data/batch.jsonl"), &profile);
    let mut flow = Flow::start(items(), profile.clone(), config(), FlowOptions::default(), 0, 1);
    // Run a little so the checkpoint holds ledger entries.
    for _ in 0..3 {
        if let Ok(Action::Send { request_id, .. }) = flow.poll(0) {
            let page = "<firms type=\"array\"><pagination><current_page>1</current_page><total_pages>1</total_pages><current_page_items_count>0</current_page_items_count></pagination></firms>";
            flow.on_response(request_id, Response::new(200, vec![], page.as_bytes().to_vec()), 0)
                .unwrap();
        }
    }
    let checkpoint = flow.checkpoint();
    let resume = |text: &str| Flow::resume(text, items(), profile.clone(), config(), FlowOptions::default(), 0);
    assert!(resume(&checkpoint).is_ok());
    let newer = checkpoint.replacen("\"checkpointVersion\":1", "\"checkpointVersion\":2", 1);
    assert_eq!(resume(&newer).unwrap_err().code, "usage.checkpoint_version");
    assert_eq!(resume("{}").unwrap_err().code, "usage.bad_checkpoint");
    assert_eq!(resume("not json").unwrap_err().code, "usage.malformed_json");
    let broken = checkpoint.replacen("\"state\":\"pending\"", "\"state\":\"maybe\"", 1);
    if broken != checkpoint {
        assert_eq!(resume(&broken).unwrap_err().code, "usage.bad_checkpoint");
    }
    let truncated = &checkpoint[..checkpoint.len() / 2];
    assert!(resume(truncated).is_err());
}

#[test]
fn quantities_beyond_the_decimal_range_in_a_checkpoint_are_a_business_error_not_a_panic() {
    // A hand-edited ledger: the order's line already invoiced and delivered
    // to the largest decimal; one more unit overflows the sum.
    let max = rust_decimal::Decimal::MAX.to_string();
    let order: incwo_core::flow::ledger::Entry = serde_json::from_value(json!({
        "key": "00000000-0000-5000-8000-000000000003", "domain": "order",
        "externalId": "CMD-INC-2026-0411", "step": "create", "mapperVersion": 1, "state": "done",
        "incwoId": 400002, "hash": "h", "status": "confirmed", "verified": true, "customer": "CLI-INC-8872",
        "currency": "EUR", "updatedAt": 1,
        "lines": {"KIT-API-01": {"ordered": max, "delivered": max, "invoiced": max}}
    }))
    .unwrap();
    let profile = Profile::default();
    let batch = format!(
        "{}\n{}\n",
        json!({"kind": "invoice", "record": serde_json::from_str::<Value>(include_str!("../../examples/data/invoice.json")).unwrap()}),
        json!({"kind": "stock-movement", "record": {"movementId": "MVT-1", "sku": "KIT-API-01", "warehouse": "MAIN",
            "qty": -1, "reason": "sale", "sourceOrder": "CMD-INC-2026-0411", "occurredAt": "2026-04-16T10:00:00Z"}}),
    );
    let items = batch::parse_jsonl(&batch, &profile);
    let product: incwo_core::flow::ledger::Entry = serde_json::from_value(json!({
        "key": "00000000-0000-5000-8000-000000000001", "domain": "product", "externalId": "KIT-API-01",
        "step": "upsert", "mapperVersion": 1, "state": "done", "incwoId": 300001, "hash": "h", "verified": true,
        "updatedAt": 1
    }))
    .unwrap();
    let ledger = incwo_core::flow::ledger::Ledger::from_entries([product, order]);
    let mut flow = Flow::with_ledger(items, profile, config(), FlowOptions::default(), ledger, 0, 1);
    let (mut codes, mut now) = (Vec::new(), 0);
    for _ in 0..1000 {
        match flow.poll(now).unwrap() {
            Action::RecordDone { outcome, .. } => {
                codes.push(serde_json::to_value(&outcome).unwrap()["error"]["code"].clone())
            }
            Action::Done { .. } => break,
            Action::Wait { until, .. } => now = until,
            Action::Send { request, .. } => panic!("nothing is sent: {}", request.url()),
            _ => {}
        }
    }
    assert_eq!(
        codes,
        [json!("business.over_invoicing"), json!("business.over_delivery")]
    );
}
