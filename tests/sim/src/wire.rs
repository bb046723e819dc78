//! incwo wire formats: dates `DD-MM-YYYY`, timestamps `DD-MM-YYYY-HH-MM`,
//! decimals with a dot, booleans 0/1, and money rounding.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::{Decimal, RoundingStrategy};

/// Parses a strict `DD-MM-YYYY` date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[2] != b'-' || b[5] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let day = digits(0..2)?;
    let month = digits(3..5)?;
    let year = digits(6..10)?;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// Formats a date as `DD-MM-YYYY`.
pub fn format_date(d: NaiveDate) -> String {
    d.format("%d-%m-%Y").to_string()
}

/// Formats a timestamp as `DD-MM-YYYY-HH-MM` (no seconds, no zone).
pub fn format_ts(t: NaiveDateTime) -> String {
    t.format("%d-%m-%Y-%H-%M").to_string()
}

/// Parses a decimal written with digits, at most one dot and an optional
/// leading sign. Commas, exponents, spaces inside, `_` are refused.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut dots = 0;
    let mut digits = 0;
    for c in body.bytes() {
        match c {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return None,
        }
    }
    if digits == 0 || dots > 1 {
        return None;
    }
    let normalized = s.strip_prefix('+').unwrap_or(s);
    Decimal::from_str_exact(normalized).ok()
}

/// Parses an integer (optional leading minus, digits only).
pub fn parse_int(s: &str) -> Option<i64> {
    let body = s.strip_prefix('-').unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a 0/1 boolean (`true`/`false` are accepted too, as Rails does).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// Rounds half away from zero to 2 decimals and shows exactly 2 decimals.
pub fn money(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let d = parse_date("05-03-2025").unwrap();
        assert_eq!(format_date(d), "05-03-2025");
        for bad in ["2025-03-05", "5-3-2025", "31-02-2025", "05/03/2025", "aa-bb-cccc", ""] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
        let t = d.and_hms_opt(15, 14, 59).unwrap();
        assert_eq!(format_ts(t), "05-03-2025-15-14");
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("49.90").unwrap().to_string(), "49.90");
        assert_eq!(parse_decimal("-2").unwrap().to_string(), "-2");
        assert_eq!(parse_decimal("+2.5").unwrap().to_string(), "2.5");
        assert_eq!(parse_decimal(".5").unwrap().to_string(), "0.5");
        for bad in ["49,90", "1e3", "1_000", "", "-", "ten", "1.2.3", " 1", "NaN"] {
            assert!(parse_decimal(bad).is_none(), "{bad}");
        }
        assert!(parse_decimal("99999999999999999999999999999999999").is_none());
    }

    #[test]
    fn rounding() {
        let d = |s: &str| parse_decimal(s).unwrap();
        assert_eq!(money(d("499")).to_string(), "499.00");
        assert_eq!(money(d("0.125")).to_string(), "0.13");
        assert_eq!(money(d("-0.125")).to_string(), "-0.13");
        assert_eq!(money(d("99.8")).to_string(), "99.80");
        assert_eq!(money(d("1.004")).to_string(), "1.00");
    }

    #[test]
    fn ints_and_bools() {
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("+1"), None);
        assert_eq!(parse_int("1.0"), None);
        assert_eq!(parse_int("99999999999999999999"), None);
        assert_eq!(parse_bool("1"), Some(true));
        assert_eq!(parse_bool("yes"), None);
    }
}
