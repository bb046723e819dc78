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

/// Maps a record's JSON text to its [`Mapped`] body (XML and totals), as
/// validate + [`super::map_record`] would; `None` means "take that route".
pub fn map(kind: Kind, text: &str, profile: &Profile, links: &Links) -> Option<Mapped> {
    let document = check_document(kind, text, profile)?;
    let mut xml = String::with_capacity(320 + document.lines.len() * LINE_BYTES);
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

/// Room reserved per line of output (a line of the bench orders takes
/// about 210 bytes; growing the buffer would copy all of it).
const LINE_BYTES: usize = 256;

/// What differs between the document kinds' headers; tags are written whole.
struct Header<'a> {
    open: &'static str,
    close: &'static str,
    open_lines: &'static str,
    close_lines: &'static str,
    open_line: &'static str,
    close_line: &'static str,
    resource: &'static str,
    sheet_type: &'a str,
    currency: &'a str,
    progress_id: Option<u64>,
}

fn header<'a>(document: &'a Document<'_>, profile: &'a Profile) -> Header<'a> {
    let proposal = |sheet_type, currency, progress_id| Header {
        open: "<proposal_sheet>",
        close: "</proposal_sheet>",
        open_lines: "<proposal_lines>",
        close_lines: "</proposal_lines>",
        open_line: "<proposal_line>",
        close_line: "</proposal_line>",
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
            open: "<bill_sheet>",
            close: "</bill_sheet>",
            open_lines: "<bill_lines>",
            close_lines: "</bill_lines>",
            open_line: "<bill_line>",
            close_line: "</bill_line>",
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

/// `<name>…</name>` around what the block writes into `$out`.
macro_rules! element {
    ($out:expr, $name:literal, $body:expr) => {{
        $out.push_str(concat!("<", $name, ">"));
        $body;
        $out.push_str(concat!("</", $name, ">"));
    }};
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
    out.reserve(320 + document.lines.len() * LINE_BYTES);
    out.push_str(h.open);
    element!(out, "sheet_type", escaped(out, h.sheet_type));
    if let Some(firm_id) = links.firm_id {
        element!(out, "firm_id", number(out, firm_id));
    }
    element!(out, "title", escaped(out, &document.number));
    element!(out, "billing_date", {
        let d = document.date;
        padded(out, d.day(), 2);
        out.push('-');
        padded(out, d.month(), 2);
        out.push('-');
        // Years are 2000–2100 (checked by the contract).
        padded(out, d.year().unsigned_abs(), 4);
    });
    element!(out, "currency_id", number(out, currency_id));
    if let Some(progress_id) = h.progress_id {
        element!(out, "progress_id", number(out, progress_id));
    }
    element!(out, "vat_exl_total", decimal(out, totals.excl, digits));
    element!(out, "vat_cost", decimal(out, totals.vat, digits));
    element!(out, "vat_inc_total", decimal(out, totals.incl, digits));
    out.push_str(h.open_lines);
    for (i, (line, (total, code))) in document.lines.iter().zip(&totals.lines).enumerate() {
        out.push_str(h.open_line);
        if let Some(product_id) = links.product_ids.get(line.sku.as_ref()) {
            element!(out, "customer_product_id", number(out, *product_id));
        }
        element!(
            out,
            "description",
            escaped(out, line.description.as_deref().unwrap_or(&line.sku))
        );
        element!(out, "quantity", decimal(out, line.qty.mantissa(), line.qty.scale()));
        let price = line.unit_price_excl_tax;
        let price = fixed::at_scale(price.mantissa(), price.scale(), digits)?;
        element!(out, "unit_price", decimal(out, price, digits));
        element!(out, "vat_value_id", number(out, totals.codes[*code].vat_value_id));
        element!(out, "total_price", decimal(out, *total, digits));
        element!(out, "ordering", number(out, (i as u64 + 1) * 100));
        out.push_str(h.close_line);
    }
    out.push_str(h.close_lines);
    out.push_str(h.close);
    Some((h.resource, totals))
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

fn number(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `m / 10^scale` written as `Decimal`'s `Display` writes it (`m` ≥ 0):
/// exactly `scale` decimals.
fn decimal(out: &mut String, m: i128, scale: u32) {
    let m = m.unsigned_abs();
    let mut buf = itoa::Buffer::new();
    let digits = match u64::try_from(m) {
        Ok(small) => buf.format(small),
        Err(_) => buf.format(m),
    };
    let scale = scale as usize;
    if scale == 0 {
        out.push_str(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        for _ in digits.len()..scale {
            out.push('0');
        }
        out.push_str(digits);
    }
}

/// `n` on exactly `width` digits, zero-padded (`n` < 10^width).
fn padded(out: &mut String, n: u32, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

#[cfg(test)]
mod tests;
