//! The kinds of incwo object the connector writes: one [`Domain`] per
//! ledger entry, adapter and metric label. A record's kind names the domain
//! of its main object ([`Domain::of`]).

use super::Kind;
use serde::{Deserialize, Serialize};

/// What kind of incwo object an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// A firm.
    Customer,
    /// A customer product.
    Product,
    /// A quote (proposal sheet).
    Quote,
    /// A sales order (proposal sheet).
    Order,
    /// An invoice (bill sheet).
    Invoice,
    /// A credit note (bill sheet).
    CreditNote,
    /// A stock movement.
    StockMovement,
}

impl Domain {
    /// The domain of a record's main object: a cancellation is about its
    /// order; every other kind has a domain of its own.
    pub fn of(kind: Kind) -> Domain {
        match kind {
            Kind::Customer => Domain::Customer,
            Kind::Product => Domain::Product,
            Kind::Quote => Domain::Quote,
            Kind::Order | Kind::Cancellation => Domain::Order,
            Kind::Invoice => Domain::Invoice,
            Kind::StockMovement => Domain::StockMovement,
        }
    }

    /// The name used in keys, metrics and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Customer => "customer",
            Domain::Product => "product",
            Domain::Quote => "quote",
            Domain::Order => "order",
            Domain::Invoice => "invoice",
            Domain::CreditNote => "credit_note",
            Domain::StockMovement => "stock_movement",
        }
    }

    /// The incwo resource holding objects of this domain.
    pub fn resource(self) -> &'static str {
        match self {
            Domain::Customer => "firms",
            Domain::Product => "customer_products",
            Domain::Quote | Domain::Order => "proposal_sheets",
            Domain::Invoice | Domain::CreditNote => "bill_sheets",
            Domain::StockMovement => "stock_movements",
        }
    }

    /// The incwo field carrying the connector's marker (the external id), the
    /// basis of find-by-marker reconciliation.
    pub fn marker_field(self) -> &'static str {
        match self {
            Domain::Customer => "accounting_ref",
            Domain::Product => "reference",
            Domain::Quote | Domain::Order | Domain::Invoice | Domain::CreditNote => "title",
            Domain::StockMovement => "comment",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_is_about_its_order_and_other_kinds_about_themselves() {
        let domains: Vec<&str> = Kind::ALL.iter().map(|k| Domain::of(*k).as_str()).collect();
        assert_eq!(
            domains,
            [
                "customer",
                "product",
                "quote",
                "order",
                "invoice",
                "stock_movement",
                "order"
            ]
        );
    }

    #[test]
    fn names_serialise_as_written_in_keys_and_metrics() {
        for domain in [Domain::Customer, Domain::CreditNote, Domain::StockMovement] {
            assert_eq!(
                serde_json::to_value(domain).unwrap(),
                serde_json::json!(domain.as_str())
            );
        }
        assert_eq!(Domain::CreditNote.resource(), "bill_sheets");
        assert_eq!(Domain::StockMovement.marker_field(), "comment");
    }
}
