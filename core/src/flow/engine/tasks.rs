//! Starting a record: the tasks it plans into, the customer it belongs to
//! (the model's rule, with its order's customer from the ledger), the
//! products its lines link to, and the incwo id it ends with.

use super::outputs::finish;
use super::{entry, record, run, tenant, Run};
use crate::flow::ledger::{Domain, EntryState};
use crate::flow::{ErrorInfo, Flow, Outcome};
use crate::mapping::InvoiceMode;
use crate::model::{self, Line, Record};
use std::collections::VecDeque;

/// One unit of work of a record.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Task {
    /// Know the customer's firm id (ledger, else incwo) or quarantine.
    ResolveFirm(String),
    /// Know a product's id (ledger, else incwo) or quarantine.
    ResolveProduct(String),
    /// Know a quote or an order (ledger, else incwo) or quarantine.
    ResolveDoc(Domain, String),
    /// Business checks before writing.
    Check(Check),
    /// Create (or upsert) the object of a domain.
    Write(Domain, String),
    /// Move a document to a status.
    SetStatus(Domain, String, &'static str),
    /// Set an order's delivery status from its quantities.
    SyncDelivery(String),
    /// Read a written document back and compare.
    ReadBack(Domain, String),
    /// Read a document whose status change incwo refused and record the
    /// status incwo holds (an earlier attempt, or a run that crashed, may
    /// have applied it); the record then ends with the refusal.
    Refresh(Domain, String, Box<ErrorInfo>),
    /// Hand the confirmation event to the host.
    Publish(Domain, String, &'static str),
}

/// A business check before a write (see `checks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Check {
    /// The quote may move to `accepted`.
    QuoteAcceptable(String),
    /// The invoice fits its order (status, currency, quantities).
    Invoice,
    /// The movement fits the order it delivers.
    Delivery(String),
}

/// The customer record `index` belongs to (see [`model::identity`]): an
/// invoice's, a cancellation's and a delivering movement's is its order's,
/// as the order's ledger entry records it.
pub(super) fn customer_of(flow: &Flow, index: usize) -> Option<String> {
    let record = flow.items[index].record.as_ref().ok()?;
    model::customer_of(record.kind(), record, |order| {
        entry(flow, Domain::Order, order).and_then(|e| e.customer.clone())
    })
}

/// Starts the record at the cursor: plans its tasks, or ends it at once when
/// its line was refused or an earlier record of its customer waits.
pub(super) fn start_record(flow: &mut Flow, now: u64) {
    let index = flow.state.cursor;
    let item = &flow.items[index];
    let correlation_id = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!(
            "{}/{}/{}",
            tenant(flow),
            item.line,
            item.external_id.as_deref().unwrap_or("")
        )
        .as_bytes(),
    )
    .to_string();
    let tasks = match &item.record {
        Ok(record) => plan_tasks(flow, record),
        Err(_) => VecDeque::new(),
    };
    flow.engine.run = Some(Run::new(index, tasks, correlation_id));
    link_known_products(flow);
    let rejection = flow.items[index].record.as_ref().err().cloned();
    if let Some(rejection) = rejection {
        let error = ErrorInfo {
            class: if rejection.code.starts_with("contract") {
                "contract"
            } else {
                "usage"
            }
            .into(),
            code: rejection.code,
            message: rejection.message,
            violations: rejection.violations,
            details: None,
        };
        finish(flow, Outcome::Quarantined { error }, now);
        return;
    }
    if let Some(customer) = customer_of(flow, index) {
        if let Some((not_before, error)) = flow.state.blocked_customers.get(&customer).cloned() {
            if now < not_before {
                let error = ErrorInfo {
                    code: "deferred.customer_waiting".into(),
                    message: format!(
                        "an earlier record of this customer waits ({}); this one keeps its place behind it",
                        error.code
                    ),
                    ..error
                };
                finish(flow, Outcome::Deferred { not_before, error }, now);
            }
        }
    }
}

/// Links the lines of a document to the products the ledger knows, so
/// incwo's lines name their product (a SKU the connector never synced stays
/// a free line).
fn link_known_products(flow: &mut Flow) {
    let lines: &[Line] = match record(flow) {
        Some(Record::Quote(q)) => &q.lines,
        Some(Record::Order(o)) => &o.lines,
        Some(Record::Invoice(i)) => &i.lines,
        _ => return,
    };
    let known: Vec<(String, u64)> = lines
        .iter()
        .filter_map(|l| {
            let e = entry(flow, Domain::Product, &l.sku).filter(|e| e.state == EntryState::Done)?;
            Some((l.sku.clone(), e.incwo_id?))
        })
        .collect();
    run(flow).links.product_ids.extend(known);
}

/// The tasks of a record, in order.
fn plan_tasks(flow: &Flow, record: &Record) -> VecDeque<Task> {
    use Task::*;
    let mut t = VecDeque::new();
    match record {
        Record::Customer(c) => t.push_back(Write(Domain::Customer, c.external_id.clone())),
        Record::Product(p) => t.push_back(Write(Domain::Product, p.sku.clone())),
        Record::Quote(q) => {
            t.push_back(ResolveFirm(q.customer_external_id.clone()));
            t.push_back(Write(Domain::Quote, q.quote_number.clone()));
            t.push_back(ReadBack(Domain::Quote, q.quote_number.clone()));
            t.push_back(Publish(Domain::Quote, q.quote_number.clone(), "quote.created"));
        }
        Record::Order(o) => {
            t.push_back(ResolveFirm(o.customer_external_id.clone()));
            if let Some(quote) = &o.source_quote {
                t.push_back(ResolveDoc(Domain::Quote, quote.clone()));
                t.push_back(Check(self::Check::QuoteAcceptable(quote.clone())));
                t.push_back(SetStatus(Domain::Quote, quote.clone(), "accepted"));
                t.push_back(ReadBack(Domain::Quote, quote.clone()));
            }
            t.push_back(Write(Domain::Order, o.order_number.clone()));
            t.push_back(ReadBack(Domain::Order, o.order_number.clone()));
            t.push_back(Publish(Domain::Order, o.order_number.clone(), "order.created"));
        }
        Record::Invoice(i) => {
            t.push_back(ResolveDoc(Domain::Order, i.source_order.clone()));
            t.push_back(Check(self::Check::Invoice));
            t.push_back(Write(Domain::Invoice, i.invoice_number.clone()));
            t.push_back(ReadBack(Domain::Invoice, i.invoice_number.clone()));
            t.push_back(Publish(Domain::Invoice, i.invoice_number.clone(), "invoice.created"));
        }
        Record::StockMovement(m) => {
            t.push_back(ResolveProduct(m.sku.clone()));
            if let Some(order) = &m.source_order {
                t.push_back(ResolveDoc(Domain::Order, order.clone()));
                t.push_back(Check(self::Check::Delivery(order.clone())));
            }
            t.push_back(Write(Domain::StockMovement, m.movement_id.clone()));
            if let Some(order) = &m.source_order {
                t.push_back(SyncDelivery(order.clone()));
                t.push_back(ReadBack(Domain::Order, order.clone()));
            }
            t.push_back(Publish(Domain::StockMovement, m.movement_id.clone(), "stock.moved"));
        }
        Record::Cancellation(c) => {
            t.push_back(ResolveDoc(Domain::Order, c.order_number.clone()));
            let invoices = entry(flow, Domain::Order, &c.order_number)
                .map(|e| e.invoices.clone())
                .unwrap_or_default();
            for invoice in invoices {
                match flow.profile.invoice_mode {
                    InvoiceMode::Draft => {
                        t.push_back(SetStatus(Domain::Invoice, invoice.clone(), "cancelled"));
                        t.push_back(ReadBack(Domain::Invoice, invoice));
                    }
                    InvoiceMode::Final => {
                        t.push_back(Write(Domain::CreditNote, invoice.clone()));
                        t.push_back(ReadBack(Domain::CreditNote, invoice.clone()));
                        t.push_back(Publish(Domain::CreditNote, invoice, "credit_note.created"));
                    }
                }
            }
            t.push_back(SetStatus(Domain::Order, c.order_number.clone(), "cancelled"));
            t.push_back(ReadBack(Domain::Order, c.order_number.clone()));
            t.push_back(Publish(Domain::Order, c.order_number.clone(), "order.cancelled"));
        }
    }
    t
}

/// The incwo id of the record's main object, once the ledger knows it.
pub(super) fn primary_id(flow: &Flow) -> Option<u64> {
    let record = record(flow)?;
    entry(flow, record.domain(), record.external_id()).and_then(|e| e.incwo_id)
}
