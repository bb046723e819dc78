use proptest::prelude::*;

use super::*;
use crate::errors::{
    classify_response, classify_transport, ClassificationTable, TransportFailure, TransportKind, TransportPhase,
};
use crate::http::{CallSite, Response};

const NOW: u64 = 1_700_000_000_000;

fn response_error(method: Method, endpoint: &str, status: u16, headers: &[(&str, &str)]) -> ClassifiedError {
    let response = Response::new(
        status,
        headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        Vec::new(),
    );
    classify_response(
        &CallSite::new(method, endpoint),
        &response,
        NOW,
        &ClassificationTable::default(),
    )
    .unwrap()
}

fn transport_error(method: Method, endpoint: &str, kind: TransportKind, maybe_sent: bool) -> ClassifiedError {
    let phase = if maybe_sent {
        TransportPhase::Sent
    } else {
        TransportPhase::Connect
    };
    classify_transport(&CallSite::new(method, endpoint), TransportFailure { kind, phase })
}

fn fresh() -> (RetryPolicy, RetryState) {
    let policy = RetryPolicy::default();
    let state = RetryState::new(&policy);
    (policy, state)
}

#[test]
fn technical_errors_back_off_then_give_up() {
    let (policy, mut state) = fresh();
    let e = response_error(Method::Get, "/firms/{id}.xml", 503, &[]);
    for attempt in 1..4 {
        let d = decide(&policy, &mut state, &e, attempt, NOW, 7);
        let ceiling = policy.backoff_ceiling(attempt);
        match d {
            RetryDecision::RetryNow => {}
            RetryDecision::RetryAt { at, delay_ms } => {
                assert_eq!(at, NOW + delay_ms);
                assert!(delay_ms <= ceiling);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        decide(&policy, &mut state, &e, 4, NOW, 7),
        RetryDecision::GiveUp { .. }
    ));
    assert_eq!(state.budget.tokens, 500 - 15);
    assert_eq!(policy.backoff_ceiling(1), 1_000);
    assert_eq!(policy.backoff_ceiling(3), 4_000);
    assert_eq!(policy.backoff_ceiling(10), 30_000);
    assert_eq!(policy.backoff_ceiling(u32::MAX), 30_000);
}

#[test]
fn the_done_when_cases_hold() {
    let (policy, mut state) = fresh();
    let e = response_error(Method::Post, "/bill_sheets.xml", 422, &[]);
    assert!(matches!(
        decide(&policy, &mut state, &e, 1, NOW, 1),
        RetryDecision::Reject { .. }
    ));
    let e = transport_error(Method::Post, "/proposal_sheets.xml", TransportKind::Timeout, true);
    assert_eq!(
        decide(&policy, &mut state, &e, 1, NOW, 1),
        RetryDecision::ReconcileFirst
    );
    let e = transport_error(
        Method::Post,
        "/proposal_sheets.xml",
        TransportKind::ConnectRefused,
        true,
    );
    assert!(decide(&policy, &mut state, &e, 1, NOW, 1).is_retry());
    let e = response_error(Method::Get, "/firms.xml", 429, &[("Retry-After", "120")]);
    assert_eq!(
        decide(&policy, &mut state, &e, 1, NOW, 1),
        RetryDecision::Requeue {
            not_before: NOW + 120_000,
            reason: "retry_after_beyond_cap".into()
        }
    );
    let e = response_error(Method::Get, "/firms.xml", 429, &[("Retry-After", "45")]);
    assert_eq!(
        decide(&policy, &mut state, &e, 1, NOW, 1),
        RetryDecision::RetryAt {
            at: NOW + 45_000,
            delay_ms: 45_000
        }
    );
    let e = response_error(Method::Get, "/firms.xml", 401, &[]);
    match decide(&policy, &mut state, &e, 1, NOW, 1) {
        RetryDecision::GiveUp {
            needs_operator, reason, ..
        } => {
            assert!(needs_operator);
            assert!(reason.contains("credentials"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let e = response_error(Method::Get, "/firms/{id}.xml", 404, &[]);
    assert!(matches!(
        decide(&policy, &mut state, &e, 1, NOW, 1),
        RetryDecision::Quarantine { .. }
    ));
}

#[test]
fn breaker_opens_half_opens_and_closes() {
    let (policy, mut state) = fresh();
    let e = response_error(Method::Get, "/firms.xml", 500, &[]);
    for i in 0..9 {
        decide(&policy, &mut state, &e, 1, NOW + i, 3);
        assert_eq!(state.breaker.phase, BreakerPhase::Closed, "after {} failures", i + 1);
    }
    let d = decide(&policy, &mut state, &e, 1, NOW + 9, 3);
    assert_eq!(state.breaker.phase, BreakerPhase::Open);
    // The retry waits for the breaker.
    assert_eq!(
        d,
        RetryDecision::RetryAt {
            at: NOW + 9 + 30_000,
            delay_ms: 30_000
        }
    );
    assert_eq!(
        state.admit(&policy, NOW + 10),
        Admission::Blocked {
            until: NOW + 9 + 30_000
        }
    );
    assert_eq!(state.admit(&policy, NOW + 30_009), Admission::Probe);
    assert_eq!(state.breaker.phase, BreakerPhase::HalfOpen);
    assert!(matches!(state.admit(&policy, NOW + 30_010), Admission::Blocked { .. }));
    state.record_success(&policy, NOW + 30_020);
    assert_eq!(state.breaker, BreakerState::default());
    assert_eq!(state.admit(&policy, NOW + 30_021), Admission::Allowed);
}

#[test]
fn breaker_needs_half_failures_among_at_least_ten_calls() {
    let (policy, mut state) = fresh();
    let e = transport_error(Method::Get, "/firms.xml", TransportKind::Reset, true);
    for i in 0..20u64 {
        if i % 2 == 0 {
            state.record_success(&policy, NOW);
        } else {
            decide(&policy, &mut state, &e, 1, NOW, i);
        }
        // 50 % failures: opens as soon as ten calls are in the window.
        let expect_open = i >= 9;
        assert_eq!(state.breaker.phase == BreakerPhase::Open, expect_open, "call {i}");
        if expect_open {
            break;
        }
    }
}

#[test]
fn budget_exhaustion_requeues() {
    let policy = RetryPolicy::default();
    let mut state = RetryState {
        budget: Budget { tokens: 9 },
        breaker: BreakerState::default(),
    };
    let timeout = transport_error(Method::Get, "/firms.xml", TransportKind::Timeout, true);
    assert_eq!(
        decide(&policy, &mut state, &timeout, 1, NOW, 0),
        RetryDecision::Requeue {
            not_before: NOW + 60_000,
            reason: "budget_exhausted".into()
        }
    );
    let e = response_error(Method::Get, "/firms.xml", 502, &[]);
    assert!(decide(&policy, &mut state, &e, 1, NOW, 0).is_retry());
    assert_eq!(state.budget.tokens, 4);
    for _ in 0..1000 {
        state.record_success(&policy, NOW);
    }
    assert_eq!(state.budget.tokens, 500);
}

#[test]
fn unknown_outcome_creates_reconcile_but_not_updates() {
    let (policy, mut state) = fresh();
    let create_503 = response_error(Method::Post, "/bill_sheets.xml", 503, &[]);
    assert_eq!(
        decide(&policy, &mut state, &create_503, 1, NOW, 0),
        RetryDecision::ReconcileFirst
    );
    let put_reset = transport_error(Method::Put, "/bill_sheets/{id}.xml", TransportKind::Reset, true);
    assert!(put_reset.outcome_unknown);
    assert!(decide(&policy, &mut state, &put_reset, 1, NOW, 0).is_retry());
    match decide(&policy, &mut state, &create_503, 4, NOW, 0) {
        RetryDecision::GiveUp { outcome_unknown, .. } => assert!(outcome_unknown),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_create_to_reconcile_is_scheduled_with_the_cap_the_breaker_and_the_budget() {
    let (policy, mut state) = fresh();
    let far = response_error(Method::Post, "/bill_sheets.xml", 503, &[("Retry-After", "3600")]);
    assert_eq!(
        decide(&policy, &mut state, &far, 1, NOW, 0),
        RetryDecision::ReconcileFirst
    );
    assert_eq!(
        schedule(&policy, &mut state, &far, 1, NOW, 0),
        RetryDecision::Requeue {
            not_before: NOW + 3_600_000,
            reason: "retry_after_beyond_cap".into()
        }
    );
    let near = response_error(Method::Post, "/bill_sheets.xml", 503, &[("Retry-After", "20")]);
    assert_eq!(
        schedule(&policy, &mut state, &near, 1, NOW, 0),
        RetryDecision::RetryAt {
            at: NOW + 20_000,
            delay_ms: 20_000
        }
    );
    assert_eq!(state.budget.tokens, policy.budget.capacity - policy.budget.retry_cost);
    state.breaker.phase = BreakerPhase::Open;
    state.breaker.opened_at = Some(NOW);
    let plain = response_error(Method::Post, "/bill_sheets.xml", 503, &[]);
    assert_eq!(
        schedule(&policy, &mut state, &plain, 1, NOW, 0),
        RetryDecision::RetryAt {
            at: NOW + 30_000,
            delay_ms: 30_000
        }
    );
}

#[test]
fn decisions_and_state_have_stable_json() {
    let d = RetryDecision::RetryAt { at: 5, delay_ms: 3 };
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        serde_json::json!({"decision": "retryAt", "at": 5, "delayMs": 3})
    );
    let d = RetryDecision::Requeue {
        not_before: 9,
        reason: "budget_exhausted".into(),
    };
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        serde_json::json!({"decision": "requeue", "notBefore": 9, "reason": "budget_exhausted"})
    );
    let state = RetryState::default();
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"budget": {"tokens": 500}, "breaker": {"phase": "closed", "window": "", "openedAt": null, "probeAt": null}})
    );
    let back: RetryState = serde_json::from_value(json).unwrap();
    assert_eq!(back, state);
    let policy: RetryPolicy =
        serde_json::from_value(serde_json::json!({"maxAttempts": 2, "breaker": {"openMs": 5}})).unwrap();
    assert_eq!(policy.max_attempts, 2);
    assert_eq!(policy.breaker.open_ms, 5);
    assert_eq!(policy.breaker.window, 20);
    assert_eq!(policy.base_delay_ms, 1_000);
}

#[test]
fn a_corrupt_window_is_sanitized() {
    let policy = RetryPolicy::default();
    let mut state = RetryState::default();
    state.breaker.window = "xyzé".repeat(100);
    state.record_success(&policy, NOW);
    assert_eq!(state.breaker.window, "s");
}

fn any_error() -> impl Strategy<Value = ClassifiedError> {
    let methods = prop_oneof![
        Just(Method::Get),
        Just(Method::Post),
        Just(Method::Put),
        Just(Method::Delete)
    ];
    let endpoints = prop_oneof![Just("/bill_sheets.xml"), Just("/bill_sheets/{id}.xml")];
    let kinds = prop_oneof![
        Just(TransportKind::ConnectRefused),
        Just(TransportKind::Dns),
        Just(TransportKind::Tls),
        Just(TransportKind::Timeout),
        Just(TransportKind::Reset),
    ];
    let retry_after = prop_oneof![Just(None), (0u64..200).prop_map(|s| Some(s.to_string()))];
    prop_oneof![
        (methods.clone(), endpoints.clone(), 300u16..600, retry_after).prop_map(|(m, ep, status, ra)| {
            let headers: Vec<(&str, &str)> = match &ra {
                Some(v) => vec![("Retry-After", v.as_str())],
                None => vec![],
            };
            response_error(m, ep, status, &headers)
        }),
        (methods, endpoints, kinds, any::<bool>()).prop_map(|(m, ep, k, sent)| transport_error(m, ep, k, sent)),
    ]
}

#[derive(Debug, Clone)]
enum Event {
    Fail(ClassifiedError),
    Success,
    Admit,
}

fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => any_error().prop_map(Event::Fail),
        2 => Just(Event::Success),
        1 => Just(Event::Admit),
    ]
}

fn run(seed: u64, events: &[(Event, u64)]) -> (Vec<String>, RetryState) {
    let policy = RetryPolicy::default();
    let mut state = RetryState::new(&policy);
    let mut now = NOW;
    let mut attempt = 1u32;
    let mut out = Vec::new();
    for (event, step) in events {
        now += step;
        match event {
            Event::Success => {
                state.record_success(&policy, now);
                attempt = 1;
                out.push("success".to_owned());
            }
            Event::Admit => out.push(format!("{:?}", state.admit(&policy, now))),
            Event::Fail(error) => {
                let d = decide(&policy, &mut state, error, attempt, now, seed);
                // Invariants, for every decision.
                if d.is_retry() {
                    assert!(attempt < policy.max_attempts, "retry after attempt {attempt}");
                    assert_eq!(error.class, ErrorClass::Technical);
                    assert!(error.retryable && !error.needs_operator);
                }
                if error.class != ErrorClass::Technical {
                    assert!(!d.is_retry() && d != RetryDecision::ReconcileFirst);
                }
                if let RetryDecision::RetryAt { at, delay_ms } = d {
                    assert_eq!(at, now + delay_ms);
                    let cap = if error.retry_after_ms.is_some() {
                        policy.retry_after_cap_ms
                    } else {
                        policy.max_delay_ms.max(policy.breaker.open_ms)
                    };
                    assert!(delay_ms <= cap, "{delay_ms} > {cap}");
                }
                if state.breaker.phase == BreakerPhase::Closed && error.retry_after_ms.is_none() {
                    if let RetryDecision::RetryAt { delay_ms, .. } = d {
                        assert!(delay_ms <= policy.max_delay_ms);
                    }
                }
                attempt = if d.is_retry() { attempt + 1 } else { 1 };
                out.push(serde_json::to_string(&d).unwrap());
            }
        }
        assert!(state.budget.tokens <= policy.budget.capacity);
        assert!(state.breaker.window.len() <= policy.breaker.window as usize);
    }
    (out, state)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decisions_respect_the_invariants_and_are_deterministic(
        seed in any::<u64>(),
        events in prop::collection::vec((any_event(), 0u64..40_000), 0..40),
    ) {
        let first = run(seed, &events);
        let second = run(seed, &events);
        prop_assert_eq!(first, second);
    }

    #[test]
    fn jitter_stays_within_its_ceiling(seed in any::<u64>(), attempt in 0u32..100, ceiling in 0u64..100_000) {
        prop_assert!(jitter(seed, attempt, ceiling) <= ceiling);
        prop_assert_eq!(jitter(seed, attempt, ceiling), jitter(seed, attempt, ceiling));
    }

    #[test]
    fn contract_and_business_errors_are_never_retried(
        seed in any::<u64>(),
        attempt in 0u32..10,
        status in (400u16..500).prop_filter("technical 4xx", |s| ![401, 403, 408, 425, 429].contains(s)),
        post in any::<bool>(),
    ) {
        let (policy, mut state) = fresh();
        let method = if post { Method::Post } else { Method::Get };
        let e = response_error(method, "/bill_sheets.xml", status, &[("Retry-After", "1")]);
        prop_assert!(e.class != ErrorClass::Technical);
        let d = decide(&policy, &mut state, &e, attempt, NOW, seed);
        let terminal = matches!(d, RetryDecision::Reject { .. } | RetryDecision::Quarantine { .. });
        prop_assert!(terminal, "decision {:?}", d);
    }
}
