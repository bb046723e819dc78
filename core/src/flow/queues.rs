//! Queue names and confirmation events.
//!
//! Names follow the product's convention, each segment lower-cased and
//! restricted to `[a-z0-9_-]`: `erp.incwo.quote.{company}`,
//! `erp.incwo.order.{company}.{currency}`, `erp.incwo.stock.{warehouse}`,
//! `erp.incwo.billing.{company}`, and `erp.incwo.referential.{company}` for
//! customers and products; quarantine is the same name + `.quarantine`.

use crate::mapping::totals::Totals;
use serde::{Deserialize, Serialize};

/// A segment that cannot name a queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue segment {what} is empty or has no letter or digit left after normalisation")]
pub struct BadSegment {
    /// Which segment (company, currency, warehouse).
    pub what: &'static str,
}

/// Normalises a segment: lower case, characters outside `[a-z0-9_-]` become
/// `_`, leading/trailing `_`/`-` trimmed. Refused when nothing is left.
pub fn segment(what: &'static str, raw: &str) -> Result<String, BadSegment> {
    let s: String = raw
        .trim()
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '_' || c == '-').to_string();
    if s.chars().any(|c| c.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(BadSegment { what })
    }
}

/// The family of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueFor<'a> {
    /// Quotes of a company.
    Quote {
        /// Company.
        company: &'a str,
    },
    /// Orders (and cancellations) of a company in a currency.
    Order {
        /// Company.
        company: &'a str,
        /// Currency.
        currency: &'a str,
    },
    /// Stock of a warehouse.
    Stock {
        /// Warehouse code.
        warehouse: &'a str,
    },
    /// Invoices and credit notes of a company.
    Billing {
        /// Company.
        company: &'a str,
    },
    /// Customers and products of a company.
    Referential {
        /// Company.
        company: &'a str,
    },
}

/// The queue's name, or its quarantine's.
pub fn queue_name(queue: &QueueFor<'_>, quarantine: bool) -> Result<String, BadSegment> {
    let mut name = match queue {
        QueueFor::Quote { company } => format!("erp.incwo.quote.{}", segment("company", company)?),
        QueueFor::Order { company, currency } => format!(
            "erp.incwo.order.{}.{}",
            segment("company", company)?,
            segment("currency", currency)?
        ),
        QueueFor::Stock { warehouse } => format!("erp.incwo.stock.{}", segment("warehouse", warehouse)?),
        QueueFor::Billing { company } => format!("erp.incwo.billing.{}", segment("company", company)?),
        QueueFor::Referential { company } => format!("erp.incwo.referential.{}", segment("company", company)?),
    };
    if quarantine {
        name.push_str(".quarantine");
    }
    Ok(name)
}

/// A confirmation (or quarantine) event, published by the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "FlowEvent"))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `quote.created`, `order.created`, `order.cancelled`, `invoice.created`,
    /// `credit_note.created`, `stock.moved`, `record.quarantined`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The record's external id.
    pub external_id: String,
    /// incwo's id, when there is one.
    pub incwo_id: Option<u64>,
    /// Document status name.
    pub status: Option<String>,
    /// Document totals.
    pub totals: Option<Totals>,
    /// Correlation id of the record's requests.
    pub correlation_id: String,
    /// Idempotency key of the step (consumers dedupe on it).
    pub idempotency_key: String,
    /// When (RFC 3339, from the time the host passed in).
    pub occurred_at: String,
    /// For quarantine events: the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_convention() {
        assert_eq!(
            queue_name(&QueueFor::Quote { company: "ACME" }, false).unwrap(),
            "erp.incwo.quote.acme"
        );
        assert_eq!(
            queue_name(
                &QueueFor::Order {
                    company: "Atelier Horizon",
                    currency: "EUR"
                },
                false
            )
            .unwrap(),
            "erp.incwo.order.atelier_horizon.eur"
        );
        assert_eq!(
            queue_name(&QueueFor::Billing { company: "acme" }, true).unwrap(),
            "erp.incwo.billing.acme.quarantine"
        );
        assert_eq!(
            queue_name(&QueueFor::Stock { warehouse: "MAIN" }, false).unwrap(),
            "erp.incwo.stock.main"
        );
        assert_eq!(segment("company", "a.b/c").unwrap(), "a_b_c");
        assert!(segment("company", "  ").is_err());
        assert!(segment("company", "..").is_err());
        assert!(queue_name(&QueueFor::Billing { company: "" }, false).is_err());
    }
}
