//! The fast path against the walker on arbitrary text: same validation
//! report, same mapped bytes and totals (core/tests/fastpath/check.rs). The
//! first byte picks the kind (low values, as in validate_map) and the profile.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../core/tests/fastpath/check.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let kind = check::KINDS[usize::from(selector) % check::KINDS.len()];
    let profiles = check::profiles();
    let profile = &profiles[usize::from(selector) / check::KINDS.len() % profiles.len()];
    let links = &check::links()[usize::from(selector >> 7)];
    if let Err(diff) = check::check(kind, text, profile, links) {
        panic!("{kind}: {diff}");
    }
});
