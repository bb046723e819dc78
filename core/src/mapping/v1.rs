//! Mapper version 1: canonical records → incwo XML request bodies.
//!
//! What it emits, per resource (all bodies: no declaration, no whitespace):
//! - customer → `<firm>`: name, firm_type, `accounting_ref` = externalId (the
//!   connector's marker), tva, one `contact_address`, e-mail and phone
//!   `contact_item`s with the profile's type ids;
//! - product → `<customer_product>`: `reference` = sku (marker), name, price,
//!   vat_id, unit, is_active, currency_id;
//! - quote / order → `<proposal_sheet>` with the profile's `sheet_type`,
//!   `title` = the document number (marker), billing_date, currency_id,
//!   progress_id (draft / confirmed), the expected totals and the lines;
//! - invoice → `<bill_sheet>` `invoice_maybe` (draft, default) or `invoice`;
//!   a credit note → `credit_maybe` / `credit` with negated quantities;
//! - stock movement → `<stock_movement>`: quantity (positive) and direction
//!   (1 in, -1 out), origin = destination = the warehouse, `comment` =
//!   movementId (marker);
//! - cancellation → a `<proposal_sheet>` update setting the cancelled status.
//!
//! The expected totals (`vat_exl_total`, `vat_cost`, `vat_inc_total`, and
//! per line `total_price`) are read-only in incwo; they are sent so the body
//! documents what the connector expects, and the read-back compares them.

use super::totals;
use super::{InvoiceMode, Links, MapError, Mapped, Profile};
use crate::model::{Cancellation, Customer, Invoice, Line, Order, Product, Quote, Record, StockMovement};
use crate::xml::format::{format_money, format_quantity};
use crate::xml::XmlWriter;
use chrono::NaiveDate;

/// Maps any record.
pub fn map_record(record: &Record, profile: &Profile, links: &Links) -> Result<Mapped, MapError> {
    match record {
        Record::Customer(c) => Ok(map_customer(c, profile)),
        Record::Product(p) => map_product(p, profile),
        Record::Quote(q) => map_quote(q, profile, links),
        Record::Order(o) => map_order(o, profile, links),
        Record::Invoice(i) => map_invoice(i, profile, links, None),
        Record::StockMovement(m) => map_stock_movement(m, profile, links),
        Record::Cancellation(c) => map_cancellation(c, profile),
    }
}

/// customer → `<firm>`.
pub fn map_customer(customer: &Customer, profile: &Profile) -> Mapped {
    let mut w = XmlWriter::with_capacity(512);
    w.open("firm");
    w.element("name", &customer.name);
    w.element(
        "firm_type",
        match customer.kind {
            crate::model::CustomerKind::Client => "client",
            crate::model::CustomerKind::Prospect => "prospect",
        },
    );
    w.element("accounting_ref", &customer.external_id);
    if let Some(vat) = &customer.vat_number {
        w.element("tva", vat);
        if let Some(siren) = vat.strip_prefix("FR").filter(|r| r.len() == 11).map(|r| &r[2..]) {
            w.element("siren", siren);
        }
    }
    if let Some(address) = &customer.billing_address {
        w.open("contact_addresses");
        w.open("contact_address");
        w.element("street_address", &address.line1);
        if let Some(line2) = &address.line2 {
            w.element("street_address2", line2);
        }
        w.element("zip_code", &address.zip_code);
        w.element("city", &address.city);
        let (alpha3, name) = crate::base::iso::country(&address.country).unwrap_or(("", ""));
        w.element("country", name);
        w.element("country_iso_3166_a3", alpha3);
        w.close("contact_address");
        w.close("contact_addresses");
    }
    if customer.email.is_some() || customer.phone.is_some() {
        w.open("contact_items");
        for (type_id, value) in [
            (profile.contact_item_types.email, &customer.email),
            (profile.contact_item_types.phone, &customer.phone),
        ] {
            if let Some(value) = value {
                w.open("contact_item");
                w.element_display("type_id", type_id);
                w.element("value", value);
                w.close("contact_item");
            }
        }
        w.close("contact_items");
    }
    w.close("firm");
    Mapped {
        resource: "firms",
        xml: w.finish(),
        totals: None,
    }
}

fn tax_id(profile: &Profile, code: &str) -> Result<u64, MapError> {
    profile.tax(code).map(|t| t.vat_value_id).ok_or_else(|| {
        MapError::new(
            "mapping.unknown_tax_code",
            format!("tax code {code:?} is not in the profile"),
        )
    })
}

fn currency_id(profile: &Profile, code: &str) -> Result<u64, MapError> {
    profile.currencies.get(code).map(|c| c.id).ok_or_else(|| {
        MapError::new(
            "mapping.unknown_currency",
            format!("currency {code:?} is not in the profile"),
        )
    })
}

/// product → `<customer_product>`.
pub fn map_product(product: &Product, profile: &Profile) -> Result<Mapped, MapError> {
    let digits = profile.minor_digits(&profile.default_currency);
    let mut w = XmlWriter::with_capacity(256);
    w.open("customer_product");
    w.element("reference", &product.sku);
    w.element("name", &product.name);
    w.element("price", &format_money(product.unit_price_excl_tax, digits));
    w.element_display("vat_id", tax_id(profile, &product.tax_code)?);
    if let Some(unit) = &product.unit {
        w.element("unit", unit);
    }
    w.element("is_active", if product.active { "1" } else { "0" });
    w.element_display("currency_id", currency_id(profile, &profile.default_currency)?);
    w.close("customer_product");
    Ok(Mapped {
        resource: "customer_products",
        xml: w.finish(),
        totals: None,
    })
}

/// The header of a document body, shared by proposal and bill sheets.
struct Header<'a> {
    root: &'static str,
    sheet_type: &'a str,
    title: &'a str,
    date: NaiveDate,
    currency: &'a str,
    progress_id: Option<u64>,
}

fn document(
    header: Header<'_>,
    lines: &[Line],
    sign: i64,
    profile: &Profile,
    links: &Links,
) -> Result<Mapped, MapError> {
    let (lines_wrapper, line_element) = match header.root {
        "proposal_sheet" => ("proposal_lines", "proposal_line"),
        _ => ("bill_lines", "bill_line"),
    };
    let signed: Vec<Line>;
    let lines = if sign < 0 {
        signed = lines
            .iter()
            .map(|l| Line {
                qty: -l.qty,
                ..l.clone()
            })
            .collect();
        &signed[..]
    } else {
        lines
    };
    let totals = totals::compute(lines, profile, header.currency)?;
    let digits = profile.minor_digits(header.currency);
    let mut w = XmlWriter::with_capacity(256 + lines.len() * 220);
    w.open(header.root);
    w.element("sheet_type", header.sheet_type);
    if let Some(firm_id) = links.firm_id {
        w.element_display("firm_id", firm_id);
    }
    w.element("title", header.title);
    w.element_date("billing_date", header.date);
    w.element_display("currency_id", currency_id(profile, header.currency)?);
    if let Some(progress_id) = header.progress_id {
        w.element_display("progress_id", progress_id);
    }
    w.element_money("vat_exl_total", totals.excl_tax, digits);
    w.element_money("vat_cost", totals.vat, digits);
    w.element_money("vat_inc_total", totals.incl_tax, digits);
    w.open(lines_wrapper);
    for (i, (line, total)) in lines.iter().zip(&totals.lines).enumerate() {
        w.open(line_element);
        if let Some(product_id) = links.product_ids.get(&line.sku) {
            w.element_display("customer_product_id", product_id);
        }
        w.element("description", line.description.as_deref().unwrap_or(&line.sku));
        w.element_quantity("quantity", line.qty);
        w.element_money("unit_price", line.unit_price_excl_tax, digits);
        w.element_display("vat_value_id", tax_id(profile, &line.tax_code)?);
        w.element_money("total_price", *total, digits);
        w.element_display("ordering", (i + 1) * 100);
        w.close(line_element);
    }
    w.close(lines_wrapper);
    w.close(header.root);
    Ok(Mapped {
        resource: if header.root == "proposal_sheet" {
            "proposal_sheets"
        } else {
            "bill_sheets"
        },
        xml: w.finish(),
        totals: Some(totals),
    })
}

fn status(table: &std::collections::BTreeMap<String, u64>, name: &str) -> Option<u64> {
    table.get(name).copied()
}

/// The status a new invoice has: `draft` (an `invoice_maybe`) or `issued`
/// when the profile creates final invoices. The flow records the same.
pub fn invoice_status(profile: &Profile) -> &'static str {
    match profile.invoice_mode {
        InvoiceMode::Draft => "draft",
        InvoiceMode::Final => "issued",
    }
}

/// quote → `<proposal_sheet>` of the profile's quote type, status draft.
pub fn map_quote(quote: &Quote, profile: &Profile, links: &Links) -> Result<Mapped, MapError> {
    let header = Header {
        root: "proposal_sheet",
        sheet_type: &profile.sheet_types.quote,
        title: &quote.quote_number,
        date: quote.quote_date,
        currency: &quote.currency,
        progress_id: status(&profile.statuses.quote, "draft"),
    };
    document(header, &quote.lines, 1, profile, links)
}

/// order → `<proposal_sheet>` of the profile's order type, status confirmed.
pub fn map_order(order: &Order, profile: &Profile, links: &Links) -> Result<Mapped, MapError> {
    let header = Header {
        root: "proposal_sheet",
        sheet_type: &profile.sheet_types.order,
        title: &order.order_number,
        date: order.order_date,
        currency: &order.currency,
        progress_id: status(&profile.statuses.order, "confirmed"),
    };
    document(header, &order.lines, 1, profile, links)
}

/// invoice → `<bill_sheet>`, draft or final per the profile. `order_currency`
/// is the invoiced order's currency when the flow knows it.
pub fn map_invoice(
    invoice: &Invoice,
    profile: &Profile,
    links: &Links,
    order_currency: Option<&str>,
) -> Result<Mapped, MapError> {
    let currency = invoice
        .currency
        .as_deref()
        .or(order_currency)
        .unwrap_or(&profile.default_currency);
    let sheet_type = match profile.invoice_mode {
        InvoiceMode::Draft => "invoice_maybe",
        InvoiceMode::Final => "invoice",
    };
    let progress = invoice_status(profile);
    let header = Header {
        root: "bill_sheet",
        sheet_type,
        title: &invoice.invoice_number,
        date: invoice.issue_date,
        currency,
        progress_id: status(&profile.statuses.invoice, progress),
    };
    document(header, &invoice.lines, 1, profile, links)
}

/// The marker (title) of the credit note that cancels an invoice.
pub fn credit_note_title(invoice_number: &str) -> String {
    format!("{invoice_number}-credit")
}

/// A credit note cancelling `invoice`: `credit_maybe` (draft) or `credit`
/// (final), the same lines with negated quantities, dated `date`.
pub fn map_credit_note(
    invoice: &Invoice,
    date: NaiveDate,
    profile: &Profile,
    links: &Links,
    order_currency: Option<&str>,
) -> Result<Mapped, MapError> {
    let currency = invoice
        .currency
        .as_deref()
        .or(order_currency)
        .unwrap_or(&profile.default_currency);
    let sheet_type = match profile.invoice_mode {
        InvoiceMode::Draft => "credit_maybe",
        InvoiceMode::Final => "credit",
    };
    let title = credit_note_title(&invoice.invoice_number);
    let header = Header {
        root: "bill_sheet",
        sheet_type,
        title: &title,
        date,
        currency,
        progress_id: None,
    };
    document(header, &invoice.lines, -1, profile, links)
}

/// stock movement → `<stock_movement>`.
pub fn map_stock_movement(movement: &StockMovement, profile: &Profile, links: &Links) -> Result<Mapped, MapError> {
    let warehouse = profile.warehouses.get(&movement.warehouse).ok_or_else(|| {
        MapError::new(
            "mapping.unknown_warehouse",
            format!("warehouse {:?} is not in the profile", movement.warehouse),
        )
    })?;
    let mut w = XmlWriter::with_capacity(256);
    w.open("stock_movement");
    if let Some(product_id) = links.product_ids.get(&movement.sku) {
        w.element_display("customer_product_id", product_id);
    }
    w.element_display("origin_warehouse_id", warehouse);
    w.element_display("destination_warehouse_id", warehouse);
    w.element("quantity", &format_quantity(movement.qty.abs()));
    w.element("direction", if movement.qty.is_sign_negative() { "-1" } else { "1" });
    w.element("comment", &movement.movement_id);
    w.close("stock_movement");
    Ok(Mapped {
        resource: "stock_movements",
        xml: w.finish(),
        totals: None,
    })
}

/// cancellation → the `<proposal_sheet>` update that sets the order's cancelled status.
pub fn map_cancellation(_cancellation: &Cancellation, profile: &Profile) -> Result<Mapped, MapError> {
    let cancelled = status(&profile.statuses.order, "cancelled")
        .ok_or_else(|| MapError::new("mapping.unknown_status", "the profile has no cancelled order status"))?;
    let mut w = XmlWriter::with_capacity(64);
    w.open("proposal_sheet");
    w.element_display("progress_id", cancelled);
    w.close("proposal_sheet");
    Ok(Mapped {
        resource: "proposal_sheets",
        xml: w.finish(),
        totals: None,
    })
}

#[cfg(test)]
mod tests;
