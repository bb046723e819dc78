//! Statuses: which incwo status id (`progress_id`) is which profile status,
//! per document type. The documented defaults when the ids seen are those;
//! else, when exactly as many ids are seen as the profile has statuses for
//! the type, ascending ids in the profile's order (incwo numbers a label list
//! in its order: 555 draft … 559 postponed on quotes); else unknown, with the
//! ids seen and an example of each in the hint.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::observe::{Observations, Seen};
use super::{unknown, EXAMPLES};
use crate::mapping::Profile;

const QUOTE_STATUSES: &[&str] = &["draft", "sent", "accepted", "refused", "expired"];
const ORDER_STATUSES: &[&str] = &["confirmed", "partiallyDelivered", "delivered", "cancelled"];
const INVOICE_STATUSES: &[&str] = &["draft", "issued", "partiallyPaid", "paid", "cancelled"];

/// The `statuses` of the profile (quote, order, invoice) and the `statuses`
/// report, from the status ids seen on the documents of each type (`types`
/// are the quote, order and delivery sheet types) and the `defaults` profile.
pub(super) fn propose_statuses(obs: &Observations, types: &[Option<String>; 3], defaults: &Profile) -> (Value, Value) {
    let mut statuses = Map::new();
    let mut status_report = Map::new();
    for (doc, names, default_table, sources) in [
        (
            "quote",
            QUOTE_STATUSES,
            &defaults.statuses.quote,
            types[0]
                .iter()
                .map(|t| ("proposal_sheets", t.clone()))
                .collect::<Vec<_>>(),
        ),
        (
            "order",
            ORDER_STATUSES,
            &defaults.statuses.order,
            types[1].iter().map(|t| ("proposal_sheets", t.clone())).collect(),
        ),
        (
            "invoice",
            INVOICE_STATUSES,
            &defaults.statuses.invoice,
            vec![
                ("bill_sheets", "invoice_maybe".to_string()),
                ("bill_sheets", "invoice".to_string()),
            ],
        ),
    ] {
        let mut seen: BTreeMap<u64, Seen> = BTreeMap::new();
        for key in &sources {
            for (id, s) in obs.progress.get(key).into_iter().flatten() {
                let slot = seen.entry(*id).or_default();
                slot.count += s.count;
                for e in &s.examples {
                    if slot.examples.len() < EXAMPLES {
                        slot.examples.push(e.clone());
                    }
                }
            }
        }
        let (table, evidence) = name_statuses(names, default_table, &seen);
        let mut out = Map::new();
        for name in names {
            let value = match table.get(*name) {
                Some(id) => json!(id),
                None if seen.is_empty() => unknown(format!(
                    "no {doc} was read, so no status id was seen; create one in incwo (or raise the page budget) and run the discovery again"
                )),
                None => unknown(format!(
                    "the {doc} status ids seen cannot be named: {}; open one example per id in incwo, read its status and put the id of the \"{name}\" status here",
                    seen_list(&seen)
                )),
            };
            out.insert((*name).to_string(), value);
        }
        statuses.insert(doc.into(), Value::Object(out));
        status_report.insert(
            doc.into(),
            json!({
                "evidence": evidence,
                "seen": seen.iter().map(|(id, s)| json!({
                    "progressId": id, "count": s.count, "examples": s.examples,
                    "proposedAs": table.iter().find(|(_, v)| **v == *id).map(|(k, _)| k.clone()),
                })).collect::<Vec<_>>(),
            }),
        );
    }
    (Value::Object(statuses), Value::Object(status_report))
}

/// The ids seen with their counts and examples, for a hint.
fn seen_list(values: &BTreeMap<u64, Seen>) -> String {
    values
        .iter()
        .map(|(id, s)| format!("{id} ({} seen, e.g. {})", s.count, s.examples.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Names status ids: documented defaults, else ascending ids when there are
/// exactly as many as names, else nothing.
fn name_statuses(
    names: &[&str],
    defaults: &BTreeMap<String, u64>,
    seen: &BTreeMap<u64, Seen>,
) -> (BTreeMap<String, u64>, &'static str) {
    if seen.is_empty() {
        return (BTreeMap::new(), "no document of this type was read");
    }
    let documented: BTreeMap<String, u64> = defaults
        .iter()
        .filter(|(_, id)| seen.contains_key(id))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if documented.len() == seen.len() {
        return (documented, "the ids seen are the documented defaults");
    }
    if seen.len() == names.len() {
        let table = names.iter().map(|n| n.to_string()).zip(seen.keys().copied()).collect();
        return (
            table,
            "as many ids as statuses: named in ascending id order (incwo numbers a label list in order); check one example per id in incwo",
        );
    }
    (
        BTreeMap::new(),
        "the ids seen are neither the documented defaults nor one per status",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::propose::{propose, DiscoverOptions};
    use crate::discover::test_support::{bill, line, observed, page, sheet};
    use crate::views::Resource;

    #[test]
    fn documented_ids_are_named_by_the_documented_defaults() {
        let mut obs = Observations::new();
        let lines = line(607, "10.00", "2.00");
        let items: String = [555u64, 556, 557, 558, 559]
            .iter()
            .enumerate()
            .map(|(i, p)| sheet(i as u64 + 1, "proposal", *p, &format!("D{i}"), &lines))
            .collect();
        obs.add_page(Resource::ProposalSheets, &page("proposal_sheets", &items))
            .unwrap();
        let d = propose(&obs, &DiscoverOptions::default());
        assert_eq!(d.profile["statuses"]["quote"]["accepted"], 557);
        assert_eq!(
            d.report["statuses"]["quote"]["evidence"],
            "the ids seen are the documented defaults"
        );
    }

    #[test]
    fn as_many_ids_as_statuses_are_named_in_ascending_order() {
        let seen = |ids: &[u64]| -> BTreeMap<u64, Seen> {
            ids.iter()
                .map(|id| {
                    let mut s = Seen::default();
                    s.add(format!("F{id}"));
                    (*id, s)
                })
                .collect()
        };
        let defaults = Profile::default();
        let (table, evidence) = name_statuses(
            INVOICE_STATUSES,
            &defaults.statuses.invoice,
            &seen(&[905, 901, 903, 902, 904]),
        );
        assert_eq!(table["draft"], 901);
        assert_eq!(table["cancelled"], 905);
        assert!(evidence.starts_with("as many ids as statuses"), "{evidence}");
        let (table, _) = name_statuses(INVOICE_STATUSES, &defaults.statuses.invoice, &seen(&[901, 902]));
        assert!(table.is_empty());
        let (table, evidence) = name_statuses(INVOICE_STATUSES, &defaults.statuses.invoice, &BTreeMap::new());
        assert!(table.is_empty());
        assert_eq!(evidence, "no document of this type was read");

        // Invoices are read from bill sheets of type invoice.
        let bills: String = [901u64, 902, 903, 904, 905]
            .iter()
            .map(|p| bill(*p, "invoice", *p, &format!("F{p}")))
            .collect();
        let obs = observed(Resource::BillSheets, &bills);
        let (statuses, report) = propose_statuses(&obs, &[None, None, None], &defaults);
        assert_eq!(statuses["invoice"]["paid"], 904);
        assert_eq!(report["invoice"]["seen"][3]["proposedAs"], "paid");
        let hint = statuses["order"]["confirmed"][crate::mapping::UNKNOWN]
            .as_str()
            .unwrap();
        assert!(hint.contains("no order was read"), "{hint}");
    }

    #[test]
    fn ids_that_cannot_be_named_are_listed_in_the_hint() {
        let lines = line(607, "10.00", "2.00");
        let items: String = [71u64, 72]
            .iter()
            .map(|p| sheet(*p, "proposal", *p, &format!("D{p}"), &lines))
            .collect();
        let obs = observed(Resource::ProposalSheets, &items);
        let d = propose(&obs, &DiscoverOptions::default());
        let hint = d.profile["statuses"]["quote"]["draft"][crate::mapping::UNKNOWN]
            .as_str()
            .unwrap();
        assert!(hint.contains("71 (1 seen, e.g. D71); 72 (1 seen, e.g. D72)"), "{hint}");
        assert_eq!(seen_list(&BTreeMap::new()), "");
    }
}
