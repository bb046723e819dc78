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
            quarantine: None,
        },
        None,
    ));
    flow.state.outcomes[index] = Some(outcome);
    flow.state.changed_outcomes.insert(index);
    // The cursor is the first record without an outcome (records in lanes
    // end out of order; one at a time, this is `index + 1`).
    let s = &mut flow.state;
    while s.outcomes.get(s.cursor).is_some_and(Option::is_some) {
        s.cursor += 1;
    }
    flow.engine.run = None;
}

/// The quarantine queue of record `index`, named after its kind.
fn quarantine_queue(flow: &Flow, index: usize) -> Option<String> {
    let item = &flow.items[index];
    company_queue(flow, Domain::of(item.kind?), true)
}

#[cfg(test)]
mod tests {
    use super::super::tasks::Task;
    use super::super::testing::*;
    use super::*;
    use crate::flow::ErrorInfo;

    fn queue_of(envelope: serde_json::Value, domain: Domain, quarantine: bool) -> Option<String> {
        let mut flow = flow_of(&[envelope]);
        put_order(&mut flow, "O9", "confirmed", &[]);
        set_currency(&mut flow, "O9", "USD");
        begin(&mut flow);
        company_queue(&flow, domain, quarantine)
    }

    fn set_currency(flow: &mut Flow, order: &str, currency: &str) {
        let mut e = entry(flow, Domain::Order, order).cloned().unwrap();
        e.currency = Some(currency.into());
        flow.state.ledger.put(e);
    }

    #[test]
    fn each_domain_publishes_on_its_queue() {
        let q = |envelope, domain| queue_of(envelope, domain, false).unwrap();
        assert_eq!(q(customer("C1"), Domain::Customer), "erp.incwo.referential.default");
        assert_eq!(q(product("P1"), Domain::Product), "erp.incwo.referential.default");
        assert_eq!(q(quote("Q1"), Domain::Quote), "erp.incwo.quote.default");
        assert_eq!(
            q(order("O1", None, &[("P1", "1")]), Domain::Order),
            "erp.incwo.order.default.eur"
        );
        assert_eq!(
            q(invoice("F1", "O9", &[("P1", "1")]), Domain::Invoice),
            "erp.incwo.billing.default"
        );
        assert_eq!(q(cancellation("O9"), Domain::CreditNote), "erp.incwo.billing.default");
        assert_eq!(
            q(cancellation("O9"), Domain::Order),
            "erp.incwo.order.default.usd",
            "a cancellation is announced in its order's currency"
        );
        assert_eq!(
            q(movement("M1", "-1", "sale", Some("O9")), Domain::StockMovement),
            "erp.incwo.stock.main"
        );
        assert_eq!(
            queue_of(quote("Q1"), Domain::Quote, true).as_deref(),
            Some("erp.incwo.quote.default.quarantine")
        );
    }

    #[test]
    fn events_are_stamped_in_utc_to_the_millisecond() {
        assert_eq!(occurred_at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(occurred_at(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn a_confirmation_is_published_once_for_a_done_entry() {
        let mut flow = flow_of(&[quote("Q1")]);
        begin(&mut flow);
        run(&mut flow).tasks = [Task::Publish(Domain::Quote, "Q1".into(), "quote.created")].into();
        assert!(matches!(
            publish(&mut flow, Domain::Quote, "Q1", "quote.created", 0),
            Step::Continue
        ));
        assert!(flow.engine.queue.is_empty(), "nothing written, nothing announced");
        let e = put_done(&mut flow, Domain::Quote, "Q1", 400);
        run(&mut flow).tasks = [Task::Publish(Domain::Quote, "Q1".into(), "quote.created")].into();
        publish(&mut flow, Domain::Quote, "Q1", "quote.created", 0);
        let (Action::Publish { queue, event }, Some((key, kind))) = flow.engine.queue.pop_front().unwrap() else {
            panic!("expected a publish tied to the entry");
        };
        assert_eq!(
            (queue.as_str(), key.as_str(), kind.as_str()),
            ("erp.incwo.quote.default", e.key.as_str(), "quote.created")
        );
        assert_eq!(
            (event.event_type.as_str(), event.incwo_id),
            ("quote.created", Some(400))
        );
        assert_eq!(
            event.idempotency_key,
            super::super::key(&flow, Domain::Quote, "Q1", "quote.created")
        );
        assert!(flow.engine.run.as_ref().unwrap().tasks.is_empty());
        let mut e = entry(&flow, Domain::Quote, "Q1").cloned().unwrap();
        e.mark_published("quote.created");
        flow.state.ledger.put(e);
        run(&mut flow).tasks = [Task::Publish(Domain::Quote, "Q1".into(), "quote.created")].into();
        publish(&mut flow, Domain::Quote, "Q1", "quote.created", 0);
        assert!(flow.engine.queue.is_empty(), "published already");
    }

    #[test]
    fn a_deferred_movement_holds_back_its_orders_customer() {
        let mut flow = flow_of(&[movement("M1", "-1", "sale", Some("O1")), quote("Q1")]);
        put_order(&mut flow, "O1", "confirmed", &[]);
        begin(&mut flow);
        let error = ErrorInfo::business("http.429", "later");
        finish(
            &mut flow,
            Outcome::Deferred {
                not_before: 9_000,
                error,
            },
            0,
        );
        assert_eq!(flow.state.blocked_customers.get("C1").map(|b| b.0), Some(9_000));
        assert_eq!((flow.state.cursor, flow.engine.run.is_none()), (1, true));
        assert!(matches!(
            flow.engine.queue.pop_front(),
            Some((Action::RecordDone { index: 0, line: 1, .. }, None))
        ));
    }

    #[test]
    fn a_quarantined_record_is_announced_on_its_quarantine_queue() {
        let mut flow = flow_of(&[quote("Q1")]);
        begin(&mut flow);
        let error = ErrorInfo::business("business.unknown_customer", "sync it first");
        finish(&mut flow, Outcome::Quarantined { error }, 1_000);
        let Some((Action::Publish { queue, event }, None)) = flow.engine.queue.pop_front() else {
            panic!("expected the quarantine event first");
        };
        assert_eq!(queue, "erp.incwo.quote.default.quarantine");
        assert_eq!(
            (event.event_type.as_str(), event.external_id.as_str()),
            ("record.quarantined", "Q1")
        );
        assert_eq!(
            event.error.as_ref().map(|e| e["code"].clone()),
            Some("business.unknown_customer".into())
        );
        assert!(
            flow.state.blocked_customers.is_empty(),
            "a quarantine holds nobody back"
        );
        assert!(matches!(
            flow.engine.queue.pop_front(),
            Some((Action::RecordDone { .. }, None))
        ));
        assert_eq!(flow.state.changed_outcomes.iter().copied().collect::<Vec<_>>(), [0]);
    }
}
