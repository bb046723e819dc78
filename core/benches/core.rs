//! Criterion benches of the core (`cargo bench -p incwo-core --bench core`):
//!
//! - `order10/*`: a 10-line order from JSON text to XML bytes through the
//!   core (`api::map_bytes_with`: bytes in, XML bytes out), through its typed
//!   API (validate + map_record), through the JSON façade (`api::map`), and
//!   the two references on the same input with the same output bytes (the
//!   floor and the `serde_json::Value` route), asserted equal before timing;
//! - `parse/*`: a 50-item incwo list page of firms, typed and through the façade;
//! - `classify_decide/*`: classify a failure and decide the retry;
//! - `flow/nominal`: customer → product → quote → order → invoice with
//!   read-backs against the in-process fake incwo, timing only the core's
//!   calls (the fake's work is left out).
//!
//! Benchmarks report; they never fail on a number. `./scripts/bench` turns
//! Criterion's estimates into BENCHMARKS.md.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use incwo_core::errors::{
    classify_response, classify_transport, ClassificationTable, TransportFailure, TransportKind, TransportPhase,
};
use incwo_core::flow::{Action, Flow};
use incwo_core::http::{CallSite, Method, Response};
use incwo_core::mapping::Profile;
use incwo_core::retry::{decide, RetryPolicy, RetryState};
use incwo_core::views::{parse_page, Firm};
use std::time::{Duration, Instant};

fn check_same_bytes(profile: &Profile) {
    let mut inputs: Vec<String> = [1, 10, 100, 1000].into_iter().map(common::order_json).collect();
    inputs.extend(common::edge_orders());
    for text in &inputs {
        let core = common::core_order(text, profile);
        assert_eq!(
            common::typed_order(text, profile),
            core,
            "typed API differs from the core"
        );
        assert_eq!(common::facade_order(text), core, "façade differs from the core");
        assert_eq!(
            common::floor::order(text).expect("floor accepts"),
            core,
            "floor differs from the core on {text}"
        );
        assert_eq!(
            common::value::order(text).expect("value route accepts"),
            core,
            "Value route differs from the core on {text}"
        );
    }
}

fn order10(c: &mut Criterion) {
    let profile = Profile::default();
    check_same_bytes(&profile);
    let text = common::order_json(10);
    let mut g = c.benchmark_group("order10");
    g.throughput(Throughput::Elements(1));
    g.bench_function("core", |b| b.iter(|| common::core_order(black_box(&text), &profile)));
    g.bench_function("typed", |b| b.iter(|| common::typed_order(black_box(&text), &profile)));
    g.bench_function("facade", |b| b.iter(|| common::facade_order(black_box(&text))));
    g.bench_function("floor", |b| b.iter(|| common::floor::order(black_box(&text))));
    g.bench_function("value", |b| b.iter(|| common::value::order(black_box(&text))));
    g.finish();
}

fn parse(c: &mut Criterion) {
    let page = common::firms_page(50);
    let parsed = parse_page::<Firm>(&page).expect("the page parses");
    assert_eq!(parsed.items.len(), 50);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("firms50_typed", |b| b.iter(|| parse_page::<Firm>(black_box(&page))));
    g.bench_function("firms50_facade", |b| {
        b.iter(|| incwo_core::api::parse("firms", black_box(&page)))
    });
    g.finish();
}

fn classify_decide(c: &mut Criterion) {
    let table = ClassificationTable::default();
    let policy = RetryPolicy::default();
    let post = CallSite::new(Method::Post, "/proposal_sheets.xml");
    let get = CallSite::new(Method::Get, "/firms.xml");
    let throttled = Response::new(429, vec![("Retry-After".into(), "3".into())], b"".to_vec());
    let rejected = Response::new(
        422,
        vec![("Content-Type".into(), "application/xml".into())],
        b"<errors><error>Title can't be blank</error><error>Firm is invalid</error></errors>".to_vec(),
    );
    let mut g = c.benchmark_group("classify_decide");
    g.throughput(Throughput::Elements(1));
    g.bench_function("429_get", |b| {
        let mut state = RetryState::new(&policy);
        b.iter(|| {
            let e = classify_response(&get, black_box(&throttled), 1_000, &table).expect("an error");
            decide(&policy, &mut state, &e, 1, 1_000, 7)
        })
    });
    g.bench_function("422_post", |b| {
        let mut state = RetryState::new(&policy);
        b.iter(|| {
            let e = classify_response(&post, black_box(&rejected), 1_000, &table).expect("an error");
            decide(&policy, &mut state, &e, 1, 1_000, 7)
        })
    });
    g.bench_function("timeout_post", |b| {
        let mut state = RetryState::new(&policy);
        b.iter(|| {
            let failure = TransportFailure {
                kind: TransportKind::Timeout,
                phase: TransportPhase::Sent,
            };
            let e = classify_transport(&post, black_box(failure));
            decide(&policy, &mut state, &e, 1, 1_000, 7)
        })
    });
    g.finish();
}

/// One nominal flow over the brief's records; returns the time spent in the
/// core (parsing the batch, starting the flow, every poll and answer) and the
/// number of requests sent.
fn nominal_flow_core_time(profile: &Profile) -> (Duration, usize) {
    let records = support::brief();
    let lines: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    let mut fake = support::fake_incwo::FakeIncwo::new("123456");
    let mut now = support::T0;
    let mut sends = 0;
    let t = Instant::now();
    let items: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| incwo_core::flow::batch::parse_line(i + 1, l, profile))
        .collect();
    let mut flow = Flow::start(items, profile.clone(), support::config(), support::options(), now, 7);
    let mut core = t.elapsed();
    loop {
        let t = Instant::now();
        let action = flow.poll(now).expect("poll");
        core += t.elapsed();
        match action {
            Action::Send { request_id, request } => {
                sends += 1;
                let answer = fake.handle(&request);
                now += 5;
                let t = Instant::now();
                match answer {
                    Ok(response) => flow.on_response(request_id, response, now).expect("answer"),
                    Err(failure) => flow.on_transport_error(request_id, failure, now).expect("answer"),
                }
                core += t.elapsed();
            }
            Action::Wait { until, .. } => now = now.max(until),
            Action::Done { summary } => {
                assert_eq!(summary.synced, summary.total, "the nominal flow fails: {summary:?}");
                break;
            }
            _ => {}
        }
    }
    (core, sends)
}

fn flow(c: &mut Criterion) {
    let profile = Profile::default();
    let (_, sends) = nominal_flow_core_time(&profile);
    eprintln!("flow/nominal: {sends} requests per run");
    let mut g = c.benchmark_group("flow");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    g.bench_function("nominal", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| nominal_flow_core_time(&profile).0).sum())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40);
    targets = order10, parse, classify_decide, flow
}
criterion_main!(benches);
