//! A stock movement that delivers an order belongs to that order's
//! customer, in partitioning and in the flow alike: both read the model's
//! one rule (`incwo_core::model::customer_of`). Partitioning keeps the
//! movement on its customer's shard; the flow keeps it behind a waiting
//! record of that customer.

use incwo_core::flow::batch::parse_jsonl;
use incwo_core::flow::ledger::{Entry, Ledger};
use incwo_core::flow::{Action, Flow, FlowOptions, Outcome};
use incwo_core::http::{Auth, ConnectionConfig, Response};
use incwo_core::mapping::Profile;
use incwo_core::partition;
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000_000;

fn quote() -> Value {
    json!({"kind": "quote", "record": {"quoteNumber": "DEV-1", "customerExternalId": "C1", "quoteDate": "2026-04-02",
        "currency": "EUR", "lines": [{"sku": "KIT", "qty": "1", "unitPriceExclTax": "10.00", "taxCode": "TVA20"}]}})
}

fn order() -> Value {
    json!({"kind": "order", "record": {"orderNumber": "CMD-1", "customerExternalId": "C1", "orderDate": "2026-04-11",
        "currency": "EUR", "lines": [{"sku": "KIT", "qty": "10", "unitPriceExclTax": "10.00", "taxCode": "TVA20"}]}})
}

fn movement() -> Value {
    json!({"kind": "stock-movement", "record": {"movementId": "MVT-1", "sku": "KIT", "warehouse": "MAIN",
        "qty": "-2", "reason": "sale", "sourceOrder": "CMD-1"}})
}

fn product() -> Value {
    json!({"kind": "product", "record": {"sku": "P9", "name": "Other", "unitPriceExclTax": "5.00", "taxCode": "TVA20"}})
}

/// What a shared ledger holds once customer C1 and its order CMD-1 were synced.
fn entries() -> Vec<Entry> {
    let entry = |domain: &str, id: &str, step: &str, extra: Value| -> Entry {
        let mut e = json!({"key": format!("{domain}/{id}"), "domain": domain, "externalId": id, "step": step,
            "mapperVersion": 1, "state": "done", "incwoId": 400, "hash": "h", "updatedAt": 0});
        e.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(e).unwrap()
    };
    vec![
        entry("customer", "C1", "upsert", json!({})),
        entry(
            "order",
            "CMD-1",
            "create",
            json!({"status": "confirmed", "customer": "C1", "currency": "EUR",
                "lines": {"KIT": {"ordered": "10", "delivered": "0", "invoiced": "0"}}}),
        ),
    ]
}

#[test]
fn a_movement_is_partitioned_with_its_orders_customer() {
    let entries = entries();
    let by_order = partition::route(&order(), 4, "acme", None, &entries);
    let by_movement = partition::route(&movement(), 4, "acme", None, &entries);
    let by_quote = partition::route(&quote(), 4, "acme", None, &entries);
    assert_eq!(by_order.customer.as_deref(), Some("C1"));
    assert_eq!(by_movement.customer, by_order.customer);
    assert_eq!(by_movement.partition_key, "acme/customer/C1");
    assert_eq!(
        (&by_movement.partition_key, by_movement.shard),
        (&by_order.partition_key, by_order.shard)
    );
    assert_eq!(
        (&by_quote.partition_key, by_quote.shard),
        (&by_order.partition_key, by_order.shard)
    );
    // Told by the host instead of the ledger: the same customer.
    let told = partition::route(&movement(), 4, "acme", Some("C1"), &[]);
    assert_eq!(told.partition_key, by_movement.partition_key);
    // An order nobody knows: the movement follows its product.
    let unknown = partition::route(&movement(), 4, "acme", None, &[]);
    assert_eq!(
        (unknown.customer, unknown.partition_key.as_str()),
        (None, "acme/product/KIT")
    );
}

#[test]
fn a_movement_waits_behind_a_waiting_record_of_its_orders_customer() {
    let profile = Profile::default();
    let text: String = [quote(), movement(), product()]
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    let items = parse_jsonl(&text, &profile);
    let config = ConnectionConfig::new("http://127.0.0.1:1", "123456", Auth::basic("a@b.fr", "pw"), false).unwrap();
    let ledger = Ledger::from_entries(entries());
    let mut flow = Flow::with_ledger(items, profile, config, FlowOptions::default(), ledger, NOW, 1);

    // The quote's create is throttled for an hour: the quote is requeued.
    let Action::Send { request_id, request } = flow.poll(NOW).unwrap() else {
        panic!("expected the quote's create");
    };
    assert_eq!(
        (request.method().as_str(), request.endpoint()),
        ("POST", "/proposal_sheets.xml")
    );
    let throttled = Response::new(429, vec![("Retry-After".into(), "3600".into())], Vec::new());
    flow.on_response(request_id, throttled, NOW).unwrap();

    // The movement belongs to C1 (through CMD-1): it keeps its place behind the quote.
    let mut sends = Vec::new();
    while let Ok(action) = flow.poll(NOW) {
        match action {
            Action::Send { request_id, request } => {
                sends.push(request.endpoint().to_string());
                let page = "<customer_products type=\"array\"><pagination><current_page>1</current_page><total_pages>1</total_pages><current_page_items_count>0</current_page_items_count></pagination></customer_products>";
                let body = if request.method().as_str() == "GET" {
                    page.to_string()
                } else {
                    "<customer_product><id>9</id><reference>P9</reference></customer_product>".to_string()
                };
                flow.on_response(request_id, Response::new(200, vec![], body.into_bytes()), NOW)
                    .unwrap();
            }
            Action::Done { .. } => break,
            _ => {}
        }
    }
    let outcomes = flow.outcomes();
    let Some(Outcome::Deferred { not_before, error }) = &outcomes[0] else {
        panic!("the quote waits: {:?}", outcomes[0]);
    };
    assert_eq!(*not_before, NOW + 3_600_000);
    match &outcomes[1] {
        Some(Outcome::Deferred {
            not_before: behind,
            error: waiting,
        }) => {
            assert_eq!(waiting.code, "deferred.customer_waiting");
            assert!(waiting.message.contains(&error.code), "{}", waiting.message);
            assert_eq!(behind, not_before);
        }
        other => panic!("the movement keeps its place behind the quote: {other:?}"),
    }
    // A record of no customer is not held back.
    assert!(matches!(outcomes[2], Some(Outcome::Synced { incwo_id: Some(9) })));
    assert_eq!(
        sends,
        ["/customer_products.xml", "/customer_products.xml"],
        "nothing sent for the movement"
    );

    // The customer the flow held the movement back for is the one it is partitioned by.
    let routed = partition::route(&movement(), 4, "", None, &entries());
    assert_eq!(routed.customer.as_deref(), Some("C1"));
    let routed_quote = partition::route(&quote(), 4, "", None, &entries());
    assert_eq!(routed.partition_key, routed_quote.partition_key);
}
