//! Importing a version-1 checkpoint into a store that keeps it in parts
//! (`CheckpointParts::split`, then `join` to resume), on arbitrary (edited,
//! truncated, hostile) text: a clear error or parts, never a panic. When
//! `split` accepts the text, `join` rebuilds a checkpoint, splitting that
//! again gives the same parts, and resuming from it is resuming from the
//! original text (the same checkpoint, or the same error code).
#![no_main]
use incwo_core::flow::{batch, CheckpointParts, Flow, FlowOptions};
use incwo_core::http::{Auth, ConnectionConfig};
use incwo_core::mapping::Profile;
use libfuzzer_sys::fuzz_target;

const BATCH: &str = include_str!("../../examples/data/batch.jsonl");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parts) = CheckpointParts::split(text) else { return };
    let joined = match parts.join() {
        Ok(joined) => joined,
        Err(e) => panic!("split accepted the checkpoint but join refused its parts: {} {}", e.code, e.message),
    };
    let again = CheckpointParts::split(&joined).expect("a joined checkpoint splits again");
    assert_eq!(again, parts, "split(join(parts)) differs from parts");

    let profile = Profile::default();
    let Ok(config) = ConnectionConfig::new("http://127.0.0.1:9", "123456", Auth::basic("a@b.fr", "pw"), false) else {
        return;
    };
    let resume = |checkpoint: &str| {
        let items = batch::parse_jsonl(BATCH, &profile);
        Flow::resume(checkpoint, items, profile.clone(), config.clone(), FlowOptions::default(), 0)
            .map(|flow| flow.checkpoint())
            .map_err(|e| e.code)
    };
    assert_eq!(resume(text), resume(&joined), "resuming the joined parts differs from resuming the text");
});
