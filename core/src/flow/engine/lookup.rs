//! Finding objects in incwo: the find-by-marker scan of list pages, the
//! marker the connector writes, and resolving the objects a record refers to
//! (its customer, product, quote or order) from the ledger, else from incwo.

use super::status::status_name;
use super::{entry, new_entry, pop, quarantine, run, Purpose, Search, Step};
use crate::adapters::{Adapter, Found};
use crate::flow::index::ListOrder;
use crate::flow::ledger::{Domain, EntryState};
use crate::flow::ErrorInfo;
use crate::flow::Flow;
use crate::mapping::Profile;

/// Finds the object of `domain` carrying `marker`: from the marker index,
/// else after the index's pass over what it does not cover yet (usually the
/// newest list page; see [`crate::flow::index`]). `reconcile`: a create of
/// ours may have gone through unseen, so only a pass begun after this lookup
/// proves absence. Returns the request of the next page, the record's
/// parking (a reconciliation in unknown order waiting for a whole read), or
/// the result.
pub(super) fn search(flow: &mut Flow, domain: Domain, marker: &str, reconcile: bool) -> Result<Option<Found>, Step> {
    let resource = domain.resource();
    if run(flow).search.is_none() {
        let mark = if reconcile { flow.index.tick() } else { 0 };
        run(flow).search = Some(Search {
            reconcile,
            started: false,
            own_pass: false,
            mark,
            result: None,
        });
    }
    let search = run(flow).search.as_ref().expect("set above");
    if let Some(result) = &search.result {
        return Ok(result.clone());
    }
    let (started, reconcile, own_pass, mark) = (search.started, search.reconcile, search.own_pass, search.mark);
    let unknown_order = flow.index.coverage(resource).order == ListOrder::Unknown;
    if let Some(found) = flow.index.lookup(domain, marker) {
        if own_pass && unknown_order {
            // Nobody else can use a whole read begun for this lookup.
            flow.index.abandon_pass(resource);
        }
        return Ok(settle(flow, Some(found)));
    }
    if reconcile && (unknown_order || flow.profile.lists.order == ListOrder::Unknown) {
        return match reconcile_unknown(flow, resource, mark)? {
            Some(page) => read_page(flow, domain, page),
            None => Ok(settle(flow, None)),
        };
    }
    if !started && !reconcile && flow.index.read_whole_this_run(resource) {
        return Ok(settle(flow, None));
    }
    let page = match flow.index.next_page(resource) {
        // A pass in progress goes on (this lookup's, or one it joins).
        Some(page) => page,
        // The pass this lookup read to its end proves absence, unless the
        // lookup reconciles a create of unknown outcome and the pass began
        // before it (another lookup's, with lanes: it may have read the
        // newest page before the create reached incwo), or the pass was
        // resumed from an earlier run (its first pages were read before
        // objects created since).
        None if started && (own_pass || !reconcile) && flow.index.passed_this_run(resource) => {
            return Ok(settle(flow, None))
        }
        // None in progress, or a reconciliation's: this lookup begins its own.
        None => {
            let own = flow.index.begin_pass(resource, flow.profile.lists.order);
            let page = flow.index.next_page(resource);
            if let Some(s) = run(flow).search.as_mut() {
                (s.started, s.own_pass) = (true, own);
            }
            match page {
                Some(page) => page,
                None => return Ok(settle(flow, None)),
            }
        }
    };
    read_page(flow, domain, page)
}

/// A reconciliation in unknown order: absent (`None`) once a whole read
/// begun after it (`mark`) completed; the next page of such a read in progress;
/// else parks the record until the driver begins one, when nothing else can
/// go on (so that one whole read serves every reconciliation waiting). A
/// read begun before never proves absence: it may have gone past the page
/// where the lost create landed before it did.
fn reconcile_unknown(flow: &Flow, resource: &'static str, mark: u64) -> Result<Option<u32>, Step> {
    if flow.index.read_whole_since(resource, mark) {
        return Ok(None);
    }
    match (flow.index.pass_begun(resource), flow.index.next_page(resource)) {
        (Some(begun), Some(page)) if begun > mark => Ok(Some(page)),
        _ => Err(Step::Park(resource)),
    }
}

/// Marks the search started and asks for list page `page` of `domain`'s
/// resource, unless this run read its budget of list pages.
fn read_page(flow: &mut Flow, domain: Domain, page: u32) -> Result<Option<Found>, Step> {
    let resource = domain.resource();
    if let Some(s) = run(flow).search.as_mut() {
        s.started = true;
    }
    let budget = flow.options.max_lookup_pages;
    if flow.index.pages_read_this_run() >= budget {
        return Err(Step::Stop(ErrorInfo {
            class: "deferred".into(),
            code: "deferred.index_budget".into(),
            message: format!(
                "this run read its budget of {budget} list pages while indexing {resource}; the remaining records wait for the next run, which continues the index where this one stopped"
            ),
            violations: Vec::new(),
            details: None,
        }));
    }
    let correlation_id = run(flow).correlation_id.clone();
    match Adapter::new(domain).list_page(&flow.config, page, flow.profile.lists.per_page, &correlation_id) {
        Ok(request) => Err(Step::Send(Purpose::Lookup(domain, page), request)),
        Err(e) => Err(quarantine("usage.request", e.to_string())),
    }
}

/// Keeps a lookup's result for the rest of the current task.
fn settle(flow: &mut Flow, found: Option<Found>) -> Option<Found> {
    if let Some(s) = run(flow).search.as_mut() {
        s.result = Some(found.clone());
    }
    found
}

pub(super) use crate::flow::index::marker;

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
    // A pending entry: a create of ours whose outcome is unknown may have
    // reached incwo after a pass read its page, so the lookup reconciles.
    let pending = entry(flow, domain, external_id).is_some_and(|e| e.state == EntryState::Pending);
    let found = match search(flow, domain, external_id, pending) {
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::flow::Outcome;

    fn found(sheet_type: Option<&str>) -> Found {
        Found {
            id: 1,
            progress_id: None,
            firm_id: None,
            sheet_type: sheet_type.map(str::to_string),
        }
    }

    #[test]
    fn the_marker_is_the_external_id_and_a_credit_notes_names_its_invoice() {
        assert_eq!(marker(Domain::Order, "CMD-1"), "CMD-1");
        assert_eq!(marker(Domain::StockMovement, "MVT-1"), "MVT-1");
        assert_eq!(marker(Domain::CreditNote, "FAC-1"), "FAC-1-credit");
    }

    #[test]
    fn a_quote_and_an_order_are_told_apart_by_sheet_type() {
        let p = Profile::default();
        let (quote, order) = (p.sheet_types.quote.clone(), p.sheet_types.order.clone());
        assert_ne!(quote, order);
        assert!(sheet_type_matches(&p, Domain::Quote, &found(Some(&quote))));
        assert!(!sheet_type_matches(&p, Domain::Quote, &found(Some(&order))));
        assert!(sheet_type_matches(&p, Domain::Order, &found(Some(&order))));
        assert!(!sheet_type_matches(&p, Domain::Order, &found(Some(&quote))));
        assert!(
            sheet_type_matches(&p, Domain::Order, &found(None)),
            "no type read: not refused"
        );
        assert!(sheet_type_matches(&p, Domain::Invoice, &found(Some("anything"))));
    }

    #[test]
    fn an_object_the_ledger_knows_is_linked_without_a_request() {
        let mut flow = flow_of(&[quote("Q1")]);
        put_done(&mut flow, Domain::Customer, "C1", 11);
        begin(&mut flow);
        assert!(matches!(resolve(&mut flow, Domain::Customer, "C1", 0), Step::Continue));
        assert_eq!(flow.engine.run.as_ref().unwrap().links.firm_id, Some(11));
    }

    #[test]
    fn an_unknown_object_is_searched_and_quarantines_when_absent() {
        let mut flow = flow_of(&[quote("Q1")]);
        begin(&mut flow);
        let Step::Send(Purpose::Lookup(Domain::Customer, 1), request) = resolve(&mut flow, Domain::Customer, "C1", 0)
        else {
            panic!("expected a list page request");
        };
        assert_eq!(request.endpoint(), "/firms.xml");
        run(&mut flow).search.as_mut().unwrap().result = Some(None);
        match resolve(&mut flow, Domain::Customer, "C1", 0) {
            Step::Finish(Outcome::Quarantined { error }) => {
                assert_eq!(error.code, "business.unknown_customer");
                assert!(error.message.contains("C1"), "{}", error.message);
            }
            _ => panic!("expected a quarantine"),
        }
    }

    #[test]
    fn an_order_found_in_incwo_enters_the_ledger_with_its_status_and_firm() {
        let mut flow = flow_of(&[invoice("F1", "O1", &[("P1", "1")])]);
        begin(&mut flow);
        let confirmed = flow.profile.statuses.order["confirmed"];
        let order = Found {
            id: 400,
            progress_id: Some(confirmed),
            firm_id: Some(12),
            sheet_type: Some(flow.profile.sheet_types.order.clone()),
        };
        run(&mut flow).search = Some(Search {
            reconcile: false,
            started: true,
            own_pass: true,
            mark: 0,
            result: Some(Some(order)),
        });
        assert!(matches!(resolve(&mut flow, Domain::Order, "O1", 9), Step::Continue));
        let e = entry(&flow, Domain::Order, "O1").expect("adopted");
        assert_eq!(
            (e.incwo_id, e.status.as_deref(), e.verified),
            (Some(400), Some("confirmed"), true)
        );
        assert!(
            e.has_published("order.created"),
            "found, not created: nothing to announce"
        );
        assert_eq!(flow.engine.run.as_ref().unwrap().links.firm_id, Some(12));
    }

    /// A firm list page of `ids`, each marked `C{id}`, of `total` pages.
    fn firms_page(ids: &[u64], total: u32) -> crate::adapters::Listing {
        crate::adapters::Listing {
            ids: ids.to_vec(),
            marked: ids
                .iter()
                .map(|&id| (format!("C{id}"), Found { id, ..found(None) }))
                .collect(),
            total_pages: total,
        }
    }

    #[test]
    fn the_index_answers_without_a_request_and_its_pass_proves_absence() {
        let mut flow = flow_of(&[quote("Q1")]);
        begin(&mut flow);
        assert!(matches!(
            search(&mut flow, Domain::Customer, "C1", false),
            Err(Step::Send(Purpose::Lookup(Domain::Customer, 1), _))
        ));
        flow.index.feed(Domain::Customer, 1, &firms_page(&[1, 2], 1));
        assert_eq!(
            search(&mut flow, Domain::Customer, "C1", false)
                .ok()
                .flatten()
                .map(|f| f.id),
            Some(1)
        );
        run(&mut flow).search = None;
        assert_eq!(
            search(&mut flow, Domain::Customer, "C2", false)
                .ok()
                .flatten()
                .map(|f| f.id),
            Some(2)
        );
        run(&mut flow).search = None;
        let Err(Step::Send(Purpose::Lookup(_, page), _)) = search(&mut flow, Domain::Customer, "C9", false) else {
            panic!("an unknown marker: the newest page is read");
        };
        flow.index.feed(Domain::Customer, page, &firms_page(&[1, 2], 1));
        assert!(matches!(search(&mut flow, Domain::Customer, "C9", false), Ok(None)));
    }

    /// The step of a reconciliation of C9 (unknown order): the page it reads,
    /// or 0 when it parks.
    fn reconciling(flow: &mut Flow) -> u32 {
        match search(flow, Domain::Customer, "C9", true) {
            Err(Step::Send(Purpose::Lookup(_, page), _)) => page,
            Err(Step::Park("firms")) => 0,
            _ => panic!("expected a list page request or the record's parking"),
        }
    }

    #[test]
    fn a_pass_begun_before_a_reconciliation_never_proves_it_absent() {
        let mut flow = flow_of(&[quote("Q1")]);
        begin(&mut flow);
        // A whole read begun earlier (unknown order) has read page 1 of 3.
        flow.index.begin_pass("firms", ListOrder::Unknown);
        flow.index.feed(Domain::Customer, 1, &firms_page(&[1, 2], 3));
        // C9's create lost its answer meanwhile (it landed on page 1): its
        // reconciliation neither joins that read nor concludes from it.
        assert_eq!(reconciling(&mut flow), 0, "parked");
        flow.index.feed(Domain::Customer, 2, &firms_page(&[3, 4], 3));
        flow.index.feed(Domain::Customer, 3, &firms_page(&[5, 6], 3));
        assert!(flow.index.read_whole_this_run("firms"), "ordinary lookups may use it");
        assert_eq!(reconciling(&mut flow), 0, "still parked: that read began before");
        // The driver begins a read when nothing else can go on: it serves C9.
        assert!(flow.index.begin_pass("firms", ListOrder::Unknown));
        assert_eq!(reconciling(&mut flow), 1, "a whole read, from the start");
        flow.index.feed(Domain::Customer, 1, &firms_page(&[1, 9, 2], 3));
        assert_eq!(
            search(&mut flow, Domain::Customer, "C9", true)
                .ok()
                .flatten()
                .map(|f| f.id),
            Some(9)
        );
        assert_eq!(
            flow.index.next_page("firms"),
            Some(2),
            "the read goes on for whoever else it serves"
        );
    }

    #[test]
    fn a_whole_read_begun_after_a_reconciliation_proves_absence_without_another() {
        let mut flow = flow_of(&[quote("Q1")]);
        flow.profile.lists.order = ListOrder::Unknown;
        begin(&mut flow);
        assert_eq!(reconciling(&mut flow), 0, "no read begun after it: parked");
        assert!(flow.index.begin_pass("firms", ListOrder::Unknown));
        for page in 1..=3 {
            assert_eq!(reconciling(&mut flow), page);
            flow.index.feed(Domain::Customer, page, &firms_page(&[page.into()], 3));
        }
        assert!(matches!(search(&mut flow, Domain::Customer, "C9", true), Ok(None)));
        // A second reconciliation taken up after that read parks again.
        run(&mut flow).search = None;
        assert_eq!(reconciling(&mut flow), 0);
    }

    #[test]
    fn a_spent_page_budget_stops_the_run_instead_of_guessing() {
        let mut flow = flow_of(&[quote("Q1")]);
        flow.options.max_lookup_pages = 1;
        begin(&mut flow);
        assert!(
            search(&mut flow, Domain::Customer, "C9", false).is_err(),
            "page 1 is requested"
        );
        flow.index.feed(Domain::Customer, 1, &firms_page(&[1, 2], 3));
        assert!(
            !matches!(search(&mut flow, Domain::Customer, "C9", false), Err(Step::Stop(_))),
            "a pass's first page is not counted: page 3 is requested"
        );
        flow.index.feed(Domain::Customer, 3, &firms_page(&[5, 6], 3));
        match search(&mut flow, Domain::Customer, "C9", false) {
            Err(Step::Stop(error)) => {
                assert_eq!(
                    (error.class.as_str(), error.code.as_str()),
                    ("deferred", "deferred.index_budget")
                );
            }
            _ => panic!("expected the run to stop"),
        }
        assert_eq!(flow.index.next_page("firms"), Some(2), "the pass goes on next run");
    }

    #[test]
    fn a_document_links_the_firm_of_its_customer() {
        let mut flow = flow_of(&[invoice("F1", "O1", &[("P1", "1")])]);
        put_order(&mut flow, "O1", "confirmed", &[]);
        put_done(&mut flow, Domain::Customer, "C1", 21);
        begin(&mut flow);
        link(&mut flow, Domain::Order, "O1", Some(400));
        link(&mut flow, Domain::Product, "P1", Some(31));
        let links = &flow.engine.run.as_ref().unwrap().links;
        assert_eq!(links.firm_id, Some(21));
        assert_eq!(links.product_ids.get("P1"), Some(&31));
    }
}
