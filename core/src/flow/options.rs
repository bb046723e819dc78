//! The settings of a flow ([`FlowOptions`]).

use crate::retry::RetryPolicy;
use serde::{Deserialize, Serialize};

/// Settings of a flow. JSON camelCase; every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FlowOptions {
    /// Tenant name in idempotency keys; the business file id when empty.
    pub tenant: String,
    /// Company segment of queue names.
    pub company: String,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Most list pages a run reads to look objects up by marker (building
    /// and refreshing the marker index, see [`crate::flow::index`]), not
    /// counting each pass's first page (all an incremental lookup usually
    /// reads, so a long import is not cut by it); once spent, the run stops
    /// with `deferred.index_budget` and the next run continues.
    pub max_lookup_pages: u32,
    /// Read every written document back and compare it.
    pub read_back: bool,
    /// Look a document or stock movement up by its marker in incwo before
    /// its first create, as customers and products always are: a host that
    /// lost its ledger (or checkpoint) and replays a batch then links what
    /// incwo already holds instead of creating it twice. Costs list-page
    /// reads per create, so off by default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lookup_before_create: bool,
    /// An operator replays quarantined records: each record's end counts in
    /// `replay_total{reason="manual"}` (see [`crate::flow::quarantine`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub manual_replay: bool,
    /// Most requests the flow hands out before their answers come back
    /// (independent records in parallel: other customers, other products and
    /// documents; one customer's records keep their order). 1 (the default)
    /// is one request at a time; above 1 the host may poll while requests
    /// are in flight and answer them in any order (see the module
    /// documentation of [`crate::flow`]). 0 counts as 1.
    #[serde(skip_serializing_if = "is_one")]
    pub max_in_flight: u32,
    /// Most requests per second the flow hands out (all records together);
    /// none by default. When the next request would come too early, `poll`
    /// answers `Wait` with reason `rate_limit` (0 counts as 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<u32>,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl Default for FlowOptions {
    fn default() -> Self {
        Self {
            tenant: String::new(),
            company: "default".into(),
            retry: RetryPolicy::default(),
            max_lookup_pages: 10_000,
            read_back: true,
            lookup_before_create: false,
            manual_replay: false,
            max_in_flight: 1,
            max_requests_per_second: None,
        }
    }
}
