//! Resuming a flow from an arbitrary (edited, truncated, hostile) checkpoint:
//! a clear error or a flow that runs, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use incwo_core::flow::{batch, Action, Flow, FlowOptions};
use incwo_core::http::{Auth, ConnectionConfig, Response};
use incwo_core::mapping::Profile;

const BATCH: &str = include_str!("../../examples/data/batch.jsonl");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let profile = Profile::default();
    let items = batch::parse_jsonl(BATCH, &profile);
    let Ok(config) = ConnectionConfig::new("http://127.0.0.1:9", "123456", Auth::basic("a@b.fr", "pw"), false) else {
        return;
    };
    let Ok(mut flow) = Flow::resume(text, items, profile, config, FlowOptions::default(), 0) else { return };
    for _ in 0..50 {
        match flow.poll(0) {
            Ok(Action::Send { request_id, .. }) => {
                let _ = flow.on_response(request_id, Response::new(500, vec![], b"oops".to_vec()), 0);
            }
            Ok(Action::Done { .. }) | Err(_) => break,
            Ok(_) => {}
        }
    }
});
