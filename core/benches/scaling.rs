//! Scaling of the core (`cargo bench -p incwo-core --bench scaling -- [options]`),
//! with a counting allocator for peak heap memory:
//!
//! - orders of 1, 10, 100, 1,000 and 10,000 lines through the core (validate +
//!   map) and the floor: median time per order and per line, min–max spread,
//!   peak heap bytes during one call;
//! - batch replay of 10⁴, 10⁵ and 10⁶ already-synced customers against the
//!   ledger: the flow is started over a ledger whose entries are `done` with
//!   the same payload hash, and driven until `Done` (no request may be sent):
//!   records per second and peak heap.
//!
//! Options: `--out FILE` writes the results as JSON; `--write-orders DIR`
//! writes the bench orders (`order-N.json`), the core's XML for each
//! (`order-N.xml`) and edge cases (`edge-K.json`/`.xml`) for the host
//! benches, then exits; `--replay-max N` caps the replay sizes; `--quick`
//! takes fewer samples; `--replay-only` skips the lines (for profiling).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use incwo_core::flow::ledger::{self, Domain, Ledger};
use incwo_core::flow::{Action, Flow};
use incwo_core::mapping::Profile;
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Peak heap bytes above the current level while `f` runs.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - base)
}

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

/// Times `f` and `g` in alternating samples (each of enough calls to last
/// ≥ 2 ms), so that the load of a shared machine hits both alike.
fn time_pair(samples: usize, mut f: impl FnMut(), mut g: impl FnMut()) -> (Stats, Stats) {
    let calls = |h: &mut dyn FnMut()| {
        let t = Instant::now();
        h();
        ((0.002 / t.elapsed().as_secs_f64().max(1e-9)).ceil() as usize).clamp(1, 100_000)
    };
    let (nf, ng) = (calls(&mut f), calls(&mut g));
    let sample = |h: &mut dyn FnMut(), n: usize| {
        let t = Instant::now();
        for _ in 0..n {
            h();
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let (mut xs, mut ys) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for _ in 0..samples {
        xs.push(sample(&mut f, nf));
        ys.push(sample(&mut g, ng));
    }
    (stats(xs), stats(ys))
}

fn stats(mut xs: Vec<f64>) -> Stats {
    xs.sort_by(|a, b| a.total_cmp(b));
    Stats {
        median: xs[xs.len() / 2],
        min: xs[0],
        max: xs[xs.len() - 1],
    }
}

fn write_orders(dir: &str, profile: &Profile) {
    std::fs::create_dir_all(dir).expect("create the orders directory");
    for n in [1, 10, 100, 1_000, 10_000] {
        let text = common::order_json(n);
        let xml = common::core_order(&text, profile);
        assert_eq!(common::floor::order(&text).expect("floor"), xml);
        std::fs::write(format!("{dir}/order-{n}.json"), &text).expect("write");
        std::fs::write(format!("{dir}/order-{n}.xml"), &xml).expect("write");
    }
    for (k, text) in common::edge_orders().iter().enumerate() {
        let xml = common::core_order(text, profile);
        std::fs::write(format!("{dir}/edge-{k}.json"), text).expect("write");
        std::fs::write(format!("{dir}/edge-{k}.xml"), &xml).expect("write");
    }
    eprintln!("bench orders written to {dir}");
}

fn scaling(profile: &Profile, samples: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    for n in [1usize, 10, 100, 1_000, 10_000] {
        let text = common::order_json(n);
        assert_eq!(
            common::core_order(&text, profile),
            common::floor::order(&text).expect("floor")
        );
        let samples = if n >= 10_000 { samples.min(11) } else { samples };
        let (core, floor) = time_pair(
            samples,
            || {
                std::hint::black_box(common::core_order(std::hint::black_box(&text), profile));
            },
            || {
                std::hint::black_box(common::floor::order(std::hint::black_box(&text)).ok());
            },
        );
        let (_, core_peak) = peak_of(|| common::core_order(&text, profile));
        let (_, floor_peak) = peak_of(|| common::floor::order(&text));
        eprintln!(
            "lines {n:>6}: core {:>10.2} µs ({:.3} µs/line, peak {} KiB), floor {:>10.2} µs ({:.3} µs/line, peak {} KiB)",
            core.median * 1e6,
            core.median * 1e6 / n as f64,
            core_peak / 1024,
            floor.median * 1e6,
            floor.median * 1e6 / n as f64,
            floor_peak / 1024
        );
        rows.push(json!({
            "lines": n,
            "inputBytes": text.len(),
            "core": {"medianUs": core.median * 1e6, "minUs": core.min * 1e6, "maxUs": core.max * 1e6,
                     "usPerLine": core.median * 1e6 / n as f64, "peakBytes": core_peak},
            "floor": {"medianUs": floor.median * 1e6, "minUs": floor.min * 1e6, "maxUs": floor.max * 1e6,
                      "usPerLine": floor.median * 1e6 / n as f64, "peakBytes": floor_peak},
        }));
    }
    rows
}

/// The ledger entries of one synced customer, from a real run against the fake incwo.
fn template_entries(profile: &Profile) -> Vec<ledger::Entry> {
    let mut fake = support::fake_incwo::FakeIncwo::new("123456");
    let mut host = support::Host::new();
    let (flow, summary) = support::run(&[support::customer("CLI-T")], profile, &mut fake, &mut host);
    assert_eq!(summary.synced, 1, "template run: {summary:?}");
    flow.ledger().entries().cloned().collect()
}

fn replay(profile: &Profile, n: usize, template: &[ledger::Entry]) -> Value {
    let text: String = (0..n)
        .map(|i| support::customer(&format!("CLI-{i:07}")).to_string() + "\n")
        .collect();
    let t = Instant::now();
    let items = incwo_core::flow::batch::parse_jsonl(&text, profile);
    let parse_s = t.elapsed().as_secs_f64();
    drop(text);
    let mut entries = Vec::with_capacity(n * template.len());
    for item in &items {
        let record = item.record.as_ref().expect("valid customer");
        let id = item.external_id.clone().expect("an external id");
        for e in template {
            let mut e = e.clone();
            e.key = ledger::idempotency_key("123456", e.domain, &id, &e.step, e.mapper_version);
            e.external_id = id.clone();
            if e.domain == Domain::Customer {
                e.hash = ledger::payload_hash(record);
            }
            entries.push(e);
        }
    }
    let ledger = Ledger::from_entries(entries);
    let ((summary, sends, secs), peak) = peak_of(|| {
        let t = Instant::now();
        let mut flow = Flow::with_ledger(
            items,
            profile.clone(),
            support::config(),
            support::options(),
            ledger,
            support::T0,
            7,
        );
        let mut sends = 0usize;
        let summary = loop {
            match flow.poll(support::T0).expect("poll") {
                Action::Send { .. } => {
                    sends += 1;
                    break None;
                }
                Action::Done { summary } => break Some(summary),
                _ => {}
            }
        };
        let secs = t.elapsed().as_secs_f64();
        drop(flow);
        (summary, sends, secs)
    });
    let summary = summary.expect("a replay of synced records sends nothing");
    assert_eq!((summary.skipped, sends), (n, 0), "replay: {summary:?}");
    eprintln!(
        "replay {n:>8}: {:.3} s, {:.0} records/s (parse + validate {:.0} records/s), peak {} MiB",
        secs,
        n as f64 / secs,
        n as f64 / parse_s,
        peak / (1 << 20)
    );
    json!({"records": n, "seconds": secs, "recordsPerSecond": n as f64 / secs,
           "parseRecordsPerSecond": n as f64 / parse_s, "peakBytes": peak})
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let profile = Profile::default();
    if let Some(dir) = opt("--write-orders") {
        write_orders(&dir, &profile);
        return;
    }
    if !args.iter().any(|a| a == "--bench" || a == "--out") {
        // `cargo test --benches` runs bench targets without --bench: stay quick.
        write_orders(
            &std::env::temp_dir().join("incwo-bench-orders").to_string_lossy(),
            &profile,
        );
        return;
    }
    let samples = if args.iter().any(|a| a == "--quick") { 7 } else { 21 };
    let replay_max: usize = opt("--replay-max").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let lines = if args.iter().any(|a| a == "--replay-only") {
        Vec::new()
    } else {
        scaling(&profile, samples)
    };
    let template = template_entries(&profile);
    let replays: Vec<Value> = [10_000usize, 100_000, 1_000_000]
        .into_iter()
        .filter(|n| *n <= replay_max)
        .map(|n| replay(&profile, n, &template))
        .collect();
    let out = json!({"lines": lines, "replay": replays});
    if let Some(path) = opt("--out") {
        std::fs::write(&path, serde_json::to_string_pretty(&out).expect("json")).expect("write");
        eprintln!("results written to {path}");
    }
}
