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

/// Starts the record at the cursor (see [`start_record_at`]).
pub(super) fn start_record(flow: &mut Flow, now: u64) {
    start_record_at(flow, flow.state.cursor, now);
}

/// Starts record `index`: plans its tasks, or ends it at once when its line
/// was refused or an earlier record of its customer waits.
pub(super) fn start_record_at(flow: &mut Flow, index: usize, now: u64) {
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::Task::*;
    use super::*;
    use crate::flow::ledger::EntryState;

    fn planned(flow: &Flow, index: usize) -> Vec<Task> {
        let record = flow.items[index].record.as_ref().expect("a valid record");
        plan_tasks(flow, record).into()
    }

    #[test]
    fn referential_records_are_one_write() {
        let flow = flow_of(&[customer("C1"), product("P1")]);
        assert_eq!(planned(&flow, 0), [Write(Domain::Customer, "C1".into())]);
        assert_eq!(planned(&flow, 1), [Write(Domain::Product, "P1".into())]);
    }

    #[test]
    fn a_quote_needs_its_firm_and_is_read_back_then_announced() {
        let flow = flow_of(&[quote("Q1")]);
        assert_eq!(
            planned(&flow, 0),
            [
                ResolveFirm("C1".into()),
                Write(Domain::Quote, "Q1".into()),
                ReadBack(Domain::Quote, "Q1".into()),
                Publish(Domain::Quote, "Q1".into(), "quote.created"),
            ]
        );
    }

    #[test]
    fn an_order_from_a_quote_accepts_the_quote_first() {
        let flow = flow_of(&[
            order("O1", Some("Q1"), &[("P1", "2")]),
            order("O2", None, &[("P1", "2")]),
        ]);
        assert_eq!(
            planned(&flow, 0),
            [
                ResolveFirm("C1".into()),
                ResolveDoc(Domain::Quote, "Q1".into()),
                Check(super::Check::QuoteAcceptable("Q1".into())),
                SetStatus(Domain::Quote, "Q1".into(), "accepted"),
                ReadBack(Domain::Quote, "Q1".into()),
                Write(Domain::Order, "O1".into()),
                ReadBack(Domain::Order, "O1".into()),
                Publish(Domain::Order, "O1".into(), "order.created"),
            ]
        );
        assert_eq!(planned(&flow, 1).len(), 4, "no quote, no quote tasks");
    }

    #[test]
    fn an_invoice_is_checked_against_its_order() {
        let flow = flow_of(&[invoice("F1", "O1", &[("P1", "1")])]);
        assert_eq!(
            planned(&flow, 0),
            [
                ResolveDoc(Domain::Order, "O1".into()),
                Check(super::Check::Invoice),
                Write(Domain::Invoice, "F1".into()),
                ReadBack(Domain::Invoice, "F1".into()),
                Publish(Domain::Invoice, "F1".into(), "invoice.created"),
            ]
        );
    }

    #[test]
    fn a_movement_delivering_an_order_updates_its_delivery_status() {
        let flow = flow_of(&[
            movement("M1", "-2", "sale", Some("O1")),
            movement("M2", "5", "reception", None),
        ]);
        assert_eq!(
            planned(&flow, 0),
            [
                ResolveProduct("P1".into()),
                ResolveDoc(Domain::Order, "O1".into()),
                Check(super::Check::Delivery("O1".into())),
                Write(Domain::StockMovement, "M1".into()),
                SyncDelivery("O1".into()),
                ReadBack(Domain::Order, "O1".into()),
                Publish(Domain::StockMovement, "M1".into(), "stock.moved"),
            ]
        );
        assert_eq!(
            planned(&flow, 1),
            [
                ResolveProduct("P1".into()),
                Write(Domain::StockMovement, "M2".into()),
                Publish(Domain::StockMovement, "M2".into(), "stock.moved"),
            ]
        );
    }

    #[test]
    fn a_cancellation_cancels_or_credits_each_invoice_of_the_order() {
        let mut flow = flow_of(&[cancellation("O1")]);
        put_order(&mut flow, "O1", "confirmed", &[]);
        let mut order = entry(&flow, Domain::Order, "O1").cloned().unwrap();
        order.invoices = vec!["F1".into()];
        flow.state.ledger.put(order);
        let tail = [
            SetStatus(Domain::Order, "O1".into(), "cancelled"),
            ReadBack(Domain::Order, "O1".into()),
            Publish(Domain::Order, "O1".into(), "order.cancelled"),
        ];
        flow.profile.invoice_mode = InvoiceMode::Draft;
        let draft = planned(&flow, 0);
        assert_eq!(draft[0], ResolveDoc(Domain::Order, "O1".into()));
        assert_eq!(
            draft[1..3],
            [
                SetStatus(Domain::Invoice, "F1".into(), "cancelled"),
                ReadBack(Domain::Invoice, "F1".into())
            ]
        );
        assert_eq!(draft[3..], tail);
        flow.profile.invoice_mode = InvoiceMode::Final;
        let fin = planned(&flow, 0);
        assert_eq!(
            fin[1..4],
            [
                Write(Domain::CreditNote, "F1".into()),
                ReadBack(Domain::CreditNote, "F1".into()),
                Publish(Domain::CreditNote, "F1".into(), "credit_note.created"),
            ]
        );
        assert_eq!(fin[4..], tail);
    }

    #[test]
    fn documents_of_an_order_belong_to_the_customer_its_ledger_entry_names() {
        let mut flow = flow_of(&[
            movement("M1", "-2", "sale", Some("O1")),
            movement("M2", "5", "reception", None),
            invoice("F1", "O2", &[("P1", "1")]),
            cancellation("O1"),
            quote("Q1"),
            product("P1"),
        ]);
        // Before the order is known, its documents' customer is not.
        assert_eq!(customer_of(&flow, 0), None);
        put_order(&mut flow, "O1", "confirmed", &[]);
        let customers: Vec<Option<String>> = (0..6).map(|i| customer_of(&flow, i)).collect();
        let c1 = Some("C1".to_string());
        assert_eq!(customers, [c1.clone(), None, None, c1.clone(), c1, None]);
    }

    #[test]
    fn a_record_behind_a_waiting_record_of_its_customer_waits_too() {
        let mut flow = flow_of(&[movement("M1", "-2", "sale", Some("O1"))]);
        put_order(&mut flow, "O1", "confirmed", &[("P1", "2", "0", "0")]);
        let earlier = crate::flow::ErrorInfo::business("http.429", "incwo is down");
        flow.state.blocked_customers.insert("C1".into(), (5_000, earlier));
        start_record(&mut flow, 1_000);
        match outcome(&flow, 0) {
            Some(Outcome::Deferred { not_before, error }) => {
                assert_eq!(*not_before, 5_000);
                assert_eq!(error.code, "deferred.customer_waiting");
                assert!(error.message.contains("http.429"), "{}", error.message);
            }
            other => panic!("expected deferred, got {other:?}"),
        }
        // Once the wait is over, the record runs.
        let mut flow2 = flow_of(&[movement("M1", "-2", "sale", Some("O1"))]);
        put_order(&mut flow2, "O1", "confirmed", &[("P1", "2", "0", "0")]);
        flow2.state.blocked_customers = flow.state.blocked_customers.clone();
        start_record(&mut flow2, 5_000);
        assert_eq!(outcome(&flow2, 0), None);
        assert_eq!(flow2.engine.run.as_ref().map(|r| r.tasks.len()), Some(7));
    }

    #[test]
    fn a_refused_line_is_quarantined_with_its_class() {
        let mut bad = product("P1");
        bad["record"]["taxCode"] = "NOPE".into();
        let mut flow = flow_of(&[bad]);
        start_record(&mut flow, 0);
        match outcome(&flow, 0) {
            Some(Outcome::Quarantined { error }) => {
                assert_eq!(
                    (error.class.as_str(), error.code.as_str()),
                    ("contract", "contract.invalid")
                );
                assert!(!error.violations.is_empty());
            }
            other => panic!("expected quarantined, got {other:?}"),
        }
    }

    #[test]
    fn lines_name_the_products_the_ledger_knows_and_the_record_its_id() {
        let mut flow = flow_of(&[order("O1", None, &[("P1", "1"), ("P2", "1")])]);
        put_done(&mut flow, Domain::Product, "P1", 31);
        let mut pending = put_done(&mut flow, Domain::Product, "P2", 32);
        pending.state = EntryState::Pending;
        flow.state.ledger.put(pending);
        begin(&mut flow);
        let links = &flow.engine.run.as_ref().unwrap().links.product_ids;
        assert_eq!(links.get("P1"), Some(&31));
        assert_eq!(links.get("P2"), None, "a pending product is not linked");
        assert_eq!(primary_id(&flow), None);
        put_done(&mut flow, Domain::Order, "O1", 77);
        assert_eq!(primary_id(&flow), Some(77));
    }
}
