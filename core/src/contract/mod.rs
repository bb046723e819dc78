//! Validation of canonical records into actionable violations.
//!
//! Every rule of the contract (see `docs/CONTRACT.md`) lives here. A record is
//! read from its JSON text exactly (money never goes through a float),
//! checked against the field tables of [`spec`], and either becomes a typed
//! [`crate::model`] record (possibly with warnings) or is refused with every
//! violation at once, each carrying a JSON pointer, a code, a severity, a
//! message and a hint. Nothing that violates the contract is ever sent.

pub use crate::base::iso;
pub mod fast;
mod rules;
pub mod schema;
pub mod spec;

use crate::base::profile::Profile;
use crate::model::{Cancellation, Customer, Invoice, Kind, Order, Product, Quote, Record, StockMovement};
use crate::usage::UsageError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spec::{Field, FieldType, MAX_LINES};

pub use rules::french_vat_key;

/// Deepest JSON nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// How much a violation weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the record.
    Error,
    /// Reported; the record goes through.
    Warning,
}

/// One broken rule, located by a JSON pointer into the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Violation {
    /// JSON pointer (`/lines/0/unitPriceExclTax`); empty for the whole input.
    pub path: String,
    /// Stable code (`required`, `format`, `range`…).
    pub code: String,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, without quoting the value.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// The result of validating one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The kind validated.
    pub kind: Kind,
    /// No violation of severity error.
    pub valid: bool,
    /// Every violation (errors and warnings), in path order.
    pub violations: Vec<Violation>,
    /// The normalised record, when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
}

impl Report {
    /// Only the warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.severity == Severity::Warning)
    }
}

/// Parses a record's JSON text within the profile's limits.
///
/// `Ok(Err(violation))` is an input past a limit (`input_too_large`);
/// `Err` is malformed JSON, a usage error with line and column.
pub fn parse_input(text: &str, profile: &Profile) -> Result<Result<Value, Violation>, UsageError> {
    let limit = profile.limits.max_input_bytes;
    if text.len() > limit {
        return Ok(Err(whole_input_violation(format!(
            "the input has {} bytes, more than the limit of {limit}",
            text.len()
        ))));
    }
    if nesting_depth(text.as_bytes()) > MAX_DEPTH {
        return Ok(Err(whole_input_violation(format!(
            "the input nests deeper than {MAX_DEPTH} levels"
        ))));
    }
    serde_json::from_str(text)
        .map(Ok)
        .map_err(|e| UsageError::malformed_json(&e))
}

fn whole_input_violation(message: String) -> Violation {
    Violation {
        path: String::new(),
        code: "input_too_large".into(),
        severity: Severity::Error,
        message,
        hint: "split the document, or raise limits.maxInputBytes in the profile".into(),
    }
}

/// Deepest `[`/`{` nesting outside strings (a cheap pre-scan so a hostile
/// input never reaches the parser's recursion).
fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Validates a record of `kind` from its JSON text.
///
/// Quotes, orders and invoices that break no rule take the typed fast path
/// ([`fast`]); anything else, and any broken rule, goes through the walker
/// that reports every violation.
pub fn validate(kind: Kind, text: &str, profile: &Profile) -> Result<Report, UsageError> {
    if let Some(document) = fast::check_document(kind, text, profile) {
        return Ok(Report {
            kind,
            valid: true,
            violations: Vec::new(),
            record: Some(document.to_record()),
        });
    }
    walk(kind, text, profile)
}

/// Validates with the walker alone: the reference the fast path is checked
/// against (`core/tests/fastpath_differential.rs`), and what [`validate`]
/// runs for anything the fast path does not take.
pub fn walk(kind: Kind, text: &str, profile: &Profile) -> Result<Report, UsageError> {
    Ok(match parse_input(text, profile)? {
        Ok(value) => validate_value(kind, &value, profile),
        Err(violation) => Report {
            kind,
            valid: false,
            violations: vec![violation],
            record: None,
        },
    })
}

/// Validates an already parsed record (parse it with [`parse_input`] so that
/// money keeps its exact text).
pub fn validate_value(kind: Kind, value: &Value, profile: &Profile) -> Report {
    let mut walker = Walker::new(profile);
    let normalized = walker.root(kind, value);
    let mut violations = walker.violations;
    sort_by_path(&mut violations);
    let valid = !violations.iter().any(|v| v.severity == Severity::Error);
    let record = if valid {
        match to_record(kind, normalized) {
            Ok(record) => Some(record),
            Err(e) => {
                // The field tables and the model disagree: a defect of the core,
                // reported instead of panicking.
                violations.push(Violation {
                    path: String::new(),
                    code: "type".into(),
                    severity: Severity::Error,
                    message: format!("internal contract mismatch: {e}"),
                    hint: "report this to the connector's maintainers".into(),
                });
                None
            }
        }
    } else {
        None
    };
    Report {
        kind,
        valid: record.is_some(),
        violations,
        record,
    }
}

fn to_record(kind: Kind, normalized: Value) -> Result<Record, serde_json::Error> {
    Ok(match kind {
        Kind::Customer => Record::Customer(serde_json::from_value(normalized)?),
        Kind::Product => Record::Product(serde_json::from_value(normalized)?),
        Kind::Quote => Record::Quote(serde_json::from_value(normalized)?),
        Kind::Order => Record::Order(serde_json::from_value(normalized)?),
        Kind::Invoice => Record::Invoice(serde_json::from_value(normalized)?),
        Kind::StockMovement => Record::StockMovement(serde_json::from_value(normalized)?),
        Kind::Cancellation => Record::Cancellation(serde_json::from_value(normalized)?),
    })
}

/// Either the typed record (maybe with warnings) or every violation.
pub type Checked<T> = Result<(T, Vec<Violation>), Vec<Violation>>;

macro_rules! per_kind {
    ($(#[$doc:meta] $name:ident => $kind:ident, $ty:ty;)*) => {$(
        #[$doc]
        pub fn $name(value: &Value, profile: &Profile) -> Checked<$ty> {
            let report = validate_value(Kind::$kind, value, profile);
            match report.record {
                Some(Record::$kind(record)) => Ok((record, report.violations)),
                _ => Err(report.violations),
            }
        }
    )*};
}

per_kind! {
    /// Validates a customer.
    validate_customer => Customer, Customer;
    /// Validates a product.
    validate_product => Product, Product;
    /// Validates a quote.
    validate_quote => Quote, Quote;
    /// Validates an order.
    validate_order => Order, Order;
    /// Validates an invoice.
    validate_invoice => Invoice, Invoice;
    /// Validates a stock movement.
    validate_stock_movement => StockMovement, StockMovement;
    /// Validates a cancellation.
    validate_cancellation => Cancellation, Cancellation;
}

/// Sorts violations by JSON pointer, numeric segments compared as numbers;
/// violations at the same path keep their order.
fn sort_by_path(violations: &mut [Violation]) {
    fn key(path: &str) -> Vec<(u8, u64, &str)> {
        path.split('/')
            .map(|seg| match seg.parse::<u64>() {
                Ok(n) => (0, n, ""),
                Err(_) => (1, 0, seg),
            })
            .collect()
    }
    violations.sort_by(|a, b| key(&a.path).cmp(&key(&b.path)));
}

/// Escapes a key for a JSON pointer segment.
fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer built lazily: the walker passes these down and renders
/// one only when it reports a violation (no allocation per valid field).
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(parent, key) => write!(f, "{parent}/{key}"),
            Path::Index(parent, i) => write!(f, "{parent}/{i}"),
        }
    }
}

struct Walker<'p> {
    profile: &'p Profile,
    money_digits: u32,
    violations: Vec<Violation>,
}

impl<'p> Walker<'p> {
    fn new(profile: &'p Profile) -> Self {
        Self {
            profile,
            money_digits: profile.minor_digits(&profile.default_currency),
            violations: Vec::new(),
        }
    }

    fn push(&mut self, path: impl std::fmt::Display, code: &str, severity: Severity, message: String, hint: String) {
        self.violations.push(Violation {
            path: path.to_string(),
            code: code.to_string(),
            severity,
            message,
            hint,
        });
    }

    fn root(&mut self, kind: Kind, value: &Value) -> Value {
        let Some(map) = value.as_object() else {
            self.push(
                "",
                "type",
                Severity::Error,
                format!("a {kind} must be a JSON object"),
                "send one JSON object per record".into(),
            );
            return Value::Null;
        };
        if let Some(currency) = map.get("currency").and_then(Value::as_str) {
            if self.profile.currencies.contains_key(currency) {
                self.money_digits = self.profile.minor_digits(currency);
            }
        }
        let normalized = self.object(spec::fields(kind), map, Path::Root);
        self.cross_rules(kind, &normalized);
        Value::Object(normalized)
    }

    fn object(&mut self, fields: &[Field], map: &Map<String, Value>, path: Path<'_>) -> Map<String, Value> {
        let mut out = Map::new();
        for key in map.keys() {
            if !fields.iter().any(|f| f.name == key) {
                let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                self.push(
                    format!("{path}/{}", pointer_segment(key)),
                    "unknown_field",
                    Severity::Error,
                    "is not a field of the contract".into(),
                    format!("remove it or fix its name; known fields: {}", known.join(", ")),
                );
            }
        }
        for field in fields {
            let field_path = Path::Key(&path, field.name);
            match map.get(field.name) {
                None | Some(Value::Null) => {
                    if field.required {
                        self.push(
                            field_path,
                            "required",
                            Severity::Error,
                            format!("{} is required", field.name),
                            format!("add {}: {}", field.name, field.doc),
                        );
                    }
                }
                Some(value) => {
                    if let Some(normalized) = self.field(field, value, field_path) {
                        out.insert(field.name.to_string(), normalized);
                    }
                }
            }
        }
        out
    }

    fn field(&mut self, field: &Field, value: &Value, path: Path<'_>) -> Option<Value> {
        let profile = self.profile;
        let result: Result<Value, rules::Broken> = match field.ty {
            FieldType::Id => rules::id(value).map(Value::String),
            FieldType::Text(max) => rules::text(value, max, false).map(Value::String),
            FieldType::ZipCode => rules::text(value, 16, false).map(Value::String),
            FieldType::Description(max) => rules::text(value, max, true).map(Value::String),
            FieldType::Date => rules::date(value).map(|d| Value::String(d.to_string())),
            FieldType::Timestamp => rules::timestamp(value).map(Value::String),
            FieldType::Currency => rules::currency(value, |c| profile.currencies.contains_key(c)).map(Value::String),
            FieldType::Country => rules::country(value).map(Value::String),
            FieldType::Money => rules::money(value, self.money_digits).map(|d| Value::String(d.to_string())),
            FieldType::Qty => rules::qty(value, false).map(|d| Value::String(d.to_string())),
            FieldType::SignedQty => rules::qty(value, true).map(|d| Value::String(d.to_string())),
            // The list of known keys is only built for the violation's hint.
            FieldType::TaxCode => rules::table_key(
                value,
                "tax code",
                |k| profile.taxes.contains_key(k),
                || profile.taxes.keys().map(String::as_str).collect::<Vec<_>>().join(", "),
            )
            .map(Value::String),
            FieldType::Warehouse => rules::table_key(
                value,
                "warehouse",
                |k| profile.warehouses.contains_key(k),
                || {
                    profile
                        .warehouses
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            )
            .map(Value::String),
            FieldType::Email => rules::email(value).map(Value::String),
            FieldType::Phone => rules::phone(value).map(Value::String),
            FieldType::VatNumber => rules::vat_number(value).map(|vat| {
                if !vat.key_ok {
                    let severity = if profile.strict_vat_numbers {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    self.push(
                        path,
                        "vat_key",
                        severity,
                        "vatNumber has a key that does not match its SIREN".into(),
                        "check the number with the customer; the key is (12 + 3 × (SIREN mod 97)) mod 97".into(),
                    );
                }
                Value::String(vat.normalized)
            }),
            FieldType::Bool => rules::boolean(value).map(Value::Bool),
            FieldType::Enum(allowed) => rules::one_of(value, allowed).map(Value::String),
            FieldType::ContractVersion => match value.as_u64() {
                Some(1) => Ok(Value::from(1)),
                _ => Err(rules::Broken {
                    code: "range",
                    message: "is not a contract version this core reads".into(),
                    hint: "this core reads contract version 1; omit the field or set it to 1".into(),
                }),
            },
            FieldType::Object(fields) => match value.as_object() {
                Some(map) => Ok(Value::Object(self.object(fields, map, path))),
                None => Err(rules::Broken {
                    code: "type",
                    message: "must be an object".into(),
                    hint: format!("write {} as a JSON object", field.name),
                }),
            },
            FieldType::Lines => return self.lines(value, path),
        };
        match result {
            Ok(v) => Some(v),
            Err(broken) => {
                self.push(
                    path,
                    broken.code,
                    Severity::Error,
                    format!("{} {}", field.name, broken.message),
                    broken.hint,
                );
                None
            }
        }
    }

    fn lines(&mut self, value: &Value, path: Path<'_>) -> Option<Value> {
        let Some(items) = value.as_array() else {
            self.push(
                path,
                "type",
                Severity::Error,
                "lines must be an array".into(),
                "write lines as a JSON array of line objects".into(),
            );
            return None;
        };
        if items.is_empty() {
            self.push(
                path,
                "empty",
                Severity::Error,
                "lines must not be empty".into(),
                "a document needs at least one line".into(),
            );
            return None;
        }
        if items.len() > MAX_LINES {
            self.push(
                path,
                "too_many_lines",
                Severity::Error,
                format!("has {} lines, more than {MAX_LINES}", items.len()),
                "split the document".into(),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let line_path = Path::Index(&path, i);
            match item.as_object() {
                Some(map) => out.push(Value::Object(self.object(spec::LINE, map, line_path))),
                None => self.push(
                    line_path,
                    "type",
                    Severity::Error,
                    "a line must be an object".into(),
                    "write each line as a JSON object".into(),
                ),
            }
        }
        Some(Value::Array(out))
    }

    fn address_rules(&mut self, address: &Map<String, Value>, path: &str) {
        let country = address.get("country").and_then(Value::as_str);
        let zip = address.get("zipCode").and_then(Value::as_str);
        if let (Some("FR"), Some(zip)) = (country, zip) {
            if let Err(broken) = rules::french_zip(zip) {
                self.push(
                    format!("{path}/zipCode"),
                    broken.code,
                    Severity::Error,
                    format!("zipCode {}", broken.message),
                    broken.hint,
                );
            }
        }
    }

    fn cross_rules(&mut self, kind: Kind, record: &Map<String, Value>) {
        if let Some(Value::Object(address)) = record.get("billingAddress") {
            self.address_rules(address, "/billingAddress");
        }
        let (first, second) = match kind {
            Kind::Quote => ("quoteDate", "validUntil"),
            Kind::Invoice => ("issueDate", "dueDate"),
            _ => return,
        };
        // Normalised dates are ISO strings, which order like the dates.
        if let (Some(a), Some(b)) = (
            record.get(first).and_then(Value::as_str),
            record.get(second).and_then(Value::as_str),
        ) {
            if b < a {
                self.push(
                    format!("/{second}"),
                    "date_order",
                    Severity::Error,
                    format!("{second} is before {first}"),
                    format!("{second} must be on or after {first}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
