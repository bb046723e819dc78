//! Document totals on fixed point: every amount is an `i128` count of the
//! currency's minor units, computed exactly as [`crate::mapping::totals`]
//! computes them with `Decimal`s (line total = qty × price rounded half away
//! from zero; VAT per rate or per line). Where `Decimal` arithmetic could
//! round (a product past 96 bits or 28 decimals) it gives up (`None`) and
//! the caller takes the `Decimal` route, so the results are always equal.

use crate::base::profile::{Profile, VatRounding};
use crate::contract::fast::DocLine;
use crate::mapping::totals::{TaxTotal, Totals};
use rust_decimal::Decimal;

/// Most decimals a currency may have on this path.
pub const MAX_DIGITS: u32 = 6;

/// The totals of one tax code.
pub struct Code<'a> {
    /// Tax code.
    pub code: &'a str,
    /// Its rate.
    pub rate: Decimal,
    /// incwo's `vat_value_id`.
    pub vat_value_id: u64,
    /// Σ line totals.
    pub base: i128,
    /// Σ per-line VAT (used with [`VatRounding::PerLine`]).
    pub line_vat: i128,
}

/// A document's totals in minor units (`digits` decimals).
pub struct Fixed<'a> {
    /// Decimals of the currency.
    pub digits: u32,
    /// Total excluding VAT.
    pub excl: i128,
    /// VAT.
    pub vat: i128,
    /// Total including VAT.
    pub incl: i128,
    /// Per tax code, in order of first use.
    pub codes: Vec<Code<'a>>,
    /// Per line: its total and the index of its code in `codes`.
    pub lines: Vec<(i128, usize)>,
}

fn fits(m: i128) -> bool {
    m.unsigned_abs() < 1u128 << 96
}

/// `m / 10^scale` rounded half away from zero to `digits` decimals (`m` ≥ 0),
/// as `round_dp_with_strategy` + `rescale` do on a `Decimal`.
pub fn at_scale(m: i128, scale: u32, digits: u32) -> Option<i128> {
    let r = if scale == digits {
        m
    } else if let (true, Ok(small)) = (scale > digits && scale - digits < 20, u64::try_from(m)) {
        // 64-bit division where it fits (128-bit division is a slow call).
        let p = 10u64.pow(scale - digits);
        let (q, rest) = (small / p, small % p);
        i128::from(q) + i128::from(rest >= p - rest)
    } else if scale > digits {
        let p = 10i128.checked_pow(scale - digits)?;
        let (q, rest) = (m / p, m % p);
        if rest * 2 >= p {
            q + 1
        } else {
            q
        }
    } else {
        m.checked_mul(10i128.checked_pow(digits - scale)?)?
    };
    fits(r).then_some(r)
}

/// `a × b` where `b` is a non-negative `Decimal`, rounded to `digits`;
/// `None` unless `Decimal` would compute the product exactly.
fn product(a: i128, a_scale: u32, b: Decimal, digits: u32) -> Option<i128> {
    let (m, scale) = (a.checked_mul(b.mantissa())?, a_scale + b.scale());
    if a < 0 || b.is_sign_negative() || !fits(m) || scale > 28 {
        return None;
    }
    at_scale(m, scale, digits)
}

/// Computes the totals of `lines` under the profile's rounding rule.
pub fn compute<'a>(lines: &'a [DocLine<'_>], profile: &Profile, digits: u32) -> Option<Fixed<'a>> {
    if digits > MAX_DIGITS {
        return None;
    }
    let mut codes: Vec<Code<'a>> = Vec::new();
    let mut per_line = Vec::with_capacity(lines.len());
    for line in lines {
        let code = line.tax_code.as_ref();
        let index = match codes.iter().position(|c| c.code == code) {
            Some(i) => i,
            None => {
                let tax = profile.tax(code)?;
                codes.push(Code {
                    code,
                    rate: tax.rate,
                    vat_value_id: tax.vat_value_id,
                    base: 0,
                    line_vat: 0,
                });
                codes.len() - 1
            }
        };
        let total = product(
            line.unit_price_excl_tax.mantissa(),
            line.unit_price_excl_tax.scale(),
            line.qty,
            digits,
        )?;
        let entry = &mut codes[index];
        let line_vat = product(total, digits, entry.rate, digits)?;
        entry.base = Some(entry.base + total).filter(|b| fits(*b))?;
        entry.line_vat = Some(entry.line_vat + line_vat).filter(|v| fits(*v))?;
        per_line.push((total, index));
    }
    let (mut excl, mut vat) = (0i128, 0i128);
    for code in &codes {
        let code_vat = match profile.vat_rounding {
            VatRounding::PerRate => product(code.base, digits, code.rate, digits)?,
            VatRounding::PerLine => code.line_vat,
        };
        excl = Some(excl + code.base).filter(|e| fits(*e))?;
        vat = Some(vat + code_vat).filter(|v| fits(*v))?;
    }
    let incl = Some(excl + vat).filter(|i| fits(*i))?;
    Some(Fixed {
        digits,
        excl,
        vat,
        incl,
        codes,
        lines: per_line,
    })
}

impl Fixed<'_> {
    fn decimal(&self, m: i128) -> Decimal {
        Decimal::from_i128_with_scale(m, self.digits)
    }

    /// The VAT of one code under the profile's rule (already checked by [`compute`]).
    fn code_vat(&self, code: &Code<'_>, rounding: VatRounding) -> i128 {
        match rounding {
            VatRounding::PerRate => product(code.base, self.digits, code.rate, self.digits).unwrap_or_default(),
            VatRounding::PerLine => code.line_vat,
        }
    }

    /// The same [`Totals`] as [`crate::mapping::totals::compute`].
    pub fn to_totals(&self, profile: &Profile) -> Totals {
        let mut by_tax: Vec<TaxTotal> = self
            .codes
            .iter()
            .map(|c| TaxTotal {
                tax_code: c.code.to_string(),
                rate: c.rate,
                base: self.decimal(c.base),
                vat: self.decimal(self.code_vat(c, profile.vat_rounding)),
            })
            .collect();
        by_tax.sort_by(|a, b| a.tax_code.cmp(&b.tax_code));
        Totals {
            excl_tax: self.decimal(self.excl),
            vat: self.decimal(self.vat),
            incl_tax: self.decimal(self.incl),
            by_tax,
            lines: self.lines.iter().map(|(t, _)| self.decimal(*t)).collect(),
        }
    }
}
