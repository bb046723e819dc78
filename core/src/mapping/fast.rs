//! The fast path from JSON text to incwo XML for quotes, orders and
//! invoices: the record is read and checked once by
//! [`crate::contract::fast`] (typed, borrowing from the input), its totals
//! are computed on fixed point ([`fixed`]), and the XML is written straight
//! into the caller's buffer, byte for byte what [`super::v1`] writes.
//!
//! Every entry point returns `None` when the record is not a valid quote,
//! order or invoice without warnings, or when anything is unusual (another
//! mapper version, a currency with more than [`fixed::MAX_DIGITS`]
//! decimals, amounts past what a `Decimal` computes exactly…): the caller
//! then takes the walker's route ([`crate::contract::validate`] +
//! [`super::map_record`]), which reports every violation.

pub mod fixed;

use super::{InvoiceMode, Links, Mapped, MapperVersion, Profile};
use crate::contract::fast::{check_document, Document};
use crate::model::Kind;
use chrono::Datelike;
use std::fmt::Write as _;

/// Maps a record's JSON text to its [`Mapped`] body (XML and totals), as
/// validate + [`super::map_record`] would; `None` means "take that route".
pub fn map(kind: Kind, text: &str, profile: &Profile, links: &Links) -> Option<Mapped> {
    let document = check_document(kind, text, profile)?;
    let mut xml = String::with_capacity(320 + document.lines.len() * 200);
    let (resource, totals) = write(&document, profile, links, &mut xml)?;
    Some(Mapped {
        resource,
        xml,
        totals: Some(totals.to_totals(profile)),
    })
}

/// Appends the XML body of a record's JSON text to `out` and returns its
/// incwo resource; `None` (with `out` unchanged) means "take the walker's
/// route". `out` can be reused from call to call.
pub fn map_into(kind: Kind, text: &str, profile: &Profile, links: &Links, out: &mut String) -> Option<&'static str> {
    let document = check_document(kind, text, profile)?;
    let start = out.len();
    match write(&document, profile, links, out) {
        Some((resource, _)) => Some(resource),
        None => {
            out.truncate(start);
            None
        }
    }
}

/// What differs between the document kinds' headers.
struct Header<'a> {
    root: &'static str,
    lines: &'static str,
    line: &'static str,
    resource: &'static str,
    sheet_type: &'a str,
    currency: &'a str,
    progress_id: Option<u64>,
}

fn header<'a>(document: &'a Document<'_>, profile: &'a Profile) -> Header<'a> {
    let proposal = |sheet_type, currency, progress_id| Header {
        root: "proposal_sheet",
        lines: "proposal_lines",
        line: "proposal_line",
        resource: "proposal_sheets",
        sheet_type,
        currency,
        progress_id,
    };
    let currency = document.currency.as_deref().unwrap_or(&profile.default_currency);
    match document.kind {
        Kind::Quote => proposal(
            &profile.sheet_types.quote,
            currency,
            profile.statuses.quote.get("draft").copied(),
        ),
        Kind::Invoice => Header {
            root: "bill_sheet",
            lines: "bill_lines",
            line: "bill_line",
            resource: "bill_sheets",
            sheet_type: match profile.invoice_mode {
                InvoiceMode::Draft => "invoice_maybe",
                InvoiceMode::Final => "invoice",
            },
            currency,
            progress_id: profile
                .statuses
                .invoice
                .get(super::v1::invoice_status(profile))
                .copied(),
        },
        _ => proposal(
            &profile.sheet_types.order,
            currency,
            profile.statuses.order.get("confirmed").copied(),
        ),
    }
}

/// Writes the document's XML into `out`; `None` when the fixed-point
/// totals give up or the profile lacks an id (`out` may then hold a part).
fn write<'d>(
    document: &'d Document<'_>,
    profile: &Profile,
    links: &Links,
    out: &mut String,
) -> Option<(&'static str, fixed::Fixed<'d>)> {
    MapperVersion::from_number(profile.mapper_version).filter(|v| *v == MapperVersion::V1)?;
    let h = header(document, profile);
    let digits = profile.minor_digits(h.currency);
    let totals = fixed::compute(&document.lines, profile, digits)?;
    let currency_id = profile.currencies.get(h.currency)?.id;
    out.reserve(320 + document.lines.len() * 200);
    open(out, h.root);
    element(out, "sheet_type", |o| escaped(o, h.sheet_type));
    if let Some(firm_id) = links.firm_id {
        element(out, "firm_id", |o| number(o, firm_id));
    }
    element(out, "title", |o| escaped(o, &document.number));
    element(out, "billing_date", |o| {
        let d = document.date;
        padded(o, d.day(), 2);
        o.push('-');
        padded(o, d.month(), 2);
        o.push('-');
        // Years are 2000–2100 (checked by the contract).
        padded(o, d.year().unsigned_abs(), 4);
    });
    element(out, "currency_id", |o| number(o, currency_id));
    if let Some(progress_id) = h.progress_id {
        element(out, "progress_id", |o| number(o, progress_id));
    }
    element(out, "vat_exl_total", |o| decimal(o, totals.excl, digits));
    element(out, "vat_cost", |o| decimal(o, totals.vat, digits));
    element(out, "vat_inc_total", |o| decimal(o, totals.incl, digits));
    open(out, h.lines);
    for (i, (line, (total, code))) in document.lines.iter().zip(&totals.lines).enumerate() {
        open(out, h.line);
        if let Some(product_id) = links.product_ids.get(line.sku.as_ref()) {
            element(out, "customer_product_id", |o| number(o, *product_id));
        }
        element(out, "description", |o| {
            escaped(o, line.description.as_deref().unwrap_or(&line.sku))
        });
        element(out, "quantity", |o| decimal(o, line.qty.mantissa(), line.qty.scale()));
        let price = line.unit_price_excl_tax;
        let price = fixed::at_scale(price.mantissa(), price.scale(), digits)?;
        element(out, "unit_price", |o| decimal(o, price, digits));
        element(out, "vat_value_id", |o| number(o, totals.codes[*code].vat_value_id));
        element(out, "total_price", |o| decimal(o, *total, digits));
        element(out, "ordering", |o| number(o, (i as u64 + 1) * 100));
        close(out, h.line);
    }
    close(out, h.lines);
    close(out, h.root);
    Some((h.resource, totals))
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn element(out: &mut String, name: &str, text: impl FnOnce(&mut String)) {
    open(out, name);
    text(out);
    close(out, name);
}

/// Text escaped for `& < >`, as `quick_xml::escape::partial_escape`.
fn escaped(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

fn number(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// `m / 10^scale` written as `Decimal`'s `Display` writes it (`m` ≥ 0):
/// exactly `scale` decimals.
fn decimal(out: &mut String, m: i128, scale: u32) {
    let m = m.unsigned_abs();
    let p = 10u128.pow(scale.min(38));
    let (int, frac) = (m / p, m % p);
    match u64::try_from(int) {
        Ok(int) => number(out, int),
        Err(_) => {
            let _ = write!(out, "{int}");
        }
    }
    if scale > 0 {
        out.push('.');
        let mut buf = [b'0'; 38];
        let width = (scale as usize).min(buf.len());
        let mut frac = frac;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        out.push_str(std::str::from_utf8(&buf[..width]).unwrap_or_default());
    }
}

/// `n` on exactly `width` digits, zero-padded (`n` < 10^width).
fn padded(out: &mut String, mut n: u32, width: usize) {
    let mut buf = [b'0'; 4];
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.push_str(std::str::from_utf8(&buf[..width]).unwrap_or_default());
}

#[cfg(test)]
mod tests;
