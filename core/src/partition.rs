//! Partitioning for scale-out (DESIGN section 11): the same rule in every host.
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
//!   before starting the record.
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

use crate::flow::ledger::{Domain, Entry};

/// The message header a consistent-hash exchange hashes.
pub const HEADER: &str = "x-customer";

/// Shards when the host names none.
pub const DEFAULT_SHARDS: u32 = 4;

/// Most shards a host may configure.
pub const MAX_SHARDS: u32 = 4096;

/// How long (ms) past its `notBefore` a waiting record may stay at the head
/// of its customer's queue before a later record evicts it (its message was
/// lost, e.g. moved to a failure transport), unless the host says otherwise.
pub const DEFAULT_STALE_AFTER_MS: u64 = 15 * 60 * 1000;

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
/// order's (`order_customer`, else the order's entry in `entries`).
pub fn customer_of(envelope: &Value, order_customer: Option<&str>, entries: &[Entry]) -> Option<String> {
    let record = &envelope["record"];
    let order_of = |number: Option<&str>| -> Option<String> {
        let number = number?;
        order_customer
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .or_else(|| order_customer_in(entries, number))
    };
    match envelope["kind"].as_str().unwrap_or("") {
        "customer" => text(record, "externalId").map(str::to_string),
        "quote" | "order" => text(record, "customerExternalId").map(str::to_string),
        "invoice" => order_of(text(record, "sourceOrder")),
        "cancellation" => order_of(text(record, "orderNumber")),
        "stock-movement" => order_of(text(record, "sourceOrder")),
        _ => None,
    }
}

fn external_id<'a>(kind: &str, record: &'a Value) -> Option<&'a str> {
    let field = match kind {
        "customer" => "externalId",
        "product" => "sku",
        "quote" => "quoteNumber",
        "order" | "cancellation" => "orderNumber",
        "invoice" => "invoiceNumber",
        "stock-movement" => "movementId",
        _ => return None,
    };
    text(record, field)
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
    Route {
        shard: shard_of(&partition_key, shards),
        shards,
        customer,
        record_key: format!("{kind}:{}", id.unwrap_or("")),
        ledger_refs: ledger_refs(envelope, entries),
        partition_key,
    }
}

/// A record waiting in its customer's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// The record key (see [`Route::record_key`]).
    pub record: String,
    /// Not before (ms since the epoch): its retry time, or for a record
    /// behind another, the time it was requeued to.
    #[serde(default)]
    pub not_before: u64,
    /// The record's place in its customer's sequence, when the producer
    /// numbered it (see [`CustomerQueue::gate_in_sequence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// The records of one customer that wait, in the order they must run. The
/// host stores it per customer (a row keyed by the partition key). Empty:
/// any record of the customer may run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerQueue {
    /// Waiting records, the first one ahead of the others.
    pub waiting: Vec<Waiting>,
    /// Numbered records: every number up to this one has ended.
    #[serde(skip_serializing_if = "is_zero")]
    pub done_through: u64,
    /// Numbered records: since when (ms) the next number is expected.
    #[serde(skip_serializing_if = "is_zero")]
    pub next_since: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Gate {
    /// Run the record now.
    Run,
    /// Requeue the record, not before `not_before` (ms since the epoch).
    Defer {
        /// ms since the epoch.
        not_before: u64,
        /// `retry_pending` (its own retry is not due) or `customer_waiting`.
        reason: String,
        /// The record this one waits behind, when another.
        behind: Option<String>,
    },
}

/// How a record ended, for [`CustomerQueue::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Settled {
    /// Synced, skipped or quarantined: the record leaves the queue.
    Ended,
    /// Deferred or waiting for a retry: it keeps (or takes) its place.
    Waiting,
}

/// Gap (ms) between the head's retry and the records behind it, per position,
/// so that redeliveries come back roughly in order (the gate enforces it).
const SPACING_MS: u64 = 200;

impl CustomerQueue {
    /// Nothing waits and no sequence is remembered: the host may delete the
    /// customer's row (a missing row reads as this empty state).
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.done_through == 0
    }

    /// Whether a record may run now. A record that runs takes the head of
    /// the queue until it settles, so that if its worker dies or throws
    /// (its message comes back later, perhaps behind the customer's next
    /// records) the records behind it wait for it. A record behind another
    /// takes its place at the end of the queue (once) and is deferred; the
    /// head runs when its retry is due. A head stale for longer than
    /// `stale_after_ms` past its retry time is dropped (its message was
    /// lost), so a customer is never blocked for ever.
    pub fn gate(&mut self, record: &str, now: u64, stale_after_ms: u64) -> Gate {
        while let Some(head) = self.waiting.first() {
            let stale = head.record != record && now > head.not_before.saturating_add(stale_after_ms);
            if !stale {
                break;
            }
            self.waiting.remove(0);
        }
        let Some(head) = self.waiting.first() else {
            self.waiting.push(Waiting {
                record: record.to_string(),
                not_before: now,
                seq: None,
            });
            return Gate::Run;
        };
        if head.record == record {
            return if now >= head.not_before {
                Gate::Run
            } else {
                Gate::Defer {
                    not_before: head.not_before,
                    reason: "retry_pending".into(),
                    behind: None,
                }
            };
        }
        let head_due = head.not_before.max(now);
        let behind = Some(head.record.clone());
        let position = match self.waiting.iter().position(|w| w.record == record) {
            Some(p) => p,
            None => {
                self.waiting.push(Waiting {
                    record: record.to_string(),
                    not_before: 0,
                    seq: None,
                });
                self.waiting.len() - 1
            }
        };
        let offset = SPACING_MS.saturating_mul(u64::try_from(position).unwrap_or(u64::MAX).min(50));
        let not_before = head_due.saturating_add(SPACING_MS).saturating_add(offset);
        // The record comes back then: once it is at the head, it runs from
        // that time, and is stale only long after it.
        if let Some(w) = self.waiting.get_mut(position) {
            w.not_before = not_before;
        }
        Gate::Defer {
            not_before,
            reason: "customer_waiting".into(),
            behind,
        }
    }

    /// [`CustomerQueue::gate`] for a record the producer numbered `seq`
    /// (1, 2, 3… per customer, in the order they must run): the record runs
    /// only when every smaller number has ended, so a message that comes
    /// back late (its worker died before the gate saw it, and the broker
    /// requeued it behind the customer's next records) still runs first.
    /// A number already ended runs (a redelivery: the ledger makes it a
    /// no-op). A missing number blocks the customer for at most
    /// `stale_after_ms`, then the records after it go on.
    pub fn gate_in_sequence(&mut self, record: &str, seq: u64, now: u64, stale_after_ms: u64) -> Gate {
        if seq <= self.done_through {
            return Gate::Run;
        }
        if self.next_since == 0 {
            self.next_since = now;
        }
        if seq > self.done_through.saturating_add(1) && now > self.next_since.saturating_add(stale_after_ms) {
            // The numbers before it never came (messages lost): go on.
            self.done_through = seq - 1;
            self.next_since = now;
            self.waiting.retain(|w| w.seq.map_or(true, |s| s >= seq));
        }
        let next = self.done_through.saturating_add(1);
        let own = self.waiting.iter().position(|w| w.record == record);
        if seq == next {
            match own {
                Some(i) if self.waiting[i].not_before > now => {
                    return Gate::Defer {
                        not_before: self.waiting[i].not_before,
                        reason: "retry_pending".into(),
                        behind: None,
                    }
                }
                Some(i) => {
                    let mine = self.waiting.remove(i);
                    self.waiting.insert(
                        0,
                        Waiting {
                            not_before: now,
                            ..mine
                        },
                    );
                }
                None => self.waiting.insert(
                    0,
                    Waiting {
                        record: record.to_string(),
                        not_before: now,
                        seq: Some(seq),
                    },
                ),
            }
            return Gate::Run;
        }
        let head = self.waiting.iter().find(|w| w.seq == Some(next));
        let head_due = head.map_or(now, |h| h.not_before.max(now));
        let behind = head.map(|h| h.record.clone());
        let offset = SPACING_MS.saturating_mul((seq - next).min(50));
        let not_before = head_due.saturating_add(SPACING_MS).saturating_add(offset);
        match own {
            Some(i) => self.waiting[i].not_before = not_before,
            None => self.waiting.push(Waiting {
                record: record.to_string(),
                not_before,
                seq: Some(seq),
            }),
        }
        Gate::Defer {
            not_before,
            reason: "customer_waiting".into(),
            behind,
        }
    }

    /// Records how a record that ran ended: `Ended` removes it (and, for a
    /// numbered record, lets the next number run), `Waiting` keeps its place
    /// (at the head, where a record that ran always is) with its new retry time.
    pub fn settle(&mut self, record: &str, settled: Settled, not_before: u64) {
        match settled {
            Settled::Ended => {
                if let Some(seq) = self.waiting.iter().find(|w| w.record == record).and_then(|w| w.seq) {
                    if seq == self.done_through.saturating_add(1) {
                        self.done_through = seq;
                        self.next_since = 0;
                    }
                }
                self.waiting.retain(|w| w.record != record)
            }
            Settled::Waiting => match self.waiting.iter_mut().find(|w| w.record == record) {
                Some(w) => w.not_before = not_before,
                None => self.waiting.insert(
                    0,
                    Waiting {
                        record: record.to_string(),
                        not_before,
                        seq: None,
                    },
                ),
            },
        }
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

    #[test]
    fn the_gate_keeps_a_customers_order_whatever_the_redelivery_order() {
        let mut q = CustomerQueue::default();
        assert_eq!(q.gate("a", 0, 1000), Gate::Run);
        q.settle("a", Settled::Waiting, 500);
        // b and c arrive while a waits: they queue behind it.
        assert!(matches!(q.gate("b", 10, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate("c", 20, 100_000), Gate::Defer { .. }));
        // c comes back first, then a before its time, then a in time.
        assert!(matches!(q.gate("c", 600, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate("a", 400, 100_000), Gate::Defer { ref reason, .. } if reason == "retry_pending"));
        assert_eq!(q.gate("a", 600, 100_000), Gate::Run);
        q.settle("a", Settled::Ended, 0);
        assert!(matches!(q.gate("c", 700, 100_000), Gate::Defer { .. }));
        // b comes back at the time it was requeued to (not before).
        assert!(matches!(q.gate("b", 800, 100_000), Gate::Defer { ref reason, .. } if reason == "retry_pending"));
        assert_eq!(q.gate("b", 900, 100_000), Gate::Run);
        q.settle("b", Settled::Ended, 0);
        assert_eq!(q.gate("c", 1300, 100_000), Gate::Run);
        q.settle("c", Settled::Ended, 0);
        assert!(q.waiting.is_empty());
    }

    #[test]
    fn a_record_promoted_to_the_head_is_not_stale() {
        let mut q = CustomerQueue::default();
        q.settle("a", Settled::Waiting, 100);
        let Gate::Defer { not_before, .. } = q.gate("b", 50, 1000) else {
            panic!("b waits behind a")
        };
        assert_eq!(q.gate("a", 100, 1000), Gate::Run);
        q.settle("a", Settled::Ended, 0);
        // c arrives long after b was queued, but before b's time is stale.
        assert!(matches!(q.gate("c", not_before + 500, 1000), Gate::Defer { .. }));
        assert_eq!(q.gate("b", not_before + 600, 1000), Gate::Run);
    }

    #[test]
    fn a_record_whose_worker_died_keeps_its_place() {
        let mut q = CustomerQueue::default();
        assert_eq!(q.gate("a", 0, 100_000), Gate::Run);
        // The worker dies before settling a; b arrives first, a comes back.
        assert!(matches!(q.gate("b", 10, 100_000), Gate::Defer { behind: Some(ref h), .. } if h == "a"));
        assert_eq!(q.gate("a", 20, 100_000), Gate::Run);
        q.settle("a", Settled::Ended, 0);
        assert_eq!(q.gate("b", 500, 100_000), Gate::Run);
        q.settle("b", Settled::Ended, 0);
        assert!(q.waiting.is_empty());
    }

    #[test]
    fn numbered_records_run_in_their_order_whatever_order_they_arrive_in() {
        let mut q = CustomerQueue::default();
        assert_eq!(q.gate_in_sequence("r1", 1, 0, 100_000), Gate::Run);
        q.settle("r1", Settled::Ended, 0);
        // r2's worker died before its gate; r3 and r4 arrive first.
        assert!(matches!(q.gate_in_sequence("r3", 3, 10, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate_in_sequence("r4", 4, 20, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate_in_sequence("r4", 4, 900, 100_000), Gate::Defer { .. }));
        assert_eq!(q.gate_in_sequence("r2", 2, 1000, 100_000), Gate::Run);
        // A retry of r2 keeps r3 waiting.
        q.settle("r2", Settled::Waiting, 2000);
        assert!(
            matches!(q.gate_in_sequence("r3", 3, 1500, 100_000), Gate::Defer { behind: Some(ref h), .. } if h == "r2")
        );
        assert!(
            matches!(q.gate_in_sequence("r2", 2, 1500, 100_000), Gate::Defer { ref reason, .. } if reason == "retry_pending")
        );
        assert_eq!(q.gate_in_sequence("r2", 2, 2000, 100_000), Gate::Run);
        q.settle("r2", Settled::Ended, 0);
        assert!(matches!(q.gate_in_sequence("r4", 4, 2100, 100_000), Gate::Defer { .. }));
        // r3 comes back at the time it was requeued to, then r4.
        assert_eq!(q.gate_in_sequence("r3", 3, 2400, 100_000), Gate::Run);
        q.settle("r3", Settled::Ended, 0);
        assert_eq!(q.gate_in_sequence("r4", 4, 2800, 100_000), Gate::Run);
        q.settle("r4", Settled::Ended, 0);
        // A redelivered copy of an ended record runs (the ledger skips it).
        assert_eq!(q.gate_in_sequence("r2", 2, 2900, 100_000), Gate::Run);
        assert!(q.waiting.is_empty());
        assert_eq!(q.done_through, 4);
    }

    #[test]
    fn a_number_that_never_comes_blocks_its_customer_only_until_stale() {
        let mut q = CustomerQueue::default();
        assert!(matches!(q.gate_in_sequence("r2", 2, 1, 1000), Gate::Defer { .. }));
        assert!(matches!(q.gate_in_sequence("r2", 2, 900, 1000), Gate::Defer { .. }));
        assert_eq!(q.gate_in_sequence("r2", 2, 1500, 1000), Gate::Run);
        q.settle("r2", Settled::Ended, 0);
        assert_eq!(q.done_through, 2);
        // The JSON call reads the same state back: see api::partition's tests.
        let mut next = q.clone();
        assert_eq!(next.gate_in_sequence("r3", 3, 1600, DEFAULT_STALE_AFTER_MS), Gate::Run);
    }

    #[test]
    fn a_stale_head_is_dropped() {
        let mut q = CustomerQueue::default();
        q.settle("a", Settled::Waiting, 100);
        assert!(matches!(q.gate("b", 200, 1000), Gate::Defer { .. }));
        assert_eq!(q.gate("b", 2000, 1000), Gate::Run);
    }
}
