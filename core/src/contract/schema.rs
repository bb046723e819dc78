//! JSON Schema (draft 2020-12) of each canonical kind, generated from the
//! same field tables the validator walks. Profile-dependent sets (tax codes,
//! warehouses, currencies) are taken from the profile given.

use super::spec::{self, Field, FieldType, MAX_LINES};
use crate::base::profile::Profile;
use crate::model::Kind;
use serde_json::{json, Map, Value};

const DECIMAL_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?$";
const ID_PATTERN: &str = r"^[A-Za-z0-9._:/-]{1,64}$";

/// The JSON Schema of a kind under a profile.
pub fn schema(kind: Kind, profile: &Profile) -> Value {
    let mut root = object_schema(spec::fields(kind), profile);
    let map = root.as_object_mut().expect("object_schema returns an object");
    map.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    map.insert(
        "$id".into(),
        json!(format!("urn:incwo-connector:contract:1:{}", kind.as_str())),
    );
    map.insert("title".into(), json!(format!("{kind} (contract 1)")));
    map.insert("description".into(), json!(spec::describe(kind)));
    root
}

fn object_schema(fields: &[Field], profile: &Profile) -> Value {
    let mut properties = Map::new();
    for field in fields {
        let mut property = field_schema(field.ty, profile);
        if let Some(map) = property.as_object_mut() {
            map.insert("description".into(), json!(field.doc));
        }
        properties.insert(field.name.into(), property);
    }
    let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn decimal_schema(minimum: Option<&str>, extra: Value) -> Value {
    let mut number = json!({"type": "number"});
    if let Some(min) = minimum {
        number["minimum"] = json!(min.parse::<f64>().unwrap_or(0.0));
    }
    json!({"anyOf": [number, {"type": "string", "pattern": DECIMAL_PATTERN}], "$comment": extra})
}

fn field_schema(ty: FieldType, profile: &Profile) -> Value {
    let keys = |m: Vec<&String>| m.into_iter().cloned().collect::<Vec<_>>();
    match ty {
        FieldType::Id => json!({"type": "string", "pattern": ID_PATTERN}),
        FieldType::Text(max) | FieldType::Description(max) => {
            json!({"type": "string", "minLength": 1, "maxLength": max})
        }
        FieldType::ZipCode => json!({"type": "string", "minLength": 1, "maxLength": 16}),
        FieldType::Date => {
            json!({"type": "string", "format": "date", "pattern": r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"})
        }
        FieldType::Timestamp => json!({"type": "string", "format": "date-time"}),
        FieldType::Currency => json!({"type": "string", "enum": keys(profile.currencies.keys().collect())}),
        FieldType::Country => {
            json!({"type": "string", "enum": super::iso::COUNTRIES.iter().map(|c| c.0).collect::<Vec<_>>()})
        }
        FieldType::Money => decimal_schema(
            Some("0"),
            json!("at most the currency's minor digits; at most 999999999.99"),
        ),
        FieldType::Qty => decimal_schema(None, json!("> 0, at most 4 decimals, at most 1000000")),
        FieldType::SignedQty => decimal_schema(None, json!("non-zero, at most 4 decimals; negative = out")),
        FieldType::TaxCode => json!({"type": "string", "enum": keys(profile.taxes.keys().collect())}),
        FieldType::Warehouse => json!({"type": "string", "enum": keys(profile.warehouses.keys().collect())}),
        FieldType::Email => json!({"type": "string", "format": "email", "maxLength": 254}),
        FieldType::Phone => json!({"type": "string", "pattern": r"^\+?[0-9 .()-]{6,30}$"}),
        FieldType::VatNumber => json!({"type": "string", "pattern": r"^[A-Za-z]{2} ?[A-Za-z0-9 ]{2,20}$"}),
        FieldType::Bool => json!({"type": "boolean"}),
        FieldType::Enum(values) => json!({"type": "string", "enum": values}),
        FieldType::ContractVersion => json!({"const": 1}),
        FieldType::Object(fields) => object_schema(fields, profile),
        FieldType::Lines => json!({
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_LINES,
            "items": object_schema(spec::LINE, profile),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_schema_names_every_field_and_the_required_ones() {
        let s = schema(Kind::Order, &Profile::default());
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(s["additionalProperties"], false);
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            required,
            ["orderNumber", "customerExternalId", "orderDate", "currency", "lines"]
        );
        let line = &s["properties"]["lines"]["items"];
        assert_eq!(line["properties"]["taxCode"]["enum"].as_array().unwrap().len(), 5);
        assert!(line["required"]
            .as_array()
            .unwrap()
            .contains(&json!("unitPriceExclTax")));
    }

    #[test]
    fn every_kind_has_a_schema_matching_its_field_table() {
        for kind in Kind::ALL {
            let s = schema(kind, &Profile::default());
            let props = s["properties"].as_object().unwrap();
            assert_eq!(props.len(), spec::fields(kind).len(), "{kind}");
        }
    }
}
