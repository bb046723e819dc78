//! The idempotency ledger: what the connector knows it did in incwo.
//!
//! Each step of a record that writes to incwo has a deterministic key,
//! UUIDv5 of (tenant, domain, external id, step, mapper version), and an
//! entry: `pending` (the request may have left), `done` (incwo id and payload
//! hash known) or `quarantined`. The ledger is part of the flow's checkpoint;
//! hosts that share it between workers store entries one by one by key.
//!
//! A key includes the mapper version, so that what a version emitted is
//! traceable; [`Ledger::find`] still finds an entry written under another
//! version, so a mapper upgrade never makes a replay create a duplicate.

use crate::mapping::totals::Totals;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Namespace of every idempotency key and payload hash of the connector.
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_5e2b_4f0d_4b7e_9c3a_1d2e_8f40_a7b1);

/// The domain of an entry; defined in the model, re-exported at its old path.
pub use crate::model::Domain;

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// The write may have left; reconcile (find by marker) before repeating it.
    Pending,
    /// incwo holds the object; `incwo_id` and `hash` are known.
    Done,
    /// The record was quarantined at this step.
    Quarantined,
}

/// A status change in flight: the status asked for and the run that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PendingStatus {
    /// The status name asked for.
    pub status: String,
    /// The run that sent it (its checkpoint's `runId`: a run resumed from
    /// its checkpoint knows its own changes).
    pub run: u64,
}

/// Quantities of one SKU on an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LineQuantities {
    /// Ordered.
    pub ordered: Decimal,
    /// Delivered (sale movements naming the order).
    pub delivered: Decimal,
    /// Invoiced.
    pub invoiced: Decimal,
}

impl Entry {
    /// Whether the confirmation event `event_type` was handed to the host.
    /// An entry written before events were tracked one by one counts its
    /// `published` flag as its creation event.
    pub fn has_published(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == event_type)
            || (self.published && self.events.is_empty() && event_type.ends_with(".created"))
    }

    /// Records that `event_type` was handed to the host.
    pub fn mark_published(&mut self, event_type: &str) {
        self.published = true;
        if !self.events.iter().any(|e| e == event_type) {
            self.events.push(event_type.to_string());
        }
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "LedgerEntry"))]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Idempotency key (UUID).
    pub key: String,
    /// Domain of the object.
    pub domain: Domain,
    /// The record's external id (customer id, SKU, document number…).
    pub external_id: String,
    /// The step (`upsert`, `create`).
    pub step: String,
    /// Mapper version the step was written with.
    pub mapper_version: u32,
    /// Pending, done or quarantined.
    pub state: EntryState,
    /// incwo's id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incwo_id: Option<u64>,
    /// Hash of the canonical payload written.
    pub hash: String,
    /// Document status name (`draft`, `accepted`, `confirmed`, `cancelled`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A status change sent and not answered yet (its outcome unknown).
    /// Saved before the request leaves, cleared by its answer; while it is
    /// set and younger than [`STATUS_LEASE_MS`], no other run sends a status
    /// change of this document (it defers the record with
    /// `deferred.status_in_flight`), so an older change cannot land after a
    /// newer one and undo it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_status: Option<PendingStatus>,
    /// The read-back matched what was written.
    #[serde(default)]
    pub verified: bool,
    /// A confirmation event was handed to the host (see `events`).
    #[serde(default)]
    pub published: bool,
    /// The confirmation events handed to the host, by type
    /// (`order.created`, `order.cancelled`…): each is published once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The customer a document belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// A document's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Per-SKU quantities of an order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lines: BTreeMap<String, LineQuantities>,
    /// Invoices issued on an order (their numbers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invoices: Vec<String>,
    /// A document's totals as mapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    /// Why it was quarantined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Last change (ms since the epoch).
    pub updated_at: u64,
}

/// How long a status change marked `pending_status` holds other runs back
/// (ms since the entry's `updated_at`): past it, its run is taken as gone
/// (a crash, a run that gave up) and another run may change the status.
pub const STATUS_LEASE_MS: u64 = 60_000;

/// Computes the idempotency key of a step.
pub fn idempotency_key(tenant: &str, domain: Domain, external_id: &str, step: &str, mapper_version: u32) -> String {
    let name = format!(
        "{tenant}\u{1f}{}\u{1f}{external_id}\u{1f}{step}\u{1f}v{mapper_version}",
        domain.as_str()
    );
    Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

/// Hash of a canonical payload (UUIDv5 of its JSON text: stable, no extra dependency).
pub fn payload_hash(canonical: &impl Serialize) -> String {
    let text = serde_json::to_vec(canonical).unwrap_or_default();
    Uuid::new_v5(&NAMESPACE, &text).simple().to_string()
}

/// The ledger: entries by idempotency key, plus the keys changed since the
/// host last took them (for shared ledgers). An index by (domain, external
/// id, step) finds an entry whatever mapper version wrote it, in O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(from = "LedgerData")]
pub struct Ledger {
    entries: BTreeMap<String, Entry>,
    #[serde(skip)]
    by_step: BTreeMap<(Domain, String, String), String>,
    #[serde(skip)]
    changed: std::collections::BTreeSet<String>,
}

/// The serialised form of a [`Ledger`] (its index is rebuilt on reading).
#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct LedgerData {
    entries: BTreeMap<String, Entry>,
}

impl From<LedgerData> for Ledger {
    fn from(data: LedgerData) -> Self {
        Ledger::from_entries(data.entries.into_values())
    }
}

impl Ledger {
    /// A ledger holding `entries` (e.g. fetched from a shared table).
    pub fn from_entries(entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut ledger = Ledger::default();
        for entry in entries {
            ledger.index(&entry);
            ledger.entries.insert(entry.key.clone(), entry);
        }
        ledger
    }

    fn index(&mut self, entry: &Entry) {
        self.by_step.insert(
            (entry.domain, entry.external_id.clone(), entry.step.clone()),
            entry.key.clone(),
        );
    }

    fn resolve(&self, key: &str, domain: Domain, external_id: &str, step: &str) -> Option<String> {
        if self.entries.contains_key(key) {
            return Some(key.to_string());
        }
        self.by_step
            .get(&(domain, external_id.to_string(), step.to_string()))
            .cloned()
    }

    /// The entry of a step, whatever mapper version wrote it (the current
    /// version's key first).
    pub fn find(&self, key: &str, domain: Domain, external_id: &str, step: &str) -> Option<&Entry> {
        if let Some(entry) = self.entries.get(key) {
            return Some(entry);
        }
        self.entries.get(&self.resolve(key, domain, external_id, step)?)
    }

    /// The entry of a step, for changing it (see [`Ledger::find`]).
    pub fn find_mut(&mut self, key: &str, domain: Domain, external_id: &str, step: &str) -> Option<&mut Entry> {
        let key = self.resolve(key, domain, external_id, step)?;
        self.changed.insert(key.clone());
        self.entries.get_mut(&key)
    }

    /// Inserts or replaces an entry.
    pub fn put(&mut self, entry: Entry) {
        self.changed.insert(entry.key.clone());
        self.index(&entry);
        self.entries.insert(entry.key.clone(), entry);
    }

    /// Every entry, by key.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the ledger is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries changed since the last call, for hosts that write them back
    /// one by one to a shared table.
    pub fn take_changed(&mut self) -> Vec<Entry> {
        std::mem::take(&mut self.changed)
            .into_iter()
            .filter_map(|k| self.entries.get(&k).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, version: u32) -> Entry {
        Entry {
            key: key.into(),
            domain: Domain::Order,
            external_id: "CMD-1".into(),
            step: "create".into(),
            mapper_version: version,
            state: EntryState::Done,
            incwo_id: Some(9),
            hash: "h".into(),
            status: None,
            pending_status: None,
            verified: true,
            published: true,
            events: vec![],
            customer: None,
            currency: None,
            lines: BTreeMap::new(),
            invoices: vec![],
            totals: None,
            error: None,
            updated_at: 0,
        }
    }

    #[test]
    fn keys_are_deterministic_and_distinct() {
        let a = idempotency_key("t", Domain::Order, "CMD-1", "create", 1);
        assert_eq!(a, idempotency_key("t", Domain::Order, "CMD-1", "create", 1));
        assert_ne!(a, idempotency_key("t2", Domain::Order, "CMD-1", "create", 1));
        assert_ne!(a, idempotency_key("t", Domain::Quote, "CMD-1", "create", 1));
        assert_ne!(a, idempotency_key("t", Domain::Order, "CMD-1", "create", 2));
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 5);
    }

    #[test]
    fn an_entry_of_another_mapper_version_is_still_found() {
        let old = idempotency_key("t", Domain::Order, "CMD-1", "create", 1);
        let new = idempotency_key("t", Domain::Order, "CMD-1", "create", 2);
        let mut ledger = Ledger::from_entries([entry(&old, 1)]);
        assert_eq!(ledger.find(&new, Domain::Order, "CMD-1", "create").unwrap().key, old);
        ledger.find_mut(&new, Domain::Order, "CMD-1", "create").unwrap().status = Some("x".into());
        assert_eq!(ledger.take_changed().len(), 1);
        assert!(ledger.take_changed().is_empty());
    }

    #[test]
    fn payload_hash_follows_the_content() {
        assert_eq!(
            payload_hash(&serde_json::json!({"a": 1})),
            payload_hash(&serde_json::json!({"a": 1}))
        );
        assert_ne!(
            payload_hash(&serde_json::json!({"a": 1})),
            payload_hash(&serde_json::json!({"a": 2}))
        );
    }
}
