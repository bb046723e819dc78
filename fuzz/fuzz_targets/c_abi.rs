//! The C ABI (crate incwo-ffi) driven as a C host would, with arbitrary
//! bytes as its NUL-terminated string arguments.
//!
//! Input: one selector byte, then the payload. The selector's low nibble
//! picks the entry point, its high nibble a variant (the kind, resource or
//! call name). The payload is split on NUL bytes: the first part is the main
//! argument (the record, the profile, the call's JSON, the flow's start
//! arguments or checkpoint), the next ones the secondary arguments (a
//! profile, a record, the answers to a flow's requests: a response's JSON,
//! or `T` and a transport failure's JSON).
//!
//! Every call must return a status of the enum (never `panic`; libfuzzer's
//! panic hook aborts on any panic, even one caught at the boundary), write
//! `*out` exactly when its status says a document was produced, and every
//! string and handle it returns is released here, so the leak detector sees
//! any allocation the library forgets.
#![no_main]
use incwo_ffi::*;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

const KINDS: [&str; 7] = [
    "customer",
    "product",
    "quote",
    "order",
    "invoice",
    "stock-movement",
    "cancellation",
];
const RESOURCES: [&str; 8] = [
    "firms",
    "contacts",
    "customer_products",
    "proposal_sheets",
    "bill_sheets",
    "invoices",
    "stock_movements",
    "cash_deposits",
];
const CALLS: [&str; 16] = [
    "request",
    "classify",
    "retry",
    "retry.decide",
    "flow.script",
    "queue.name",
    "partition.route",
    "partition.gate",
    "partition.settle",
    "inbound.webhook",
    "inbound.fetch",
    "inbound.detect",
    "inbound.poll",
    "telemetry.render",
    "telemetry.log",
    "telemetry.redact",
];
const BATCH: &str = include_str!("../../examples/data/batch.jsonl");
const NOW: u64 = 1_776_240_000_000;
/// The most polls one input drives a flow through.
const MAX_POLLS: usize = 64;

/// Start arguments of a valid flow over the example batch.
fn flow_args() -> &'static CStr {
    static ARGS: OnceLock<CString> = OnceLock::new();
    ARGS.get_or_init(|| {
        let args = json!({
            "config": {
                "server": "http://127.0.0.1:9",
                "businessFileId": "123456",
                "auth": {"type": "basic", "login": "api@example.fr", "password": "secret"},
            },
            "jsonl": BATCH,
            "now": NOW,
            "seed": 7,
        });
        CString::new(args.to_string()).unwrap()
    })
}

/// What every status means for `*out`.
fn check_status(status: IncwoStatus, out: *mut c_char, what: &str) {
    let code = status as i32;
    match code {
        // A document was produced and written.
        0..=4 => {}
        // Marshalling failures: nothing written.
        10..=12 | 14 => assert!(out.is_null(), "{what}: status {code} wrote *out"),
        13 => panic!("{what}: the library reported a panic"),
        _ => panic!("{what}: status {code} is not an IncwoStatus"),
    }
}

/// Checks a call that writes `*out` on statuses 0–4, returns its text (then freed).
fn take(status: IncwoStatus, out: *mut c_char, what: &str) -> Option<String> {
    check_status(status, out, what);
    if (status as i32) > 4 {
        return None;
    }
    assert!(!out.is_null(), "{what}: status {} without *out", status as i32);
    let text = unsafe { CStr::from_ptr(out) }.to_str().map(str::to_owned);
    unsafe { incwo_string_free(out) };
    let text = text.unwrap_or_else(|_| panic!("{what}: *out is not UTF-8"));
    Some(text)
}

/// Checks a call whose result is a JSON document: the status follows its class.
fn take_json(status: IncwoStatus, out: *mut c_char, what: &str) -> Option<Value> {
    let text = take(status, out, what)?;
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: *out is not JSON ({e}): {text}"));
    let class = value.get("error").and_then(|e| e.get("class")).and_then(Value::as_str);
    match (status as i32, class) {
        (0, None) | (1, Some(_)) | (2, Some("contract")) | (3, Some("technical")) | (4, Some("business")) => {}
        (code, class) => panic!("{what}: status {code} with error class {class:?}: {text}"),
    }
    Some(value)
}

/// A C string of the part (parts never hold a NUL: they come from a split on NUL).
fn c(part: &[u8]) -> CString {
    CString::new(part).expect("parts hold no NUL")
}

/// An optional argument: an empty or missing part is NULL.
fn opt(part: Option<&[u8]>) -> Option<CString> {
    part.filter(|p| !p.is_empty()).map(c)
}

fn ptr_of(arg: &Option<CString>) -> *const c_char {
    arg.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

/// A start or resume of a flow: the status says whether a handle or an error came back.
fn check_start(status: IncwoStatus, flow: *mut IncwoFlow, error: *mut c_char, what: &str) -> Option<*mut IncwoFlow> {
    if status == IncwoStatus::Ok {
        assert!(
            !flow.is_null() && error.is_null(),
            "{what}: ok without a handle, or with an error"
        );
        Some(flow)
    } else {
        assert!(flow.is_null(), "{what}: status {} with a handle", status as i32);
        take_json(status, error, what);
        None
    }
}

/// Drives a flow: polls, answers each request with the next answer part (a
/// response's JSON, or `T` then a transport failure's JSON), reads every view
/// of the flow, then frees it (a second free is refused).
fn drive(flow: *mut IncwoFlow, answers: &[&[u8]]) {
    let mut now = NOW;
    let mut answers = answers.iter().cycle();
    for _ in 0..MAX_POLLS {
        let mut out = ptr::null_mut();
        let status = unsafe { incwo_flow_poll(flow, now, &mut out) };
        let Some(action) = take_json(status, out, "poll") else {
            break;
        };
        match action["action"].as_str() {
            Some("send") => {
                let id = action["requestId"].as_u64().expect("send carries a requestId");
                let answer: &[u8] = answers.next().copied().unwrap_or(b"{\"status\": 500}");
                let mut out = ptr::null_mut();
                let status = match answer.strip_prefix(b"T") {
                    Some(failure) => unsafe {
                        incwo_flow_on_transport_error(flow, id, c(failure).as_ptr(), now, &mut out)
                    },
                    None => unsafe { incwo_flow_on_response(flow, id, c(answer).as_ptr(), now, &mut out) },
                };
                take_json(status, out, "answer");
                // An answer to a request that is not outstanding is refused, not a crash.
                let mut out = ptr::null_mut();
                let status = unsafe { incwo_flow_on_response(flow, id, c"{\"status\": 200}".as_ptr(), now, &mut out) };
                take_json(status, out, "answer again");
            }
            Some("wait") => now = action["until"].as_u64().unwrap_or(now).max(now),
            Some("done") | None => break,
            Some(_) => {}
        }
        now = now.saturating_add(1);
    }
    for (name, f) in [
        (
            "checkpoint",
            incwo_flow_checkpoint as unsafe extern "C" fn(*const IncwoFlow, *mut *mut c_char) -> IncwoStatus,
        ),
        ("metrics", incwo_flow_metrics),
        ("summary", incwo_flow_summary),
    ] {
        let mut out = ptr::null_mut();
        let status = unsafe { f(flow, &mut out) };
        assert_eq!(status, IncwoStatus::Ok, "{name}");
        take(status, out, name);
    }
    let mut out = ptr::null_mut();
    let status = unsafe { incwo_flow_take_changed_entries(flow, &mut out) };
    take_json(status, out, "changed entries");
    assert_eq!(incwo_flow_free(flow), IncwoStatus::Ok);
    assert_eq!(incwo_flow_free(flow), IncwoStatus::InvalidHandle);
    let mut out = ptr::null_mut();
    let status = unsafe { incwo_flow_poll(flow, now, &mut out) };
    assert_eq!(status, IncwoStatus::InvalidHandle);
    assert!(out.is_null());
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let variant = usize::from(selector >> 4);
    let parts: Vec<&[u8]> = rest.split(|b| *b == 0).collect();
    let main = c(parts[0]);
    let second = parts.get(1).copied();
    let kind = c(KINDS[variant % KINDS.len()].as_bytes());
    let mut out: *mut c_char = ptr::null_mut();
    match selector & 0x0f {
        0 => {
            let profile = opt(second);
            let status = unsafe { incwo_validate(kind.as_ptr(), main.as_ptr(), ptr_of(&profile), &mut out) };
            take_json(status, out, "validate");
        }
        1 => {
            let profile = opt(second);
            let status = unsafe { incwo_map(kind.as_ptr(), main.as_ptr(), ptr_of(&profile), &mut out) };
            take_json(status, out, "map");
        }
        2 => {
            let profile = opt(Some(parts[0]));
            let status = unsafe { incwo_schema(kind.as_ptr(), ptr_of(&profile), &mut out) };
            take_json(status, out, "schema");
        }
        3 => {
            // Raw bytes (NULs included), not NUL-terminated; NULL when empty.
            let resource = c(RESOURCES[variant % RESOURCES.len()].as_bytes());
            let xml = if rest.is_empty() { ptr::null() } else { rest.as_ptr() };
            let status = unsafe { incwo_parse(resource.as_ptr(), xml, rest.len(), &mut out) };
            take_json(status, out, "parse");
        }
        4 => {
            let status = unsafe { incwo_check_profile(main.as_ptr(), &mut out) };
            take_json(status, out, "check_profile");
        }
        5 => {
            let name = c(CALLS[variant].as_bytes());
            let status = unsafe { incwo_call(name.as_ptr(), main.as_ptr(), &mut out) };
            take_json(status, out, "call");
        }
        6 => {
            let status = unsafe { incwo_queue_name(main.as_ptr(), &mut out) };
            take_json(status, out, "queue_name");
        }
        7 => {
            // A core with an arbitrary profile (NULL when empty), used then freed.
            let profile = opt(Some(parts[0]));
            let record = c(second.unwrap_or(b"{}"));
            let mut core: *mut IncwoCore = ptr::null_mut();
            let mut error: *mut c_char = ptr::null_mut();
            let status = unsafe { incwo_core_new(ptr_of(&profile), &mut core, &mut error) };
            if status != IncwoStatus::Ok {
                assert!(core.is_null(), "core_new: status {} with a handle", status as i32);
                take_json(status, error, "core_new");
                return;
            }
            assert!(
                !core.is_null() && error.is_null(),
                "core_new: ok without a handle, or with an error"
            );
            let status = unsafe { incwo_core_validate(core, kind.as_ptr(), record.as_ptr(), &mut out) };
            take_json(status, out, "core_validate");
            let status = unsafe { incwo_core_map(core, kind.as_ptr(), record.as_ptr(), &mut out) };
            take_json(status, out, "core_map");
            let status = unsafe { incwo_core_schema(core, kind.as_ptr(), &mut out) };
            take_json(status, out, "core_schema");
            assert_eq!(incwo_core_free(core), IncwoStatus::Ok);
            assert_eq!(incwo_core_free(core), IncwoStatus::InvalidHandle);
            out = ptr::null_mut();
            let status = unsafe { incwo_core_schema(core, kind.as_ptr(), &mut out) };
            assert_eq!(status, IncwoStatus::InvalidHandle);
            assert!(out.is_null());
        }
        8 => {
            // Arbitrary start arguments; the answers are the other parts.
            let mut flow: *mut IncwoFlow = ptr::null_mut();
            let mut error: *mut c_char = ptr::null_mut();
            let status = unsafe { incwo_flow_start(main.as_ptr(), &mut flow, &mut error) };
            if let Some(flow) = check_start(status, flow, error, "flow_start") {
                drive(flow, &parts[1..]);
            }
        }
        9 => {
            // An arbitrary checkpoint resumed over the example batch (or
            // arbitrary start arguments given as the second part).
            let args = second.map(c);
            let args = args.as_deref().unwrap_or(flow_args());
            let mut flow: *mut IncwoFlow = ptr::null_mut();
            let mut error: *mut c_char = ptr::null_mut();
            let status = unsafe { incwo_flow_resume(args.as_ptr(), main.as_ptr(), &mut flow, &mut error) };
            if let Some(flow) = check_start(status, flow, error, "flow_resume") {
                drive(flow, parts.get(2..).unwrap_or(&[]));
            }
        }
        10 => {
            // A valid flow over the example batch, answered with arbitrary
            // responses or transport failures (every part in turn).
            let mut flow: *mut IncwoFlow = ptr::null_mut();
            let mut error: *mut c_char = ptr::null_mut();
            let status = unsafe { incwo_flow_start(flow_args().as_ptr(), &mut flow, &mut error) };
            let flow = check_start(status, flow, error, "flow_start (example)").expect("the example batch starts");
            drive(flow, &parts);
        }
        11 => {
            // Arbitrary call name and arguments (but `debug.panic`, the
            // self-test that panics on purpose: libfuzzer would abort on it).
            if parts[0] == b"debug.panic" {
                return;
            }
            let args = c(second.unwrap_or(b"{}"));
            let status = unsafe { incwo_call(main.as_ptr(), args.as_ptr(), &mut out) };
            take_json(status, out, "call (any name)");
        }
        12 => {
            // Arbitrary kind, record and profile.
            let record = c(second.unwrap_or(b"{}"));
            let profile = opt(parts.get(2).copied());
            let status = unsafe { incwo_validate(main.as_ptr(), record.as_ptr(), ptr_of(&profile), &mut out) };
            take_json(status, out, "validate (any kind)");
            let status = unsafe { incwo_map(main.as_ptr(), record.as_ptr(), ptr_of(&profile), &mut out) };
            take_json(status, out, "map (any kind)");
            let status = unsafe { incwo_schema(main.as_ptr(), ptr_of(&profile), &mut out) };
            take_json(status, out, "schema (any kind)");
        }
        13 => {
            // Arbitrary resource name.
            let xml = second.unwrap_or(b"");
            let status = unsafe { incwo_parse(main.as_ptr(), xml.as_ptr(), xml.len(), &mut out) };
            take_json(status, out, "parse (any resource)");
        }
        14 => {
            // Arbitrary handles: never live here (every handle is freed), so refused.
            let mut bytes = [0u8; 8];
            let n = rest.len().min(8);
            bytes[..n].copy_from_slice(&rest[..n]);
            let id = usize::from_le_bytes(bytes);
            let core = id as *mut IncwoCore;
            let flow = id as *mut IncwoFlow;
            let expected = if id == 0 {
                IncwoStatus::Ok
            } else {
                IncwoStatus::InvalidHandle
            };
            assert_eq!(incwo_core_free(core), expected);
            assert_eq!(incwo_flow_free(flow), expected);
            let status = unsafe { incwo_core_validate(core, kind.as_ptr(), main.as_ptr(), &mut out) };
            assert_eq!(status, IncwoStatus::InvalidHandle);
            let status = unsafe { incwo_flow_on_response(flow, 1, c"{}".as_ptr(), NOW, &mut out) };
            assert_eq!(status, IncwoStatus::InvalidHandle);
            let status = unsafe { incwo_flow_summary(flow, &mut out) };
            assert_eq!(status, IncwoStatus::InvalidHandle);
            assert!(out.is_null());
        }
        _ => {
            // NULL arguments: refused, nothing written.
            let status = unsafe { incwo_validate(ptr::null(), main.as_ptr(), ptr::null(), &mut out) };
            assert_eq!(status, IncwoStatus::NullArgument);
            let status = unsafe { incwo_call(kind.as_ptr(), ptr::null(), &mut out) };
            assert_eq!(status, IncwoStatus::NullArgument);
            let status = unsafe { incwo_call(ptr::null(), main.as_ptr(), &mut out) };
            assert_eq!(status, IncwoStatus::NullArgument);
            let status = unsafe { incwo_map(kind.as_ptr(), main.as_ptr(), ptr::null(), ptr::null_mut()) };
            assert_eq!(status, IncwoStatus::NullArgument);
            let status = unsafe { incwo_parse(main.as_ptr(), ptr::null(), rest.len() + 1, &mut out) };
            assert_eq!(status, IncwoStatus::NullArgument);
            let mut flow: *mut IncwoFlow = ptr::null_mut();
            let status = unsafe { incwo_flow_resume(flow_args().as_ptr(), ptr::null(), &mut flow, &mut out) };
            assert_eq!(status, IncwoStatus::NullArgument);
            assert!(out.is_null() && flow.is_null());
            let _ = unsafe { CStr::from_ptr(incwo_status_name(i32::from(selector) - 20)) };
            assert!(!incwo_version().is_null());
        }
    }
});
