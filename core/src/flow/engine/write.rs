//! Writing an object: the body a record maps to, the create (after a
//! find-by-marker lookup when it may already exist) or the update of what
//! the ledger says was written, and what a create implies for related
//! entries (an order's quantities, its invoices, its deliveries).

use super::checks::quantities;
use super::lookup::{link, marker, search, sheet_type_matches};
use super::status::adopt_status;
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
        let hash = ledger::payload_hash(&(external_id, &totals));
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
    Ok((mapped, ledger::payload_hash(record)))
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
                let found = match search(flow, domain, &marker(domain, external_id)) {
                    Ok(found) => found.filter(|f| sheet_type_matches(&flow.profile, domain, f)),
                    Err(step) => return step,
                };
                if let Some(found) = found {
                    if state == Some(EntryState::Pending) || !referential {
                        // Our own create (pending, or from a lost ledger):
                        // link it; the read-back compares its content.
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
