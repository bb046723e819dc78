//! The plain `serde_json::Value` route: parse into a `Value`, look fields up
//! with `as_object`/`as_str`/`as_u64`, read prices exactly from the number's
//! text (`arbitrary_precision`), the same checks as the floor, totals in
//! `rust_decimal`, and the XML through quick-xml's `Writer` with escaped
//! text. Output: the core's `map` XML, byte for byte (asserted before timing).

use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::floor::Refused;

const TAXES: [(&str, u32, &str); 5] = [
    ("TVA20", 607, "0.20"),
    ("TVA10", 552, "0.10"),
    ("TVA5_5", 223, "0.055"),
    ("TVA2_1", 222, "0.021"),
    ("TVA0", 225, "0"),
];

fn id_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:/".contains(c))
}

fn money(v: Decimal) -> Decimal {
    let mut r = v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) {
    w.write_event(Event::Start(BytesStart::new(name))).expect("vec");
    w.write_event(Event::Text(BytesText::from_escaped(partial_escape(text))))
        .expect("vec");
    w.write_event(Event::End(BytesEnd::new(name))).expect("vec");
}

/// JSON text of an order → incwo XML bytes, or the first violation.
pub fn order(text: &str) -> Result<Vec<u8>, Refused> {
    let v: Value = serde_json::from_str(text).map_err(|_| Refused("json"))?;
    let o = v.as_object().ok_or(Refused("object"))?;
    let s = |name: &'static str| o.get(name).and_then(Value::as_str).ok_or(Refused(name));
    let number = s("orderNumber")?;
    if !id_ok(number) {
        return Err(Refused("orderNumber"));
    }
    if !id_ok(s("customerExternalId")?) {
        return Err(Refused("customerExternalId"));
    }
    let date = chrono::NaiveDate::parse_from_str(s("orderDate")?, "%Y-%m-%d").map_err(|_| Refused("orderDate"))?;
    if s("orderDate")?.len() != 10 || !(2000..=2100).contains(&chrono::Datelike::year(&date)) {
        return Err(Refused("orderDate"));
    }
    let currency_id = match s("currency")? {
        "EUR" => 58,
        _ => return Err(Refused("currency")),
    };
    let lines = o.get("lines").and_then(Value::as_array).ok_or(Refused("lines"))?;
    if lines.is_empty() || lines.len() > 10_000 {
        return Err(Refused("lines"));
    }
    let rates: Vec<Decimal> = TAXES.iter().map(|t| t.2.parse().expect("rate")).collect();
    let mut bases = vec![Decimal::ZERO; TAXES.len()];
    let mut parsed = Vec::with_capacity(lines.len());
    for l in lines {
        let l = l.as_object().ok_or(Refused("line"))?;
        let sku = l.get("sku").and_then(Value::as_str).ok_or(Refused("sku"))?;
        if !id_ok(sku) {
            return Err(Refused("sku"));
        }
        let qty = l.get("qty").and_then(Value::as_u64).ok_or(Refused("qty"))?;
        if qty == 0 || qty > 1_000_000 {
            return Err(Refused("qty"));
        }
        let price = match l.get("unitPriceExclTax") {
            Some(Value::Number(n)) => Decimal::from_str_exact(n.as_str()).map_err(|_| Refused("unitPriceExclTax"))?,
            _ => return Err(Refused("unitPriceExclTax")),
        };
        if price.is_sign_negative() && !price.is_zero()
            || price > Decimal::new(99_999_999_999, 2)
            || price.normalize().scale() > 2
        {
            return Err(Refused("unitPriceExclTax"));
        }
        let code = l.get("taxCode").and_then(Value::as_str).ok_or(Refused("taxCode"))?;
        let tax = TAXES.iter().position(|t| t.0 == code).ok_or(Refused("taxCode"))?;
        let total = money(Decimal::from(qty).checked_mul(price).ok_or(Refused("overflow"))?);
        bases[tax] = bases[tax].checked_add(total).ok_or(Refused("overflow"))?;
        parsed.push((sku, qty, price, tax, total));
    }
    let (mut excl, mut vat) = (Decimal::ZERO, Decimal::ZERO);
    for (base, rate) in bases.iter().zip(&rates) {
        excl = excl.checked_add(*base).ok_or(Refused("overflow"))?;
        vat = vat
            .checked_add(money(base.checked_mul(*rate).ok_or(Refused("overflow"))?))
            .ok_or(Refused("overflow"))?;
    }
    let incl = excl.checked_add(vat).ok_or(Refused("overflow"))?;

    let mut w = Writer::new(Vec::with_capacity(320 + lines.len() * 200));
    w.write_event(Event::Start(BytesStart::new("proposal_sheet")))
        .expect("vec");
    text_element(&mut w, "sheet_type", "order");
    text_element(&mut w, "title", number);
    text_element(&mut w, "billing_date", &date.format("%d-%m-%Y").to_string());
    text_element(&mut w, "currency_id", &currency_id.to_string());
    text_element(&mut w, "progress_id", "600001");
    text_element(&mut w, "vat_exl_total", &money(excl).to_string());
    text_element(&mut w, "vat_cost", &money(vat).to_string());
    text_element(&mut w, "vat_inc_total", &money(incl).to_string());
    w.write_event(Event::Start(BytesStart::new("proposal_lines")))
        .expect("vec");
    for (i, (sku, qty, price, tax, total)) in parsed.into_iter().enumerate() {
        w.write_event(Event::Start(BytesStart::new("proposal_line")))
            .expect("vec");
        text_element(&mut w, "description", sku);
        text_element(&mut w, "quantity", &qty.to_string());
        text_element(&mut w, "unit_price", &money(price).to_string());
        text_element(&mut w, "vat_value_id", &TAXES[tax].1.to_string());
        text_element(&mut w, "total_price", &total.to_string());
        text_element(&mut w, "ordering", &((i + 1) * 100).to_string());
        w.write_event(Event::End(BytesEnd::new("proposal_line"))).expect("vec");
    }
    w.write_event(Event::End(BytesEnd::new("proposal_lines"))).expect("vec");
    w.write_event(Event::End(BytesEnd::new("proposal_sheet"))).expect("vec");
    Ok(w.into_inner())
}
