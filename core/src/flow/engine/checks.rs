//! Business checks before a write: a quote may be accepted, an invoice fits
//! its order (not cancelled, same currency, no line beyond what was
//! ordered), a movement fits the order it delivers. A failed check
//! quarantines the record before any request is built.

use super::tasks::Check;
use super::{entry, pop, quarantine, record, Step};
use crate::flow::ledger::{Domain, EntryState};
use crate::flow::transitions::{self, DocType};
use crate::flow::Flow;
use crate::model::{Line, Record};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Runs a check: the record goes on (`pop`) or is quarantined.
pub(super) fn run_check(flow: &mut Flow, check: &Check) -> Step {
    match check {
        Check::QuoteAcceptable(quote) => {
            let status = entry(flow, Domain::Quote, quote).and_then(|e| e.status.clone());
            match status.as_deref() {
                None | Some("accepted") => {}
                Some(from) => {
                    if let Err(e) = transitions::check(DocType::Quote, from, "accepted") {
                        return quarantine("business.invalid_transition", format!("quote {quote}: {e}"));
                    }
                }
            }
        }
        Check::Invoice => {
            let Some(Record::Invoice(invoice)) = record(flow).cloned() else {
                return pop(flow);
            };
            if entry(flow, Domain::Invoice, &invoice.invoice_number).is_some_and(|e| e.state == EntryState::Done) {
                return pop(flow);
            }
            let Some(order) = entry(flow, Domain::Order, &invoice.source_order).cloned() else {
                return pop(flow);
            };
            if order.status.as_deref() == Some("cancelled") {
                return quarantine(
                    "business.order_cancelled",
                    format!("order {} is cancelled: it cannot be invoiced", invoice.source_order),
                );
            }
            if let (Some(wanted), Some(actual)) = (&invoice.currency, &order.currency) {
                if wanted != actual {
                    return quarantine(
                        "business.currency_mismatch",
                        format!(
                            "the invoice is in {wanted} but order {} is in {actual}",
                            invoice.source_order
                        ),
                    );
                }
            }
            if !order.lines.is_empty() {
                for (sku, qty) in quantities(&invoice.lines) {
                    let Some(line) = order.lines.get(&sku) else {
                        return quarantine(
                            "business.line_not_on_order",
                            format!("{sku} is not on order {}", invoice.source_order),
                        );
                    };
                    if exceeds(line.invoiced, qty, line.ordered) {
                        return quarantine(
                            "business.over_invoicing",
                            format!(
                                "{sku}: {} ordered, {} already invoiced, {qty} more would exceed the order",
                                line.ordered, line.invoiced
                            ),
                        );
                    }
                }
            }
        }
        Check::Delivery(order_number) => {
            let Some(Record::StockMovement(movement)) = record(flow).cloned() else {
                return pop(flow);
            };
            if entry(flow, Domain::StockMovement, &movement.movement_id).is_some_and(|e| e.state == EntryState::Done) {
                return pop(flow);
            }
            let Some(order) = entry(flow, Domain::Order, order_number).cloned() else {
                return pop(flow);
            };
            if order.status.as_deref() == Some("cancelled") {
                return quarantine(
                    "business.order_cancelled",
                    format!("order {order_number} is cancelled: nothing can be delivered on it"),
                );
            }
            if movement.qty.is_sign_negative() && !order.lines.is_empty() {
                let qty = -movement.qty;
                match order.lines.get(&movement.sku) {
                    None => {
                        return quarantine(
                            "business.line_not_on_order",
                            format!("{} is not on order {order_number}", movement.sku),
                        )
                    }
                    Some(line) if exceeds(line.delivered, qty, line.ordered) => {
                        return quarantine(
                            "business.over_delivery",
                            format!(
                                "{}: {} ordered, {} already delivered, {qty} more would exceed the order",
                                movement.sku, line.ordered, line.delivered
                            ),
                        )
                    }
                    Some(_) => {}
                }
            }
        }
    }
    pop(flow)
}

/// Per-SKU sums of a record's lines. Validated lines cannot overflow a
/// decimal; if hostile ones do, the sum saturates, which exceeds any ordered
/// quantity and so ends as over-invoicing or over-delivery, never a panic.
pub(super) fn quantities(lines: &[Line]) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for line in lines {
        let sum = out.entry(line.sku.clone()).or_insert(Decimal::ZERO);
        *sum = sum.saturating_add(line.qty);
    }
    out
}

/// Whether `done + more` exceeds `ordered`; a sum beyond the decimal range
/// (from a hand-edited checkpoint) exceeds it too.
pub(super) fn exceeds(done: Decimal, more: Decimal, ordered: Decimal) -> bool {
    done.checked_add(more).map_or(true, |sum| sum > ordered)
}
