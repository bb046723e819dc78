//! Profile discovery: reads list pages of an account's products, documents
//! and stock movements and proposes a mapping profile from what they carry.
//!
//! incwo's VAT ids, status ids, warehouses, currency ids and the order
//! `sheet_type` are account-specific and no endpoint lists them, so the only
//! source is the data itself. This module is pure: the host fetches pages
//! (read-only, within a page budget) and hands their bytes to
//! [`Observations::add_page`]; [`propose()`] turns what was seen into a profile
//! (JSON, the [`crate::mapping::Profile`] format) and a report with the
//! evidence. Every value it cannot establish is written as
//! `{"unknown": "hint"}` (see [`crate::mapping::UNKNOWN`]), which
//! [`crate::mapping::Profile::from_json`] refuses until it is filled in.
//!
//! How values are established:
//! - a VAT id's rate is the simplest decimal consistent with every line that
//!   uses it (`vat_value` / `total_price`, both rounded to cents); an id seen
//!   only on products takes the documented rate when incwo documents it;
//! - `proposal` is the documented quote type; the order and delivery types
//!   are recognised by their name (order, commande / deliver, livraison) or
//!   by their reference prefix (`C…` / `BL…`);
//! - status ids: the documented defaults when the ids seen are those; else,
//!   when exactly as many ids are seen as the profile has statuses for the
//!   type, ascending ids in the profile's order (incwo numbers a label list
//!   in its order: 555 draft … 559 postponed on quotes); else unknown;
//! - warehouses are the ids stock movements reference (one: `MAIN`);
//! - the most used currency id is the file's currency (EUR unless told).
//!
//! One concern per module: `observe` accumulates what the pages carry,
//! `vat`, `currency`, `warehouse`, `sheet_types` and `statuses` each
//! establish one part of the profile from it, `propose` assembles the
//! profile and its report, and `account` lists the business files the
//! credentials reach.

use serde_json::{json, Value};

use crate::views::Resource;

mod account;
mod currency;
mod observe;
mod propose;
mod sheet_types;
mod statuses;
mod vat;
mod warehouse;

#[cfg(test)]
mod test_support;

pub use account::{account_listing_request, parse_business_files, BusinessFile};
pub use observe::{Observations, Seen};
pub use propose::{propose, DiscoverOptions, Discovery};

/// The resources a discovery reads, in order.
pub const DISCOVERY_RESOURCES: [Resource; 4] = [
    Resource::CustomerProducts,
    Resource::ProposalSheets,
    Resource::BillSheets,
    Resource::StockMovements,
];

/// Examples kept per observed value.
const EXAMPLES: usize = 3;

/// A profile value left unknown, with the hint that says how to fill it in.
fn unknown(hint: impl Into<String>) -> Value {
    json!({ crate::mapping::UNKNOWN: hint.into() })
}
