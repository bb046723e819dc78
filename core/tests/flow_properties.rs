//! Property test: random batches (customers, products, quotes, orders,
//! partial deliveries, invoices, cancellations, stock corrections, replayed
//! records) against the fake incwo with random faults (timeouts before and
//! after commit, resets, 5xx, 429) and a random host crash resumed from the
//! last saved checkpoint. Whatever happens: no duplicate document, every
//! record ends with one outcome (errors with a code and a message), incwo's
//! totals are the mapper's, and the ledger matches incwo.

mod support;

use incwo_core::flow::ledger::{Domain, EntryState};
use incwo_core::flow::{Flow, Outcome};
use incwo_core::http::Method;
use incwo_core::mapping::v1::credit_note_title;
use incwo_core::mapping::Profile;
use incwo_core::retry::splitmix64;
use proptest::prelude::*;
use serde_json::Value;
use support::fake_incwo::{FakeIncwo, Fault, FaultKind};
use support::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = splitmix64(self.0);
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const TAXES: [&str; 5] = ["TVA20", "TVA10", "TVA5_5", "TVA2_1", "TVA0"];
const PRICES: [&str; 6] = ["49.90", "10.00", "0.99", "1234.56", "3.33", "0.05"];

/// A random batch: referentials first, then document chains interleaved,
/// then replayed copies of earlier records.
fn batch(rng: &mut Rng) -> Vec<Value> {
    let customers: Vec<String> = (0..1 + rng.below(2)).map(|i| format!("CLI-{i}")).collect();
    let products: Vec<(String, &str, &str)> = (0..1 + rng.below(3))
        .map(|i| (format!("SKU-{i}"), *rng.pick(&PRICES), *rng.pick(&TAXES)))
        .collect();
    let mut out: Vec<Value> = customers.iter().map(|c| customer(c)).collect();
    out.extend(products.iter().map(|(s, p, t)| product(s, p, t)));
    let mut chains: Vec<Vec<Value>> = Vec::new();
    for c in 0..1 + rng.below(3) {
        let cust = rng.pick(&customers).clone();
        let mut lines: Vec<(String, u64, &str, &str)> = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let (sku, price, tax) = rng.pick(&products).clone();
            if !lines.iter().any(|l| l.0 == sku) {
                lines.push((sku, 1 + rng.below(10), price, tax));
            }
        }
        let as_json = |qty: &dyn Fn(u64) -> u64, lines: &[(String, u64, &str, &str)]| -> Vec<Value> {
            lines
                .iter()
                .filter(|l| qty(l.1) > 0)
                .map(|l| line(&l.0, &qty(l.1).to_string(), l.2, l.3))
                .collect()
        };
        let mut chain = Vec::new();
        let order_no = format!("CMD-{c}");
        let quote_no = format!("DEV-{c}");
        let with_quote = rng.chance(50);
        if with_quote {
            chain.push(quote(&quote_no, &cust, as_json(&|q| q, &lines)));
        }
        chain.push(order(
            &order_no,
            &cust,
            with_quote.then_some(quote_no.as_str()),
            as_json(&|q| q, &lines),
        ));
        // Partial deliveries of the first line.
        let (sku, ordered, _, _) = lines[0].clone();
        let mut delivered = 0;
        for d in 0..rng.below(3) {
            let qty = 1 + rng.below(ordered);
            delivered += qty;
            chain.push(movement(
                &format!("MVT-{c}-{d}"),
                &sku,
                &format!("-{qty}"),
                "sale",
                Some(&order_no),
            ));
        }
        let _ = delivered;
        // Invoices: halves, the rest, or too much.
        for i in 0..rng.below(3) {
            let factor = *rng.pick(&[1u64, 2, 3]);
            let part = as_json(&|q| if factor == 1 { q } else { q / factor }, &lines);
            if !part.is_empty() {
                chain.push(invoice(&format!("FAC-{c}-{i}"), &order_no, part));
            }
        }
        if rng.chance(20) {
            let at = 1 + rng.below(chain.len() as u64) as usize;
            chain.insert(at.min(chain.len()), cancellation(&order_no));
        }
        chains.push(chain);
    }
    // Interleave the chains, keeping each one's order.
    while chains.iter().any(|c| !c.is_empty()) {
        let live: Vec<usize> = (0..chains.len()).filter(|i| !chains[*i].is_empty()).collect();
        let i = *rng.pick(&live);
        out.push(chains[i].remove(0));
    }
    if rng.chance(30) {
        let (sku, _, _) = rng.pick(&products).clone();
        out.push(movement(
            "COR-1",
            &sku,
            &format!("{}", 1 + rng.below(5)),
            "correction",
            None,
        ));
    }
    // Replays of earlier records.
    for _ in 0..rng.below(3) {
        let r = rng.pick(&out).clone();
        out.push(r);
    }
    out
}

fn faults(rng: &mut Rng) -> Vec<Fault> {
    let methods = [Some(Method::Post), Some(Method::Put), Some(Method::Get), None];
    let resources = [
        Some("firms"),
        Some("customer_products"),
        Some("proposal_sheets"),
        Some("bill_sheets"),
        Some("stock_movements"),
        None,
    ];
    let kinds = [
        FaultKind::TimeoutBeforeSend,
        FaultKind::TimeoutAfterCommit,
        FaultKind::ResetAfterCommit,
        FaultKind::ResetBeforeCommit,
        FaultKind::Status(503),
        FaultKind::StatusAfterCommit(500),
        FaultKind::RateLimit(2),
    ];
    (0..1 + rng.below(4))
        .map(|_| {
            let method = *rng.pick(&methods);
            let resource = *rng.pick(&resources);
            let kind = *rng.pick(&kinds);
            Fault::new(method, resource, kind)
                .skip(rng.below(5) as u32)
                .times(1 + rng.below(3) as u32)
        })
        .collect()
}

fn check(seed: u64) {
    let mut rng = Rng(seed);
    let profile = if rng.chance(25) {
        final_profile()
    } else {
        Profile::default()
    };
    let records = batch(&mut rng);
    let mut fake = FakeIncwo::default();
    for f in faults(&mut rng) {
        fake.fault(f);
    }
    let crash = rng.chance(50).then(|| Crash {
        at: rng.below(50) as usize,
        after: rng.chance(50),
    });
    let mut host = Host::new();
    let mut flow = Flow::start(
        items(&records, &profile),
        profile.clone(),
        config(),
        options(),
        host.now,
        seed,
    );
    if drive(&mut flow, &mut fake, &mut host, crash).is_err() {
        flow = match host.saved.clone() {
            Some(cp) => Flow::resume(
                &cp,
                items(&records, &profile),
                profile.clone(),
                config(),
                options(),
                host.now,
            )
            .expect("resume"),
            None => Flow::start(
                items(&records, &profile),
                profile.clone(),
                config(),
                options(),
                host.now,
                seed,
            ),
        };
        drive(&mut flow, &mut fake, &mut host, None).expect("second run");
    }
    let ctx = format!("seed {seed}, crash {crash:?}, faults {:?}", fake.faults);
    if std::env::var("FLOW_STATS").is_ok() {
        let faulted = fake.log.iter().filter(|r| !r.result.starts_with('2')).count();
        eprintln!(
            "STATS actions={} faulted={faulted} crash={:?} summary={:?}",
            host.actions,
            crash.map(|c| c.at < host.actions),
            flow.summary().errors_by_code
        );
    }

    // No duplicate, whatever the faults and the crash.
    assert_eq!(fake.duplicates(), [], "{ctx}");

    // Every record ends with one outcome; errors say why.
    assert_eq!(flow.outcomes().len(), records.len());
    for (i, o) in flow.outcomes().iter().enumerate() {
        match o {
            Some(Outcome::Synced { .. } | Outcome::Skipped { .. }) => {}
            Some(Outcome::Quarantined { error } | Outcome::Deferred { error, .. }) => {
                assert!(!error.code.is_empty() && !error.message.is_empty(), "{ctx}: {error:?}");
                assert!(
                    matches!(error.class.as_str(), "technical" | "contract" | "business"),
                    "{ctx}: record {i}: {error:?}"
                );
            }
            None => panic!("{ctx}: record {i} has no outcome"),
        }
    }
    let summary = flow.summary();
    assert_eq!(summary.finished, records.len(), "{ctx}");

    // The ledger matches incwo: every done entry names an object carrying its
    // marker, with the mapper's totals; a pending entry has at most one.
    let mut known: Vec<(&str, String)> = Vec::new();
    for e in flow.ledger().entries() {
        let resource = e.domain.resource();
        let marker = if e.domain == Domain::CreditNote {
            credit_note_title(&e.external_id)
        } else {
            e.external_id.clone()
        };
        let found = fake.by_marker(resource, &marker);
        match e.state {
            EntryState::Done => {
                let id = e.incwo_id.expect("a done entry has an id");
                let object = fake
                    .objects
                    .get(resource)
                    .and_then(|m| m.get(&id))
                    .unwrap_or_else(|| panic!("{ctx}: {e:?} not in incwo"));
                assert_eq!(found.len(), 1, "{ctx}: {marker}");
                assert_eq!(found[0].id, id, "{ctx}: {marker}");
                if let Some(t) = &e.totals {
                    assert_eq!(object.decimal("vat_exl_total"), Some(t.excl_tax), "{ctx}: {marker}");
                    assert_eq!(object.decimal("vat_cost"), Some(t.vat), "{ctx}: {marker}");
                    assert_eq!(object.decimal("vat_inc_total"), Some(t.incl_tax), "{ctx}: {marker}");
                }
                if let (Some(status), 0) = (&e.status, summary.deferred) {
                    let table = match e.domain {
                        Domain::Quote => &profile.statuses.quote,
                        Domain::Order => &profile.statuses.order,
                        _ => &profile.statuses.invoice,
                    };
                    if e.domain != Domain::Invoice || profile.invoice_mode == incwo_core::mapping::InvoiceMode::Draft {
                        assert_eq!(
                            object.number("progress_id"),
                            table.get(status).copied(),
                            "{ctx}: {marker} {status}"
                        );
                    }
                }
            }
            EntryState::Pending | EntryState::Quarantined => assert!(found.len() <= 1, "{ctx}"),
        }
        known.push((resource, marker));
    }
    for (resource, singular, _, marker_field) in support::fake_incwo::RESOURCES {
        let Some(field) = marker_field else { continue };
        let _ = singular;
        for o in fake.all(resource) {
            let marker = o.get(field).unwrap_or_default().to_string();
            assert!(
                known.iter().any(|(r, m)| *r == resource && *m == marker),
                "{ctx}: {resource} {marker} is in incwo but not in the ledger"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_with_faults_and_crashes_never_duplicate(seed in any::<u64>()) {
        check(seed);
    }
}

/// Deterministic fault simulation at scale: `INCWO_SIM_SEEDS` runs (1,000 by
/// default) from fixed seeds; each failing seed is printed with the command
/// that replays it alone. A long run:
/// `INCWO_SIM_SEEDS=100000 cargo test --release -p incwo-core --test flow_properties seeded_runs -- --nocapture`.
/// One seed: `INCWO_SIM_SEED=<seed> cargo test -p incwo-core --test flow_properties seeded_runs -- --nocapture`.
#[test]
fn seeded_runs() {
    let seeds: Vec<u64> = match std::env::var("INCWO_SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => {
            let runs: u64 = std::env::var("INCWO_SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000);
            (0..runs).map(splitmix64).collect()
        }
    };
    let started = std::time::Instant::now();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut violations = Vec::new();
    for &seed in &seeds {
        if std::panic::catch_unwind(|| check(seed)).is_err() {
            violations.push(seed);
        }
    }
    std::panic::set_hook(previous_hook);
    eprintln!(
        "fault simulation: {} runs, {} violations, {:.1} s",
        seeds.len(),
        violations.len(),
        started.elapsed().as_secs_f64()
    );
    for seed in &violations {
        eprintln!("  replay: INCWO_SIM_SEED={seed} cargo test -p incwo-core --test flow_properties seeded_runs -- --nocapture");
    }
    if let [seed] = seeds[..] {
        if !violations.is_empty() {
            check(seed); // shows the failure itself
        }
    }
    assert!(
        violations.is_empty(),
        "{} of {} seeded runs violated an invariant",
        violations.len(),
        seeds.len()
    );
}

/// Regression, found by a 100,000-seed run: a credit note whose create timed
/// out after commit was looked up under the invoice's number instead of its
/// own title, and created twice.
#[test]
fn a_credit_note_is_reconciled_by_its_own_title() {
    check(138_117_634_135_140_428);
}
