//! What a record hands the host: its confirmation events on their queues,
//! the quarantine event of a refused record, and its end (`RecordDone`,
//! its outcome in the checkpoint, its customer blocked when it waits).

use super::tasks::customer_of;
use super::{entry, item, key, pop, record, run, tenant, Step};
use crate::flow::ledger::{self, Domain, EntryState};
use crate::flow::queues::{queue_name, Event, QueueFor};
use crate::flow::{Action, Flow, Outcome};
use crate::model::Record;

/// The queue of a domain's events for the current record (its quarantine
/// queue with `quarantine_queue`).
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

/// An event's time: RFC 3339 in UTC, to the millisecond.
fn occurred_at(now: u64) -> String {
    chrono::DateTime::from_timestamp_millis(now as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Hands the confirmation event of a done entry to the host, once.
pub(super) fn publish(flow: &mut Flow, domain: Domain, external_id: &str, event_type: &'static str, now: u64) -> Step {
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

/// Ends the current record (or the one at the cursor) with `outcome`.
pub(super) fn finish(flow: &mut Flow, outcome: Outcome, now: u64) {
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

/// The quarantine queue of record `index`, named after its kind.
fn quarantine_queue(flow: &Flow, index: usize) -> Option<String> {
    let item = &flow.items[index];
    company_queue(flow, Domain::of(item.kind?), true)
}
