//! Typed views of incwo's XML: one struct per resource, list pages, and a
//! single JSON rendering every host shares.
//!
//! incwo answers in XML whose field set varies by account and version, so the
//! views read what the connector needs and ignore every other element. Wire
//! values are read with [`crate::xml::format`]: ids as `u64`, amounts as exact
//! [`Decimal`](rust_decimal::Decimal)s, `DD-MM-YYYY` dates, `DD-MM-YYYY-HH-MM`
//! timestamps, and `0`/`-1`/empty/absent links as `None`. A value that does
//! not parse is an error naming its element path and the expected form, never
//! the value (it may be personal data).
//!
//! # Documents
//!
//! - One object: the root is the singular name (`<firm>`, `<bill_sheet>`…).
//! - A list page: the root is the plural name, normally with `type="array"`;
//!   a `<pagination>` child may sit anywhere among the items or be absent
//!   (then the page is the only one). An empty Rails array
//!   (`<nil-classes type="array"/>` or `<objects type="array"/>`) reads as an
//!   empty page.
//!
//! # JSON shape ([`parse_resource_json`])
//!
//! Tags are incwo's own names (singular for one object, plural for a page);
//! fields are camelCase; decimals are strings (`"29850.0"`), dates
//! `"2014-12-22"`, timestamps `"2012-01-17T15:14:00"`, absent values `null`.
//!
//! ```json
//! {"one": {"firm": {"id": 1, "name": "ACME", "siren": null, ...}}}
//! {"page": {"firms": {"pagination": {"currentPage": 1, "totalPages": 4,
//!   "currentPageItemsCount": 50}, "items": [{"id": 101, ...}]}}}
//! {"error": {"class": "usage", "code": "xml.value_format",
//!   "message": "...", "path": "/proposal_sheet/proposal_lines/proposal_line[2]/quantity"}}
//! ```

mod read;
mod records;
#[cfg(test)]
mod tests;

pub use records::{
    BillSheet, CashDeposit, Contact, ContactAddress, ContactItem, CustomerProduct, DocumentLine, Firm, ProposalSheet,
    StockMovement,
};

use crate::xml::{parse_document, Element, XmlError, XmlLimits};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;

/// The incwo resources the connector reads, by their REST (plural) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Companies, `<firm>`.
    Firms,
    /// Persons, `<contact>`.
    Contacts,
    /// Products and services, `<customer_product>`.
    CustomerProducts,
    /// Quotes and delivery notes, `<proposal_sheet>`.
    ProposalSheets,
    /// Invoices and credit notes, `<bill_sheet>`.
    BillSheets,
    /// Stock movements, `<stock_movement>`.
    StockMovements,
    /// Payments and payment schedules, `<cash_deposit>`.
    CashDeposits,
}

impl Resource {
    /// Every resource, in a fixed order.
    pub const ALL: [Resource; 7] = [
        Resource::Firms,
        Resource::Contacts,
        Resource::CustomerProducts,
        Resource::ProposalSheets,
        Resource::BillSheets,
        Resource::StockMovements,
        Resource::CashDeposits,
    ];

    /// The plural name: REST path segment and list-page root element.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Firms => "firms",
            Resource::Contacts => "contacts",
            Resource::CustomerProducts => "customer_products",
            Resource::ProposalSheets => "proposal_sheets",
            Resource::BillSheets => "bill_sheets",
            Resource::StockMovements => "stock_movements",
            Resource::CashDeposits => "cash_deposits",
        }
    }

    /// The singular name: the element of one object.
    pub fn singular(self) -> &'static str {
        match self {
            Resource::Firms => "firm",
            Resource::Contacts => "contact",
            Resource::CustomerProducts => "customer_product",
            Resource::ProposalSheets => "proposal_sheet",
            Resource::BillSheets => "bill_sheet",
            Resource::StockMovements => "stock_movement",
            Resource::CashDeposits => "cash_deposit",
        }
    }

    /// The resource whose singular element name is `name`.
    pub fn from_singular(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.singular() == name)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resource {
    type Err = ViewError;

    /// Reads a plural name; anything else is [`ViewError::UnknownResource`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ViewError::UnknownResource { name: cap(s) })
    }
}

/// Longest name quoted back in an error message.
const MAX_QUOTED: usize = 64;

fn cap(s: &str) -> String {
    s.chars().take(MAX_QUOTED).collect()
}

/// Why a document could not be read as a view. Messages name element paths
/// and expected forms, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// The resource name is not one of [`Resource::ALL`].
    #[error("unknown incwo resource `{name}`; valid names: firms, contacts, customer_products, proposal_sheets, bill_sheets, stock_movements, cash_deposits")]
    UnknownResource {
        /// The name given (at most 64 characters).
        name: String,
    },
    /// The bytes are not an acceptable XML document.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The root element is not the one expected for the resource.
    #[error("expected root element {expected}, found `{found}`")]
    WrongRoot {
        /// The root element found (at most 64 characters).
        found: String,
        /// What was expected, e.g. "`firm` or `firms`".
        expected: String,
    },
    /// A value does not have its expected form.
    #[error("{path}: expected {expected}")]
    ValueFormat {
        /// Element path, e.g. `/proposal_sheet/proposal_lines/proposal_line[2]/quantity`.
        path: String,
        /// The expected form, e.g. `a decimal number`.
        expected: &'static str,
    },
    /// A required element (an object's `id`) is absent or empty.
    #[error("{path}: missing, expected {expected}")]
    MissingElement {
        /// Element path, e.g. `/firm/id`.
        path: String,
        /// The expected form.
        expected: &'static str,
    },
}

impl ViewError {
    /// Stable code for hosts and golden vectors (`xml.value_format`…).
    pub fn code(&self) -> &'static str {
        match self {
            ViewError::UnknownResource { .. } => "xml.unknown_resource",
            ViewError::Xml(e) => match e {
                XmlError::TooLarge { .. } => "xml.too_large",
                XmlError::TooDeep { .. } => "xml.too_deep",
                XmlError::Doctype => "xml.doctype",
                XmlError::NotUtf8 => "xml.not_utf8",
                XmlError::Empty => "xml.empty",
                XmlError::Malformed { .. } => "xml.malformed",
            },
            ViewError::WrongRoot { .. } => "xml.wrong_root",
            ViewError::ValueFormat { .. } => "xml.value_format",
            ViewError::MissingElement { .. } => "xml.missing_element",
        }
    }

    /// Error class: always `usage` (the input handed to the core is unusable;
    /// it is none of the technical/contract/business classes of a call).
    pub fn class(&self) -> &'static str {
        "usage"
    }

    /// The element path the error is about, when there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ViewError::ValueFormat { path, .. } | ViewError::MissingElement { path, .. } => Some(path),
            _ => None,
        }
    }

    /// `{"error": {"class", "code", "message", "path"?}}`, the rendering all hosts share.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "class": self.class(),
            "code": self.code(),
            "message": self.to_string(),
        });
        if let (Some(path), Some(map)) = (self.path(), body.as_object_mut()) {
            map.insert("path".to_owned(), Value::String(path.to_owned()));
        }
        json!({ "error": body })
    }
}

/// What a document line is: `content_kind` on the wire (`""`, `comment`,
/// `option`, `total`). Unknown kinds are kept as [`ContentKind::Other`] rather
/// than refused, so one new incwo kind does not make a whole document unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// A priced line (`""` or absent on the wire).
    Normal,
    /// A text-only line.
    Comment,
    /// An optional line, not counted in the totals.
    Option,
    /// A sub-total marker.
    Total,
    /// A kind this version does not know.
    Other(String),
}

impl ContentKind {
    /// Reads the wire value.
    pub fn from_wire(text: &str) -> ContentKind {
        match text.trim() {
            "" | "normal" => ContentKind::Normal,
            "comment" => ContentKind::Comment,
            "option" => ContentKind::Option,
            "total" => ContentKind::Total,
            other => ContentKind::Other(cap(other)),
        }
    }

    /// The JSON name: `normal`, `comment`, `option`, `total`, or the unknown wire value.
    pub fn as_str(&self) -> &str {
        match self {
            ContentKind::Normal => "normal",
            ContentKind::Comment => "comment",
            ContentKind::Option => "option",
            ContentKind::Total => "total",
            ContentKind::Other(s) => s,
        }
    }
}

impl Serialize for ContentKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A cash deposit's `kind`: money that moved, or a planned payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CashDepositKind {
    /// An actual payment.
    Deposit,
    /// An expected payment (schedule).
    Plan,
    /// A kind this version does not know.
    Other(String),
}

impl CashDepositKind {
    /// Reads the wire value.
    pub fn from_wire(text: &str) -> CashDepositKind {
        match text.trim() {
            "deposit" => CashDepositKind::Deposit,
            "plan" => CashDepositKind::Plan,
            other => CashDepositKind::Other(cap(other)),
        }
    }

    /// The JSON name: `deposit`, `plan`, or the unknown wire value.
    pub fn as_str(&self) -> &str {
        match self {
            CashDepositKind::Deposit => "deposit",
            CashDepositKind::Plan => "plan",
            CashDepositKind::Other(s) => s,
        }
    }
}

impl Serialize for CashDepositKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A stock movement's direction (`1` / `-1` on the wire; `in` / `out` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Goods enter the warehouse.
    In,
    /// Goods leave the warehouse.
    Out,
}

/// Reads a value from an element; `path` is the element's own path, used in errors.
pub trait FromElement: Sized {
    /// Reads `el`, whose path is `path` (e.g. `/firms/firm[3]`).
    fn from_element(el: &Element, path: &str) -> Result<Self, ViewError>;
}

/// A top-level incwo object: its resource says which root element it has.
pub trait View: FromElement {
    /// The resource this view is read from.
    const RESOURCE: Resource;
}

macro_rules! views {
    ($($ty:ident => $res:ident),* $(,)?) => {
        $(impl View for $ty {
            const RESOURCE: Resource = Resource::$res;
        })*
    };
}

views! {
    Firm => Firms,
    Contact => Contacts,
    CustomerProduct => CustomerProducts,
    ProposalSheet => ProposalSheets,
    BillSheet => BillSheets,
    StockMovement => StockMovements,
    CashDeposit => CashDeposits,
}

/// Where a list page sits. Absent `<pagination>` means a single page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// 1-based page number.
    pub current_page: u32,
    /// Number of pages (may be 0 for an empty list).
    pub total_pages: u32,
    /// Items on this page, as incwo counts them (the item count when absent).
    pub current_page_items_count: u32,
}

impl Pagination {
    /// The page to fetch next, if any.
    pub fn next_page(&self) -> Option<u32> {
        (self.current_page < self.total_pages).then(|| self.current_page.saturating_add(1))
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage<T> {
    /// Page position.
    pub pagination: Pagination,
    /// The items, in document order.
    pub items: Vec<T>,
}

/// One object of any resource, tagged by its singular name in JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // short-lived parse results; boxing buys nothing
pub enum Item {
    /// `<firm>`.
    Firm(Firm),
    /// `<contact>`.
    Contact(Contact),
    /// `<customer_product>`.
    CustomerProduct(CustomerProduct),
    /// `<proposal_sheet>`.
    ProposalSheet(ProposalSheet),
    /// `<bill_sheet>`.
    BillSheet(BillSheet),
    /// `<stock_movement>`.
    StockMovement(StockMovement),
    /// `<cash_deposit>`.
    CashDeposit(CashDeposit),
}

impl Item {
    /// The object's incwo id.
    pub fn id(&self) -> u64 {
        match self {
            Item::Firm(x) => x.id,
            Item::Contact(x) => x.id,
            Item::CustomerProduct(x) => x.id,
            Item::ProposalSheet(x) => x.id,
            Item::BillSheet(x) => x.id,
            Item::StockMovement(x) => x.id,
            Item::CashDeposit(x) => x.id,
        }
    }
}

/// A list page of any resource, tagged by its plural name in JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Page {
    /// `<firms type="array">`.
    Firms(ListPage<Firm>),
    /// `<contacts type="array">`.
    Contacts(ListPage<Contact>),
    /// `<customer_products type="array">`.
    CustomerProducts(ListPage<CustomerProduct>),
    /// `<proposal_sheets type="array">`.
    ProposalSheets(ListPage<ProposalSheet>),
    /// `<bill_sheets type="array">`.
    BillSheets(ListPage<BillSheet>),
    /// `<stock_movements type="array">`.
    StockMovements(ListPage<StockMovement>),
    /// `<cash_deposits type="array">`.
    CashDeposits(ListPage<CashDeposit>),
}

impl Page {
    /// The page's objects, in document order, and its page count.
    pub fn into_items(self) -> (Vec<Item>, u32) {
        fn all<T>(p: ListPage<T>, f: impl Fn(T) -> Item) -> (Vec<Item>, u32) {
            (p.items.into_iter().map(f).collect(), p.pagination.total_pages)
        }
        match self {
            Page::Firms(p) => all(p, Item::Firm),
            Page::Contacts(p) => all(p, Item::Contact),
            Page::CustomerProducts(p) => all(p, Item::CustomerProduct),
            Page::ProposalSheets(p) => all(p, Item::ProposalSheet),
            Page::BillSheets(p) => all(p, Item::BillSheet),
            Page::StockMovements(p) => all(p, Item::StockMovement),
            Page::CashDeposits(p) => all(p, Item::CashDeposit),
        }
    }
}

/// What a response held: one object or a list page. JSON: `{"one": {...}}`
/// or `{"page": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    /// A single object (root = singular name).
    One(Item),
    /// A list page (root = plural name).
    Page(Page),
}

impl Parsed {
    /// The JSON rendering described in the module documentation.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| {
            json!({"error": {"class": "usage", "code": "internal.serialize",
                "message": "the view could not be rendered as JSON"}})
        })
    }
}

/// Root names Rails gives an empty array rendered without an explicit root.
const EMPTY_ARRAY_ROOTS: [&str; 3] = ["nil-classes", "nil_classes", "objects"];

fn is_page_root(resource: Resource, root: &Element) -> bool {
    root.name == resource.as_str()
        || (root.attribute("type") == Some("array")
            && EMPTY_ARRAY_ROOTS.contains(&root.name.as_str())
            && !root.children.iter().any(|c| c.name == resource.singular()))
}

fn wrong_root(root: &Element, expected: String) -> ViewError {
    ViewError::WrongRoot {
        found: cap(&root.name),
        expected,
    }
}

fn read_one<T: View>(root: &Element) -> Result<T, ViewError> {
    T::from_element(root, &format!("/{}", root.name))
}

fn read_page<T: View>(root: &Element) -> Result<ListPage<T>, ViewError> {
    let base = format!("/{}", root.name);
    let items: Vec<T> = read::items(root, &base, T::RESOURCE.singular())?;
    let found = u32::try_from(items.len()).unwrap_or(u32::MAX);
    let pagination = match root.child("pagination") {
        None => Pagination {
            current_page: 1,
            total_pages: 1,
            current_page_items_count: found,
        },
        Some(p) => {
            let path = format!("{base}/pagination");
            let current_page = read::count(p, &path, "current_page")?.unwrap_or(1);
            Pagination {
                current_page,
                total_pages: read::count(p, &path, "total_pages")?.unwrap_or(current_page),
                current_page_items_count: read::count(p, &path, "current_page_items_count")?.unwrap_or(found),
            }
        }
    };
    Ok(ListPage { pagination, items })
}

fn one_or_page<T: View>(
    root: &Element,
    one: fn(T) -> Item,
    page: fn(ListPage<T>) -> Page,
) -> Result<Parsed, ViewError> {
    let resource = T::RESOURCE;
    if root.name == resource.singular() {
        read_one(root).map(|v| Parsed::One(one(v)))
    } else if is_page_root(resource, root) {
        read_page(root).map(|p| Parsed::Page(page(p)))
    } else {
        Err(wrong_root(
            root,
            format!("`{}` or `{}`", resource.singular(), resource.as_str()),
        ))
    }
}

/// Reads a response of `resource`: one object or a list page, told apart by
/// the root element. Uses the default [`XmlLimits`].
pub fn parse_resource(resource: Resource, xml: &[u8]) -> Result<Parsed, ViewError> {
    parse_resource_with_limits(resource, xml, XmlLimits::default())
}

/// [`parse_resource`] with explicit size and depth caps.
pub fn parse_resource_with_limits(resource: Resource, xml: &[u8], limits: XmlLimits) -> Result<Parsed, ViewError> {
    let root = parse_document(xml, limits)?;
    match resource {
        Resource::Firms => one_or_page(&root, Item::Firm, Page::Firms),
        Resource::Contacts => one_or_page(&root, Item::Contact, Page::Contacts),
        Resource::CustomerProducts => one_or_page(&root, Item::CustomerProduct, Page::CustomerProducts),
        Resource::ProposalSheets => one_or_page(&root, Item::ProposalSheet, Page::ProposalSheets),
        Resource::BillSheets => one_or_page(&root, Item::BillSheet, Page::BillSheets),
        Resource::StockMovements => one_or_page(&root, Item::StockMovement, Page::StockMovements),
        Resource::CashDeposits => one_or_page(&root, Item::CashDeposit, Page::CashDeposits),
    }
}

/// Reads one object, e.g. `parse_one::<BillSheet>(body)` for `GET /bill_sheets/{id}.xml`
/// or a create response. A list page is a [`ViewError::WrongRoot`].
pub fn parse_one<T: View>(xml: &[u8]) -> Result<T, ViewError> {
    parse_one_with_limits(xml, XmlLimits::default())
}

/// [`parse_one`] with explicit size and depth caps.
pub fn parse_one_with_limits<T: View>(xml: &[u8], limits: XmlLimits) -> Result<T, ViewError> {
    let root = parse_document(xml, limits)?;
    if root.name != T::RESOURCE.singular() {
        return Err(wrong_root(&root, format!("`{}`", T::RESOURCE.singular())));
    }
    read_one(&root)
}

/// Reads a list page, e.g. `parse_page::<Firm>(body)` for `GET /firms.xml?page=N`.
/// A single object is a [`ViewError::WrongRoot`].
pub fn parse_page<T: View>(xml: &[u8]) -> Result<ListPage<T>, ViewError> {
    parse_page_with_limits(xml, XmlLimits::default())
}

/// [`parse_page`] with explicit size and depth caps.
pub fn parse_page_with_limits<T: View>(xml: &[u8], limits: XmlLimits) -> Result<ListPage<T>, ViewError> {
    let root = parse_document(xml, limits)?;
    if !is_page_root(T::RESOURCE, &root) {
        return Err(wrong_root(
            &root,
            format!("`{}` (type=\"array\")", T::RESOURCE.as_str()),
        ));
    }
    read_page(&root)
}

/// The one JSON rendering all hosts use: the [`Parsed`] JSON on success,
/// `{"error": {...}}` ([`ViewError::to_json`]) otherwise. Never panics.
pub fn parse_resource_json(resource: &str, xml: &[u8]) -> Value {
    match resource.parse::<Resource>().and_then(|r| parse_resource(r, xml)) {
        Ok(parsed) => parsed.to_json(),
        Err(e) => e.to_json(),
    }
}
