//! The fast path of validation, for documents with lines (quotes, orders,
//! invoices): the JSON text is deserialised once into typed structs that
//! borrow their strings from the input, every rule of the contract is applied
//! to them with the same checkers as the walker (`contract::rules`), and the
//! result is a checked [`Document`] that still borrows from the input.
//!
//! It only ever says "valid, without any warning": on the first broken rule,
//! and on anything unusual (a duplicate key, an exponent in a number, a
//! negative zero, an input past the profile's limit…), it returns `None` and
//! the caller runs the walker, which reports every violation with its
//! pointer, code and hint. Accepting implies the walker accepts too and
//! builds the same record; `tests/fastpath_differential.rs` checks it.

use super::rules;
use super::spec::MAX_LINES;
use crate::base::profile::Profile;
use crate::model::{Invoice, Kind, Line, Order, Quote, Record};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// serde_json's key for a number kept as text (`arbitrary_precision`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A decimal field read in place, as the walker reads it: a JSON number
/// (exactly, from its text) or a decimal string. Exponents and negative
/// zeros are left to the walker (their text round trip is its business), so
/// they fail here like a broken rule.
struct Dec(Decimal);

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Dec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON number or a decimal string")
            }
            // serde_json hands integers over as integers; the walker reads
            // their text, which is the integer's.
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Dec, E> {
                Ok(Dec(Decimal::from(n)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dec, E> {
                Ok(Dec(Decimal::from(n)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dec, E> {
                rules::decimal_string(s).map(Dec).map_err(|_| E::custom("broken"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dec, A::Error> {
                // serde_json (arbitrary_precision) hands any other number over
                // as a one-entry map from its private token to the number's text.
                let key: Option<Cow<'de, str>> = map.next_key()?;
                if key.as_deref() != Some(NUMBER_TOKEN) {
                    return Err(de::Error::custom("not a number"));
                }
                let text: String = map.next_value()?;
                if map.next_key::<de::IgnoredAny>()?.is_some() || text.bytes().any(|b| b == b'e' || b == b'E') {
                    return Err(de::Error::custom("not a plain number"));
                }
                rules::decimal_number(&text)
                    .map(Dec)
                    .map_err(|_| de::Error::custom("broken"))
            }
        }
        let Dec(d) = d.deserialize_any(V)?;
        if d.is_zero() && d.is_sign_negative() {
            return Err(de::Error::custom("negative zero"));
        }
        Ok(Dec(d))
    }
}

/// The `contract` field: the JSON integer 1 (what the walker's `as_u64` reads).
struct Version;

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("contract version 1")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Version, E> {
                if n == 1 {
                    Ok(Version)
                } else {
                    Err(E::custom("not version 1"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A struct read from a JSON object only: serde's derived structs also
/// accept an array of the fields' values, which the contract does not.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LineIn<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    #[serde(borrow)]
    description: Option<Cow<'a, str>>,
    qty: Dec,
    unit_price_excl_tax: Dec,
    #[serde(borrow)]
    tax_code: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QuoteIn<'a> {
    #[serde(rename = "contract")]
    _version: Option<Version>,
    #[serde(borrow)]
    quote_number: Cow<'a, str>,
    #[serde(borrow)]
    customer_external_id: Cow<'a, str>,
    #[serde(borrow)]
    quote_date: Cow<'a, str>,
    #[serde(borrow)]
    valid_until: Option<Cow<'a, str>>,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(borrow)]
    lines: Vec<Obj<LineIn<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OrderIn<'a> {
    #[serde(rename = "contract")]
    _version: Option<Version>,
    #[serde(borrow)]
    order_number: Cow<'a, str>,
    #[serde(borrow)]
    customer_external_id: Cow<'a, str>,
    #[serde(borrow)]
    order_date: Cow<'a, str>,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(borrow)]
    source_quote: Option<Cow<'a, str>>,
    #[serde(borrow)]
    lines: Vec<Obj<LineIn<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InvoiceIn<'a> {
    #[serde(rename = "contract")]
    _version: Option<Version>,
    #[serde(borrow)]
    invoice_number: Cow<'a, str>,
    #[serde(borrow)]
    source_order: Cow<'a, str>,
    #[serde(borrow)]
    issue_date: Cow<'a, str>,
    #[serde(borrow)]
    due_date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    currency: Option<Cow<'a, str>>,
    #[serde(borrow)]
    lines: Vec<Obj<LineIn<'a>>>,
}

/// A checked document line, borrowing from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct DocLine<'a> {
    /// SKU.
    pub sku: Cow<'a, str>,
    /// Label, trimmed.
    pub description: Option<Cow<'a, str>>,
    /// Quantity, normalised (no trailing zeros).
    pub qty: Decimal,
    /// Unit price as written (its scale kept).
    pub unit_price_excl_tax: Decimal,
    /// Tax code of the profile.
    pub tax_code: Cow<'a, str>,
}

/// A quote, order or invoice that breaks no rule of the contract, borrowing
/// its strings from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<'a> {
    /// Quote, order or invoice.
    pub kind: Kind,
    /// quoteNumber, orderNumber or invoiceNumber.
    pub number: Cow<'a, str>,
    /// customerExternalId (quote, order) or sourceOrder (invoice).
    pub party: Cow<'a, str>,
    /// quoteDate, orderDate or issueDate.
    pub date: NaiveDate,
    /// validUntil (quote) or dueDate (invoice).
    pub end_date: Option<NaiveDate>,
    /// The currency (always given for quotes and orders).
    pub currency: Option<Cow<'a, str>>,
    /// sourceQuote (order).
    pub source_quote: Option<Cow<'a, str>>,
    /// The lines, 1 to [`MAX_LINES`].
    pub lines: Vec<DocLine<'a>>,
}

/// The rules a checker broke; the fast path only needs to know that one was.
type Checked<T> = Result<T, ()>;

fn id(s: Cow<'_, str>) -> Checked<Cow<'_, str>> {
    rules::id_str(&s).map(|()| s).map_err(drop)
}

fn date(s: &str) -> Checked<NaiveDate> {
    rules::date_str(s).map_err(drop)
}

fn trimmed(s: Cow<'_, str>, max: usize, allow_tab: bool) -> Checked<Cow<'_, str>> {
    let len = rules::text_str(&s, max, allow_tab).map_err(drop)?.len();
    Ok(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) if o.len() == len => Cow::Owned(o),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    })
}

fn lines<'a>(items: Vec<Obj<LineIn<'a>>>, digits: u32, profile: &Profile) -> Checked<Vec<DocLine<'a>>> {
    if items.is_empty() || items.len() > MAX_LINES {
        return Err(());
    }
    items
        .into_iter()
        .map(|Obj(l)| {
            if !profile.taxes.contains_key(l.tax_code.as_ref()) {
                return Err(());
            }
            Ok(DocLine {
                sku: id(l.sku)?,
                description: l.description.map(|d| trimmed(d, 1000, true)).transpose()?,
                qty: rules::qty_amount(l.qty.0, false).map_err(drop)?,
                unit_price_excl_tax: rules::money_amount(l.unit_price_excl_tax.0, digits).map_err(drop)?,
                tax_code: l.tax_code,
            })
        })
        .collect()
}

fn currency<'a>(c: Cow<'a, str>, profile: &Profile) -> Checked<Cow<'a, str>> {
    rules::currency_str(&c, |code| profile.currencies.contains_key(code))
        .map(|()| c)
        .map_err(drop)
}

fn not_before(first: NaiveDate, second: Option<NaiveDate>) -> Checked<()> {
    match second {
        Some(second) if second < first => Err(()),
        _ => Ok(()),
    }
}

/// Deserialises and checks a quote, order or invoice; `None` when the kind
/// is another one, when any rule is broken, or on anything unusual (the
/// caller then runs the walker).
pub fn check_document<'a>(kind: Kind, text: &'a str, profile: &Profile) -> Option<Document<'a>> {
    if text.len() > profile.limits.max_input_bytes {
        return None;
    }
    let result = match kind {
        Kind::Quote => quote(serde_json::from_str::<Obj<_>>(text).ok()?.0, profile),
        Kind::Order => order(serde_json::from_str::<Obj<_>>(text).ok()?.0, profile),
        Kind::Invoice => invoice(serde_json::from_str::<Obj<_>>(text).ok()?.0, profile),
        _ => return None,
    };
    result.ok()
}

fn quote<'a>(q: QuoteIn<'a>, profile: &Profile) -> Checked<Document<'a>> {
    let currency = currency(q.currency, profile)?;
    let (date, end_date) = (date(&q.quote_date)?, q.valid_until.as_deref().map(date).transpose()?);
    not_before(date, end_date)?;
    Ok(Document {
        kind: Kind::Quote,
        number: id(q.quote_number)?,
        party: id(q.customer_external_id)?,
        date,
        end_date,
        lines: lines(q.lines, profile.minor_digits(&currency), profile)?,
        currency: Some(currency),
        source_quote: None,
    })
}

fn order<'a>(o: OrderIn<'a>, profile: &Profile) -> Checked<Document<'a>> {
    let currency = currency(o.currency, profile)?;
    Ok(Document {
        kind: Kind::Order,
        number: id(o.order_number)?,
        party: id(o.customer_external_id)?,
        date: date(&o.order_date)?,
        end_date: None,
        source_quote: o.source_quote.map(id).transpose()?,
        lines: lines(o.lines, profile.minor_digits(&currency), profile)?,
        currency: Some(currency),
    })
}

fn invoice<'a>(i: InvoiceIn<'a>, profile: &Profile) -> Checked<Document<'a>> {
    let currency = i.currency.map(|c| currency(c, profile)).transpose()?;
    let (date, end_date) = (date(&i.issue_date)?, i.due_date.as_deref().map(date).transpose()?);
    not_before(date, end_date)?;
    let digits = profile.minor_digits(currency.as_deref().unwrap_or(&profile.default_currency));
    Ok(Document {
        kind: Kind::Invoice,
        number: id(i.invoice_number)?,
        party: id(i.source_order)?,
        date,
        end_date,
        lines: lines(i.lines, digits, profile)?,
        currency,
        source_quote: None,
    })
}

impl Document<'_> {
    /// The owned record the walker would have built.
    pub fn to_record(&self) -> Record {
        let lines = self
            .lines
            .iter()
            .map(|l| Line {
                sku: l.sku.to_string(),
                description: l.description.as_deref().map(str::to_string),
                qty: l.qty,
                unit_price_excl_tax: l.unit_price_excl_tax,
                tax_code: l.tax_code.to_string(),
            })
            .collect();
        let currency = || self.currency.as_deref().unwrap_or_default().to_string();
        match self.kind {
            Kind::Quote => Record::Quote(Quote {
                quote_number: self.number.to_string(),
                customer_external_id: self.party.to_string(),
                quote_date: self.date,
                valid_until: self.end_date,
                currency: currency(),
                lines,
            }),
            Kind::Invoice => Record::Invoice(Invoice {
                invoice_number: self.number.to_string(),
                source_order: self.party.to_string(),
                issue_date: self.date,
                due_date: self.end_date,
                currency: self.currency.as_deref().map(str::to_string),
                lines,
            }),
            _ => Record::Order(Order {
                order_number: self.number.to_string(),
                customer_external_id: self.party.to_string(),
                order_date: self.date,
                currency: currency(),
                source_quote: self.source_quote.as_deref().map(str::to_string),
                lines,
            }),
        }
    }
}
