//! Canonical JSON validation and mapping, for every kind, on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

const KINDS: [&str; 7] = ["customer", "product", "quote", "order", "invoice", "stock-movement", "cancellation"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    let report = incwo_core::api::validate(kind, text, None);
    assert!(report.get("valid").is_some() || report.get("error").is_some(), "{report}");
    let mapped = incwo_core::api::map(kind, text, None);
    assert!(mapped.get("xml").is_some() || mapped.get("error").is_some(), "{mapped}");
    // A batch line built from the same text never panics either.
    let _ = incwo_core::flow::batch::parse_jsonl(text, &incwo_core::mapping::Profile::default());
});
