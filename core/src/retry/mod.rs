//! Retry decisions: pure, deterministic functions of the classified error,
//! the attempt number, the per-tenant [`RetryState`] the host keeps, the time
//! and a seed (docs/DESIGN.md#6-errors-and-retries).
//!
//! - only technical errors are retried; 401/403 stop with a clear message
//!   ([`RetryDecision::GiveUp`] with `needsOperator`); contract errors are
//!   rejected, business errors quarantined;
//! - at most `maxAttempts` (4) attempts; backoff `base × 2^n` (1 s, 2 s, 4 s…)
//!   capped at 30 s with full jitter drawn from the seed;
//! - `Retry-After` is a minimum, capped at 60 s; beyond, the decision is
//!   "requeue not before T" rather than sleeping in a worker;
//! - a per-tenant token bucket (500 tokens, a retry costs 5, a timeout 10, a
//!   success refunds 1) and a circuit breaker (opens at 50 % failures over the
//!   last 20 calls, at least 10; half-open after 30 s) protect incwo;
//! - a create whose outcome is unknown is never repeated blindly: the
//!   decision is [`RetryDecision::ReconcileFirst`]. A failure known to be
//!   before sending is retried normally.

use serde::{Deserialize, Serialize};

use crate::errors::{ClassifiedError, ErrorClass};
use crate::http::{Method, Operation};

/// Retry budget settings (token bucket). JSON camelCase, every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BudgetPolicy {
    /// Bucket size, and the initial number of tokens.
    pub capacity: u32,
    /// Tokens one retry costs.
    pub retry_cost: u32,
    /// Tokens one retry of a timeout costs.
    pub timeout_cost: u32,
    /// Tokens one success gives back.
    pub success_refund: u32,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        Self {
            capacity: 500,
            retry_cost: 5,
            timeout_cost: 10,
            success_refund: 1,
        }
    }
}

/// Circuit breaker settings. JSON camelCase, every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BreakerPolicy {
    /// How many recent calls are remembered (at most 1000).
    pub window: u32,
    /// Fewest calls in the window before the breaker may open.
    pub min_calls: u32,
    /// Failure share, in percent, at or above which the breaker opens.
    pub failure_rate_percent: u32,
    /// How long the breaker stays open before a probe is let through.
    pub open_ms: u64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            window: 20,
            min_calls: 10,
            failure_rate_percent: 50,
            open_ms: 30_000,
        }
    }
}

/// The retry policy: docs/DESIGN.md#6-errors-and-retries defaults, each overridable.
/// JSON camelCase, every field optional:
/// `{"maxAttempts": 4, "baseDelayMs": 1000, "maxDelayMs": 30000,
/// "retryAfterCapMs": 60000, "budgetRequeueMs": 60000, "budget": {…}, "breaker": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Most attempts of one call, the first included.
    pub max_attempts: u32,
    /// Backoff base: the n-th retry waits up to `base × 2^(n-1)`.
    pub base_delay_ms: u64,
    /// Backoff cap.
    pub max_delay_ms: u64,
    /// Longest `Retry-After` (or open breaker) waited in place; beyond, requeue.
    pub retry_after_cap_ms: u64,
    /// Delay of a requeue when the retry budget is exhausted.
    pub budget_requeue_ms: u64,
    /// Token bucket.
    pub budget: BudgetPolicy,
    /// Circuit breaker.
    pub breaker: BreakerPolicy,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay_ms: 1_000,
            max_delay_ms: 30_000,
            retry_after_cap_ms: 60_000,
            budget_requeue_ms: 60_000,
            budget: BudgetPolicy::default(),
            breaker: BreakerPolicy::default(),
        }
    }
}

impl RetryPolicy {
    fn window_len(&self) -> usize {
        self.breaker.window.clamp(1, 1000) as usize
    }

    /// The backoff ceiling before the retry that follows `attempt` (1-based):
    /// `min(maxDelayMs, baseDelayMs × 2^(attempt-1))`.
    pub fn backoff_ceiling(&self, attempt: u32) -> u64 {
        let exponent = attempt.saturating_sub(1).min(63);
        let factor = 1u64.checked_shl(exponent).unwrap_or(u64::MAX);
        self.base_delay_ms.saturating_mul(factor).min(self.max_delay_ms)
    }
}

/// The per-tenant retry budget: tokens left. JSON: `{"tokens": 500}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    /// Tokens left.
    pub tokens: u32,
}

/// Breaker position. JSON: `"closed"`, `"open"`, `"halfOpen"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum BreakerPhase {
    /// Calls flow.
    Closed,
    /// Calls are held until `openedAt + openMs`.
    Open,
    /// One probe call is let through; its outcome closes or reopens.
    HalfOpen,
}

/// The circuit breaker's state, kept by the host. `window` holds the recent
/// calls' outcomes, oldest first: `s` for a healthy answer, `f` for a
/// technical failure. JSON: `{"phase": "closed", "window": "ssfs",
/// "openedAt": null, "probeAt": null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BreakerState {
    /// Position.
    pub phase: BreakerPhase,
    /// Recent outcomes (`s`/`f`), oldest first.
    #[serde(default)]
    pub window: String,
    /// When the breaker last opened (ms since the epoch).
    #[serde(default)]
    pub opened_at: Option<u64>,
    /// When the current half-open probe was let through.
    #[serde(default)]
    pub probe_at: Option<u64>,
}

impl Default for BreakerState {
    fn default() -> Self {
        Self {
            phase: BreakerPhase::Closed,
            window: String::new(),
            opened_at: None,
            probe_at: None,
        }
    }
}

/// Everything the retry policy remembers for one tenant; a serializable
/// value the host stores (in memory, a checkpoint or a shared row).
/// JSON: `{"budget": {"tokens": 500}, "breaker": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RetryState {
    /// Token bucket.
    pub budget: Budget,
    /// Circuit breaker.
    #[serde(default)]
    pub breaker: BreakerState,
}

impl Default for RetryState {
    fn default() -> Self {
        Self::new(&RetryPolicy::default())
    }
}

/// Whether a call may be sent now, from the breaker. JSON:
/// `{"admission": "allowed"}`, `{"admission": "probe"}`,
/// `{"admission": "blocked", "until": 1700000030000}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "admission", rename_all = "camelCase")]
pub enum Admission {
    /// Send it.
    Allowed,
    /// Send it as the half-open probe: its outcome closes or reopens the breaker.
    Probe,
    /// Do not send before `until`.
    Blocked {
        /// ms since the epoch.
        until: u64,
    },
}

/// What to do after a failed call. JSON, tagged by `decision` (camelCase):
/// `{"decision": "retryNow"}`, `{"decision": "retryAt", "at", "delayMs"}`,
/// `{"decision": "requeue", "notBefore", "reason"}`,
/// `{"decision": "reconcileFirst"}`,
/// `{"decision": "giveUp", "code", "reason", "needsOperator", "outcomeUnknown"}`,
/// `{"decision": "reject", "code", "reason"}`,
/// `{"decision": "quarantine", "code", "reason"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum RetryDecision {
    /// Retry immediately.
    RetryNow,
    /// Retry at `at` (ms since the epoch), `delay_ms` after now.
    RetryAt {
        /// When.
        at: u64,
        /// How long from now.
        delay_ms: u64,
    },
    /// Do not wait in the worker: requeue the message, not before `not_before`.
    Requeue {
        /// ms since the epoch.
        not_before: u64,
        /// `retry_after_beyond_cap`, `breaker_open` or `budget_exhausted`.
        reason: String,
    },
    /// A create's outcome is unknown: look the record up by its marker; repeat
    /// the create only if the lookup proves it absent.
    ReconcileFirst,
    /// Stop retrying this call (exhausted, not retryable, or an operator must act).
    GiveUp {
        /// The error's code.
        code: String,
        /// A clear message for the operator.
        reason: String,
        /// An operator must act (credentials, API access, server address).
        needs_operator: bool,
        /// The failed call was a write whose outcome is unknown: reconcile
        /// before any replay.
        outcome_unknown: bool,
    },
    /// Contract error: rejected with incwo's messages, never retried.
    Reject {
        /// The error's code.
        code: String,
        /// Why.
        reason: String,
    },
    /// Business error: the record goes to quarantine, never retried.
    Quarantine {
        /// The error's code.
        code: String,
        /// Why.
        reason: String,
    },
}

impl RetryDecision {
    /// True when the call will be sent again (now, later, or after a requeue).
    pub fn is_retry(&self) -> bool {
        matches!(
            self,
            RetryDecision::RetryNow | RetryDecision::RetryAt { .. } | RetryDecision::Requeue { .. }
        )
    }
}

impl RetryState {
    /// A fresh state: full budget, breaker closed.
    pub fn new(policy: &RetryPolicy) -> Self {
        Self {
            budget: Budget {
                tokens: policy.budget.capacity,
            },
            breaker: BreakerState::default(),
        }
    }

    /// Asks the breaker whether a call may be sent now. Moves an open
    /// breaker to half-open once `openMs` has passed, and lets one probe
    /// through (another one if the previous probe never reported back
    /// within `openMs`).
    pub fn admit(&mut self, policy: &RetryPolicy, now_ms: u64) -> Admission {
        let open_ms = policy.breaker.open_ms;
        let b = &mut self.breaker;
        match b.phase {
            BreakerPhase::Closed => Admission::Allowed,
            BreakerPhase::Open => {
                let until = b.opened_at.unwrap_or(0).saturating_add(open_ms);
                if now_ms >= until {
                    b.phase = BreakerPhase::HalfOpen;
                    b.probe_at = Some(now_ms);
                    Admission::Probe
                } else {
                    Admission::Blocked { until }
                }
            }
            BreakerPhase::HalfOpen => {
                let until = b.probe_at.unwrap_or(0).saturating_add(open_ms);
                if now_ms >= until {
                    b.probe_at = Some(now_ms);
                    Admission::Probe
                } else {
                    Admission::Blocked { until }
                }
            }
        }
    }

    /// Records a successful call (2xx): refunds the budget and counts a
    /// healthy answer (a half-open breaker closes).
    pub fn record_success(&mut self, policy: &RetryPolicy, now_ms: u64) {
        self.budget.tokens = self
            .budget
            .tokens
            .saturating_add(policy.budget.success_refund)
            .min(policy.budget.capacity);
        self.record_outcome(policy, now_ms, false);
    }

    /// Records one call outcome in the breaker (`failed`: a technical
    /// failure that says incwo is unhealthy).
    fn record_outcome(&mut self, policy: &RetryPolicy, now_ms: u64, failed: bool) {
        let window = policy.window_len();
        let b = &mut self.breaker;
        // Keep only valid marks, then append and trim to the window.
        b.window.retain(|c| c == 's' || c == 'f');
        b.window.push(if failed { 'f' } else { 's' });
        if b.window.len() > window {
            let excess = b.window.len() - window;
            b.window.drain(..excess);
        }
        match (b.phase, failed) {
            (BreakerPhase::HalfOpen, false) => {
                *b = BreakerState::default();
            }
            (BreakerPhase::HalfOpen, true) => {
                b.phase = BreakerPhase::Open;
                b.opened_at = Some(now_ms);
                b.probe_at = None;
            }
            (BreakerPhase::Closed, true) => {
                let calls = b.window.len() as u64;
                let failures = b.window.chars().filter(|c| *c == 'f').count() as u64;
                let min_calls = u64::from(policy.breaker.min_calls.max(1));
                if calls >= min_calls && failures * 100 >= calls * u64::from(policy.breaker.failure_rate_percent) {
                    b.phase = BreakerPhase::Open;
                    b.opened_at = Some(now_ms);
                    b.probe_at = None;
                }
            }
            _ => {}
        }
    }

    /// When an open breaker lets a probe through, if it is open.
    fn open_until(&self, policy: &RetryPolicy) -> Option<u64> {
        match self.breaker.phase {
            BreakerPhase::Open => Some(
                self.breaker
                    .opened_at
                    .unwrap_or(0)
                    .saturating_add(policy.breaker.open_ms),
            ),
            _ => None,
        }
    }
}

/// splitmix64: a tiny, well-mixed deterministic PRNG step (no `rand` crate).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Full jitter: a delay in `[0, ceiling]` drawn from `(seed, attempt)`.
pub fn jitter(seed: u64, attempt: u32, ceiling: u64) -> u64 {
    let draw = splitmix64(seed ^ splitmix64(u64::from(attempt)));
    match ceiling.checked_add(1) {
        Some(span) => draw % span,
        None => draw,
    }
}

/// Decides what follows a failed call. `attempt` is the 1-based number of
/// the attempt that just failed (0 is read as 1). Updates `state`: records
/// the failure in the breaker and spends retry budget when it retries.
/// Deterministic: the same inputs (state included) give the same decision.
pub fn decide(
    policy: &RetryPolicy,
    state: &mut RetryState,
    error: &ClassifiedError,
    attempt: u32,
    now_ms: u64,
    seed: u64,
) -> RetryDecision {
    let attempt = attempt.max(1);
    let unhealthy = error.class == ErrorClass::Technical && !error.needs_operator;
    state.record_outcome(policy, now_ms, unhealthy);

    match error.class {
        ErrorClass::Contract => {
            return RetryDecision::Reject {
                code: error.code.clone(),
                reason: format!("{}; contract errors are not retried", error.message),
            }
        }
        ErrorClass::Business => {
            return RetryDecision::Quarantine {
                code: error.code.clone(),
                reason: format!("{}; business errors go to quarantine", error.message),
            }
        }
        ErrorClass::Technical => {}
    }
    let give_up = |reason: String| RetryDecision::GiveUp {
        code: error.code.clone(),
        reason,
        needs_operator: error.needs_operator,
        outcome_unknown: error.outcome_unknown,
    };
    if error.needs_operator {
        return give_up(format!("{}; an operator must act, not retried", error.message));
    }
    if !error.retryable {
        return give_up(format!("{}; not retryable", error.message));
    }
    let max_attempts = policy.max_attempts.max(1);
    if attempt >= max_attempts {
        let mut reason = format!("{}; gave up after {attempt} attempts", error.message);
        if error.outcome_unknown {
            reason.push_str("; reconcile before any replay");
        }
        return give_up(reason);
    }
    if error.outcome_unknown && (error.operation == Operation::Create || error.method == Method::Post) {
        return RetryDecision::ReconcileFirst;
    }
    schedule(policy, state, error, attempt, now_ms, seed)
}

/// When a call that will be sent again goes: after its backoff (full
/// jitter from `seed`) and any `Retry-After`, or as a requeue when the
/// `Retry-After` or an open breaker lasts beyond `retryAfterCapMs`, or when
/// the budget is spent. Spends the retry's budget. Returns `RetryNow`,
/// `RetryAt` or `Requeue`. [`decide`] ends with it; a create reconciled after
/// [`RetryDecision::ReconcileFirst`] calls it too before creating again, so
/// the cap, the breaker and the budget hold on that path as well.
pub fn schedule(
    policy: &RetryPolicy,
    state: &mut RetryState,
    error: &ClassifiedError,
    attempt: u32,
    now_ms: u64,
    seed: u64,
) -> RetryDecision {
    let attempt = attempt.max(1);
    let mut at = now_ms.saturating_add(jitter(seed, attempt, policy.backoff_ceiling(attempt)));
    if let Some(retry_after) = error.retry_after_ms {
        if retry_after.saturating_sub(now_ms) > policy.retry_after_cap_ms {
            return RetryDecision::Requeue {
                not_before: retry_after,
                reason: "retry_after_beyond_cap".to_owned(),
            };
        }
        at = at.max(retry_after);
    }
    if let Some(until) = state.open_until(policy) {
        if until.saturating_sub(now_ms) > policy.retry_after_cap_ms {
            return RetryDecision::Requeue {
                not_before: until,
                reason: "breaker_open".to_owned(),
            };
        }
        at = at.max(until);
    }
    let cost = if error.is_timeout() {
        policy.budget.timeout_cost
    } else {
        policy.budget.retry_cost
    };
    if state.budget.tokens < cost {
        return RetryDecision::Requeue {
            not_before: at.max(now_ms.saturating_add(policy.budget_requeue_ms)),
            reason: "budget_exhausted".to_owned(),
        };
    }
    state.budget.tokens -= cost;
    if at <= now_ms {
        RetryDecision::RetryNow
    } else {
        RetryDecision::RetryAt {
            at,
            delay_ms: at - now_ms,
        }
    }
}

#[cfg(test)]
mod tests;
