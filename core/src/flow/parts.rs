//! A checkpoint in parts, for stores that save what changed instead of
//! rewriting the whole checkpoint before every request.
//!
//! A checkpoint is three things of very different sizes: the progress
//! (cursor, retry budget and breaker, request counter, blocked customers:
//! small whatever the history), one outcome per finished record (grows with
//! the batch) and the ledger (grows with everything ever synced). A store
//! keeps the progress in one row, each outcome and each ledger entry in its
//! own row: when a run starts it holds the parts of the checkpoint the run
//! starts from (a new run: its progress and no outcome; the ledger is the
//! store's own rows), then it writes [`Flow::take_changes`] before every
//! send and after every action, and
//! rebuilds the checkpoint with [`CheckpointParts::join`] to resume. The
//! rebuilt text is exactly [`Flow::checkpoint`]'s, so `Flow::resume` behaves
//! as with a whole checkpoint (the CLI's SQLite store relies on it).

use super::ledger::{Entry, Ledger};
use super::{Checkpoint, ErrorInfo, Flow, Outcome};
use crate::retry::RetryState;
use crate::usage::UsageError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A checkpoint split into its progress, its outcomes and its ledger
/// entries (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointParts {
    /// Everything but the outcomes and the ledger, as JSON (versioned like a
    /// checkpoint; its `records` is the batch length).
    pub progress: String,
    /// Outcomes of finished records, by 0-based index in the batch.
    pub outcomes: Vec<(usize, Outcome)>,
    /// Ledger entries.
    pub entries: Vec<Entry>,
}

/// The serialised progress: a checkpoint without its outcomes and ledger.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    checkpoint_version: u32,
    digest: String,
    cursor: usize,
    records: usize,
    retry_state: RetryState,
    blocked_customers: BTreeMap<String, (u64, ErrorInfo)>,
    next_request_id: u64,
    seed: u64,
    #[serde(default)]
    run_id: u64,
    #[serde(default)]
    stopped: Option<ErrorInfo>,
}

impl Flow {
    /// The progress part of the checkpoint (JSON; see [`CheckpointParts`]).
    pub(super) fn progress(&self) -> String {
        let s = &self.state;
        serde_json::to_string(&Progress {
            checkpoint_version: s.checkpoint_version,
            digest: s.digest.clone(),
            cursor: s.cursor,
            records: s.outcomes.len(),
            retry_state: s.retry_state.clone(),
            blocked_customers: s.blocked_customers.clone(),
            next_request_id: s.next_request_id,
            seed: s.seed,
            run_id: s.run_id,
            stopped: s.stopped.clone(),
        })
        .unwrap_or_default()
    }
}

impl CheckpointParts {
    /// Splits a checkpoint's text (a version-1 checkpoint file being
    /// imported into a store, for example).
    pub fn split(checkpoint: &str) -> Result<CheckpointParts, UsageError> {
        let state = Checkpoint::read(checkpoint)?;
        let progress = Progress {
            checkpoint_version: state.checkpoint_version,
            digest: state.digest,
            cursor: state.cursor,
            records: state.outcomes.len(),
            retry_state: state.retry_state,
            blocked_customers: state.blocked_customers,
            next_request_id: state.next_request_id,
            seed: state.seed,
            run_id: state.run_id,
            stopped: state.stopped,
        };
        Ok(CheckpointParts {
            progress: serde_json::to_string(&progress).unwrap_or_default(),
            outcomes: state
                .outcomes
                .into_iter()
                .enumerate()
                .filter_map(|(i, o)| Some((i, o?)))
                .collect(),
            entries: state.ledger.entries().cloned().collect(),
        })
    }

    /// The checkpoint's text, as [`Flow::checkpoint`] writes it. An outcome
    /// beyond the batch length is a `usage.bad_checkpoint` error.
    pub fn join(&self) -> Result<String, UsageError> {
        let bad = |message: String| {
            UsageError::new(
                "usage.bad_checkpoint",
                message,
                "pass the parts a flow handed out (CheckpointParts::split, Flow::take_changes), unedited",
            )
        };
        let progress: Progress = serde_json::from_str(&self.progress)
            .map_err(|e| bad(format!("the checkpoint's progress cannot be read: {e}")))?;
        if progress.checkpoint_version != super::CHECKPOINT_VERSION {
            return Err(bad(format!(
                "progress version {} is not readable by this core (it reads version {})",
                progress.checkpoint_version,
                super::CHECKPOINT_VERSION
            )));
        }
        let mut outcomes = vec![None; progress.records];
        for (index, outcome) in &self.outcomes {
            let slot = outcomes.get_mut(*index).ok_or_else(|| {
                bad(format!(
                    "outcome {index} is beyond the batch's {} records",
                    progress.records
                ))
            })?;
            *slot = Some(outcome.clone());
        }
        let state = Checkpoint {
            checkpoint_version: progress.checkpoint_version,
            digest: progress.digest,
            cursor: progress.cursor,
            outcomes,
            ledger: Ledger::from_entries(self.entries.iter().cloned()),
            retry_state: progress.retry_state,
            blocked_customers: progress.blocked_customers,
            next_request_id: progress.next_request_id,
            seed: progress.seed,
            run_id: progress.run_id,
            stopped: progress.stopped,
            changed_outcomes: Default::default(),
        };
        serde_json::to_string(&state).map_err(|e| bad(format!("the checkpoint cannot be written: {e}")))
    }

    /// Applies later changes (from [`Flow::take_changes`]) over these parts:
    /// the progress is replaced, outcomes and entries are upserted by index
    /// and key, as a store's rows are.
    pub fn apply(&mut self, changes: CheckpointParts) {
        self.progress = changes.progress;
        let mut outcomes: BTreeMap<usize, Outcome> = std::mem::take(&mut self.outcomes).into_iter().collect();
        outcomes.extend(changes.outcomes);
        self.outcomes = outcomes.into_iter().collect();
        let mut entries: BTreeMap<String, Entry> = std::mem::take(&mut self.entries)
            .into_iter()
            .map(|e| (e.key.clone(), e))
            .collect();
        entries.extend(changes.entries.into_iter().map(|e| (e.key.clone(), e)));
        self.entries = entries.into_values().collect();
    }
}
