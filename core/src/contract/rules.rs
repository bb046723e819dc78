//! Field-level rules of the contract: each checker reads one JSON value and
//! returns its normalised form or the violation code with a message and hint.
//! Values are never quoted back in messages (they may be personal data).

use chrono::{DateTime, Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;

/// A rule broken by one value: code, message, hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Violation code (`format`, `range`…).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

fn broken(code: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Broken {
    Broken {
        code,
        message: message.into(),
        hint: hint.into(),
    }
}

/// Largest money amount accepted.
pub fn money_max() -> Decimal {
    Decimal::new(99_999_999_999, 2)
}

/// Largest absolute quantity accepted.
pub fn qty_max() -> Decimal {
    Decimal::from(1_000_000)
}

fn as_str<'a>(value: &'a Value, what: &str) -> Result<&'a str, Broken> {
    value.as_str().ok_or_else(|| {
        broken(
            "type",
            format!("must be a string ({what})"),
            format!("write {what} as a JSON string"),
        )
    })
}

/// An id: 1–64 characters among letters, digits and `. _ - : /`.
pub fn id(value: &Value) -> Result<String, Broken> {
    let s = as_str(value, "an id")?;
    id_str(s)?;
    Ok(s.to_string())
}

/// [`id`] on a string already read.
pub fn id_str(s: &str) -> Result<(), Broken> {
    // The common case: 1–64 bytes, all allowed (ASCII, so bytes are characters).
    if !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:/".contains(&b)) {
        return Ok(());
    }
    if s.is_empty() {
        return Err(broken(
            "empty",
            "must not be empty",
            "give the record's id in the host system",
        ));
    }
    if s.chars().count() > 64 {
        return Err(broken(
            "too_long",
            "is longer than 64 characters",
            "shorten the id to 64 characters",
        ));
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || ".-_:/".contains(*c))) {
        let what = if c.is_control() {
            "a control character"
        } else if c == ' ' {
            "a space"
        } else {
            "a character outside letters, digits and . _ - : /"
        };
        return Err(broken(
            "format",
            format!("contains {what}"),
            "use only ASCII letters, digits and . _ - : / in ids",
        ));
    }
    Ok(())
}

/// Text of 1–`max` characters after trimming, without control characters
/// (tabs allowed when `allow_tab`). Returned trimmed.
pub fn text(value: &Value, max: usize, allow_tab: bool) -> Result<String, Broken> {
    text_str(as_str(value, "text")?, max, allow_tab).map(str::to_string)
}

/// [`text`] on a string already read: the trimmed slice.
pub fn text_str(s: &str, max: usize, allow_tab: bool) -> Result<&str, Broken> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(broken(
            "empty",
            "must not be empty or blank",
            "give a value or leave the field out when it is optional",
        ));
    }
    if trimmed.chars().any(|c| c.is_control() && !(allow_tab && c == '\t')) {
        return Err(broken(
            "control_character",
            "contains a control character",
            "remove line breaks and other control characters",
        ));
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(broken(
            "too_long",
            format!("has {len} characters, more than {max}"),
            format!("shorten it to {max} characters"),
        ));
    }
    Ok(trimmed)
}

/// A `YYYY-MM-DD` calendar date with a year from 2000 to 2100.
pub fn date(value: &Value) -> Result<NaiveDate, Broken> {
    date_str(as_str(value, "a YYYY-MM-DD date")?)
}

/// [`date`] on a string already read.
pub fn date_str(s: &str) -> Result<NaiveDate, Broken> {
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let hint = "write the date as YYYY-MM-DD, e.g. 2026-04-11";
    if !shape_ok {
        return Err(broken("format", "is not a YYYY-MM-DD date", hint));
    }
    let date =
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| broken("format", "is not a real calendar date", hint))?;
    if !(2000..=2100).contains(&date.year()) {
        return Err(broken("range", "has a year outside 2000–2100", "check the year"));
    }
    Ok(date)
}

/// An RFC 3339 timestamp.
pub fn timestamp(value: &Value) -> Result<String, Broken> {
    let s = as_str(value, "an RFC 3339 timestamp")?;
    DateTime::parse_from_rfc3339(s).map(|t| t.to_rfc3339()).map_err(|_| {
        broken(
            "format",
            "is not an RFC 3339 timestamp",
            "write it like 2026-04-11T09:30:00+02:00",
        )
    })
}

/// An ISO 4217 code that the profile knows.
pub fn currency(value: &Value, known: impl Fn(&str) -> bool) -> Result<String, Broken> {
    let s = as_str(value, "an ISO 4217 currency code")?;
    currency_str(s, known)?;
    Ok(s.to_string())
}

/// [`currency`] on a string already read.
pub fn currency_str(s: &str, known: impl Fn(&str) -> bool) -> Result<(), Broken> {
    if !crate::base::iso::is_currency(s) {
        return Err(broken(
            "format",
            "is not an ISO 4217 currency code",
            "use a 3-letter upper-case code such as EUR",
        ));
    }
    if !known(s) {
        return Err(broken(
            "unknown_code",
            "is a currency the mapping profile does not know",
            "add the currency and its incwo id to the profile's currencies",
        ));
    }
    Ok(())
}

/// An ISO 3166-1 alpha-2 country code, upper case.
pub fn country(value: &Value) -> Result<String, Broken> {
    let s = as_str(value, "an ISO 3166-1 alpha-2 code")?;
    if crate::base::iso::country(s).is_none() {
        return Err(broken(
            "format",
            "is not an ISO 3166-1 alpha-2 country code",
            "use the upper-case 2-letter code, e.g. FR",
        ));
    }
    Ok(s.to_string())
}

/// A French zip code: 5 digits.
pub fn french_zip(zip: &str) -> Result<(), Broken> {
    if zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(broken(
            "format",
            "is not a French zip code (5 digits)",
            "write the 5-digit code, e.g. 75011",
        ))
    }
}

/// Reads a decimal exactly from a JSON number or a decimal string.
fn decimal(value: &Value) -> Result<Decimal, Broken> {
    match value {
        Value::Number(n) => decimal_number(n.as_str()),
        Value::String(s) => decimal_string(s),
        _ => Err(broken(
            "type",
            "must be a number",
            "write a JSON number such as 49.90 or a decimal string",
        )),
    }
}

/// A decimal written as a string: digits, at most one dot, an optional
/// leading minus, no blanks; read exactly.
pub fn decimal_string(s: &str) -> Result<Decimal, Broken> {
    let ok = !s.is_empty()
        && s.trim() == s
        && s.strip_prefix('-')
            .unwrap_or(s)
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|b| *b == b'.').count() <= 1
        && s.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return Err(broken(
            "format",
            "is not a decimal number",
            "write a number such as 49.90 (a JSON number or a string of digits with a dot)",
        ));
    }
    decimal_number(s)
}

/// A JSON number's text, read exactly.
pub fn decimal_number(text: &str) -> Result<Decimal, Broken> {
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| {
            broken(
                "range",
                "is too large or too precise to be read exactly",
                "check the value",
            )
        })
}

fn decimals_of(value: Decimal) -> u32 {
    value.normalize().scale()
}

/// Money: ≥ 0, at most `digits` decimals, ≤ 999,999,999.99.
pub fn money(value: &Value, digits: u32) -> Result<Decimal, Broken> {
    money_amount(decimal(value)?, digits)
}

/// [`money`] on a decimal already read.
pub fn money_amount(amount: Decimal, digits: u32) -> Result<Decimal, Broken> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(broken(
            "range",
            "is negative",
            "prices are ≥ 0; use a credit note or a cancellation for refunds",
        ));
    }
    if amount > money_max() {
        return Err(broken("range", "is more than 999,999,999.99", "check the amount"));
    }
    if decimals_of(amount) > digits {
        return Err(broken(
            "too_many_decimals",
            format!("has more than {digits} decimals"),
            format!("round the amount to {digits} decimals"),
        ));
    }
    Ok(amount)
}

/// A quantity: > 0 (or ≠ 0 when `signed`), at most 4 decimals, |q| ≤ 1,000,000.
pub fn qty(value: &Value, signed: bool) -> Result<Decimal, Broken> {
    qty_amount(decimal(value)?, signed)
}

/// [`qty`] on a decimal already read; returned normalised.
pub fn qty_amount(q: Decimal, signed: bool) -> Result<Decimal, Broken> {
    if q.is_zero() || (!signed && q.is_sign_negative()) {
        let hint = if signed {
            "a movement moves something: use a negative quantity for goods out"
        } else {
            "quantities are > 0"
        };
        return Err(broken(
            "range",
            if signed { "is zero" } else { "is not greater than zero" },
            hint,
        ));
    }
    if q.abs() > qty_max() {
        return Err(broken("range", "is more than 1,000,000", "check the quantity"));
    }
    if decimals_of(q) > 4 {
        return Err(broken(
            "too_many_decimals",
            "has more than 4 decimals",
            "round the quantity to 4 decimals",
        ));
    }
    Ok(q.normalize())
}

/// A key of a profile table (tax codes, warehouses).
pub fn table_key(
    value: &Value,
    what: &str,
    known: impl Fn(&str) -> bool,
    keys: impl FnOnce() -> String,
) -> Result<String, Broken> {
    let s = as_str(value, what)?;
    if known(s) {
        Ok(s.to_string())
    } else {
        Err(broken(
            "unknown_code",
            format!("is not a {what} of the mapping profile"),
            format!("use one of {}, or add it to the profile", keys()),
        ))
    }
}

/// One of a fixed set of values.
pub fn one_of(value: &Value, allowed: &[&str]) -> Result<String, Broken> {
    let s = as_str(value, "a name")?;
    if allowed.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(broken(
            "format",
            "is not an allowed value",
            format!("use one of {}", allowed.join(", ")),
        ))
    }
}

/// A JSON boolean.
pub fn boolean(value: &Value) -> Result<bool, Broken> {
    value
        .as_bool()
        .ok_or_else(|| broken("type", "must be true or false", "write a JSON boolean"))
}

/// An e-mail address `local@domain.tld`, at most 254 characters.
pub fn email(value: &Value) -> Result<String, Broken> {
    let s = as_str(value, "an e-mail address")?.trim();
    let hint = "write an address like name@example.fr";
    if s.len() > 254 {
        return Err(broken("too_long", "is longer than 254 characters", hint));
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(broken("format", "is not an e-mail address", hint));
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if local_ok && domain_ok {
        Ok(s.to_string())
    } else {
        Err(broken("format", "is not an e-mail address", hint))
    }
}

/// A phone number, normalised to E.164 (`+33` assumed without a prefix).
pub fn phone(value: &Value) -> Result<String, Broken> {
    let s = as_str(value, "a phone number")?.trim();
    let hint = "write it with digits, spaces, dots, dashes or parentheses, e.g. +33 1 83 40 88 15 or 01 83 40 88 15";
    if s.chars().any(|c| !(c.is_ascii_digit() || " .-()+".contains(c))) || s.rfind('+').is_some_and(|i| i != 0) {
        return Err(broken("format", "contains characters a phone number cannot hold", hint));
    }
    let international = s.starts_with('+');
    // "+33 (0)1 …": the trunk zero in parentheses is dropped.
    let cleaned = s.replace("(0)", "");
    let digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
    let raw_digits = s.chars().filter(char::is_ascii_digit).count();
    if !(6..=20).contains(&raw_digits) {
        return Err(broken("format", "does not have 6 to 20 digits", hint));
    }
    let e164 = if international {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("33{rest}")
    } else {
        format!("33{digits}")
    };
    if !(8..=15).contains(&e164.len()) || e164.starts_with('0') {
        return Err(broken(
            "format",
            "cannot be written in E.164 (country code and 8 to 15 digits)",
            hint,
        ));
    }
    if e164.starts_with("33") && e164.len() != 11 {
        return Err(broken("format", "is not a French number (9 digits after +33)", hint));
    }
    Ok(format!("+{e164}"))
}

/// What a VAT number check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatNumber {
    /// Upper case, spaces removed.
    pub normalized: String,
    /// For a French number, whether its key matches its SIREN.
    pub key_ok: bool,
}

/// An intra-EU VAT number: 2-letter prefix + 2–13 alphanumerics; for FR,
/// 2-digit key + 9-digit SIREN with key = (12 + 3 × (SIREN mod 97)) mod 97.
pub fn vat_number(value: &Value) -> Result<VatNumber, Broken> {
    let s = as_str(value, "a VAT number")?;
    let normalized: String = s.chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
    let hint = "write the prefix and number without punctuation, e.g. FR40303265045";
    let (prefix, rest) = normalized.split_at(normalized.char_indices().nth(2).map_or(normalized.len(), |(i, _)| i));
    let ok = prefix.len() == 2
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && (2..=13).contains(&rest.len())
        && rest.chars().all(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(broken(
            "format",
            "is not a VAT number (2-letter prefix and 2 to 13 letters or digits)",
            hint,
        ));
    }
    if prefix != "FR" {
        return Ok(VatNumber {
            normalized,
            key_ok: true,
        });
    }
    if rest.len() != 11 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(broken(
            "format",
            "is not a French VAT number (FR, a 2-digit key and a 9-digit SIREN)",
            hint,
        ));
    }
    let key: u64 = rest[..2].parse().unwrap_or(u64::MAX);
    let siren: u64 = rest[2..].parse().unwrap_or(0);
    Ok(VatNumber {
        key_ok: key == (12 + 3 * (siren % 97)) % 97,
        normalized,
    })
}

/// The French VAT key expected for a SIREN.
pub fn french_vat_key(siren: u64) -> u64 {
    (12 + 3 * (siren % 97)) % 97
}

#[cfg(test)]
mod tests;
