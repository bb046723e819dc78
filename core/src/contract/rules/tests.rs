//! Unit tests of the field-level rules.

use super::*;
use serde_json::json;

fn code<T: std::fmt::Debug>(r: Result<T, Broken>) -> &'static str {
    r.expect_err("should break a rule").code
}

#[test]
fn ids() {
    assert_eq!(id(&json!("CMD-INC-2026-0411")).unwrap(), "CMD-INC-2026-0411");
    assert_eq!(id(&json!("a.b_c:d/e")).unwrap(), "a.b_c:d/e");
    assert_eq!(code(id(&json!(""))), "empty");
    assert_eq!(code(id(&json!("a b"))), "format");
    assert_eq!(code(id(&json!("x".repeat(65)))), "too_long");
    assert_eq!(code(id(&json!(12))), "type");
}

#[test]
fn texts() {
    assert_eq!(
        text(&json!("  Atelier Horizon "), 255, false).unwrap(),
        "Atelier Horizon"
    );
    assert_eq!(code(text(&json!("   "), 255, false)), "empty");
    assert_eq!(code(text(&json!("a\nb"), 255, false)), "control_character");
    assert_eq!(text(&json!("a\tb"), 255, true).unwrap(), "a\tb");
    assert_eq!(code(text(&json!("a\tb"), 255, false)), "control_character");
    assert_eq!(code(text(&json!("é".repeat(101)), 100, false)), "too_long");
    assert!(text(&json!("é".repeat(100)), 100, false).is_ok());
}

#[test]
fn dates() {
    assert!(date(&json!("2026-04-11")).is_ok());
    assert_eq!(code(date(&json!("11/04/2026"))), "format");
    assert_eq!(code(date(&json!("2026-02-30"))), "format");
    assert_eq!(code(date(&json!("1999-12-31"))), "range");
    assert_eq!(code(date(&json!("2026-4-11"))), "format");
    assert!(timestamp(&json!("2026-04-11T09:30:00+02:00")).is_ok());
    assert_eq!(code(timestamp(&json!("2026-04-11 09:30"))), "format");
}

#[test]
fn currencies_and_countries() {
    assert_eq!(currency(&json!("EUR"), |c| c == "EUR").unwrap(), "EUR");
    assert_eq!(code(currency(&json!("USD"), |c| c == "EUR")), "unknown_code");
    assert_eq!(code(currency(&json!("eur"), |_| true)), "format");
    assert_eq!(country(&json!("FR")).unwrap(), "FR");
    assert_eq!(code(country(&json!("fr"))), "format");
    assert_eq!(code(country(&json!("FRA"))), "format");
    assert!(french_zip("75011").is_ok());
    assert_eq!(code(french_zip("7501")), "format");
}

#[test]
fn money_is_exact() {
    let exact: Value = serde_json::from_str("49.90").unwrap();
    assert_eq!(money(&exact, 2).unwrap().to_string(), "49.90");
    let v: Value = serde_json::from_str("0.1000000000000000001").unwrap();
    assert_eq!(code(money(&v, 2)), "too_many_decimals");
    assert_eq!(money(&json!("49.90"), 2).unwrap().to_string(), "49.90");
    assert!(money(&json!("1.230"), 2).is_ok(), "trailing zeros do not count");
    assert_eq!(code(money(&json!(-1), 2)), "range");
    assert_eq!(code(money(&json!(1_000_000_000), 2)), "range");
    assert_eq!(code(money(&json!("12,5"), 2)), "format");
    assert_eq!(code(money(&json!(true), 2)), "type");
    let huge: Value = serde_json::from_str(&"9".repeat(400)).unwrap();
    assert_eq!(code(money(&huge, 2)), "range");
}

#[test]
fn quantities() {
    assert_eq!(qty(&json!(10), false).unwrap().to_string(), "10");
    assert_eq!(code(qty(&json!(0), false)), "range");
    assert_eq!(code(qty(&json!(-1), false)), "range");
    assert_eq!(qty(&json!(-6), true).unwrap().to_string(), "-6");
    assert_eq!(code(qty(&json!(0), true)), "range");
    assert_eq!(code(qty(&json!(1.23456), false)), "too_many_decimals");
    assert_eq!(code(qty(&json!(1_000_001), false)), "range");
}

#[test]
fn emails() {
    assert!(email(&json!("compta@atelier-horizon.fr")).is_ok());
    for bad in ["nope", "a@b", "a@@b.fr", "a b@c.fr", "@c.fr", "a@c.f", "a@-c.fr"] {
        assert_eq!(code(email(&json!(bad))), "format", "{bad}");
    }
}

#[test]
fn phones_become_e164() {
    assert_eq!(phone(&json!("+33 1 83 40 88 15")).unwrap(), "+33183408815");
    assert_eq!(phone(&json!("01 83 40 88 15")).unwrap(), "+33183408815");
    assert_eq!(phone(&json!("01.83.40.88.15")).unwrap(), "+33183408815");
    assert_eq!(phone(&json!("+33 (0)1 83 40 88 15")).unwrap(), "+33183408815");
    assert_eq!(phone(&json!("0044 20 7946 0958")).unwrap(), "+442079460958");
    assert_eq!(phone(&json!("+1 (415) 555-0100")).unwrap(), "+14155550100");
    assert_eq!(code(phone(&json!("12345"))), "format");
    assert_eq!(code(phone(&json!("call me"))), "format");
    assert_eq!(code(phone(&json!("01 83 40 88"))), "format");
    assert_eq!(code(phone(&json!("33+1"))), "format");
}

#[test]
fn vat_numbers_check_the_french_key() {
    assert_eq!(french_vat_key(123456789), 32);
    let good = vat_number(&json!("FR32 123456789")).unwrap();
    assert_eq!(
        good,
        VatNumber {
            normalized: "FR32123456789".into(),
            key_ok: true
        }
    );
    assert!(!vat_number(&json!("FR53123456789")).unwrap().key_ok);
    assert!(vat_number(&json!("DE123456789")).unwrap().key_ok);
    assert_eq!(code(vat_number(&json!("FR1234"))), "format");
    assert_eq!(code(vat_number(&json!("F"))), "format");
    assert_eq!(code(vat_number(&json!("12345678901"))), "format");
}
