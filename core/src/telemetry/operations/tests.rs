use super::*;
use crate::telemetry::{MetricEvent, Registry};
use serde_json::json;

/// Reads the events as the façade's `telemetry.render` does and renders them.
fn render(events: serde_json::Value) -> String {
    let events: Vec<MetricEvent> = serde_json::from_value(events).unwrap_or_else(|e| panic!("{e}"));
    let mut registry = Registry::default();
    for event in &events {
        registry.record(event);
    }
    registry.render_prometheus()
}

#[test]
fn every_operations_event_reads_from_json_and_renders_its_family() {
    let text = render(json!([
        {"metric": "quarantined", "class": "contract", "code": "contract.invalid", "resource": "order"},
        {"metric": "retry", "endpoint": "/bill_sheets/42.xml"},
        {"metric": "retry_budget", "host": "api.incwo.com", "remaining": 480, "capacity": 500},
        {"metric": "breaker_state", "host": "api.incwo.com", "state": "open"},
        {"metric": "sync_succeeded", "atSeconds": 1_776_240_000u64},
        {"metric": "webhook_backlog", "size": 3},
        {"metric": "replay", "reason": "manual"},
    ]));
    for line in [
        "quarantined_records_total{class=\"contract\",code=\"contract.invalid\",resource=\"order\"} 1",
        "retry_total{endpoint=\"/bill_sheets/{id}.xml\"} 1",
        "retry_budget_remaining{host=\"api.incwo.com\"} 480",
        "retry_budget_capacity{host=\"api.incwo.com\"} 500",
        "circuit_breaker_state{host=\"api.incwo.com\"} 2",
        "last_successful_sync_timestamp_seconds 1776240000",
        "webhook_backlog_size 3",
        "replay_total{reason=\"manual\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
    for family in [
        "circuit_breaker_state gauge",
        "last_successful_sync_timestamp_seconds gauge",
        "quarantined_records_total counter",
        "retry_budget_capacity gauge",
        "retry_budget_remaining gauge",
        "retry_total counter",
        "webhook_backlog_size gauge",
    ] {
        assert!(render(json!([])).contains(&format!("# TYPE {family}\n")), "{family}");
    }
}

#[test]
fn label_values_are_bounded() {
    let text = render(json!([
        {"metric": "quarantined", "class": "weird", "code": "http.502", "resource": "order"},
        {"metric": "quarantined", "class": "business", "code": "incwo said: no", "resource": "jane@example.com"},
        {"metric": "breaker_state", "host": "127.0.0.1:8080", "state": "half_open"},
    ]));
    assert!(
        text.contains("quarantined_records_total{class=\"other\",code=\"http.5xx\",resource=\"order\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("quarantined_records_total{class=\"business\",code=\"other\",resource=\"{redacted}\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("circuit_breaker_state{host=\"127.0.0.1:8080\"} 1"),
        "{text}"
    );
    assert!(!text.contains("jane"));
}

#[test]
fn totals_add_counters_keep_gauges_and_the_latest_sync() {
    let run = |size: u64, at: u64| {
        let mut r = Registry::default();
        for e in [
            OperationsEvent::Quarantined {
                class: "business".into(),
                code: "business.reconciliation_gap".into(),
                resource: "invoice".into(),
            },
            OperationsEvent::Retry {
                endpoint: "/firms.xml".into(),
            },
            OperationsEvent::WebhookBacklog { size },
            OperationsEvent::SyncSucceeded { at_seconds: at },
        ] {
            r.record(&e.into());
        }
        r
    };
    let mut total = Registry::from_prometheus(&run(7, 200).render_prometheus()).expect("reads back");
    assert_eq!(total, run(7, 200));
    total.merge(&run(2, 100));
    let text = total.render_prometheus();
    assert!(text.contains(
        "quarantined_records_total{class=\"business\",code=\"business.reconciliation_gap\",resource=\"invoice\"} 2"
    ));
    assert!(text.contains("retry_total{endpoint=\"/firms.xml\"} 2"));
    assert!(text.contains("webhook_backlog_size 2\n"));
    assert!(text.contains("last_successful_sync_timestamp_seconds 200\n"));
    let e = Registry::from_prometheus("retry_total{host=\"x\"} 1").unwrap_err();
    assert!(e.message.contains("label `endpoint`"), "{e:?}");
}
