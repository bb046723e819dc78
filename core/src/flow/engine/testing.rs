//! Test fixtures of the engine's modules: small valid records, a flow over
//! them, ledger entries, and a few steps of the host loop.

use super::super::batch::parse_jsonl;
use super::super::ledger::{Domain, Entry, EntryState, LineQuantities};
use super::super::{Action, Flow, FlowOptions, Outcome};
use super::{new_entry, tasks};
use crate::http::{Auth, ConnectionConfig, Request, Response};
use crate::mapping::Profile;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The business file id of [`flow_of`]'s connection.
pub const BUSINESS_FILE: &str = "123456";

/// A customer envelope.
pub fn customer(id: &str) -> Value {
    json!({"kind": "customer", "record": {"externalId": id, "name": "Atelier Horizon"}})
}

/// A product envelope.
pub fn product(sku: &str) -> Value {
    json!({"kind": "product", "record": {"sku": sku, "name": "Kit", "unitPriceExclTax": "49.90", "taxCode": "TVA20"}})
}

fn line(sku: &str, qty: &str) -> Value {
    json!({"sku": sku, "qty": qty, "unitPriceExclTax": "10.00", "taxCode": "TVA20"})
}

/// A quote envelope of customer `C1`, one line of 2 × P1.
pub fn quote(number: &str) -> Value {
    json!({"kind": "quote", "record": {"quoteNumber": number, "customerExternalId": "C1",
        "quoteDate": "2026-04-02", "currency": "EUR", "lines": [line("P1", "2")]}})
}

/// An order envelope of customer `C1`: `lines` are (sku, qty).
pub fn order(number: &str, source_quote: Option<&str>, lines: &[(&str, &str)]) -> Value {
    let mut record = json!({"orderNumber": number, "customerExternalId": "C1", "orderDate": "2026-04-11",
        "currency": "EUR", "lines": lines.iter().map(|(s, q)| line(s, q)).collect::<Vec<_>>()});
    if let Some(q) = source_quote {
        record["sourceQuote"] = json!(q);
    }
    json!({"kind": "order", "record": record})
}

/// An invoice envelope on `source_order`: `lines` are (sku, qty).
pub fn invoice(number: &str, source_order: &str, lines: &[(&str, &str)]) -> Value {
    json!({"kind": "invoice", "record": {"invoiceNumber": number, "sourceOrder": source_order,
        "issueDate": "2026-04-15", "lines": lines.iter().map(|(s, q)| line(s, q)).collect::<Vec<_>>()}})
}

/// A stock movement envelope of P1 (`qty` signed), naming `source_order`.
pub fn movement(id: &str, qty: &str, reason: &str, source_order: Option<&str>) -> Value {
    let mut record = json!({"movementId": id, "sku": "P1", "warehouse": "MAIN", "qty": qty, "reason": reason});
    if let Some(o) = source_order {
        record["sourceOrder"] = json!(o);
    }
    json!({"kind": "stock-movement", "record": record})
}

/// A cancellation envelope of `order`.
pub fn cancellation(order: &str) -> Value {
    json!({"kind": "cancellation", "record": {"orderNumber": order, "reason": "changed mind", "cancelledAt": "2026-04-20"}})
}

/// A flow over `envelopes` (one batch line each), default profile and options.
pub fn flow_of(envelopes: &[Value]) -> Flow {
    let text: String = envelopes.iter().map(|e| format!("{e}\n")).collect();
    let profile = Profile::default();
    let items = parse_jsonl(&text, &profile);
    let config = ConnectionConfig::new("http://127.0.0.1:1", BUSINESS_FILE, Auth::basic("a@b.fr", "pw"), false)
        .expect("a valid connection");
    Flow::start(items, profile, config, FlowOptions::default(), 0, 7)
}

/// Puts a `done` entry with incwo id `id` in the flow's ledger and returns it.
pub fn put_done(flow: &mut Flow, domain: Domain, external_id: &str, id: u64) -> Entry {
    let mut e = new_entry(flow, domain, external_id, EntryState::Done, "h".into(), 0);
    e.incwo_id = Some(id);
    flow.state.ledger.put(e.clone());
    e
}

/// Puts a `done` order of customer `C1` with `status` and per-SKU (ordered,
/// delivered, invoiced) quantities.
pub fn put_order(flow: &mut Flow, number: &str, status: &str, lines: &[(&str, &str, &str, &str)]) {
    let mut e = put_done(flow, Domain::Order, number, 400);
    e.status = Some(status.into());
    e.customer = Some("C1".into());
    e.currency = Some("EUR".into());
    for (sku, ordered, delivered, invoiced) in lines {
        e.lines.insert(
            sku.to_string(),
            LineQuantities {
                ordered: dec(ordered),
                delivered: dec(delivered),
                invoiced: dec(invoiced),
            },
        );
    }
    flow.state.ledger.put(e);
}

/// An exact decimal.
pub fn dec(s: &str) -> Decimal {
    s.parse().expect("a decimal")
}

/// Starts the flow's next record (as `poll` does).
pub fn begin(flow: &mut Flow) {
    tasks::start_record(flow, 0);
}

/// Polls until the flow sends a request; panics on anything else but a publish.
pub fn next_send(flow: &mut Flow, now: u64) -> (u64, Request) {
    loop {
        match flow.poll(now).expect("poll") {
            Action::Send { request_id, request } => return (request_id, request),
            Action::Publish { .. } => {}
            other => panic!("expected a request, got {other:?}"),
        }
    }
}

/// An answer with `status` and `body`.
pub fn answer(status: u16, body: &str) -> Response {
    Response::new(status, vec![], body.as_bytes().to_vec())
}

/// An empty list page of `resource`.
pub fn empty_page(resource: &str) -> Response {
    answer(
        200,
        &format!("<{resource} type=\"array\"><pagination><current_page>1</current_page><total_pages>1</total_pages><current_page_items_count>0</current_page_items_count></pagination></{resource}>"),
    )
}

/// The outcome of record `index`, once finished.
pub fn outcome(flow: &Flow, index: usize) -> Option<&Outcome> {
    flow.outcomes().get(index).and_then(Option::as_ref)
}
