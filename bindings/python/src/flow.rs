//! The flow as a uniffi object over the core's `FlowSession`.

use crate::types::{self, Action, Response, Summary, TransportFailure};
use crate::{checked, parse_json, IncwoError};
use incwo_core::api::flow::FlowSession as CoreSession;
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

    fn session(&self) -> MutexGuard<'_, CoreSession> {
        // A panic inside the core is raised to Python by uniffi; the session
        // state it left is still the core's own, so keep serving it.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
        Self::from_args(&parse_json(&args_json)?)
    }

    /// The next action (typed).
    pub fn poll(&self, now: u64) -> Result<Action, IncwoError> {
        let value = checked(self.session().poll(now))?;
        types::action(&value)
    }

    /// The next action as the core's JSON text (an error raises).
    pub fn poll_json(&self, now: u64) -> Result<String, IncwoError> {
        Ok(checked(self.session().poll(now))?.to_string())
    }

    /// The answer to request `request_id`.
    pub fn on_response(&self, request_id: u64, response: Response, now: u64) -> Result<(), IncwoError> {
        let json = types::response_json(&response);
        checked(self.session().on_response(request_id, &json, now)).map(|_| ())
    }

    /// The transport failure of request `request_id`.
    pub fn on_transport_error(&self, request_id: u64, failure: TransportFailure, now: u64) -> Result<(), IncwoError> {
        let json = types::failure_json(&failure);
        checked(self.session().on_transport_error(request_id, &json, now)).map(|_| ())
    }

    /// The checkpoint: versioned JSON text without credentials, to store and
    /// pass back as `checkpoint` to resume.
    pub fn checkpoint(&self) -> String {
        self.session().checkpoint()
    }

    /// The flow's metrics in Prometheus text format.
    pub fn metrics(&self) -> String {
        self.session().metrics()
    }

    /// The outcome counts so far.
    pub fn summary(&self) -> Result<Summary, IncwoError> {
        let value = self.session().summary();
        types::summary(&value["summary"])
    }

    /// `{"summary": …, "outcomes": [outcome | null, …]}` as JSON text.
    pub fn summary_json(&self) -> String {
        self.session().summary().to_string()
    }
}
