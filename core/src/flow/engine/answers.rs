//! incwo's answers to requests that succeeded: a list page feeds the scan,
//! a create or an update is recorded in the ledger, a status change is
//! applied, and a document read back is compared with what was written
//! (its marker, status and totals); a difference quarantines the record.

use super::lookup::{link, marker};
use super::outputs::finish;
use super::status::{progress_id, status_name};
use super::write::{body_for, mark_created};
use super::{entry, entry_mut, pop, quarantine, run, Purpose, Step};
use crate::adapters::Adapter;
use crate::flow::ledger::Domain;
use crate::flow::{ErrorInfo, Flow, Outcome};
use crate::http::Response;
use crate::telemetry::MetricEvent;
use crate::views::Item;

/// Reads a written document back, unless the option is off or it is verified.
pub(super) fn read_back(flow: &mut Flow, domain: Domain, external_id: &str) -> Step {
    if !flow.options.read_back {
        return pop(flow);
    }
    let Some(e) = entry(flow, domain, external_id).cloned() else {
        return pop(flow);
    };
    let (Some(id), false) = (e.incwo_id, e.verified) else {
        return pop(flow);
    };
    let correlation_id = run(flow).correlation_id.clone();
    match Adapter::new(domain).read(&flow.config, id, &correlation_id) {
        Ok(request) => Step::Send(Purpose::Read(domain, external_id.to_string()), request),
        Err(e) => quarantine("usage.request", e.to_string()),
    }
}

/// Reads a document back to learn the status incwo holds (see `Task::Refresh`).
pub(super) fn refresh(flow: &mut Flow, domain: Domain, external_id: &str, refusal: Box<ErrorInfo>) -> Step {
    let id = entry(flow, domain, external_id).and_then(|e| e.incwo_id);
    let correlation_id = run(flow).correlation_id.clone();
    match id.map(|id| Adapter::new(domain).read(&flow.config, id, &correlation_id)) {
        Some(Ok(request)) => Step::Send(Purpose::Refresh(domain, external_id.to_string(), refusal), request),
        _ => Step::Finish(Outcome::Quarantined { error: *refusal }),
    }
}

/// Applies the answer of a request that succeeded.
pub(super) fn on_success(flow: &mut Flow, purpose: Purpose, response: &Response, now: u64) {
    let parse_failure = |flow: &mut Flow, what: String| {
        let outcome = Outcome::Quarantined {
            error: ErrorInfo {
                class: "technical".into(),
                code: "incwo.unreadable_response".into(),
                message: what,
                violations: Vec::new(),
                details: None,
            },
        };
        finish(flow, outcome, now);
    };
    match purpose {
        Purpose::Lookup(domain) => match Adapter::new(domain).parse_page(&response.body) {
            Ok((items, total)) => {
                let r = run(flow);
                if let Some(search) = r.search.as_mut() {
                    if let Some(found) = search.scan.feed(&items, total) {
                        search.result = Some(Some(found));
                    }
                }
            }
            Err(e) => parse_failure(
                flow,
                format!("a {} list page could not be read: {e}", domain.resource()),
            ),
        },
        Purpose::Create(domain, external_id) => {
            match Adapter::new(domain).parse_one(&response.body).map(|i| item_id(&i)) {
                Ok(id) => {
                    let (mapped, hash) = match body_for(flow, domain, &external_id) {
                        Ok(x) => x,
                        Err(error) => return finish(flow, Outcome::Quarantined { error }, now),
                    };
                    mark_created(flow, domain, &external_id, id, hash, mapped.totals, now);
                    run(flow).did_work = true;
                    link(flow, domain, &external_id, Some(id));
                    pop(flow);
                }
                Err(e) => parse_failure(
                    flow,
                    format!("the created {} could not be read: {e}", domain.resource()),
                ),
            }
        }
        Purpose::Update(domain, external_id) => {
            if let Ok((mapped, hash)) = body_for(flow, domain, &external_id) {
                if let Some(e) = entry_mut(flow, domain, &external_id) {
                    e.hash = hash;
                    e.totals = mapped.totals;
                    e.verified = false;
                    e.updated_at = now;
                }
            }
            let id = entry(flow, domain, &external_id).and_then(|e| e.incwo_id);
            run(flow).did_work = true;
            link(flow, domain, &external_id, id);
            pop(flow);
        }
        Purpose::Status(domain, external_id, status) => {
            if let Some(e) = entry_mut(flow, domain, &external_id) {
                e.status = Some(status.into());
                e.verified = false;
                e.updated_at = now;
            }
            run(flow).did_work = true;
            pop(flow);
        }
        Purpose::Read(domain, external_id) => match Adapter::new(domain).parse_one(&response.body) {
            Ok(item) => match compare(flow, domain, &external_id, &item) {
                Ok(()) => {
                    if let Some(e) = entry_mut(flow, domain, &external_id) {
                        e.verified = true;
                    }
                    run(flow).did_work = true;
                    pop(flow);
                }
                Err(gap) => {
                    flow.registry.record(&MetricEvent::ReconciliationGap {
                        domain: domain.as_str().into(),
                    });
                    let mut error = ErrorInfo::business(
                        "business.reconciliation_gap",
                        format!(
                            "{} {external_id} in incwo differs from what was written",
                            domain.as_str()
                        ),
                    );
                    error.details = Some(gap);
                    finish(flow, Outcome::Quarantined { error }, now);
                }
            },
            Err(e) => parse_failure(
                flow,
                format!("the {} read back could not be read: {e}", domain.resource()),
            ),
        },
        Purpose::Refresh(domain, external_id, refusal) => match Adapter::new(domain).parse_one(&response.body) {
            Ok(item) => {
                let progress = match &item {
                    Item::ProposalSheet(s) => s.progress_id,
                    Item::BillSheet(s) => s.progress_id,
                    _ => None,
                };
                if let Some(status) = status_name(&flow.profile, domain, progress) {
                    if let Some(e) = entry_mut(flow, domain, &external_id) {
                        if e.status.as_deref() != Some(status.as_str()) {
                            e.status = Some(status);
                            e.verified = false;
                            e.updated_at = now;
                        }
                    }
                }
                finish(flow, Outcome::Quarantined { error: *refusal }, now);
            }
            Err(e) => parse_failure(
                flow,
                format!("the {} read back could not be read: {e}", domain.resource()),
            ),
        },
    }
}

/// The incwo id of an object read.
fn item_id(item: &Item) -> u64 {
    match item {
        Item::Firm(x) => x.id,
        Item::Contact(x) => x.id,
        Item::CustomerProduct(x) => x.id,
        Item::ProposalSheet(x) => x.id,
        Item::BillSheet(x) => x.id,
        Item::StockMovement(x) => x.id,
        Item::CashDeposit(x) => x.id,
    }
}

/// Compares a document read back with the ledger: marker, status, totals.
fn compare(flow: &Flow, domain: Domain, external_id: &str, item: &Item) -> Result<(), serde_json::Value> {
    let Some(e) = entry(flow, domain, external_id) else {
        return Ok(());
    };
    let (title, progress, excl, vat, incl) = match item {
        Item::ProposalSheet(s) => (
            s.title.clone(),
            s.progress_id,
            s.vat_exl_total,
            s.vat_cost,
            s.vat_inc_total,
        ),
        Item::BillSheet(s) => (
            s.title.clone(),
            s.progress_id,
            s.vat_exl_total,
            s.vat_cost,
            s.vat_inc_total,
        ),
        _ => return Ok(()),
    };
    let mut gaps = serde_json::Map::new();
    let expected_title = marker(domain, external_id);
    if title.as_deref().map(str::trim) != Some(expected_title.as_str()) {
        gaps.insert(
            "title".into(),
            serde_json::json!({"expected": expected_title, "actual": title}),
        );
    }
    if let Some(status) = &e.status {
        if let Some(expected) = progress_id(&flow.profile, domain, status) {
            if progress != Some(expected) {
                gaps.insert(
                    "progressId".into(),
                    serde_json::json!({"expected": expected, "actual": progress}),
                );
            }
        }
    }
    if let Some(t) = &e.totals {
        for (name, expected, actual) in [
            ("exclTax", t.excl_tax, excl),
            ("vat", t.vat, vat),
            ("inclTax", t.incl_tax, incl),
        ] {
            if actual.map(|a| a.normalize()) != Some(expected.normalize()) {
                gaps.insert(
                    name.into(),
                    serde_json::json!({"expected": expected.to_string(), "actual": actual.map(|a| a.to_string())}),
                );
            }
        }
    }
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(serde_json::Value::Object(gaps))
    }
}
