//! Currency: the most used currency id is the business file's currency
//! (the code given in the options, EUR unless told).

use serde_json::{json, Map, Value};

use super::observe::{Observations, Seen};
use super::unknown;

/// The `currencies` of the profile (the file currency, keyed by its code) and
/// the `currencies` report (every id seen, most used first).
pub(super) fn propose_currencies(obs: &Observations, file_currency: &str) -> (Value, Value) {
    let mut currencies = Map::new();
    let mut by_use: Vec<(&u64, &Seen)> = obs.currencies.iter().collect();
    by_use.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    match by_use.first() {
        Some((id, _)) => {
            currencies.insert(file_currency.to_owned(), json!({"id": id, "minorDigits": 2}));
        }
        None => {
            currencies.insert(
                file_currency.to_owned(),
                json!({"id": unknown("no product or document carries a currency id; read one in incwo"), "minorDigits": 2}),
            );
        }
    }
    let report = Value::Array(
        by_use
            .iter()
            .enumerate()
            .map(|(i, (id, s))| {
                json!({"id": id, "count": s.count, "examples": s.examples,
                        "proposedAs": if i == 0 { Some(file_currency.to_owned()) } else { None }})
            })
            .collect(),
    );
    (Value::Object(currencies), report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::test_support::{observed, page, product};
    use crate::views::Resource;

    #[test]
    fn the_most_used_currency_id_is_the_file_currency() {
        let mut obs = observed(
            Resource::CustomerProducts,
            &format!(
                "{}{}{}",
                product(1, "A", 607, 7),
                product(2, "B", 607, 41),
                product(3, "C", 607, 41)
            ),
        );
        let (currencies, report) = propose_currencies(&obs, "CHF");
        assert_eq!(currencies, json!({"CHF": {"id": 41, "minorDigits": 2}}));
        assert_eq!(report[0]["id"], 41);
        assert_eq!(report[0]["proposedAs"], "CHF");
        assert_eq!(
            report[1],
            json!({"id": 7, "count": 1, "examples": ["A"], "proposedAs": null})
        );
        // A tie goes to the smaller id.
        obs.add_page(
            Resource::CustomerProducts,
            &page("customer_products", &product(4, "D", 607, 7)),
        )
        .unwrap();
        assert_eq!(propose_currencies(&obs, "EUR").0["EUR"]["id"], 7);

        let (none, report) = propose_currencies(&Observations::new(), "EUR");
        assert!(none["EUR"]["id"][crate::mapping::UNKNOWN].is_string());
        assert_eq!(report, json!([]));
    }
}
