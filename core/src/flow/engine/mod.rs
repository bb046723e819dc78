//! The flow's engine: plans each record into tasks and drives them one
//! request at a time. Every decision reads the ledger first, so a record
//! restarted after a crash redoes only what the ledger does not prove done.
//!
//! One concern per module:
//!
//! | module      | concern                                                        |
//! |-------------|----------------------------------------------------------------|
//! | `driver`    | the host loop: `poll`, `send`, one `step`, `on_answer`         |
//! | `lanes`     | many requests in flight: independent records side by side      |
//! | `tasks`     | starting a record: its tasks, its customer, its known products |
//! | `lookup`    | find-by-marker scans and resolving referenced objects          |
//! | `write`     | creating and updating objects, and what a create implies       |
//! | `status`    | status changes and the delivery status of an order             |
//! | `checks`    | business checks before a write (transitions, quantities)       |
//! | `answers`   | reading incwo's answers, read-back comparison                  |
//! | `failure`   | failed calls: retry, reconcile, requeue, quarantine, stop      |
//! | `outputs`   | events, queues and the end of a record                         |
//! | `dry_run`   | [`plan`]: the flow against an in-memory stand-in               |
//!
//! This module holds the engine's state and the ledger accessors they share.

// `Step` and `ErrorInfo` travel by value between a few functions on the
// path of one request; boxing them would only add allocations.
#![allow(clippy::result_large_err)]

mod answers;
mod checks;
mod driver;
mod dry_run;
mod failure;
mod lanes;
mod lookup;
mod outputs;
mod status;
mod tasks;
#[cfg(test)]
mod testing;
mod write;

pub(super) use driver::{on_answer, poll};
pub use dry_run::plan;
pub(super) use lanes::record_of;

use super::batch::BatchItem;
use super::ledger::{self, Domain, Entry, EntryState};
use super::{ErrorInfo, Flow, Outcome};
use crate::adapters::Found;
use crate::http::Request;
use crate::mapping::Links;
use crate::model::Record;
use crate::usage::UsageError;
use std::collections::{BTreeMap, VecDeque};
use tasks::Task;

/// Why a request is in flight.
#[derive(Debug, Clone, PartialEq)]
enum Purpose {
    /// A list page of the domain's resource, for the marker index's pass.
    Lookup(Domain, u32),
    Create(Domain, String),
    Update(Domain, String),
    Status(Domain, String, &'static str),
    Read(Domain, String),
    Refresh(Domain, String, Box<ErrorInfo>),
}

#[derive(Debug, Clone)]
struct InFlight {
    id: u64,
    purpose: Purpose,
    request: Request,
    sent_at: u64,
    attempt: u32,
}

/// A find-by-marker lookup in progress or finished (see [`crate::flow::index`]).
#[derive(Debug, Clone)]
struct Search {
    /// Whether it reconciles a create whose outcome was unknown (an object
    /// of ours may exist that no pass has read yet).
    reconcile: bool,
    /// Whether it started reading the resource's pages.
    started: bool,
    /// Whether the pass in progress is one this lookup began. Only such a
    /// pass proves absence: one begun earlier (by another lookup, or a sweep
    /// cut short by an earlier run) may have gone past pages where objects
    /// created since then lie, so once it completes the lookup begins its own.
    own_pass: bool,
    /// A reconciliation's time on the index's clock, taken when it began
    /// (after its create's answer was lost): in unknown order only a whole
    /// read begun later proves that create absent (0 for a plain lookup).
    mark: u64,
    result: Option<Option<Found>>,
}

/// The record being processed.
#[derive(Debug, Clone)]
struct Run {
    index: usize,
    tasks: VecDeque<Task>,
    did_work: bool,
    links: Links,
    search: Option<Search>,
    correlation_id: String,
    /// A request to send again (after a wait) and its attempt number.
    resend: Option<(Purpose, Request, u32)>,
    /// Attempts already made at the current task's create (a create whose
    /// outcome was unknown is reconciled, then counts as a retry).
    create_attempts: u32,
}

impl Run {
    /// A run of record `index` with `tasks` and nothing done yet.
    fn new(index: usize, tasks: VecDeque<Task>, correlation_id: String) -> Run {
        Run {
            index,
            tasks,
            did_work: false,
            links: Links::default(),
            search: None,
            correlation_id,
            resend: None,
            create_attempts: 0,
        }
    }
}

/// Volatile engine state (not checkpointed: a resumed record restarts).
#[derive(Debug, Default)]
pub(super) struct Engine {
    run: Option<Run>,
    in_flight: Option<InFlight>,
    answered: Vec<u64>,
    /// Actions to hand out, each with the ledger entry whose event it
    /// publishes (marked published when the host polls again).
    queue: VecDeque<(super::Action, Option<(String, String)>)>,
    wait: Option<(u64, String)>,
    awaiting_publish: Option<(String, String)>,
    /// The records in progress beside the current one (`max_in_flight` > 1).
    pool: lanes::Pool,
    /// Idempotency keys computed lately (see [`key`]).
    keys: KeyCache,
}

/// The last idempotency keys computed, by external id then (domain, step):
/// a key is a pure function of them (tenant and mapper version are fixed for
/// a flow), and computing one (a UUIDv5) was a tenth of the nominal flow's
/// time, looked up many times per record. Emptied when it holds
/// [`KeyCache::CAPACITY`] ids, so its size stays bounded on long batches.
#[derive(Debug, Default)]
struct KeyCache(std::cell::RefCell<std::collections::HashMap<String, Vec<CachedKey>>>);

/// A cached key: its domain, its step, the key.
type CachedKey = (Domain, String, String);

impl KeyCache {
    const CAPACITY: usize = 256;

    fn get_or(&self, domain: Domain, external_id: &str, step: &str, compute: impl FnOnce() -> String) -> String {
        let mut keys = self.0.borrow_mut();
        if let Some(found) = keys
            .get(external_id)
            .and_then(|v| v.iter().find(|(d, s, _)| *d == domain && s == step))
        {
            return found.2.clone();
        }
        if keys.len() >= Self::CAPACITY {
            keys.clear();
        }
        let key = compute();
        keys.entry(external_id.to_owned())
            .or_default()
            .push((domain, step.to_owned(), key.clone()));
        key
    }
}

/// What one step of the current record asks the driver to do.
enum Step {
    Continue,
    Send(Purpose, Request),
    Resend(Purpose, Request, u32),
    Finish(Outcome),
    /// Stops the run: this record and every remaining one are deferred.
    Stop(ErrorInfo),
    /// Parks the record: it reconciles a lost create of the resource's and
    /// waits for a whole read begun after it (unknown order; see `lanes`).
    Park(&'static str),
}

fn usage(code: &str, message: String) -> UsageError {
    UsageError::new(
        code,
        message,
        "drive the flow as its documentation says: poll, send, answer, poll",
    )
}

fn item(flow: &Flow) -> &BatchItem {
    let index = flow.engine.run.as_ref().map_or(0, |r| r.index);
    &flow.items[index]
}

fn record(flow: &Flow) -> Option<&Record> {
    item(flow).record.as_ref().ok()
}

fn run(flow: &mut Flow) -> &mut Run {
    flow.engine.run.as_mut().expect("a record is in progress")
}

/// The tenant in idempotency keys: the option, else the business file id.
fn tenant(flow: &Flow) -> String {
    if flow.options.tenant.is_empty() {
        flow.config.business_file_id().to_string()
    } else {
        flow.options.tenant.clone()
    }
}

fn key(flow: &Flow, domain: Domain, external_id: &str, step: &str) -> String {
    flow.engine.keys.get_or(domain, external_id, step, || {
        ledger::idempotency_key(&tenant(flow), domain, external_id, step, flow.profile.mapper_version)
    })
}

/// The ledger step of a domain's write: referential objects are upserted,
/// documents and movements created.
fn step_of(domain: Domain) -> &'static str {
    match domain {
        Domain::Customer | Domain::Product => "upsert",
        _ => "create",
    }
}

fn entry<'a>(flow: &'a Flow, domain: Domain, external_id: &str) -> Option<&'a Entry> {
    let step = step_of(domain);
    flow.state
        .ledger
        .find(&key(flow, domain, external_id, step), domain, external_id, step)
}

fn entry_mut<'a>(flow: &'a mut Flow, domain: Domain, external_id: &str) -> Option<&'a mut Entry> {
    let step = step_of(domain);
    let k = key(flow, domain, external_id, step);
    flow.state.ledger.find_mut(&k, domain, external_id, step)
}

fn new_entry(flow: &Flow, domain: Domain, external_id: &str, state: EntryState, hash: String, now: u64) -> Entry {
    let step = step_of(domain);
    Entry {
        key: key(flow, domain, external_id, step),
        domain,
        external_id: external_id.to_string(),
        step: step.into(),
        mapper_version: flow.profile.mapper_version,
        state,
        incwo_id: None,
        hash,
        status: None,
        pending_status: None,
        verified: false,
        published: false,
        events: Vec::new(),
        customer: None,
        currency: None,
        lines: BTreeMap::new(),
        invoices: Vec::new(),
        totals: None,
        error: None,
        updated_at: now,
    }
}

/// Ends the current task.
fn pop(flow: &mut Flow) -> Step {
    let r = run(flow);
    r.tasks.pop_front();
    r.search = None;
    r.create_attempts = 0;
    Step::Continue
}

fn quarantine(code: &str, message: impl Into<String>) -> Step {
    Step::Finish(Outcome::Quarantined {
        error: ErrorInfo::business(code, message),
    })
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn referential_objects_are_upserted_and_documents_created() {
        let steps: Vec<&str> = [
            Domain::Customer,
            Domain::Product,
            Domain::Quote,
            Domain::Order,
            Domain::Invoice,
            Domain::CreditNote,
            Domain::StockMovement,
        ]
        .into_iter()
        .map(step_of)
        .collect();
        assert_eq!(
            steps,
            ["upsert", "upsert", "create", "create", "create", "create", "create"]
        );
    }

    #[test]
    fn the_tenant_defaults_to_the_business_file_and_keys_follow_it() {
        let mut flow = flow_of(&[]);
        assert_eq!(tenant(&flow), BUSINESS_FILE);
        let by_file = key(&flow, Domain::Order, "CMD-1", "create");
        assert_eq!(
            by_file,
            ledger::idempotency_key(
                BUSINESS_FILE,
                Domain::Order,
                "CMD-1",
                "create",
                flow.profile.mapper_version
            )
        );
        flow.options.tenant = "acme".into();
        // Options are fixed for a flow's life, so its cached keys go with them.
        flow.engine = Engine::default();
        assert_eq!(tenant(&flow), "acme");
        assert_ne!(key(&flow, Domain::Order, "CMD-1", "create"), by_file);
    }

    #[test]
    fn entries_are_found_under_their_domain_step_only() {
        let mut flow = flow_of(&[]);
        put_done(&mut flow, Domain::Order, "CMD-1", 42);
        assert_eq!(entry(&flow, Domain::Order, "CMD-1").and_then(|e| e.incwo_id), Some(42));
        assert_eq!(
            entry(&flow, Domain::Order, "CMD-1").map(|e| e.step.as_str()),
            Some("create")
        );
        assert!(entry(&flow, Domain::Quote, "CMD-1").is_none());
        entry_mut(&mut flow, Domain::Order, "CMD-1").unwrap().status = Some("cancelled".into());
        assert_eq!(
            entry(&flow, Domain::Order, "CMD-1").and_then(|e| e.status.as_deref()),
            Some("cancelled")
        );
    }

    #[test]
    fn popping_a_task_forgets_its_scan_and_attempts() {
        let mut flow = flow_of(&[product("P1")]);
        begin(&mut flow);
        let r = run(&mut flow);
        r.create_attempts = 3;
        let before = r.tasks.len();
        assert!(matches!(pop(&mut flow), Step::Continue));
        let r = flow.engine.run.as_ref().unwrap();
        assert_eq!((r.tasks.len(), r.create_attempts), (before - 1, 0));
        assert!(r.search.is_none());
    }
}
