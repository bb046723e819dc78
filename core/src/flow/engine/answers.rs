//! incwo's answers to requests that succeeded: a list page feeds the scan,
//! a create or an update is recorded in the ledger, a status change is
//! applied, and a document read back is compared with what was written
//! (its marker, status and totals); a difference quarantines the record.

use super::lookup::{link, marker};
use super::outputs::finish;
use super::status::{progress_id, status_name};
use super::write::{body_for, mark_created};
use super::{entry, entry_mut, pop, quarantine, run, Purpose, Step};
use crate::adapters::{Adapter, Found};
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
        Purpose::Lookup(domain, page) => match Adapter::new(domain).parse_page(&response.body) {
            Ok(listing) => flow.index.feed(domain, page, &listing),
            Err(e) => parse_failure(
                flow,
                format!("a {} list page could not be read: {e}", domain.resource()),
            ),
        },
        Purpose::Create(domain, external_id) => {
            let adapter = Adapter::new(domain);
            match adapter.parse_one(&response.body) {
                Ok(item) => {
                    let id = item.id();
                    let (marker, found) = adapter.marked(&item).unwrap_or_else(|| {
                        let found = Found {
                            id,
                            progress_id: None,
                            firm_id: None,
                            sheet_type: None,
                        };
                        (marker(domain, &external_id), found)
                    });
                    flow.index.record(domain, marker.trim(), found);
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
                e.pending_status = None;
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
                        if e.status.as_deref() != Some(status.as_str()) || e.pending_status.is_some() {
                            // What incwo holds is known: no change of ours is in flight.
                            e.status = Some(status);
                            e.pending_status = None;
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::flow::ledger::EntryState;
    use crate::mapping::totals::Totals;

    fn sheet(title: &str, progress: u64, totals: (&str, &str, &str)) -> Item {
        let xml = format!(
            "<proposal_sheet><id>400</id><title>{title}</title><progress_id>{progress}</progress_id>\
             <vat_exl_total>{}</vat_exl_total><vat_cost>{}</vat_cost><vat_inc_total>{}</vat_inc_total></proposal_sheet>",
            totals.0, totals.1, totals.2
        );
        Adapter::new(Domain::Order)
            .parse_one(xml.as_bytes())
            .expect("a proposal sheet")
    }

    /// A flow whose ledger holds order O1: confirmed, 20.00 + 4.00 = 24.00.
    fn written() -> Flow {
        let mut flow = flow_of(&[order("O1", None, &[("P1", "2")])]);
        put_order(&mut flow, "O1", "confirmed", &[]);
        let mut e = entry(&flow, Domain::Order, "O1").cloned().unwrap();
        e.totals = Some(Totals {
            excl_tax: dec("20"),
            vat: dec("4"),
            incl_tax: dec("24"),
            by_tax: vec![],
            lines: vec![],
        });
        flow.state.ledger.put(e);
        flow
    }

    #[test]
    fn a_document_read_back_as_written_matches_whatever_the_decimal_scale() {
        let flow = written();
        let confirmed = flow.profile.statuses.order["confirmed"];
        let item = sheet(" O1 ", confirmed, ("20.00", "4.0", "24.000"));
        assert_eq!(compare(&flow, Domain::Order, "O1", &item), Ok(()));
        assert_eq!(item.id(), 400);
    }

    #[test]
    fn each_difference_is_reported_with_what_was_expected() {
        let flow = written();
        let delivered = flow.profile.statuses.order["delivered"];
        let confirmed = flow.profile.statuses.order["confirmed"];
        let gap = compare(
            &flow,
            Domain::Order,
            "O1",
            &sheet("O2", delivered, ("20.00", "4.00", "24.01")),
        )
        .expect_err("three differences");
        let keys: Vec<&String> = gap.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["inclTax", "progressId", "title"]);
        assert_eq!(gap["title"], serde_json::json!({"expected": "O1", "actual": "O2"}));
        assert_eq!(gap["progressId"]["expected"], confirmed);
        assert_eq!(gap["inclTax"], serde_json::json!({"expected": "24", "actual": "24.01"}));
    }

    #[test]
    fn a_credit_note_is_expected_under_its_invoices_marker() {
        let mut flow = flow_of(&[]);
        put_done(&mut flow, Domain::CreditNote, "F1", 9);
        let xml = "<bill_sheet><id>9</id><title>F1</title></bill_sheet>";
        let item = Adapter::new(Domain::CreditNote).parse_one(xml.as_bytes()).unwrap();
        let gap = compare(&flow, Domain::CreditNote, "F1", &item).unwrap_err();
        assert_eq!(gap["title"]["expected"], "F1-credit");
    }

    #[test]
    fn a_gap_quarantines_the_record_and_is_counted() {
        let mut flow = written();
        begin(&mut flow);
        let body = "<proposal_sheet><id>400</id><title>O1</title></proposal_sheet>";
        on_success(
            &mut flow,
            Purpose::Read(Domain::Order, "O1".into()),
            &answer(200, body),
            0,
        );
        match outcome(&flow, 0) {
            Some(Outcome::Quarantined { error }) => {
                assert_eq!(error.code, "business.reconciliation_gap");
                assert!(error.details.as_ref().is_some_and(|d| d.get("inclTax").is_some()));
            }
            other => panic!("expected a quarantine, got {other:?}"),
        }
        let metrics = flow.metrics().render_prometheus();
        assert!(
            metrics.contains("reconciliation_gap_total{domain=\"order\"} 1"),
            "{metrics}"
        );
    }

    #[test]
    fn an_unreadable_answer_is_a_technical_quarantine() {
        let mut flow = flow_of(&[order("O1", None, &[("P1", "2")])]);
        begin(&mut flow);
        on_success(
            &mut flow,
            Purpose::Create(Domain::Order, "O1".into()),
            &answer(200, "<nope"),
            0,
        );
        match outcome(&flow, 0) {
            Some(Outcome::Quarantined { error }) => {
                assert_eq!(
                    (error.class.as_str(), error.code.as_str()),
                    ("technical", "incwo.unreadable_response")
                );
            }
            other => panic!("expected a quarantine, got {other:?}"),
        }
    }

    #[test]
    fn a_created_object_is_done_with_the_id_incwo_gave() {
        let mut flow = flow_of(&[order("O1", None, &[("P1", "2")])]);
        begin(&mut flow);
        let body = "<proposal_sheet><id>4321</id><title>O1</title></proposal_sheet>";
        on_success(
            &mut flow,
            Purpose::Create(Domain::Order, "O1".into()),
            &answer(201, body),
            0,
        );
        let e = entry(&flow, Domain::Order, "O1").unwrap();
        assert_eq!((e.state, e.incwo_id), (EntryState::Done, Some(4321)));
        assert!(e.totals.is_some(), "the mapped totals, for the read-back");
        assert!(flow.engine.run.as_ref().unwrap().did_work);
    }

    #[test]
    fn a_read_back_is_skipped_when_off_or_verified() {
        let mut flow = written();
        begin(&mut flow);
        assert!(matches!(
            read_back(&mut flow, Domain::Order, "O1"),
            Step::Send(Purpose::Read(..), _)
        ));
        flow.options.read_back = false;
        assert!(matches!(read_back(&mut flow, Domain::Order, "O1"), Step::Continue));
        flow.options.read_back = true;
        entry_mut(&mut flow, Domain::Order, "O1").unwrap().verified = true;
        assert!(matches!(read_back(&mut flow, Domain::Order, "O1"), Step::Continue));
    }

    #[test]
    fn a_refused_status_change_records_the_status_incwo_holds_then_ends_refused() {
        let mut flow = written();
        begin(&mut flow);
        let delivered = flow.profile.statuses.order["delivered"];
        let refusal = Box::new(ErrorInfo::business("business.conflict", "no"));
        let body = format!("<proposal_sheet><id>400</id><progress_id>{delivered}</progress_id></proposal_sheet>");
        on_success(
            &mut flow,
            Purpose::Refresh(Domain::Order, "O1".into(), refusal),
            &answer(200, &body),
            3,
        );
        assert_eq!(
            entry(&flow, Domain::Order, "O1").unwrap().status.as_deref(),
            Some("delivered")
        );
        assert!(matches!(outcome(&flow, 0), Some(Outcome::Quarantined { error }) if error.code == "business.conflict"));
    }
}
