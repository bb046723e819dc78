//! Document totals as incwo should compute them, so a read-back can be
//! compared: line totals, VAT per rate (or per line), excl. and incl. VAT.
//!
//! line total = qty × unit price, rounded half away from zero to the
//! currency's minor digits; VAT per rate = round(Σ line totals × rate) (the
//! default) or Σ round(line total × rate) per line (`perLine`).

use super::{MapError, Profile, VatRounding};
use crate::model::Line;
use crate::xml::format::round_money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// The totals of one tax code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaxTotal {
    /// Tax code of the profile.
    pub tax_code: String,
    /// Rate as a fraction.
    #[serde(serialize_with = "text")]
    #[cfg_attr(feature = "schema", schemars(with = "Decimal"))]
    pub rate: Decimal,
    /// Σ line totals at this code.
    #[serde(serialize_with = "text")]
    #[cfg_attr(feature = "schema", schemars(with = "Decimal"))]
    pub base: Decimal,
    /// VAT at this code.
    #[serde(serialize_with = "text")]
    #[cfg_attr(feature = "schema", schemars(with = "Decimal"))]
    pub vat: Decimal,
}

/// A document's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Total excluding VAT.
    #[serde(serialize_with = "text")]
    #[cfg_attr(feature = "schema", schemars(with = "Decimal"))]
    pub excl_tax: Decimal,
    /// VAT.
    #[serde(serialize_with = "text")]
    #[cfg_attr(feature = "schema", schemars(with = "Decimal"))]
    pub vat: Decimal,
    /// Total including VAT.
    #[serde(serialize_with = "text")]
    #[cfg_attr(feature = "schema", schemars(with = "Decimal"))]
    pub incl_tax: Decimal,
    /// Per tax code, sorted by code.
    pub by_tax: Vec<TaxTotal>,
    /// Each line's total excluding VAT, in line order.
    #[serde(serialize_with = "texts")]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<Decimal>"))]
    pub lines: Vec<Decimal>,
}

/// Serialises a decimal as the text rust_decimal writes (`serde-str`, its
/// `Display`: sign, digits, and the point at the scale, trailing zeros
/// kept), from one split of the mantissa instead of rust_decimal's
/// digit-by-digit division of its 96 bits (a tenth of a mapping's time in
/// the wasm module went there).
fn text<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(DecimalText::new(value).as_str())
}

/// [`text`] for each decimal of a list.
fn texts<S: Serializer>(values: &[Decimal], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(values.iter().map(Text))
}

/// A decimal serialised by [`text`].
struct Text<'a>(&'a Decimal);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        text(self.0, serializer)
    }
}

/// A decimal's text on the stack: at most a sign, 29 digits, a point and a
/// leading `0`.
struct DecimalText {
    bytes: [u8; 40],
    len: usize,
}

impl DecimalText {
    fn new(value: &Decimal) -> Self {
        let mut out = DecimalText { bytes: [0; 40], len: 0 };
        if value.is_sign_negative() {
            out.push(b"-");
        }
        let scale = value.scale();
        let mantissa = value.mantissa().unsigned_abs();
        let unit = 10u128.pow(scale);
        out.push(itoa::Buffer::new().format(mantissa / unit).as_bytes());
        if scale > 0 {
            out.push(b".");
            let mut buffer = itoa::Buffer::new();
            let fraction = buffer.format(mantissa % unit).as_bytes();
            for _ in fraction.len()..scale as usize {
                out.push(b"0");
            }
            out.push(fraction);
        }
        out
    }

    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits, `-` and `.` were pushed.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("0")
    }
}

/// Rounds and fixes the scale to `digits` (`5` → `5.00`).
pub fn money(value: Decimal, digits: u32) -> Decimal {
    let mut rounded = round_money(value, digits);
    rounded.rescale(digits);
    rounded
}

fn overflow() -> MapError {
    MapError::new("mapping.overflow", "amounts too large to compute exactly")
}

/// One line's total excluding VAT.
pub fn line_total(line: &Line, digits: u32) -> Result<Decimal, MapError> {
    line.qty
        .checked_mul(line.unit_price_excl_tax)
        .map(|t| money(t, digits))
        .ok_or_else(overflow)
}

/// Computes the totals of `lines` in `currency` under the profile's rounding rule.
pub fn compute(lines: &[Line], profile: &Profile, currency: &str) -> Result<Totals, MapError> {
    let digits = profile.minor_digits(currency);
    let mut by_code: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    let mut line_totals = Vec::with_capacity(lines.len());
    for line in lines {
        let tax = profile.tax(&line.tax_code).ok_or_else(|| {
            MapError::new(
                "mapping.unknown_tax_code",
                format!("tax code {:?} is not in the profile", line.tax_code),
            )
        })?;
        let total = line_total(line, digits)?;
        let line_vat = total
            .checked_mul(tax.rate)
            .map(|v| money(v, digits))
            .ok_or_else(overflow)?;
        let entry = by_code
            .entry(line.tax_code.as_str())
            .or_insert((Decimal::ZERO, Decimal::ZERO));
        entry.0 = entry.0.checked_add(total).ok_or_else(overflow)?;
        entry.1 = entry.1.checked_add(line_vat).ok_or_else(overflow)?;
        line_totals.push(total);
    }
    let mut by_tax = Vec::with_capacity(by_code.len());
    let (mut excl, mut vat) = (money(Decimal::ZERO, digits), money(Decimal::ZERO, digits));
    for (code, (base, sum_of_line_vat)) in by_code {
        let rate = profile.taxes[code].rate;
        let code_vat = match profile.vat_rounding {
            VatRounding::PerRate => base.checked_mul(rate).map(|v| money(v, digits)).ok_or_else(overflow)?,
            VatRounding::PerLine => money(sum_of_line_vat, digits),
        };
        excl = excl.checked_add(base).ok_or_else(overflow)?;
        vat = vat.checked_add(code_vat).ok_or_else(overflow)?;
        by_tax.push(TaxTotal {
            tax_code: code.to_string(),
            rate,
            base: money(base, digits),
            vat: code_vat,
        });
    }
    let incl = excl.checked_add(vat).ok_or_else(overflow)?;
    Ok(Totals {
        excl_tax: money(excl, digits),
        vat: money(vat, digits),
        incl_tax: money(incl, digits),
        by_tax,
        lines: line_totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn serialised(value: &Decimal) -> String {
        serde_json::to_value(Text(value)).unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn decimals_serialise_as_rust_decimal_writes_them() {
        for text in [
            "0",
            "0.00",
            "-0.00",
            "5.00",
            "0.05",
            "-0.5",
            "12.340",
            "79228162514264337593543950335",
            "-7.9228162514264337593543950335",
            "0.0000000000000000000000000001",
            "1000000",
        ] {
            let value = Decimal::from_str(text).unwrap();
            assert_eq!(serialised(&value), value.to_string(), "{text}");
            assert_eq!(
                serde_json::to_value(value).unwrap().as_str().unwrap(),
                value.to_string()
            );
        }
        let negative_zero = -Decimal::new(0, 2);
        assert_eq!(
            serialised(&negative_zero),
            serde_json::to_value(negative_zero).unwrap().as_str().unwrap()
        );
    }

    proptest! {
        #[test]
        fn any_decimal_serialises_as_rust_decimal_writes_it(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0u32..=28) {
            let value = Decimal::from_parts(lo, mid, hi, negative, scale);
            let expected = serde_json::to_value(value).unwrap();
            prop_assert_eq!(serialised(&value), expected.as_str().unwrap());
        }
    }

    fn line(qty: &str, price: &str, tax: &str) -> Line {
        Line {
            sku: "SKU".into(),
            description: None,
            qty: Decimal::from_str(qty).unwrap(),
            unit_price_excl_tax: Decimal::from_str(price).unwrap(),
            tax_code: tax.into(),
        }
    }

    #[test]
    fn the_brief_order_totals() {
        let t = compute(&[line("10", "49.90", "TVA20")], &Profile::default(), "EUR").unwrap();
        assert_eq!(
            (t.excl_tax.to_string(), t.vat.to_string(), t.incl_tax.to_string()),
            ("499.00".into(), "99.80".into(), "598.80".into())
        );
    }

    #[test]
    fn per_rate_and_per_line_rounding_differ_as_documented() {
        // Three lines of 0.05 at 10 %: per line 0.01 × 3 = 0.03; per rate round(0.15 × 0.1) = 0.02.
        let lines = vec![line("1", "0.05", "TVA10"); 3];
        let mut profile = Profile::default();
        assert_eq!(compute(&lines, &profile, "EUR").unwrap().vat.to_string(), "0.02");
        profile.vat_rounding = VatRounding::PerLine;
        assert_eq!(compute(&lines, &profile, "EUR").unwrap().vat.to_string(), "0.03");
    }

    #[test]
    fn mixed_rates_round_half_away_from_zero() {
        let t = compute(
            &[line("3", "0.125", "TVA5_5"), line("1", "5", "TVA20")],
            &Profile::default(),
            "EUR",
        )
        .unwrap();
        // 3 × 0.125 = 0.375 → 0.38; 0.38 × 0.055 = 0.0209 → 0.02; 5.00 × 0.2 = 1.00.
        assert_eq!(
            t.lines.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            ["0.38", "5.00"]
        );
        assert_eq!(t.vat.to_string(), "1.02");
        assert_eq!(t.incl_tax.to_string(), "6.40");
        assert_eq!(t.by_tax.len(), 2);
    }

    #[test]
    fn unknown_tax_code_is_an_error_not_a_panic() {
        let err = compute(&[line("1", "1", "NOPE")], &Profile::default(), "EUR").unwrap_err();
        assert_eq!(err.code, "mapping.unknown_tax_code");
    }
}
