//! Warehouses: the ids stock movements reference. One is proposed as
//! `MAIN`, several as `WH{id}`, none leaves `MAIN` unknown.

use serde_json::{json, Map, Value};

use super::observe::Observations;
use super::unknown;

/// The `warehouses` of the profile and the `warehouses` report.
pub(super) fn propose_warehouses(obs: &Observations) -> (Value, Value) {
    let mut warehouses = Map::new();
    match obs.warehouses.len() {
        0 => {
            warehouses.insert(
                "MAIN".into(),
                unknown("no stock movement references a warehouse; read the warehouse id in incwo, or remove this entry if you do not sync stock"),
            );
        }
        1 => {
            let id = obs.warehouses.keys().next().copied().unwrap_or_default();
            warehouses.insert("MAIN".into(), json!(id));
        }
        _ => {
            for id in obs.warehouses.keys() {
                warehouses.insert(format!("WH{id}"), json!(id));
            }
        }
    }
    let report = Value::Array(
        obs.warehouses
            .iter()
            .map(|(id, s)| json!({"id": id, "movements": s.count, "examples": s.examples}))
            .collect(),
    );
    (Value::Object(warehouses), report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::test_support::{movement, observed};
    use crate::views::Resource;

    #[test]
    fn one_warehouse_is_main_several_are_named_by_id_none_is_unknown() {
        let one = observed(Resource::StockMovements, &movement(1, Some(3), None));
        let (warehouses, report) = propose_warehouses(&one);
        assert_eq!(warehouses, json!({"MAIN": 3}));
        assert_eq!(report, json!([{"id": 3, "movements": 1, "examples": ["movement 1"]}]));

        let two = observed(Resource::StockMovements, &movement(1, Some(3), Some(4)));
        assert_eq!(propose_warehouses(&two).0, json!({"WH3": 3, "WH4": 4}));

        let (none, report) = propose_warehouses(&Observations::new());
        assert!(none["MAIN"][crate::mapping::UNKNOWN].is_string());
        assert_eq!(report, json!([]));
    }
}
