//! incwo's value encodings on the wire: `DD-MM-YYYY` dates,
//! `DD-MM-YYYY-HH-MM` timestamps, dot decimals of any precision, `0`/`1`
//! booleans and `0`/`-1`/empty for "no link".

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// A wire value that does not have the expected form. Carries the expected
/// form, never the value (it may be personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct FormatError {
    /// The form that was expected, e.g. `a DD-MM-YYYY date`.
    pub expected: &'static str,
}

/// Writes a date as incwo expects it: `DD-MM-YYYY`.
pub fn format_date(date: NaiveDate) -> String {
    date.format("%d-%m-%Y").to_string()
}

/// Reads an incwo `DD-MM-YYYY` date.
pub fn parse_date(text: &str) -> Result<NaiveDate, FormatError> {
    NaiveDate::parse_from_str(text.trim(), "%d-%m-%Y").map_err(|_| FormatError {
        expected: "a DD-MM-YYYY date",
    })
}

/// Reads an incwo `DD-MM-YYYY-HH-MM` timestamp (no seconds, no time zone).
pub fn parse_timestamp(text: &str) -> Result<NaiveDateTime, FormatError> {
    NaiveDateTime::parse_from_str(text.trim(), "%d-%m-%Y-%H-%M").map_err(|_| FormatError {
        expected: "a DD-MM-YYYY-HH-MM timestamp",
    })
}

/// Reads a decimal written with a dot. incwo sometimes writes more digits than
/// a `Decimal` holds (`9949.99999999999999999999999959`); those are rounded to
/// the 28 significant digits a `Decimal` keeps instead of being refused.
pub fn parse_decimal(text: &str) -> Result<Decimal, FormatError> {
    let text = text.trim();
    let err = FormatError {
        expected: "a decimal number",
    };
    if text.is_empty() {
        return Err(err);
    }
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| err)
}

/// Reads a foreign key: `0`, `-1`, an empty element or an absent one mean "no link".
pub fn parse_link(text: Option<&str>) -> Result<Option<u64>, FormatError> {
    match text.map(str::trim) {
        None | Some("") | Some("0") | Some("-1") => Ok(None),
        Some(t) => t.parse::<u64>().map(Some).map_err(|_| FormatError {
            expected: "an id (a positive integer)",
        }),
    }
}

/// Reads an integer flag: `0`/`1` (also `true`/`false`).
pub fn parse_bool(text: &str) -> Result<bool, FormatError> {
    match text.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(FormatError { expected: "0 or 1" }),
    }
}

/// Rounds half away from zero to `digits` decimals.
pub fn round_money(value: Decimal, digits: u32) -> Decimal {
    value.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero)
}

/// Writes an amount with exactly `digits` decimals (`49.9` → `49.90`).
pub fn format_money(value: Decimal, digits: u32) -> String {
    let mut rounded = round_money(value, digits);
    rounded.rescale(digits);
    rounded.to_string()
}

/// Writes a quantity without trailing zeros (`10.000` → `10`, `2.50` → `2.5`).
pub fn format_quantity(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_in_incwo_form() {
        let d = NaiveDate::from_ymd_opt(2014, 12, 22).unwrap();
        assert_eq!(format_date(d), "22-12-2014");
        assert_eq!(parse_date("22-12-2014"), Ok(d));
        assert!(parse_date("2014-12-22").is_err());
        assert!(parse_date("31-02-2014").is_err());
    }

    #[test]
    fn timestamps_have_minutes_and_no_zone() {
        let t = parse_timestamp("17-01-2012-15-14").unwrap();
        assert_eq!(t.to_string(), "2012-01-17 15:14:00");
        assert!(parse_timestamp("17-01-2012").is_err());
    }

    #[test]
    fn decimals_are_exact_and_long_ones_are_rounded() {
        assert_eq!(parse_decimal("800.0").unwrap().to_string(), "800.0");
        assert_eq!(parse_decimal("49.90").unwrap().to_string(), "49.90");
        let long = parse_decimal("9949.99999999999999999999999999999959").unwrap();
        assert!(long > Decimal::from(9949));
        assert!(parse_decimal("").is_err());
        assert!(parse_decimal("12,5").is_err());
    }

    #[test]
    fn links_and_flags() {
        assert_eq!(parse_link(None), Ok(None));
        assert_eq!(parse_link(Some("0")), Ok(None));
        assert_eq!(parse_link(Some("-1")), Ok(None));
        assert_eq!(parse_link(Some("")), Ok(None));
        assert_eq!(parse_link(Some("1001")), Ok(Some(1001)));
        assert!(parse_link(Some("abc")).is_err());
        assert_eq!(parse_bool("1"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("2").is_err());
    }

    #[test]
    fn money_is_rounded_half_away_from_zero_with_fixed_digits() {
        assert_eq!(format_money(Decimal::from_str("49.9").unwrap(), 2), "49.90");
        assert_eq!(format_money(Decimal::from_str("0.125").unwrap(), 2), "0.13");
        assert_eq!(format_money(Decimal::from_str("-0.125").unwrap(), 2), "-0.13");
        assert_eq!(format_quantity(Decimal::from_str("10.000").unwrap()), "10");
    }
}
