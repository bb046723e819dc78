//! Property: mapping a generated document to incwo XML and parsing it back
//! keeps its lines, quantities, prices, tax ids and totals.

use incwo_core::mapping::{v1, Links, Profile};
use incwo_core::model::Record;
use incwo_core::views::{parse_one, BillSheet, ContentKind, ProposalSheet};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

fn decimal(units: u64, scale: u32) -> Decimal {
    Decimal::new(units as i64, scale)
}

prop_compose! {
    fn line()(sku in "[A-Z]{1,3}-[0-9]{1,4}",
               description in proptest::option::of("[A-Za-zé&<> ]{1,30}"),
               qty_units in 1u64..100_000_000, qty_scale in 0u32..=4,
               price_cents in 0u64..10_000_000, tax in 0usize..5) -> serde_json::Value {
        let codes = ["TVA20", "TVA10", "TVA5_5", "TVA2_1", "TVA0"];
        let qty = decimal(qty_units, qty_scale).min(Decimal::from(1_000_000));
        let mut line = json!({
            "sku": sku,
            "qty": qty.to_string(),
            "unitPriceExclTax": decimal(price_cents, 2).to_string(),
            "taxCode": codes[tax],
        });
        if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
            line["description"] = json!(d);
        }
        line
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn order_lines_survive_map_then_parse(lines in proptest::collection::vec(line(), 1..25), invoice in any::<bool>()) {
        let profile = Profile::default();
        let record = if invoice {
            json!({"invoiceNumber": "F-1", "sourceOrder": "C-1", "issueDate": "2026-04-11", "lines": lines})
        } else {
            json!({"orderNumber": "C-1", "customerExternalId": "X", "orderDate": "2026-04-11", "currency": "EUR", "lines": lines})
        };
        let kind = if invoice { "invoice" } else { "order" };
        let report = incwo_core::contract::validate(kind.parse().unwrap(), &record.to_string(), &profile).unwrap();
        prop_assert!(report.valid, "{:?}", report.violations);
        let record = report.record.unwrap();
        let links = Links { firm_id: Some(7), product_ids: Default::default() };
        let mapped = v1::map_record(&record, &profile, &links).unwrap();
        let totals = mapped.totals.clone().unwrap();
        // incwo answers a create with the body and the new id.
        let root_end = mapped.xml.find('>').unwrap() + 1;
        let response = format!("{}<id>1</id>{}", &mapped.xml[..root_end], &mapped.xml[root_end..]);
        let (parsed_lines, excl, vat, incl, title) = if invoice {
            let sheet: BillSheet = parse_one(response.as_bytes()).unwrap();
            (sheet.lines, sheet.vat_exl_total, sheet.vat_cost, sheet.vat_inc_total, sheet.title)
        } else {
            let sheet: ProposalSheet = parse_one(response.as_bytes()).unwrap();
            (sheet.lines, sheet.vat_exl_total, sheet.vat_cost, sheet.vat_inc_total, sheet.title)
        };
        let source_lines = match &record {
            Record::Order(o) => &o.lines,
            Record::Invoice(i) => &i.lines,
            _ => unreachable!(),
        };
        prop_assert_eq!(title.as_deref(), Some(if invoice { "F-1" } else { "C-1" }));
        prop_assert_eq!(parsed_lines.len(), source_lines.len());
        for (parsed, source) in parsed_lines.iter().zip(source_lines) {
            prop_assert_eq!(&parsed.content_kind, &ContentKind::Normal);
            prop_assert_eq!(parsed.quantity, Some(source.qty));
            prop_assert_eq!(parsed.unit_price, Some(source.unit_price_excl_tax));
            prop_assert_eq!(parsed.vat_value_id, Some(profile.tax(&source.tax_code).unwrap().vat_value_id));
            prop_assert_eq!(parsed.description.as_deref(), Some(source.description.as_deref().unwrap_or(&source.sku)));
        }
        prop_assert_eq!(excl, Some(totals.excl_tax));
        prop_assert_eq!(vat, Some(totals.vat));
        prop_assert_eq!(incl, Some(totals.incl_tax));
        prop_assert_eq!(totals.incl_tax, totals.excl_tax + totals.vat);
    }
}
