//! incwo XML parsers (every resource, one object or a list page) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

const RESOURCES: [&str; 7] =
    ["firms", "contacts", "customer_products", "proposal_sheets", "bill_sheets", "stock_movements", "cash_deposits"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, xml)) = data.split_first() else { return };
    let resource = RESOURCES[usize::from(selector) % RESOURCES.len()];
    let parsed = incwo_core::api::parse(resource, xml);
    assert!(parsed.get("one").is_some() || parsed.get("page").is_some() || parsed.get("error").is_some());
});
