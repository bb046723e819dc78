//! The canonical contract, version 1: the records hosts hand to the core.
//!
//! These types are what a record becomes once [`crate::contract`] has
//! validated and normalised it (phones in E.164, defaults filled, money read
//! exactly). They serialise to camelCase JSON with money as decimal strings,
//! so a host never sees a float. Field rules live in the contract's spec
//! tables, not here.
//!
//! The model also holds the rules every layer shares about records: the
//! incwo [`Domain`] of an object, a record's external id and its customer
//! ([`identity`]).

mod domain;
pub mod identity;

pub use domain::Domain;
pub use identity::{customer_of, customer_ref, external_id, CustomerRef, Field, RecordFields};

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The contract version this core reads and writes.
pub const CONTRACT_VERSION: u32 = 1;

/// The kinds of canonical record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A customer (incwo firm).
    Customer,
    /// A product (incwo customer_product).
    Product,
    /// A quote (incwo proposal_sheet of type proposal).
    Quote,
    /// A sales order (incwo proposal_sheet of the profile's order type).
    Order,
    /// An invoice on an order (incwo bill_sheet).
    Invoice,
    /// A stock movement (incwo stock_movement).
    StockMovement,
    /// The cancellation of an order.
    Cancellation,
}

impl Kind {
    /// Every kind, in the order of a document chain.
    pub const ALL: [Kind; 7] = [
        Kind::Customer,
        Kind::Product,
        Kind::Quote,
        Kind::Order,
        Kind::Invoice,
        Kind::StockMovement,
        Kind::Cancellation,
    ];

    /// The kind's name as written in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Product => "product",
            Kind::Quote => "quote",
            Kind::Order => "order",
            Kind::Invoice => "invoice",
            Kind::StockMovement => "stock-movement",
            Kind::Cancellation => "cancellation",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that is not one of [`Kind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind {0:?}: expected one of customer, product, quote, order, invoice, stock-movement, cancellation")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// Whether a customer already buys or is still a prospect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerKind {
    /// A paying customer (the default).
    #[default]
    Client,
    /// A prospect.
    Prospect,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// First address line.
    pub line1: String,
    /// Second address line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// Postal code (5 digits in France).
    pub zip_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// A customer: an incwo firm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The host's id for the customer; the connector's marker in incwo.
    pub external_id: String,
    /// Company name.
    pub name: String,
    /// Client or prospect.
    #[serde(default)]
    pub kind: CustomerKind,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number, normalised to E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Billing address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    /// Intra-EU VAT number, upper case without spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
}

/// A product: an incwo customer_product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Stock keeping unit; the connector's marker in incwo.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Unit price excluding tax, exact.
    pub unit_price_excl_tax: Decimal,
    /// A tax code of the mapping profile.
    pub tax_code: String,
    /// Unit label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Whether the product can be sold (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A document line, shared by quotes, orders and invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// The product's SKU.
    pub sku: String,
    /// Line label (defaults to the SKU on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Quantity, > 0, exact.
    pub qty: Decimal,
    /// Unit price excluding tax, exact.
    pub unit_price_excl_tax: Decimal,
    /// A tax code of the mapping profile.
    pub tax_code: String,
}

/// A quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// The host's quote number; the connector's marker in incwo.
    pub quote_number: String,
    /// The customer's external id.
    pub customer_external_id: String,
    /// Date of the quote.
    pub quote_date: NaiveDate,
    /// Last day the quote is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    /// ISO 4217 currency known to the profile.
    pub currency: String,
    /// Lines, 1 to 10,000.
    pub lines: Vec<Line>,
}

/// A sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The host's order number; the connector's marker in incwo.
    pub order_number: String,
    /// The customer's external id.
    pub customer_external_id: String,
    /// Date of the order.
    pub order_date: NaiveDate,
    /// ISO 4217 currency known to the profile.
    pub currency: String,
    /// The quote this order comes from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_quote: Option<String>,
    /// Lines, 1 to 10,000.
    pub lines: Vec<Line>,
}

/// An invoice on an order (all of it or a subset of its lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    /// The host's invoice number; the connector's marker in incwo.
    pub invoice_number: String,
    /// The order invoiced.
    pub source_order: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date, not before the issue date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    /// Currency; when given, equal to the order's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Lines invoiced.
    pub lines: Vec<Line>,
}

/// Why stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MovementReason {
    /// Goods delivered to a customer.
    Sale,
    /// Inventory correction.
    Correction,
    /// Goods returned by a customer.
    Return,
    /// Goods received from a supplier.
    Reception,
}

/// A stock movement; the sign of `qty` is its direction (negative = out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockMovement {
    /// The host's movement id; the connector's marker in incwo.
    pub movement_id: String,
    /// The product's SKU.
    pub sku: String,
    /// A warehouse code of the mapping profile.
    pub warehouse: String,
    /// Signed quantity, ≠ 0.
    pub qty: Decimal,
    /// Why stock moved.
    pub reason: MovementReason,
    /// The order a sale delivers (or a return comes back from), so the
    /// order's delivery status follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_order: Option<String>,
    /// When it happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<FixedOffset>>,
}

/// The cancellation of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    /// The order cancelled.
    pub order_number: String,
    /// Why.
    pub reason: String,
    /// When.
    pub cancelled_at: NaiveDate,
}

/// Any canonical record, tagged with its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "kebab-case")]
pub enum Record {
    /// A customer.
    Customer(Customer),
    /// A product.
    Product(Product),
    /// A quote.
    Quote(Quote),
    /// An order.
    Order(Order),
    /// An invoice.
    Invoice(Invoice),
    /// A stock movement.
    StockMovement(StockMovement),
    /// A cancellation.
    Cancellation(Cancellation),
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Record::Customer(_) => Kind::Customer,
            Record::Product(_) => Kind::Product,
            Record::Quote(_) => Kind::Quote,
            Record::Order(_) => Kind::Order,
            Record::Invoice(_) => Kind::Invoice,
            Record::StockMovement(_) => Kind::StockMovement,
            Record::Cancellation(_) => Kind::Cancellation,
        }
    }

    /// The record's own external id (customer id, SKU, document number…;
    /// see [`identity`]).
    pub fn external_id(&self) -> &str {
        identity::external_id(self.kind(), self).unwrap_or_default()
    }

    /// The domain of the record's main object (see [`Domain::of`]).
    pub fn domain(&self) -> Domain {
        Domain::of(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        assert!("orders".parse::<Kind>().is_err());
    }

    #[test]
    fn money_serialises_as_an_exact_string() {
        let line = Line {
            sku: "KIT-API-01".into(),
            description: None,
            qty: Decimal::from(10),
            unit_price_excl_tax: Decimal::from_str("49.90").unwrap(),
            tax_code: "TVA20".into(),
        };
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(json["unitPriceExclTax"], "49.90");
        let back: Line = serde_json::from_value(json).unwrap();
        assert_eq!(back, line);
    }
}
