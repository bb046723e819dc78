//! The floor: what a lean, hand-written Rust implementation of the same order
//! path costs. Typed serde structs borrowing their strings from the input,
//! prices read exactly into `rust_decimal` (never through a float), only the
//! checks the peers make (with the core's limits), the totals with checked
//! arithmetic, and the XML written straight into a byte buffer. It stops at
//! the first violation (the core collects them all). Output: the core's
//! `map` XML, byte for byte (asserted before timing).

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderIn<'a> {
    #[serde(borrow)]
    order_number: Cow<'a, str>,
    #[serde(borrow)]
    customer_external_id: Cow<'a, str>,
    #[serde(borrow)]
    order_date: Cow<'a, str>,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(borrow)]
    lines: Vec<LineIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineIn<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    qty: u64,
    #[serde(deserialize_with = "exact_decimal")]
    unit_price_excl_tax: Decimal,
    #[serde(borrow)]
    tax_code: Cow<'a, str>,
}

/// A JSON number read exactly: with `serde_json/arbitrary_precision` (on in
/// this workspace) a number arrives as its text inside a one-entry map.
fn exact_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Decimal;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON number")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Decimal, E> {
            Decimal::from_str_exact(s).map_err(|_| E::custom("not an exact decimal"))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decimal, A::Error> {
            let _key: Option<Cow<'de, str>> = map.next_key()?;
            map.next_value_seed(TextSeed)
        }
    }
    struct TextSeed;
    impl<'de> DeserializeSeed<'de> for TextSeed {
        type Value = Decimal;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Decimal, D::Error> {
            d.deserialize_str(Text)
        }
    }
    d.deserialize_any(Text)
}

/// Why the floor refused an order (first violation only).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// The default profile's tables, as the peers hard-code them.
const TAXES: [(&str, u32, Decimal); 5] = [
    ("TVA20", 607, Decimal::from_parts(20, 0, 0, false, 2)),
    ("TVA10", 552, Decimal::from_parts(10, 0, 0, false, 2)),
    ("TVA5_5", 223, Decimal::from_parts(55, 0, 0, false, 3)),
    ("TVA2_1", 222, Decimal::from_parts(21, 0, 0, false, 3)),
    ("TVA0", 225, Decimal::ZERO),
];
const CURRENCIES: [(&str, u32); 1] = [("EUR", 58)];
const ORDER_SHEET_TYPE: &str = "order";
const CONFIRMED: u32 = 600_001;
const MAX_LINES: usize = 10_000;

fn id_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'/'))
}

fn date_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (2000..=2100).contains(&y) && (1..=days).contains(&d)
}

fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Rounds half away from zero to 2 decimals, exactly 2 decimals.
fn money(v: Decimal) -> Decimal {
    let mut r = v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// Writes a non-negative amount with 2 decimals from its mantissa.
fn push_money(out: &mut Vec<u8>, v: Decimal) {
    let m = money(v).mantissa();
    let m = m.unsigned_abs() as u64;
    push_u64(out, m / 100);
    out.push(b'.');
    let c = (m % 100) as u8;
    out.push(b'0' + c / 10);
    out.push(b'0' + c % 10);
}

fn element(out: &mut Vec<u8>, name: &[u8], f: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'<');
    out.extend_from_slice(name);
    out.push(b'>');
    f(out);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name);
    out.push(b'>');
}

/// JSON text of an order → incwo XML bytes, or the first violation.
pub fn order(text: &str) -> Result<Vec<u8>, Refused> {
    let o: OrderIn = serde_json::from_str(text).map_err(|_| Refused("json"))?;
    if !id_ok(&o.order_number) {
        return Err(Refused("orderNumber"));
    }
    if !id_ok(&o.customer_external_id) {
        return Err(Refused("customerExternalId"));
    }
    if !date_ok(&o.order_date) {
        return Err(Refused("orderDate"));
    }
    let currency_id = CURRENCIES
        .iter()
        .find(|c| c.0 == o.currency)
        .ok_or(Refused("currency"))?
        .1;
    if o.lines.is_empty() || o.lines.len() > MAX_LINES {
        return Err(Refused("lines"));
    }
    let max_price = Decimal::new(99_999_999_999, 2);
    let mut bases = [Decimal::ZERO; TAXES.len()];
    let mut line_data = Vec::with_capacity(o.lines.len());
    for l in &o.lines {
        if !id_ok(&l.sku) {
            return Err(Refused("sku"));
        }
        if l.qty == 0 || l.qty > 1_000_000 {
            return Err(Refused("qty"));
        }
        let p = l.unit_price_excl_tax;
        if p.is_sign_negative() && !p.is_zero() || p > max_price || p.normalize().scale() > 2 {
            return Err(Refused("unitPriceExclTax"));
        }
        let tax = TAXES.iter().position(|t| t.0 == l.tax_code).ok_or(Refused("taxCode"))?;
        let total = money(Decimal::from(l.qty).checked_mul(p).ok_or(Refused("overflow"))?);
        bases[tax] = bases[tax].checked_add(total).ok_or(Refused("overflow"))?;
        line_data.push((tax, total));
    }
    let mut excl = Decimal::ZERO;
    let mut vat = Decimal::ZERO;
    for (base, tax) in bases.iter().zip(&TAXES) {
        excl = excl.checked_add(*base).ok_or(Refused("overflow"))?;
        vat = vat
            .checked_add(money(base.checked_mul(tax.2).ok_or(Refused("overflow"))?))
            .ok_or(Refused("overflow"))?;
    }
    let incl = excl.checked_add(vat).ok_or(Refused("overflow"))?;

    let mut out = Vec::with_capacity(320 + o.lines.len() * 200);
    out.extend_from_slice(b"<proposal_sheet>");
    element(&mut out, b"sheet_type", |w| {
        w.extend_from_slice(ORDER_SHEET_TYPE.as_bytes())
    });
    element(&mut out, b"title", |w| push_escaped(w, &o.order_number));
    element(&mut out, b"billing_date", |w| {
        let d = o.order_date.as_bytes();
        w.extend_from_slice(&d[8..10]);
        w.push(b'-');
        w.extend_from_slice(&d[5..7]);
        w.push(b'-');
        w.extend_from_slice(&d[0..4]);
    });
    element(&mut out, b"currency_id", |w| push_u64(w, currency_id.into()));
    element(&mut out, b"progress_id", |w| push_u64(w, CONFIRMED.into()));
    element(&mut out, b"vat_exl_total", |w| push_money(w, excl));
    element(&mut out, b"vat_cost", |w| push_money(w, vat));
    element(&mut out, b"vat_inc_total", |w| push_money(w, incl));
    out.extend_from_slice(b"<proposal_lines>");
    for (i, (l, (tax, total))) in o.lines.iter().zip(line_data).enumerate() {
        out.extend_from_slice(b"<proposal_line>");
        element(&mut out, b"description", |w| push_escaped(w, &l.sku));
        element(&mut out, b"quantity", |w| push_u64(w, l.qty));
        element(&mut out, b"unit_price", |w| push_money(w, l.unit_price_excl_tax));
        element(&mut out, b"vat_value_id", |w| push_u64(w, TAXES[tax].1.into()));
        element(&mut out, b"total_price", |w| push_money(w, total));
        element(&mut out, b"ordering", |w| push_u64(w, (i as u64 + 1) * 100));
        out.extend_from_slice(b"</proposal_line>");
    }
    out.extend_from_slice(b"</proposal_lines></proposal_sheet>");
    Ok(out)
}
