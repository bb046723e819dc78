//! Property test: random batches (customers, products, quotes, orders,
//! partial deliveries, invoices, cancellations, stock corrections, replayed
//! records) against the fake incwo with random faults (timeouts before and
//! after commit, resets, 5xx, 429, and refusals of writes: 400/422 contract,
//! 404/409 business) and a random host crash resumed from the last saved
//! checkpoint. In about a third of the seeds the batch is split by
//! `partition::route` over 2 or 3 workers that share one ledger table and
//! one incwo, their steps interleaved in a seeded order, one of them dying
//! and its message redelivered (`support::workers`). In about one seed in six
//! two writers sync the same batch (the same customers and documents) at
//! once on one state store, as an overlapping cron run does, under one of
//! the store's rules: a writer lock (the second waits, stops, is rerun), or
//! a version check per ledger entry (a stale write is refused and the run
//! starts again from the store), one writer possibly dying
//! (`support::writers`). In some seeds the retry
//! policy is tightened (fewer attempts, a small budget). Whatever happens:
//! no duplicate document, every record ends with one outcome (errors with a
//! code and a message), incwo's totals are the mapper's, the ledger matches
//! incwo, no call is attempted beyond `maxAttempts` or the retry budget, and
//! nothing is sent again for a record after incwo refused it (contract or
//! business), which ends quarantined (`support::Audit`).

mod support;

use incwo_core::flow::ledger::{Domain, EntryState, Ledger};
use incwo_core::flow::{Flow, FlowOptions, Outcome};
use incwo_core::http::Method;
use incwo_core::mapping::v1::credit_note_title;
use incwo_core::mapping::Profile;
use incwo_core::retry::{splitmix64, RetryPolicy};
use proptest::prelude::*;
use serde_json::Value;
use support::fake_incwo::{Churn, FakeIncwo, Fault, FaultKind};
use support::index_runs::{self, Plan};
use support::workers::Cluster;
use support::writers::{Pair, Rule};
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

/// Where a fault may strike: one resource, or any (`None`).
const FAULT_RESOURCES: [Option<&str>; 6] = [
    Some("firms"),
    Some("customer_products"),
    Some("proposal_sheets"),
    Some("bill_sheets"),
    Some("stock_movements"),
    None,
];

fn faults(rng: &mut Rng) -> Vec<Fault> {
    let methods = [Some(Method::Post), Some(Method::Put), Some(Method::Get), None];
    let kinds = [
        FaultKind::TimeoutBeforeSend,
        FaultKind::TlsHandshakeRefused,
        FaultKind::TimeoutAfterCommit,
        FaultKind::ResetAfterCommit,
        FaultKind::TlsResetAfterCommit,
        FaultKind::UnknownAfterCommit,
        FaultKind::ResetBeforeCommit,
        FaultKind::UnknownBeforeCommit,
        FaultKind::Status(503),
        FaultKind::StatusAfterCommit(500),
        FaultKind::RateLimit(2),
    ];
    (0..1 + rng.below(4))
        .map(|_| {
            let method = *rng.pick(&methods);
            let resource = *rng.pick(&FAULT_RESOURCES);
            let kind = *rng.pick(&kinds);
            Fault::new(method, resource, kind)
                .skip(rng.below(5) as u32)
                .times(1 + rng.below(3) as u32)
        })
        .collect()
}

/// What a seed adds to the base draws (drawn from a second stream, so the
/// seeds of earlier regressions keep their batch, faults and crash).
#[derive(Debug)]
struct Extra {
    /// Workers on different partitions sharing one ledger (none: one flow).
    workers: Option<u32>,
    /// The worker that crashes, when there is a crash.
    crashing_worker: usize,
    /// A refusal (400/422 contract, 404/409 business) injected somewhere.
    refusal: Option<Fault>,
    /// The retry policy.
    retry: RetryPolicy,
    /// Two writers of the same batch at once, and their store's rule
    /// (seeds without workers only).
    writers: Option<Rule>,
    /// The marker index carried across runs while incwo changes underneath
    /// (seeds without workers): the runs, the changes, the page budget.
    index: Option<(Plan, u32)>,
}

fn extra(seed: u64) -> Extra {
    let mut rng = Rng(splitmix64(seed ^ 0x5ca1_e0de_f10e_u64));
    let workers = rng.chance(30).then(|| 2 + rng.below(2) as u32);
    let crashing_worker = rng.below(3) as usize;
    let refusal = rng.chance(35).then(|| {
        // Writes only: incwo refuses a body or a state change; a read of an
        // object the ledger knows is not refused (that would be an object
        // deleted behind the connector's back, which this model leaves out).
        let method = *rng.pick(&[Some(Method::Post), Some(Method::Put)]);
        let resource = *rng.pick(&FAULT_RESOURCES);
        let status = *rng.pick(&[400u16, 422, 404, 409]);
        Fault::new(method, resource, FaultKind::Refuse(status))
            .skip(rng.below(6) as u32)
            .times(1 + rng.below(2) as u32)
    });
    let mut retry = RetryPolicy::default();
    if rng.chance(30) {
        retry.max_attempts = 1 + rng.below(5) as u32;
        retry.budget.capacity = *rng.pick(&[500u32, 40, 15]);
    }
    // Drawn apart, so that the seeds above keep their batches and faults.
    let mut pair = Rng(splitmix64(seed ^ 0x2_717e_5a3e));
    let writers = (workers.is_none() && pair.chance(25)).then(|| {
        if pair.chance(50) {
            Rule::Lock {
                wait_turns: pair.below(40) as u32,
            }
        } else {
            Rule::Versions {
                lease_turns: pair.below(40) as u32,
            }
        }
    });
    let index = workers.is_none().then(|| index_plan(seed)).flatten();
    Extra {
        workers,
        crashing_worker,
        refusal,
        retry,
        writers,
        index,
    }
}

/// The index seeds' plan (about one seed in three without workers; drawn
/// from a stream of its own) and page budget.
fn index_plan(seed: u64) -> Option<(Plan, u32)> {
    let mut rng = Rng(splitmix64(seed ^ 0x1de_c0de_5a1e));
    if !rng.chance(35) {
        return None;
    }
    let mut cuts: Vec<usize> = (0..rng.below(4)).map(|_| rng.below(12) as usize).collect();
    cuts.sort_unstable();
    let unknown_from = rng.chance(25).then(|| rng.below(3) as usize);
    let resources = ["firms", "customer_products", "proposal_sheets"];
    let mut seeded = Vec::new();
    for r in resources {
        if rng.chance(60) {
            seeded.push((r, rng.below(70) as u32));
        }
    }
    // Markers the batch uses (customers, products), created by someone else
    // before a run, or others.
    let between = (0..rng.below(4))
        .map(|_| {
            let run = rng.below(4) as usize;
            let (resource, marker) = if rng.chance(50) {
                ("firms", Some(format!("CLI-{}", rng.below(2))))
            } else if rng.chance(60) {
                ("customer_products", Some(format!("SKU-{}", rng.below(3))))
            } else {
                (*rng.pick(&resources), None)
            };
            (run, resource, marker)
        })
        .collect();
    let churn = (0..rng.below(12))
        .map(|i| {
            let at = rng.below(200) as usize;
            let resource = *rng.pick(&resources);
            let change = match rng.below(10) {
                // Shuffled pages only where the profile says the order is
                // unknown: an ascending profile cannot tell a shuffle from
                // ascending order on a newest page of one object.
                0 if unknown_from == Some(0) => Churn::Scramble,
                0 => Churn::Create(resource, None),
                1..=4 => Churn::Delete(resource, rng.next()),
                5..=6 => Churn::Create(resource, Some(format!("EXT-{i}"))),
                _ => Churn::Create(resource, None),
            };
            (at, change)
        })
        .collect();
    let pages = *rng.pick(&[1u32, 1, 2, 3, 10_000]);
    Some((
        Plan {
            cuts,
            unknown_from,
            between,
            seeded,
            churn,
        },
        pages,
    ))
}

fn check(seed: u64) {
    check_with(seed, 1);
}

/// One seed's run with `lanes` requests in flight (1: one at a time; more:
/// answers delivered in a seeded order, no cluster of workers).
fn check_with(seed: u64, lanes: u32) {
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
    let extra = extra(seed);
    let index = extra.index.as_ref().filter(|_| lanes <= 1);
    if let Some(f) = extra.refusal.clone().filter(|_| index.is_none()) {
        fake.fault(f);
    }
    let opts = FlowOptions {
        retry: extra.retry.clone(),
        max_in_flight: lanes,
        max_lookup_pages: index.map_or(options().max_lookup_pages, |(_, pages)| *pages),
        ..options()
    };
    let shuffle = splitmix64(seed ^ 0x1a9e_5eed);
    let drive = |flow: &mut Flow, fake: &mut FakeIncwo, host: &mut Host, crash: Option<Crash>| {
        if lanes > 1 {
            drive_lanes(flow, fake, host, crash, shuffle)
        } else {
            drive(flow, fake, host, crash)
        }
    };

    if let Some(rule) = extra.writers.filter(|_| lanes <= 1) {
        if let Some((plan, _)) = index {
            // Two writers sharing one index while incwo changes underneath.
            index_runs::seed_foreign(&mut fake, plan);
        }
        let mut pair = Pair::new(items(&records, &profile), profile.clone(), opts.clone(), rule, seed);
        let crash = crash.map(|c| (extra.crashing_worker % 2, c));
        pair.run(&mut fake, crash);
        let ctx = format!(
            "seed {seed}, two writers, crash {crash:?}, {extra:?}, faults {:?}",
            fake.faults
        );
        if std::env::var("FLOW_STATS").is_ok() {
            eprintln!(
                "STATS writers={rule:?} runs={:?} crashed={} writes={} conflicts={} stops={}",
                pair.writers.iter().map(|w| w.runs).collect::<Vec<_>>(),
                pair.crashed,
                pair.store.writes,
                pair.store.conflicts,
                pair.store.stops
            );
        }
        let ledger = pair.store.ledger();
        // Statuses are compared strictly under both rules: a status change
        // in flight holds the other writer's back (`pendingStatus`).
        let statuses = Statuses {
            deferred: pair
                .writers
                .iter()
                .flat_map(|w| &w.outcomes)
                .any(|o| matches!(o, Some(Outcome::Deferred { .. }))),
        };
        for writer in &pair.writers {
            verify(&ctx, &fake, &ledger, &writer.outcomes, &records, &profile, &statuses);
        }
        assert_eq!(pair.violations(), Vec::<String>::new(), "{ctx}");
        return;
    }
    if let Some((plan, _)) = index {
        let ended = index_runs::run(&records, &profile, &opts, &mut fake, crash, plan, seed);
        let ctx = format!(
            "seed {seed}, index carried over {} runs, crash {crash:?}, {extra:?}, faults {:?}",
            ended.runs, fake.faults
        );
        if std::env::var("FLOW_TRACE").is_ok() {
            for r in &fake.log {
                eprintln!("TRACE {} {} -> {}", r.method.as_str(), r.endpoint, r.result);
            }
            for (i, o) in ended.outcomes.iter().enumerate() {
                eprintln!("TRACE record {i} {} -> {o:?}", records[i]["record"]);
            }
        }
        verify(
            &ctx,
            &fake,
            &ended.ledger,
            &ended.outcomes,
            &records,
            &profile,
            &Statuses::default(),
        );
        // No retry beyond the budget; nothing quarantined for want of an
        // object incwo held when the record ended.
        assert_eq!(ended.violations, Vec::<String>::new(), "{ctx}");
        return;
    }
    let workers = extra.workers.filter(|_| lanes <= 1);
    let (ledger, outcomes, violations, stats) = match workers {
        None => {
            let mut host = Host::new();
            host.audit = Audit::new(&opts.retry);
            let mut flow = Flow::start(
                items(&records, &profile),
                profile.clone(),
                config(),
                opts.clone(),
                host.now,
                seed,
            );
            if drive(&mut flow, &mut fake, &mut host, crash).is_err() {
                flow = match host.saved.clone() {
                    Some(cp) => {
                        host.audit.restart(Audit::tokens_of(&cp));
                        Flow::resume(
                            &cp,
                            items(&records, &profile),
                            profile.clone(),
                            config(),
                            opts.clone(),
                            host.now,
                        )
                        .expect("resume")
                    }
                    None => {
                        host.audit.restart(None);
                        Flow::start(
                            items(&records, &profile),
                            profile.clone(),
                            config(),
                            opts.clone(),
                            host.now,
                            seed,
                        )
                    }
                };
                drive(&mut flow, &mut fake, &mut host, None).expect("second run");
            }
            let stats = format!(
                "actions={} requests={} retries={} refusals={}",
                host.actions, host.audit.requests, host.audit.retries, host.audit.refusals
            );
            (
                flow.ledger().clone(),
                flow.outcomes().to_vec(),
                host.audit.violations.clone(),
                stats,
            )
        }
        Some(workers) => {
            let mut cluster = Cluster::new(
                &records,
                items(&records, &profile),
                profile.clone(),
                opts.clone(),
                workers,
                seed,
            );
            let crash = crash.map(|c| (extra.crashing_worker % workers as usize, c));
            cluster.run(&mut fake, crash);
            let stats = format!(
                "workers={workers} runs={} crashed={} requests={} retries={} refusals={} writes={}",
                cluster.runs,
                cluster.crashed,
                cluster.workers.iter().map(|w| w.audit.requests).sum::<usize>(),
                cluster.workers.iter().map(|w| w.audit.retries).sum::<usize>(),
                cluster.workers.iter().map(|w| w.audit.refusals).sum::<usize>(),
                cluster.store.writes
            );
            (
                cluster.store.ledger(),
                cluster.outcomes.clone(),
                cluster.violations(),
                stats,
            )
        }
    };
    let ctx = format!("seed {seed}, crash {crash:?}, {extra:?}, faults {:?}", fake.faults);
    if std::env::var("FLOW_STATS").is_ok() {
        let faulted = fake.log.iter().filter(|r| !r.result.starts_with('2')).count();
        eprintln!(
            "STATS {stats} faulted={faulted} outcomes={:?} {extra:?}",
            summary_of(&outcomes)
        );
    }
    if std::env::var("FLOW_TRACE").is_ok() {
        for r in &fake.log {
            eprintln!("TRACE {} {} -> {}", r.method.as_str(), r.endpoint, r.result);
        }
        for (i, o) in outcomes.iter().enumerate() {
            eprintln!("TRACE record {i} {} -> {o:?}", records[i]["record"]);
        }
    }
    verify(
        &ctx,
        &fake,
        &ledger,
        &outcomes,
        &records,
        &profile,
        &Statuses::default(),
    );

    // No retry beyond the budget; no contract or business error retried.
    assert_eq!(violations, Vec::<String>::new(), "{ctx}");

    // In one seed of five the host then loses its ledger and replays the
    // whole batch with `lookupBeforeCreate`: nothing is created twice, and
    // every record ends with an outcome. (The ledger need not list every
    // document: a record that incwo's current state forbids, e.g. an invoice
    // of an order cancelled since, is quarantined before its lookup.)
    if splitmix64(seed ^ 0x1057_1ed6) % 5 == 0 {
        fake.faults.clear();
        let mut host = Host::new();
        let mut flow = Flow::start(
            items(&records, &profile),
            profile.clone(),
            config(),
            FlowOptions {
                lookup_before_create: true,
                ..options()
            },
            host.now,
            seed,
        );
        support::drive(&mut flow, &mut fake, &mut host, None).expect("replay after a lost ledger");
        assert_eq!(
            fake.duplicates(),
            [],
            "{ctx}, replayed after a lost ledger: {:?}",
            flow.outcomes()
        );
        assert!(
            flow.outcomes().iter().all(Option::is_some),
            "{ctx}: {:?}",
            flow.outcomes()
        );
    }
}

/// Outcome names and error codes, counted.
fn summary_of(outcomes: &[Option<Outcome>]) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for o in outcomes.iter().flatten() {
        let name = match o {
            Outcome::Quarantined { error } | Outcome::Deferred { error, .. } => format!("{}:{}", o.name(), error.code),
            _ => o.name().to_string(),
        };
        *out.entry(name).or_default() += 1;
    }
    out
}

/// Whether a done entry's status is compared with the one incwo holds: not
/// when a record was deferred (`deferred`: by another writer; or in the
/// outcomes verified), as its status change may have reached incwo without
/// the ledger knowing yet.
#[derive(Debug, Default)]
struct Statuses {
    deferred: bool,
}

/// The invariants of a finished run: no duplicate; one outcome per record,
/// errors with a reason; the ledger agrees with incwo both ways, with the
/// mapper's totals, and (unless `statuses.deferred`) the statuses incwo holds.
fn verify(
    ctx: &str,
    fake: &FakeIncwo,
    ledger: &Ledger,
    outcomes: &[Option<Outcome>],
    records: &[Value],
    profile: &Profile,
    statuses: &Statuses,
) {
    // No duplicate, whatever the faults and the crash.
    assert_eq!(fake.duplicates(), [], "{ctx}");

    // Every record ends with one outcome; errors say why.
    assert_eq!(outcomes.len(), records.len());
    let mut deferred = 0;
    for (i, o) in outcomes.iter().enumerate() {
        match o {
            Some(Outcome::Synced { .. } | Outcome::Skipped { .. }) => {}
            Some(Outcome::Quarantined { error } | Outcome::Deferred { error, .. }) => {
                deferred += usize::from(matches!(o, Some(Outcome::Deferred { .. })));
                assert!(!error.code.is_empty() && !error.message.is_empty(), "{ctx}: {error:?}");
                assert!(
                    matches!(error.class.as_str(), "technical" | "contract" | "business")
                        || matches!(o, Some(Outcome::Deferred { .. })) && error.class == "deferred",
                    "{ctx}: record {i}: {error:?}"
                );
            }
            None => panic!("{ctx}: record {i} has no outcome"),
        }
    }

    // The ledger matches incwo: every done entry names an object carrying its
    // marker, with the mapper's totals; a pending entry has at most one.
    let mut known: Vec<(&str, String)> = Vec::new();
    for e in ledger.entries() {
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
                if let (Some(status), 0, false) = (&e.status, deferred, statuses.deferred) {
                    let table = match e.domain {
                        Domain::Quote => &profile.statuses.quote,
                        Domain::Order => &profile.statuses.order,
                        _ => &profile.statuses.invoice,
                    };
                    let compared =
                        e.domain != Domain::Invoice || profile.invoice_mode == incwo_core::mapping::InvoiceMode::Draft;
                    if compared {
                        assert_eq!(
                            object.number("progress_id"),
                            table.get(status).copied(),
                            "{ctx}: {marker}: the ledger says {status}, incwo holds another status"
                        );
                    }
                }
            }
            EntryState::Pending | EntryState::Quarantined => assert!(found.len() <= 1, "{ctx}"),
        }
        known.push((resource, marker));
    }
    for (resource, _, _, marker_field) in support::fake_incwo::RESOURCES {
        let Some(field) = marker_field else { continue };
        for o in fake.all(resource) {
            let marker = o.get(field).unwrap_or_default().to_string();
            if fake.foreign.contains(&(resource.to_string(), o.id))
                && !known.iter().any(|(r, m)| *r == resource && *m == marker)
            {
                continue; // someone else's, unknown to the batch
            }
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
    seeded("seeded_runs", 1_000, check);
}

/// The same with 2 to 8 requests in flight, answers delivered in a seeded
/// order (`INCWO_SIM_SEEDS` runs, 300 by default; `INCWO_SIM_SEED` for one).
#[test]
fn seeded_runs_with_lanes() {
    seeded("seeded_runs_with_lanes", 300, |seed| {
        check_with(seed, 2 + (splitmix64(seed ^ 0x1a4e) % 7) as u32)
    });
}

/// Runs `check` over the seeds the environment asks for (`default_runs`).
fn seeded(name: &str, default_runs: u64, check: impl Fn(u64) + std::panic::RefUnwindSafe) {
    let seeds: Vec<u64> = match std::env::var("INCWO_SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => {
            let runs: u64 = std::env::var("INCWO_SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(default_runs);
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
        "fault simulation ({name}): {} runs, {} violations, {:.1} s",
        seeds.len(),
        violations.len(),
        started.elapsed().as_secs_f64(),
    );
    for seed in &violations {
        eprintln!(
            "  replay: INCWO_SIM_SEED={seed} cargo test -p incwo-core --test flow_properties {name} -- --nocapture"
        );
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

/// Regression, found by a 100,000-seed run once refusals were injected: an
/// order's status change answered 500 after incwo had applied it, then its
/// retry refused (409); the record was quarantined with the ledger still
/// holding the old status. A refused status change is now never sent again
/// but the document is read first, so the ledger says what incwo holds.
#[test]
fn a_refused_status_change_is_read_before_the_record_is_quarantined() {
    check(2_444_257_736_031_773_438);
}

/// The same with two workers sharing a ledger: the worker applying a quote's
/// status change died before it wrote its ledger entries back; the record,
/// redelivered, sent the change again and incwo refused it.
#[test]
fn a_refused_status_change_after_a_redelivery_is_read_first() {
    check(4_299_069_974_791_051_959);
}

/// Regression, found by the two-writer seeds: under the version rule, a run
/// whose view of an order was stale sent a status change (no entry was
/// written before that request, so no version check stopped it) and undid
/// the cancellation the other run made. A status step now saves its entry
/// before its request leaves, so the version check refuses the stale run.
#[test]
fn a_stale_status_change_of_two_writers_with_version_checks() {
    check(6_764_836_397_866_521_095);
}

/// Regression, the known gap closed: the five seeds of a 100,000-seed run in
/// which, under the version rule, a run's delivery status change was in
/// flight (sent, then retried after a timeout) when the other run cancelled
/// the order, so incwo ended with the delivery status and the ledger with
/// the cancellation. A status change in flight now marks its entry
/// (`pendingStatus`), and the other run defers its own change of the
/// document (`deferred.status_in_flight`) until it is recorded.
#[test]
fn a_status_change_in_flight_holds_the_other_writer_back() {
    for seed in [
        7_528_559_449_643_485_186,
        7_198_931_233_032_270_917,
        1_111_766_141_885_276_618,
        216_245_933_565_186_256,
        1_690_911_507_302_509_502,
    ] {
        assert!(matches!(extra(seed).writers, Some(Rule::Versions { .. })), "{seed}");
        check(seed);
    }
}

/// Regression, found by the index seeds: a firm created by someone else
/// between two runs landed on the newest list page, which a pass cut short
/// by the page budget had read in the earlier run; the resumed pass then
/// "proved" the customer absent and the connector created it twice. Only a
/// pass whose pages were all read in this run proves absence now.
#[test]
fn a_pass_resumed_from_an_earlier_run_proves_no_absence() {
    for seed in [1_243_045_329_627_533_100, 6_891_898_409_403_446_906] {
        assert!(extra(seed).index.is_some(), "{seed}");
        check(seed);
    }
}

/// Regression, found by a 100,000-seed run of the index seeds: an order's
/// create answered 500 (or cut) after incwo had made it; a later record
/// naming the order looked it up as if the ledger knew nothing of it, and a
/// pass that had read the newest page before the create landed (or a whole
/// read earlier in the run, with an unknown order) "proved" it absent: the
/// record was quarantined `business.unknown_order`. A reference whose entry
/// is pending is now reconciled.
#[test]
fn a_reference_whose_create_is_pending_is_reconciled() {
    for seed in [
        10_578_027_565_838_927_049,
        14_272_609_381_531_723_332,
        17_699_710_205_905_221_913,
        3_764_160_237_958_393_246,
    ] {
        assert!(extra(seed).index.is_some(), "{seed}");
        check(seed);
    }
}
