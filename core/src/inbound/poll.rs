//! The polling fallback, for hosts that cannot receive webhooks.
//!
//! incwo has no "changed since" filter, so the poller walks list pages and
//! keeps, per resource, a cursor in its state (JSON the host stores):
//!
//! - `since`: objects last changed before this instant are skipped. It is
//!   the latest change seen in the pass *before* the last complete one: a
//!   change made while a pass was reading later pages is older than what
//!   that pass saw last, so the cursor lags one pass to never miss it;
//! - `seen`: the objects already compared at or after `since`, with their
//!   fingerprint, so an unchanged object is not compared again (incwo's
//!   timestamps have minute precision: several changes share an instant);
//! - `nextPage`: where the pass in progress continues.
//!
//! A run reads at most `pageBudget` pages; a pass longer than that goes on
//! at the next run. Reading is all it does: comparison is [`super::detect`].

use super::snapshot::{self, Snapshot};
use crate::adapters::Adapter;
use crate::http::{ConnectionConfig, Request};
use crate::model::Domain;
use crate::usage::UsageError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The state format this core writes and reads.
pub const POLL_STATE_VERSION: u32 = 1;

/// Pages read per run when the host gives no budget.
pub const DEFAULT_PAGE_BUDGET: u32 = 10;

/// The resources polled when the host names none.
pub const DEFAULT_RESOURCES: [&str; 2] = ["proposal_sheets", "bill_sheets"];

/// The cursor of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cursor {
    /// Objects changed before this instant (`YYYY-MM-DDTHH:MM:SS`) are skipped.
    pub since: Option<String>,
    /// Objects compared at or after `since`: id → (last change, fingerprint).
    pub seen: BTreeMap<u64, (String, String)>,
    /// Next page of the pass in progress (1-based).
    pub next_page: u32,
    /// Latest change seen in the pass in progress.
    pub pass_latest: Option<String>,
    /// Latest change seen in the last complete pass.
    pub last_pass_latest: Option<String>,
    /// Complete passes.
    pub passes: u64,
}

/// The poller's state: one cursor per resource, and the run in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollState {
    /// Always [`POLL_STATE_VERSION`].
    pub poll_state_version: u32,
    /// Cursors by resource.
    #[serde(default)]
    pub cursors: BTreeMap<String, Cursor>,
    /// Resources still to visit in this run (the first is being read).
    #[serde(default)]
    pub run_resources: Vec<String>,
    /// Pages left in this run's budget.
    #[serde(default)]
    pub pages_left: u32,
    /// The page request in flight: (resource, page).
    #[serde(default)]
    pub pending: Option<(String, u32)>,
}

impl Default for PollState {
    fn default() -> Self {
        Self {
            poll_state_version: POLL_STATE_VERSION,
            cursors: BTreeMap::new(),
            run_resources: Vec::new(),
            pages_left: 0,
            pending: None,
        }
    }
}

fn bad(message: impl Into<String>, hint: &str) -> UsageError {
    UsageError::new("usage.bad_arguments", message, hint)
}

impl PollState {
    /// Reads a state the host stored (`null` → a fresh state).
    pub fn from_json(value: &serde_json::Value) -> Result<PollState, UsageError> {
        if value.is_null() {
            return Ok(PollState::default());
        }
        match value.get("pollStateVersion").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(POLL_STATE_VERSION) => {}
            _ => {
                return Err(UsageError::new(
                    "usage.bad_poll_state",
                    "this is not a poll state of this core (pollStateVersion 1)",
                    "pass the state returned by the last inbound.poll call, unedited, or null to start over",
                ))
            }
        }
        // Hosts whose JSON has no empty-object type (PHP arrays) send `[]`
        // for an empty map: read it as one.
        let mut value = value.clone();
        if value["cursors"].as_array().is_some_and(Vec::is_empty) {
            value["cursors"] = serde_json::json!({});
        }
        if let Some(cursors) = value["cursors"].as_object_mut() {
            for cursor in cursors.values_mut() {
                if cursor["seen"].as_array().is_some_and(Vec::is_empty) {
                    cursor["seen"] = serde_json::json!({});
                }
            }
        }
        serde_json::from_value(value).map_err(|e| {
            UsageError::new(
                "usage.bad_poll_state",
                format!("the poll state cannot be read: {e}"),
                "pass the state returned by the last inbound.poll call, unedited",
            )
        })
    }

    /// Starts a run over `resources` reading at most `page_budget` pages.
    pub fn begin(&mut self, resources: &[String], page_budget: u32) -> Result<(), UsageError> {
        for r in resources {
            if !DEFAULT_RESOURCES.contains(&r.as_str()) {
                return Err(bad(
                    format!("cannot poll {:?}", r.chars().take(64).collect::<String>()),
                    "resources are proposal_sheets and bill_sheets",
                ));
            }
        }
        self.run_resources = resources.to_vec();
        self.pages_left = page_budget.max(1);
        self.pending = None;
        Ok(())
    }

    /// The next page to read, or `None` when the run is over. The request is
    /// remembered as pending until [`PollState::feed`].
    pub fn next_request(
        &mut self,
        config: &ConnectionConfig,
        correlation_id: &str,
    ) -> Result<Option<Request>, UsageError> {
        if self.pages_left == 0 {
            self.run_resources.clear();
        }
        let Some(resource) = self.run_resources.first().cloned() else {
            self.pending = None;
            return Ok(None);
        };
        let cursor = self.cursors.entry(resource.clone()).or_default();
        let page = cursor.next_page.max(1);
        let domain = if resource == "bill_sheets" {
            Domain::Invoice
        } else {
            Domain::Quote
        };
        let request = Adapter::new(domain)
            .list_page(config, page, None, correlation_id)
            .map_err(UsageError::from)?;
        self.pending = Some((resource, page));
        Ok(Some(request))
    }

    /// Feeds the body of the pending page; returns the objects to compare.
    /// A page that cannot be read ends the run (the cursor stays where it was).
    pub fn feed(&mut self, body: &[u8]) -> Result<Vec<Snapshot>, UsageError> {
        let Some((resource, page)) = self.pending.take() else {
            return Err(UsageError::new(
                "usage.no_pending_page",
                "no page request is pending",
                "call inbound.poll without a response first: it returns the request to send",
            ));
        };
        let (items, _, total_pages) = match snapshot::read(&resource, body) {
            Ok(x) => x,
            Err(e) => {
                self.run_resources.clear();
                return Err(UsageError::new(
                    e.code(),
                    format!("a {resource} list page could not be read: {e}"),
                    "check that the server address points at incwo",
                ));
            }
        };
        self.pages_left = self.pages_left.saturating_sub(1);
        let cursor = self.cursors.entry(resource.clone()).or_default();
        let mut candidates = Vec::new();
        for item in items {
            let modified = item.modified.clone().unwrap_or_default();
            if cursor.pass_latest.as_deref().map_or(true, |l| modified.as_str() > l) {
                cursor.pass_latest = Some(modified.clone());
            }
            if cursor.since.as_deref().is_some_and(|s| modified.as_str() < s) {
                continue;
            }
            let fingerprint = item.fingerprint();
            if cursor.seen.get(&item.id).is_some_and(|(_, f)| *f == fingerprint) {
                continue;
            }
            cursor.seen.insert(item.id, (modified, fingerprint));
            candidates.push(item);
        }
        if page >= total_pages || page == u32::MAX {
            cursor.passes = cursor.passes.saturating_add(1);
            cursor.next_page = 1;
            cursor.since = cursor.last_pass_latest.take();
            cursor.last_pass_latest = cursor.pass_latest.take();
            if let Some(since) = cursor.since.clone() {
                cursor.seen.retain(|_, (m, _)| *m >= since);
            }
            self.run_resources.retain(|r| *r != resource);
        } else {
            cursor.next_page = page + 1;
        }
        Ok(candidates)
    }

    /// Ends the run early (a failed page): cursors stay, the next run resumes.
    pub fn abort(&mut self) {
        self.pending = None;
        self.run_resources.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Auth;

    fn page(n: u32, total: u32, items: &[(u64, &str, u64)]) -> Vec<u8> {
        let mut s = format!(
            "<bill_sheets type=\"array\"><pagination><current_page>{n}</current_page><total_pages>{total}</total_pages></pagination>"
        );
        for (id, modified, progress) in items {
            s.push_str(&format!(
                "<bill_sheet><id>{id}</id><progress_id>{progress}</progress_id><modified_at>{modified}</modified_at></bill_sheet>"
            ));
        }
        s.push_str("</bill_sheets>");
        s.into_bytes()
    }

    #[test]
    fn passes_continue_across_runs_and_skip_what_was_seen() {
        let config = ConnectionConfig::new("http://127.0.0.1:9", "1", Auth::basic("a", "b"), false).unwrap();
        let corr = "6a1c5e2b-4f0d-4b7e-9c3a-1d2e8f40a7b1";
        let mut st = PollState::default();
        let res = vec!["bill_sheets".to_string()];
        st.begin(&res, 1).unwrap();
        let r = st.next_request(&config, corr).unwrap().unwrap();
        assert!(r.url().ends_with("/bill_sheets.xml?page=1"));
        let got = st.feed(&page(1, 2, &[(1, "01-01-2026-10-00", 5)])).unwrap();
        assert_eq!(got.len(), 1);
        assert!(st.next_request(&config, corr).unwrap().is_none(), "budget spent");
        st.begin(&res, 5).unwrap();
        let r = st.next_request(&config, corr).unwrap().unwrap();
        assert!(r.url().ends_with("page=2"));
        assert_eq!(st.feed(&page(2, 2, &[(2, "01-01-2026-10-05", 5)])).unwrap().len(), 1);
        assert!(st.next_request(&config, corr).unwrap().is_none(), "pass over");
        // Second pass: nothing changed → nothing to compare.
        st.begin(&res, 5).unwrap();
        st.next_request(&config, corr).unwrap();
        assert!(st
            .feed(&page(1, 1, &[(1, "01-01-2026-10-00", 5), (2, "01-01-2026-10-05", 5)]))
            .unwrap()
            .is_empty());
        // A change in the same minute as a seen one is still found.
        st.begin(&res, 5).unwrap();
        st.next_request(&config, corr).unwrap();
        let got = st
            .feed(&page(1, 1, &[(1, "01-01-2026-10-00", 5), (2, "01-01-2026-10-05", 6)]))
            .unwrap();
        assert_eq!(got.iter().map(|s| s.id).collect::<Vec<_>>(), [2]);
        assert_eq!(st.cursors["bill_sheets"].since.as_deref(), Some("2026-01-01T10:05:00"));
        let text = serde_json::to_value(&st).unwrap();
        assert_eq!(PollState::from_json(&text).unwrap(), st);
        assert!(PollState::from_json(&serde_json::json!({"x": 1})).is_err());
        let php = serde_json::json!({"pollStateVersion": 1, "cursors": [], "runResources": [], "pendingPages": 0});
        assert!(PollState::from_json(&php).unwrap().cursors.is_empty());
        let php = serde_json::json!({"pollStateVersion": 1, "cursors": {"bill_sheets": {"seen": [], "nextPage": 2}}});
        assert_eq!(PollState::from_json(&php).unwrap().cursors["bill_sheets"].next_page, 2);
        assert!(st.begin(&["firms".into()], 1).is_err());
        assert!(st.feed(b"<x/>").is_err());
    }
}
