//! The flow as a uniffi object over the core's `FlowSession`.

use crate::types::{self, Action, Response, Summary, TransportFailure};
use crate::{checked, guarded, parse_json, IncwoError};
use incwo_core::api::flow::FlowSession as CoreSession;
use incwo_core::usage::UsageError;
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};

/// A running flow. The host drives it with the loop of the core's
/// documentation: `poll` until `Wait` or `Done`, answer every `Send` with
/// `on_response` or `on_transport_error`, and save `checkpoint()` before each
/// send and after each action.
#[derive(Debug, uniffi::Object)]
pub struct FlowSession {
    inner: Mutex<CoreSession>,
}

impl FlowSession {
    pub(crate) fn from_args(args: &Value) -> Result<Arc<Self>, IncwoError> {
        let session = CoreSession::start(args).map_err(|e| IncwoError::usage(&e))?;
        Ok(Arc::new(FlowSession {
            inner: Mutex::new(session),
        }))
    }

    /// The session; a flow poisoned by an earlier panic (raised to Python
    /// as `usage.internal_panic`) stays unusable, as in the C ABI.
    fn session(&self) -> Result<MutexGuard<'_, CoreSession>, IncwoError> {
        self.inner.lock().map_err(|_| {
            IncwoError::usage(&UsageError::new(
                "usage.internal_panic",
                "the connector core panicked in an earlier call of this flow, which is unusable now",
                "start a new flow from the last checkpoint you saved, and report the panic",
            ))
        })
    }
}

#[uniffi::export]
impl FlowSession {
    /// Starts (or resumes, with `checkpoint`) a flow. `args_json`:
    /// `{"config": {server, businessFileId, auth, allowInsecureHttp?},
    ///   "profile"?, "options"?, "records": [{"kind", "record"}] | "jsonl": "…",
    ///   "now": ms, "seed"?: n, "checkpoint"?: "…"}`.
    #[uniffi::constructor]
    pub fn start(args_json: String) -> Result<Arc<Self>, IncwoError> {
        guarded(|| Self::from_args(&parse_json(&args_json)?))
    }

    /// Resumes a flow from a checkpoint the host saved: [`FlowSession::start`]
    /// with `checkpoint` set in the arguments.
    #[uniffi::constructor]
    pub fn resume(args_json: String, checkpoint: String) -> Result<Arc<Self>, IncwoError> {
        let mut args = parse_json(&args_json)?;
        match args.as_object_mut() {
            Some(map) => {
                map.insert("checkpoint".into(), Value::String(checkpoint));
            }
            None => {
                return Err(IncwoError::usage(&UsageError::new(
                    "usage.bad_arguments",
                    "args must be a JSON object",
                    "pass the flow's start arguments",
                )))
            }
        }
        guarded(|| Self::from_args(&args))
    }

    /// The next action (typed).
    pub fn poll(&self, now: u64) -> Result<Action, IncwoError> {
        guarded(|| {
            let value = checked(self.session()?.poll(now))?;
            types::action(&value)
        })
    }

    /// The next action as the core's JSON text (an error raises).
    pub fn poll_json(&self, now: u64) -> Result<String, IncwoError> {
        guarded(|| Ok(checked(self.session()?.poll(now))?.to_string()))
    }

    /// The answer to request `request_id`.
    pub fn on_response(&self, request_id: u64, response: Response, now: u64) -> Result<(), IncwoError> {
        guarded(|| {
            let json = types::response_json(&response);
            checked(self.session()?.on_response(request_id, &json, now)).map(|_| ())
        })
    }

    /// The transport failure of request `request_id`.
    pub fn on_transport_error(&self, request_id: u64, failure: TransportFailure, now: u64) -> Result<(), IncwoError> {
        guarded(|| {
            let json = types::failure_json(&failure);
            checked(self.session()?.on_transport_error(request_id, &json, now)).map(|_| ())
        })
    }

    /// The checkpoint: versioned JSON text without credentials, to store and
    /// pass back as `checkpoint` to resume.
    pub fn checkpoint(&self) -> Result<String, IncwoError> {
        guarded(|| Ok(self.session()?.checkpoint()))
    }

    /// `{"entries": [...]}` as JSON text: the ledger entries changed since the
    /// last call (a create's `pending` entry is there before its send is
    /// returned), for stores that write entries one by one.
    pub fn take_changed_entries(&self) -> Result<String, IncwoError> {
        guarded(|| Ok(self.session()?.take_changed_entries().to_string()))
    }

    /// Loads the marker index the store saved beside the ledger (before the
    /// first poll): `index_json` is what [`FlowSession::take_index_changes`]
    /// returned, accumulated (entries upserted by resource and marker,
    /// coverage by resource). Text that does not parse raises
    /// `usage.bad_index`.
    pub fn load_index(&self, index_json: String) -> Result<(), IncwoError> {
        guarded(|| {
            self.session()?
                .load_index(&index_json)
                .map_err(|e| IncwoError::usage(&e))
        })
    }

    /// `{"entries": [{"resource", "marker", "found"}], "coverage": {…}}` as
    /// JSON text: what changed in the marker index since the last call, to
    /// upsert in the same transaction as the ledger entries.
    pub fn take_index_changes(&self) -> Result<String, IncwoError> {
        guarded(|| Ok(self.session()?.take_index_changes().to_string()))
    }

    /// `{"passes": [{"resource", "pagesRead", "totalPages"}]}` as JSON text:
    /// the marker index passes in progress, for a progress display.
    pub fn index_progress(&self) -> Result<String, IncwoError> {
        guarded(|| Ok(self.session()?.index_progress().to_string()))
    }

    /// The flow's metrics in Prometheus text format.
    pub fn metrics(&self) -> Result<String, IncwoError> {
        guarded(|| Ok(self.session()?.metrics()))
    }

    /// The outcome counts so far.
    pub fn summary(&self) -> Result<Summary, IncwoError> {
        guarded(|| {
            let value = self.session()?.summary();
            types::summary(&value["summary"])
        })
    }

    /// `{"summary": …, "outcomes": [outcome | null, …]}` as JSON text.
    pub fn summary_json(&self) -> Result<String, IncwoError> {
        guarded(|| Ok(self.session()?.summary().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{TransportFailure, TransportKind, TransportPhase};

    fn args() -> String {
        serde_json::json!({
            "config": {"server": "http://127.0.0.1:9", "businessFileId": "123456",
                       "auth": {"type": "basic", "login": "api@example.fr", "password": "pw-not-shown"}},
            "records": [{"kind": "customer", "record": {"externalId": "C-1", "name": "Atelier", "kind": "client"}}],
            "options": {"retry": {"maxAttempts": 1}},
            "now": 1_700_000_000_000u64, "seed": 1
        })
        .to_string()
    }

    #[test]
    fn a_flow_hands_out_typed_sends_and_takes_failures_back() {
        let flow = FlowSession::start(args()).unwrap();
        let Action::Send { request_id, request } = flow.poll(1_700_000_000_000).unwrap() else {
            panic!("expected a send")
        };
        assert_eq!(request.method, "GET");
        assert!(request
            .headers
            .iter()
            .any(|h| h.sensitive && h.name.eq_ignore_ascii_case("authorization")));
        let failure = TransportFailure {
            kind: TransportKind::ConnectRefused,
            phase: Some(TransportPhase::Connect),
        };
        flow.on_transport_error(request_id, failure, 1_700_000_000_001).unwrap();
        let checkpoint = flow.checkpoint().unwrap();
        assert!(!checkpoint.contains("pw-not-shown"));
        // Answering the same request twice is the host's mistake.
        assert!(matches!(
            flow.on_transport_error(request_id, failure, 1_700_000_000_002),
            Err(IncwoError::Usage { .. })
        ));
        let resumed = FlowSession::resume(args(), checkpoint).unwrap();
        assert_eq!(resumed.summary().unwrap().total, 1);
    }

    #[test]
    fn the_marker_index_round_trips_and_bad_text_is_a_usage_error() {
        let flow = FlowSession::start(args()).unwrap();
        let saved = r#"{"entries": [{"resource": "firms", "marker": "C-1", "found": [{"id": 7}]}]}"#;
        flow.load_index(saved.into()).unwrap();
        assert_eq!(flow.take_index_changes().unwrap(), r#"{"coverage":{},"entries":[]}"#);
        assert_eq!(flow.index_progress().unwrap(), r#"{"passes":[]}"#);
        assert!(
            matches!(flow.load_index("{".into()), Err(IncwoError::Usage { ref code, .. }) if code == "usage.bad_index")
        );
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert!(matches!(FlowSession::start("{}".into()), Err(IncwoError::Usage { .. })));
        assert!(
            matches!(FlowSession::start("{".into()), Err(IncwoError::Usage { ref code, .. }) if code == "usage.malformed_json")
        );
        assert!(
            matches!(FlowSession::resume("[]".into(), "{}".into()), Err(IncwoError::Usage { ref code, .. }) if code == "usage.bad_arguments")
        );
    }
}
