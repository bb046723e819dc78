//! Assembles the proposed profile and its report from what each concern
//! established (taxes, currencies, warehouses, sheet types, statuses), and
//! lists every value left unknown.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::currency::propose_currencies;
use super::observe::Observations;
use super::sheet_types::{classify_sheet_types, propose_sheet_types};
use super::statuses::propose_statuses;
use super::vat::propose_taxes;
use super::warehouse::propose_warehouses;
use crate::mapping::{Profile, ProfileProblem};

/// Options of a discovery: what the data cannot tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverOptions {
    /// The proposed profile's name.
    pub name: String,
    /// ISO 4217 code of the business file's currency (the most used currency id).
    pub file_currency: String,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            name: "discovered".into(),
            file_currency: "EUR".into(),
        }
    }
}

/// A proposed profile and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// The proposed profile (the [`Profile`] JSON format), unknowns marked.
    pub profile: Value,
    /// What was read and seen, value by value, with how each was established.
    pub report: Value,
    /// Every value left unknown: its JSON pointer and what to do.
    pub unknowns: Vec<ProfileProblem>,
}

impl Discovery {
    /// True when the profile has no unknown and passes [`Profile::from_json`].
    pub fn is_complete(&self) -> bool {
        self.unknowns.is_empty() && Profile::from_json(&self.profile.to_string()).is_ok()
    }
}

/// Proposes a profile from what was observed.
pub fn propose(obs: &Observations, options: &DiscoverOptions) -> Discovery {
    let defaults = Profile::default();
    let mut report = Map::new();
    report.insert("pagesRead".into(), json!(obs.pages));
    report.insert("truncated".into(), json!(obs.truncated));

    let (taxes, vat_report) = propose_taxes(obs);
    report.insert("vat".into(), vat_report);

    let file_currency = options.file_currency.to_ascii_uppercase();
    let (currencies, currency_report) = propose_currencies(obs, &file_currency);
    report.insert("currencies".into(), currency_report);

    let (warehouses, warehouse_report) = propose_warehouses(obs);
    report.insert("warehouses".into(), warehouse_report);

    let types = classify_sheet_types(obs);
    let (sheet_types, sheet_type_report) = propose_sheet_types(obs, &types);
    report.insert("sheetTypes".into(), sheet_type_report);

    let (statuses, status_report) = propose_statuses(obs, &types, &defaults);
    report.insert("statuses".into(), status_report);

    let ascending = obs.lists.values().all(|l| l.ascending);
    report.insert("lists".into(), json!(obs.lists));
    let profile = json!({
        "profileVersion": crate::mapping::PROFILE_VERSION,
        "name": options.name,
        "mapperVersion": 1,
        "taxes": taxes,
        "currencies": currencies,
        "defaultCurrency": file_currency,
        "warehouses": warehouses,
        "sheetTypes": sheet_types,
        "invoiceMode": "draft",
        "vatRounding": "perRate",
        "strictVatNumbers": false,
        "statuses": statuses,
        "contactItemTypes": {"email": defaults.contact_item_types.email, "phone": defaults.contact_item_types.phone},
        "limits": {"maxInputBytes": defaults.limits.max_input_bytes},
        "lists": {"order": if ascending { "ascending" } else { "unknown" }},
    });
    let unknowns = crate::mapping::unknown_values(&profile);
    report.insert("unknowns".into(), json!(unknowns));
    Discovery {
        profile,
        report: Value::Object(report),
        unknowns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::test_support::{line, page, sheet};
    use crate::views::Resource;

    #[test]
    fn a_partial_account_leaves_explicit_unknowns_with_hints() {
        let mut obs = Observations::new();
        let lines = format!("{}{}", line(9020, "99.99", "20.00"), line(9055, "33.33", "1.83"));
        let xml = page(
            "proposal_sheets",
            &format!(
                "{}{}",
                sheet(1, "proposal", 71001, "D00001", &lines),
                sheet(2, "commande", 72001, "C00001", &lines)
            ),
        );
        assert_eq!(obs.add_page(Resource::ProposalSheets, &xml).unwrap(), None);
        let d = propose(&obs, &DiscoverOptions::default());
        assert_eq!(d.profile["taxes"]["TVA20"], json!({"rate": "0.2", "vatValueId": 9020}));
        assert_eq!(d.profile["taxes"]["TVA5_5"]["vatValueId"], 9055);
        assert_eq!(d.profile["currencies"]["EUR"]["id"], 41);
        assert_eq!(d.profile["sheetTypes"]["order"], "commande");
        let paths: Vec<&str> = d.unknowns.iter().map(|u| u.path.as_str()).collect();
        assert!(paths.contains(&"/sheetTypes/delivery"), "{paths:?}");
        assert!(paths.contains(&"/warehouses/MAIN"), "{paths:?}");
        assert!(paths.contains(&"/statuses/quote/accepted"), "{paths:?}");
        assert!(paths.contains(&"/statuses/invoice/paid"), "{paths:?}");
        let hint = &d
            .unknowns
            .iter()
            .find(|u| u.path == "/statuses/quote/accepted")
            .unwrap()
            .message;
        assert!(hint.contains("71001 (1 seen, e.g. D00001)"), "{hint}");
        assert!(!d.is_complete());
        assert_eq!(d.profile["lists"], json!({"order": "ascending"}));
        assert_eq!(d.report["lists"]["proposal_sheets"]["largestPage"], 2);
        let err = Profile::from_json(&d.profile.to_string()).unwrap_err();
        assert_eq!(err.problems.len(), d.unknowns.len());
    }

    #[test]
    fn pages_whose_ids_do_not_ascend_propose_the_unknown_list_order() {
        let mut obs = Observations::new();
        let lines = line(9020, "99.99", "20.00");
        for ids in [[5, 9], [2, 3]] {
            let sheets: String = ids
                .iter()
                .map(|&id| sheet(id, "proposal", 71001, "D1", &lines))
                .collect();
            obs.add_page(Resource::ProposalSheets, &page("proposal_sheets", &sheets))
                .unwrap();
        }
        let d = propose(&obs, &DiscoverOptions::default());
        assert_eq!(d.profile["lists"], json!({"order": "unknown"}));
        assert_eq!(d.report["lists"]["proposal_sheets"]["ascending"], false);
    }
}
