//! What change detection reads from a document: the same few fields
//! whether it came from `GET /{res}/{id}.xml` or from a list page.

use crate::views::{
    self, BillSheet, ContentKind, DocumentLine, Item, Page, Parsed, ProposalSheet, Resource, ViewError,
};
use rust_decimal::Decimal;
use serde::Serialize;

/// One line of a document, as detection needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotLine {
    /// Counts in the totals (not a comment, option or sub-total line).
    pub priced: bool,
    /// The linked product.
    pub product_id: Option<u64>,
    /// Quantity (1 when absent, as incwo defaults it).
    pub quantity: Decimal,
    /// VAT id.
    pub vat_value_id: Option<u64>,
    /// Line total excluding VAT.
    pub total: Option<Decimal>,
    /// Line VAT.
    pub vat: Option<Decimal>,
}

/// A document (proposal sheet or bill sheet) as incwo shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// `proposal_sheets` or `bill_sheets`.
    pub resource: String,
    /// incwo id.
    pub id: u64,
    /// `sheet_type`.
    pub sheet_type: Option<String>,
    /// `progress_id`.
    pub progress_id: Option<u64>,
    /// Title (the connector's marker).
    pub title: Option<String>,
    /// Total excluding VAT.
    pub excl_tax: Option<Decimal>,
    /// VAT.
    pub vat: Option<Decimal>,
    /// Total including VAT.
    pub incl_tax: Option<Decimal>,
    /// Amount paid (bill sheets).
    pub payed_amount: Option<Decimal>,
    /// Last change, `YYYY-MM-DDTHH:MM:SS` (the later of `modified_at` and `updated_at`).
    pub modified: Option<String>,
    /// Lines.
    pub lines: Vec<SnapshotLine>,
}

fn line(l: &DocumentLine) -> SnapshotLine {
    SnapshotLine {
        priced: l.content_kind == ContentKind::Normal,
        product_id: l.customer_product_id,
        quantity: l.quantity.unwrap_or(Decimal::ONE),
        vat_value_id: l.vat_value_id,
        total: l.total_price,
        vat: l.vat_value,
    }
}

fn stamp(a: Option<chrono::NaiveDateTime>, b: Option<chrono::NaiveDateTime>) -> Option<String> {
    a.max(b).map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
}

impl Snapshot {
    /// From a proposal sheet.
    pub fn of_proposal(s: &ProposalSheet) -> Snapshot {
        Snapshot {
            resource: "proposal_sheets".into(),
            id: s.id,
            sheet_type: s.sheet_type.clone(),
            progress_id: s.progress_id,
            title: s.title.clone(),
            excl_tax: s.vat_exl_total,
            vat: s.vat_cost,
            incl_tax: s.vat_inc_total,
            payed_amount: None,
            modified: stamp(s.modified_at, s.updated_at),
            lines: s.lines.iter().map(line).collect(),
        }
    }

    /// From a bill sheet.
    pub fn of_bill(s: &BillSheet) -> Snapshot {
        Snapshot {
            resource: "bill_sheets".into(),
            id: s.id,
            sheet_type: s.sheet_type.clone(),
            progress_id: s.progress_id,
            title: s.title.clone(),
            excl_tax: s.vat_exl_total,
            vat: s.vat_cost,
            incl_tax: s.vat_inc_total,
            payed_amount: s.payed_amount,
            modified: stamp(s.modified_at, s.updated_at),
            lines: s.lines.iter().map(line).collect(),
        }
    }

    /// What detection compares, hashed: two snapshots with the same
    /// fingerprint need no second look.
    pub fn fingerprint(&self) -> String {
        let mut copy = self.clone();
        copy.modified = None;
        crate::flow::ledger::payload_hash(&copy)
    }
}

/// Reads one document or a list page of `resource` (`proposal_sheets`,
/// `bill_sheets`) into snapshots, with the page count (1 for one object).
pub fn read(resource: &str, body: &[u8]) -> Result<(Vec<Snapshot>, u32, u32), ViewError> {
    let res: Resource = resource.parse()?;
    Ok(match views::parse_resource(res, body)? {
        Parsed::One(Item::ProposalSheet(s)) => (vec![Snapshot::of_proposal(&s)], 1, 1),
        Parsed::One(Item::BillSheet(s)) => (vec![Snapshot::of_bill(&s)], 1, 1),
        Parsed::Page(Page::ProposalSheets(p)) => (
            p.items.iter().map(Snapshot::of_proposal).collect(),
            p.pagination.current_page,
            p.pagination.total_pages,
        ),
        Parsed::Page(Page::BillSheets(p)) => (
            p.items.iter().map(Snapshot::of_bill).collect(),
            p.pagination.current_page,
            p.pagination.total_pages,
        ),
        _ => {
            return Err(ViewError::UnknownResource {
                name: format!("{resource} (documents are proposal_sheets and bill_sheets)"),
            })
        }
    })
}
