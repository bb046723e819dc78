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

/// Sends the failed request again, after `wait` and the breaker's.
fn resend(flow: &mut Flow, in_flight: InFlight, now: u64, wait: Option<(u64, String)>) {
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

/// Stops the run for an operator (bad credentials, API access off): this
/// record and every remaining one are deferred with the same error.
fn stop_run(flow: &mut Flow, info: &ErrorInfo, now: u64) {
    flow.state.stopped = Some(info.clone());
    let not_before = now;
    let deferred = || Outcome::Deferred {
        not_before,
        error: info.clone(),
    };
    finish(flow, deferred(), now);
    while flow.state.cursor < flow.items.len() {
        let index = flow.state.cursor;
        flow.engine.run = Some(Run::new(index, VecDeque::new(), String::new()));
        finish(flow, deferred(), now);
    }
}
