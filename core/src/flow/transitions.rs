//! Document status transitions, as explicit tables checked before any
//! request is built. A forbidden transition is a business error: the record
//! goes to quarantine and nothing is sent.

use serde::{Deserialize, Serialize};

/// The document types whose status the connector drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocType {
    /// Quotes.
    Quote,
    /// Sales orders.
    Order,
    /// Invoices.
    Invoice,
}

impl DocType {
    /// Every document type.
    pub const ALL: [DocType; 3] = [DocType::Quote, DocType::Order, DocType::Invoice];

    /// The type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Quote => "quote",
            DocType::Order => "order",
            DocType::Invoice => "invoice",
        }
    }

    /// The status a new document of this type has.
    pub fn initial(self) -> &'static str {
        match self {
            DocType::Quote => "draft",
            DocType::Order => "confirmed",
            DocType::Invoice => "draft",
        }
    }

    /// The allowed transitions (from, to).
    pub fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            DocType::Quote => &[
                ("draft", "sent"),
                ("draft", "accepted"),
                ("draft", "refused"),
                ("draft", "expired"),
                ("sent", "accepted"),
                ("sent", "refused"),
                ("sent", "expired"),
            ],
            DocType::Order => &[
                ("confirmed", "partiallyDelivered"),
                ("confirmed", "delivered"),
                ("confirmed", "cancelled"),
                ("partiallyDelivered", "partiallyDelivered"),
                ("partiallyDelivered", "delivered"),
                ("partiallyDelivered", "cancelled"),
                ("delivered", "cancelled"),
            ],
            DocType::Invoice => &[
                ("draft", "issued"),
                ("draft", "cancelled"),
                ("issued", "partiallyPaid"),
                ("issued", "paid"),
                ("partiallyPaid", "partiallyPaid"),
                ("partiallyPaid", "paid"),
            ],
        }
    }
}

/// A transition the table forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {doc} cannot go from {from} to {to}")]
pub struct Forbidden {
    /// Document type name.
    pub doc: &'static str,
    /// Current status.
    pub from: String,
    /// Wanted status.
    pub to: String,
}

/// Checks a transition against its table.
pub fn check(doc: DocType, from: &str, to: &str) -> Result<(), Forbidden> {
    if doc.table().iter().any(|(f, t)| *f == from && *t == to) {
        Ok(())
    } else {
        Err(Forbidden {
            doc: doc.as_str(),
            from: from.into(),
            to: to.into(),
        })
    }
}

/// The tables as one Mermaid `stateDiagram-v2` per document type, for the docs.
pub fn mermaid() -> String {
    let mut out = String::new();
    for doc in DocType::ALL {
        out.push_str(&format!("### {}\n\n```mermaid\nstateDiagram-v2\n", doc.as_str()));
        out.push_str(&format!("    [*] --> {}\n", doc.initial()));
        for (from, to) in doc.table() {
            out.push_str(&format!("    {from} --> {to}\n"));
        }
        out.push_str("```\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_allow_the_documented_paths_only() {
        assert!(check(DocType::Quote, "draft", "accepted").is_ok());
        assert!(check(DocType::Quote, "refused", "accepted").is_err());
        assert!(check(DocType::Order, "confirmed", "partiallyDelivered").is_ok());
        assert!(check(DocType::Order, "cancelled", "delivered").is_err());
        assert!(check(DocType::Invoice, "paid", "draft").is_err());
        assert_eq!(
            check(DocType::Order, "cancelled", "cancelled").unwrap_err().to_string(),
            "a order cannot go from cancelled to cancelled"
        );
    }

    #[test]
    fn the_docs_diagram_is_generated_from_the_tables() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/STATUSES.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let generated = mermaid();
        assert!(
            doc.contains(&generated),
            "docs/STATUSES.md is stale: run `cargo run -p incwo-cli -- statuses > docs/STATUSES.md`"
        );
    }
}
