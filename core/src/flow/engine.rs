//! The flow's engine: plans each record into tasks and drives them one
//! request at a time. Every decision reads the ledger first, so a record
//! restarted after a crash redoes only what the ledger does not prove done.

// `Step` and `ErrorInfo` travel by value between a few functions on the
// path of one request; boxing them would only add allocations.
#![allow(clippy::result_large_err)]

use super::batch::BatchItem;
use super::ledger::{self, Domain, Entry, EntryState, LineQuantities};
use super::queues::{queue_name, Event, QueueFor};
use super::transitions::{self, DocType};
use super::{Action, ErrorInfo, Flow, Outcome};
use crate::adapters::{Adapter, Found, MarkerSearch};
use crate::errors::{classify_response, classify_transport, ClassifiedError, TransportFailure};
use crate::http::{Request, Response};
use crate::mapping::{totals::Totals, v1, InvoiceMode, Links, Mapped, Profile};
use crate::model::{Invoice, Line, MovementReason, Record};
use crate::retry::{self, Admission, RetryDecision};
use crate::telemetry::MetricEvent;
use crate::usage::UsageError;
use crate::views::Item;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};

/// One unit of work of a record.
#[derive(Debug, Clone, PartialEq)]
enum Task {
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    QuoteAcceptable(String),
    Invoice,
    Delivery(String),
}

/// Why a request is in flight.
#[derive(Debug, Clone, PartialEq)]
enum Purpose {
    Lookup(Domain),
    Create(Domain, String),
    Update(Domain, String),
    Status(Domain, String, &'static str),
    Read(Domain, String),
    Refresh(Domain, String, Box<ErrorInfo>),
}

#[derive(Debug, Clone)]
struct InFlight {
    id: u64,
    purpose: Purpose,
    request: Request,
    sent_at: u64,
    attempt: u32,
}

/// A find-by-marker scan in progress or finished.
#[derive(Debug, Clone)]
struct Search {
    scan: MarkerSearch,
    result: Option<Option<Found>>,
}

/// The record being processed.
#[derive(Debug, Clone)]
struct Run {
    index: usize,
    tasks: VecDeque<Task>,
    did_work: bool,
    links: Links,
    search: Option<Search>,
    correlation_id: String,
    /// A request to send again (after a wait) and its attempt number.
    resend: Option<(Purpose, Request, u32)>,
    /// Attempts already made at the current task's create (a create whose
    /// outcome was unknown is reconciled, then counts as a retry).
    create_attempts: u32,
}

/// Volatile engine state (not checkpointed: a resumed record restarts).
#[derive(Debug, Default)]
pub(super) struct Engine {
    run: Option<Run>,
    in_flight: Option<InFlight>,
    answered: Vec<u64>,
    /// Actions to hand out, each with the ledger entry whose event it
    /// publishes (marked published when the host polls again).
    queue: VecDeque<(Action, Option<(String, String)>)>,
    wait: Option<(u64, String)>,
    awaiting_publish: Option<(String, String)>,
}

enum Step {
    Continue,
    Send(Purpose, Request),
    Resend(Purpose, Request, u32),
    Finish(Outcome),
}

fn usage(code: &str, message: String) -> UsageError {
    UsageError::new(
        code,
        message,
        "drive the flow as its documentation says: poll, send, answer, poll",
    )
}

pub(super) fn poll(flow: &mut Flow, now: u64) -> Result<Action, UsageError> {
    if let Some(in_flight) = &flow.engine.in_flight {
        return Err(usage(
            "usage.awaiting_response",
            format!("request {} is in flight: answer it before polling", in_flight.id),
        ));
    }
    if let Some((key, event_type)) = flow.engine.awaiting_publish.take() {
        if let Some(entry) = flow.state.ledger.find_mut(&key, Domain::Customer, "", "") {
            entry.mark_published(&event_type);
        }
    }
    loop {
        if let Some((action, publishes)) = flow.engine.queue.pop_front() {
            flow.engine.awaiting_publish = publishes;
            return Ok(action);
        }
        if let Some((until, reason)) = &flow.engine.wait {
            if now < *until {
                return Ok(Action::Wait {
                    until: *until,
                    reason: reason.clone(),
                });
            }
            flow.engine.wait = None;
        }
        if flow.engine.run.is_none() {
            if flow.state.cursor >= flow.items.len() {
                return Ok(Action::Done {
                    summary: flow.summary(),
                });
            }
            start_record(flow, now);
            continue;
        }
        match step(flow, now) {
            Step::Continue => {}
            Step::Send(purpose, request) => return Ok(send(flow, purpose, request, 1, now)),
            Step::Resend(purpose, request, attempt) => return Ok(send(flow, purpose, request, attempt, now)),
            Step::Finish(outcome) => finish(flow, outcome, now),
        }
    }
}

fn send(flow: &mut Flow, purpose: Purpose, request: Request, attempt: u32, now: u64) -> Action {
    let id = flow.state.next_request_id;
    flow.state.next_request_id = flow.state.next_request_id.saturating_add(1);
    flow.engine.in_flight = Some(InFlight {
        id,
        purpose,
        request: request.clone(),
        sent_at: now,
        attempt,
    });
    super::operations::on_send(&mut flow.registry, &request, attempt);
    Action::Send {
        request_id: id,
        request,
    }
}

fn item(flow: &Flow) -> &BatchItem {
    let index = flow.engine.run.as_ref().map_or(0, |r| r.index);
    &flow.items[index]
}

fn record(flow: &Flow) -> Option<&Record> {
    item(flow).record.as_ref().ok()
}

fn customer_of(flow: &Flow, index: usize) -> Option<String> {
    let item = &flow.items[index];
    let find_order_customer = |number: &str| {
        let key = key(flow, Domain::Order, number, "create");
        flow.state
            .ledger
            .find(&key, Domain::Order, number, "create")
            .and_then(|e| e.customer.clone())
    };
    match item.record.as_ref().ok()? {
        Record::Customer(c) => Some(c.external_id.clone()),
        Record::Quote(q) => Some(q.customer_external_id.clone()),
        Record::Order(o) => Some(o.customer_external_id.clone()),
        Record::Invoice(i) => find_order_customer(&i.source_order),
        Record::Cancellation(c) => find_order_customer(&c.order_number),
        Record::Product(_) | Record::StockMovement(_) => None,
    }
}

fn tenant(flow: &Flow) -> String {
    if flow.options.tenant.is_empty() {
        flow.config.business_file_id().to_string()
    } else {
        flow.options.tenant.clone()
    }
}

fn key(flow: &Flow, domain: Domain, external_id: &str, step: &str) -> String {
    ledger::idempotency_key(&tenant(flow), domain, external_id, step, flow.profile.mapper_version)
}

fn step_of(domain: Domain) -> &'static str {
    match domain {
        Domain::Customer | Domain::Product => "upsert",
        _ => "create",
    }
}

fn entry<'a>(flow: &'a Flow, domain: Domain, external_id: &str) -> Option<&'a Entry> {
    let step = step_of(domain);
    flow.state
        .ledger
        .find(&key(flow, domain, external_id, step), domain, external_id, step)
}

fn entry_mut<'a>(flow: &'a mut Flow, domain: Domain, external_id: &str) -> Option<&'a mut Entry> {
    let step = step_of(domain);
    let k = key(flow, domain, external_id, step);
    flow.state.ledger.find_mut(&k, domain, external_id, step)
}

fn start_record(flow: &mut Flow, now: u64) {
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
    flow.engine.run = Some(Run {
        index,
        tasks,
        did_work: false,
        links: Links::default(),
        search: None,
        correlation_id,
        resend: None,
        create_attempts: 0,
    });
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

fn run(flow: &mut Flow) -> &mut Run {
    flow.engine.run.as_mut().expect("a record is in progress")
}

fn quarantine(code: &str, message: impl Into<String>) -> Step {
    Step::Finish(Outcome::Quarantined {
        error: ErrorInfo::business(code, message),
    })
}

fn step(flow: &mut Flow, now: u64) -> Step {
    if let Some((purpose, request, attempt)) = run(flow).resend.take() {
        return Step::Resend(purpose, request, attempt);
    }
    let Some(task) = run(flow).tasks.front().cloned() else {
        let r = flow.engine.run.as_ref().expect("run");
        let incwo_id = primary_id(flow);
        return Step::Finish(if r.did_work {
            Outcome::Synced { incwo_id }
        } else {
            flow.registry.record(&MetricEvent::Replay {
                reason: "already_applied".into(),
            });
            Outcome::Skipped { incwo_id }
        });
    };
    match task {
        Task::ResolveFirm(customer) => resolve(flow, Domain::Customer, &customer, now),
        Task::ResolveProduct(sku) => resolve(flow, Domain::Product, &sku, now),
        Task::ResolveDoc(domain, number) => resolve(flow, domain, &number, now),
        Task::Check(check) => run_check(flow, &check),
        Task::Write(domain, id) => write(flow, domain, &id, now),
        Task::SetStatus(domain, id, status) => set_status(flow, domain, &id, status),
        Task::SyncDelivery(order) => sync_delivery(flow, &order),
        Task::ReadBack(domain, id) => read_back(flow, domain, &id),
        Task::Refresh(domain, id, refusal) => refresh(flow, domain, &id, refusal),
        Task::Publish(domain, id, event_type) => publish(flow, domain, &id, event_type, now),
    }
}

fn pop(flow: &mut Flow) -> Step {
    let r = run(flow);
    r.tasks.pop_front();
    r.search = None;
    r.create_attempts = 0;
    Step::Continue
}

fn primary_id(flow: &Flow) -> Option<u64> {
    let (domain, id) = match record(flow)? {
        Record::Customer(c) => (Domain::Customer, c.external_id.as_str()),
        Record::Product(p) => (Domain::Product, p.sku.as_str()),
        Record::Quote(q) => (Domain::Quote, q.quote_number.as_str()),
        Record::Order(o) => (Domain::Order, o.order_number.as_str()),
        Record::Invoice(i) => (Domain::Invoice, i.invoice_number.as_str()),
        Record::StockMovement(m) => (Domain::StockMovement, m.movement_id.as_str()),
        Record::Cancellation(c) => (Domain::Order, c.order_number.as_str()),
    };
    entry(flow, domain, id).and_then(|e| e.incwo_id)
}

/// Runs (or continues) the find-by-marker scan of the current task; returns
/// the request of the next page, or the scan's result.
fn search(flow: &mut Flow, domain: Domain, marker: &str) -> Result<Option<Found>, Step> {
    let max_pages = flow.options.max_lookup_pages;
    let r = run(flow);
    let search = r.search.get_or_insert_with(|| Search {
        scan: MarkerSearch::new(marker, max_pages),
        result: None,
    });
    if let Some(result) = &search.result {
        return Ok(result.clone());
    }
    match search.scan.next_page() {
        Some(page) => {
            let correlation_id = r.correlation_id.clone();
            match Adapter::new(domain).list_page(&flow.config, page, &correlation_id) {
                Ok(request) => Err(Step::Send(Purpose::Lookup(domain), request)),
                Err(e) => Err(quarantine("usage.request", e.to_string())),
            }
        }
        None => {
            let truncated = search.scan.truncated();
            if truncated {
                return Err(quarantine(
                    "business.reconcile_inconclusive",
                    format!(
                        "the {} {marker} was not found in the first {} list pages; its absence is not proven, so nothing is created",
                        domain.as_str(),
                        max_pages
                    ),
                ));
            }
            search.result = Some(None);
            Ok(None)
        }
    }
}

/// The marker the connector wrote into incwo for an object: the external id,
/// except for a credit note, titled after the invoice it cancels.
fn marker(domain: Domain, external_id: &str) -> String {
    match domain {
        Domain::CreditNote => v1::credit_note_title(external_id),
        _ => external_id.to_string(),
    }
}

fn status_name(profile: &Profile, domain: Domain, progress_id: Option<u64>) -> Option<String> {
    let table = match domain {
        Domain::Quote => &profile.statuses.quote,
        Domain::Order => &profile.statuses.order,
        Domain::Invoice => &profile.statuses.invoice,
        _ => return None,
    };
    let id = progress_id?;
    table.iter().find(|(_, v)| **v == id).map(|(k, _)| k.clone())
}

fn progress_id(profile: &Profile, domain: Domain, status: &str) -> Option<u64> {
    match domain {
        Domain::Quote => profile.statuses.quote.get(status).copied(),
        Domain::Order => profile.statuses.order.get(status).copied(),
        Domain::Invoice => profile.statuses.invoice.get(status).copied(),
        _ => None,
    }
}

fn sheet_type_matches(profile: &Profile, domain: Domain, found: &Found) -> bool {
    match (domain, &found.sheet_type) {
        (Domain::Quote, Some(t)) => *t == profile.sheet_types.quote,
        (Domain::Order, Some(t)) => *t == profile.sheet_types.order,
        _ => true,
    }
}

fn new_entry(flow: &Flow, domain: Domain, external_id: &str, state: EntryState, hash: String, now: u64) -> Entry {
    let step = step_of(domain);
    Entry {
        key: key(flow, domain, external_id, step),
        domain,
        external_id: external_id.to_string(),
        step: step.into(),
        mapper_version: flow.profile.mapper_version,
        state,
        incwo_id: None,
        hash,
        status: None,
        verified: false,
        published: false,
        events: Vec::new(),
        customer: None,
        currency: None,
        lines: BTreeMap::new(),
        invoices: Vec::new(),
        totals: None,
        error: None,
        updated_at: now,
    }
}

fn resolve(flow: &mut Flow, domain: Domain, external_id: &str, now: u64) -> Step {
    if let Some(e) = entry(flow, domain, external_id).filter(|e| e.state == EntryState::Done) {
        let id = e.incwo_id;
        link(flow, domain, external_id, id);
        return pop(flow);
    }
    let found = match search(flow, domain, external_id) {
        Ok(found) => found,
        Err(step) => return step,
    };
    let found = found.filter(|f| sheet_type_matches(&flow.profile, domain, f));
    match found {
        Some(found) => {
            if matches!(domain, Domain::Quote | Domain::Order) {
                let mut e = new_entry(flow, domain, external_id, EntryState::Done, String::new(), now);
                e.incwo_id = Some(found.id);
                e.status = status_name(&flow.profile, domain, found.progress_id);
                e.verified = true;
                e.mark_published(&format!("{}.created", domain.as_str()));
                flow.state.ledger.put(e);
            }
            if let (Domain::Quote | Domain::Order, Some(firm)) = (domain, found.firm_id) {
                run(flow).links.firm_id.get_or_insert(firm);
            }
            link(flow, domain, external_id, Some(found.id));
            pop(flow)
        }
        None => {
            let what = match domain {
                Domain::Customer => "customer",
                Domain::Product => "product",
                Domain::Quote => "quote",
                _ => "order",
            };
            quarantine(
                &format!("business.unknown_{what}"),
                format!("the {what} {external_id} is neither in the ledger nor in incwo; sync it first"),
            )
        }
    }
}

fn link(flow: &mut Flow, domain: Domain, external_id: &str, id: Option<u64>) {
    let firm_of_doc = match domain {
        Domain::Order | Domain::Quote => entry(flow, domain, external_id).and_then(|e| e.customer.clone()),
        _ => None,
    };
    let firm_of_doc = firm_of_doc.and_then(|c| entry(flow, Domain::Customer, &c).and_then(|e| e.incwo_id));
    let r = run(flow);
    match (domain, id) {
        (Domain::Customer, Some(id)) => r.links.firm_id = Some(id),
        (Domain::Product, Some(id)) => {
            r.links.product_ids.insert(external_id.to_string(), id);
        }
        (Domain::Order | Domain::Quote, _) if r.links.firm_id.is_none() => r.links.firm_id = firm_of_doc,
        _ => {}
    }
}

fn run_check(flow: &mut Flow, check: &Check) -> Step {
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
fn quantities(lines: &[Line]) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for line in lines {
        let sum = out.entry(line.sku.clone()).or_insert(Decimal::ZERO);
        *sum = sum.saturating_add(line.qty);
    }
    out
}

/// Whether `done + more` exceeds `ordered`; a sum beyond the decimal range
/// (from a hand-edited checkpoint) exceeds it too.
fn exceeds(done: Decimal, more: Decimal, ordered: Decimal) -> bool {
    done.checked_add(more).map_or(true, |sum| sum > ordered)
}

/// The body, hash and totals of the object a `Write` task creates.
fn body_for(flow: &Flow, domain: Domain, external_id: &str) -> Result<(Mapped, String), ErrorInfo> {
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

fn write(flow: &mut Flow, domain: Domain, external_id: &str, now: u64) -> Step {
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

/// Records the status incwo holds for a document (when the profile names it).
fn adopt_status(flow: &mut Flow, domain: Domain, external_id: &str, progress_id: Option<u64>) {
    let Some(status) = status_name(&flow.profile, domain, progress_id) else {
        return;
    };
    if let Some(mut e) = entry(flow, domain, external_id).cloned() {
        e.status = Some(status);
        flow.state.ledger.put(e);
    }
}

/// Marks a create done and applies its effects on related entries.
fn mark_created(
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

fn set_status(flow: &mut Flow, domain: Domain, external_id: &str, status: &'static str) -> Step {
    let Some(e) = entry(flow, domain, external_id).cloned() else {
        return quarantine(
            "business.unknown_document",
            format!("{} {external_id} is not in the ledger", domain.as_str()),
        );
    };
    if e.status.as_deref() == Some(status) {
        return pop(flow);
    }
    let doc = match domain {
        Domain::Quote => DocType::Quote,
        Domain::Order => DocType::Order,
        _ => DocType::Invoice,
    };
    if let Some(from) = e.status.as_deref() {
        if let Err(err) = transitions::check(doc, from, status) {
            let code = if status == "cancelled" && from == "cancelled" {
                "business.already_cancelled"
            } else {
                "business.invalid_transition"
            };
            return quarantine(code, format!("{} {external_id}: {err}", domain.as_str()));
        }
    }
    let (Some(id), Some(progress)) = (e.incwo_id, progress_id(&flow.profile, domain, status)) else {
        return quarantine(
            "business.unknown_status",
            format!("the profile has no progress_id for {} status {status}", domain.as_str()),
        );
    };
    let root = if domain.resource() == "bill_sheets" {
        "bill_sheet"
    } else {
        "proposal_sheet"
    };
    let body = format!("<{root}><progress_id>{progress}</progress_id></{root}>");
    let correlation_id = run(flow).correlation_id.clone();
    match Adapter::new(domain).update(&flow.config, id, &body, &correlation_id, None) {
        Ok(request) => Step::Send(Purpose::Status(domain, external_id.to_string(), status), request),
        Err(e) => quarantine("usage.request", e.to_string()),
    }
}

fn sync_delivery(flow: &mut Flow, order: &str) -> Step {
    let Some(e) = entry(flow, Domain::Order, order) else {
        return pop(flow);
    };
    let delivered_any = e.lines.values().any(|l| !l.delivered.is_zero());
    let all = !e.lines.is_empty() && e.lines.values().all(|l| l.delivered >= l.ordered);
    let target = match (all, delivered_any) {
        (true, _) => "delivered",
        (false, true) => "partiallyDelivered",
        (false, false) => return pop(flow),
    };
    if e.status.as_deref() == Some(target) || e.status.as_deref() == Some("cancelled") {
        return pop(flow);
    }
    let r = run(flow);
    r.tasks.pop_front();
    r.tasks
        .push_front(Task::SetStatus(Domain::Order, order.to_string(), target));
    Step::Continue
}

fn read_back(flow: &mut Flow, domain: Domain, external_id: &str) -> Step {
    if !flow.options.read_back {
        return pop(flow);
    }
    let Some(e) = entry(flow, domain, external_id).cloned() else {
        return pop(flow);
    };
    let (Some(id), false) = (e.incwo_id, e.verified) else {
        return pop(flow);
    };
    let correlation_id = run(flow).correlation_id.clone();
    match Adapter::new(domain).read(&flow.config, id, &correlation_id) {
        Ok(request) => Step::Send(Purpose::Read(domain, external_id.to_string()), request),
        Err(e) => quarantine("usage.request", e.to_string()),
    }
}

/// Reads a document back to learn the status incwo holds (see `Task::Refresh`).
fn refresh(flow: &mut Flow, domain: Domain, external_id: &str, refusal: Box<ErrorInfo>) -> Step {
    let id = entry(flow, domain, external_id).and_then(|e| e.incwo_id);
    let correlation_id = run(flow).correlation_id.clone();
    match id.map(|id| Adapter::new(domain).read(&flow.config, id, &correlation_id)) {
        Some(Ok(request)) => Step::Send(Purpose::Refresh(domain, external_id.to_string(), refusal), request),
        _ => Step::Finish(Outcome::Quarantined { error: *refusal }),
    }
}

fn company_queue(flow: &Flow, domain: Domain, quarantine_queue: bool) -> Option<String> {
    let company = flow.options.company.as_str();
    let item = item(flow);
    let currency = match record(flow) {
        Some(Record::Order(o)) => Some(o.currency.clone()),
        Some(Record::Quote(q)) => Some(q.currency.clone()),
        Some(Record::Cancellation(c)) => entry(flow, Domain::Order, &c.order_number).and_then(|e| e.currency.clone()),
        _ => item.raw_currency.clone(),
    }
    .unwrap_or_else(|| flow.profile.default_currency.clone());
    let warehouse = match record(flow) {
        Some(Record::StockMovement(m)) => m.warehouse.clone(),
        _ => "unknown".into(),
    };
    let queue = match domain {
        Domain::Quote => QueueFor::Quote { company },
        Domain::Order => QueueFor::Order {
            company,
            currency: &currency,
        },
        Domain::Invoice | Domain::CreditNote => QueueFor::Billing { company },
        Domain::StockMovement => QueueFor::Stock { warehouse: &warehouse },
        Domain::Customer | Domain::Product => QueueFor::Referential { company },
    };
    queue_name(&queue, quarantine_queue).ok()
}

fn occurred_at(now: u64) -> String {
    chrono::DateTime::from_timestamp_millis(now as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn publish(flow: &mut Flow, domain: Domain, external_id: &str, event_type: &'static str, now: u64) -> Step {
    let Some(e) = entry(flow, domain, external_id).cloned() else {
        return pop(flow);
    };
    let event_key = key(flow, domain, external_id, event_type);
    if e.has_published(event_type) || e.state != EntryState::Done {
        return pop(flow);
    }
    let Some(queue) = company_queue(flow, domain, false) else {
        return pop(flow);
    };
    let event = Event {
        event_type: event_type.into(),
        external_id: external_id.into(),
        incwo_id: e.incwo_id,
        status: e.status.clone(),
        totals: e.totals.clone(),
        correlation_id: run(flow).correlation_id.clone(),
        idempotency_key: event_key,
        occurred_at: occurred_at(now),
        error: None,
    };
    // The event counts as published once the host polls again.
    flow.engine.queue.push_back((
        Action::Publish { queue, event },
        Some((e.key.clone(), event_type.to_string())),
    ));
    let r = run(flow);
    r.did_work = true;
    r.tasks.pop_front();
    Step::Continue
}

fn finish(flow: &mut Flow, outcome: Outcome, now: u64) {
    let index = flow.engine.run.as_ref().map_or(flow.state.cursor, |r| r.index);
    let item = &flow.items[index];
    match &outcome {
        Outcome::Quarantined { error } => {
            if let Some(queue) = quarantine_queue(flow, index) {
                let correlation_id = flow
                    .engine
                    .run
                    .as_ref()
                    .map(|r| r.correlation_id.clone())
                    .unwrap_or_default();
                let event = Event {
                    event_type: "record.quarantined".into(),
                    external_id: item.external_id.clone().unwrap_or_default(),
                    incwo_id: None,
                    status: None,
                    totals: None,
                    correlation_id,
                    // Unique per batch, line and error: a redelivered quarantine
                    // event dedupes, another batch's line N does not collide.
                    idempotency_key: ledger::idempotency_key(
                        &tenant(flow),
                        Domain::Customer,
                        &format!("{}#{}", flow.state.digest, item.line),
                        &format!("quarantine:{}", error.code),
                        flow.profile.mapper_version,
                    ),
                    occurred_at: occurred_at(now),
                    error: serde_json::to_value(error).ok(),
                };
                flow.engine.queue.push_back((Action::Publish { queue, event }, None));
            }
        }
        Outcome::Deferred { not_before, error } => {
            if let Some(customer) = customer_of(flow, index) {
                flow.state
                    .blocked_customers
                    .entry(customer)
                    .or_insert((*not_before, error.clone()));
            }
        }
        _ => {}
    }
    let item = &flow.items[index];
    flow.engine.queue.push_back((
        Action::RecordDone {
            index,
            line: item.line,
            kind: item.kind,
            external_id: item.external_id.clone(),
            outcome: outcome.clone(),
        },
        None,
    ));
    flow.state.outcomes[index] = Some(outcome);
    flow.state.changed_outcomes.insert(index);
    flow.state.cursor = index + 1;
    flow.engine.run = None;
}

fn quarantine_queue(flow: &Flow, index: usize) -> Option<String> {
    let item = &flow.items[index];
    let domain = match item.kind? {
        crate::model::Kind::Customer => Domain::Customer,
        crate::model::Kind::Product => Domain::Product,
        crate::model::Kind::Quote => Domain::Quote,
        crate::model::Kind::Order | crate::model::Kind::Cancellation => Domain::Order,
        crate::model::Kind::Invoice => Domain::Invoice,
        crate::model::Kind::StockMovement => Domain::StockMovement,
    };
    company_queue(flow, domain, true)
}

pub(super) fn on_answer(
    flow: &mut Flow,
    request_id: u64,
    answer: Result<Response, TransportFailure>,
    now: u64,
) -> Result<(), UsageError> {
    let in_flight = match flow.engine.in_flight.take() {
        Some(f) if f.id == request_id => f,
        other => {
            flow.engine.in_flight = other;
            let message = if flow.engine.answered.contains(&request_id) {
                format!("request {request_id} was already answered")
            } else {
                format!("request {request_id} is not in flight")
            };
            return Err(usage("usage.unknown_request", message));
        }
    };
    flow.engine.answered.push(request_id);
    if flow.engine.answered.len() > 64 {
        flow.engine.answered.remove(0);
    }
    let call = in_flight.request.call_site();
    flow.registry.record(&MetricEvent::ApiCall {
        endpoint: call.endpoint.clone(),
        operation: call.operation.as_str().into(),
        duration_ms: now.saturating_sub(in_flight.sent_at),
    });
    let error = match &answer {
        Ok(response) => classify_response(&call, response, now, flow.config.classification()),
        Err(failure) => Some(classify_transport(&call, *failure)),
    };
    match (error, answer) {
        (None, Ok(response)) => {
            flow.state.retry_state.record_success(&flow.options.retry, now);
            on_success(flow, in_flight.purpose, &response, now);
        }
        (Some(error), _) => on_failure(flow, in_flight, error, now),
        (None, Err(_)) => {}
    }
    Ok(())
}

fn on_success(flow: &mut Flow, purpose: Purpose, response: &Response, now: u64) {
    let parse_failure = |flow: &mut Flow, what: String| {
        let outcome = Outcome::Quarantined {
            error: ErrorInfo {
                class: "technical".into(),
                code: "incwo.unreadable_response".into(),
                message: what,
                violations: Vec::new(),
                details: None,
            },
        };
        finish(flow, outcome, now);
    };
    match purpose {
        Purpose::Lookup(domain) => match Adapter::new(domain).parse_page(&response.body) {
            Ok((items, total)) => {
                let r = run(flow);
                if let Some(search) = r.search.as_mut() {
                    if let Some(found) = search.scan.feed(&items, total) {
                        search.result = Some(Some(found));
                    }
                }
            }
            Err(e) => parse_failure(
                flow,
                format!("a {} list page could not be read: {e}", domain.resource()),
            ),
        },
        Purpose::Create(domain, external_id) => {
            match Adapter::new(domain).parse_one(&response.body).map(|i| item_id(&i)) {
                Ok(id) => {
                    let (mapped, hash) = match body_for(flow, domain, &external_id) {
                        Ok(x) => x,
                        Err(error) => return finish(flow, Outcome::Quarantined { error }, now),
                    };
                    mark_created(flow, domain, &external_id, id, hash, mapped.totals, now);
                    run(flow).did_work = true;
                    link(flow, domain, &external_id, Some(id));
                    pop(flow);
                }
                Err(e) => parse_failure(
                    flow,
                    format!("the created {} could not be read: {e}", domain.resource()),
                ),
            }
        }
        Purpose::Update(domain, external_id) => {
            if let Ok((mapped, hash)) = body_for(flow, domain, &external_id) {
                if let Some(e) = entry_mut(flow, domain, &external_id) {
                    e.hash = hash;
                    e.totals = mapped.totals;
                    e.verified = false;
                    e.updated_at = now;
                }
            }
            let id = entry(flow, domain, &external_id).and_then(|e| e.incwo_id);
            run(flow).did_work = true;
            link(flow, domain, &external_id, id);
            pop(flow);
        }
        Purpose::Status(domain, external_id, status) => {
            if let Some(e) = entry_mut(flow, domain, &external_id) {
                e.status = Some(status.into());
                e.verified = false;
                e.updated_at = now;
            }
            run(flow).did_work = true;
            pop(flow);
        }
        Purpose::Read(domain, external_id) => match Adapter::new(domain).parse_one(&response.body) {
            Ok(item) => match compare(flow, domain, &external_id, &item) {
                Ok(()) => {
                    if let Some(e) = entry_mut(flow, domain, &external_id) {
                        e.verified = true;
                    }
                    run(flow).did_work = true;
                    pop(flow);
                }
                Err(gap) => {
                    flow.registry.record(&MetricEvent::ReconciliationGap {
                        domain: domain.as_str().into(),
                    });
                    let mut error = ErrorInfo::business(
                        "business.reconciliation_gap",
                        format!(
                            "{} {external_id} in incwo differs from what was written",
                            domain.as_str()
                        ),
                    );
                    error.details = Some(gap);
                    finish(flow, Outcome::Quarantined { error }, now);
                }
            },
            Err(e) => parse_failure(
                flow,
                format!("the {} read back could not be read: {e}", domain.resource()),
            ),
        },
        Purpose::Refresh(domain, external_id, refusal) => match Adapter::new(domain).parse_one(&response.body) {
            Ok(item) => {
                let progress = match &item {
                    Item::ProposalSheet(s) => s.progress_id,
                    Item::BillSheet(s) => s.progress_id,
                    _ => None,
                };
                if let Some(status) = status_name(&flow.profile, domain, progress) {
                    if let Some(e) = entry_mut(flow, domain, &external_id) {
                        if e.status.as_deref() != Some(status.as_str()) {
                            e.status = Some(status);
                            e.verified = false;
                            e.updated_at = now;
                        }
                    }
                }
                finish(flow, Outcome::Quarantined { error: *refusal }, now);
            }
            Err(e) => parse_failure(
                flow,
                format!("the {} read back could not be read: {e}", domain.resource()),
            ),
        },
    }
}

fn item_id(item: &Item) -> u64 {
    match item {
        Item::Firm(x) => x.id,
        Item::Contact(x) => x.id,
        Item::CustomerProduct(x) => x.id,
        Item::ProposalSheet(x) => x.id,
        Item::BillSheet(x) => x.id,
        Item::StockMovement(x) => x.id,
        Item::CashDeposit(x) => x.id,
    }
}

/// Compares a document read back with the ledger: marker, status, totals.
fn compare(flow: &Flow, domain: Domain, external_id: &str, item: &Item) -> Result<(), serde_json::Value> {
    let Some(e) = entry(flow, domain, external_id) else {
        return Ok(());
    };
    let (title, progress, excl, vat, incl) = match item {
        Item::ProposalSheet(s) => (
            s.title.clone(),
            s.progress_id,
            s.vat_exl_total,
            s.vat_cost,
            s.vat_inc_total,
        ),
        Item::BillSheet(s) => (
            s.title.clone(),
            s.progress_id,
            s.vat_exl_total,
            s.vat_cost,
            s.vat_inc_total,
        ),
        _ => return Ok(()),
    };
    let mut gaps = serde_json::Map::new();
    let expected_title = if domain == Domain::CreditNote {
        v1::credit_note_title(external_id)
    } else {
        external_id.to_string()
    };
    if title.as_deref().map(str::trim) != Some(expected_title.as_str()) {
        gaps.insert(
            "title".into(),
            serde_json::json!({"expected": expected_title, "actual": title}),
        );
    }
    if let Some(status) = &e.status {
        if let Some(expected) = progress_id(&flow.profile, domain, status) {
            if progress != Some(expected) {
                gaps.insert(
                    "progressId".into(),
                    serde_json::json!({"expected": expected, "actual": progress}),
                );
            }
        }
    }
    if let Some(t) = &e.totals {
        for (name, expected, actual) in [
            ("exclTax", t.excl_tax, excl),
            ("vat", t.vat, vat),
            ("inclTax", t.incl_tax, incl),
        ] {
            if actual.map(|a| a.normalize()) != Some(expected.normalize()) {
                gaps.insert(
                    name.into(),
                    serde_json::json!({"expected": expected.to_string(), "actual": actual.map(|a| a.to_string())}),
                );
            }
        }
    }
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(serde_json::Value::Object(gaps))
    }
}

fn on_failure(flow: &mut Flow, in_flight: InFlight, error: ClassifiedError, now: u64) {
    flow.registry.record(&MetricEvent::ApiError {
        class: error.class.as_str().into(),
        endpoint: error.endpoint.clone(),
    });
    let seed = flow.state.seed ^ in_flight.id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let decision = retry::decide(
        &flow.options.retry,
        &mut flow.state.retry_state,
        &error,
        in_flight.attempt,
        now,
        seed,
    );
    let info = ErrorInfo::from_classified(&error);
    if let Purpose::Refresh(_, _, refusal) = &in_flight.purpose {
        let retried = matches!(decision, RetryDecision::RetryNow | RetryDecision::RetryAt { .. });
        let stops = matches!(
            decision,
            RetryDecision::GiveUp {
                needs_operator: true,
                ..
            }
        );
        if !retried && !stops {
            // The read after a refusal is best effort: the record ends with
            // the refusal (quarantined, never replayed as if it could pass).
            let error = (**refusal).clone();
            return finish(flow, Outcome::Quarantined { error }, now);
        }
    }
    match decision {
        RetryDecision::RetryNow => {
            resend(flow, in_flight, now, None);
        }
        RetryDecision::RetryAt { at, .. } => {
            resend(flow, in_flight, now, Some((at, "retry_backoff".into())));
        }
        RetryDecision::Requeue { not_before, reason } => {
            let error = ErrorInfo {
                message: format!("{} (requeued: {reason})", info.message),
                ..info
            };
            finish(flow, Outcome::Deferred { not_before, error }, now);
        }
        RetryDecision::ReconcileFirst => {
            // The entry is still pending: the Write task looks the marker up
            // before it creates anything again. Creating again is a retry: it
            // counts as an attempt, spends budget and waits its backoff.
            let policy = &flow.options.retry;
            let cost = if error.is_timeout() {
                policy.budget.timeout_cost
            } else {
                policy.budget.retry_cost
            };
            let mut at = now.saturating_add(retry::jitter(
                seed,
                in_flight.attempt,
                policy.backoff_ceiling(in_flight.attempt),
            ));
            if let Some(retry_after) = error.retry_after_ms {
                at = at.max(retry_after);
            }
            if flow.state.retry_state.budget.tokens < cost {
                let not_before = at.max(now.saturating_add(policy.budget_requeue_ms));
                let error = ErrorInfo {
                    message: format!("{} (requeued: budget_exhausted)", info.message),
                    ..info
                };
                return finish(flow, Outcome::Deferred { not_before, error }, now);
            }
            flow.state.retry_state.budget.tokens -= cost;
            let r = run(flow);
            r.search = None;
            r.create_attempts = in_flight.attempt;
            if at > now {
                flow.engine.wait = Some((at, "retry_backoff".into()));
            }
        }
        RetryDecision::GiveUp { needs_operator, .. } => {
            if needs_operator {
                flow.state.stopped = Some(info.clone());
                let not_before = now;
                finish(
                    flow,
                    Outcome::Deferred {
                        not_before,
                        error: info.clone(),
                    },
                    now,
                );
                // Stop the run: every remaining record is deferred with the same error.
                while flow.state.cursor < flow.items.len() {
                    let index = flow.state.cursor;
                    flow.engine.run = Some(Run {
                        index,
                        tasks: VecDeque::new(),
                        did_work: false,
                        links: Links::default(),
                        search: None,
                        correlation_id: String::new(),
                        resend: None,
                        create_attempts: 0,
                    });
                    finish(
                        flow,
                        Outcome::Deferred {
                            not_before,
                            error: info.clone(),
                        },
                        now,
                    );
                }
            } else {
                let not_before = now.saturating_add(flow.options.retry.budget_requeue_ms);
                finish(
                    flow,
                    Outcome::Deferred {
                        not_before,
                        error: info,
                    },
                    now,
                );
            }
        }
        RetryDecision::Reject { .. } | RetryDecision::Quarantine { .. } => {
            // A refused status change is never sent again, but an earlier
            // attempt (a retry after a timeout, a 5xx, or a run that died
            // before recording its answer) may have applied it: the document
            // is read first, so that the ledger says what incwo holds.
            if let Purpose::Status(domain, external_id, _) = &in_flight.purpose {
                let r = run(flow);
                r.resend = None;
                r.search = None;
                r.tasks = VecDeque::from([Task::Refresh(*domain, external_id.clone(), Box::new(info))]);
                return;
            }
            // incwo refused the create: nothing exists, the entry is no longer pending.
            if let Purpose::Create(domain, external_id) = &in_flight.purpose {
                let code = info.code.clone();
                if let Some(e) = entry_mut(flow, *domain, external_id) {
                    e.state = EntryState::Quarantined;
                    e.error = Some(code);
                    e.updated_at = now;
                }
            }
            finish(flow, Outcome::Quarantined { error: info }, now);
        }
    }
}

fn resend(flow: &mut Flow, in_flight: InFlight, now: u64, wait: Option<(u64, String)>) {
    let attempt = in_flight.attempt.saturating_add(1);
    let admission = flow.state.retry_state.admit(&flow.options.retry, now);
    let wait = match admission {
        Admission::Blocked { until } => Some((until.max(wait.as_ref().map_or(0, |w| w.0)), "breaker_open".to_string())),
        _ => wait,
    };
    run(flow).resend = Some((in_flight.purpose, in_flight.request, attempt));
    if let Some(wait) = wait {
        flow.engine.wait = Some(wait);
    }
}

/// Plans a batch against an empty incwo without sending anything: runs the
/// flow with an in-memory stand-in that answers lookups with empty pages and
/// echoes writes with new ids. Returns, per record, its steps as
/// `METHOD endpoint` and its outcome.
pub fn plan(items: Vec<BatchItem>, profile: Profile, config: crate::http::ConnectionConfig) -> Vec<serde_json::Value> {
    let mut flow = Flow::start(items, profile, config, super::FlowOptions::default(), 0, 0);
    let mut steps: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut stored: BTreeMap<u64, String> = BTreeMap::new();
    let mut next_id = 1000u64;
    while let Ok(action) = flow.poll(0) {
        match action {
            Action::Send { request_id, request } => {
                steps.push(format!("{} {}", request.method().as_str(), request.endpoint()));
                let body = String::from_utf8_lossy(request.body()).to_string();
                let id = request
                    .url()
                    .rsplit('/')
                    .next()
                    .and_then(|last| last.strip_suffix(".xml"))
                    .and_then(|n| n.parse::<u64>().ok());
                let response = match (request.method().as_str(), id) {
                    ("POST", _) => {
                        next_id += 1;
                        stored.insert(next_id, insert_id(&body, next_id));
                        stored[&next_id].clone()
                    }
                    ("PUT", Some(id)) => {
                        let merged = merge_progress(stored.get(&id).map(String::as_str).unwrap_or(&body), &body, id);
                        stored.insert(id, merged.clone());
                        merged
                    }
                    ("GET", Some(id)) => stored.get(&id).cloned().unwrap_or_default(),
                    _ => {
                        let resource = request
                            .endpoint()
                            .trim_start_matches('/')
                            .trim_end_matches(".xml")
                            .to_string();
                        format!("<{resource} type=\"array\"><pagination><current_page>1</current_page><total_pages>1</total_pages><current_page_items_count>0</current_page_items_count></pagination></{resource}>")
                    }
                };
                if flow
                    .on_response(request_id, Response::new(200, vec![], response.into_bytes()), 0)
                    .is_err()
                {
                    break;
                }
            }
            Action::RecordDone {
                line,
                kind,
                external_id,
                outcome,
                ..
            } => {
                out.push(serde_json::json!({
                    "line": line, "kind": kind, "externalId": external_id,
                    "steps": std::mem::take(&mut steps), "outcome": outcome,
                }));
            }
            Action::Done { .. } => break,
            Action::Wait { .. } | Action::Publish { .. } => {}
        }
    }
    out
}

fn insert_id(body: &str, id: u64) -> String {
    match body.find('>') {
        Some(i) => format!("{}<id>{id}</id>{}", &body[..=i], &body[i + 1..]),
        None => body.to_string(),
    }
}

/// A stored body with the `progress_id` of an update applied (the only field
/// a status update sends); a full update replaces the body.
fn merge_progress(stored: &str, update: &str, id: u64) -> String {
    let value = |s: &str| {
        let start = s.find("<progress_id>")? + "<progress_id>".len();
        let end = s[start..].find("</progress_id>")? + start;
        Some((start, end))
    };
    if update.contains("<title>") {
        return insert_id(update, id);
    }
    match (value(stored), value(update)) {
        (Some((a, b)), Some((c, d))) => format!("{}{}{}", &stored[..a], &update[c..d], &stored[b..]),
        _ => stored.to_string(),
    }
}
