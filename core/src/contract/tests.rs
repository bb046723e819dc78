//! Record-level tests of the contract: every kind's example passes, and each
//! rule has a failing case located by its JSON pointer.

use super::*;
use crate::model::Record;
use serde_json::json;

fn example(kind: &str) -> Value {
    let text = match kind {
        "customer" => include_str!("../../../examples/data/customer.json"),
        "product" => include_str!("../../../examples/data/product.json"),
        "quote" => include_str!("../../../examples/data/quote.json"),
        "order" => include_str!("../../../examples/data/order.json"),
        "invoice" => include_str!("../../../examples/data/invoice.json"),
        "stock-movement" => include_str!("../../../examples/data/stock-movement.json"),
        "cancellation" => include_str!("../../../examples/data/cancellation.json"),
        other => panic!("no example for {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn check(kind: &str, value: &Value) -> Report {
    validate_value(kind.parse().unwrap(), value, &Profile::default())
}

fn codes(report: &Report) -> Vec<(String, String, Severity)> {
    report
        .violations
        .iter()
        .map(|v| (v.path.clone(), v.code.clone(), v.severity))
        .collect()
}

fn one_error(kind: &str, value: &Value, path: &str, code: &str) {
    let report = check(kind, value);
    assert!(!report.valid, "{kind} should be invalid: {value}");
    let errors: Vec<_> = codes(&report).into_iter().filter(|v| v.2 == Severity::Error).collect();
    assert_eq!(
        errors,
        vec![(path.to_string(), code.to_string(), Severity::Error)],
        "{kind}: {value}"
    );
}

fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    *value.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer}")) = new;
    value
}

fn without(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut value
    } else {
        value.pointer_mut(parent).unwrap()
    };
    match target {
        Value::Object(map) => {
            map.remove(key).expect("field present");
        }
        _ => panic!("not an object"),
    }
    value
}

#[test]
fn every_example_is_valid() {
    for kind in Kind::ALL {
        let report = check(kind.as_str(), &example(kind.as_str()));
        assert!(report.valid, "{kind}: {:?}", report.violations);
    }
}

#[test]
fn the_brief_customer_passes_with_a_vat_key_warning_and_a_normalised_phone() {
    let report = check("customer", &example("customer"));
    assert!(report.valid);
    assert_eq!(
        codes(&report),
        vec![("/vatNumber".into(), "vat_key".into(), Severity::Warning)]
    );
    let Some(Record::Customer(c)) = report.record else {
        panic!()
    };
    assert_eq!(c.phone.as_deref(), Some("+33183408815"));
}

#[test]
fn a_strict_profile_turns_the_vat_key_into_an_error() {
    let profile = Profile {
        strict_vat_numbers: true,
        ..Profile::default()
    };
    let report = validate_value(Kind::Customer, &example("customer"), &profile);
    assert!(!report.valid);
    assert_eq!(report.violations[0].severity, Severity::Error);
    let fixed = with(example("customer"), "/vatNumber", json!("FR32123456789"));
    assert!(validate_value(Kind::Customer, &fixed, &profile).valid);
}

#[test]
fn required_fields_are_named_by_pointer() {
    one_error(
        "order",
        &without(example("order"), "/lines/0/unitPriceExclTax"),
        "/lines/0/unitPriceExclTax",
        "required",
    );
    one_error(
        "order",
        &with(example("order"), "/orderNumber", Value::Null),
        "/orderNumber",
        "required",
    );
    one_error("customer", &without(example("customer"), "/name"), "/name", "required");
    one_error(
        "customer",
        &without(example("customer"), "/billingAddress/city"),
        "/billingAddress/city",
        "required",
    );
    one_error(
        "invoice",
        &without(example("invoice"), "/sourceOrder"),
        "/sourceOrder",
        "required",
    );
    one_error(
        "stock-movement",
        &without(example("stock-movement"), "/warehouse"),
        "/warehouse",
        "required",
    );
    one_error(
        "cancellation",
        &without(example("cancellation"), "/reason"),
        "/reason",
        "required",
    );
    one_error(
        "product",
        &without(example("product"), "/taxCode"),
        "/taxCode",
        "required",
    );
}

#[test]
fn every_violation_is_reported_at_once_in_path_order() {
    let mut order = example("order");
    order["currency"] = json!("XYZ");
    order["lines"][0]["qty"] = json!(0);
    order["lines"][0]["taxCode"] = json!("TVA99");
    order["colour"] = json!("blue");
    let mut extra_line = order["lines"][0].clone();
    extra_line["unitPriceExclTax"] = json!(-1);
    for _ in 0..10 {
        order["lines"].as_array_mut().unwrap().push(extra_line.clone());
    }
    let report = check("order", &order);
    let paths: Vec<String> = report.violations.iter().map(|v| v.path.clone()).collect();
    assert_eq!(paths[0], "/colour");
    assert_eq!(paths[1], "/currency");
    assert_eq!(&paths[2..4], ["/lines/0/qty", "/lines/0/taxCode"]);
    // Numeric segments sort as numbers: /lines/2 before /lines/10.
    let pos = |p: &str| paths.iter().position(|x| x.starts_with(p)).unwrap();
    assert!(pos("/lines/2/") < pos("/lines/10/"));
    assert_eq!(report.violations.len(), 4 + 10 * 3);
}

#[test]
fn unknown_fields_are_never_ignored() {
    one_error(
        "order",
        &with(example("order"), "/lines/0/sku", json!("KIT-API-01")).tap_insert("/lines/0", "price", json!(1)),
        "/lines/0/price",
        "unknown_field",
    );
    let mut c = example("customer");
    c["billingAddress"]["street"] = json!("x");
    one_error("customer", &c, "/billingAddress/street", "unknown_field");
}

trait TapInsert {
    fn tap_insert(self, pointer: &str, key: &str, value: Value) -> Self;
}

impl TapInsert for Value {
    fn tap_insert(mut self, pointer: &str, key: &str, value: Value) -> Self {
        self.pointer_mut(pointer)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(key.into(), value);
        self
    }
}

#[test]
fn formats_of_each_field_type() {
    one_error(
        "customer",
        &with(example("customer"), "/email", json!("compta@")),
        "/email",
        "format",
    );
    one_error(
        "customer",
        &with(example("customer"), "/phone", json!("123")),
        "/phone",
        "format",
    );
    one_error(
        "customer",
        &with(example("customer"), "/billingAddress/country", json!("France")),
        "/billingAddress/country",
        "format",
    );
    one_error(
        "customer",
        &with(example("customer"), "/billingAddress/zipCode", json!("6900")),
        "/billingAddress/zipCode",
        "format",
    );
    one_error(
        "customer",
        &with(example("customer"), "/vatNumber", json!("FR12")),
        "/vatNumber",
        "format",
    );
    one_error(
        "customer",
        &with(example("customer"), "/kind", json!("supplier")),
        "/kind",
        "format",
    );
    one_error(
        "customer",
        &with(example("customer"), "/name", json!("Atelier\u{0007}")),
        "/name",
        "control_character",
    );
    one_error(
        "customer",
        &with(example("customer"), "/name", json!("x".repeat(256))),
        "/name",
        "too_long",
    );
    one_error(
        "customer",
        &with(example("customer"), "/externalId", json!("")),
        "/externalId",
        "empty",
    );
    one_error(
        "order",
        &with(example("order"), "/orderDate", json!("2026-13-01")),
        "/orderDate",
        "format",
    );
    one_error(
        "order",
        &with(example("order"), "/currency", json!("USD")),
        "/currency",
        "unknown_code",
    );
    one_error(
        "order",
        &with(example("order"), "/lines/0/taxCode", json!("TVA19")),
        "/lines/0/taxCode",
        "unknown_code",
    );
    one_error(
        "order",
        &with(example("order"), "/lines/0/unitPriceExclTax", json!(49.999)),
        "/lines/0/unitPriceExclTax",
        "too_many_decimals",
    );
    one_error(
        "order",
        &with(example("order"), "/lines/0/qty", json!(-2)),
        "/lines/0/qty",
        "range",
    );
    one_error("order", &with(example("order"), "/lines", json!([])), "/lines", "empty");
    one_error("order", &with(example("order"), "/lines", json!({})), "/lines", "type");
    one_error(
        "stock-movement",
        &with(example("stock-movement"), "/qty", json!(0)),
        "/qty",
        "range",
    );
    one_error(
        "stock-movement",
        &with(example("stock-movement"), "/warehouse", json!("PARIS")),
        "/warehouse",
        "unknown_code",
    );
    one_error(
        "stock-movement",
        &with(example("stock-movement"), "/occurredAt", json!("yesterday")),
        "/occurredAt",
        "format",
    );
    one_error(
        "product",
        &with(example("product"), "/active", json!("yes")),
        "/active",
        "type",
    );
    one_error(
        "product",
        &with(example("product"), "/unit", json!("x".repeat(17))),
        "/unit",
        "too_long",
    );
    one_error(
        "order",
        &example("order").tap_insert("", "contract", json!(2)),
        "/contract",
        "range",
    );
    assert!(check("order", &example("order").tap_insert("", "contract", json!(1))).valid);
}

#[test]
fn dates_must_be_in_order() {
    one_error(
        "quote",
        &with(example("quote"), "/validUntil", json!("2026-04-01")),
        "/validUntil",
        "date_order",
    );
    one_error(
        "invoice",
        &with(example("invoice"), "/dueDate", json!("2026-04-14")),
        "/dueDate",
        "date_order",
    );
    assert!(check("invoice", &with(example("invoice"), "/dueDate", json!("2026-04-15"))).valid);
}

#[test]
fn a_non_object_record_is_a_type_violation() {
    one_error("order", &json!([1, 2]), "", "type");
}

#[test]
fn too_many_lines_are_refused_without_walking_them() {
    let line = example("order")["lines"][0].clone();
    let order = with(example("order"), "/lines", Value::Array(vec![line; MAX_LINES + 1]));
    one_error("order", &order, "/lines", "too_many_lines");
}

#[test]
fn money_is_read_exactly_from_the_text() {
    let profile = Profile::default();
    let text = include_str!("../../../examples/data/order.json").replace("49.90", "0.1000000000000000001");
    let report = validate(Kind::Order, &text, &profile).unwrap();
    assert_eq!(codes(&report)[0].1, "too_many_decimals");
    let report = validate(Kind::Order, include_str!("../../../examples/data/order.json"), &profile).unwrap();
    let Some(Record::Order(order)) = report.record else {
        panic!()
    };
    assert_eq!(order.lines[0].unit_price_excl_tax.to_string(), "49.90");
    let as_string = include_str!("../../../examples/data/order.json").replace("49.90", "\"49.90\"");
    assert!(validate(Kind::Order, &as_string, &profile).unwrap().valid);
}

#[test]
fn limits_give_input_too_large_and_malformed_json_a_usage_error() {
    let mut profile = Profile::default();
    profile.limits.max_input_bytes = 100;
    let report = validate(Kind::Order, include_str!("../../../examples/data/order.json"), &profile).unwrap();
    assert_eq!(
        codes(&report),
        vec![(String::new(), "input_too_large".into(), Severity::Error)]
    );
    let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
    let report = validate(Kind::Order, &deep, &Profile::default()).unwrap();
    assert_eq!(report.violations[0].code, "input_too_large");
    let err = validate(Kind::Order, "{\n  \"orderNumber\": ,\n}", &Profile::default()).unwrap_err();
    assert_eq!(err.code, "usage.malformed_json");
    assert_eq!(err.line, Some(2));
    // Brackets inside strings do not count as nesting.
    let in_string = format!("{{\"orderNumber\": \"{}\"}}", "[".repeat(100));
    assert_ne!(
        validate(Kind::Order, &in_string, &Profile::default())
            .unwrap()
            .violations[0]
            .code,
        "input_too_large"
    );
}

#[test]
fn messages_never_quote_the_value() {
    let secret = "jean.secret@example";
    let report = check("customer", &with(example("customer"), "/email", json!(secret)));
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains(secret), "{text}");
}

#[test]
fn per_kind_functions_return_the_typed_record_or_the_violations() {
    let (order, warnings) = validate_order(&example("order"), &Profile::default()).unwrap();
    assert_eq!(order.order_number, "CMD-INC-2026-0411");
    assert!(warnings.is_empty());
    let violations = validate_product(&json!({}), &Profile::default()).unwrap_err();
    assert_eq!(violations.len(), 4);
    assert!(validate_customer(&example("customer"), &Profile::default()).is_ok());
    assert!(validate_quote(&example("quote"), &Profile::default()).is_ok());
    assert!(validate_invoice(&example("invoice"), &Profile::default()).is_ok());
    assert!(validate_stock_movement(&example("stock-movement"), &Profile::default()).is_ok());
    assert!(validate_cancellation(&example("cancellation"), &Profile::default()).is_ok());
}

#[test]
fn defaults_are_filled() {
    let (product, _) = validate_product(&without(example("product"), "/active"), &Profile::default()).unwrap();
    assert!(product.active);
    let (customer, _) = validate_customer(&without(example("customer"), "/kind"), &Profile::default()).unwrap();
    assert_eq!(customer.kind, crate::model::CustomerKind::Client);
}
