//! Sheet types: which proposal-sheet `sheet_type` is the quote, the order
//! and the delivery note. `proposal` is the documented quote type; the
//! others are recognised by their name (order, commande / deliver, livraison)
//! or by their most used reference prefix (`D…`, `C…`, `BL…`).

use serde_json::{json, Value};

use super::observe::Observations;
use super::unknown;

/// The `sheetTypes` of the profile (quote, order, delivery; unknown when not
/// recognised) and the `sheetTypes` report, from the slots of
/// [`classify_sheet_types`].
pub(super) fn propose_sheet_types(obs: &Observations, types: &[Option<String>; 3]) -> (Value, Value) {
    let type_value = |slot: &Option<String>, what: &str| {
        match slot {
        Some(t) => json!(t),
        None => unknown(format!(
            "no {what} sheet_type recognised among the proposal_sheets read ({}); open a {what} in incwo, list proposal_sheets and put its sheet_type here",
            obs.proposal_types.keys().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
        )),
    }
    };
    let sheet_types = json!({
        "quote": type_value(&types[0], "quote"),
        "order": type_value(&types[1], "order"),
        "delivery": type_value(&types[2], "delivery note"),
    });
    let report = json!({
        "proposal_sheets": obs.proposal_types.iter().map(|(t, s)| json!({
            "sheetType": t, "count": s.count, "examples": s.examples,
            "proposedAs": slot_name(types, t),
        })).collect::<Vec<_>>(),
        "bill_sheets": obs.bill_types.iter().map(|(t, s)| json!({"sheetType": t, "count": s.count, "examples": s.examples})).collect::<Vec<_>>(),
    });
    (sheet_types, report)
}

/// Which slot (quote, order, delivery) a sheet type was proposed for.
fn slot_name(slots: &[Option<String>; 3], sheet_type: &str) -> Option<&'static str> {
    ["quote", "order", "delivery"]
        .into_iter()
        .zip(slots)
        .find(|(_, slot)| slot.as_deref() == Some(sheet_type))
        .map(|(name, _)| name)
}

/// The quote, order and delivery `sheet_type`s among the proposal sheets seen.
pub(super) fn classify_sheet_types(obs: &Observations) -> [Option<String>; 3] {
    let mut slots: [Option<String>; 3] = [None, None, None];
    let prefix_of = |t: &str| {
        obs.proposal_prefixes
            .get(t)
            .and_then(|m| m.iter().max_by_key(|(_, n)| **n).map(|(p, _)| p.to_ascii_uppercase()))
            .unwrap_or_default()
    };
    for t in obs.proposal_types.keys().filter(|t| !t.is_empty()) {
        let lower = t.to_ascii_lowercase();
        let prefix = prefix_of(t);
        let slot = if lower == "proposal" || lower == "quote" || lower.contains("devis") {
            0
        } else if lower.contains("order") || lower.contains("command") {
            1
        } else if lower.contains("deliver") || lower.contains("livr") {
            2
        } else if prefix == "D" {
            0
        } else if prefix == "C" {
            1
        } else if prefix == "BL" {
            2
        } else {
            continue;
        };
        if slots[slot].is_none() {
            slots[slot] = Some(t.clone());
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::test_support::{observed, sheet};
    use crate::views::Resource;

    #[test]
    fn types_are_recognised_by_name_then_by_reference_prefix() {
        let by_name = observed(
            Resource::ProposalSheets,
            &format!(
                "{}{}{}",
                sheet(1, "devis", 1, "X1", ""),
                sheet(2, "Commande", 1, "X2", ""),
                sheet(3, "livraison", 1, "X3", "")
            ),
        );
        assert_eq!(
            classify_sheet_types(&by_name),
            [Some("devis".into()), Some("Commande".into()), Some("livraison".into())]
        );
        let by_prefix = observed(
            Resource::ProposalSheets,
            &format!(
                "{}{}{}",
                sheet(1, "t1", 1, "D0001", ""),
                sheet(2, "t2", 1, "C0002", ""),
                sheet(3, "t3", 1, "BL0003", "")
            ),
        );
        let types = classify_sheet_types(&by_prefix);
        assert_eq!(types, [Some("t1".into()), Some("t2".into()), Some("t3".into())]);
        assert_eq!(slot_name(&types, "t3"), Some("delivery"));
        assert_eq!(slot_name(&types, "other"), None);
    }

    #[test]
    fn unrecognised_types_are_unknown_and_reported() {
        let obs = observed(Resource::ProposalSheets, &sheet(1, "proposal", 1, "Z1", ""));
        let types = classify_sheet_types(&obs);
        let (sheet_types, report) = propose_sheet_types(&obs, &types);
        assert_eq!(sheet_types["quote"], "proposal");
        let hint = sheet_types["order"][crate::mapping::UNKNOWN].as_str().unwrap();
        assert!(
            hint.contains("no order sheet_type recognised") && hint.contains("\"proposal\""),
            "{hint}"
        );
        assert!(sheet_types["delivery"][crate::mapping::UNKNOWN].is_string());
        assert_eq!(report["proposal_sheets"][0]["proposedAs"], "quote");
        assert_eq!(report["bill_sheets"], json!([]));
    }
}
