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
                for (sku, qty) in checked_quantities(&invoice.lines) {
                    let Some(line) = order.lines.get(&sku) else {
                        return quarantine(
                            "business.line_not_on_order",
                            format!("{sku} is not on order {}", invoice.source_order),
                        );
                    };
                    if let Some(why) = excess(line.ordered, line.invoiced, qty, "invoiced") {
                        return quarantine("business.over_invoicing", format!("{sku}: {why}"));
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
                    Some(line) => {
                        if let Some(why) = excess(line.ordered, line.delivered, Some(qty), "delivered") {
                            return quarantine("business.over_delivery", format!("{}: {why}", movement.sku));
                        }
                    }
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
    checked_quantities(lines)
        .into_iter()
        .map(|(sku, sum)| (sku, sum.unwrap_or(Decimal::MAX)))
        .collect()
}

/// Per-SKU sums of a record's lines; `None` for a sum beyond the decimal range.
fn checked_quantities(lines: &[Line]) -> BTreeMap<String, Option<Decimal>> {
    let mut out = BTreeMap::new();
    for line in lines {
        let sum = out.entry(line.sku.clone()).or_insert(Some(Decimal::ZERO));
        *sum = sum.and_then(|s| s.checked_add(line.qty));
    }
    out
}

/// Whether `done + more` exceeds `ordered`; a sum beyond the decimal range
/// (from a hand-edited checkpoint) exceeds it too.
pub(super) fn exceeds(done: Decimal, more: Decimal, ordered: Decimal) -> bool {
    done.checked_add(more).map_or(true, |sum| sum > ordered)
}

/// Why `more` (`None`: the record's own sum overflowed) on top of `done`
/// exceeds `ordered`, or `None` when it fits. An overflowing sum is said to
/// overflow, never printed as the largest decimal.
fn excess(ordered: Decimal, done: Decimal, more: Option<Decimal>, verb: &str) -> Option<String> {
    match more {
        None => Some(format!(
            "{ordered} ordered, {done} already {verb}: this record's quantities sum beyond the decimal range, which exceeds any order"
        )),
        Some(more) if done.checked_add(more).is_none() => Some(format!(
            "{ordered} ordered, {done} already {verb}: {more} more sums beyond the decimal range, which exceeds any order"
        )),
        Some(more) if exceeds(done, more, ordered) => Some(format!(
            "{ordered} ordered, {done} already {verb}, {more} more would exceed the order"
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::flow::Outcome;

    /// The code a check quarantines with, or `None` when the record goes on.
    fn checked(flow: &mut Flow, check: Check) -> Option<String> {
        begin(flow);
        match run_check(flow, &check) {
            Step::Continue => None,
            Step::Finish(Outcome::Quarantined { error }) => Some(error.code),
            _ => panic!("a check neither sends nor defers"),
        }
    }

    #[test]
    fn exceeding_is_strictly_more_than_ordered_and_overflow_exceeds() {
        assert!(!exceeds(dec("5"), dec("5"), dec("10")));
        assert!(exceeds(dec("5"), dec("5.001"), dec("10")));
        assert!(!exceeds(dec("0"), dec("0"), dec("0")));
        assert!(
            exceeds(Decimal::MAX, dec("1"), Decimal::MAX),
            "an overflowing sum exceeds"
        );
    }

    #[test]
    fn an_overflowing_sum_is_said_to_overflow_not_printed_as_the_largest_decimal() {
        let max = Decimal::MAX.to_string();
        let fits = excess(dec("10"), dec("5"), Some(dec("5")), "invoiced");
        assert_eq!(fits, None);
        let over = excess(dec("10"), dec("5"), Some(dec("6")), "invoiced").unwrap();
        assert_eq!(over, "10 ordered, 5 already invoiced, 6 more would exceed the order");
        for why in [
            excess(dec("10"), dec("5"), None, "invoiced").unwrap(),
            excess(dec("10"), Decimal::MAX, Some(dec("1")), "delivered").unwrap(),
        ] {
            assert!(why.contains("beyond the decimal range"), "{why}");
        }
        let own = excess(dec("10"), dec("5"), None, "invoiced").unwrap();
        assert!(!own.contains(&max), "{own}");
        let line = |qty: Decimal| Line {
            sku: "A".into(),
            description: None,
            qty,
            unit_price_excl_tax: Decimal::ONE,
            tax_code: "TVA20".into(),
        };
        assert_eq!(checked_quantities(&[line(Decimal::MAX), line(Decimal::MAX)])["A"], None);
    }

    #[test]
    fn quantities_sum_per_sku_and_saturate() {
        let line = |sku: &str, qty: Decimal| Line {
            sku: sku.into(),
            description: None,
            qty,
            unit_price_excl_tax: Decimal::ONE,
            tax_code: "TVA20".into(),
        };
        let sums = quantities(&[line("A", dec("1.5")), line("B", dec("2")), line("A", dec("2.5"))]);
        assert_eq!(
            sums.into_iter().collect::<Vec<_>>(),
            [("A".into(), dec("4")), ("B".into(), dec("2"))]
        );
        let huge = quantities(&[line("A", Decimal::MAX), line("A", Decimal::MAX)]);
        assert_eq!(huge["A"], Decimal::MAX);
        assert!(quantities(&[]).is_empty());
    }

    #[test]
    fn an_invoice_may_not_exceed_its_order_nor_add_lines() {
        let cases = [
            (vec![("P1", "4")], None),
            (vec![("P1", "3"), ("P1", "2")], Some("business.over_invoicing")),
            (vec![("P2", "1")], Some("business.line_not_on_order")),
        ];
        for (lines, expected) in cases {
            let mut flow = flow_of(&[invoice("F1", "O1", &lines)]);
            put_order(&mut flow, "O1", "confirmed", &[("P1", "10", "0", "6")]);
            assert_eq!(checked(&mut flow, Check::Invoice).as_deref(), expected, "{lines:?}");
        }
    }

    #[test]
    fn a_cancelled_or_other_currency_order_cannot_be_invoiced() {
        let mut flow = flow_of(&[invoice("F1", "O1", &[("P1", "1")])]);
        put_order(&mut flow, "O1", "cancelled", &[("P1", "10", "0", "0")]);
        assert_eq!(
            checked(&mut flow, Check::Invoice).as_deref(),
            Some("business.order_cancelled")
        );
        let mut eur = invoice("F1", "O1", &[("P1", "1")]);
        eur["record"]["currency"] = "EUR".into();
        let mut flow = flow_of(&[eur]);
        put_order(&mut flow, "O1", "confirmed", &[("P1", "10", "0", "0")]);
        assert_eq!(checked(&mut flow, Check::Invoice), None);
        let mut usd_order = entry(&flow, Domain::Order, "O1").cloned().unwrap();
        usd_order.currency = Some("USD".into());
        flow.state.ledger.put(usd_order);
        assert_eq!(
            checked(&mut flow, Check::Invoice).as_deref(),
            Some("business.currency_mismatch")
        );
    }

    #[test]
    fn an_invoice_already_written_or_on_an_unknown_order_is_not_checked() {
        let mut flow = flow_of(&[invoice("F1", "O1", &[("P1", "99")])]);
        assert_eq!(
            checked(&mut flow, Check::Invoice),
            None,
            "no order entry: nothing to check"
        );
        put_order(&mut flow, "O1", "confirmed", &[("P1", "10", "0", "0")]);
        put_done(&mut flow, Domain::Invoice, "F1", 5);
        assert_eq!(
            checked(&mut flow, Check::Invoice),
            None,
            "done: a replay is not re-checked"
        );
    }

    #[test]
    fn a_sale_may_not_deliver_more_than_ordered_and_a_return_is_not_limited() {
        let cases = [
            (movement("M1", "-4", "sale", Some("O1")), None),
            (movement("M1", "-5", "sale", Some("O1")), Some("business.over_delivery")),
            (movement("M1", "50", "return", Some("O1")), None),
        ];
        for (record, expected) in cases {
            let mut flow = flow_of(&[record]);
            put_order(&mut flow, "O1", "partiallyDelivered", &[("P1", "10", "6", "0")]);
            assert_eq!(checked(&mut flow, Check::Delivery("O1".into())).as_deref(), expected);
        }
        let mut flow = flow_of(&[movement("M1", "-1", "sale", Some("O1"))]);
        put_order(&mut flow, "O1", "confirmed", &[("P2", "10", "0", "0")]);
        assert_eq!(
            checked(&mut flow, Check::Delivery("O1".into())).as_deref(),
            Some("business.line_not_on_order")
        );
        put_order(&mut flow, "O1", "cancelled", &[("P1", "10", "0", "0")]);
        assert_eq!(
            checked(&mut flow, Check::Delivery("O1".into())).as_deref(),
            Some("business.order_cancelled")
        );
    }

    #[test]
    fn a_quote_is_acceptable_unless_its_status_forbids_it() {
        for (status, expected) in [
            (None, None),
            (Some("draft"), None),
            (Some("sent"), None),
            (Some("accepted"), None),
            (Some("refused"), Some("business.invalid_transition")),
            (Some("expired"), Some("business.invalid_transition")),
        ] {
            let mut flow = flow_of(&[order("O1", Some("Q1"), &[("P1", "1")])]);
            if let Some(status) = status {
                let mut e = put_done(&mut flow, Domain::Quote, "Q1", 3);
                e.status = Some(status.into());
                flow.state.ledger.put(e);
            }
            assert_eq!(
                checked(&mut flow, Check::QuoteAcceptable("Q1".into())).as_deref(),
                expected,
                "{status:?}"
            );
        }
    }
}
