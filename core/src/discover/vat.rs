//! VAT: the profile's taxes from the VAT ids seen. A rate is the simplest
//! decimal consistent with every line that uses the id (`vat_value` /
//! `total_price`, both rounded to cents); an id seen only on products takes
//! the rate incwo documents for it, when it does; else the rate is unknown.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};

use super::observe::Observations;
use super::unknown;

/// Rates incwo documents for its VAT ids (docs/INCWO-API.md#22-products-and-reference-data), used only for
/// ids seen without amounts.
const DOCUMENTED_VAT: &[(u64, &str)] = &[
    (607, "0.20"),
    (552, "0.10"),
    (223, "0.055"),
    (222, "0.021"),
    (225, "0"),
    (224, "0.196"),
    (529, "0.19"),
    (543, "0.085"),
    (544, "0.21"),
    (545, "0.076"),
    (546, "0.16"),
    (551, "0.15"),
    (553, "0.03"),
    (567, "0.18"),
    (569, "0.085"),
    (615, "0.06"),
];

/// The `taxes` of the profile and the `vat` report, one entry per VAT id seen
/// (a `TVA20` with an unknown id when none was seen).
pub(super) fn propose_taxes(obs: &Observations) -> (Value, Value) {
    let mut taxes = Map::new();
    let mut vat_report = Vec::new();
    for (id, seen) in &obs.vat {
        let (rate, evidence) = match (seen.low, seen.high) {
            (Some(low), Some(high)) => match simplest_in(low, high) {
                Some(rate) => (Some(rate), format!("implied by the VAT of {} line(s)", seen.lines)),
                None => (None, "lines disagree on the rate".to_string()),
            },
            _ => match DOCUMENTED_VAT.iter().find(|(v, _)| v == id) {
                Some((_, r)) => (r.parse::<Decimal>().ok(), "documented rate of this id".to_string()),
                None => (None, "seen without amounts".to_string()),
            },
        };
        let mut code = match rate {
            Some(r) => tax_code(r),
            None => format!("VAT{id}"),
        };
        if taxes.contains_key(&code) {
            code = format!("{code}_{id}");
        }
        let rate_value = match rate {
            Some(r) => json!(r.to_string()),
            None => unknown(format!(
                "the rate of VAT id {id} could not be established ({evidence}; e.g. {}): read it in incwo, or remove this tax if you do not use it",
                seen.examples.join(", ")
            )),
        };
        taxes.insert(code.clone(), json!({"rate": rate_value, "vatValueId": id}));
        vat_report.push(json!({
            "vatValueId": id, "rate": rate.map(|r| r.to_string()), "taxCode": code,
            "lines": seen.lines, "products": seen.products, "examples": seen.examples, "evidence": evidence,
        }));
    }
    if taxes.is_empty() {
        taxes.insert(
            "TVA20".into(),
            json!({"rate": "0.20", "vatValueId": unknown("no product or document line carries a VAT id; create a quote with a 20 % line in incwo and run the discovery again")}),
        );
    }
    (Value::Object(taxes), Value::Array(vat_report))
}

/// The simplest decimal (fewest decimal places, at most 6) in `[low, high]`.
fn simplest_in(low: Decimal, high: Decimal) -> Option<Decimal> {
    if low > high {
        return None;
    }
    (0..=6).find_map(|dp| {
        let candidate = low.round_dp_with_strategy(dp, RoundingStrategy::ToPositiveInfinity);
        (candidate <= high).then(|| candidate.normalize())
    })
}

/// The profile's tax code for a rate: `TVA20`, `TVA5_5`, `TVA0`.
fn tax_code(rate: Decimal) -> String {
    let percent = (rate * Decimal::ONE_HUNDRED).normalize();
    format!("TVA{}", percent.to_string().replace('.', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::test_support::{line, observed, product, sheet};
    use crate::views::Resource;

    #[test]
    fn rates_are_the_simplest_decimals_the_lines_allow() {
        assert_eq!(
            simplest_in("0.1999".parse().unwrap(), "0.2001".parse().unwrap())
                .unwrap()
                .to_string(),
            "0.2"
        );
        assert_eq!(
            simplest_in("0.05497".parse().unwrap(), "0.05502".parse().unwrap())
                .unwrap()
                .to_string(),
            "0.055"
        );
        assert_eq!(
            simplest_in(Decimal::ZERO, "0.0001".parse().unwrap())
                .unwrap()
                .to_string(),
            "0"
        );
        assert_eq!(simplest_in(Decimal::ONE, Decimal::ZERO), None);
        assert_eq!(tax_code("0.055".parse().unwrap()), "TVA5_5");
        assert_eq!(tax_code("0.2".parse().unwrap()), "TVA20");
        assert_eq!(tax_code(Decimal::ZERO), "TVA0");
    }

    #[test]
    fn taxes_come_from_lines_then_documented_rates_else_stay_unknown() {
        // 9020: lines imply 20 %; 552: product only, documented at 10 %;
        // 9999: product only, undocumented; 9030: lines disagree.
        let lines = format!(
            "{}{}{}",
            line(9020, "50.00", "10.00"),
            line(9030, "100.00", "20.00"),
            line(9030, "100.00", "5.50")
        );
        let mut obs = observed(Resource::ProposalSheets, &sheet(1, "proposal", 555, "D1", &lines));
        obs.add_page(
            Resource::CustomerProducts,
            &crate::discover::test_support::page(
                "customer_products",
                &format!("{}{}", product(1, "P1", 552, 41), product(2, "P2", 9999, 41)),
            ),
        )
        .unwrap();
        let (taxes, report) = propose_taxes(&obs);
        assert_eq!(taxes["TVA20"], json!({"rate": "0.2", "vatValueId": 9020}));
        assert_eq!(taxes["TVA10"], json!({"rate": "0.10", "vatValueId": 552}));
        assert!(taxes["VAT9999"]["rate"][crate::mapping::UNKNOWN].is_string(), "{taxes}");
        let disagree = taxes["VAT9030"]["rate"][crate::mapping::UNKNOWN].as_str().unwrap();
        assert!(disagree.contains("lines disagree on the rate"), "{disagree}");
        let by_id = |id: u64| {
            report
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["vatValueId"] == id)
                .unwrap()
                .clone()
        };
        assert_eq!(by_id(552)["evidence"], "documented rate of this id");
        assert_eq!(by_id(552)["products"], 1);
        assert_eq!(by_id(9020)["lines"], 1);

        let (none, report) = propose_taxes(&Observations::new());
        assert_eq!(none["TVA20"]["rate"], "0.20");
        assert!(none["TVA20"]["vatValueId"][crate::mapping::UNKNOWN].is_string());
        assert_eq!(report, json!([]));
    }
}
