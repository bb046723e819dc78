//! Error classification and retry decisions of arbitrary statuses, headers and bodies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use incwo_core::errors::{classify_response, ClassificationTable};
use incwo_core::http::{CallSite, Method, Response};
use incwo_core::retry::{decide, RetryPolicy, RetryState};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]) % 1000;
    let split = usize::from(data[2]).min(data.len() - 3);
    let (header, body) = data[3..].split_at(split);
    let retry_after = String::from_utf8_lossy(header).to_string();
    let response = Response::new(status, vec![("Retry-After".into(), retry_after)], body.to_vec());
    let method = if data[3] % 2 == 0 { Method::Post } else { Method::Get };
    let call = CallSite::new(method, "/bill_sheets.xml");
    if let Some(error) = classify_response(&call, &response, 1_700_000_000_000, &ClassificationTable::default()) {
        let policy = RetryPolicy::default();
        let mut state = RetryState::new(&policy);
        for attempt in 1..=5 {
            let _ = decide(&policy, &mut state, &error, attempt, 1_700_000_000_000, u64::from(data[3]));
        }
    }
});
