//! Failed calls. The decision is [`retry::decide`]'s, so that every path
//! honours the same backoff, `Retry-After` cap, breaker and budget: a call
//! is sent again (after its wait), the record is requeued (deferred) or
//! quarantined, or the run stops for an operator. A create whose outcome is
//! unknown is reconciled first: its marker is looked up before anything is
//! created again, and creating again is scheduled as any retry
//! ([`retry::schedule`]).

use super::outputs::finish;
use super::tasks::Task;
use super::{entry_mut, run, InFlight, Purpose, Run};
use crate::errors::ClassifiedError;
use crate::flow::ledger::EntryState;
use crate::flow::{ErrorInfo, Flow, Outcome};
use crate::retry::{self, Admission, RetryDecision};
use crate::telemetry::MetricEvent;
use std::collections::VecDeque;

/// Handles the failure of the request in flight.
pub(super) fn on_failure(flow: &mut Flow, in_flight: InFlight, error: ClassifiedError, now: u64) {
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
        RetryDecision::RetryNow => resend(flow, in_flight, now, None),
        RetryDecision::RetryAt { at, .. } => resend(flow, in_flight, now, Some((at, "retry_backoff".into()))),
        RetryDecision::Requeue { not_before, reason } => requeue(flow, info, not_before, &reason, now),
        RetryDecision::ReconcileFirst => {
            // The entry is still pending: the Write task looks the marker up
            // before it creates anything again. Creating again is a retry: it
            // counts as an attempt and is scheduled as any other.
            let attempt = in_flight.attempt;
            let policy = &flow.options.retry;
            match retry::schedule(policy, &mut flow.state.retry_state, &error, attempt, now, seed) {
                RetryDecision::Requeue { not_before, reason } => requeue(flow, info, not_before, &reason, now),
                RetryDecision::RetryAt { at, .. } => reconcile(flow, attempt, now, Some((at, "retry_backoff".into()))),
                _ => reconcile(flow, attempt, now, None),
            }
        }
        RetryDecision::GiveUp {
            needs_operator: true, ..
        } => stop_run(flow, &info, now),
        RetryDecision::GiveUp { .. } => {
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

/// Ends the record as deferred until `not_before` (a requeue, for `reason`).
fn requeue(flow: &mut Flow, info: ErrorInfo, not_before: u64, reason: &str, now: u64) {
    let error = ErrorInfo {
        message: format!("{} (requeued: {reason})", info.message),
        ..info
    };
    finish(flow, Outcome::Deferred { not_before, error }, now);
}

/// Restarts the current create with a fresh marker lookup, as attempt
/// `attempt` + 1, after `wait` and the breaker's.
fn reconcile(flow: &mut Flow, attempt: u32, now: u64, wait: Option<(u64, String)>) {
    let r = run(flow);
    r.search = None;
    r.create_attempts = attempt;
    if let Some(wait) = hold(flow, now, wait) {
        flow.engine.wait = Some(wait);
    }
}

/// Sends the failed request again, after `wait` and the breaker's. A status
/// change's `pending_status` mark is renewed, so that its entry is saved
/// (and version-checked) again before the retry leaves, and its lease runs
/// from this attempt.
fn resend(flow: &mut Flow, in_flight: InFlight, now: u64, wait: Option<(u64, String)>) {
    if let Purpose::Status(domain, external_id, _) = &in_flight.purpose {
        if let Some(e) = entry_mut(flow, *domain, external_id) {
            e.updated_at = now;
        }
    }
    let attempt = in_flight.attempt.saturating_add(1);
    let wait = hold(flow, now, wait);
    run(flow).resend = Some((in_flight.purpose, in_flight.request, attempt));
    if let Some(wait) = wait {
        flow.engine.wait = Some(wait);
    }
}

/// The wait before the next call: the retry's own, or until the breaker
/// lets a call through when it holds calls back.
fn hold(flow: &mut Flow, now: u64, wait: Option<(u64, String)>) -> Option<(u64, String)> {
    match flow.state.retry_state.admit(&flow.options.retry, now) {
        Admission::Blocked { until } => Some((until.max(wait.as_ref().map_or(0, |w| w.0)), "breaker_open".to_string())),
        _ => wait,
    }
}

/// Stops the run for an operator (bad credentials, API access off, the
/// index's page budget spent): this
/// record and every remaining one are deferred with the same error.
/// With lanes, the other records end as their lanes wind down (see
/// `lanes`): a request in flight is answered first.
pub(super) fn stop_run(flow: &mut Flow, info: &ErrorInfo, now: u64) {
    flow.state.stopped = Some(info.clone());
    let not_before = now;
    let deferred = || Outcome::Deferred {
        not_before,
        error: info.clone(),
    };
    finish(flow, deferred(), now);
    if super::lanes::active(flow) {
        return;
    }
    while flow.state.cursor < flow.items.len() {
        let index = flow.state.cursor;
        flow.engine.run = Some(Run::new(index, VecDeque::new(), String::new()));
        finish(flow, deferred(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry;
    use super::super::testing::*;
    use super::*;
    use crate::flow::ledger::Domain;
    use crate::flow::{Action, Flow};
    use crate::http::Response;

    const NOW: u64 = 1_000_000;

    /// A flow whose first request is the create of quote Q1 (its customer is
    /// known), and that request's id.
    fn creating_a_quote() -> (Flow, u64) {
        let mut flow = flow_of(&[quote("Q1"), customer("C2")]);
        put_done(&mut flow, Domain::Customer, "C1", 11);
        let (id, request) = next_send(&mut flow, NOW);
        assert_eq!(
            (request.method().as_str(), request.endpoint()),
            ("POST", "/proposal_sheets.xml")
        );
        (flow, id)
    }

    fn unavailable(retry_after_s: Option<u64>) -> Response {
        let mut r = answer(503, "");
        r.headers = retry_after_s
            .map(|s| ("Retry-After".to_string(), s.to_string()))
            .into_iter()
            .collect();
        r
    }

    fn deferred(flow: &Flow) -> (u64, String, String) {
        match outcome(flow, 0) {
            Some(Outcome::Deferred { not_before, error }) => (*not_before, error.code.clone(), error.message.clone()),
            other => panic!("expected deferred, got {other:?}"),
        }
    }

    fn pending(flow: &Flow) -> bool {
        entry(flow, Domain::Quote, "Q1").is_some_and(|e| e.state == EntryState::Pending)
    }

    #[test]
    fn a_lost_create_is_looked_up_after_its_backoff_before_anything_is_created_again() {
        let (mut flow, id) = creating_a_quote();
        flow.on_response(id, unavailable(Some(30)), NOW).unwrap();
        assert!(pending(&flow));
        match flow.poll(NOW).unwrap() {
            Action::Wait { until, reason } => assert_eq!((until, reason.as_str()), (NOW + 30_000, "retry_backoff")),
            other => panic!("expected a wait, got {other:?}"),
        }
        let (_, lookup) = next_send(&mut flow, NOW + 30_000);
        assert_eq!(
            (lookup.method().as_str(), lookup.endpoint()),
            ("GET", "/proposal_sheets.xml")
        );
        let tokens = flow.state.retry_state.budget.tokens;
        assert_eq!(
            tokens,
            flow.options.retry.budget.capacity - flow.options.retry.budget.retry_cost
        );
    }

    #[test]
    fn a_lost_create_whose_retry_after_is_beyond_the_cap_is_requeued() {
        let (mut flow, id) = creating_a_quote();
        flow.on_response(id, unavailable(Some(3_600)), NOW).unwrap();
        let (not_before, code, message) = deferred(&flow);
        assert_eq!((not_before, code.as_str()), (NOW + 3_600_000, "http.503"));
        assert!(message.ends_with("(requeued: retry_after_beyond_cap)"), "{message}");
        assert!(pending(&flow), "the replay reconciles first");
        assert_eq!(
            flow.state.retry_state.budget.tokens, flow.options.retry.budget.capacity,
            "no retry spent"
        );
        // The customer's later records wait behind it; others go on.
        assert!(flow.state.blocked_customers.contains_key("C1"));
    }

    #[test]
    fn a_lost_create_that_opens_the_breaker_waits_for_it() {
        let (mut flow, id) = creating_a_quote();
        // Nine calls, four failed: this fifth failure opens the breaker (10 calls, 50 %).
        flow.state.retry_state.breaker.window = "sssssffff".into();
        flow.on_response(id, unavailable(None), NOW).unwrap();
        match flow.poll(NOW).unwrap() {
            Action::Wait { until, reason } => assert_eq!((until, reason.as_str()), (NOW + 30_000, "breaker_open")),
            other => panic!("expected a wait, got {other:?}"),
        }
        assert!(pending(&flow));
        let (_, lookup) = next_send(&mut flow, NOW + 30_000);
        assert_eq!(lookup.method().as_str(), "GET", "then the marker is looked up");
    }

    #[test]
    fn a_lost_create_is_requeued_while_the_breaker_stays_open_beyond_the_cap() {
        let (mut flow, id) = creating_a_quote();
        flow.options.retry.breaker.open_ms = 120_000;
        flow.state.retry_state.breaker.window = "sssssffff".into();
        flow.on_response(id, unavailable(None), NOW).unwrap();
        let (not_before, _, message) = deferred(&flow);
        assert_eq!(not_before, NOW + 120_000);
        assert!(message.ends_with("(requeued: breaker_open)"), "{message}");
        assert!(pending(&flow));
    }

    #[test]
    fn a_lost_create_is_requeued_when_the_budget_is_spent() {
        let (mut flow, id) = creating_a_quote();
        flow.state.retry_state.budget.tokens = 1;
        flow.on_response(id, unavailable(None), NOW).unwrap();
        let (not_before, _, message) = deferred(&flow);
        assert!(not_before >= NOW + flow.options.retry.budget_requeue_ms);
        assert!(message.ends_with("(requeued: budget_exhausted)"), "{message}");
    }

    #[test]
    fn a_failed_read_is_sent_again_after_its_backoff() {
        let mut flow = flow_of(&[quote("Q1")]);
        let (id, request) = next_send(&mut flow, NOW);
        assert_eq!(request.method().as_str(), "GET");
        flow.on_response(id, unavailable(Some(5)), NOW).unwrap();
        match flow.poll(NOW).unwrap() {
            Action::Wait { until, reason } => assert_eq!((until, reason.as_str()), (NOW + 5_000, "retry_backoff")),
            other => panic!("expected a wait, got {other:?}"),
        }
        let (_, again) = next_send(&mut flow, NOW + 5_000);
        assert_eq!(again.url(), request.url());
        assert_eq!(flow.engine.in_flight.as_ref().map(|f| f.attempt), Some(2));
    }

    #[test]
    fn refused_credentials_stop_the_run_and_defer_every_record() {
        let (mut flow, id) = creating_a_quote();
        flow.on_response(id, answer(401, ""), NOW).unwrap();
        assert_eq!(flow.summary().deferred, 2);
        assert_eq!(flow.summary().stopped.map(|e| e.code), Some("auth.unauthorized".into()));
        for o in flow.outcomes() {
            assert!(
                matches!(o, Some(Outcome::Deferred { not_before: NOW, error }) if error.code == "auth.unauthorized")
            );
        }
    }

    #[test]
    fn a_refused_create_is_no_longer_pending() {
        let (mut flow, id) = creating_a_quote();
        flow.on_response(id, answer(422, "<errors><error>bad</error></errors>"), NOW)
            .unwrap();
        let e = entry(&flow, Domain::Quote, "Q1").unwrap();
        assert_eq!(e.state, EntryState::Quarantined);
        assert_eq!(e.error.as_deref(), Some("contract.rejected"));
        assert!(matches!(outcome(&flow, 0), Some(Outcome::Quarantined { .. })));
    }
}
