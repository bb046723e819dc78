//! Feeds the operations metrics ([`crate::telemetry::operations`]) from what
//! a flow hands its host, so every host exports the same series without
//! doing anything: quarantined records, retries, the retry budget and the
//! breaker of the tenant, and the time of the last batch that ended well.

use super::{Action, Flow, Outcome};
use crate::http::Request;
use crate::retry::BreakerPhase;
use crate::telemetry::operations::{BreakerGauge, OperationsEvent};
use crate::telemetry::{MetricEvent, Registry};

/// Counts a retry when `attempt` is not the first (called where the flow sends).
pub(super) fn on_send(registry: &mut Registry, request: &Request, attempt: u32) {
    if attempt > 1 {
        registry.record(&MetricEvent::Operations(OperationsEvent::Retry {
            endpoint: request.endpoint().to_owned(),
        }));
    }
}

/// The incwo server's host (and port), the label of the tenant's gauges.
fn host(flow: &Flow) -> String {
    let base = flow.config.base().to_string();
    let authority = base.split_once("://").map_or(base.as_str(), |(_, rest)| rest);
    authority.split('/').next().unwrap_or_default().to_owned()
}

/// Updates the metrics after `action` was chosen at `now` (ms since the epoch).
pub(super) fn observe(flow: &mut Flow, action: &Action, now: u64) {
    let mut events = Vec::with_capacity(3);
    match action {
        Action::RecordDone {
            kind,
            outcome: Outcome::Quarantined { error },
            ..
        } => events.push(OperationsEvent::Quarantined {
            class: error.class.clone(),
            code: error.code.clone(),
            resource: kind
                .and_then(|k| serde_json::to_value(k).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned()),
        }),
        Action::Done { summary } if summary.deferred == 0 && summary.stopped.is_none() => {
            events.push(OperationsEvent::SyncSucceeded { at_seconds: now / 1000 })
        }
        _ => {}
    }
    let host = host(flow);
    let retry = &flow.state.retry_state;
    events.push(OperationsEvent::RetryBudget {
        host: host.clone(),
        remaining: u64::from(retry.budget.tokens),
        capacity: u64::from(flow.options.retry.budget.capacity),
    });
    let state = match retry.breaker.phase {
        BreakerPhase::Closed => BreakerGauge::Closed,
        BreakerPhase::HalfOpen => BreakerGauge::HalfOpen,
        BreakerPhase::Open => BreakerGauge::Open,
    };
    events.push(OperationsEvent::BreakerState { host, state });
    for event in events {
        flow.registry.record(&MetricEvent::Operations(event));
    }
}
