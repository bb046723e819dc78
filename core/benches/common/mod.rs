//! Shared by the core's benches: the bench orders, the core's order path,
//! and the two references measured beside it on the same input with the same
//! output bytes: the floor (typed serde with borrowed strings, exact
//! decimals, XML written by hand) and the plain `serde_json::Value` route.
//! See `bench/README.md` and `docs/BENCH-PEERS.md` for the rules.

#![allow(dead_code)]

pub mod floor;
pub mod value;

use incwo_core::contract;
use incwo_core::mapping::{self, Links, Profile};
use incwo_core::model::{Kind, Record};
use std::fmt::Write as _;

/// Tax codes the bench orders cycle through (all in the default profile).
pub const TAX_CODES: [&str; 3] = ["TVA20", "TVA10", "TVA5_5"];

/// A deterministic bench order of `n` lines, as JSON text (one line per
/// order line, prices as JSON numbers with 1 or 2 decimals, integer
/// quantities). Every host reads the same files (`scaling --write-orders`).
pub fn order_json(n: usize) -> String {
    let mut s = String::with_capacity(160 + n * 96);
    let _ = write!(
        s,
        "{{\"orderNumber\":\"CMD-2026-{n:05}\",\"customerExternalId\":\"CLI-INC-8872\",\"orderDate\":\"2026-04-11\",\"currency\":\"EUR\",\"lines\":["
    );
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let qty = 1 + (i * 7) % 12;
        let cents = 100 + (i * 7919) % 99_900;
        // Every fourth price is written with one decimal (49.9), the others with two.
        let price = if i % 4 == 3 && cents % 10 == 0 {
            format!("{}.{}", cents / 100, (cents % 100) / 10)
        } else {
            format!("{}.{:02}", cents / 100, cents % 100)
        };
        let _ = write!(
            s,
            "\n{{\"sku\":\"SKU-{i:05}\",\"qty\":{qty},\"unitPriceExclTax\":{price},\"taxCode\":\"{}\"}}",
            TAX_CODES[i % 3]
        );
    }
    s.push_str("\n]}\n");
    s
}

/// The core's order path, bytes in and XML bytes out: `api::map_bytes_with`
/// (the typed fast path, the walker for anything it does not take).
pub fn core_order(text: &str, profile: &Profile) -> Vec<u8> {
    incwo_core::api::map_bytes_with(Kind::Order, text.as_bytes(), profile).expect("a valid order")
}

/// The core's typed Rust API: validate the JSON text into a record, map the
/// record, XML bytes.
pub fn typed_order(text: &str, profile: &Profile) -> Vec<u8> {
    let report = contract::validate(Kind::Order, text, profile).expect("well-formed JSON");
    let record: &Record = report.record.as_ref().expect("a valid order");
    mapping::map_record(record, profile, &Links::default())
        .expect("maps")
        .xml
        .into_bytes()
}

/// The façade the bindings call (`api::map`, default profile), down to the
/// XML bytes taken out of its JSON result.
pub fn facade_order(text: &str) -> Vec<u8> {
    let v = incwo_core::api::map("order", text, None);
    v["xml"].as_str().expect("xml").as_bytes().to_vec()
}

/// A list page of `n` firms as incwo writes it (indented, with a contact
/// address and the usual empty elements).
pub fn firms_page(n: usize) -> Vec<u8> {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<firms type=\"array\">\n");
    for i in 0..n {
        let _ = write!(
            s,
            "  <firm>\n    <id>{}</id>\n    <name>Atelier Horizon {i} &amp; fils</name>\n    <batch>17 jan 12 @ 15:12:02</batch>\n    <batch_kind>CSV</batch_kind>\n    <firm_type>client</firm_type>\n    <firm_type2></firm_type2>\n    <siren>73282932{i:01}</siren>\n    <accounting_ref>CLI-{i:05}</accounting_ref>\n    <accounting_ref_vendor></accounting_ref_vendor>\n    <tva>FR44732829320</tva>\n    <name_soundex>A364</name_soundex>\n    <created_at>17-01-2012-15-14</created_at>\n    <updated_at>07-02-2012-16-13</updated_at>\n    <contact_addresses>\n      <contact_address>\n        <id>{}</id>\n        <zip_code>69002</zip_code>\n        <city>Lyon</city>\n        <country>France</country>\n        <country_iso_3166_a3>FRA</country_iso_3166_a3>\n        <street_address>18 rue des Tanneurs</street_address>\n        <street_address2></street_address2>\n      </contact_address>\n    </contact_addresses>\n  </firm>\n",
            100_000 + i,
            268_273 + i,
            i = i % 10
        );
    }
    let _ = write!(
        s,
        "  <pagination><current_page>1</current_page><total_pages>3</total_pages><current_page_items_count>{n}</current_page_items_count></pagination>\n</firms>\n"
    );
    s.into_bytes()
}

/// Edge orders the references must agree with the core on (bytes), beside
/// the bench orders: midpoint rounding, trailing zeros, zero prices, large
/// amounts, escaping-free ids at the length limit, one line.
pub fn edge_orders() -> Vec<String> {
    let line = |sku: &str, qty: &str, price: &str, tax: &str| {
        format!("{{\"sku\":\"{sku}\",\"qty\":{qty},\"unitPriceExclTax\":{price},\"taxCode\":\"{tax}\"}}")
    };
    let order = |number: &str, date: &str, lines: Vec<String>| {
        format!(
            "{{\"orderNumber\":\"{number}\",\"customerExternalId\":\"C-1\",\"orderDate\":\"{date}\",\"currency\":\"EUR\",\"lines\":[{}]}}",
            lines.join(",")
        )
    };
    vec![
        order("E-1", "2026-04-11", vec![line("KIT-API-01", "10", "49.90", "TVA20")]),
        order("E-2", "2000-01-01", vec![line("A", "3", "0.12", "TVA5_5")]),
        order(
            "E-3",
            "2100-12-31",
            vec![
                line("A", "1", "0.05", "TVA10"),
                line("B", "1", "0.05", "TVA10"),
                line("C", "1", "0.05", "TVA10"),
            ],
        ),
        order(
            "E-4",
            "2024-02-29",
            vec![line("Z", "1", "0", "TVA20"), line("Y", "7", "1.230", "TVA20")],
        ),
        order("E-5", "2026-12-01", vec![line("BIG", "1000000", "999999.99", "TVA20")]),
        order(
            &"N".repeat(64),
            "2026-04-11",
            vec![line(&"S".repeat(64), "2", "5", "TVA20")],
        ),
        order(
            "E-7",
            "2026-04-11",
            vec![
                line("a.b_c-d:e/f", "12", "0.01", "TVA5_5"),
                line("q", "1", "0.09", "TVA5_5"),
            ],
        ),
    ]
}
