//! The mapping profile: the account-specific tables a mapper needs.
//!
//! incwo's VAT ids, status ids, warehouses, currencies and the `sheet_type`
//! used for orders differ between accounts and are not listed by the API, so
//! they are data, not constants. A profile is a versioned JSON document the
//! host loads; [`Profile::from_json`] checks it whole and reports every
//! problem at once.
//!
//! A profile proposed by a discovery (`incwo profile discover`) may mark a
//! value it could not establish as [`UNKNOWN`]: the bare string `"unknown"`
//! or `{"unknown": "hint"}` in place of the value. Every value of a profile
//! is read by some sync step, so [`Profile::from_json`] refuses such a
//! profile, naming each unknown path with its hint, until someone fills them in.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// The profile format this core reads.
pub const PROFILE_VERSION: u32 = 1;

/// The marker of a value a discovery could not establish: `"unknown"`, or
/// the object `{"unknown": "what to do"}` in place of the value.
pub const UNKNOWN: &str = "unknown";

/// The default profile shipped as `profiles/default.json` (the file lives in
/// the crate, `core/profiles/`, so that the published crate carries it).
pub const DEFAULT_PROFILE_JSON: &str = include_str!("../../profiles/default.json");

/// One tax code: its rate and incwo's `vat_value_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaxEntry {
    /// Rate as a fraction (`0.20` for 20 %).
    #[serde(deserialize_with = "decimal_from_json")]
    pub rate: Decimal,
    /// incwo's id for this rate (`vat_value_id` on lines, `vat_id` on products).
    pub vat_value_id: u64,
}

/// One currency: incwo's `currency_id` and its minor digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CurrencyEntry {
    /// incwo's id for the currency.
    pub id: u64,
    /// Decimals allowed on money in this currency (2 for EUR).
    #[serde(default = "two")]
    pub minor_digits: u32,
}

fn two() -> u32 {
    2
}

/// How VAT is rounded (see the contract's totals rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VatRounding {
    /// Σ over rates of round(Σ line totals at that rate × rate). The default.
    #[default]
    PerRate,
    /// Σ of each line's VAT, rounded per line.
    PerLine,
}

/// Whether invoices are created as drafts or issued at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InvoiceMode {
    /// `invoice_maybe`: an unnumbered draft (the default; issuing is irreversible in France).
    #[default]
    Draft,
    /// `invoice`: a numbered, final invoice.
    Final,
}

/// incwo's `sheet_type` literals for proposal sheets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SheetTypes {
    /// Quotes (`proposal`, documented).
    pub quote: String,
    /// Sales orders (not documented; `order` by default).
    pub order: String,
    /// Delivery notes (not documented; `delivery` by default).
    pub delivery: String,
}

/// `progress_id`s by document type and status name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Statuses {
    /// Quote statuses: draft, sent, accepted, refused, expired.
    pub quote: BTreeMap<String, u64>,
    /// Order statuses: confirmed, partiallyDelivered, delivered, cancelled.
    pub order: BTreeMap<String, u64>,
    /// Invoice statuses: draft, issued, partiallyPaid, paid, cancelled.
    pub invoice: BTreeMap<String, u64>,
}

/// incwo's `type_id`s for the contact items the customer mapper writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactItemTypes {
    /// E-mail item type (27 = business e-mail).
    pub email: u64,
    /// Phone item type (24 = business phone).
    pub phone: u64,
}

/// Size limits applied to inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Largest input document, in bytes (5 MiB by default).
    pub max_input_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 5 * 1024 * 1024,
        }
    }
}

/// How incwo's list pages are read. Their order and page size are not
/// documented (docs/INCWO-API.md 1.6–1.7); `incwo profile discover` reports
/// what an account does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Lists {
    /// The order of list pages: `ascending` ids (assumed, and checked on
    /// every page the marker index reads) or `unknown` (every index pass
    /// reads every page).
    pub order: ListOrder,
    /// `per_page` sent with list requests, for an account that honours it
    /// (fewer pages per sweep); none: incwo's own page size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}

/// The order of a resource's list pages, as configured or observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Ascending ids, within and across pages.
    #[default]
    Ascending,
    /// Anything else.
    Unknown,
}

/// A mapping profile (format version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// Format version; must be [`PROFILE_VERSION`].
    pub profile_version: u32,
    /// A name for logs.
    pub name: String,
    /// The mapper version to emit with (see [`crate::base::MapperVersion`]).
    pub mapper_version: u32,
    /// Tax code → rate and `vat_value_id`.
    pub taxes: BTreeMap<String, TaxEntry>,
    /// ISO 4217 code → incwo currency.
    pub currencies: BTreeMap<String, CurrencyEntry>,
    /// Currency used where a record names none (products).
    pub default_currency: String,
    /// Warehouse code → incwo warehouse id.
    pub warehouses: BTreeMap<String, u64>,
    /// `sheet_type` literals.
    pub sheet_types: SheetTypes,
    /// Draft or final invoices.
    #[serde(default)]
    pub invoice_mode: InvoiceMode,
    /// VAT rounding rule.
    #[serde(default)]
    pub vat_rounding: VatRounding,
    /// A wrong French VAT key is an error instead of a warning.
    #[serde(default)]
    pub strict_vat_numbers: bool,
    /// `progress_id`s per document type.
    pub statuses: Statuses,
    /// Contact item types for e-mail and phone.
    pub contact_item_types: ContactItemTypes,
    /// Input limits.
    #[serde(default)]
    pub limits: Limits,
    /// How list pages are read.
    #[serde(default, skip_serializing_if = "is_default")]
    pub lists: Lists,
}

fn is_default(lists: &Lists) -> bool {
    *lists == Lists::default()
}

/// One problem found in a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileProblem {
    /// JSON pointer into the profile.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// A profile that cannot be used; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mapping profile: {}", .problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>().join("; "))]
pub struct ProfileError {
    /// Every problem found.
    pub problems: Vec<ProfileProblem>,
}

const QUOTE_STATUSES: &[&str] = &["draft", "sent", "accepted", "refused", "expired"];
const ORDER_STATUSES: &[&str] = &["confirmed", "partiallyDelivered", "delivered", "cancelled"];
const INVOICE_STATUSES: &[&str] = &["draft", "issued", "partiallyPaid", "paid", "cancelled"];

impl Default for Profile {
    fn default() -> Self {
        Profile::shipped().clone()
    }
}

impl Profile {
    /// The shipped default profile, read once: every call that names no
    /// profile uses it without parsing it again.
    pub fn shipped() -> &'static Profile {
        static SHIPPED: std::sync::OnceLock<Profile> = std::sync::OnceLock::new();
        SHIPPED.get_or_init(|| Profile::from_json(DEFAULT_PROFILE_JSON).expect("the shipped default profile is valid"))
    }

    /// Reads and checks a profile from its JSON text. A profile with
    /// [`UNKNOWN`] values is refused: one problem per unknown path, with its hint.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            let problems = unknown_values(&value);
            if !problems.is_empty() {
                return Err(ProfileError { problems });
            }
        }
        let profile: Profile = serde_json::from_str(text).map_err(|e| ProfileError {
            problems: vec![ProfileProblem {
                path: String::new(),
                message: format!(
                    "{e} (line {}, column {}); see profiles/default.json for the expected shape",
                    e.line(),
                    e.column()
                ),
            }],
        })?;
        profile.check()?;
        Ok(profile)
    }

    /// Checks the profile's consistency, reporting every problem at once.
    pub fn check(&self) -> Result<(), ProfileError> {
        let mut problems = Vec::new();
        let mut problem = |path: String, message: String| problems.push(ProfileProblem { path, message });
        if self.profile_version != PROFILE_VERSION {
            problem(
                "/profileVersion".into(),
                format!(
                    "unsupported profile version {}; this core reads version {PROFILE_VERSION}",
                    self.profile_version
                ),
            );
        }
        if crate::base::MapperVersion::from_number(self.mapper_version).is_none() {
            problem(
                "/mapperVersion".into(),
                format!("unknown mapper version {}; known versions: 1", self.mapper_version),
            );
        }
        if self.taxes.is_empty() {
            problem("/taxes".into(), "at least one tax code is needed".into());
        }
        let mut rate_by_vat_id: BTreeMap<u64, (&str, Decimal)> = BTreeMap::new();
        for (code, tax) in &self.taxes {
            if tax.rate < Decimal::ZERO || tax.rate >= Decimal::ONE {
                problem(
                    format!("/taxes/{code}/rate"),
                    "a rate is a fraction between 0 and 1 (0.20 for 20 %)".into(),
                );
            }
            if let Some((other, rate)) = rate_by_vat_id.insert(tax.vat_value_id, (code, tax.rate)) {
                if rate != tax.rate {
                    problem(
                        format!("/taxes/{code}/vatValueId"),
                        format!(
                            "vatValueId {} is also used by {other} with another rate",
                            tax.vat_value_id
                        ),
                    );
                }
            }
        }
        for (code, currency) in &self.currencies {
            if !crate::base::iso::is_currency(code) {
                problem(format!("/currencies/{code}"), "not an ISO 4217 currency code".into());
            }
            if currency.minor_digits > 4 {
                problem(
                    format!("/currencies/{code}/minorDigits"),
                    "at most 4 minor digits".into(),
                );
            }
        }
        duplicates(
            &mut problem,
            "/currencies",
            self.currencies.iter().map(|(k, c)| (k.as_str(), c.id)),
        );
        if !self.currencies.contains_key(&self.default_currency) {
            problem(
                "/defaultCurrency".into(),
                format!("unknown currency {:?}: add it to /currencies", self.default_currency),
            );
        }
        duplicates(
            &mut problem,
            "/warehouses",
            self.warehouses.iter().map(|(k, v)| (k.as_str(), *v)),
        );
        for (path, table, names) in [
            ("/statuses/quote", &self.statuses.quote, QUOTE_STATUSES),
            ("/statuses/order", &self.statuses.order, ORDER_STATUSES),
            ("/statuses/invoice", &self.statuses.invoice, INVOICE_STATUSES),
        ] {
            for name in names {
                if !table.contains_key(*name) {
                    problem(format!("{path}/{name}"), "missing status id".into());
                }
            }
            for name in table.keys() {
                if !names.contains(&name.as_str()) {
                    problem(
                        format!("{path}/{name}"),
                        format!("unknown status; known: {}", names.join(", ")),
                    );
                }
            }
            duplicates(&mut problem, path, table.iter().map(|(k, v)| (k.as_str(), *v)));
        }
        for (path, value) in [
            ("/sheetTypes/quote", &self.sheet_types.quote),
            ("/sheetTypes/order", &self.sheet_types.order),
            ("/sheetTypes/delivery", &self.sheet_types.delivery),
        ] {
            if value.trim().is_empty() {
                problem(path.into(), "must not be empty".into());
            }
        }
        if self.limits.max_input_bytes == 0 {
            problem("/limits/maxInputBytes".into(), "must be positive".into());
        }
        if self.lists.per_page.is_some_and(|n| !(1..=1000).contains(&n)) {
            problem(
                "/lists/perPage".into(),
                "must be 1 to 1000 (or absent for incwo's own page size)".into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ProfileError { problems })
        }
    }

    /// The tax entry of a code.
    pub fn tax(&self, code: &str) -> Option<&TaxEntry> {
        self.taxes.get(code)
    }

    /// Minor digits of a currency (the default currency's when unknown).
    pub fn minor_digits(&self, currency: &str) -> u32 {
        self.currencies
            .get(currency)
            .or_else(|| self.currencies.get(&self.default_currency))
            .map_or(2, |c| c.minor_digits)
    }
}

/// Every value marked [`UNKNOWN`] in a profile's JSON, as problems naming
/// the JSON pointer and what to do (the marker's hint).
pub fn unknown_values(value: &serde_json::Value) -> Vec<ProfileProblem> {
    let mut out = Vec::new();
    collect_unknowns(value, String::new(), &mut out);
    out
}

fn collect_unknowns(value: &serde_json::Value, path: String, out: &mut Vec<ProfileProblem>) {
    use serde_json::Value;
    let refused = "a profile with unknown values cannot run a sync: put the value from the incwo account here";
    match value {
        Value::String(s) if s == UNKNOWN && path != "/name" => out.push(ProfileProblem {
            message: format!("unknown value; {refused}"),
            path,
        }),
        Value::Object(map) if map.len() == 1 && map.contains_key(UNKNOWN) => {
            let hint = map.get(UNKNOWN).and_then(Value::as_str).unwrap_or("");
            out.push(ProfileProblem {
                message: if hint.is_empty() {
                    format!("unknown value; {refused}")
                } else {
                    format!("unknown value: {hint}; {refused}")
                },
                path,
            })
        }
        Value::Object(map) => {
            for (key, v) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                collect_unknowns(v, format!("{path}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_unknowns(v, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn duplicates<'a>(problem: &mut impl FnMut(String, String), path: &str, entries: impl Iterator<Item = (&'a str, u64)>) {
    let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
    let mut reported = BTreeSet::new();
    for (name, id) in entries {
        if let Some(first) = seen.insert(id, name) {
            if reported.insert((id, name)) {
                problem(format!("{path}/{name}"), format!("id {id} is also used by {first}"));
            }
        }
    }
}

/// Reads a decimal from a JSON number or string without going through f64.
pub(crate) fn decimal_from_json<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    let text = match &value {
        serde_json::Value::Number(n) => n.as_str(),
        serde_json::Value::String(s) => s.as_str(),
        _ => return Err(serde::de::Error::custom("expected a decimal number")),
    };
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| serde::de::Error::custom("expected a decimal number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_is_valid_and_has_the_documented_ids() {
        let p = Profile::default();
        assert_eq!(p.tax("TVA20").unwrap().vat_value_id, 607);
        assert_eq!(p.tax("TVA10").unwrap().vat_value_id, 552);
        assert_eq!(p.tax("TVA5_5").unwrap().vat_value_id, 223);
        assert_eq!(p.tax("TVA2_1").unwrap().vat_value_id, 222);
        assert_eq!(p.tax("TVA0").unwrap().vat_value_id, 225);
        assert_eq!(p.tax("TVA5_5").unwrap().rate.to_string(), "0.055");
        assert_eq!(p.invoice_mode, InvoiceMode::Draft);
        assert_eq!(p.statuses.quote["accepted"], 557);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut v: serde_json::Value = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        v["profileVersion"] = 2.into();
        v["taxes"]["TVA10"]["vatValueId"] = 607.into();
        v["statuses"]["order"]["delivered"] = v["statuses"]["order"]["confirmed"].clone();
        v["defaultCurrency"] = "XXX".into();
        let err = Profile::from_json(&v.to_string()).unwrap_err();
        let paths: Vec<_> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"/profileVersion"), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("/taxes/")), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("/statuses/order/")), "{paths:?}");
        assert!(paths.contains(&"/defaultCurrency"), "{paths:?}");
    }

    #[test]
    fn unknown_values_are_refused_with_their_path_and_hint() {
        let mut v: serde_json::Value = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        v["sheetTypes"]["order"] = serde_json::json!({"unknown": "no order seen; open an order in incwo"});
        v["statuses"]["invoice"]["paid"] = "unknown".into();
        v["warehouses"]["MAIN"] = serde_json::json!({"unknown": "no stock movement read"});
        let err = Profile::from_json(&v.to_string()).unwrap_err();
        let paths: Vec<_> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/sheetTypes/order", "/statuses/invoice/paid", "/warehouses/MAIN"],
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("no order seen; open an order in incwo"), "{text}");
        assert!(text.contains("cannot run a sync"), "{text}");
        // The name may legitimately be "unknown"; the shipped profile has no unknowns.
        v = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        v["name"] = "unknown".into();
        assert!(Profile::from_json(&v.to_string()).is_ok());
        assert!(unknown_values(&serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap()).is_empty());
    }

    #[test]
    fn unknown_fields_and_bad_json_are_clear_errors() {
        let err = Profile::from_json(r#"{"profileVersion": 1, "taxs": {}}"#).unwrap_err();
        assert!(err.to_string().contains("taxs"), "{err}");
        let err = Profile::from_json("{").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
