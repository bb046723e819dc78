//! Who a record is and whom it belongs to, written once for every reader:
//! the flow (typed records), the batch reader and partitioning (raw JSON,
//! so that even a record the contract refuses is named and routed).
//!
//! - A record's **external id** is the field [`Kind::external_id_field`]
//!   names: the customer's id, the product's SKU, the document number, the
//!   movement id; a cancellation is named after its order.
//! - Its **customer** ([`customer_ref`]): a customer is its own; a quote or
//!   an order names it; an invoice, a cancellation and a stock movement
//!   delivering an order belong to that order's customer. A product, and a
//!   movement naming no order, belong to no customer.

use super::{Kind, Record};
use serde_json::Value;

/// An identifying field of a record, by its contract (camelCase) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `externalId` (customer).
    ExternalId,
    /// `sku` (product, stock movement).
    Sku,
    /// `quoteNumber`.
    QuoteNumber,
    /// `orderNumber` (order, cancellation).
    OrderNumber,
    /// `invoiceNumber`.
    InvoiceNumber,
    /// `movementId`.
    MovementId,
    /// `customerExternalId` (quote, order).
    CustomerExternalId,
    /// `sourceOrder` (invoice, stock movement).
    SourceOrder,
}

impl Field {
    /// The field's name in the contract's JSON.
    pub fn name(self) -> &'static str {
        match self {
            Field::ExternalId => "externalId",
            Field::Sku => "sku",
            Field::QuoteNumber => "quoteNumber",
            Field::OrderNumber => "orderNumber",
            Field::InvoiceNumber => "invoiceNumber",
            Field::MovementId => "movementId",
            Field::CustomerExternalId => "customerExternalId",
            Field::SourceOrder => "sourceOrder",
        }
    }
}

/// Read access to the identifying fields of a record, typed or raw.
pub trait RecordFields {
    /// The field's text, when the record has it as a string.
    fn text(&self, field: Field) -> Option<&str>;
}

/// A raw record (the `record` of an envelope): the string at the field's name.
impl RecordFields for Value {
    fn text(&self, field: Field) -> Option<&str> {
        self.get(field.name()).and_then(Value::as_str)
    }
}

/// A validated record: the field of its kind's struct, when it has one.
impl RecordFields for Record {
    fn text(&self, field: Field) -> Option<&str> {
        match (self, field) {
            (Record::Customer(c), Field::ExternalId) => Some(&c.external_id),
            (Record::Product(p), Field::Sku) => Some(&p.sku),
            (Record::Quote(q), Field::QuoteNumber) => Some(&q.quote_number),
            (Record::Quote(q), Field::CustomerExternalId) => Some(&q.customer_external_id),
            (Record::Order(o), Field::OrderNumber) => Some(&o.order_number),
            (Record::Order(o), Field::CustomerExternalId) => Some(&o.customer_external_id),
            (Record::Invoice(i), Field::InvoiceNumber) => Some(&i.invoice_number),
            (Record::Invoice(i), Field::SourceOrder) => Some(&i.source_order),
            (Record::StockMovement(m), Field::MovementId) => Some(&m.movement_id),
            (Record::StockMovement(m), Field::Sku) => Some(&m.sku),
            (Record::StockMovement(m), Field::SourceOrder) => m.source_order.as_deref(),
            (Record::Cancellation(c), Field::OrderNumber) => Some(&c.order_number),
            _ => None,
        }
    }
}

/// How a record names its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerRef<'a> {
    /// The customer's external id, named by the record itself.
    Own(&'a str),
    /// The number of the order whose customer the record belongs to.
    OrderOf(&'a str),
}

/// What a customer field names: the customer itself, or its order.
type Names<'a> = fn(&'a str) -> CustomerRef<'a>;

impl Kind {
    /// The field holding a record's external id.
    pub fn external_id_field(self) -> Field {
        match self {
            Kind::Customer => Field::ExternalId,
            Kind::Product => Field::Sku,
            Kind::Quote => Field::QuoteNumber,
            Kind::Order | Kind::Cancellation => Field::OrderNumber,
            Kind::Invoice => Field::InvoiceNumber,
            Kind::StockMovement => Field::MovementId,
        }
    }

    /// The field naming a record's customer, and what it names: the
    /// customer itself or its order; `None` for a product.
    fn customer_field<'a>(self) -> Option<(Field, Names<'a>)> {
        match self {
            Kind::Customer => Some((Field::ExternalId, CustomerRef::Own)),
            Kind::Quote | Kind::Order => Some((Field::CustomerExternalId, CustomerRef::Own)),
            Kind::Invoice | Kind::StockMovement => Some((Field::SourceOrder, CustomerRef::OrderOf)),
            Kind::Cancellation => Some((Field::OrderNumber, CustomerRef::OrderOf)),
            Kind::Product => None,
        }
    }
}

/// A record's external id (as written, possibly empty in a refused record).
pub fn external_id<R: RecordFields + ?Sized>(kind: Kind, record: &R) -> Option<&str> {
    record.text(kind.external_id_field())
}

/// How a record names its customer; `None` when it belongs to none (a
/// product, a stock movement naming no order) or the field is missing or empty.
pub fn customer_ref<R: RecordFields + ?Sized>(kind: Kind, record: &R) -> Option<CustomerRef<'_>> {
    let (field, names) = kind.customer_field()?;
    record.text(field).filter(|s| !s.is_empty()).map(names)
}

/// A record's customer: its own, or its order's as `order_customer` finds
/// it (from the host, or the order's ledger entry).
pub fn customer_of<R: RecordFields + ?Sized>(
    kind: Kind,
    record: &R,
    order_customer: impl FnOnce(&str) -> Option<String>,
) -> Option<String> {
    match customer_ref(kind, record)? {
        CustomerRef::Own(customer) => Some(customer.to_string()),
        CustomerRef::OrderOf(order) => order_customer(order),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One raw record of each kind, in the order of [`Kind::ALL`].
    fn raw() -> [Value; 7] {
        [
            json!({"externalId": "C1", "name": "Acme"}),
            json!({"sku": "P1", "name": "Kit"}),
            json!({"quoteNumber": "Q1", "customerExternalId": "C1"}),
            json!({"orderNumber": "O1", "customerExternalId": "C1"}),
            json!({"invoiceNumber": "F1", "sourceOrder": "O1"}),
            json!({"movementId": "M1", "sku": "P1", "sourceOrder": "O1"}),
            json!({"orderNumber": "O1", "reason": "x"}),
        ]
    }

    #[test]
    fn each_kind_is_named_by_its_own_field() {
        let raw = raw();
        let ids: Vec<Option<&str>> = Kind::ALL
            .iter()
            .zip(raw.iter())
            .map(|(k, r)| external_id(*k, r))
            .collect();
        let expected = [
            Some("C1"),
            Some("P1"),
            Some("Q1"),
            Some("O1"),
            Some("F1"),
            Some("M1"),
            Some("O1"),
        ];
        assert_eq!(ids, expected);
        // A refused record keeps an empty id as written; a number is no id.
        assert_eq!(external_id(Kind::Order, &json!({"orderNumber": ""})), Some(""));
        assert_eq!(external_id(Kind::Order, &json!({"orderNumber": 7})), None);
    }

    #[test]
    fn documents_of_an_order_belong_to_its_customer() {
        let raw = raw();
        let refs: Vec<_> = Kind::ALL
            .iter()
            .zip(raw.iter())
            .map(|(k, r)| customer_ref(*k, r))
            .collect();
        use CustomerRef::*;
        assert_eq!(
            refs,
            [
                Some(Own("C1")),
                None,
                Some(Own("C1")),
                Some(Own("C1")),
                Some(OrderOf("O1")),
                Some(OrderOf("O1")),
                Some(OrderOf("O1")),
            ]
        );
        let orders = |n: &str| (n == "O1").then(|| "C9".to_string());
        assert_eq!(customer_of(Kind::StockMovement, &raw[5], orders), Some("C9".into()));
        assert_eq!(customer_of(Kind::Invoice, &json!({"sourceOrder": "O2"}), orders), None);
    }

    #[test]
    fn a_movement_without_order_and_empty_names_belong_to_nobody() {
        let no_order = json!({"movementId": "M1", "sku": "P1"});
        assert_eq!(customer_ref(Kind::StockMovement, &no_order), None);
        assert_eq!(customer_ref(Kind::Quote, &json!({"customerExternalId": ""})), None);
        assert_eq!(
            customer_of(Kind::Invoice, &json!({"sourceOrder": ""}), |_| Some("C1".into())),
            None
        );
    }

    /// `value` with its numbers as decimal strings, as the model reads money.
    fn exact(value: &Value) -> Value {
        match value {
            Value::Number(n) => Value::String(n.to_string()),
            Value::Array(a) => Value::Array(a.iter().map(exact).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), exact(v))).collect()),
            other => other.clone(),
        }
    }

    #[test]
    fn typed_records_follow_the_same_rule_as_their_json() {
        for kind in Kind::ALL {
            let name = kind.as_str();
            let path = format!("{}/../examples/data/{name}.json", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let mut value: Value = serde_json::from_str(&text).unwrap();
            if kind == Kind::StockMovement {
                value["sourceOrder"] = json!("CMD-1");
            }
            let record: Record = serde_json::from_value(json!({"kind": name, "record": exact(&value)}))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(record.kind(), kind);
            assert_eq!(external_id(kind, &record), external_id(kind, &value), "{name}");
            assert!(external_id(kind, &record).is_some_and(|id| !id.is_empty()), "{name}");
            assert_eq!(customer_ref(kind, &record), customer_ref(kind, &value), "{name}");
            assert_eq!(customer_ref(kind, &record).is_none(), kind == Kind::Product, "{name}");
        }
    }
}
