//! The differential check of the fast path against the walker, shared by
//! `core/tests/fastpath_differential.rs` and the `fastpath_differential`
//! fuzz target: for one input, the public results (validation report or
//! usage error; mapped body and totals) are the same whichever route runs,
//! and whatever the fast path accepts, the walker accepts without a warning.

use incwo_core::contract;
use incwo_core::mapping::{self, Links, Profile};
use incwo_core::model::Kind;
use serde_json::{json, Value};

fn report(result: Result<contract::Report, incwo_core::usage::UsageError>) -> Value {
    match result {
        Ok(report) => serde_json::to_value(report).expect("a report renders"),
        Err(usage) => json!({ "usage": serde_json::to_value(usage).expect("an error renders") }),
    }
}

/// Checks one input of `kind` under `profile` and `links`; `Ok(true)` when
/// the fast path took it, `Ok(false)` when it handed over to the walker.
pub fn check(kind: Kind, text: &str, profile: &Profile, links: &Links) -> Result<bool, String> {
    let walker = contract::walk(kind, text, profile);
    let walked_record = walker.as_ref().ok().and_then(|r| r.record.clone());
    let walker_clean = walker.as_ref().is_ok_and(|r| r.valid && r.violations.is_empty());
    let (walker, validated) = (report(walker), report(contract::validate(kind, text, profile)));
    if walker != validated {
        return Err(format!("validate differs:\n  walker: {walker}\n  fast:   {validated}"));
    }
    let Some(mapped) = mapping::fast::map(kind, text, profile, links) else {
        let mut out = String::new();
        if mapping::fast::map_into(kind, text, profile, links, &mut out).is_some() || !out.is_empty() {
            return Err("map_into took what map refused".into());
        }
        return Ok(false);
    };
    let record = match (walker_clean, walked_record) {
        (true, Some(record)) => record,
        _ => {
            return Err(format!(
                "the fast path mapped what the walker refuses or warns about: {walker}"
            ))
        }
    };
    let expected = mapping::map_record(&record, profile, links);
    if expected.as_ref() != Ok(&mapped) {
        return Err(format!("map differs:\n  walker: {expected:?}\n  fast:   {mapped:?}"));
    }
    let mut out = String::from("<kept/>");
    match mapping::fast::map_into(kind, text, profile, links, &mut out) {
        Some(resource) if resource == mapped.resource && out == format!("<kept/>{}", mapped.xml) => Ok(true),
        other => Err(format!("map_into differs from map: {other:?} {out}")),
    }
}

/// The kinds in the order the fuzz targets' selector byte picks them.
pub const KINDS: [Kind; 7] = [
    Kind::Customer,
    Kind::Product,
    Kind::Quote,
    Kind::Order,
    Kind::Invoice,
    Kind::StockMovement,
    Kind::Cancellation,
];

/// The profiles every input is checked under: the shipped one and variants
/// of the rules the fast path implements (rounding per line, final
/// invoices, currencies of 3, 0 and 9 digits, no statuses, a small input limit).
pub fn profiles() -> Vec<Profile> {
    let base = Profile::default();
    let mut per_line = base.clone();
    per_line.vat_rounding = mapping::VatRounding::PerLine;
    per_line.invoice_mode = mapping::InvoiceMode::Final;
    let mut digits = base.clone();
    for (code, id, minor_digits) in [("EUR", 58, 3), ("JPY", 1, 0), ("BHD", 2, 9)] {
        digits
            .currencies
            .insert(code.into(), mapping::CurrencyEntry { id, minor_digits });
    }
    let mut bare = base.clone();
    bare.statuses.order.clear();
    bare.statuses.quote.clear();
    bare.statuses.invoice.clear();
    bare.limits.max_input_bytes = 600;
    vec![base, per_line, digits, bare]
}

/// Links to check with: none, and a firm with one known product.
pub fn links() -> Vec<Links> {
    vec![
        Links::default(),
        Links {
            firm_id: Some(4242),
            product_ids: [("KIT-API-01".to_string(), 77u64), ("A".to_string(), 1)]
                .into_iter()
                .collect(),
        },
    ]
}
