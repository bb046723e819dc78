//! The operations metrics a flow feeds by itself (quarantine, retries, the
//! retry budget, the breaker, the last successful sync), against the
//! in-process fake incwo.

mod support;

use incwo_core::http::Method;
use incwo_core::mapping::Profile;
use support::fake_incwo::{FakeIncwo, Fault, FaultKind};
use support::*;

const HOST: &[(&str, &str)] = &[("host", "127.0.0.1:9")];

#[test]
fn a_clean_batch_sets_the_last_sync_time_and_spends_no_retry() {
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, _) = run(&brief(), &Profile::default(), &mut fake, &mut host);
    let m = flow.metrics().render_prometheus();
    let at = metric(&m, "last_successful_sync_timestamp_seconds", &[]);
    assert!(at >= (T0 / 1000) as f64, "{m}");
    assert_eq!(metric(&m, "retry_total", &[]), 0.0, "{m}");
    assert_eq!(metric(&m, "circuit_breaker_state", HOST), 0.0, "{m}");
    assert_eq!(metric(&m, "retry_budget_capacity", HOST), 500.0, "{m}");
    assert!(metric(&m, "retry_budget_remaining", HOST) >= 500.0, "{m}");
    assert_eq!(metric(&m, "quarantined_records_total", &[]), 0.0, "{m}");
}

#[test]
fn retries_count_per_endpoint_and_spend_the_budget() {
    let mut fake = FakeIncwo::default();
    fake.fault(Fault::new(Some(Method::Post), Some("bill_sheets"), FaultKind::Status(503)).times(100));
    let mut host = Host::new();
    let (flow, summary) = run(&brief(), &Profile::default(), &mut fake, &mut host);
    let m = flow.metrics().render_prometheus();
    let posts = fake.count(Method::Post, "/bill_sheets.xml") as f64;
    assert!(posts > 1.0);
    assert_eq!(
        metric(&m, "retry_total", &[("endpoint", "/bill_sheets.xml")]),
        posts - 1.0,
        "{m}"
    );
    assert!(metric(&m, "retry_budget_remaining", HOST) < 500.0, "{m}");
    if summary.deferred > 0 {
        assert_eq!(metric(&m, "last_successful_sync_timestamp_seconds", &[]), 0.0, "{m}");
    }
}

#[test]
fn a_quarantined_record_counts_by_class_code_and_kind() {
    let mut records = brief();
    records[3]["record"]["lines"][0]
        .as_object_mut()
        .unwrap()
        .remove("unitPriceExclTax");
    records.truncate(4);
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, summary) = run(&records, &Profile::default(), &mut fake, &mut host);
    assert_eq!(summary.quarantined, 1);
    let m = flow.metrics().render_prometheus();
    assert_eq!(
        metric(
            &m,
            "quarantined_records_total",
            &[("class", "contract"), ("resource", "order")]
        ),
        1.0,
        "{m}"
    );
    assert!(!m.contains("code=\"other\""), "the code is one of the table's: {m}");
    // A quarantine is an outcome, not a failed sync.
    assert!(metric(&m, "last_successful_sync_timestamp_seconds", &[]) > 0.0, "{m}");
}

#[test]
fn the_breaker_gauge_shows_an_open_breaker() {
    let mut fake = FakeIncwo::default();
    fake.fault(Fault::new(None, None, FaultKind::Status(503)).times(1000));
    let mut host = Host::new();
    let (flow, _) = run(&brief(), &Profile::default(), &mut fake, &mut host);
    let m = flow.metrics().render_prometheus();
    assert_eq!(metric(&m, "circuit_breaker_state", HOST), 2.0, "{m}");
    assert_eq!(metric(&m, "last_successful_sync_timestamp_seconds", &[]), 0.0, "{m}");
}
