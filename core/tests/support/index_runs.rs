//! A batch synced over several runs that carry the marker index from one to
//! the next (exported after each run, loaded before the next, as hosts keep
//! it beside the ledger), while someone else changes incwo underneath:
//! objects created (with a marker the batch uses, between runs; without one
//! or with another, at any time), foreign objects deleted (later objects
//! shift towards the first page), list pages served in a shuffled order
//! from some point on, the profile's list order switched to `unknown`, and a
//! small page budget (`maxLookupPages`) cutting index passes so that they
//! resume in the next run. Each run syncs a growing prefix of the batch; the
//! last ones the whole batch, until no record is deferred (40 runs at most).

#![allow(dead_code)]

use super::fake_incwo::{Churn, FakeIncwo};
use super::{config, drive, items, Audit, Crash, Host};
use incwo_core::flow::index::{IndexChanges, ListOrder};
use incwo_core::flow::ledger::Ledger;
use incwo_core::flow::{Flow, FlowOptions, Outcome};
use incwo_core::mapping::Profile;
use serde_json::Value;

/// What changes between and during the runs of one seed.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Where each run's prefix of the batch ends (growing; the batch's end
    /// after the last).
    pub cuts: Vec<usize>,
    /// From this run on, the profile says the list order is unknown.
    pub unknown_from: Option<usize>,
    /// Foreign objects created before a run: (run, resource, marker).
    pub between: Vec<(usize, &'static str, Option<String>)>,
    /// Foreign objects present before the first run, per resource.
    pub seeded: Vec<(&'static str, u32)>,
    /// Changes during the runs, at a request number.
    pub churn: Vec<(usize, Churn)>,
}

/// The index a host keeps: every change upserted by resource and marker,
/// coverage by resource (the last written wins).
pub fn merge(into: &mut IndexChanges, changes: IndexChanges) {
    for e in changes.entries {
        match into
            .entries
            .iter_mut()
            .find(|x| x.resource == e.resource && x.marker == e.marker)
        {
            Some(x) => *x = e,
            None => into.entries.push(e),
        }
    }
    into.coverage.extend(changes.coverage);
}

/// What the runs ended with: the ledger, the last run's outcomes (the whole
/// batch), the retry audit's violations and the records quarantined for
/// want of an object incwo held, runs made.
pub struct Ended {
    /// The ledger after the last run.
    pub ledger: Ledger,
    /// Each record's outcome in the last run.
    pub outcomes: Vec<Option<Outcome>>,
    /// The retry audit's violations over all runs.
    pub violations: Vec<String>,
    /// Runs made.
    pub runs: usize,
}

/// Puts the plan's foreign objects in incwo and schedules its changes
/// during the runs (`plan.between` aside).
pub fn seed_foreign(fake: &mut FakeIncwo, plan: &Plan) {
    for (resource, n) in &plan.seeded {
        for i in 0..*n {
            let marker = (i % 3 == 0).then(|| format!("EXT-{resource}-{i}"));
            fake.add_foreign(resource, marker.as_deref());
        }
    }
    fake.churn.extend(plan.churn.iter().cloned());
}

/// Runs `records` as `plan` says against `fake` (crashing once at `crash`,
/// resumed from the saved checkpoint and index).
pub fn run(
    records: &[Value],
    profile: &Profile,
    options: &FlowOptions,
    fake: &mut FakeIncwo,
    crash: Option<Crash>,
    plan: &Plan,
    seed: u64,
) -> Ended {
    seed_foreign(fake, plan);
    let mut host = Host::new();
    host.audit = Audit::new(&options.retry);
    let mut ledger = Ledger::default();
    let mut index = IndexChanges::default();
    let mut crash = crash;
    let mut outcomes = Vec::new();
    let mut runs = 0;
    let mut wrong = Vec::new();
    while runs < 40 {
        for (_, resource, marker) in plan.between.iter().filter(|(r, _, _)| *r == runs) {
            fake.add_foreign(resource, marker.as_deref());
        }
        let upto = plan.cuts.get(runs).copied().unwrap_or(records.len()).min(records.len());
        let mut profile = profile.clone();
        if plan.unknown_from.is_some_and(|from| runs >= from) {
            profile.lists.order = ListOrder::Unknown;
        }
        let part = &records[..upto];
        let run_seed = seed ^ runs as u64;
        let start = |ledger: Ledger, index: &IndexChanges, now: u64| {
            let mut flow = Flow::with_ledger(
                items(part, &profile),
                profile.clone(),
                config(),
                options.clone(),
                ledger,
                now,
                run_seed,
            );
            flow.load_index(index.clone());
            flow
        };
        let mut flow = start(ledger.clone(), &index, host.now);
        host.saved = None;
        host.audit.restart(None);
        runs += 1;
        let seen = host.done.len();
        let ended = drive(&mut flow, fake, &mut host, crash.take());
        merge(&mut index, flow.take_index_changes());
        if ended.is_err() {
            flow = match host.saved.clone() {
                Some(cp) => {
                    host.audit.restart(Audit::tokens_of(&cp));
                    let mut flow = Flow::resume(
                        &cp,
                        items(part, &profile),
                        profile.clone(),
                        config(),
                        options.clone(),
                        host.now,
                    )
                    .expect("resume");
                    flow.load_index(index.clone());
                    flow
                }
                None => start(ledger.clone(), &index, host.now),
            };
            drive(&mut flow, fake, &mut host, None).expect("second run");
            merge(&mut index, flow.take_index_changes());
        }
        for ((i, outcome), at) in host.done[seen..].iter().zip(&host.done_at[seen..]) {
            if let Outcome::Quarantined { error } = outcome {
                if let Some((resource, marker)) = named(&records[*i]["record"], &error.code) {
                    if fake
                        .born
                        .get(&(resource.to_string(), marker.clone()))
                        .is_some_and(|born| born < at)
                    {
                        wrong.push(format!(
                            "run {runs}: record {i} quarantined ({}) while {resource} {marker} was in incwo",
                            error.code
                        ));
                    }
                }
            }
        }
        ledger = flow.ledger().clone();
        outcomes = flow.outcomes().to_vec();
        let due = outcomes
            .iter()
            .filter_map(|o| match o {
                Some(Outcome::Deferred { not_before, .. }) => Some(*not_before),
                _ => None,
            })
            .max();
        if upto == records.len() && runs > plan.cuts.len() && due.is_none() {
            break;
        }
        host.now = host.now.max(due.unwrap_or(0)) + 1_000;
    }
    let mut violations = host.audit.violations.clone();
    violations.extend(wrong);
    Ended {
        ledger,
        outcomes,
        violations,
        runs,
    }
}

/// The object a quarantine with `code` says is missing from incwo, by
/// resource and marker (as the record names it).
fn named(record: &Value, code: &str) -> Option<(&'static str, String)> {
    let field = |name: &str| record[name].as_str().map(str::to_string);
    match code {
        "business.unknown_customer" => Some(("firms", field("customerExternalId")?)),
        "business.unknown_quote" => Some(("proposal_sheets", field("sourceQuote")?)),
        "business.unknown_order" => Some((
            "proposal_sheets",
            field("sourceOrder").or_else(|| field("orderNumber"))?,
        )),
        _ => None,
    }
}
