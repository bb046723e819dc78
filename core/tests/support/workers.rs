//! Scale-out in-process (docs/DESIGN.md#11-scale-out): several workers, each consuming
//! the shard of the records `partition::route` gives it, sharing one ledger
//! table and one incwo. The protocol is the one the scale-out hosts follow
//! (`bindings/php/src/ScaleOut/RecordProcessor.php`), record by record:
//!
//! 1. `partition::route` names the ledger entries the record needs; they are
//!    fetched from the shared table, then a second round adds what follows
//!    from them (an order's customer and invoices);
//! 2. `CustomerQueue::gate` runs the record or defers it behind a waiting
//!    record of its customer;
//! 3. a one-record flow starts with the fetched entries
//!    (`Flow::with_ledger`); before each request leaves, the entries the core
//!    reports as changed (`take_changed_entries`: a create's `pending` entry)
//!    are upserted by key into the table; when the flow is done, the rest;
//! 4. `CustomerQueue::settle` updates the customer's queue; the record's
//!    outcome is its run's.
//!
//! The host model is sans-IO, so "concurrent" means interleaved: a seeded
//! scheduler picks which worker takes its next step (start a record, poll
//! once and act, or hand incwo's answer back), so one worker's pending
//! entry, request and answer interleave with the others'. A flow's `Wait`
//! advances that worker's clock (it sleeps in place, like [`super::drive`]).
//! A worker that dies loses its flow (nothing more is written back) and its
//! message is redelivered: the record starts again from the shared table,
//! where its `pending` entries are reconciled before anything is created.

#![allow(dead_code)]

use super::fake_incwo::FakeIncwo;
use super::{config, Audit, Crash, T0};
use incwo_core::errors::TransportFailure;
use incwo_core::flow::batch::BatchItem;
use incwo_core::flow::ledger::{Entry, Ledger};
use incwo_core::flow::{Action, ErrorInfo, Flow, FlowOptions, Outcome};
use incwo_core::http::Response;
use incwo_core::mapping::Profile;
use incwo_core::partition::{self, CustomerQueue, Gate, LedgerRef, Settled, DEFAULT_STALE_AFTER_MS};
use incwo_core::retry::splitmix64;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};

/// The shared ledger table (one row per entry, the idempotency key unique)
/// and the customer queues (one row per partition key).
#[derive(Debug, Default)]
pub struct SharedStore {
    /// Entries by idempotency key.
    pub entries: BTreeMap<String, Entry>,
    /// Customer queues by partition key.
    pub queues: BTreeMap<String, CustomerQueue>,
    /// Entry rows written.
    pub writes: usize,
}

impl SharedStore {
    /// The entries matching `refs` by (domain, external id, step).
    pub fn fetch(&self, refs: &[LedgerRef]) -> Vec<Entry> {
        self.entries
            .values()
            .filter(|e| {
                refs.iter()
                    .any(|r| r.domain == e.domain && r.external_id == e.external_id && r.step == e.step)
            })
            .cloned()
            .collect()
    }

    /// Upserts entries by key.
    pub fn write(&mut self, entries: Vec<Entry>) {
        for e in entries {
            self.writes += 1;
            self.entries.insert(e.key.clone(), e);
        }
    }

    /// The whole table as a ledger.
    pub fn ledger(&self) -> Ledger {
        Ledger::from_entries(self.entries.values().cloned())
    }
}

/// The record a worker is processing.
#[derive(Debug)]
struct Job {
    index: usize,
    flow: Flow,
    record_key: String,
    partition_key: String,
    /// incwo's answer, not handed to the flow yet.
    answer: Option<(u64, Result<Response, TransportFailure>)>,
    outcome: Option<Outcome>,
}

/// One worker: its shard queue (batch indices), the record in progress, its clock.
#[derive(Debug)]
pub struct Worker {
    /// Messages of its shard, in delivery order.
    pub queue: VecDeque<usize>,
    job: Option<Job>,
    /// Its clock (ms).
    pub now: u64,
    /// Steps taken.
    pub actions: usize,
    /// The retry audit of its requests.
    pub audit: Audit,
}

/// Workers, the shared store and what every record ended with.
#[derive(Debug)]
pub struct Cluster {
    envelopes: Vec<Value>,
    items: Vec<BatchItem>,
    order_customers: Vec<Option<String>>,
    profile: Profile,
    options: FlowOptions,
    /// The workers, by shard.
    pub workers: Vec<Worker>,
    /// The shared ledger table and customer queues.
    pub store: SharedStore,
    /// Each record's outcome (its last run's).
    pub outcomes: Vec<Option<Outcome>>,
    seed: u64,
    schedule: u64,
    /// Records started (redeliveries included).
    pub runs: usize,
    /// Whether the crash happened.
    pub crashed: bool,
}

/// The customer of the order `number` in the batch.
fn order_customer(envelopes: &[Value], number: &str) -> Option<String> {
    envelopes
        .iter()
        .find(|e| e["kind"] == "order" && e["record"]["orderNumber"] == number)
        .and_then(|e| e["record"]["customerExternalId"].as_str())
        .map(str::to_string)
}

impl Cluster {
    /// Publishes `envelopes` (with their batch `items`) to `workers` shard
    /// queues by `partition::route`, the producer knowing each document's
    /// order customer from the batch.
    pub fn new(
        envelopes: &[Value],
        items: Vec<BatchItem>,
        profile: Profile,
        options: FlowOptions,
        workers: u32,
        seed: u64,
    ) -> Self {
        let order_customers: Vec<Option<String>> = envelopes
            .iter()
            .map(|e| {
                let r = &e["record"];
                let number = match e["kind"].as_str() {
                    Some("invoice" | "stock-movement") => r["sourceOrder"].as_str(),
                    Some("cancellation") => r["orderNumber"].as_str(),
                    _ => None,
                };
                number.and_then(|n| order_customer(envelopes, n))
            })
            .collect();
        let mut shards: Vec<Worker> = (0..workers)
            .map(|_| Worker {
                queue: VecDeque::new(),
                job: None,
                now: T0,
                actions: 0,
                audit: Audit::new(&options.retry),
            })
            .collect();
        for (i, e) in envelopes.iter().enumerate() {
            let route = partition::route(e, workers, &options.tenant, order_customers[i].as_deref(), &[]);
            shards[route.shard as usize].queue.push_back(i);
        }
        Cluster {
            envelopes: envelopes.to_vec(),
            outcomes: vec![None; items.len()],
            items,
            order_customers,
            profile,
            options,
            workers: shards,
            store: SharedStore::default(),
            seed,
            schedule: seed,
            runs: 0,
            crashed: false,
        }
    }

    /// Runs every worker to the end of its queue, interleaving their steps
    /// in a seeded order; worker `crash.0` dies at its step `crash.1.at`.
    pub fn run(&mut self, fake: &mut FakeIncwo, crash: Option<(usize, Crash)>) {
        let mut guard = 0u32;
        loop {
            let busy: Vec<usize> = (0..self.workers.len())
                .filter(|w| self.workers[*w].job.is_some() || !self.workers[*w].queue.is_empty())
                .collect();
            if busy.is_empty() {
                return;
            }
            guard += 1;
            assert!(guard < 400_000, "the workers do not end");
            self.schedule = splitmix64(self.schedule);
            let w = busy[(self.schedule % busy.len() as u64) as usize];
            let dies = crash
                .filter(|(cw, c)| !self.crashed && *cw == w && c.at == self.workers[w].actions)
                .map(|(_, c)| c);
            self.workers[w].actions += 1;
            if dies.is_some_and(|c| !c.after) {
                self.crash(w, None);
                continue;
            }
            let finished = self.step(w, fake);
            if dies.is_some() {
                // Died after the step, before the broker got the ack.
                self.crash(w, finished);
            }
        }
    }

    /// The worker dies: its flow is lost, its message comes back first.
    fn crash(&mut self, w: usize, finished: Option<usize>) {
        self.crashed = true;
        let worker = &mut self.workers[w];
        worker.audit.on_crash();
        if let Some(index) = worker.job.take().map(|j| j.index).or(finished) {
            worker.queue.push_front(index);
        }
    }

    /// One step of worker `w`; the batch index of a record it finished.
    fn step(&mut self, w: usize, fake: &mut FakeIncwo) -> Option<usize> {
        if self.workers[w].job.is_none() {
            let index = self.workers[w].queue.pop_front()?;
            return self.start(w, index);
        }
        let worker = &mut self.workers[w];
        let job = worker.job.as_mut().expect("a job");
        if let Some((request_id, answer)) = job.answer.take() {
            worker.audit.on_answer(&answer);
            match answer {
                Ok(response) => job.flow.on_response(request_id, response, worker.now),
                Err(failure) => job.flow.on_transport_error(request_id, failure, worker.now),
            }
            .expect("answer");
            return None;
        }
        match job.flow.poll(worker.now).expect("poll") {
            Action::Send { request_id, request } => {
                // The pending entry reaches the shared table before the request leaves.
                let changed = job.flow.take_changed_entries();
                self.store.write(changed);
                worker.audit.on_send(&request);
                let answer = fake.handle(&request);
                worker.now += 5;
                job.answer = Some((request_id, answer));
                None
            }
            Action::Wait { until, .. } => {
                worker.now = worker.now.max(until);
                None
            }
            Action::Publish { .. } => None,
            Action::RecordDone { outcome, .. } => {
                worker.audit.on_record_done(job.index, &outcome);
                job.outcome = Some(outcome);
                None
            }
            Action::Done { .. } => {
                let mut job = worker.job.take().expect("a job");
                self.store.write(job.flow.take_changed_entries());
                let outcome = job.outcome.take().expect("a one-record flow ends its record");
                let (settled, not_before) = match &outcome {
                    Outcome::Deferred { not_before, .. } => (Settled::Waiting, *not_before),
                    _ => (Settled::Ended, 0),
                };
                let queue = self.store.queues.entry(job.partition_key.clone()).or_default();
                queue.settle(&job.record_key, settled, not_before);
                if queue.waiting.is_empty() {
                    self.store.queues.remove(&job.partition_key);
                }
                self.outcomes[job.index] = Some(outcome);
                Some(job.index)
            }
        }
    }

    /// Routes, fetches, gates and starts record `index` on worker `w`.
    fn start(&mut self, w: usize, index: usize) -> Option<usize> {
        self.runs += 1;
        let envelope = &self.envelopes[index];
        let customer = self.order_customers[index].as_deref();
        let tenant = self.options.tenant.clone();
        let shards = self.workers.len() as u32;
        let route = partition::route(envelope, shards, &tenant, customer, &[]);
        let mut entries = self.store.fetch(&route.ledger_refs);
        if !entries.is_empty() {
            let more: Vec<LedgerRef> = partition::route(envelope, shards, &tenant, customer, &entries)
                .ledger_refs
                .into_iter()
                .filter(|r| !route.ledger_refs.contains(r))
                .collect();
            if !more.is_empty() {
                entries.extend(self.store.fetch(&more));
            }
        }
        assert_eq!(route.shard as usize, w, "a record runs on its own shard");
        let now = self.workers[w].now;
        let queue = self.store.queues.entry(route.partition_key.clone()).or_default();
        let gate = queue.gate(&route.record_key, now, DEFAULT_STALE_AFTER_MS);
        if queue.waiting.is_empty() {
            self.store.queues.remove(&route.partition_key);
        }
        if let Gate::Defer {
            not_before,
            reason,
            behind,
        } = gate
        {
            let error = ErrorInfo {
                class: "technical".into(),
                code: format!("deferred.{reason}"),
                message: format!("the gate deferred it behind {behind:?}"),
                violations: Vec::new(),
                details: None,
            };
            self.outcomes[index] = Some(Outcome::Deferred { not_before, error });
            return Some(index);
        }
        let seed = splitmix64(self.seed ^ (self.runs as u64));
        let flow = Flow::with_ledger(
            vec![self.items[index].clone()],
            self.profile.clone(),
            config(),
            self.options.clone(),
            Ledger::from_entries(entries),
            now,
            seed,
        );
        let worker = &mut self.workers[w];
        worker.audit.restart(None);
        worker.job = Some(Job {
            index,
            flow,
            record_key: route.record_key,
            partition_key: route.partition_key,
            answer: None,
            outcome: None,
        });
        None
    }

    /// Every worker's audit violations.
    pub fn violations(&self) -> Vec<String> {
        self.workers
            .iter()
            .enumerate()
            .flat_map(|(w, worker)| worker.audit.violations.iter().map(move |v| format!("worker {w}: {v}")))
            .collect()
    }
}
