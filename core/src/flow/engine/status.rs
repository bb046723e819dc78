//! Document statuses: their names and incwo `progress_id`s (the profile's
//! tables), status changes checked against the allowed transitions, and the
//! delivery status an order's quantities call for.

use super::tasks::Task;
use super::{entry, pop, quarantine, run, Purpose, Step};
use crate::adapters::Adapter;
use crate::flow::ledger::{Domain, PendingStatus, STATUS_LEASE_MS};
use crate::flow::transitions::{self, DocType};
use crate::flow::{ErrorInfo, Flow, Outcome};
use crate::mapping::Profile;

/// The status name of a document's `progress_id` in the profile.
pub(super) fn status_name(profile: &Profile, domain: Domain, progress_id: Option<u64>) -> Option<String> {
    let table = match domain {
        Domain::Quote => &profile.statuses.quote,
        Domain::Order => &profile.statuses.order,
        Domain::Invoice => &profile.statuses.invoice,
        _ => return None,
    };
    let id = progress_id?;
    table.iter().find(|(_, v)| **v == id).map(|(k, _)| k.clone())
}

/// The `progress_id` of a document status in the profile.
pub(super) fn progress_id(profile: &Profile, domain: Domain, status: &str) -> Option<u64> {
    match domain {
        Domain::Quote => profile.statuses.quote.get(status).copied(),
        Domain::Order => profile.statuses.order.get(status).copied(),
        Domain::Invoice => profile.statuses.invoice.get(status).copied(),
        _ => None,
    }
}

/// A document found in incwo (without a ledger entry) whose `progress_id`
/// the profile's statuses do not name: quarantined, since the flow could
/// neither compare nor move a status it cannot name. `None` when named (or
/// when the domain has no statuses).
pub(super) fn unnamed_status(flow: &Flow, domain: Domain, external_id: &str, progress_id: Option<u64>) -> Option<Step> {
    let id = progress_id?;
    if !matches!(domain, Domain::Quote | Domain::Order | Domain::Invoice)
        || status_name(&flow.profile, domain, Some(id)).is_some()
    {
        return None;
    }
    Some(quarantine(
        "business.unknown_status",
        format!(
            "{} {external_id} is in incwo with progress_id {id}, which the profile's {} statuses do not name",
            domain.as_str(),
            domain.as_str()
        ),
    ))
}

/// Records the status incwo holds for a document (when the profile names it).
pub(super) fn adopt_status(flow: &mut Flow, domain: Domain, external_id: &str, progress_id: Option<u64>) {
    let Some(status) = status_name(&flow.profile, domain, progress_id) else {
        return;
    };
    if let Some(mut e) = entry(flow, domain, external_id).cloned() {
        e.status = Some(status);
        flow.state.ledger.put(e);
    }
}

/// Moves a document to `status`: nothing when it is there, a deferral while
/// another run's status change of it is in flight, a quarantine when the
/// transition is forbidden, else the update of its `progress_id`.
pub(super) fn set_status(flow: &mut Flow, domain: Domain, external_id: &str, status: &'static str, now: u64) -> Step {
    let Some(mut e) = entry(flow, domain, external_id).cloned() else {
        return quarantine(
            "business.unknown_document",
            format!("{} {external_id} is not in the ledger", domain.as_str()),
        );
    };
    if e.status.as_deref() == Some(status) {
        return pop(flow);
    }
    if let Some(deferred) = held_back(flow, &e, now) {
        return Step::Finish(deferred);
    }
    let doc = match domain {
        Domain::Quote => DocType::Quote,
        Domain::Order => DocType::Order,
        _ => DocType::Invoice,
    };
    if let Some(from) = e.status.as_deref() {
        if let Err(err) = transitions::check(doc, from, status) {
            let code = if status == "cancelled" && from == "cancelled" {
                "business.already_cancelled"
            } else {
                "business.invalid_transition"
            };
            return quarantine(code, format!("{} {external_id}: {err}", domain.as_str()));
        }
    }
    let (Some(id), Some(progress)) = (e.incwo_id, progress_id(&flow.profile, domain, status)) else {
        return quarantine(
            "business.unknown_status",
            format!("the profile has no progress_id for {} status {status}", domain.as_str()),
        );
    };
    let root = if domain.resource() == "bill_sheets" {
        "bill_sheet"
    } else {
        "proposal_sheet"
    };
    let body = format!("<{root}><progress_id>{progress}</progress_id></{root}>");
    let correlation_id = run(flow).correlation_id.clone();
    match Adapter::new(domain).update(&flow.config, id, &body, &correlation_id, None) {
        Ok(request) => {
            // The entry is saved again before the change leaves, marked with
            // the status asked for: a store that checks each entry's version
            // then refuses a run whose view of the document is stale
            // (another writer changed it meanwhile) before its status change
            // can undo the other's in incwo, and while the mark stands no
            // other run sends a status change of this document.
            e.pending_status = Some(PendingStatus {
                status: status.to_string(),
                run: flow.state.run_id,
            });
            e.updated_at = now;
            flow.state.ledger.put(e);
            Step::Send(Purpose::Status(domain, external_id.to_string(), status), request)
        }
        Err(e) => quarantine("usage.request", e.to_string()),
    }
}

/// The deferral of a status change while another run's change of the same
/// document is in flight: its `pending_status` mark, not this flow's own,
/// younger than [`STATUS_LEASE_MS`]. Its outcome is unknown until that run
/// records the answer; sending ours now could land first and then be undone
/// by the older one. Past the lease the other run is taken as gone.
fn held_back(flow: &Flow, e: &crate::flow::ledger::Entry, now: u64) -> Option<Outcome> {
    let pending = e.pending_status.as_ref()?;
    let not_before = e.updated_at.saturating_add(STATUS_LEASE_MS);
    if pending.run == flow.state.run_id || now >= not_before {
        return None;
    }
    Some(Outcome::Deferred {
        not_before,
        error: ErrorInfo {
            class: "deferred".into(),
            code: "deferred.status_in_flight".into(),
            message: format!(
                "another run's change of {} {} to {} is in flight (its outcome unknown); this status change waits until that run records it",
                e.domain.as_str(),
                e.external_id,
                pending.status
            ),
            violations: Vec::new(),
            details: None,
        },
    })
}

/// The delivery status an order's line quantities call for, if any.
fn delivery_target(flow: &Flow, order: &str) -> Option<&'static str> {
    let e = entry(flow, Domain::Order, order)?;
    let delivered_any = e.lines.values().any(|l| !l.delivered.is_zero());
    let all = !e.lines.is_empty() && e.lines.values().all(|l| l.delivered >= l.ordered);
    let target = match (all, delivered_any) {
        (true, _) => "delivered",
        (false, true) => "partiallyDelivered",
        (false, false) => return None,
    };
    let unchanged = e.status.as_deref() == Some(target) || e.status.as_deref() == Some("cancelled");
    (!unchanged).then_some(target)
}

/// Replaces itself with the status change the order's quantities call for
/// (none when the order is there already, or cancelled).
pub(super) fn sync_delivery(flow: &mut Flow, order: &str) -> Step {
    let Some(target) = delivery_target(flow, order) else {
        return pop(flow);
    };
    let r = run(flow);
    r.tasks.pop_front();
    r.tasks
        .push_front(Task::SetStatus(Domain::Order, order.to_string(), target));
    Step::Continue
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::flow::Outcome;

    #[test]
    fn status_names_and_progress_ids_are_the_profiles_tables_both_ways() {
        let profile = Profile::default();
        for (domain, table) in [
            (Domain::Quote, &profile.statuses.quote),
            (Domain::Order, &profile.statuses.order),
            (Domain::Invoice, &profile.statuses.invoice),
        ] {
            assert!(!table.is_empty());
            for (name, id) in table {
                assert_eq!(progress_id(&profile, domain, name), Some(*id), "{name}");
                assert_eq!(status_name(&profile, domain, Some(*id)).as_deref(), Some(name.as_str()));
            }
        }
        assert_eq!(profile.statuses.quote.get("accepted"), Some(&557));
        assert_eq!(
            status_name(&profile, Domain::Quote, Some(557)).as_deref(),
            Some("accepted")
        );
        assert_eq!(status_name(&profile, Domain::Quote, Some(1)), None, "unknown id");
        assert_eq!(status_name(&profile, Domain::Quote, None), None);
        assert_eq!(progress_id(&profile, Domain::Order, "nonsense"), None);
        assert_eq!(
            progress_id(&profile, Domain::Product, "accepted"),
            None,
            "not a document"
        );
        assert_eq!(status_name(&profile, Domain::CreditNote, Some(557)), None);
    }

    fn quarantined(step: Step) -> String {
        match step {
            Step::Finish(Outcome::Quarantined { error }) => error.code,
            _ => panic!("expected a quarantine"),
        }
    }

    #[test]
    fn a_status_change_sends_only_the_progress_id() {
        let mut flow = flow_of(&[cancellation("O1")]);
        put_order(&mut flow, "O1", "confirmed", &[]);
        begin(&mut flow);
        let Step::Send(Purpose::Status(Domain::Order, id, "cancelled"), request) =
            set_status(&mut flow, Domain::Order, "O1", "cancelled", 0)
        else {
            panic!("expected the status update");
        };
        assert_eq!(id, "O1");
        assert_eq!(request.method().as_str(), "PUT");
        assert_eq!(request.endpoint(), "/proposal_sheets/{id}.xml");
        let progress = flow.profile.statuses.order["cancelled"];
        assert_eq!(
            String::from_utf8_lossy(request.body()),
            format!("<proposal_sheet><progress_id>{progress}</progress_id></proposal_sheet>")
        );
    }

    #[test]
    fn a_forbidden_or_repeated_status_change_is_refused_before_sending() {
        let mut flow = flow_of(&[cancellation("O1")]);
        begin(&mut flow);
        assert_eq!(
            quarantined(set_status(&mut flow, Domain::Order, "O1", "cancelled", 0)),
            "business.unknown_document"
        );
        put_order(&mut flow, "O1", "cancelled", &[]);
        assert!(
            matches!(
                set_status(&mut flow, Domain::Order, "O1", "cancelled", 0),
                Step::Continue
            ),
            "already there"
        );
        put_order(&mut flow, "O1", "delivered", &[]);
        assert_eq!(
            quarantined(set_status(&mut flow, Domain::Order, "O1", "confirmed", 0)),
            "business.invalid_transition"
        );
        let mut e = put_done(&mut flow, Domain::Invoice, "F1", 9);
        e.status = Some("cancelled".into());
        flow.state.ledger.put(e);
        assert_eq!(
            quarantined(set_status(&mut flow, Domain::Invoice, "F1", "issued", 0)),
            "business.invalid_transition"
        );
    }

    #[test]
    fn another_runs_status_change_in_flight_holds_this_one_back_until_its_lease_ends() {
        let mut flow = flow_of(&[cancellation("O1")]);
        put_order(&mut flow, "O1", "confirmed", &[]);
        let mut e = entry(&flow, Domain::Order, "O1").cloned().unwrap();
        // Another run sent "delivered" at t = 1,000 and has not recorded its answer.
        e.pending_status = Some(PendingStatus {
            status: "delivered".into(),
            run: flow.state.run_id ^ 1,
        });
        e.updated_at = 1_000;
        flow.state.ledger.put(e);
        begin(&mut flow);
        match set_status(&mut flow, Domain::Order, "O1", "cancelled", 1_000 + STATUS_LEASE_MS - 1) {
            Step::Finish(Outcome::Deferred { not_before, error }) => {
                assert_eq!(not_before, 1_000 + STATUS_LEASE_MS);
                assert_eq!(
                    (error.class.as_str(), error.code.as_str()),
                    ("deferred", "deferred.status_in_flight")
                );
                assert!(error.message.contains("O1") && error.message.contains("delivered"));
            }
            _ => panic!("expected a deferral"),
        }
        // Past the lease the other run is gone: this change goes, marked as ours.
        let now = 1_000 + STATUS_LEASE_MS;
        assert!(matches!(
            set_status(&mut flow, Domain::Order, "O1", "cancelled", now),
            Step::Send(Purpose::Status(Domain::Order, _, "cancelled"), _)
        ));
        let e = entry(&flow, Domain::Order, "O1").unwrap();
        let mark = e.pending_status.clone().unwrap();
        assert_eq!(
            (mark.status.as_str(), mark.run, e.updated_at),
            ("cancelled", flow.state.run_id, now)
        );
        // Its own mark does not hold this run back (a retry, a later record),
        // nor the same run resumed from its checkpoint after a crash.
        assert!(matches!(
            set_status(&mut flow, Domain::Order, "O1", "cancelled", now + 1),
            Step::Send(..)
        ));
        let mut resumed = crate::flow::Flow::resume(
            &flow.checkpoint(),
            flow.items.clone(),
            flow.profile.clone(),
            flow.config.clone(),
            flow.options.clone(),
            now + 2,
        )
        .unwrap();
        assert_eq!(resumed.state.run_id, flow.state.run_id);
        begin(&mut resumed);
        assert!(matches!(
            set_status(&mut resumed, Domain::Order, "O1", "cancelled", now + 2),
            Step::Send(..)
        ));
    }

    #[test]
    fn an_orders_quantities_call_for_its_delivery_status() {
        for (status, lines, expected) in [
            (
                "confirmed",
                vec![("P1", "10", "10", "0"), ("P2", "1", "2", "0")],
                Some("delivered"),
            ),
            (
                "confirmed",
                vec![("P1", "10", "3", "0"), ("P2", "1", "0", "0")],
                Some("partiallyDelivered"),
            ),
            ("partiallyDelivered", vec![("P1", "10", "3", "0")], None),
            ("confirmed", vec![("P1", "10", "0", "0")], None),
            ("cancelled", vec![("P1", "10", "10", "0")], None),
            ("confirmed", vec![], None),
        ] {
            let mut flow = flow_of(&[movement("M1", "-1", "sale", Some("O1"))]);
            put_order(&mut flow, "O1", status, &lines);
            assert_eq!(delivery_target(&flow, "O1"), expected, "{status} {lines:?}");
            begin(&mut flow);
            run(&mut flow).tasks = [Task::SyncDelivery("O1".into())].into();
            assert!(matches!(sync_delivery(&mut flow, "O1"), Step::Continue));
            let next: Vec<Task> = flow.engine.run.as_ref().unwrap().tasks.clone().into();
            match expected {
                Some(target) => assert_eq!(next, [Task::SetStatus(Domain::Order, "O1".into(), target)]),
                None => assert!(next.is_empty()),
            }
        }
    }

    #[test]
    fn run_ids_fit_in_a_double_for_every_host() {
        for seed in [0, 1, 7, u64::MAX, 1 << 63, 0x1234_5678_9abc_def0] {
            for now in [0, 1_700_000_000_000, u64::MAX] {
                let base = flow_of(&[]);
                let flow = crate::flow::Flow::start(Vec::new(), base.profile, base.config, base.options, now, seed);
                assert!(flow.state.run_id < 1 << 53, "seed {seed}, now {now}");
            }
        }
    }

    #[test]
    fn a_found_document_whose_status_the_profile_does_not_name_is_quarantined() {
        let flow = flow_of(&[]);
        let delivered = flow.profile.statuses.order["delivered"];
        assert!(unnamed_status(&flow, Domain::Order, "O1", Some(delivered)).is_none());
        assert!(unnamed_status(&flow, Domain::Order, "O1", None).is_none());
        assert!(unnamed_status(&flow, Domain::Customer, "C1", Some(1)).is_none());
        match unnamed_status(&flow, Domain::Order, "O1", Some(999_999)) {
            Some(Step::Finish(Outcome::Quarantined { error })) => {
                assert_eq!(error.code, "business.unknown_status");
                assert!(error.message.contains("999999"), "{}", error.message);
            }
            _ => panic!("expected a quarantine"),
        }
    }

    #[test]
    fn the_status_incwo_holds_is_adopted_when_the_profile_names_it() {
        let mut flow = flow_of(&[]);
        put_order(&mut flow, "O1", "confirmed", &[]);
        let delivered = flow.profile.statuses.order["delivered"];
        adopt_status(&mut flow, Domain::Order, "O1", Some(999_999));
        assert_eq!(
            entry(&flow, Domain::Order, "O1").unwrap().status.as_deref(),
            Some("confirmed")
        );
        adopt_status(&mut flow, Domain::Order, "O1", Some(delivered));
        assert_eq!(
            entry(&flow, Domain::Order, "O1").unwrap().status.as_deref(),
            Some("delivered")
        );
    }
}
