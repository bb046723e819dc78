//! Finding objects in incwo: the find-by-marker scan of list pages, the
//! marker the connector writes, and resolving the objects a record refers to
//! (its customer, product, quote or order) from the ledger, else from incwo.

use super::status::status_name;
use super::{entry, new_entry, pop, quarantine, run, Purpose, Search, Step};
use crate::adapters::{Adapter, Found, MarkerSearch};
use crate::flow::ledger::{Domain, EntryState};
use crate::flow::Flow;
use crate::mapping::{v1, Profile};

/// Runs (or continues) the find-by-marker scan of the current task; returns
/// the request of the next page, or the scan's result.
pub(super) fn search(flow: &mut Flow, domain: Domain, marker: &str) -> Result<Option<Found>, Step> {
    let max_pages = flow.options.max_lookup_pages;
    let r = run(flow);
    let search = r.search.get_or_insert_with(|| Search {
        scan: MarkerSearch::new(marker, max_pages),
        result: None,
    });
    if let Some(result) = &search.result {
        return Ok(result.clone());
    }
    match search.scan.next_page() {
        Some(page) => {
            let correlation_id = r.correlation_id.clone();
            match Adapter::new(domain).list_page(&flow.config, page, &correlation_id) {
                Ok(request) => Err(Step::Send(Purpose::Lookup(domain), request)),
                Err(e) => Err(quarantine("usage.request", e.to_string())),
            }
        }
        None => {
            let truncated = search.scan.truncated();
            if truncated {
                return Err(quarantine(
                    "business.reconcile_inconclusive",
                    format!(
                        "the {} {marker} was not found in the first {} list pages; its absence is not proven, so nothing is created",
                        domain.as_str(),
                        max_pages
                    ),
                ));
            }
            search.result = Some(None);
            Ok(None)
        }
    }
}

/// The marker the connector wrote into incwo for an object: the external id,
/// except for a credit note, titled after the invoice it cancels.
pub(super) fn marker(domain: Domain, external_id: &str) -> String {
    match domain {
        Domain::CreditNote => v1::credit_note_title(external_id),
        _ => external_id.to_string(),
    }
}

/// Whether a proposal sheet found by its marker is of the domain's sheet
/// type (a quote and an order share the resource); other objects always are.
pub(super) fn sheet_type_matches(profile: &Profile, domain: Domain, found: &Found) -> bool {
    match (domain, &found.sheet_type) {
        (Domain::Quote, Some(t)) => *t == profile.sheet_types.quote,
        (Domain::Order, Some(t)) => *t == profile.sheet_types.order,
        _ => true,
    }
}

/// Knows a referenced object's incwo id (the ledger's, else incwo's by its
/// marker) and links it, or quarantines the record when neither knows it.
pub(super) fn resolve(flow: &mut Flow, domain: Domain, external_id: &str, now: u64) -> Step {
    if let Some(e) = entry(flow, domain, external_id).filter(|e| e.state == EntryState::Done) {
        let id = e.incwo_id;
        link(flow, domain, external_id, id);
        return pop(flow);
    }
    let found = match search(flow, domain, external_id) {
        Ok(found) => found,
        Err(step) => return step,
    };
    let found = found.filter(|f| sheet_type_matches(&flow.profile, domain, f));
    match found {
        Some(found) => {
            if matches!(domain, Domain::Quote | Domain::Order) {
                let mut e = new_entry(flow, domain, external_id, EntryState::Done, String::new(), now);
                e.incwo_id = Some(found.id);
                e.status = status_name(&flow.profile, domain, found.progress_id);
                e.verified = true;
                e.mark_published(&format!("{}.created", domain.as_str()));
                flow.state.ledger.put(e);
            }
            if let (Domain::Quote | Domain::Order, Some(firm)) = (domain, found.firm_id) {
                run(flow).links.firm_id.get_or_insert(firm);
            }
            link(flow, domain, external_id, Some(found.id));
            pop(flow)
        }
        None => {
            let what = match domain {
                Domain::Customer => "customer",
                Domain::Product => "product",
                Domain::Quote => "quote",
                _ => "order",
            };
            quarantine(
                &format!("business.unknown_{what}"),
                format!("the {what} {external_id} is neither in the ledger nor in incwo; sync it first"),
            )
        }
    }
}

/// Records an object's incwo id in the links the mapping uses: the firm of
/// the record (a customer's, or a referenced document's customer's) and
/// product ids.
pub(super) fn link(flow: &mut Flow, domain: Domain, external_id: &str, id: Option<u64>) {
    let firm_of_doc = match domain {
        Domain::Order | Domain::Quote => entry(flow, domain, external_id).and_then(|e| e.customer.clone()),
        _ => None,
    };
    let firm_of_doc = firm_of_doc.and_then(|c| entry(flow, Domain::Customer, &c).and_then(|e| e.incwo_id));
    let r = run(flow);
    match (domain, id) {
        (Domain::Customer, Some(id)) => r.links.firm_id = Some(id),
        (Domain::Product, Some(id)) => {
            r.links.product_ids.insert(external_id.to_string(), id);
        }
        (Domain::Order | Domain::Quote, _) if r.links.firm_id.is_none() => r.links.firm_id = firm_of_doc,
        _ => {}
    }
}
