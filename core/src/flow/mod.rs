//! Replayable flows: the document chain as a sans-IO state machine.
//!
//! A [`Flow`] carries a batch of records (customers, products, quotes,
//! orders, invoices, stock movements, cancellations) into incwo. It never
//! performs IO: it hands the host requests to send and takes the answers
//! back. Time (`now`, ms since the Unix epoch) and the jitter seed are
//! arguments; the flow keeps no clock, no RNG and no store.
//!
//! # The host loop
//!
//! Inputs are [`Flow::on_response`] and [`Flow::on_transport_error`];
//! outputs come from [`Flow::poll`]. After any input, and at start, the host
//! drains `poll` until it returns [`Action::Wait`] or [`Action::Done`]:
//!
//! ```text
//! flow = Flow::start(items, profile, config, options, now, seed)
//! loop {
//!     match flow.poll(now)? {
//!         Send { request_id, request } => {
//!             save(flow.checkpoint());          // before the bytes leave
//!             match http(request) {
//!                 Ok(response) => flow.on_response(request_id, response, now)?,
//!                 Err(failure) => flow.on_transport_error(request_id, failure, now)?,
//!             }
//!         }
//!         Wait { until, .. } => sleep_until(until),   // or requeue the message
//!         Publish { queue, event } => publish(queue, event),
//!         RecordDone { .. } => progress(),
//!         Done { summary } => break,
//!     }
//!     save(flow.checkpoint());
//! }
//! ```
//!
//! With [`FlowOptions::max_in_flight`] at 1 (the default) at most one
//! request is in flight: after `Send`, the next call must be `on_response`
//! or `on_transport_error` with that request id (calling `poll` first, or
//! answering an unknown or already answered id, is a usage error). Above 1,
//! the host keeps polling after a `Send` and sends the requests concurrently
//! (see the engine's `lanes`): it answers each with its id, in any order, and
//! polls again after each answer. While requests are in flight, a `Wait`
//! (reason `in_flight` when the flow needs an answer to go on) means: wait
//! for the next answer, or until `until`, whichever comes first.
//! A `Publish` is considered done when the host next calls `poll`.
//!
//! # Guarantees
//!
//! - Every write step has a ledger entry keyed by a deterministic
//!   idempotency key. A create's entry is `pending` *before* its `Send` is
//!   returned, so a checkpoint saved before sending leaves a trace.
//! - A replayed record whose entries are `done` with the same payload hash
//!   sends nothing (`skipped`, `replay_total{reason="already_applied"}`).
//! - A create that may have reached incwo (timeout after sending, reset, 5xx)
//!   is never repeated blindly: the flow looks the record's marker up in
//!   incwo's list pages first (`replay_total{reason="reconciled"}` when found).
//! - After each document write the flow reads the document back and compares
//!   its marker, status and totals; a difference ends the record as a
//!   business error (`reconciliation_gap_total{domain}`).
//! - Forbidden status transitions are detected before any request is built.
//! - Records of one customer keep their order: when one is deferred, the
//!   customer's later records are deferred too.

pub mod batch;
mod engine;
pub mod index;
pub mod ledger;
mod operations;
mod options;
mod parts;
pub mod quarantine;
pub mod queues;
#[cfg(feature = "schema")]
pub mod schema;
pub mod transitions;

use crate::contract::Violation;
use crate::errors::{ClassifiedError, TransportFailure};
use crate::http::{ConnectionConfig, Request, Response};
use crate::mapping::Profile;
use crate::retry::RetryState;
use crate::telemetry::Registry;
use crate::usage::UsageError;
use batch::BatchItem;
use ledger::Ledger;
use queues::Event;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use engine::plan;
pub use options::FlowOptions;
pub use parts::CheckpointParts;

/// The checkpoint format this core writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Run ids keep to 53 bits: checkpoints and ledger entries pass through hosts
/// whose JSON numbers may be doubles (PHP reads one above 2^63 as a float,
/// JavaScript any above 2^53), and a run id must come back exact.
const RUN_ID_MASK: u64 = (1 << 53) - 1;

/// An error attached to an outcome: its class, stable code and message, and
/// the details that make it actionable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// `technical`, `contract`, `business` or `usage`.
    pub class: String,
    /// Stable code (`business.order_cancelled`, `contract.invalid`…).
    pub code: String,
    /// What happened.
    pub message: String,
    /// Contract violations, for contract errors found locally.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// What incwo said or what differed, when relevant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ErrorInfo {
    /// A business error.
    pub fn business(code: &str, message: impl Into<String>) -> Self {
        Self {
            class: "business".into(),
            code: code.into(),
            message: message.into(),
            violations: Vec::new(),
            details: None,
        }
    }

    /// From a classified incwo or transport error.
    pub fn from_classified(error: &ClassifiedError) -> Self {
        Self {
            class: error.class.as_str().into(),
            code: error.code.clone(),
            message: error.message.clone(),
            violations: Vec::new(),
            details: serde_json::to_value(error).ok().map(|mut v| {
                if let Some(map) = v.as_object_mut() {
                    map.retain(|k, _| matches!(k.as_str(), "status" | "endpoint" | "method" | "messages"));
                }
                v
            }),
        }
    }
}

/// How a record ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Outcome {
    /// incwo now holds the record.
    Synced {
        /// incwo id of the record's main object.
        incwo_id: Option<u64>,
    },
    /// Already applied: nothing was sent.
    Skipped {
        /// incwo id of the record's main object.
        incwo_id: Option<u64>,
    },
    /// Refused (contract) or blocked (business): needs a fix, never retried.
    Quarantined {
        /// Why.
        error: ErrorInfo,
    },
    /// Not done now; replay the record not before `not_before`.
    Deferred {
        /// ms since the epoch.
        not_before: u64,
        /// Why.
        error: ErrorInfo,
    },
}

impl Outcome {
    /// `synced`, `skipped`, `quarantined` or `deferred`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Synced { .. } => "synced",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Quarantined { .. } => "quarantined",
            Outcome::Deferred { .. } => "deferred",
        }
    }
}

/// Counts of a batch's outcomes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Records in the batch.
    pub total: usize,
    /// Records that ended (in this flow or the one it resumed).
    pub finished: usize,
    /// Synced.
    pub synced: usize,
    /// Skipped (already applied).
    pub skipped: usize,
    /// Quarantined.
    pub quarantined: usize,
    /// Deferred.
    pub deferred: usize,
    /// Quarantined and deferred records by error code.
    pub errors_by_code: BTreeMap<String, usize>,
    /// Set when the run stopped early (bad credentials, API access off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<ErrorInfo>,
}

/// What the host must do next.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Action {
    /// Send this request and report its answer with `request_id`.
    Send {
        /// Id to answer with.
        request_id: u64,
        /// The request (its serialised form carries the Authorization header).
        request: Request,
    },
    /// Nothing to do before `until` (ms since the epoch): sleep, or requeue.
    Wait {
        /// ms since the epoch.
        until: u64,
        /// Why (`retry_backoff`, `breaker_open`…).
        reason: String,
    },
    /// Publish this event on this queue.
    Publish {
        /// Queue name.
        queue: String,
        /// The event.
        event: Event,
    },
    /// A record ended (for progress reports).
    RecordDone {
        /// 0-based index in the batch.
        index: usize,
        /// 1-based line in the input.
        line: usize,
        /// Kind, when the line named a valid one.
        kind: Option<crate::model::Kind>,
        /// External id, when readable.
        external_id: Option<String>,
        /// How it ended.
        outcome: Outcome,
        /// For a quarantined record: its quarantine entry, for the host to
        /// store under its id (see [`crate::flow::quarantine`]).
        #[serde(skip_serializing_if = "Option::is_none")]
        quarantine: Option<Box<crate::flow::quarantine::Entry>>,
    },
    /// The batch is over.
    Done {
        /// The outcome counts.
        summary: Summary,
    },
}

/// The part of a flow that survives a crash: the ledger and the progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
struct Checkpoint {
    checkpoint_version: u32,
    digest: String,
    cursor: usize,
    outcomes: Vec<Option<Outcome>>,
    ledger: Ledger,
    retry_state: RetryState,
    blocked_customers: BTreeMap<String, (u64, ErrorInfo)>,
    next_request_id: u64,
    seed: u64,
    /// This run's id (from the seed and the start time), kept by a resume:
    /// it tells the run's own status changes in flight from other runs'.
    #[serde(default)]
    run_id: u64,
    #[serde(default)]
    stopped: Option<ErrorInfo>,
    /// Indexes whose outcome was set since the host last took them
    /// ([`Flow::take_changes`]).
    #[serde(skip)]
    changed_outcomes: std::collections::BTreeSet<usize>,
}

impl Checkpoint {
    /// Reads a checkpoint's text, checking its version first.
    fn read(checkpoint: &str) -> Result<Checkpoint, UsageError> {
        let value: serde_json::Value = serde_json::from_str(checkpoint).map_err(|e| UsageError::malformed_json(&e))?;
        match value.get("checkpointVersion").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(CHECKPOINT_VERSION) => {}
            Some(v) => {
                return Err(UsageError::new(
                    "usage.checkpoint_version",
                    format!(
                        "checkpoint version {v} is not readable by this core (it reads version {CHECKPOINT_VERSION})"
                    ),
                    "resume with the connector version that wrote it, or start over with its ledger exported",
                ))
            }
            None => {
                return Err(UsageError::new(
                    "usage.bad_checkpoint",
                    "this is not a flow checkpoint (no checkpointVersion)",
                    "pass the text returned by checkpoint()",
                ))
            }
        }
        serde_json::from_value(value).map_err(|e| {
            UsageError::new(
                "usage.bad_checkpoint",
                format!("the checkpoint cannot be read: {e}"),
                "pass the text returned by checkpoint(), unedited",
            )
        })
    }
}

/// A batch flow. See the module documentation for the host loop.
#[derive(Debug)]
pub struct Flow {
    config: ConnectionConfig,
    profile: Profile,
    options: FlowOptions,
    items: Vec<BatchItem>,
    state: Checkpoint,
    registry: Registry,
    engine: engine::Engine,
    tracker: crate::flow::quarantine::Tracker,
    index: index::MarkerIndex,
}

impl Flow {
    /// Starts a flow over `items` (see [`batch::parse_jsonl`]) with an empty ledger.
    pub fn start(
        items: Vec<BatchItem>,
        profile: Profile,
        config: ConnectionConfig,
        options: FlowOptions,
        now: u64,
        seed: u64,
    ) -> Flow {
        Self::with_ledger(items, profile, config, options, Ledger::default(), now, seed)
    }

    /// Starts a flow over `items` with ledger entries the host fetched (a
    /// shared ledger table).
    pub fn with_ledger(
        items: Vec<BatchItem>,
        profile: Profile,
        config: ConnectionConfig,
        options: FlowOptions,
        ledger: Ledger,
        now: u64,
        seed: u64,
    ) -> Flow {
        let state = Checkpoint {
            checkpoint_version: CHECKPOINT_VERSION,
            digest: ledger::payload_hash(&items),
            cursor: 0,
            outcomes: vec![None; items.len()],
            ledger,
            retry_state: RetryState::new(&options.retry),
            blocked_customers: BTreeMap::new(),
            next_request_id: 1,
            seed,
            run_id: crate::retry::splitmix64(seed ^ crate::retry::splitmix64(now)) & RUN_ID_MASK,
            stopped: None,
            changed_outcomes: Default::default(),
        };
        Flow {
            config,
            profile,
            options,
            items,
            state,
            registry: Registry::default(),
            engine: engine::Engine::default(),
            tracker: Default::default(),
            index: Default::default(),
        }
    }

    /// Resumes from a checkpoint. With the same items and an unfinished run,
    /// the flow continues where it stopped (the record in progress restarts;
    /// its `pending` entries are reconciled before anything is created
    /// again). Otherwise (other items, or a finished run: a replay) the
    /// ledger is kept and the batch starts from its first record.
    pub fn resume(
        checkpoint: &str,
        items: Vec<BatchItem>,
        profile: Profile,
        config: ConnectionConfig,
        options: FlowOptions,
        now: u64,
    ) -> Result<Flow, UsageError> {
        let state = Checkpoint::read(checkpoint)?;
        let mut flow = Self::with_ledger(items, profile, config, options, state.ledger.clone(), now, state.seed);
        let unfinished = state.cursor < state.outcomes.len();
        if unfinished && state.digest == flow.state.digest && state.outcomes.len() == flow.items.len() {
            flow.state = state;
            // A run stopped while requests were in flight (lanes) is resumed
            // as a new attempt at its unfinished records.
            flow.state.stopped = None;
        } else {
            flow.state.retry_state = state.retry_state;
            flow.state.next_request_id = state.next_request_id;
        }
        Ok(flow)
    }

    /// The next action. After `Send`, answer before polling again (with
    /// `max_in_flight` above 1, polling on is allowed).
    pub fn poll(&mut self, now: u64) -> Result<Action, UsageError> {
        let mut action = engine::poll(self, now)?;
        let record = match &action {
            Action::Send { request_id, .. } => engine::record_of(self, *request_id),
            _ => None,
        };
        let entry = self
            .tracker
            .observe(&action, record, &self.items, &self.state.digest, now);
        if let Action::RecordDone { quarantine, .. } = &mut action {
            *quarantine = entry;
            if self.options.manual_replay {
                self.registry.record(&crate::telemetry::MetricEvent::Replay {
                    reason: "manual".into(),
                });
            }
        }
        operations::observe(self, &action, now);
        Ok(action)
    }

    /// The answer to request `request_id`.
    pub fn on_response(&mut self, request_id: u64, response: Response, now: u64) -> Result<(), UsageError> {
        self.tracker.answered(request_id, Some(response.status), None);
        engine::on_answer(self, request_id, Ok(response), now)
    }

    /// The transport failure of request `request_id`.
    pub fn on_transport_error(
        &mut self,
        request_id: u64,
        failure: TransportFailure,
        now: u64,
    ) -> Result<(), UsageError> {
        let kind = serde_json::to_value(failure.kind).ok();
        self.tracker
            .answered(request_id, None, kind.as_ref().and_then(|k| k.as_str()));
        engine::on_answer(self, request_id, Err(failure), now)
    }

    /// The checkpoint (versioned JSON, no credentials): ledger and progress.
    pub fn checkpoint(&self) -> String {
        serde_json::to_string(&self.state).unwrap_or_default()
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.state.ledger
    }

    /// Ledger entries changed since the last call (for shared ledgers).
    pub fn take_changed_entries(&mut self) -> Vec<ledger::Entry> {
        self.state.ledger.take_changed()
    }

    /// What changed since the last call, for stores that save a checkpoint
    /// piece by piece instead of rewriting it whole: the progress (always;
    /// small whatever the history), the outcomes set and the ledger entries
    /// changed since then. Applied in order over the parts of the checkpoint
    /// the run started from, they rebuild [`Flow::checkpoint`] exactly
    /// ([`CheckpointParts::join`]). Shares its change tracking with
    /// [`Flow::take_changed_entries`]: a host uses one or the other.
    pub fn take_changes(&mut self) -> CheckpointParts {
        let changed = std::mem::take(&mut self.state.changed_outcomes);
        CheckpointParts {
            progress: self.progress(),
            outcomes: changed
                .into_iter()
                .filter_map(|i| Some((i, self.state.outcomes.get(i)?.clone()?)))
                .collect(),
            entries: self.state.ledger.take_changed(),
        }
    }

    /// The flow's metrics (Prometheus text via `render_prometheus`).
    pub fn metrics(&self) -> &Registry {
        &self.registry
    }

    /// Records a host-side metric (e.g. the backlog gauge).
    pub fn record_metric(&mut self, event: &crate::telemetry::MetricEvent) {
        self.registry.record(event);
    }

    /// The outcome of each record so far (`None`: not finished).
    pub fn outcomes(&self) -> &[Option<Outcome>] {
        &self.state.outcomes
    }

    /// The counts so far.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            total: self.items.len(),
            stopped: self.state.stopped.clone(),
            ..Summary::default()
        };
        for outcome in self.state.outcomes.iter().flatten() {
            s.finished += 1;
            match outcome {
                Outcome::Synced { .. } => s.synced += 1,
                Outcome::Skipped { .. } => s.skipped += 1,
                Outcome::Quarantined { error } => {
                    s.quarantined += 1;
                    *s.errors_by_code.entry(error.code.clone()).or_default() += 1;
                }
                Outcome::Deferred { error, .. } => {
                    s.deferred += 1;
                    *s.errors_by_code.entry(error.code.clone()).or_default() += 1;
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Auth;

    #[test]
    fn plan_of_the_brief_batch_creates_each_document_once_and_reads_it_back() {
        let profile = Profile::default();
        let items = batch::parse_jsonl(include_str!("../../../examples/data/batch.jsonl"), &profile);
        let config = ConnectionConfig::new("http://127.0.0.1:1", "123456", Auth::basic("a@b.fr", "pw"), false).unwrap();
        let plan = plan(items, profile, config);
        let steps: Vec<Vec<String>> = plan
            .iter()
            .map(|r| {
                r["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            })
            .collect();
        assert_eq!(steps[0], ["GET /firms.xml", "POST /firms.xml"]);
        assert_eq!(steps[1], ["GET /customer_products.xml", "POST /customer_products.xml"]);
        assert_eq!(steps[2], ["POST /proposal_sheets.xml", "GET /proposal_sheets/{id}.xml"]);
        assert_eq!(
            steps[3],
            [
                "PUT /proposal_sheets/{id}.xml",
                "GET /proposal_sheets/{id}.xml",
                "POST /proposal_sheets.xml",
                "GET /proposal_sheets/{id}.xml"
            ]
        );
        assert_eq!(steps[4], ["POST /bill_sheets.xml", "GET /bill_sheets/{id}.xml"]);
        for record in &plan {
            assert_eq!(record["outcome"]["outcome"], "synced", "{record}");
        }
    }
}
