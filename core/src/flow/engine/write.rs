//! Writing an object: the body a record maps to, the create (after a
//! find-by-marker lookup when it may already exist) or the update of what
//! the ledger says was written, and what a create implies for related
//! entries (an order's quantities, its invoices, its deliveries).

use super::checks::quantities;
use super::lookup::{link, marker, search, sheet_type_matches};
use super::status::{adopt_status, unnamed_status};
use super::{entry, entry_mut, key, new_entry, pop, quarantine, record, run, step_of, Purpose, Step};
use crate::adapters::Adapter;
use crate::flow::ledger::{self, Domain, Entry, EntryState, LineQuantities};
use crate::flow::transitions::DocType;
use crate::flow::{ErrorInfo, Flow, Outcome};
use crate::mapping::{totals::Totals, v1, Mapped};
use crate::model::{Invoice, Line, MovementReason, Record};
use crate::telemetry::MetricEvent;
use rust_decimal::Decimal;

/// The body, hash and totals of the object a `Write` task creates.
pub(super) fn body_for(flow: &Flow, domain: Domain, external_id: &str) -> Result<(Mapped, String), ErrorInfo> {
    let links = &flow.engine.run.as_ref().expect("run").links;
    let profile = &flow.profile;
    let map_err = |e: crate::mapping::MapError| ErrorInfo::business(&e.code, e.message);
    let record = record(flow).ok_or_else(|| ErrorInfo::business("usage.no_record", "no record"))?;
    if domain == Domain::CreditNote {
        let invoice_entry = entry(flow, Domain::Invoice, external_id).ok_or_else(|| {
            ErrorInfo::business(
                "business.unknown_invoice",
                format!("invoice {external_id} is not in the ledger"),
            )
        })?;
        let totals = invoice_entry.totals.clone().ok_or_else(|| {
            ErrorInfo::business(
                "business.unknown_invoice",
                format!("invoice {external_id} has no recorded totals"),
            )
        })?;
        let date = match record {
            Record::Cancellation(c) => c.cancelled_at,
            _ => chrono::NaiveDate::default(),
        };
        let invoice = credit_source(external_id, invoice_entry, &totals, date);
        let mapped =
            v1::map_credit_note(&invoice, date, profile, links, invoice_entry.currency.as_deref()).map_err(map_err)?;
        let hash = hash_for(flow, domain, external_id).unwrap_or_default();
        return Ok((mapped, hash));
    }
    let mapped = match (domain, record) {
        (Domain::Invoice, Record::Invoice(i)) => {
            let currency = entry(flow, Domain::Order, &i.source_order).and_then(|e| e.currency.clone());
            v1::map_invoice(i, profile, links, currency.as_deref())
        }
        _ => v1::map_record(record, profile, links),
    }
    .map_err(map_err)?;
    Ok((mapped, hash_for(flow, domain, external_id).unwrap_or_default()))
}

/// The payload hash of the object a `Write` task writes (the record's; a
/// credit note's, its invoice's recorded totals), without mapping it: enough
/// to tell that a written object has not changed. `None` without a record,
/// or for a credit note whose invoice has no recorded totals.
fn hash_for(flow: &Flow, domain: Domain, external_id: &str) -> Option<String> {
    if domain == Domain::CreditNote {
        let totals = entry(flow, Domain::Invoice, external_id)?.totals.as_ref()?;
        return Some(ledger::payload_hash(&(external_id, totals)));
    }
    record(flow).map(ledger::payload_hash)
}

/// A written object whose content has not changed (a replay): linked, and
/// nothing mapped or sent. `None` when it must go through [`write`].
fn unchanged(flow: &mut Flow, domain: Domain, external_id: &str) -> Option<Step> {
    let e = entry(flow, domain, external_id).filter(|e| e.state == EntryState::Done)?;
    let same = e.hash.is_empty() && domain != Domain::Customer && domain != Domain::Product
        || hash_for(flow, domain, external_id).is_some_and(|hash| hash == e.hash);
    if !same {
        return None;
    }
    let incwo_id = e.incwo_id;
    link(flow, domain, external_id, incwo_id);
    Some(pop(flow))
}

/// The invoice a credit note reverses, rebuilt from the ledger: one line per
/// tax code with the invoice's base, so the note's totals are the invoice's, negated.
fn credit_source(number: &str, invoice: &Entry, totals: &Totals, date: chrono::NaiveDate) -> Invoice {
    Invoice {
        invoice_number: number.to_string(),
        source_order: String::new(),
        issue_date: date,
        due_date: None,
        currency: invoice.currency.clone(),
        lines: totals
            .by_tax
            .iter()
            .map(|t| Line {
                sku: format!("CREDIT-{}", t.tax_code),
                description: Some(format!("Avoir sur facture {number} ({})", t.tax_code)),
                qty: Decimal::ONE,
                unit_price_excl_tax: t.base,
                tax_code: t.tax_code.clone(),
            })
            .collect(),
    }
}

/// Creates or updates the object of a `Write` task (see the module doc).
pub(super) fn write(flow: &mut Flow, domain: Domain, external_id: &str, now: u64) -> Step {
    if let Some(step) = unchanged(flow, domain, external_id) {
        return step;
    }
    let (mapped, hash) = match body_for(flow, domain, external_id) {
        Ok(x) => x,
        Err(error) => return Step::Finish(Outcome::Quarantined { error }),
    };
    let existing = entry(flow, domain, external_id).cloned();
    let correlation_id = run(flow).correlation_id.clone();
    let adapter = Adapter::new(domain);
    let k = key(flow, domain, external_id, step_of(domain));
    match existing.as_ref().map(|e| e.state) {
        Some(EntryState::Done) => {
            let e = existing.expect("checked");
            if e.hash == hash || e.hash.is_empty() && domain != Domain::Customer && domain != Domain::Product {
                link(flow, domain, external_id, e.incwo_id);
                return pop(flow);
            }
            let updatable = match domain {
                Domain::Customer | Domain::Product => true,
                Domain::Quote => matches!(e.status.as_deref(), Some("draft" | "sent")),
                Domain::Order => {
                    e.status.as_deref() == Some("confirmed")
                        && e.lines.values().all(|l| l.delivered.is_zero() && l.invoiced.is_zero())
                }
                Domain::Invoice => e.status.as_deref() == Some("draft"),
                Domain::CreditNote | Domain::StockMovement => false,
            };
            if !updatable {
                return quarantine(
                    "business.changed_after_write",
                    format!(
                        "{} {external_id} was already written with other content and its state ({}) forbids changing it",
                        domain.as_str(),
                        e.status.as_deref().unwrap_or("written")
                    ),
                );
            }
            let Some(id) = e.incwo_id else {
                return quarantine(
                    "business.unknown_id",
                    format!("{} {external_id} has no incwo id", domain.as_str()),
                );
            };
            match adapter.update(&flow.config, id, &mapped.xml, &correlation_id, Some(&k)) {
                Ok(request) => Step::Send(Purpose::Update(domain, external_id.to_string()), request),
                Err(e) => quarantine("usage.request", e.to_string()),
            }
        }
        state => {
            let referential = matches!(domain, Domain::Customer | Domain::Product);
            let must_search = state == Some(EntryState::Pending)
                || referential
                || (state.is_none() && flow.options.lookup_before_create);
            if must_search {
                let found = match search(
                    flow,
                    domain,
                    &marker(domain, external_id),
                    state == Some(EntryState::Pending),
                ) {
                    Ok(found) => found.filter(|f| sheet_type_matches(&flow.profile, domain, f)),
                    Err(step) => return step,
                };
                if let Some(found) = found {
                    if state == Some(EntryState::Pending) || !referential {
                        // Our own create (pending, or from a lost ledger):
                        // link it; the read-back compares its content.
                        if state.is_none() {
                            if let Some(step) = unnamed_status(flow, domain, external_id, found.progress_id) {
                                return step;
                            }
                        }
                        flow.registry.record(&MetricEvent::Replay {
                            reason: "reconciled".into(),
                        });
                        mark_created(flow, domain, external_id, found.id, hash, mapped.totals, now);
                        if state.is_none() {
                            // Found without a ledger entry (a lost ledger): it
                            // may have moved on since; keep the status incwo holds.
                            adopt_status(flow, domain, external_id, found.progress_id);
                        }
                        run(flow).did_work = true;
                        link(flow, domain, external_id, Some(found.id));
                        return pop(flow);
                    }
                    // Already in incwo but unknown to the ledger: adopt it and
                    // make it match the record.
                    let mut e = new_entry(flow, domain, external_id, EntryState::Done, String::new(), now);
                    e.incwo_id = Some(found.id);
                    flow.state.ledger.put(e);
                    return match adapter.update(&flow.config, found.id, &mapped.xml, &correlation_id, Some(&k)) {
                        Ok(request) => Step::Send(Purpose::Update(domain, external_id.to_string()), request),
                        Err(e) => quarantine("usage.request", e.to_string()),
                    };
                }
            }
            let mut e = existing
                .unwrap_or_else(|| new_entry(flow, domain, external_id, EntryState::Pending, hash.clone(), now));
            e.state = EntryState::Pending;
            e.hash = hash;
            e.updated_at = now;
            flow.state.ledger.put(e);
            let attempt = run(flow).create_attempts.saturating_add(1);
            match adapter.create(&flow.config, &mapped.xml, &correlation_id, Some(&k)) {
                Ok(request) => Step::Resend(Purpose::Create(domain, external_id.to_string()), request, attempt),
                Err(e) => quarantine("usage.request", e.to_string()),
            }
        }
    }
}

/// Marks a create done and applies its effects on related entries.
pub(super) fn mark_created(
    flow: &mut Flow,
    domain: Domain,
    external_id: &str,
    id: u64,
    hash: String,
    totals: Option<Totals>,
    now: u64,
) {
    let record = record(flow).cloned();
    let mut e = entry(flow, domain, external_id)
        .cloned()
        .unwrap_or_else(|| new_entry(flow, domain, external_id, EntryState::Done, hash.clone(), now));
    e.state = EntryState::Done;
    e.incwo_id = Some(id);
    e.hash = hash;
    e.updated_at = now;
    e.totals = totals;
    e.verified = false;
    e.published = false;
    match (domain, &record) {
        (Domain::Quote, Some(Record::Quote(q))) => {
            e.status = Some(DocType::Quote.initial().into());
            e.customer = Some(q.customer_external_id.clone());
            e.currency = Some(q.currency.clone());
        }
        (Domain::Order, Some(Record::Order(o))) => {
            e.status = Some(DocType::Order.initial().into());
            e.customer = Some(o.customer_external_id.clone());
            e.currency = Some(o.currency.clone());
            e.lines = quantities(&o.lines)
                .into_iter()
                .map(|(sku, ordered)| {
                    (
                        sku,
                        LineQuantities {
                            ordered,
                            ..Default::default()
                        },
                    )
                })
                .collect();
        }
        (Domain::Invoice, Some(Record::Invoice(i))) => {
            e.status = Some(v1::invoice_status(&flow.profile).into());
            let order = entry(flow, Domain::Order, &i.source_order);
            let (order_currency, order_customer) = (
                order.and_then(|o| o.currency.clone()),
                order.and_then(|o| o.customer.clone()),
            );
            e.currency = i.currency.clone().or(order_currency);
            e.customer = order_customer;
            if let Some(order) = entry_mut(flow, Domain::Order, &i.source_order) {
                if !order.invoices.contains(&i.invoice_number) {
                    order.invoices.push(i.invoice_number.clone());
                    for (sku, qty) in quantities(&i.lines) {
                        let line = order.lines.entry(sku).or_default();
                        line.invoiced = line.invoiced.saturating_add(qty);
                    }
                }
            }
        }
        (Domain::StockMovement, Some(Record::StockMovement(m))) => {
            // A sale naming its order delivers it; a return naming it takes
            // back what was delivered.
            if let Some(order) = m
                .source_order
                .as_deref()
                .and_then(|o| entry_mut(flow, Domain::Order, o))
            {
                let line = order.lines.entry(m.sku.clone()).or_default();
                match m.reason {
                    MovementReason::Sale if m.qty.is_sign_negative() => {
                        line.delivered = line.delivered.saturating_add(-m.qty)
                    }
                    MovementReason::Return if m.qty.is_sign_positive() => {
                        line.delivered = (line.delivered - m.qty).max(Decimal::ZERO)
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    flow.state.ledger.put(e);
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::mapping::totals::TaxTotal;

    fn tax(code: &str, base: &str, vat: &str) -> TaxTotal {
        TaxTotal {
            tax_code: code.into(),
            rate: dec("0.2"),
            base: dec(base),
            vat: dec(vat),
        }
    }

    #[test]
    fn a_credit_note_has_one_line_per_tax_code_of_its_invoice() {
        let mut invoice = new_entry(&flow_of(&[]), Domain::Invoice, "F1", EntryState::Done, "h".into(), 0);
        invoice.currency = Some("EUR".into());
        let totals = Totals {
            excl_tax: dec("150"),
            vat: dec("25.5"),
            incl_tax: dec("175.5"),
            by_tax: vec![tax("TVA20", "100", "20"), tax("TVA55", "50", "5.5")],
            lines: vec![],
        };
        let date = chrono::NaiveDate::from_ymd_opt(2026, 4, 20).unwrap();
        let note = credit_source("F1", &invoice, &totals, date);
        assert_eq!((note.invoice_number.as_str(), note.issue_date), ("F1", date));
        assert_eq!(note.currency.as_deref(), Some("EUR"));
        let lines: Vec<(&str, Decimal, Decimal, &str)> = note
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.qty, l.unit_price_excl_tax, l.tax_code.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                ("CREDIT-TVA20", Decimal::ONE, dec("100"), "TVA20"),
                ("CREDIT-TVA55", Decimal::ONE, dec("50"), "TVA55")
            ]
        );
        assert_eq!(
            note.lines[1].description.as_deref(),
            Some("Avoir sur facture F1 (TVA55)")
        );
    }

    #[test]
    fn a_created_order_records_its_customer_currency_and_ordered_quantities() {
        let mut flow = flow_of(&[order("O1", None, &[("P1", "2"), ("P2", "1"), ("P1", "3")])]);
        begin(&mut flow);
        mark_created(&mut flow, Domain::Order, "O1", 400, "hash".into(), None, 7);
        let e = entry(&flow, Domain::Order, "O1").unwrap();
        assert_eq!(
            (e.state, e.incwo_id, e.hash.as_str()),
            (EntryState::Done, Some(400), "hash")
        );
        assert_eq!(e.status.as_deref(), Some("confirmed"));
        assert_eq!(
            (e.customer.as_deref(), e.currency.as_deref()),
            (Some("C1"), Some("EUR"))
        );
        let ordered: Vec<(&str, Decimal)> = e.lines.iter().map(|(s, l)| (s.as_str(), l.ordered)).collect();
        assert_eq!(ordered, [("P1", dec("5")), ("P2", dec("1"))]);
        assert!(!e.verified && !e.published && e.updated_at == 7);
    }

    #[test]
    fn a_created_invoice_counts_on_its_order_once() {
        let mut flow = flow_of(&[invoice("F1", "O1", &[("P1", "4")])]);
        put_order(&mut flow, "O1", "confirmed", &[("P1", "10", "0", "1")]);
        begin(&mut flow);
        mark_created(&mut flow, Domain::Invoice, "F1", 500, "h".into(), None, 0);
        mark_created(&mut flow, Domain::Invoice, "F1", 500, "h".into(), None, 0);
        let order = entry(&flow, Domain::Order, "O1").unwrap();
        assert_eq!(order.invoices, ["F1"]);
        assert_eq!(order.lines["P1"].invoiced, dec("5"), "counted once");
        let invoice = entry(&flow, Domain::Invoice, "F1").unwrap();
        assert_eq!(invoice.customer.as_deref(), Some("C1"), "the order's customer");
        assert_eq!(invoice.currency.as_deref(), Some("EUR"), "the order's currency");
        assert_eq!(invoice.status.as_deref(), Some(v1::invoice_status(&flow.profile)));
    }

    #[test]
    fn a_sale_delivers_its_order_and_a_return_takes_back() {
        for (qty, reason, delivered) in [
            ("-3", "sale", "5"),
            ("3", "sale", "2"),
            ("2", "return", "0"),
            ("-2", "return", "2"),
            ("-1", "correction", "2"),
        ] {
            let mut flow = flow_of(&[movement("M1", qty, reason, Some("O1"))]);
            put_order(&mut flow, "O1", "partiallyDelivered", &[("P1", "10", "2", "0")]);
            begin(&mut flow);
            mark_created(&mut flow, Domain::StockMovement, "M1", 600, "h".into(), None, 0);
            let line = &entry(&flow, Domain::Order, "O1").unwrap().lines["P1"];
            assert_eq!(line.delivered, dec(delivered), "{qty} {reason}");
        }
    }

    #[test]
    fn a_record_written_with_the_same_payload_is_not_written_again() {
        let mut flow = flow_of(&[product("P1")]);
        begin(&mut flow);
        let (_, hash) = body_for(&flow, Domain::Product, "P1").unwrap();
        let mut e = put_done(&mut flow, Domain::Product, "P1", 31);
        e.hash = hash;
        flow.state.ledger.put(e);
        assert!(matches!(write(&mut flow, Domain::Product, "P1", 0), Step::Continue));
        assert_eq!(flow.engine.run.as_ref().unwrap().links.product_ids.get("P1"), Some(&31));
    }

    #[test]
    fn a_changed_document_is_updated_only_while_its_state_allows() {
        for (status, delivered, expected_update) in [
            ("confirmed", "0", true),
            ("confirmed", "1", false),
            ("cancelled", "0", false),
        ] {
            let mut flow = flow_of(&[order("O1", None, &[("P1", "2")])]);
            put_order(&mut flow, "O1", status, &[("P1", "2", delivered, "0")]);
            begin(&mut flow);
            match write(&mut flow, Domain::Order, "O1", 0) {
                Step::Send(Purpose::Update(Domain::Order, _), request) => {
                    assert!(expected_update, "{status} {delivered}");
                    assert_eq!(request.method().as_str(), "PUT");
                }
                Step::Finish(crate::flow::Outcome::Quarantined { error }) => {
                    assert!(!expected_update, "{status} {delivered}");
                    assert_eq!(error.code, "business.changed_after_write");
                }
                _ => panic!("expected an update or a quarantine"),
            }
        }
    }

    #[test]
    fn a_first_create_leaves_a_pending_entry_before_it_is_sent() {
        let mut flow = flow_of(&[order("O1", None, &[("P1", "2")])]);
        begin(&mut flow);
        let Step::Resend(Purpose::Create(Domain::Order, _), request, 1) = write(&mut flow, Domain::Order, "O1", 5)
        else {
            panic!("expected the create, attempt 1");
        };
        assert_eq!(request.method().as_str(), "POST");
        let e = entry(&flow, Domain::Order, "O1").unwrap();
        assert_eq!((e.state, e.updated_at), (EntryState::Pending, 5));
        // A pending create is looked up before anything is created again.
        assert!(matches!(
            write(&mut flow, Domain::Order, "O1", 6),
            Step::Send(Purpose::Lookup(Domain::Order, 1), _)
        ));
    }
}
