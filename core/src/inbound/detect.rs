//! Change detection: an object read from incwo compared with what the
//! ledger says the connector wrote (or last saw).
//!
//! Only documents the ledger knows are compared (a `done` entry with that
//! incwo id): an object the connector never wrote, or an id that does not
//! exist, changes nothing. The ledger is updated with what was seen, so the
//! same change is reported once; and since the ledger already holds what
//! the connector itself wrote, the connector's own writes are never echoed
//! back as changes.

use super::{snapshot::Snapshot, ChangeEvent, FieldChange, InboundOptions, Source};
use crate::flow::ledger::{idempotency_key, payload_hash, Entry, EntryState, Ledger};
use crate::flow::queues::{queue_name, QueueFor};
use crate::flow::transitions::{self, DocType};
use crate::mapping::totals::{TaxTotal, Totals};
use crate::mapping::Profile;
use crate::model::Domain;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// The status an entry gets when its document was deleted in incwo.
pub const DELETED: &str = "deleted";

/// What was observed for one incwo object.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// The object as incwo returns it now.
    Object(Snapshot),
    /// incwo answered 404: the object is gone (or never existed).
    Gone {
        /// incwo resource.
        resource: String,
        /// incwo id.
        id: u64,
    },
}

/// How a detection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DetectOutcome {
    /// Differences were found: events to publish, the ledger was updated.
    Changed,
    /// The object is as the ledger knows it (e.g. the connector's own write).
    Unchanged,
    /// No ledger entry names this object: nothing to compare, nothing done.
    NotTracked,
}

/// A change event and the queue it goes to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Publication {
    /// Queue name (docs/DESIGN.md#7-flows-replayable-steps).
    pub queue: String,
    /// The event.
    pub event: ChangeEvent,
}

/// A detection refused because a sum of numbers incwo returned (a
/// document's line quantities per product, or its line totals per tax)
/// leaves the exact decimal range: hostile or corrupt XML. Nothing was
/// compared and the ledger was left as it was, so the same object is
/// refused again until incwo's data is fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectError {
    /// `contract`: incwo's object breaks what the connector can read.
    pub class: &'static str,
    /// Stable code: `contract.overflow`.
    pub code: &'static str,
    /// What is wrong, naming the object.
    pub message: String,
    /// What to do.
    pub hint: &'static str,
    /// JSON pointer into the object read (a [`Snapshot`]), at the value whose
    /// addition overflowed, e.g. `/lines/1/quantity`.
    pub path: String,
}

impl DetectError {
    fn overflow(s: &Snapshot, index: usize, field: &str, what: &str) -> Self {
        let path = format!("/lines/{index}/{field}");
        DetectError {
            class: "contract",
            code: "contract.overflow",
            message: format!(
                "{} {}: the sum of its {what} leaves the exact decimal range at {path} (0-based line)",
                s.resource, s.id
            ),
            hint: "check the document's lines in incwo (a quantity or amount far too large); it is compared again once fixed",
            path,
        }
    }
}

/// The result of one detection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// Changed, unchanged or not tracked.
    pub outcome: DetectOutcome,
    /// Events to publish, in order.
    pub events: Vec<Publication>,
}

/// The `done` entry of a document with this incwo id, if any.
pub fn find_entry<'a>(ledger: &'a Ledger, resource: &str, id: u64) -> Option<&'a Entry> {
    ledger.entries().find(|e| {
        e.state == EntryState::Done
            && e.incwo_id == Some(id)
            && e.domain.resource() == resource
            && matches!(
                e.domain,
                Domain::Quote | Domain::Order | Domain::Invoice | Domain::CreditNote
            )
    })
}

fn table(profile: &Profile, domain: Domain) -> Option<&BTreeMap<String, u64>> {
    match domain {
        Domain::Quote => Some(&profile.statuses.quote),
        Domain::Order => Some(&profile.statuses.order),
        Domain::Invoice => Some(&profile.statuses.invoice),
        _ => None,
    }
}

const INVOICE_RANK: [&str; 4] = ["draft", "issued", "partiallyPaid", "paid"];

/// The status incwo shows: the profile's name of `progress_id`; for
/// invoices also a final `sheet_type` (issued) and the amount paid.
fn observed_status(profile: &Profile, domain: Domain, s: &Snapshot) -> Option<String> {
    let by_progress = s.progress_id.and_then(|p| {
        table(profile, domain)?
            .iter()
            .find(|(_, v)| **v == p)
            .map(|(k, _)| k.clone())
    });
    if domain != Domain::Invoice || by_progress.as_deref() == Some("cancelled") {
        return by_progress;
    }
    let rank = |name: &str| INVOICE_RANK.iter().position(|r| *r == name);
    let mut best = by_progress.clone();
    let mut consider = |name: &str| {
        if best.as_deref().and_then(rank) < rank(name) {
            best = Some(name.into());
        }
    };
    if s.sheet_type.as_deref() == Some("invoice") {
        consider("issued");
    }
    if let (Some(paid), Some(total)) = (s.payed_amount, s.incl_tax) {
        if total > Decimal::ZERO && paid >= total {
            consider("paid");
        } else if paid > Decimal::ZERO {
            consider("partiallyPaid");
        }
    }
    best
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn queue_of(options: &InboundOptions, profile: &Profile, e: &Entry) -> Option<String> {
    let company = options.company.as_str();
    let currency = e.currency.clone().unwrap_or_else(|| profile.default_currency.clone());
    let queue = match e.domain {
        Domain::Quote => QueueFor::Quote { company },
        Domain::Order => QueueFor::Order {
            company,
            currency: &currency,
        },
        _ => QueueFor::Billing { company },
    };
    queue_name(&queue, false).ok()
}

fn occurred_at(now: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(now).unwrap_or(i64::MAX))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn money(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Compares what incwo shows with the ledger, updates the ledger and
/// returns the change events. `now` is ms since the epoch. A sum of incwo's
/// numbers beyond the decimal range is a [`DetectError`], the ledger unchanged.
pub fn detect(
    ledger: &mut Ledger,
    profile: &Profile,
    options: &InboundOptions,
    observed: &Observed,
    source: Source,
    now: u64,
) -> Result<Detection, DetectError> {
    let (resource, id) = match observed {
        Observed::Object(s) => (s.resource.as_str(), s.id),
        Observed::Gone { resource, id } => (resource.as_str(), *id),
    };
    let Some(before) = find_entry(ledger, resource, id).cloned() else {
        return Ok(Detection {
            outcome: DetectOutcome::NotTracked,
            events: Vec::new(),
        });
    };
    let mut after = before.clone();
    let mut kinds: Vec<(String, Option<String>, BTreeMap<String, FieldChange>)> = Vec::new();
    match observed {
        Observed::Gone { .. } => {
            if before.status.as_deref() != Some(DELETED) {
                after.status = Some(DELETED.into());
                kinds.push(("document.deleted".into(), before.status.clone(), BTreeMap::new()));
            }
        }
        Observed::Object(s) => {
            let status = observed_status(profile, before.domain, s);
            match (&before.status, &status) {
                // The first sight of a status the ledger never knew is a baseline.
                (None, Some(_)) => after.status = status.clone(),
                (Some(old), Some(new)) if old != new => {
                    after.status = Some(new.clone());
                    kinds.push((
                        format!("{}.{}", before.domain.as_str(), snake(new)),
                        Some(old.clone()),
                        BTreeMap::new(),
                    ));
                }
                _ => {}
            }
            let mut changes = BTreeMap::new();
            if let (Some(progress), None) = (s.progress_id, &status) {
                if table(profile, before.domain).is_some() {
                    changes.insert(
                        "progressId".into(),
                        FieldChange {
                            before: before
                                .status
                                .as_deref()
                                .and_then(|st| table(profile, before.domain)?.get(st))
                                .map(|p| p.to_string()),
                            after: Some(progress.to_string()),
                        },
                    );
                }
            }
            if let Some(t) = &before.totals {
                let mut totals_changed = false;
                for (name, old, new) in [
                    ("exclTax", t.excl_tax, s.excl_tax),
                    ("vat", t.vat, s.vat),
                    ("inclTax", t.incl_tax, s.incl_tax),
                ] {
                    if new.map(|d| d.normalize()) != Some(old.normalize()) {
                        totals_changed = true;
                        changes.insert(
                            name.into(),
                            FieldChange {
                                before: Some(money(old)),
                                after: new.map(money),
                            },
                        );
                    }
                }
                if totals_changed {
                    after.totals = Some(observed_totals(profile, s)?);
                }
            }
            if !before.lines.is_empty() {
                line_changes(ledger, &before, &mut after, s, &mut changes)?;
            }
            if !changes.is_empty() {
                kinds.push(("document.edited_in_incwo".into(), before.status.clone(), changes));
            }
        }
    }
    if after != before {
        after.updated_at = now;
        ledger.put(after.clone());
    }
    if kinds.is_empty() {
        return Ok(Detection {
            outcome: DetectOutcome::Unchanged,
            events: Vec::new(),
        });
    }
    let tenant = if options.tenant.is_empty() {
        options.business_file_id.clone()
    } else {
        options.tenant.clone()
    };
    let queue = queue_of(options, profile, &after);
    let events = kinds
        .into_iter()
        .filter_map(|(event_type, previous, changes)| {
            let fingerprint = payload_hash(&(&event_type, &after.status, &changes));
            let key = idempotency_key(
                &tenant,
                after.domain,
                &after.external_id,
                &format!("inbound:{event_type}:{fingerprint}"),
                after.mapper_version,
            );
            let expected_transition = match (after.domain, previous.as_deref(), after.status.as_deref()) {
                (_, _, _) if event_type.starts_with("document.") => None,
                (Domain::Quote, Some(from), Some(to)) => Some(transitions::check(DocType::Quote, from, to).is_ok()),
                (Domain::Order, Some(from), Some(to)) => Some(transitions::check(DocType::Order, from, to).is_ok()),
                (Domain::Invoice, Some(from), Some(to)) => Some(transitions::check(DocType::Invoice, from, to).is_ok()),
                _ => None,
            };
            Some(Publication {
                queue: queue.clone()?,
                event: ChangeEvent {
                    event_type,
                    external_id: after.external_id.clone(),
                    incwo_id: after.incwo_id,
                    resource: resource.to_string(),
                    status: after.status.clone(),
                    previous_status: previous,
                    expected_transition,
                    totals: after.totals.clone(),
                    changes,
                    source,
                    correlation_id: options.correlation_id.clone().unwrap_or_else(|| key.clone()),
                    idempotency_key: key,
                    occurred_at: occurred_at(now),
                },
            })
        })
        .collect();
    Ok(Detection {
        outcome: DetectOutcome::Changed,
        events,
    })
}

/// Per-SKU quantities of a document's priced lines, when every line links
/// a product the ledger knows (`None` otherwise); a sum beyond the decimal
/// range (hostile XML) is an error.
fn observed_quantities(ledger: &Ledger, s: &Snapshot) -> Result<Option<BTreeMap<String, Decimal>>, DetectError> {
    let skus: BTreeMap<u64, &str> = ledger
        .entries()
        .filter(|e| e.domain == Domain::Product)
        .filter_map(|e| Some((e.incwo_id?, e.external_id.as_str())))
        .collect();
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    for (index, line) in s.lines.iter().enumerate().filter(|(_, l)| l.priced) {
        let Some(sku) = line.product_id.and_then(|id| skus.get(&id)) else {
            return Ok(None);
        };
        let sum = out.entry(sku.to_string()).or_default();
        *sum = sum
            .checked_add(line.quantity)
            .ok_or_else(|| DetectError::overflow(s, index, "quantity", &format!("{sku} quantities")))?;
    }
    Ok(Some(
        out.into_iter()
            .filter(|(_, q)| !q.is_zero())
            .map(|(k, q)| (k, q.normalize()))
            .collect(),
    ))
}

/// Compares an order's quantities per SKU with the ledger's, when every
/// line links a product the ledger knows.
fn line_changes(
    ledger: &Ledger,
    before: &Entry,
    after: &mut Entry,
    s: &Snapshot,
    changes: &mut BTreeMap<String, FieldChange>,
) -> Result<(), DetectError> {
    let wrote: BTreeMap<String, Decimal> = before
        .lines
        .iter()
        .filter(|(_, q)| !q.ordered.is_zero())
        .map(|(k, q)| (k.clone(), q.ordered.normalize()))
        .collect();
    // Lines that link no known product cannot be told apart: the totals
    // then carry the edit.
    let Some(seen) = observed_quantities(ledger, s)? else {
        return Ok(());
    };
    if seen == wrote {
        return Ok(());
    }
    let keys: std::collections::BTreeSet<&String> = seen.keys().chain(wrote.keys()).collect();
    for sku in keys {
        let (old, new) = (wrote.get(sku), seen.get(sku));
        if old != new {
            changes.insert(
                format!("lines/{sku}/qty"),
                FieldChange {
                    before: old.map(|d| d.to_string()),
                    after: new.map(|d| d.to_string()),
                },
            );
        }
        after.lines.entry(sku.clone()).or_default().ordered = new.copied().unwrap_or_default();
    }
    after
        .lines
        .retain(|_, q| !(q.ordered.is_zero() && q.delivered.is_zero() && q.invoiced.is_zero()));
    Ok(())
}

/// The totals incwo shows, in the ledger's shape (per tax code from the
/// profile's VAT ids; an id the profile does not know is named `#id`); a
/// sum beyond the decimal range is an error.
fn observed_totals(profile: &Profile, s: &Snapshot) -> Result<Totals, DetectError> {
    let mut by_tax: BTreeMap<String, TaxTotal> = BTreeMap::new();
    for (index, line) in s.lines.iter().enumerate().filter(|(_, l)| l.priced) {
        let vat_id = line.vat_value_id.unwrap_or(0);
        let (code, rate) = profile
            .taxes
            .iter()
            .find(|(_, t)| t.vat_value_id == vat_id)
            .map_or_else(|| (format!("#{vat_id}"), Decimal::ZERO), |(c, t)| (c.clone(), t.rate));
        let t = by_tax.entry(code.clone()).or_insert_with(|| TaxTotal {
            tax_code: code,
            rate,
            base: Decimal::ZERO,
            vat: Decimal::ZERO,
        });
        let what = format!("{} amounts", t.tax_code);
        t.base = t
            .base
            .checked_add(line.total.unwrap_or_default())
            .ok_or_else(|| DetectError::overflow(s, index, "total", &what))?;
        t.vat = t
            .vat
            .checked_add(line.vat.unwrap_or_default())
            .ok_or_else(|| DetectError::overflow(s, index, "vat", &what))?;
    }
    Ok(Totals {
        excl_tax: s.excl_tax.unwrap_or_default(),
        vat: s.vat.unwrap_or_default(),
        incl_tax: s.incl_tax.unwrap_or_default(),
        by_tax: by_tax.into_values().collect(),
        lines: s
            .lines
            .iter()
            .filter(|l| l.priced)
            .map(|l| l.total.unwrap_or_default())
            .collect(),
    })
}
