//! Field readers shared by every view: one function per wire kind.
//!
//! Each reader takes the parent element, the parent's path (for error
//! messages) and the child element's name. A missing or empty child reads as
//! `None`; a present value that does not parse is an error naming the
//! element path and the expected form, never the value.

use super::{CashDepositKind, ContentKind, Direction, FromElement, ViewError};
use crate::xml::{format, Element};
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

const AN_ID: &str = "an id (a non-negative integer)";
const AN_INTEGER: &str = "an integer";

/// `{path}/{name}`, built only when an error needs it.
fn join(path: &str, name: &str) -> String {
    format!("{path}/{name}")
}

fn bad(path: &str, name: &str, expected: &'static str) -> ViewError {
    ViewError::ValueFormat {
        path: join(path, name),
        expected,
    }
}

/// The trimmed text of a child, `None` when the child is absent or empty.
fn value<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.child_text(name).map(str::trim).filter(|t| !t.is_empty())
}

/// A required id (`<id>` of a stored record). `0` is kept as `0`.
pub(super) fn id(el: &Element, path: &str, name: &str) -> Result<u64, ViewError> {
    match value(el, name) {
        None => Err(ViewError::MissingElement {
            path: join(path, name),
            expected: AN_ID,
        }),
        Some(t) => t.parse::<u64>().map_err(|_| bad(path, name, AN_ID)),
    }
}

/// An optional id, read strictly (`0` is kept as `0`).
pub(super) fn opt_id(el: &Element, path: &str, name: &str) -> Result<Option<u64>, ViewError> {
    value(el, name)
        .map(|t| t.parse::<u64>().map_err(|_| bad(path, name, AN_ID)))
        .transpose()
}

/// A foreign key: `0`, `-1`, empty or absent mean "no link".
pub(super) fn link(el: &Element, path: &str, name: &str) -> Result<Option<u64>, ViewError> {
    format::parse_link(el.child_text(name)).map_err(|e| bad(path, name, e.expected))
}

/// Free text; empty elements read as `None`.
pub(super) fn text(el: &Element, _path: &str, name: &str) -> Result<Option<String>, ViewError> {
    Ok(value(el, name).map(str::to_owned))
}

/// A signed integer (sort keys, type codes).
pub(super) fn int(el: &Element, path: &str, name: &str) -> Result<Option<i64>, ViewError> {
    value(el, name)
        .map(|t| t.parse::<i64>().map_err(|_| bad(path, name, AN_INTEGER)))
        .transpose()
}

/// A dot decimal, exact (never through f64).
pub(super) fn decimal(el: &Element, path: &str, name: &str) -> Result<Option<Decimal>, ViewError> {
    value(el, name)
        .map(|t| format::parse_decimal(t).map_err(|e| bad(path, name, e.expected)))
        .transpose()
}

/// A `DD-MM-YYYY` date; a `DD-MM-YYYY-HH-MM` timestamp is accepted too and
/// its date kept (incwo is not consistent about which fields carry a time).
pub(super) fn date(el: &Element, path: &str, name: &str) -> Result<Option<NaiveDate>, ViewError> {
    value(el, name)
        .map(|t| {
            format::parse_date(t)
                .or_else(|e| format::parse_timestamp(t).map(|ts| ts.date()).map_err(|_| e))
                .map_err(|e| bad(path, name, e.expected))
        })
        .transpose()
}

/// A `DD-MM-YYYY-HH-MM` timestamp; a bare `DD-MM-YYYY` date reads as midnight.
pub(super) fn timestamp(el: &Element, path: &str, name: &str) -> Result<Option<NaiveDateTime>, ViewError> {
    value(el, name)
        .map(|t| {
            format::parse_timestamp(t)
                .or_else(|e| format::parse_date(t).ok().and_then(|d| d.and_hms_opt(0, 0, 0)).ok_or(e))
                .map_err(|e| bad(path, name, e.expected))
        })
        .transpose()
}

/// A `0`/`1` flag; empty or absent reads as `None`.
pub(super) fn flag(el: &Element, path: &str, name: &str) -> Result<Option<bool>, ViewError> {
    value(el, name)
        .map(|t| format::parse_bool(t).map_err(|e| bad(path, name, e.expected)))
        .transpose()
}

/// A line's `content_kind`: absent or empty is a normal line.
pub(super) fn content_kind(el: &Element, _path: &str, name: &str) -> Result<ContentKind, ViewError> {
    Ok(ContentKind::from_wire(value(el, name).unwrap_or("")))
}

/// A cash deposit's `kind` (`deposit` or `plan`).
pub(super) fn deposit_kind(el: &Element, _path: &str, name: &str) -> Result<Option<CashDepositKind>, ViewError> {
    Ok(value(el, name).map(CashDepositKind::from_wire))
}

/// A stock movement's `direction`: `1` in, `-1` out.
pub(super) fn direction(el: &Element, path: &str, name: &str) -> Result<Option<Direction>, ViewError> {
    value(el, name)
        .map(|t| match t {
            "1" => Ok(Direction::In),
            "-1" => Ok(Direction::Out),
            _ => Err(bad(path, name, "1 (in) or -1 (out)")),
        })
        .transpose()
}

/// An embedded collection `<wrapper><item/>…</wrapper>`; an absent wrapper is
/// an empty list. Items are numbered from 1 in error paths
/// (`/proposal_sheet/proposal_lines/proposal_line[2]/quantity`).
pub(super) fn list<T: FromElement>(el: &Element, path: &str, wrapper: &str, item: &str) -> Result<Vec<T>, ViewError> {
    let Some(container) = el.child(wrapper) else {
        return Ok(Vec::new());
    };
    let base = join(path, wrapper);
    items(container, &base, item)
}

/// Every child named `item` of `container`, read as `T`.
pub(super) fn items<T: FromElement>(container: &Element, base: &str, item: &str) -> Result<Vec<T>, ViewError> {
    container
        .children_named(item)
        .enumerate()
        .map(|(i, child)| T::from_element(child, &format!("{base}/{item}[{}]", i + 1)))
        .collect()
}

/// A non-negative count (pagination numbers).
pub(super) fn count(el: &Element, path: &str, name: &str) -> Result<Option<u32>, ViewError> {
    value(el, name)
        .map(|t| t.parse::<u32>().map_err(|_| bad(path, name, "a non-negative integer")))
        .transpose()
}
