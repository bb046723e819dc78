//! Two writers of the same business file at once, in-process: the same batch
//! (same customers, same documents) synced twice concurrently, as an
//! overlapping cron `incwo sync`, `incwo listen` beside a sync, or two PHP or
//! Python processes do. They share one state store and one incwo, and follow
//! one of the store rules of docs/RELIABILITY.md:
//!
//! - [`Rule::Lock`], a file store (the CLI's SQLite state, PHP's and
//!   Python's file stores): one writer at a time per business file. The
//!   second waits a bounded time, then stops (`store.locked`) and is rerun
//!   later, like a cron; the lock dies with its holder.
//! - [`Rule::Versions`], a database store (PHP `PdoCheckpointStore`, Python
//!   `SqliteCheckpointStore`): one row per ledger entry with a version. A run
//!   reads every row with its version, waiting a bounded time while another
//!   live writer's `pending` entry may be in flight (then starts without
//!   it); it writes what its flow changed, all or nothing, before each
//!   request leaves and after every action, each row only if it still has
//!   the version the run knows (absent: inserted only if absent). A stale
//!   write is a conflict: nothing is sent, the run starts again from the
//!   store (`PdoStateSession`, `Connector::sync`).
//!
//! Sans-IO, so "at once" means interleaved: a seeded scheduler picks which
//! writer takes its next step (start or wait, poll once and act, or hand
//! incwo's answer back). A writer that dies loses its flow (its lock with
//! it) and is run again from the store.

#![allow(dead_code)]

use super::fake_incwo::FakeIncwo;
use super::index_runs::merge;
use super::{config, Audit, Crash, T0};
use incwo_core::errors::TransportFailure;
use incwo_core::flow::batch::BatchItem;
use incwo_core::flow::index::IndexChanges;
use incwo_core::flow::ledger::{Entry, EntryState, Ledger};
use incwo_core::flow::{Action, Flow, FlowOptions, Outcome};
use incwo_core::http::Response;
use incwo_core::mapping::Profile;
use incwo_core::retry::splitmix64;
use std::collections::BTreeMap;

/// How the writers share the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// One writer at a time; the other waits up to `wait_turns` of its
    /// turns, then stops and is rerun.
    Lock {
        /// Turns a writer waits for the lock before it stops.
        wait_turns: u32,
    },
    /// Per-entry version checks; a starting run waits up to `lease_turns`
    /// while another live writer's `pending` entry may be in flight.
    Versions {
        /// Turns a starting run waits for in-flight entries to settle.
        lease_turns: u32,
    },
}

/// One ledger row: the entry, its version and the writer that wrote it last.
#[derive(Debug, Clone)]
pub struct Row {
    /// The entry.
    pub entry: Entry,
    /// Incremented by every write.
    pub version: u64,
    /// The writer of the last write.
    pub writer: usize,
}

/// The shared state store of the business file.
#[derive(Debug, Default)]
pub struct Store {
    /// Rows by idempotency key.
    pub rows: BTreeMap<String, Row>,
    /// The writer holding the lock ([`Rule::Lock`]).
    pub lock: Option<usize>,
    /// Entry rows written.
    pub writes: usize,
    /// Writes refused by a version check.
    pub conflicts: usize,
    /// Runs that stopped after waiting for the lock.
    pub stops: usize,
    /// The marker index both writers share: each run loads it, and each
    /// save upserts the run's index changes with its ledger rows (in the
    /// same transaction: none when those conflict).
    pub index: IndexChanges,
}

impl Store {
    /// The whole table as a ledger.
    pub fn ledger(&self) -> Ledger {
        Ledger::from_entries(self.rows.values().map(|r| r.entry.clone()))
    }

    /// Writes `entries` for `writer`, all or nothing. With `known` (the
    /// versions the run read or wrote), each row must still have that
    /// version (an unknown row must be absent); the new versions go back
    /// into `known`. `Err` names the first stale key.
    fn write(
        &mut self,
        entries: Vec<Entry>,
        known: Option<&mut BTreeMap<String, u64>>,
        writer: usize,
    ) -> Result<(), String> {
        if let Some(known) = known {
            for e in &entries {
                let expected = known.get(&e.key).copied().unwrap_or(0);
                let actual = self.rows.get(&e.key).map_or(0, |r| r.version);
                if actual != expected {
                    self.conflicts += 1;
                    return Err(e.key.clone());
                }
            }
            for e in &entries {
                known.insert(e.key.clone(), self.rows.get(&e.key).map_or(0, |r| r.version) + 1);
            }
        }
        for entry in entries {
            self.writes += 1;
            let version = self.rows.get(&entry.key).map_or(0, |r| r.version) + 1;
            self.rows.insert(entry.key.clone(), Row { entry, version, writer });
        }
        Ok(())
    }
}

/// A writer's run in progress.
#[derive(Debug)]
struct Run {
    flow: Flow,
    /// incwo's answer, not handed to the flow yet.
    answer: Option<(u64, Result<Response, TransportFailure>)>,
    /// Versions of the rows this run read or wrote ([`Rule::Versions`]).
    known: BTreeMap<String, u64>,
}

/// One writer: its run, its clock, what its last run ended each record with.
#[derive(Debug)]
pub struct Writer {
    run: Option<Run>,
    /// Its batch is synced (its last run reached `Done` and saved).
    pub finished: bool,
    waited: u32,
    /// Its clock (ms).
    pub now: u64,
    /// Steps taken.
    pub actions: usize,
    /// Runs started.
    pub runs: usize,
    /// Runs started again for deferred records (another run's status change
    /// in flight, the page budget spent), as a cron would later.
    pub reruns: usize,
    /// Each record's outcome in its last run.
    pub outcomes: Vec<Option<Outcome>>,
    /// The retry audit of its requests.
    pub audit: Audit,
}

/// Two writers of one business file, their store and incwo's answers.
#[derive(Debug)]
pub struct Pair {
    items: Vec<BatchItem>,
    profile: Profile,
    options: FlowOptions,
    /// The store rule.
    pub rule: Rule,
    /// The writers.
    pub writers: Vec<Writer>,
    /// The shared store.
    pub store: Store,
    seed: u64,
    schedule: u64,
    /// Whether the crash happened.
    pub crashed: bool,
}

impl Pair {
    /// Two writers of the same batch `items`, sharing a store under `rule`.
    pub fn new(items: Vec<BatchItem>, profile: Profile, options: FlowOptions, rule: Rule, seed: u64) -> Self {
        let writers = (0..2)
            .map(|_| Writer {
                run: None,
                finished: false,
                waited: 0,
                now: T0,
                actions: 0,
                runs: 0,
                reruns: 0,
                outcomes: vec![None; items.len()],
                audit: Audit::new(&options.retry),
            })
            .collect();
        Pair {
            items,
            profile,
            options,
            rule,
            writers,
            store: Store::default(),
            seed,
            schedule: seed,
            crashed: false,
        }
    }

    /// Runs both writers until each has synced its batch, interleaving
    /// their steps in a seeded order; writer `crash.0` dies at its step
    /// `crash.1.at`.
    pub fn run(&mut self, fake: &mut FakeIncwo, crash: Option<(usize, Crash)>) {
        let mut guard = 0u32;
        loop {
            let busy: Vec<usize> = (0..self.writers.len()).filter(|w| !self.writers[*w].finished).collect();
            if busy.is_empty() {
                return;
            }
            guard += 1;
            assert!(guard < 400_000, "the writers do not end");
            self.schedule = splitmix64(self.schedule);
            let w = busy[(self.schedule % busy.len() as u64) as usize];
            let dies = crash
                .filter(|(cw, c)| !self.crashed && *cw == w && c.at == self.writers[w].actions)
                .map(|(_, c)| c);
            self.writers[w].actions += 1;
            if dies.is_some_and(|c| !c.after) {
                self.crash(w);
                continue;
            }
            self.step(w, fake);
            if dies.is_some() {
                self.crash(w);
            }
        }
    }

    /// The writer dies: its run and its lock go; the host runs it again.
    fn crash(&mut self, w: usize) {
        self.crashed = true;
        let writer = &mut self.writers[w];
        writer.audit.on_crash();
        writer.run = None;
        writer.finished = false;
        if self.store.lock == Some(w) {
            self.store.lock = None;
        }
    }

    /// The run of writer `w` ends without finishing (a conflict): it starts
    /// again from the store on its next turn.
    fn abandon(&mut self, w: usize) {
        let writer = &mut self.writers[w];
        writer.audit.on_crash();
        writer.run = None;
    }

    /// Saves what the run of writer `w` changed; false on a conflict (the
    /// run is abandoned).
    fn save(&mut self, w: usize) -> bool {
        let Some(run) = self.writers[w].run.as_mut() else {
            return false;
        };
        let changed = run.flow.take_changed_entries();
        let index = run.flow.take_index_changes();
        if changed.is_empty() {
            merge(&mut self.store.index, index);
            return true;
        }
        let saved = match self.rule {
            Rule::Lock { .. } => {
                assert_eq!(self.store.lock, Some(w), "a writer without the lock wrote");
                self.store.write(changed, None, w)
            }
            Rule::Versions { .. } => self.store.write(changed, Some(&mut run.known), w),
        };
        if saved.is_ok() {
            merge(&mut self.store.index, index);
        } else {
            if std::env::var("FLOW_TRACE").is_ok() {
                eprintln!("TRACE writer {w}: conflict {saved:?}");
            }
            self.abandon(w);
        }
        saved.is_ok()
    }

    /// One step of writer `w`.
    fn step(&mut self, w: usize, fake: &mut FakeIncwo) {
        if self.writers[w].run.is_none() {
            self.start(w);
            return;
        }
        let writer = &mut self.writers[w];
        let run = writer.run.as_mut().expect("a run");
        if let Some((request_id, answer)) = run.answer.take() {
            writer.audit.on_answer(&answer);
            match answer {
                Ok(response) => run.flow.on_response(request_id, response, writer.now),
                Err(failure) => run.flow.on_transport_error(request_id, failure, writer.now),
            }
            .expect("answer");
            self.save(w);
            return;
        }
        match run.flow.poll(writer.now).expect("poll") {
            Action::Send { request_id, request } => {
                // What the flow changed (a create's `pending` entry) is in
                // the store before the request leaves, or nothing leaves.
                if !self.save(w) {
                    return;
                }
                let writer = &mut self.writers[w];
                writer.audit.on_send(&request);
                let answer = fake.handle(&request);
                if std::env::var("FLOW_TRACE").is_ok() {
                    eprintln!(
                        "TRACE writer {w} run {}: {} {} {} -> {:?}",
                        writer.runs,
                        request.method().as_str(),
                        request.endpoint(),
                        String::from_utf8_lossy(request.body())
                            .chars()
                            .take(120)
                            .collect::<String>(),
                        answer.as_ref().map(|r| r.status)
                    );
                }
                writer.now += 5;
                writer.run.as_mut().expect("a run").answer = Some((request_id, answer));
            }
            Action::Wait { until, .. } => {
                writer.now = writer.now.max(until);
                self.save(w);
            }
            Action::Publish { .. } => {
                self.save(w);
            }
            Action::RecordDone { index, outcome, .. } => {
                writer.audit.on_record_done(index, &outcome);
                writer.outcomes[index] = Some(outcome);
                self.save(w);
            }
            Action::Done { .. } => {
                if self.save(w) {
                    if self.store.lock == Some(w) {
                        self.store.lock = None;
                    }
                    let writer = &mut self.writers[w];
                    writer.run = None;
                    // Deferred records (held back by the other writer's status
                    // change in flight, the page budget, a retry budget) are
                    // synced by a later run, as a cron reruns (a bounded number).
                    let held = writer
                        .outcomes
                        .iter()
                        .filter_map(|o| match o {
                            Some(Outcome::Deferred { not_before, .. }) => Some(*not_before),
                            _ => None,
                        })
                        .max();
                    if let Some(not_before) = held.filter(|_| writer.reruns < 40) {
                        writer.reruns += 1;
                        writer.now = writer.now.max(not_before);
                        return;
                    }
                    writer.finished = true;
                }
            }
        }
    }

    /// Starts a run of writer `w` from the store, or waits.
    fn start(&mut self, w: usize) {
        let rows: Vec<&Row> = match self.rule {
            Rule::Lock { wait_turns } => {
                if self.store.lock.is_some_and(|holder| holder != w) {
                    let writer = &mut self.writers[w];
                    writer.waited += 1;
                    if writer.waited > wait_turns {
                        // Stopped with `store.locked`; the next cron run tries again.
                        self.store.stops += 1;
                        writer.waited = 0;
                    }
                    return;
                }
                self.store.lock = Some(w);
                self.store.rows.values().collect()
            }
            Rule::Versions { lease_turns } => {
                let running: Vec<bool> = self.writers.iter().map(|x| x.run.is_some()).collect();
                let in_flight = |r: &Row| r.entry.state == EntryState::Pending && r.writer != w && running[r.writer];
                if self.store.rows.values().any(in_flight) && self.writers[w].waited < lease_turns {
                    self.writers[w].waited += 1;
                    return;
                }
                // Past the lease, start without them: reaching one, the
                // run's write conflicts and it starts again.
                self.store.rows.values().filter(|r| !in_flight(r)).collect()
            }
        };
        let known: BTreeMap<String, u64> = rows.iter().map(|r| (r.entry.key.clone(), r.version)).collect();
        let ledger = Ledger::from_entries(rows.into_iter().map(|r| r.entry.clone()));
        let writer = &mut self.writers[w];
        writer.waited = 0;
        writer.runs += 1;
        writer.outcomes = vec![None; self.items.len()];
        writer.audit.restart(None);
        let seed = splitmix64(self.seed ^ ((w as u64) << 32) ^ writer.runs as u64);
        let mut flow = Flow::with_ledger(
            self.items.clone(),
            self.profile.clone(),
            config(),
            self.options.clone(),
            ledger,
            writer.now,
            seed,
        );
        flow.load_index(self.store.index.clone());
        writer.run = Some(Run {
            flow,
            answer: None,
            known,
        });
    }

    /// Every writer's audit violations.
    pub fn violations(&self) -> Vec<String> {
        self.writers
            .iter()
            .enumerate()
            .flat_map(|(w, writer)| writer.audit.violations.iter().map(move |v| format!("writer {w}: {v}")))
            .collect()
    }
}
