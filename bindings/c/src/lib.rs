//! C ABI of the incwo connector core, loaded by PHP's FFI (and any C host).
//!
//! Every export marshals UTF-8 JSON to and from [`incwo_core::api`] and does
//! nothing else: rules, defaults and decisions live in the core.
//!
//! Conventions (the header `include/incwo.h` is generated from this file):
//! - every export returns an [`IncwoStatus`] and runs under `catch_unwind`,
//!   so a panic never crosses the boundary: it becomes `INCWO_STATUS_PANIC`
//!   with the error document `{"error": {"class": "usage", "code":
//!   "usage.internal_panic", "message": "the connector core panicked: …"}}`
//!   in `*out` (or `*out_error`), and the process, the core handles and the
//!   other flows go on (`call("debug.panic", …)` tests exactly that). This
//!   library installs no panic hook: Rust's default one prints the panic to
//!   stderr;
//! - results are written to `*out` as a NUL-terminated UTF-8 string that the
//!   caller frees with [`incwo_string_free`]. `*out` is written only when the
//!   core produced a document: the result (`INCWO_STATUS_OK`), its error
//!   document `{"error": {...}}` (statuses 1–4, one per error class) or the
//!   error document of a panic (`INCWO_STATUS_PANIC`). On the marshalling
//!   failures (null argument, invalid UTF-8, invalid handle) nothing is
//!   written;
//! - the XML-only calls ([`incwo_core_map_xml`], [`incwo_core_map_many`],
//!   module `xml`) take their records as pointer + length and write bytes
//!   with their length (`uint8_t **out, size_t *out_len`), freed with
//!   [`incwo_bytes_free`]: one free function per owned type;
//! - handles ([`IncwoCore`], [`IncwoFlow`]) are opaque ids, never
//!   dereferenced: a handle used after its `_free` is reported as
//!   `INCWO_STATUS_INVALID_HANDLE` instead of crashing.

use incwo_core::api::{self, flow::FlowSession};
use incwo_core::usage::UsageError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

mod xml;

pub use xml::{incwo_bytes_free, incwo_core_map_many, incwo_core_map_xml};

/// Status of every call. The numeric values are part of the ABI: hosts map
/// 1–4 to their exception classes, the others to misuse or internal errors.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncwoStatus {
    /// Success; `*out` holds the result.
    Ok = 0,
    /// `*out` holds an error document of class `usage` (misuse of the API).
    Usage = 1,
    /// `*out` holds an error document of class `contract`.
    Contract = 2,
    /// `*out` holds an error document of class `technical`.
    Technical = 3,
    /// `*out` holds an error document of class `business`.
    Business = 4,
    /// A required pointer argument was NULL; nothing written.
    NullArgument = 10,
    /// A string argument was not valid UTF-8; nothing written.
    InvalidUtf8 = 11,
    /// The handle is unknown or already freed; nothing written.
    InvalidHandle = 12,
    /// The core panicked (a bug, or the `debug.panic` self-test): `*out` (or
    /// `*out_error`) holds the error document, class `usage`, code
    /// `usage.internal_panic`, with the panic's message; the process and the
    /// core handles go on. A flow that panicked answers this status (and that
    /// document) to every later call: resume it from its last checkpoint.
    Panic = 13,
    /// The result could not be returned as a C string (interior NUL).
    InteriorNul = 14,
}

impl IncwoStatus {
    /// Every status, for tests and for hosts that list them.
    const ALL: [IncwoStatus; 10] = [
        IncwoStatus::Ok,
        IncwoStatus::Usage,
        IncwoStatus::Contract,
        IncwoStatus::Technical,
        IncwoStatus::Business,
        IncwoStatus::NullArgument,
        IncwoStatus::InvalidUtf8,
        IncwoStatus::InvalidHandle,
        IncwoStatus::Panic,
        IncwoStatus::InteriorNul,
    ];

    /// Stable snake_case name of the status (NUL-terminated).
    const fn name(self) -> &'static CStr {
        match self {
            IncwoStatus::Ok => c"ok",
            IncwoStatus::Usage => c"usage",
            IncwoStatus::Contract => c"contract",
            IncwoStatus::Technical => c"technical",
            IncwoStatus::Business => c"business",
            IncwoStatus::NullArgument => c"null_argument",
            IncwoStatus::InvalidUtf8 => c"invalid_utf8",
            IncwoStatus::InvalidHandle => c"invalid_handle",
            IncwoStatus::Panic => c"panic",
            IncwoStatus::InteriorNul => c"interior_nul",
        }
    }

    /// The status of a core result: the error class of `{"error": {...}}`, else OK.
    fn of(value: &Value) -> IncwoStatus {
        match value.get("error").and_then(|e| e.get("class")).and_then(Value::as_str) {
            None => IncwoStatus::Ok,
            Some(class) => IncwoStatus::of_class(class),
        }
    }

    /// The status of an error class (`usage` for a class it does not know).
    fn of_class(class: &str) -> IncwoStatus {
        match class {
            "contract" => IncwoStatus::Contract,
            "technical" => IncwoStatus::Technical,
            "business" => IncwoStatus::Business,
            _ => IncwoStatus::Usage,
        }
    }
}

/// A configured core: the mapping profile every validate/map/schema call uses.
/// Opaque; create with [`incwo_core_new`], release with [`incwo_core_free`].
pub struct IncwoCore {
    _id: usize,
}

/// A running flow (the sans-IO state machine the host drives). Opaque;
/// create with [`incwo_flow_start`], release with [`incwo_flow_free`].
pub struct IncwoFlow {
    _id: usize,
}

struct CoreState {
    profile: Option<String>,
}

type Registry<T> = Mutex<BTreeMap<usize, Arc<T>>>;

static CORES: Registry<CoreState> = Mutex::new(BTreeMap::new());
static FLOWS: Registry<Mutex<FlowSession>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicUsize = AtomicUsize::new(0x1000);

fn lock<T>(registry: &Registry<T>) -> MutexGuard<'_, BTreeMap<usize, Arc<T>>> {
    registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn register<T>(registry: &Registry<T>, value: T) -> usize {
    // Ids are never reused, so a stale handle is always detected.
    let id = NEXT_ID.fetch_add(16, Ordering::Relaxed);
    lock(registry).insert(id, Arc::new(value));
    id
}

fn lookup<T>(registry: &Registry<T>, id: usize) -> Result<Arc<T>, IncwoStatus> {
    lock(registry).get(&id).cloned().ok_or(IncwoStatus::InvalidHandle)
}

fn release<T>(registry: &Registry<T>, id: usize) -> IncwoStatus {
    if id == 0 {
        return IncwoStatus::Ok;
    }
    match lock(registry).remove(&id) {
        Some(_) => IncwoStatus::Ok,
        None => IncwoStatus::InvalidHandle,
    }
}

/// Runs `f`, turning a panic into [`IncwoStatus::Panic`] (for the exports
/// without an output).
fn guard(f: impl FnOnce() -> Result<IncwoStatus, IncwoStatus>) -> IncwoStatus {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(status)) | Ok(Err(status)) => status,
        Err(payload) => {
            forget_panic(payload);
            IncwoStatus::Panic
        }
    }
}

/// Runs `f`, turning a panic into [`IncwoStatus::Panic`] with the core's
/// `usage.internal_panic` error document written to `*out` (unless `out` is
/// NULL). A panic happens before anything is written: writing is the last
/// step of every export.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn guard_out(out: *mut *mut c_char, f: impl FnOnce() -> Result<IncwoStatus, IncwoStatus>) -> IncwoStatus {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(status)) | Ok(Err(status)) => status,
        Err(payload) => {
            let document = catch_unwind(AssertUnwindSafe(|| api::panic_error(&*payload).to_string()));
            forget_panic(payload);
            if let (false, Ok(text)) = (out.is_null(), document) {
                if let Ok(text) = CString::new(text) {
                    *out = text.into_raw();
                }
            }
            IncwoStatus::Panic
        }
    }
}

/// Drops a panic's payload without letting a panicking `Drop` escape.
fn forget_panic(payload: Box<dyn std::any::Any + Send>) {
    if let Err(inner) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(inner);
    }
}

/// The error document of a flow left unusable by an earlier panic.
///
/// # Safety
/// `out` is non-null and writable.
unsafe fn write_poisoned(out: *mut *mut c_char) -> Result<IncwoStatus, IncwoStatus> {
    let error = UsageError::new(
        "usage.internal_panic",
        "the connector core panicked in an earlier call of this flow, which is unusable now",
        "free this flow and resume it from its last checkpoint; report the panic to the connector's maintainers",
    );
    write_text(out, api::usage_error(&error).to_string(), IncwoStatus::Panic)
}

/// A required string argument.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for the call.
unsafe fn text<'a>(ptr: *const c_char) -> Result<&'a str, IncwoStatus> {
    if ptr.is_null() {
        return Err(IncwoStatus::NullArgument);
    }
    CStr::from_ptr(ptr).to_str().map_err(|_| IncwoStatus::InvalidUtf8)
}

/// An optional string argument (NULL is `None`).
///
/// # Safety
/// As [`text`].
unsafe fn optional_text<'a>(ptr: *const c_char) -> Result<Option<&'a str>, IncwoStatus> {
    if ptr.is_null() {
        Ok(None)
    } else {
        text(ptr).map(Some)
    }
}

fn non_null<T>(out: *mut *mut T) -> Result<(), IncwoStatus> {
    if out.is_null() {
        Err(IncwoStatus::NullArgument)
    } else {
        Ok(())
    }
}

/// Parses a JSON argument; malformed JSON is the core's usage error.
fn json_arg(text: &str) -> Result<Value, Value> {
    serde_json::from_str(text).map_err(|e| api::usage_error(&UsageError::malformed_json(&e)))
}

/// Writes `text` to `*out`.
///
/// # Safety
/// `out` is non-null and writable.
unsafe fn write_text(out: *mut *mut c_char, text: String, status: IncwoStatus) -> Result<IncwoStatus, IncwoStatus> {
    let c = CString::new(text).map_err(|_| IncwoStatus::InteriorNul)?;
    *out = c.into_raw();
    Ok(status)
}

/// Writes a core result to `*out`; the status follows its error class.
///
/// # Safety
/// `out` is non-null and writable.
unsafe fn write_json(out: *mut *mut c_char, value: &Value) -> Result<IncwoStatus, IncwoStatus> {
    write_text(out, value.to_string(), IncwoStatus::of(value))
}

/// The library's version (static string; do not free).
#[no_mangle]
pub extern "C" fn incwo_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The stable name of a status code (static string; do not free);
/// `"unknown"` for a value that is not an [`IncwoStatus`].
#[no_mangle]
pub extern "C" fn incwo_status_name(status: i32) -> *const c_char {
    IncwoStatus::ALL
        .iter()
        .find(|s| **s as i32 == status)
        .map_or(c"unknown", |s| s.name())
        .as_ptr()
}

/// Frees a string returned by this library. NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string returned by this library, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn incwo_string_free(s: *mut c_char) {
    if !s.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(CString::from_raw(s))));
    }
}

/// `validate(kind, input, profile?)` → the validation report
/// `{kind, valid, violations, record?}`. `profile` may be NULL (default profile).
///
/// # Safety
/// String arguments are NULL or NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn incwo_validate(
    kind: *const c_char,
    input: *const c_char,
    profile: *const c_char,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let value = api::validate(text(kind)?, text(input)?, optional_text(profile)?);
        write_json(out, &value)
    })
}

/// `map(kind, input, profile?)` → `{resource, xml, totals?, warnings}` or a
/// contract error document.
///
/// # Safety
/// As [`incwo_validate`].
#[no_mangle]
pub unsafe extern "C" fn incwo_map(
    kind: *const c_char,
    input: *const c_char,
    profile: *const c_char,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let value = api::map(text(kind)?, text(input)?, optional_text(profile)?);
        write_json(out, &value)
    })
}

/// `schema(kind, profile?)` → the JSON Schema of the kind.
///
/// # Safety
/// As [`incwo_validate`].
#[no_mangle]
pub unsafe extern "C" fn incwo_schema(
    kind: *const c_char,
    profile: *const c_char,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let value = api::schema(text(kind)?, optional_text(profile)?);
        write_json(out, &value)
    })
}

/// `parse(resource, xml)` → the typed view of an incwo XML document. `xml`
/// is `len` bytes (not NUL-terminated); it may be NULL when `len` is 0.
///
/// # Safety
/// `xml` points to `len` readable bytes; `resource` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn incwo_parse(
    resource: *const c_char,
    xml: *const u8,
    len: usize,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let bytes: &[u8] = if len == 0 {
            &[]
        } else if xml.is_null() {
            return Err(IncwoStatus::NullArgument);
        } else {
            std::slice::from_raw_parts(xml, len)
        };
        let value = api::parse(text(resource)?, bytes);
        write_json(out, &value)
    })
}

/// `check_profile(text)` → the profile with its defaults filled, or its problems.
///
/// # Safety
/// As [`incwo_validate`].
#[no_mangle]
pub unsafe extern "C" fn incwo_check_profile(profile: *const c_char, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        write_json(out, &api::check_profile(text(profile)?))
    })
}

/// `call(name, args)`: the core's JSON calls by name (`request`, `classify`,
/// `retry`, `retry.decide`, `telemetry.render`, `telemetry.redact`,
/// `telemetry.normalize_endpoint`, `telemetry.log`, …). `args` is JSON text.
/// `debug.panic` (`{"message": "…"}`) panics on purpose: the self-test of
/// the panic barrier (`INCWO_STATUS_PANIC` and a `usage.internal_panic`
/// document); never use it in production.
///
/// # Safety
/// As [`incwo_validate`].
#[no_mangle]
pub unsafe extern "C" fn incwo_call(name: *const c_char, args: *const c_char, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let name = text(name)?;
        let value = match json_arg(text(args)?) {
            Ok(args) => api::call(name, &args),
            Err(error) => error,
        };
        write_json(out, &value)
    })
}

/// The queue a family of records goes to: `args` is
/// `{"family": "quote"|"order"|"stock"|"billing"|"referential", "company"?,
/// "currency"?, "warehouse"?, "quarantine"?}`; the result is `{"queue": "…"}`.
///
/// # Safety
/// As [`incwo_validate`].
#[no_mangle]
pub unsafe extern "C" fn incwo_queue_name(args: *const c_char, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let value = match json_arg(text(args)?) {
            Ok(args) => queue_json(&args),
            Err(error) => error,
        };
        write_json(out, &value)
    })
}

fn queue_json(args: &Value) -> Value {
    api::call("queue.name", args)
}

/// Creates a core configured with a mapping profile (JSON text; NULL for the
/// shipped default). An invalid profile writes its error document to
/// `*out_error` and no handle.
///
/// # Safety
/// `profile` is NULL or NUL-terminated; `out_core` and `out_error` are writable.
#[no_mangle]
pub unsafe extern "C" fn incwo_core_new(
    profile: *const c_char,
    out_core: *mut *mut IncwoCore,
    out_error: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out_error, || {
        non_null(out_core)?;
        non_null(out_error)?;
        let profile = optional_text(profile)?;
        if let Some(text) = profile {
            let checked = api::check_profile(text);
            if checked.get("error").is_some() {
                return write_json(out_error, &checked);
            }
        }
        let id = register(
            &CORES,
            CoreState {
                profile: profile.map(str::to_owned),
            },
        );
        *out_core = id as *mut IncwoCore;
        Ok(IncwoStatus::Ok)
    })
}

/// Releases a core. NULL is a no-op; a handle already freed gives
/// `INCWO_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn incwo_core_free(core: *mut IncwoCore) -> IncwoStatus {
    guard(|| Ok(release(&CORES, core as usize)))
}

/// [`incwo_validate`] with the core's profile.
///
/// # Safety
/// As [`incwo_validate`]; `core` is a handle from [`incwo_core_new`].
#[no_mangle]
pub unsafe extern "C" fn incwo_core_validate(
    core: *const IncwoCore,
    kind: *const c_char,
    input: *const c_char,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let state = lookup(&CORES, core as usize)?;
        let value = api::validate(text(kind)?, text(input)?, state.profile.as_deref());
        write_json(out, &value)
    })
}

/// [`incwo_map`] with the core's profile.
///
/// # Safety
/// As [`incwo_core_validate`].
#[no_mangle]
pub unsafe extern "C" fn incwo_core_map(
    core: *const IncwoCore,
    kind: *const c_char,
    input: *const c_char,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let state = lookup(&CORES, core as usize)?;
        let value = api::map(text(kind)?, text(input)?, state.profile.as_deref());
        write_json(out, &value)
    })
}

/// [`incwo_schema`] with the core's profile.
///
/// # Safety
/// As [`incwo_core_validate`].
#[no_mangle]
pub unsafe extern "C" fn incwo_core_schema(
    core: *const IncwoCore,
    kind: *const c_char,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let state = lookup(&CORES, core as usize)?;
        write_json(out, &api::schema(text(kind)?, state.profile.as_deref()))
    })
}

/// Starts a flow. `args` is the JSON of `FlowSession::start`:
/// `{"config", "profile"?, "options"?, "records" | "jsonl", "now", "seed"?,
/// "checkpoint"?}` (with `checkpoint`, the flow resumes). On error the
/// error document goes to `*out_error` and no handle is written.
///
/// # Safety
/// `args` is NUL-terminated; `out_flow` and `out_error` are writable.
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_start(
    args: *const c_char,
    out_flow: *mut *mut IncwoFlow,
    out_error: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out_error, || {
        non_null(out_flow)?;
        non_null(out_error)?;
        let args = match json_arg(text(args)?) {
            Ok(args) => args,
            Err(error) => return write_json(out_error, &error),
        };
        match FlowSession::start(&args) {
            Ok(session) => {
                *out_flow = register(&FLOWS, Mutex::new(session)) as *mut IncwoFlow;
                Ok(IncwoStatus::Ok)
            }
            Err(e) => write_json(out_error, &api::usage_error(&e)),
        }
    })
}

/// Resumes a flow from a checkpoint the host saved: the same as
/// [`incwo_flow_start`] with `checkpoint` set in `args`.
///
/// # Safety
/// As [`incwo_flow_start`]; `checkpoint` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_resume(
    args: *const c_char,
    checkpoint: *const c_char,
    out_flow: *mut *mut IncwoFlow,
    out_error: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out_error, || {
        non_null(out_flow)?;
        non_null(out_error)?;
        let checkpoint = text(checkpoint)?;
        let mut args = match json_arg(text(args)?) {
            Ok(args) => args,
            Err(error) => return write_json(out_error, &error),
        };
        match args.as_object_mut() {
            Some(map) => {
                map.insert("checkpoint".into(), Value::String(checkpoint.to_owned()));
            }
            None => {
                let error = UsageError::new(
                    "usage.bad_arguments",
                    "args must be a JSON object",
                    "pass the flow's start arguments",
                );
                return write_json(out_error, &api::usage_error(&error));
            }
        }
        match FlowSession::start(&args) {
            Ok(session) => {
                *out_flow = register(&FLOWS, Mutex::new(session)) as *mut IncwoFlow;
                Ok(IncwoStatus::Ok)
            }
            Err(e) => write_json(out_error, &api::usage_error(&e)),
        }
    })
}

/// Runs `f` on a live flow; a flow poisoned by an earlier panic stays
/// unusable ([`IncwoStatus::Panic`] and its error document in `*out`).
///
/// # Safety
/// `out` is non-null and writable.
unsafe fn with_flow(
    flow: *const IncwoFlow,
    out: *mut *mut c_char,
    f: impl FnOnce(&mut FlowSession) -> Result<IncwoStatus, IncwoStatus>,
) -> Result<IncwoStatus, IncwoStatus> {
    let session = lookup(&FLOWS, flow as usize)?;
    let Ok(mut guard) = session.lock() else {
        return write_poisoned(out);
    };
    f(&mut guard)
}

/// The next action (`send`, `wait`, `publish`, `recordDone`, `done`) as JSON.
///
/// # Safety
/// `flow` is a handle from [`incwo_flow_start`]; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_poll(flow: *mut IncwoFlow, now: u64, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        with_flow(flow, out, |session| write_json(out, &session.poll(now)))
    })
}

/// The answer to request `request_id`: `response` is
/// `{"status", "headers"?, "body"? | "bodyBase64"?}`; the result is `{"ok": true}`.
///
/// # Safety
/// As [`incwo_flow_poll`]; `response` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_on_response(
    flow: *mut IncwoFlow,
    request_id: u64,
    response: *const c_char,
    now: u64,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let response = text(response)?;
        with_flow(flow, out, |session| match json_arg(response) {
            Ok(response) => write_json(out, &session.on_response(request_id, &response, now)),
            Err(error) => write_json(out, &error),
        })
    })
}

/// A transport failure of request `request_id`: `failure` is
/// `{"kind": "timeout"|"reset"|"connect_refused"|"dns"|"tls", "phase":
/// "connect"|"tls_handshake"|"sent"|"unknown"}` (`phase` absent: `unknown`).
///
/// # Safety
/// As [`incwo_flow_on_response`].
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_on_transport_error(
    flow: *mut IncwoFlow,
    request_id: u64,
    failure: *const c_char,
    now: u64,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let failure = text(failure)?;
        with_flow(flow, out, |session| match json_arg(failure) {
            Ok(failure) => write_json(out, &session.on_transport_error(request_id, &failure, now)),
            Err(error) => write_json(out, &error),
        })
    })
}

/// The flow's checkpoint (versioned JSON text the host stores and passes
/// back as `checkpoint` to resume).
///
/// # Safety
/// As [`incwo_flow_poll`].
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_checkpoint(flow: *const IncwoFlow, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        with_flow(flow, out, |session| {
            write_text(out, session.checkpoint(), IncwoStatus::Ok)
        })
    })
}

/// `{"entries": [...]}`: the ledger entries changed since the last call,
/// for hosts that keep a shared ledger table (write them back one by one,
/// in particular the `pending` entry before a `send` leaves).
///
/// # Safety
/// As [`incwo_flow_poll`].
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_take_changed_entries(flow: *mut IncwoFlow, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        with_flow(flow, out, |session| write_json(out, &session.take_changed_entries()))
    })
}

/// Loads the marker index the host saved beside the ledger (call before the
/// first poll): `index` is the JSON of what [`incwo_flow_take_index_changes`]
/// returned, accumulated (entries upserted by resource and marker, coverage
/// by resource). The result is `{"ok": true}`, or a usage error
/// (`usage.bad_index`) when it does not parse.
///
/// # Safety
/// As [`incwo_flow_poll`]; `index` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_load_index(
    flow: *mut IncwoFlow,
    index: *const c_char,
    out: *mut *mut c_char,
) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        let index = text(index)?;
        with_flow(flow, out, |session| match session.load_index(index) {
            Ok(()) => write_json(out, &serde_json::json!({"ok": true})),
            Err(error) => write_json(out, &api::usage_error(&error)),
        })
    })
}

/// `{"entries": [{"resource", "marker", "found"}], "coverage": {resource:
/// {...}}}`: what changed in the marker index since the last call, to upsert
/// in the same transaction as the ledger entries.
///
/// # Safety
/// As [`incwo_flow_poll`].
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_take_index_changes(flow: *mut IncwoFlow, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        with_flow(flow, out, |session| write_json(out, &session.take_index_changes()))
    })
}

/// `{"passes": [{"resource", "pagesRead", "totalPages"}]}`: the marker
/// index passes in progress, for a progress bar.
///
/// # Safety
/// As [`incwo_flow_poll`].
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_index_progress(flow: *const IncwoFlow, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        with_flow(flow, out, |session| write_json(out, &session.index_progress()))
    })
}

/// The flow's metrics in Prometheus text format.
///
/// # Safety
/// As [`incwo_flow_poll`].
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_metrics(flow: *const IncwoFlow, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        with_flow(flow, out, |session| write_text(out, session.metrics(), IncwoStatus::Ok))
    })
}

/// `{"summary": {...}, "outcomes": [...]}` of the flow so far.
///
/// # Safety
/// As [`incwo_flow_poll`].
#[no_mangle]
pub unsafe extern "C" fn incwo_flow_summary(flow: *const IncwoFlow, out: *mut *mut c_char) -> IncwoStatus {
    guard_out(out, || {
        non_null(out)?;
        with_flow(flow, out, |session| write_json(out, &session.summary()))
    })
}

/// Releases a flow. NULL is a no-op; a handle already freed gives
/// `INCWO_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn incwo_flow_free(flow: *mut IncwoFlow) -> IncwoStatus {
    guard(|| Ok(release(&FLOWS, flow as usize)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;
    use std::ptr;

    #[test]
    fn the_headers_declare_the_crate_version() {
        // INCWO_HEADER_VERSION comes from cbindgen.toml (`after_includes`):
        // bump it with the workspace's version, then regenerate the headers
        // (scripts/suites/php.sh checks they match and says how).
        let define = format!("#define INCWO_HEADER_VERSION \"{}\"", env!("CARGO_PKG_VERSION"));
        for (name, header) in [
            ("incwo.h", include_str!("../include/incwo.h")),
            ("incwo.preload.h", include_str!("../include/incwo.preload.h")),
        ] {
            assert!(header.lines().any(|l| l == define), "include/{name} lacks `{define}`");
        }
        let version = unsafe { CStr::from_ptr(incwo_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    fn take(s: *mut c_char) -> String {
        assert!(!s.is_null());
        let text = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_owned();
        unsafe { incwo_string_free(s) };
        text
    }

    #[test]
    fn status_codes_and_names_are_unique() {
        let codes: HashSet<i32> = IncwoStatus::ALL.iter().map(|s| *s as i32).collect();
        assert_eq!(codes.len(), IncwoStatus::ALL.len());
        let names: HashSet<&str> = IncwoStatus::ALL
            .iter()
            .map(|s| {
                unsafe { CStr::from_ptr(incwo_status_name(*s as i32)) }
                    .to_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(names.len(), IncwoStatus::ALL.len());
        assert_eq!(
            unsafe { CStr::from_ptr(incwo_status_name(999)) }.to_str().unwrap(),
            "unknown"
        );
    }

    #[test]
    fn a_panic_becomes_a_status() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, IncwoStatus::Panic);
        let status = unsafe { guard_out(ptr::null_mut(), || panic!("boom")) };
        assert_eq!(status, IncwoStatus::Panic);
    }

    #[test]
    fn a_panic_in_the_core_is_a_typed_error_and_the_core_goes_on() {
        let mut core: *mut IncwoCore = ptr::null_mut();
        let mut error: *mut c_char = ptr::null_mut();
        assert_eq!(
            unsafe { incwo_core_new(ptr::null(), &mut core, &mut error) },
            IncwoStatus::Ok
        );
        for _ in 0..2 {
            let mut out: *mut c_char = ptr::null_mut();
            let status = unsafe {
                incwo_call(
                    c"debug.panic".as_ptr(),
                    c"{\"message\": \"self-test\"}".as_ptr(),
                    &mut out,
                )
            };
            assert_eq!(status, IncwoStatus::Panic);
            let document: Value = serde_json::from_str(&take(out)).unwrap();
            assert_eq!(document["error"]["class"], "usage");
            assert_eq!(document["error"]["code"], "usage.internal_panic");
            assert_eq!(document["error"]["message"], "the connector core panicked: self-test");
            let mut out: *mut c_char = ptr::null_mut();
            assert_eq!(
                unsafe { incwo_core_schema(core, c"order".as_ptr(), &mut out) },
                IncwoStatus::Ok
            );
            assert!(take(out).contains("orderNumber"));
        }
        assert_eq!(incwo_core_free(core), IncwoStatus::Ok);
    }

    #[test]
    fn a_flow_that_panicked_stays_unusable_with_a_typed_error() {
        let session = FlowSession::start(&json!({
            "config": {"server": "https://www.incwo.com", "businessFileId": "123456",
                       "auth": {"type": "basic", "login": "api@example.fr", "password": "secret"}},
            "records": [],
            "now": 0,
        }))
        .unwrap();
        let id = register(&FLOWS, Mutex::new(session));
        let flow = id as *mut IncwoFlow;
        let mut out: *mut c_char = ptr::null_mut();
        let status = unsafe { guard_out(&mut out, || with_flow(flow, &mut out, |_| panic!("inside the flow"))) };
        assert_eq!(status, IncwoStatus::Panic);
        assert!(take(out).contains("the connector core panicked: inside the flow"));
        let mut out: *mut c_char = ptr::null_mut();
        assert_eq!(unsafe { incwo_flow_poll(flow, 0, &mut out) }, IncwoStatus::Panic);
        let text = take(out);
        assert!(
            text.contains("usage.internal_panic") && text.contains("earlier call"),
            "{text}"
        );
        assert_eq!(incwo_flow_free(flow), IncwoStatus::Ok);
    }

    #[test]
    fn the_marker_index_loads_is_taken_and_reports_progress() {
        let session = FlowSession::start(&json!({
            "config": {"server": "https://www.incwo.com", "businessFileId": "123456",
                       "auth": {"type": "basic", "login": "api@example.fr", "password": "secret"}},
            "records": [],
            "now": 0,
        }))
        .unwrap();
        let flow = register(&FLOWS, Mutex::new(session)) as *mut IncwoFlow;
        let mut out: *mut c_char = ptr::null_mut();
        let saved = c"{\"entries\": [{\"resource\": \"firms\", \"marker\": \"C-1\", \"found\": [{\"id\": 7}]}]}";
        assert_eq!(
            unsafe { incwo_flow_load_index(flow, saved.as_ptr(), &mut out) },
            IncwoStatus::Ok
        );
        assert_eq!(take(out), r#"{"ok":true}"#);
        assert_eq!(
            unsafe { incwo_flow_load_index(flow, c"{".as_ptr(), &mut out) },
            IncwoStatus::Usage
        );
        assert!(take(out).contains("usage.bad_index"));
        assert_eq!(
            unsafe { incwo_flow_take_index_changes(flow, &mut out) },
            IncwoStatus::Ok
        );
        assert_eq!(take(out), r#"{"coverage":{},"entries":[]}"#);
        assert_eq!(unsafe { incwo_flow_index_progress(flow, &mut out) }, IncwoStatus::Ok);
        assert_eq!(take(out), r#"{"passes":[]}"#);
        assert_eq!(incwo_flow_free(flow), IncwoStatus::Ok);
    }

    #[test]
    fn errors_map_to_their_class_and_nothing_is_written_on_misuse() {
        let mut out: *mut c_char = ptr::null_mut();
        let status = unsafe { incwo_validate(c"orders".as_ptr(), c"{}".as_ptr(), ptr::null(), &mut out) };
        assert_eq!(status, IncwoStatus::Usage);
        assert!(take(out).contains("usage.unknown_kind"));

        let mut out: *mut c_char = ptr::null_mut();
        let status = unsafe { incwo_validate(ptr::null(), c"{}".as_ptr(), ptr::null(), &mut out) };
        assert_eq!(status, IncwoStatus::NullArgument);
        assert!(out.is_null());

        let bad = [0xffu8, 0];
        let status = unsafe { incwo_call(bad.as_ptr().cast(), c"{}".as_ptr(), &mut out) };
        assert_eq!(status, IncwoStatus::InvalidUtf8);
        assert!(out.is_null());

        let status = unsafe { incwo_call(c"classify".as_ptr(), c"{".as_ptr(), &mut out) };
        assert_eq!(status, IncwoStatus::Usage);
        assert!(take(out).contains("usage.malformed_json"));
    }

    #[test]
    fn handles_used_after_free_are_detected() {
        let mut core: *mut IncwoCore = ptr::null_mut();
        let mut error: *mut c_char = ptr::null_mut();
        assert_eq!(
            unsafe { incwo_core_new(ptr::null(), &mut core, &mut error) },
            IncwoStatus::Ok
        );
        assert!(error.is_null());
        let mut out: *mut c_char = ptr::null_mut();
        assert_eq!(
            unsafe { incwo_core_schema(core, c"order".as_ptr(), &mut out) },
            IncwoStatus::Ok
        );
        take(out);
        assert_eq!(incwo_core_free(core), IncwoStatus::Ok);
        assert_eq!(incwo_core_free(core), IncwoStatus::InvalidHandle);
        let mut out: *mut c_char = ptr::null_mut();
        assert_eq!(
            unsafe { incwo_core_schema(core, c"order".as_ptr(), &mut out) },
            IncwoStatus::InvalidHandle
        );
        assert!(out.is_null());
        assert_eq!(incwo_flow_free(ptr::null_mut()), IncwoStatus::Ok);
        assert_eq!(
            unsafe { incwo_flow_poll(0x10 as *mut IncwoFlow, 0, &mut out) },
            IncwoStatus::InvalidHandle
        );
    }

    #[test]
    fn queue_names_come_from_the_core() {
        assert_eq!(
            queue_json(&json!({"family": "order", "company": "ACME", "currency": "EUR"}))["queue"],
            "erp.incwo.order.acme.eur"
        );
        assert_eq!(
            queue_json(&json!({"family": "billing", "company": "acme", "quarantine": true}))["queue"],
            "erp.incwo.billing.acme.quarantine"
        );
        assert_eq!(
            queue_json(&json!({"family": "stock", "warehouse": ".."}))["error"]["class"],
            "usage"
        );
    }
}
