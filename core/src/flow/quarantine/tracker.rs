//! Follows a flow's actions to give each quarantined record its entry: the
//! requests sent for each record in progress (several with lanes) and,
//! at its `RecordDone`, the [`Entry`] built from them.

use super::{Entry, RequestTrace};
use crate::flow::batch::BatchItem;
use crate::flow::{Action, Outcome};

/// The requests of the records in progress. Not part of the checkpoint: after
/// a resume, requests sent before the crash are not listed. URLs are kept as
/// sent and redacted only when a record is quarantined (redacting every
/// request's URL was a sixth of the nominal flow's time), so `Debug` shows
/// only how many requests are followed.
#[derive(Default)]
pub struct Tracker {
    requests: Vec<(u64, Option<usize>, RequestTrace)>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("requests", &self.requests.len())
            .finish()
    }
}

impl Tracker {
    /// Takes note of an action on its way to the host (`record`: the index
    /// of the record a `Send` is for); at a quarantined record's end,
    /// returns its entry.
    pub fn observe(
        &mut self,
        action: &Action,
        record: Option<usize>,
        items: &[BatchItem],
        batch: &str,
        now: u64,
    ) -> Option<Box<Entry>> {
        match action {
            Action::Send { request_id, request } => {
                self.requests.push((
                    *request_id,
                    record,
                    RequestTrace {
                        method: request.method().as_str().into(),
                        url: request.url().to_owned(),
                        status: None,
                        failure: None,
                    },
                ));
                None
            }
            Action::RecordDone { index, outcome, .. } => {
                let (mine, others) = std::mem::take(&mut self.requests)
                    .into_iter()
                    .partition(|(_, record, _)| *record == Some(*index));
                self.requests = others;
                match (outcome, items.get(*index)) {
                    (Outcome::Quarantined { error }, Some(item)) => {
                        let requests = mine
                            .into_iter()
                            .map(|(_, _, r)| RequestTrace {
                                url: crate::telemetry::redact(&r.url),
                                ..r
                            })
                            .collect();
                        Some(Box::new(super::new_entry(item, batch, error, requests, now)))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The answer to a request: its status, or its transport failure.
    pub fn answered(&mut self, request_id: u64, status: Option<u16>, failure: Option<&str>) {
        if let Some((_, _, trace)) = self.requests.iter_mut().rev().find(|(id, _, _)| *id == request_id) {
            trace.status = status;
            trace.failure = failure.map(str::to_string);
        }
    }
}
