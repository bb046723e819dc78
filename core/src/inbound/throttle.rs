//! Failed-authentication throttle of the webhook intake: a fixed window per
//! client address. incwo's webhooks carry the secret in their URL, so a
//! guesser gets [`MAX_FAILURES`] wrong guesses a minute per address, then
//! 429 until the window ends. Sans-IO: the host keeps one small state per
//! address (in memory, a file, a cache pool) and passes it in.

use super::InboundError;
use serde::{Deserialize, Serialize};

/// Failed authentications an address may make in one window.
pub const MAX_FAILURES: u32 = 10;

/// Length of a window, in milliseconds.
pub const WINDOW_MS: u64 = 60_000;

/// The throttle state of one client address. JSON camelCase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrottleState {
    /// When the current window began (ms since the epoch).
    pub window_start: u64,
    /// Failed authentications in the current window.
    pub failures: u32,
}

/// What the host does with a request from an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The state to keep for the address.
    pub state: ThrottleState,
    /// Seconds until the window ends, when the address is refused.
    pub retry_after_seconds: Option<u64>,
}

/// Moves `state` to the window of `now` (a new one when it ended, or when
/// the clock went back), records a failure if `failed`, and says whether
/// the address is refused: it is once [`MAX_FAILURES`] failures were made
/// in the window.
pub fn throttle(state: Option<ThrottleState>, now: u64, failed: bool) -> Decision {
    let mut state = match state {
        Some(s) if now >= s.window_start && now - s.window_start < WINDOW_MS => s,
        _ => ThrottleState {
            window_start: now,
            failures: 0,
        },
    };
    if failed {
        state.failures = state.failures.saturating_add(1);
    }
    let refused = state.failures >= MAX_FAILURES;
    let left_ms = state.window_start.saturating_add(WINDOW_MS).saturating_sub(now);
    Decision {
        state,
        retry_after_seconds: refused.then(|| left_ms.div_ceil(1000).max(1)),
    }
}

/// The error a refused address is answered with (429).
pub fn refusal(retry_after_seconds: u64) -> InboundError {
    InboundError::new(
        "inbound.too_many_failures",
        429,
        format!(
            "more than {MAX_FAILURES} webhook calls with a wrong secret came from this address in a minute; \
             retry in {retry_after_seconds} s"
        ),
        "check the webhook URL registered in incwo (its secret segment); the address is let in again when the minute ends",
    )
    .retry_after(retry_after_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_in_a_minute_close_the_window_then_it_opens_again() {
        let mut state = None;
        for i in 0..MAX_FAILURES {
            let before = throttle(state, 1_000 + u64::from(i), false);
            assert_eq!(before.retry_after_seconds, None, "failure {i}");
            state = Some(throttle(before.state.into(), 1_000 + u64::from(i), true).state);
        }
        let refused = throttle(state, 31_000, false);
        assert_eq!(refused.retry_after_seconds, Some(30));
        assert_eq!(throttle(state, 60_999, false).retry_after_seconds, Some(1));
        let next = throttle(state, 61_000, false);
        assert_eq!((next.retry_after_seconds, next.state.failures), (None, 0));
        // A clock that went back starts a new window rather than refusing forever.
        assert_eq!(throttle(state, 10, false).retry_after_seconds, None);
        let huge = ThrottleState {
            window_start: u64::MAX - 5,
            failures: u32::MAX,
        };
        assert_eq!(throttle(Some(huge), u64::MAX, true).state.failures, u32::MAX);
    }
}
