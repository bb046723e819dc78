//! The host loop's side of the engine: [`poll`] hands out the next action,
//! running the current record's tasks until one needs a request; [`on_answer`]
//! takes the answer of the one request in flight back. With more than one
//! request in flight, both hand over to `lanes`.

use super::answers::{on_success, read_back, refresh};
use super::checks::run_check;
use super::failure::{on_failure, stop_run};
use super::lookup::resolve;
use super::outputs::{finish, publish};
use super::status::{set_status, sync_delivery};
use super::tasks::{primary_id, start_record, Task};
use super::write::write;
use super::{lanes, run, usage, InFlight, Purpose, Step};
use crate::errors::{classify_response, classify_transport, TransportFailure};
use crate::flow::ledger::Domain;
use crate::flow::{Action, Flow, Outcome};
use crate::http::{Request, Response};
use crate::telemetry::MetricEvent;
use crate::usage::UsageError;

/// Answers the previous action's completion (a publish is done when the
/// host polls again), then returns the next action.
pub(in crate::flow) fn poll(flow: &mut Flow, now: u64) -> Result<Action, UsageError> {
    let awaited = flow
        .engine
        .in_flight
        .as_ref()
        .map(|f| f.id)
        .or_else(|| lanes::awaited(flow));
    if let Some(id) = awaited {
        return Err(usage(
            "usage.awaiting_response",
            format!("request {id} is in flight: answer it before polling"),
        ));
    }
    if let Some((key, event_type)) = flow.engine.awaiting_publish.take() {
        if let Some(entry) = flow.state.ledger.find_mut(&key, Domain::Customer, "", "") {
            entry.mark_published(&event_type);
        }
    }
    if lanes::active(flow) {
        return lanes::poll(flow, now);
    }
    loop {
        if let Some(action) = queued_or_waiting(flow, now) {
            return Ok(action);
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
        if let Some(wait) = lanes::rate_wait(flow, now) {
            return Ok(wait);
        }
        match step(flow, now) {
            Step::Continue => {}
            Step::Send(purpose, request) => return Ok(send(flow, purpose, request, 1, now)),
            Step::Resend(purpose, request, attempt) => return Ok(send(flow, purpose, request, attempt, now)),
            Step::Finish(outcome) => finish(flow, outcome, now),
            Step::Stop(info) => stop_run(flow, &info, now),
            Step::Park(resource) => {
                lanes::park(flow, resource);
                return lanes::poll(flow, now);
            }
        }
    }
}

/// The head of every poll, one lane or many: the next queued action, or the
/// pool-wide wait (backoff, `Retry-After`, breaker) while it lasts.
pub(super) fn queued_or_waiting(flow: &mut Flow, now: u64) -> Option<Action> {
    if let Some((action, publishes)) = flow.engine.queue.pop_front() {
        flow.engine.awaiting_publish = publishes;
        return Some(action);
    }
    if let Some((until, reason)) = &flow.engine.wait {
        if now < *until {
            return Some(Action::Wait {
                until: *until,
                reason: reason.clone(),
            });
        }
        flow.engine.wait = None;
    }
    None
}

/// Puts a request in flight under the next request id.
pub(super) fn send(flow: &mut Flow, purpose: Purpose, request: Request, attempt: u32, now: u64) -> Action {
    let id = flow.state.next_request_id;
    flow.state.next_request_id = flow.state.next_request_id.saturating_add(1);
    flow.engine.in_flight = Some(InFlight {
        id,
        purpose,
        request: request.clone(),
        sent_at: now,
        attempt,
    });
    crate::flow::operations::on_send(&mut flow.registry, &request, attempt);
    lanes::rate_sent(flow, now);
    Action::Send {
        request_id: id,
        request,
    }
}

/// Runs the current record's next task (or resends its pending request);
/// with no task left, the record ends synced, or skipped if nothing was done.
pub(super) fn step(flow: &mut Flow, now: u64) -> Step {
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
        Task::SetStatus(domain, id, status) => set_status(flow, domain, &id, status, now),
        Task::SyncDelivery(order) => sync_delivery(flow, &order),
        Task::ReadBack(domain, id) => read_back(flow, domain, &id),
        Task::Refresh(domain, id, refusal) => refresh(flow, domain, &id, refusal),
        Task::Publish(domain, id, event_type) => publish(flow, domain, &id, event_type, now),
    }
}

/// Takes the answer (or transport failure) of request `request_id`: counts
/// the call, classifies it, and hands it to the success or failure path.
pub(in crate::flow) fn on_answer(
    flow: &mut Flow,
    request_id: u64,
    result: Result<Response, TransportFailure>,
    now: u64,
) -> Result<(), UsageError> {
    if lanes::active(flow) {
        return lanes::on_answer(flow, request_id, result, now);
    }
    take_answer(flow, request_id, result, now)
}

/// The usage error of an answer to a request that is not in flight.
pub(super) fn unknown_request(flow: &Flow, request_id: u64) -> UsageError {
    let message = if flow.engine.answered.contains(&request_id) {
        format!("request {request_id} was already answered")
    } else {
        format!("request {request_id} is not in flight")
    };
    usage("usage.unknown_request", message)
}

/// Takes the answer of the current record's request in flight.
pub(super) fn take_answer(
    flow: &mut Flow,
    request_id: u64,
    answer: Result<Response, TransportFailure>,
    now: u64,
) -> Result<(), UsageError> {
    let in_flight = match flow.engine.in_flight.take() {
        Some(f) if f.id == request_id => f,
        other => {
            flow.engine.in_flight = other;
            return Err(unknown_request(flow, request_id));
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::errors::{TransportKind, TransportPhase};

    #[test]
    fn an_empty_batch_is_done_at_once() {
        let mut flow = flow_of(&[]);
        match flow.poll(0).unwrap() {
            Action::Done { summary } => assert_eq!((summary.total, summary.finished), (0, 0)),
            other => panic!("expected done, got {other:?}"),
        }
    }

    #[test]
    fn a_product_is_looked_up_created_and_ends_synced_with_its_id() {
        let mut flow = flow_of(&[product("P1")]);
        let (lookup, request) = next_send(&mut flow, 0);
        assert_eq!(
            (request.method().as_str(), request.endpoint()),
            ("GET", "/customer_products.xml")
        );
        flow.on_response(lookup, empty_page("customer_products"), 10).unwrap();
        let (create, request) = next_send(&mut flow, 10);
        assert_eq!((create, request.method().as_str()), (lookup + 1, "POST"));
        let body = "<customer_product><id>31</id><reference>P1</reference></customer_product>";
        flow.on_response(create, answer(201, body), 20).unwrap();
        match flow.poll(20).unwrap() {
            Action::RecordDone { index, outcome, .. } => {
                assert_eq!((index, outcome), (0, Outcome::Synced { incwo_id: Some(31) }))
            }
            other => panic!("expected the record's end, got {other:?}"),
        }
        assert!(matches!(flow.poll(20).unwrap(), Action::Done { .. }));
        let metrics = flow.metrics().render_prometheus();
        let total = |series: &str| -> f64 {
            metrics
                .lines()
                .filter(|l| l.starts_with(series))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        assert_eq!(total("api_call_duration_ms_count{"), 2.0, "two calls: {metrics}");
        assert_eq!(total("api_call_duration_ms_sum{"), 20.0, "10 ms each: {metrics}");
    }

    #[test]
    fn a_record_with_nothing_to_do_is_skipped_as_already_applied() {
        let mut flow = flow_of(&[cancellation("O1")]);
        put_order(&mut flow, "O1", "cancelled", &[]);
        let mut e = crate::flow::engine::entry(&flow, Domain::Order, "O1").cloned().unwrap();
        e.verified = true;
        e.mark_published("order.cancelled");
        flow.state.ledger.put(e);
        match flow.poll(0).unwrap() {
            Action::RecordDone { outcome, .. } => assert_eq!(outcome, Outcome::Skipped { incwo_id: Some(400) }),
            other => panic!("expected the record's end, got {other:?}"),
        }
        let metrics = flow.metrics().render_prometheus();
        assert!(metrics.contains("reason=\"already_applied\""), "{metrics}");
    }

    #[test]
    fn the_loop_is_driven_in_order_or_refused_with_a_usage_error() {
        let mut flow = flow_of(&[product("P1")]);
        let (id, _) = next_send(&mut flow, 0);
        assert_eq!(flow.poll(0).unwrap_err().code, "usage.awaiting_response");
        let unknown = flow
            .on_response(id + 7, empty_page("customer_products"), 0)
            .unwrap_err();
        assert_eq!(unknown.code, "usage.unknown_request");
        assert!(unknown.message.contains("not in flight"), "{}", unknown.message);
        let failure = TransportFailure {
            kind: TransportKind::ConnectRefused,
            phase: TransportPhase::Connect,
        };
        flow.on_transport_error(id, failure, 0).unwrap();
        let again = flow.on_response(id, empty_page("customer_products"), 0).unwrap_err();
        assert!(again.message.contains("already answered"), "{}", again.message);
    }
}
