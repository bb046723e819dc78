//! The contract's field tables: one list of fields per kind. The validator
//! walks them and the JSON Schema export is generated from them, so the two
//! can never disagree.

use crate::model::Kind;

/// The rule family of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// 1–64 chars of letters, digits and `. _ - : /`.
    Id,
    /// Trimmed text of 1–n characters, no control characters.
    Text(usize),
    /// Like `Text` but tabs are allowed (descriptions).
    Description(usize),
    /// `YYYY-MM-DD`, year 2000–2100.
    Date,
    /// RFC 3339 timestamp.
    Timestamp,
    /// ISO 4217 code known to the profile.
    Currency,
    /// ISO 3166-1 alpha-2.
    Country,
    /// Postal code (5 digits when the address is in France).
    ZipCode,
    /// Decimal ≥ 0 with the currency's minor digits.
    Money,
    /// Decimal > 0 with ≤ 4 decimals.
    Qty,
    /// Decimal ≠ 0 with ≤ 4 decimals; the sign is the direction.
    SignedQty,
    /// A key of the profile's tax table.
    TaxCode,
    /// A key of the profile's warehouse table.
    Warehouse,
    /// `local@domain.tld`.
    Email,
    /// Phone number, normalised to E.164.
    Phone,
    /// Intra-EU VAT number (French key checked).
    VatNumber,
    /// JSON boolean.
    Bool,
    /// One of fixed values.
    Enum(&'static [&'static str]),
    /// The contract version (1).
    ContractVersion,
    /// A nested object.
    Object(&'static [Field]),
    /// Document lines, 1 to [`MAX_LINES`].
    Lines,
}

/// One field of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// JSON name (camelCase).
    pub name: &'static str,
    /// Rule family.
    pub ty: FieldType,
    /// Whether the field must be present.
    pub required: bool,
    /// One line for humans and the JSON Schema.
    pub doc: &'static str,
}

/// Most lines a document may carry.
pub const MAX_LINES: usize = 10_000;

const fn req(name: &'static str, ty: FieldType, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        doc,
    }
}

const fn opt(name: &'static str, ty: FieldType, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        doc,
    }
}

const VERSION: Field = opt(
    "contract",
    FieldType::ContractVersion,
    "Contract version; 1 when given.",
);

/// Fields of an address.
pub const ADDRESS: &[Field] = &[
    req("line1", FieldType::Text(255), "First address line."),
    opt("line2", FieldType::Text(255), "Second address line."),
    req(
        "zipCode",
        FieldType::ZipCode,
        "Postal code; 5 digits when country is FR.",
    ),
    req("city", FieldType::Text(100), "City."),
    req("country", FieldType::Country, "ISO 3166-1 alpha-2 country code."),
];

/// Fields of a document line.
pub const LINE: &[Field] = &[
    req("sku", FieldType::Id, "The product's SKU."),
    opt("description", FieldType::Description(1000), "Line label."),
    req("qty", FieldType::Qty, "Quantity, > 0, at most 4 decimals."),
    req("unitPriceExclTax", FieldType::Money, "Unit price excluding tax."),
    req("taxCode", FieldType::TaxCode, "Tax code of the mapping profile."),
];

const CUSTOMER: &[Field] = &[
    VERSION,
    req("externalId", FieldType::Id, "The customer's id in the host system."),
    req("name", FieldType::Text(255), "Company name."),
    opt(
        "kind",
        FieldType::Enum(&["client", "prospect"]),
        "client (default) or prospect.",
    ),
    opt("email", FieldType::Email, "E-mail address."),
    opt(
        "phone",
        FieldType::Phone,
        "Phone number; normalised to E.164, +33 assumed without a prefix.",
    ),
    opt("billingAddress", FieldType::Object(ADDRESS), "Billing address."),
    opt(
        "vatNumber",
        FieldType::VatNumber,
        "Intra-EU VAT number; French key checked.",
    ),
];

const PRODUCT: &[Field] = &[
    VERSION,
    req("sku", FieldType::Id, "Stock keeping unit."),
    req("name", FieldType::Text(255), "Product name."),
    req("unitPriceExclTax", FieldType::Money, "Unit price excluding tax."),
    req("taxCode", FieldType::TaxCode, "Tax code of the mapping profile."),
    opt("unit", FieldType::Text(16), "Unit label."),
    opt(
        "active",
        FieldType::Bool,
        "Whether the product can be sold (default true).",
    ),
];

const QUOTE: &[Field] = &[
    VERSION,
    req("quoteNumber", FieldType::Id, "The quote number in the host system."),
    req("customerExternalId", FieldType::Id, "The customer's external id."),
    req("quoteDate", FieldType::Date, "Date of the quote."),
    opt(
        "validUntil",
        FieldType::Date,
        "Last day of validity, not before quoteDate.",
    ),
    req(
        "currency",
        FieldType::Currency,
        "ISO 4217 currency known to the profile.",
    ),
    req("lines", FieldType::Lines, "1 to 10,000 lines."),
];

const ORDER: &[Field] = &[
    VERSION,
    req("orderNumber", FieldType::Id, "The order number in the host system."),
    req("customerExternalId", FieldType::Id, "The customer's external id."),
    req("orderDate", FieldType::Date, "Date of the order."),
    req(
        "currency",
        FieldType::Currency,
        "ISO 4217 currency known to the profile.",
    ),
    opt("sourceQuote", FieldType::Id, "The quote this order comes from."),
    req("lines", FieldType::Lines, "1 to 10,000 lines."),
];

const INVOICE: &[Field] = &[
    VERSION,
    req("invoiceNumber", FieldType::Id, "The invoice number in the host system."),
    req("sourceOrder", FieldType::Id, "The order invoiced."),
    req("issueDate", FieldType::Date, "Issue date."),
    opt("dueDate", FieldType::Date, "Due date, not before issueDate."),
    opt(
        "currency",
        FieldType::Currency,
        "Currency; when given, equal to the order's.",
    ),
    req("lines", FieldType::Lines, "Lines invoiced: a subset of the order's."),
];

const STOCK_MOVEMENT: &[Field] = &[
    VERSION,
    req("movementId", FieldType::Id, "The movement id in the host system."),
    req("sku", FieldType::Id, "The product's SKU."),
    req(
        "warehouse",
        FieldType::Warehouse,
        "Warehouse code of the mapping profile.",
    ),
    req("qty", FieldType::SignedQty, "Signed quantity ≠ 0; negative = out."),
    req(
        "reason",
        FieldType::Enum(&["sale", "correction", "return", "reception"]),
        "Why stock moved.",
    ),
    opt(
        "sourceOrder",
        FieldType::Id,
        "The order a sale delivers; its delivery status follows.",
    ),
    opt("occurredAt", FieldType::Timestamp, "When it happened (RFC 3339)."),
];

const CANCELLATION: &[Field] = &[
    VERSION,
    req("orderNumber", FieldType::Id, "The order cancelled."),
    req("reason", FieldType::Text(500), "Why."),
    req("cancelledAt", FieldType::Date, "When."),
];

/// The fields of a kind.
pub fn fields(kind: Kind) -> &'static [Field] {
    match kind {
        Kind::Customer => CUSTOMER,
        Kind::Product => PRODUCT,
        Kind::Quote => QUOTE,
        Kind::Order => ORDER,
        Kind::Invoice => INVOICE,
        Kind::StockMovement => STOCK_MOVEMENT,
        Kind::Cancellation => CANCELLATION,
    }
}

/// One sentence describing a kind.
pub fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::Customer => "A customer, synced to an incwo firm.",
        Kind::Product => "A product, synced to an incwo customer_product.",
        Kind::Quote => "A quote, synced to an incwo proposal_sheet.",
        Kind::Order => "A sales order, synced to an incwo proposal_sheet of the profile's order type.",
        Kind::Invoice => "An invoice on an order, synced to an incwo bill_sheet.",
        Kind::StockMovement => "A stock movement, synced to an incwo stock_movement.",
        Kind::Cancellation => "The cancellation of an order.",
    }
}
