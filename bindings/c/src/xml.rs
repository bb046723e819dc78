//! Bytes in, XML bytes out ([`incwo_core::api::map_xml`],
//! [`incwo_core::api::map_many_xml`]): for hosts that want only the XML, no
//! JSON document to escape here and decode there, and many records in one
//! call. Inputs are pointer + length (PHP passes its strings without a copy);
//! the XML comes back as bytes the caller frees with [`incwo_bytes_free`].

use crate::{guard, lookup, text, write_text, IncwoCore, IncwoStatus, CORES};
use incwo_core::api;
use incwo_core::usage::UsageError;
use serde_json::Value;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Writes `bytes` to `*out` and its length to `*out_len`.
///
/// # Safety
/// `out` and `out_len` are non-null and writable.
unsafe fn write_bytes(out: *mut *mut u8, out_len: *mut usize, bytes: Vec<u8>) {
    let boxed = bytes.into_boxed_slice();
    *out_len = boxed.len();
    *out = Box::into_raw(boxed).cast::<u8>();
}

/// Writes an error document as bytes; the status follows its class.
///
/// # Safety
/// As [`write_bytes`].
unsafe fn write_error(out: *mut *mut u8, out_len: *mut usize, document: &Value) -> IncwoStatus {
    write_bytes(out, out_len, document.to_string().into_bytes());
    IncwoStatus::of(document)
}

/// Runs `f`, turning a panic into [`IncwoStatus::Panic`] with the core's
/// `usage.internal_panic` document written to `*out` (as [`crate::guard_out`]
/// does for strings).
///
/// # Safety
/// `out` and `out_len` are NULL or writable.
unsafe fn guard_bytes(
    out: *mut *mut u8,
    out_len: *mut usize,
    f: impl FnOnce() -> Result<IncwoStatus, IncwoStatus>,
) -> IncwoStatus {
    let mut panicked = None;
    let status = guard(|| match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            panicked = Some(api::panic_error(&*payload).to_string());
            crate::forget_panic(payload);
            Err(IncwoStatus::Panic)
        }
    });
    if let (Some(document), false) = (panicked, out.is_null() || out_len.is_null()) {
        write_bytes(out, out_len, document.into_bytes());
    }
    status
}

/// A required output pointer.
fn required<T>(ptr: *mut T) -> Result<(), IncwoStatus> {
    if ptr.is_null() {
        Err(IncwoStatus::NullArgument)
    } else {
        Ok(())
    }
}

/// `len` bytes at `ptr` (NULL allowed when `len` is 0).
///
/// # Safety
/// `ptr` points to `len` readable bytes.
unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> Result<&'a [u8], IncwoStatus> {
    if len == 0 {
        Ok(&[])
    } else if ptr.is_null() {
        Err(IncwoStatus::NullArgument)
    } else {
        Ok(std::slice::from_raw_parts(ptr.cast::<u8>(), len))
    }
}

/// Sets `*out` and `*out_warnings` to NULL (those not NULL themselves), so
/// that they are NULL on every path that writes nothing to them.
///
/// # Safety
/// `out` and `out_warnings` are NULL or writable.
unsafe fn clear(out: *mut *mut u8, out_warnings: *mut *mut c_char) {
    if !out.is_null() {
        *out = std::ptr::null_mut();
    }
    if !out_warnings.is_null() {
        *out_warnings = std::ptr::null_mut();
    }
}

/// Writes the warnings' JSON text to `*out_warnings` when there are some and
/// the caller asked (`out_warnings` not NULL); NULL otherwise.
///
/// # Safety
/// `out_warnings` is NULL or writable.
unsafe fn write_warnings(out_warnings: *mut *mut c_char, warnings: Option<String>) -> Result<(), IncwoStatus> {
    if out_warnings.is_null() {
        return Ok(());
    }
    if let Some(text) = warnings {
        write_text(out_warnings, text, IncwoStatus::Ok)?;
    }
    Ok(())
}

/// Frees bytes returned by this library (`*out` of [`incwo_core_map_xml`]
/// and [`incwo_core_map_many`]), with the length returned alongside. NULL is
/// a no-op.
///
/// # Safety
/// `bytes` is NULL or bytes returned by this library with that length, not
/// freed yet.
#[no_mangle]
pub unsafe extern "C" fn incwo_bytes_free(bytes: *mut u8, len: usize) {
    if !bytes.is_null() {
        let slice = std::ptr::slice_from_raw_parts_mut(bytes, len);
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(slice))));
    }
}

/// `incwo_core_map` for a host that wants only the XML: the record
/// is `input_len` bytes of JSON (not NUL-terminated; NULL when the length is
/// 0). On success `*out` holds the XML (`*out_len` bytes, no NUL), and
/// `*out_warnings`, unless NULL, the JSON array of the record's warnings or
/// NULL when it has none (free it with `incwo_string_free`).
/// Otherwise `*out` holds the error document `incwo_core_map` answers, with
/// the status of its class. Free `*out` with [`incwo_bytes_free`].
///
/// # Safety
/// `core` is a handle from `incwo_core_new`; `kind` is
/// NUL-terminated; `input` points to `input_len` readable bytes; `out` and
/// `out_len` are writable; `out_warnings` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn incwo_core_map_xml(
    core: *const IncwoCore,
    kind: *const c_char,
    input: *const c_char,
    input_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
    out_warnings: *mut *mut c_char,
) -> IncwoStatus {
    clear(out, out_warnings);
    guard_bytes(out, out_len, || {
        required(out)?;
        required(out_len)?;
        let state = lookup(&CORES, core as usize)?;
        let (kind, input) = (text(kind)?, bytes(input, input_len)?);
        match api::map_xml(kind, input, state.profile.as_deref()) {
            Ok(mapped) => {
                write_warnings(out_warnings, mapped.warnings_json())?;
                write_bytes(out, out_len, mapped.xml.into_bytes());
                Ok(IncwoStatus::Ok)
            }
            Err(document) => Ok(write_error(out, out_len, &document)),
        }
    })
}

/// Maps `count` records of one kind in one call. The records are
/// concatenated in `inputs` (`inputs_len` bytes), record `i` being
/// `lengths[i]` bytes of JSON; the lengths must add up to `inputs_len`.
///
/// `*out` (free it with [`incwo_bytes_free`]) holds one item per record, in
/// order, each followed by one NUL byte: the record's XML, or the error
/// document of a record that was not mapped. `*out_failed` is the number of
/// records not mapped; `statuses`, unless NULL, receives `count` statuses
/// (`INCWO_STATUS_OK` or the class of the record's error). `*out_warnings`,
/// unless NULL, receives `[{"index": i, "warnings": [...]}, ...]` for the
/// records mapped with warnings, or NULL when none has one.
///
/// The call's own status is `INCWO_STATUS_OK` when every record was tried
/// (whatever their outcomes); otherwise the error document of the whole call
/// (unknown kind, lengths that do not add up) is in `*out`. `*out` and
/// `*out_warnings` are set to NULL first, as by `incwo_core_map_xml`.
///
/// # Safety
/// `core` is a handle from `incwo_core_new`; `kind` is
/// NUL-terminated; `inputs` points to `inputs_len` readable bytes; `lengths`
/// to `count` lengths; `statuses` is NULL or has room for `count` statuses;
/// `out`, `out_len` and `out_failed` are writable; `out_warnings` is NULL or
/// writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn incwo_core_map_many(
    core: *const IncwoCore,
    kind: *const c_char,
    inputs: *const c_char,
    inputs_len: usize,
    lengths: *const usize,
    count: usize,
    statuses: *mut IncwoStatus,
    out: *mut *mut u8,
    out_len: *mut usize,
    out_failed: *mut usize,
    out_warnings: *mut *mut c_char,
) -> IncwoStatus {
    clear(out, out_warnings);
    guard_bytes(out, out_len, || {
        required(out)?;
        required(out_len)?;
        required(out_failed)?;
        let state = lookup(&CORES, core as usize)?;
        let kind = text(kind)?;
        let data = bytes(inputs, inputs_len)?;
        let lengths: &[usize] = match count {
            0 => &[],
            _ if lengths.is_null() => return Err(IncwoStatus::NullArgument),
            _ => std::slice::from_raw_parts(lengths, count),
        };
        let total = lengths.iter().try_fold(0usize, |sum, len| sum.checked_add(*len));
        if total != Some(data.len()) {
            let error = UsageError::new(
                "usage.bad_arguments",
                format!(
                    "the {count} record lengths add up to {}, but the records are {} bytes",
                    total.map_or_else(|| "more than the address space".to_owned(), |t| t.to_string()),
                    data.len()
                ),
                "pass the records concatenated and the length of each, in the same order",
            );
            return Ok(write_error(out, out_len, &api::usage_error(&error)));
        }
        let mut rest = data;
        let records = lengths.iter().map(|len| {
            let (record, tail) = rest.split_at(*len);
            rest = tail;
            record
        });
        let many = match api::map_many_xml(kind, records, state.profile.as_deref()) {
            Ok(many) => many,
            Err(document) => return Ok(write_error(out, out_len, &document)),
        };
        write_warnings(out_warnings, many.warnings_json())?;
        if !statuses.is_null() {
            let statuses = std::slice::from_raw_parts_mut(statuses, count);
            statuses.fill(IncwoStatus::Ok);
            for (index, class) in &many.failed {
                statuses[*index] = IncwoStatus::of_class(class);
            }
        }
        *out_failed = many.failed.len();
        write_bytes(out, out_len, many.items);
        Ok(IncwoStatus::Ok)
    })
}
