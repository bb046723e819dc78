//! The fast path writes what the walker's route writes.

use super::*;
use crate::contract;
use crate::mapping::map_record;

fn walker(kind: Kind, text: &str, profile: &Profile, links: &Links) -> Mapped {
    let report = contract::validate_value(kind, &contract::parse_input(text, profile).unwrap().unwrap(), profile);
    map_record(report.record.as_ref().expect("valid"), profile, links).expect("maps")
}

const ORDER: &str = r#"{"contract":1,"orderNumber":"CMD-1","customerExternalId":"C-1","orderDate":"2026-04-11",
  "currency":"EUR","sourceQuote":"Q-1","lines":[
  {"sku":"KIT-1","description":"  Kit & <API>\t ","qty":"2.5000","unitPriceExclTax":"49.9","taxCode":"TVA20"},
  {"sku":"B","qty":2.5,"unitPriceExclTax":0.13,"taxCode":"TVA5_5"},
  {"sku":"C","qty":1000000,"unitPriceExclTax":999999999.99,"taxCode":"TVA0"},
  {"sku":"D","qty":0.0001,"unitPriceExclTax":"0","taxCode":"TVA10"}]}"#;

#[test]
fn orders_quotes_and_invoices_map_to_the_same_bytes_and_totals() {
    let quote = r#"{"quoteNumber":"Q-1","customerExternalId":"C-1","quoteDate":"2026-04-11","validUntil":"2026-05-11",
      "currency":"EUR","lines":[{"sku":"A","qty":1,"unitPriceExclTax":10.01,"taxCode":"TVA20"}]}"#;
    let invoice = r#"{"invoiceNumber":"F-1","sourceOrder":"CMD-1","issueDate":"2026-04-11","dueDate":null,
      "lines":[{"sku":"A","qty":7,"unitPriceExclTax":1.230,"taxCode":"TVA2_1"},{"sku":"B","qty":1,"unitPriceExclTax":0.05,"taxCode":"TVA2_1"}]}"#;
    let mut profile = Profile::default();
    let links = Links {
        firm_id: Some(42),
        product_ids: [("B".to_string(), 7u64)].into_iter().collect(),
    };
    for rounding in [
        crate::mapping::VatRounding::PerRate,
        crate::mapping::VatRounding::PerLine,
    ] {
        profile.vat_rounding = rounding;
        for mode in [InvoiceMode::Draft, InvoiceMode::Final] {
            profile.invoice_mode = mode;
            for (kind, text) in [(Kind::Order, ORDER), (Kind::Quote, quote), (Kind::Invoice, invoice)] {
                for links in [&Links::default(), &links] {
                    let fast =
                        map(kind, text, &profile, links).unwrap_or_else(|| panic!("the fast path takes {kind} {text}"));
                    assert_eq!(fast, walker(kind, text, &profile, links), "{kind} {text}");
                    let mut out = String::from("kept");
                    assert_eq!(map_into(kind, text, &profile, links, &mut out), Some(fast.resource));
                    assert_eq!(out, format!("kept{}", fast.xml));
                }
            }
        }
    }
}

#[test]
fn anything_the_fast_path_does_not_take_leaves_the_buffer_as_it_was() {
    let profile = Profile::default();
    let mut out = String::from("kept");
    for (kind, text) in [
        (Kind::Order, ORDER.replace("CMD-1", "CMD 1")),
        (Kind::Order, ORDER.replace("\"contract\":1", "\"contract\":2")),
        (Kind::Order, ORDER.replace("0.13", "1.3e-1")),
        (Kind::Order, ORDER.replace("\"0\"", "\"0 \"")),
        (
            Kind::Order,
            ORDER.replace("\"sourceQuote\"", "\"extra\":null,\"sourceQuote\""),
        ),
        (
            Kind::Order,
            ORDER.replace("\"currency\":\"EUR\",", "\"currency\":\"EUR\",\"currency\":\"EUR\","),
        ),
        (Kind::Customer, r#"{"externalId":"C-1","name":"A"}"#.to_string()),
        (Kind::Order, "[1]".to_string()),
    ] {
        assert_eq!(
            map_into(kind, &text, &profile, &Links::default(), &mut out),
            None,
            "{text}"
        );
        assert_eq!(out, "kept");
    }
}

#[test]
fn decimals_are_written_as_decimal_display_writes_them() {
    for (m, scale) in [
        (0i128, 0u32),
        (0, 2),
        (5, 2),
        (4990, 2),
        (123_456_789, 4),
        (1, 6),
        (u64::MAX as i128 * 1000, 3),
    ] {
        let mut out = String::new();
        decimal(&mut out, m, scale);
        assert_eq!(out, rust_decimal::Decimal::from_i128_with_scale(m, scale).to_string());
    }
}

#[test]
fn fixed_point_rounds_as_decimal_does() {
    use crate::mapping::totals::money;
    use rust_decimal::Decimal;
    for m in [
        0i128,
        1,
        4,
        5,
        15,
        25,
        49_999,
        50_000,
        123_456_789,
        u64::MAX as i128,
        u64::MAX as i128 * 7,
    ] {
        for scale in 0..=8u32 {
            for digits in 0..=4u32 {
                let expected = money(Decimal::from_i128_with_scale(m, scale), digits);
                let got = fixed::at_scale(m, scale, digits).map(|r| Decimal::from_i128_with_scale(r, digits));
                assert_eq!(got, Some(expected), "{m}e-{scale} to {digits}");
                assert_eq!(got.unwrap().to_string(), expected.to_string());
            }
        }
    }
}
