//! Partitioning for scale-out (docs/DESIGN.md#11-scale-out): the same rule in every host.
//!
//! Records are routed by customer to a fixed number of shards, each consumed
//! by one worker, so one customer's chain is never processed concurrently
//! and keeps its order. This module computes, from a record's envelope
//! (`{"kind", "record"}`, read as raw JSON so that even an invalid record is
//! routed):
//!
//! - the **customer** of the record (an invoice's or cancellation's is its
//!   order's customer: given by the host, or found in the ledger entries it
//!   passes), and the **partition key** (`customer/C1`, or `product/SKU` for
//!   records without a customer), prefixed by the tenant when there is one;
//! - its **shard**: FNV-1a 64 of the partition key modulo the shard count
//!   (stable across versions, languages and machines);
//! - the **routing header** (`x-customer`) a consistent-hash exchange hashes;
//! - the **ledger references** the host fetches from a shared ledger table
//!   before starting the record, and the **index references**: the markers
//!   its flow may look up, whose rows of a shared marker index the host
//!   loads (with every resource's coverage) instead of the whole index.
//!
//! Ordering across messages: a broker's delayed retry goes to the back of
//! its queue, so while one record of a customer waits for a retry, the
//! customer's later records must wait too. [`CustomerQueue`] is that rule as a
//! small state the host stores per customer: [`CustomerQueue::gate`] before a
//! record runs, [`CustomerQueue::settle`] when it ends. Records numbered by
//! their producer run in that order ([`CustomerQueue::gate_in_sequence`]);
//! others in the order they first reached the gate; a record behind a
//! waiting one is deferred, whatever order the broker redelivers them in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::flow::ledger::Entry;
use crate::model::{self, Domain, Kind};

mod queue;
pub use queue::{CustomerQueue, Gate, Settled, Waiting, DEFAULT_STALE_AFTER_MS};

/// The message header a consistent-hash exchange hashes.
pub const HEADER: &str = "x-customer";

/// Shards when the host names none.
pub const DEFAULT_SHARDS: u32 = 4;

/// Most shards a host may configure.
pub const MAX_SHARDS: u32 = 4096;

/// A ledger entry a host fetches before starting a record: its domain,
/// external id and step (any mapper version's key matches them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerRef {
    /// Domain of the entry.
    pub domain: Domain,
    /// External id of the object.
    pub external_id: String,
    /// Step (`upsert`, `create`).
    pub step: String,
}

/// A marker a record's flow may look up: its resource and the marker (see
/// [`crate::flow::index::marker`]), one per ledger reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexRef {
    /// The resource (`firms`, `customer_products`, `proposal_sheets`…).
    pub resource: String,
    /// The marker.
    pub marker: String,
}

/// The index references of ledger references: every lookup a flow makes is
/// of an object it also reads the ledger entry of, so a host that loads the
/// index rows of these markers (and every coverage) gives the flow all it
/// needs to prove an absence. Sorted, without duplicates.
pub fn index_refs(ledger_refs: &[LedgerRef]) -> Vec<IndexRef> {
    let mut refs: Vec<IndexRef> = ledger_refs
        .iter()
        .map(|r| IndexRef {
            resource: r.domain.resource().to_string(),
            marker: crate::flow::index::marker(r.domain, &r.external_id),
        })
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

/// Where a record goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// The record's customer, when known.
    pub customer: Option<String>,
    /// The key the record is partitioned by.
    pub partition_key: String,
    /// 0-based shard, below `shards`.
    pub shard: u32,
    /// The shard count used.
    pub shards: u32,
    /// The identity of the record across redeliveries (`order:CMD-1`).
    pub record_key: String,
    /// Ledger entries to fetch before the record starts.
    pub ledger_refs: Vec<LedgerRef>,
    /// The markers of a shared marker index to load before it starts
    /// ([`index_refs`] of `ledger_refs`).
    pub index_refs: Vec<IndexRef>,
    /// The order through which the record has its customer (an invoice's or
    /// a stock movement's source order, a cancellation's order): a host that
    /// remembers orders' customers passes that customer as `orderCustomer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// For an order with a customer, the pair such a host remembers, so the
    /// host never reads the record's fields itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_order: Option<KnownOrder>,
}

/// An order and its customer, as [`Route::known_order`] reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownOrder {
    /// The order number.
    pub order: String,
    /// The order's customer external id.
    pub customer: String,
}

fn text<'a>(record: &'a Value, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// FNV-1a 64 of `key`: the stable hash behind [`shard_of`].
pub fn stable_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The shard of a partition key (`shards` 0 counts as 1).
pub fn shard_of(partition_key: &str, shards: u32) -> u32 {
    let shards = u64::from(shards.max(1));
    u32::try_from(stable_hash(partition_key) % shards).unwrap_or(0)
}

/// The customer of the order `number` in `entries`, if one of them is its create entry.
fn order_customer_in(entries: &[Entry], number: &str) -> Option<String> {
    entries
        .iter()
        .find(|e| e.domain == Domain::Order && e.external_id == number && e.step == "create")
        .and_then(|e| e.customer.clone())
}

/// The customer of a record envelope `{"kind", "record"}`: its own, its
/// order's (`order_customer`, else the order's entry in `entries`); the rule
/// is the model's ([`model::customer_of`]).
pub fn customer_of(envelope: &Value, order_customer: Option<&str>, entries: &[Entry]) -> Option<String> {
    let kind: Kind = envelope["kind"].as_str()?.parse().ok()?;
    model::customer_of(kind, &envelope["record"], |number| {
        order_customer
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .or_else(|| order_customer_in(entries, number))
    })
}

fn external_id<'a>(kind: &str, record: &'a Value) -> Option<&'a str> {
    model::external_id(kind.parse().ok()?, record)
}

/// The ledger references of a record envelope (see [`LedgerRef`]), with
/// those that follow from `entries` already fetched (an order's customer and
/// invoices). Sorted, without duplicates.
pub fn ledger_refs(envelope: &Value, entries: &[Entry]) -> Vec<LedgerRef> {
    let record = &envelope["record"];
    let mut refs = Vec::new();
    let mut add = |domain: Domain, id: Option<&str>| {
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            let step = match domain {
                Domain::Customer | Domain::Product => "upsert",
                _ => "create",
            };
            refs.push(LedgerRef {
                domain,
                external_id: id.to_string(),
                step: step.into(),
            });
        }
    };
    let lines = record["lines"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut orders = Vec::new();
    match envelope["kind"].as_str().unwrap_or("") {
        "customer" => add(Domain::Customer, text(record, "externalId")),
        "product" => add(Domain::Product, text(record, "sku")),
        "quote" => {
            add(Domain::Customer, text(record, "customerExternalId"));
            add(Domain::Quote, text(record, "quoteNumber"));
        }
        "order" => {
            add(Domain::Customer, text(record, "customerExternalId"));
            add(Domain::Quote, text(record, "sourceQuote"));
            add(Domain::Order, text(record, "orderNumber"));
        }
        "invoice" => {
            orders.extend(text(record, "sourceOrder"));
            add(Domain::Invoice, text(record, "invoiceNumber"));
        }
        "stock-movement" => {
            add(Domain::Product, text(record, "sku"));
            orders.extend(text(record, "sourceOrder"));
            add(Domain::StockMovement, text(record, "movementId"));
        }
        "cancellation" => orders.extend(text(record, "orderNumber")),
        _ => {}
    }
    for line in lines {
        add(Domain::Product, text(line, "sku"));
    }
    for number in orders {
        add(Domain::Order, Some(number));
        let found = entries
            .iter()
            .find(|e| e.domain == Domain::Order && e.external_id == number && e.step == "create");
        if let Some(order) = found {
            add(Domain::Customer, order.customer.as_deref());
            for invoice in &order.invoices {
                add(Domain::Invoice, Some(invoice));
                add(Domain::CreditNote, Some(invoice));
            }
        }
    }
    refs.sort();
    refs.dedup();
    refs
}

/// Routes a record envelope: customer, partition key, shard, record key and
/// ledger references. `tenant` prefixes the partition key when not empty.
pub fn route(envelope: &Value, shards: u32, tenant: &str, order_customer: Option<&str>, entries: &[Entry]) -> Route {
    let kind = envelope["kind"].as_str().unwrap_or("");
    let record = &envelope["record"];
    let customer = customer_of(envelope, order_customer, entries);
    let ledger_refs = ledger_refs(envelope, entries);
    let id = external_id(kind, record);
    let local = match (&customer, kind) {
        (Some(c), _) => format!("customer/{c}"),
        (None, "product") | (None, "stock-movement") => format!("product/{}", text(record, "sku").unwrap_or("")),
        (None, "invoice") => format!("order/{}", text(record, "sourceOrder").unwrap_or("")),
        (None, "cancellation") => format!("order/{}", id.unwrap_or("")),
        (None, _) => format!("record/{kind}/{}", id.unwrap_or("")),
    };
    let partition_key = if tenant.is_empty() {
        local
    } else {
        format!("{tenant}/{local}")
    };
    let shards = shards.clamp(1, MAX_SHARDS);
    let parsed: Option<Kind> = kind.parse().ok();
    let order_ref = parsed.and_then(|k| match model::customer_ref(k, record)? {
        model::CustomerRef::OrderOf(order) => Some(order.to_string()),
        model::CustomerRef::Own(_) => None,
    });
    let known_order = match (parsed, &customer, id) {
        (Some(Kind::Order), Some(customer), Some(order)) if !order.is_empty() => Some(KnownOrder {
            order: order.to_string(),
            customer: customer.clone(),
        }),
        _ => None,
    };
    Route {
        order_ref,
        known_order,
        shard: shard_of(&partition_key, shards),
        shards,
        customer,
        record_key: format!("{kind}:{}", id.unwrap_or("")),
        index_refs: index_refs(&ledger_refs),
        ledger_refs,
        partition_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(number: &str, customer: &str) -> Value {
        json!({"kind": "order", "record": {"orderNumber": number, "customerExternalId": customer,
            "lines": [{"sku": "P1"}, {"sku": "P2"}, {"sku": "P1"}]}})
    }

    #[test]
    fn a_route_names_the_order_to_remember_and_the_order_to_look_up() {
        let placed = route(&order("O1", "C1"), 4, "", None, &[]);
        assert_eq!(
            placed.known_order,
            Some(KnownOrder {
                order: "O1".into(),
                customer: "C1".into()
            })
        );
        assert_eq!(placed.order_ref, None);
        for envelope in [
            json!({"kind": "invoice", "record": {"invoiceNumber": "F1", "sourceOrder": "O1"}}),
            json!({"kind": "stock-movement", "record": {"movementId": "M1", "sku": "P1", "sourceOrder": "O1"}}),
            json!({"kind": "cancellation", "record": {"orderNumber": "O1"}}),
        ] {
            let unknown = route(&envelope, 4, "", None, &[]);
            assert_eq!(unknown.order_ref.as_deref(), Some("O1"), "{envelope}");
            assert_eq!((unknown.customer, unknown.known_order), (None, None), "{envelope}");
            // Passing the remembered customer puts it with its order.
            let known = route(&envelope, 4, "", Some("C1"), &[]);
            assert_eq!(known.partition_key, placed.partition_key, "{envelope}");
        }
        let product = route(&json!({"kind": "product", "record": {"sku": "P1"}}), 4, "", None, &[]);
        assert_eq!((product.order_ref, product.known_order), (None, None));
    }

    #[test]
    fn index_refs_name_the_markers_of_the_ledger_refs_a_credit_note_under_its_invoice() {
        let placed = route(&order("O1", "C1"), 4, "", None, &[]);
        let refs: Vec<(&str, &str)> = placed
            .index_refs
            .iter()
            .map(|r| (r.resource.as_str(), r.marker.as_str()))
            .collect();
        assert_eq!(
            refs,
            [
                ("customer_products", "P1"),
                ("customer_products", "P2"),
                ("firms", "C1"),
                ("proposal_sheets", "O1")
            ]
        );
        let credit = index_refs(&[LedgerRef {
            domain: Domain::CreditNote,
            external_id: "F1".into(),
            step: "create".into(),
        }]);
        assert_eq!(credit[0].marker, crate::flow::index::marker(Domain::CreditNote, "F1"));
        assert_ne!(credit[0].marker, "F1");
    }

    #[test]
    fn the_hash_is_fnv1a_and_shards_are_stable() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
        for n in 1..20 {
            assert!(shard_of("customer/C1", n) < n);
        }
        assert_eq!(shard_of("x", 0), 0);
        let spread: std::collections::BTreeSet<u32> =
            (0..200).map(|i| shard_of(&format!("customer/C{i}"), 4)).collect();
        assert_eq!(spread.len(), 4);
    }

    #[test]
    fn a_customer_and_its_documents_share_a_shard() {
        let c = route(
            &json!({"kind": "customer", "record": {"externalId": "C1"}}),
            8,
            "",
            None,
            &[],
        );
        let o = route(&order("O1", "C1"), 8, "", None, &[]);
        let i = route(
            &json!({"kind": "invoice", "record": {"invoiceNumber": "F1", "sourceOrder": "O1"}}),
            8,
            "",
            Some("C1"),
            &[],
        );
        assert_eq!(c.partition_key, "customer/C1");
        assert_eq!((c.shard, o.shard, i.shard), (c.shard, c.shard, c.shard));
        assert_eq!(o.record_key, "order:O1");
        let refs: Vec<String> = o
            .ledger_refs
            .iter()
            .map(|r| format!("{}:{}", r.domain.as_str(), r.external_id))
            .collect();
        assert_eq!(refs, ["customer:C1", "product:P1", "product:P2", "order:O1"]);
        let t = route(&order("O1", "C1"), 8, "acme", None, &[]);
        assert_eq!(t.partition_key, "acme/customer/C1");
    }

    #[test]
    fn an_invoice_finds_its_customer_in_the_ledger() {
        let entry: Entry = serde_json::from_value(json!({"key": "k", "domain": "order", "externalId": "O1",
            "step": "create", "mapperVersion": 1, "state": "done", "hash": "h", "customer": "C9",
            "invoices": ["F0"], "updatedAt": 0}))
        .unwrap();
        let invoice = json!({"kind": "invoice", "record": {"invoiceNumber": "F1", "sourceOrder": "O1"}});
        let without = route(&invoice, 4, "", None, &[]);
        assert_eq!(without.partition_key, "order/O1");
        let with = route(&invoice, 4, "", None, std::slice::from_ref(&entry));
        assert_eq!(with.partition_key, "customer/C9");
        assert!(with
            .ledger_refs
            .iter()
            .any(|r| r.domain == Domain::Customer && r.external_id == "C9"));
        assert!(with
            .ledger_refs
            .iter()
            .any(|r| r.domain == Domain::CreditNote && r.external_id == "F0"));
    }
}
