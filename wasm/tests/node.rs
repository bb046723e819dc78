//! wasm-bindgen-test tests of the raw bindings, run under node by
//! `wasm-bindgen-test-runner` (`./scripts/test js`).
#![cfg(target_arch = "wasm32")]

use incwo_wasm::{call, check_profile, classify, map, map_bytes, map_many, parse, schema, validate, Flow};
use js_sys::{Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const ORDER: &str = include_str!("../../examples/data/order.json");
const MISSING_PRICE: &str = include_str!("../../examples/data/order-missing-price.json");

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).expect("readable property")
}

fn text(value: &JsValue) -> String {
    String::from(JSON::stringify(value).expect("JSON"))
}

#[wasm_bindgen_test]
fn validate_returns_a_plain_report_object() {
    let report = validate("order", JsValue::from_str(ORDER), JsValue::NULL).expect("report");
    assert_eq!(get(&report, "valid"), JsValue::TRUE);
    assert_eq!(get(&report, "kind").as_string().as_deref(), Some("order"));
}

#[wasm_bindgen_test]
fn map_of_an_invalid_record_throws_a_contract_error_with_violations() {
    let error = map("order", JsValue::from_str(MISSING_PRICE), JsValue::NULL).expect_err("contract error");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&error, "class").as_string().as_deref(), Some("contract"));
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("contract.invalid"));
    assert_eq!(get(&error, "name").as_string().as_deref(), Some("IncwoContractError"));
    let violations = get(&error, "violations");
    assert!(js_sys::Array::is_array(&violations));
    let first = js_sys::Array::from(&violations).get(0);
    assert_eq!(
        get(&first, "path").as_string().as_deref(),
        Some("/lines/0/unitPriceExclTax")
    );
}

#[wasm_bindgen_test]
fn map_accepts_an_object_and_keeps_the_totals_exact() {
    let order = JSON::parse(ORDER).expect("order");
    let mapped = map("order", order, JsValue::UNDEFINED).expect("mapped");
    assert_eq!(get(&mapped, "resource").as_string().as_deref(), Some("proposal_sheets"));
    assert_eq!(
        get(&get(&mapped, "totals"), "inclTax").as_string().as_deref(),
        Some("598.80")
    );
}

#[wasm_bindgen_test]
fn usage_errors_are_thrown_with_their_code() {
    let unknown = validate("orders", JsValue::from_str("{}"), JsValue::NULL).expect_err("usage error");
    assert_eq!(get(&unknown, "class").as_string().as_deref(), Some("usage"));
    assert_eq!(get(&unknown, "code").as_string().as_deref(), Some("usage.unknown_kind"));
    let bad_profile = check_profile(JsValue::from_str("{}")).expect_err("invalid profile");
    assert_eq!(
        get(&bad_profile, "code").as_string().as_deref(),
        Some("usage.invalid_profile")
    );
    assert!(js_sys::Array::is_array(&get(&bad_profile, "problems")));
    let unknown_call = call("nope", JsValue::UNDEFINED).expect_err("unknown call");
    assert_eq!(
        get(&unknown_call, "code").as_string().as_deref(),
        Some("usage.unknown_call")
    );
}

#[wasm_bindgen_test]
fn parse_takes_bytes_and_schema_names_required_fields() {
    let xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><firm><id>100001</id><name>Atelier</name></firm>";
    let bytes = js_sys::Uint8Array::from(&xml[..]);
    let firm = parse("firms", bytes.into()).expect("firm");
    assert!(text(&firm).contains("Atelier"), "{}", text(&firm));
    let not_xml = parse("firms", JsValue::from_f64(1.0)).expect_err("bad argument");
    assert_eq!(
        get(&not_xml, "code").as_string().as_deref(),
        Some("usage.bad_arguments")
    );
    let schema = schema("order", JsValue::NULL).expect("schema");
    assert!(text(&get(&schema, "required")).contains("orderNumber"));
}

fn start_args() -> JsValue {
    let args = format!(
        r#"{{"config": {{"server": "http://127.0.0.1:9", "businessFileId": "123456",
             "auth": {{"type": "basic", "login": "api@example.fr", "password": "s3cret-pw"}}}},
            "records": [{{"kind": "order", "record": {ORDER}}}], "now": 1000, "seed": 7}}"#
    );
    JSON::parse(&args).expect("args")
}

#[wasm_bindgen_test]
fn a_flow_hands_out_a_send_and_keeps_the_password_out_of_the_checkpoint() {
    let mut flow = Flow::start(start_args()).expect("flow");
    let action: JsValue = flow.poll(1000.0).expect("action").unchecked_into();
    assert_eq!(get(&action, "action").as_string().as_deref(), Some("send"));
    let request = get(&action, "request");
    assert!(get(&request, "url")
        .as_string()
        .unwrap()
        .starts_with("http://127.0.0.1:9/123456/"));
    assert!(!flow.checkpoint().contains("s3cret-pw"));
    // Polling again before answering is a usage error, thrown.
    let error = flow.poll(1000.0).expect_err("usage error");
    assert_eq!(get(&error, "class").as_string().as_deref(), Some("usage"));
    assert!(!text(&error).contains("s3cret-pw"));
    // A refused connection is a transport failure the core handles.
    let id = get(&action, "requestId").as_f64().unwrap();
    let failure = JSON::parse(r#"{"kind": "connect_refused", "phase": "connect"}"#).unwrap();
    flow.on_transport_error(id, failure, 1001.0).expect("accepted");
    // Answering the same request twice is a usage error.
    let response = JSON::parse(r#"{"status": 200, "body": ""}"#).unwrap();
    let twice = flow.on_response(id, response, 1002.0).expect_err("usage error");
    assert_eq!(get(&twice, "class").as_string().as_deref(), Some("usage"));
    let report: JsValue = flow.summary().expect("summary").unchecked_into();
    assert_eq!(get(&get(&report, "summary"), "total").as_f64(), Some(1.0));
    assert!(flow.metrics().contains("api_error_total"));
}

#[wasm_bindgen_test]
fn time_must_be_a_non_negative_integer() {
    let mut flow = Flow::start(start_args()).expect("flow");
    let error = flow.poll(-1.0).expect_err("usage error");
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("usage.bad_arguments"));
    let error = flow.poll(f64::NAN).expect_err("usage error");
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("usage.bad_arguments"));
}

#[wasm_bindgen_test]
fn flow_start_without_now_is_a_usage_error() {
    let args = JSON::parse(
        r#"{"config": {"server": "http://127.0.0.1:9", "businessFileId": "1",
            "auth": {"type": "basic", "login": "a", "password": "b"}}, "records": []}"#,
    )
    .unwrap();
    let error = Flow::start(args).err().expect("usage error");
    assert_eq!(get(&error, "class").as_string().as_deref(), Some("usage"));
}

#[wasm_bindgen_test]
fn an_intake_refusal_is_thrown_with_its_status_and_document() {
    let args = JSON::parse(
        r#"{"body": "{\"zname\":\"bill_sheets\",\"zid\":1}", "presentedSecret": "guess",
            "settings": {"secret": "whsec-0123456789"}}"#,
    )
    .expect("args");
    let error = call("inbound.webhook", args).expect_err("refused");
    assert_eq!(get(&error, "class").as_string().as_deref(), Some("inbound"));
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("inbound.bad_secret"));
    assert_eq!(get(&error, "status").as_f64(), Some(403.0));
    let document = get(&error, "document");
    assert_eq!(get(&document, "status").as_f64(), Some(403.0));
    assert_eq!(
        get(&get(&document, "error"), "code").as_string().as_deref(),
        Some("inbound.bad_secret")
    );
}

#[wasm_bindgen_test]
fn map_bytes_and_map_many_give_map_s_xml_as_bytes() {
    let text = get(
        &map("order", JsValue::from_str(ORDER), JsValue::NULL).expect("mapped"),
        "xml",
    );
    let input = js_sys::Uint8Array::from(ORDER.as_bytes());
    let bytes = get(&map_bytes("order", input.into(), JsValue::NULL).expect("mapped"), "xml");
    let bytes = bytes.dyn_into::<js_sys::Uint8Array>().expect("a Uint8Array").to_vec();
    assert_eq!(String::from_utf8(bytes).ok(), text.as_string());
    let jsonl = format!("{}\n\n{}\n", ORDER.replace('\n', " "), MISSING_PRICE.replace('\n', " "));
    let results = map_many("order", JsValue::from_str(&jsonl), JsValue::NULL, Some(true)).expect("results");
    let results = js_sys::Array::from(&results);
    assert_eq!(results.length(), 2);
    assert!(get(&results.get(0), "xml").is_instance_of::<js_sys::Uint8Array>());
    let error = get(&results.get(1), "error");
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("contract.invalid"));
}

#[wasm_bindgen_test]
fn classify_answers_as_the_facade_call() {
    let args = r#"{"method": "POST", "endpoint": "/bill_sheets.xml", "response": {"status": 503}}"#;
    let direct = classify(JsValue::from_str(args)).expect("classified");
    let via_call = call("classify", JsValue::from_str(args)).expect("classified");
    assert_eq!(text(&direct), text(&via_call));
    let both = r#"{"method": "GET", "endpoint": "/x.xml", "response": {"status": 500}, "transport": {"kind": "dns"}}"#;
    let error = classify(JsValue::from_str(both)).expect_err("usage error");
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("usage.invalid_json"));
}
