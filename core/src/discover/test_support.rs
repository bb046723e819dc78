//! Fixtures shared by the discovery modules' unit tests: list pages of
//! products, proposal sheets, bill sheets and stock movements as incwo
//! writes them, fed through [`Observations::add_page`] like a host would.

use super::observe::Observations;
use crate::views::Resource;

/// A one-page list of `resource` holding `items`.
pub(super) fn page(resource: &str, items: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{resource} type=\"array\"><pagination><current_page>1</current_page><total_pages>1</total_pages><current_page_items_count>1</current_page_items_count></pagination>{items}</{resource}>"
    )
    .into_bytes()
}

/// A proposal line with a VAT id, its total excluding tax and its VAT amount.
pub(super) fn line(vat: u64, total: &str, amount: &str) -> String {
    format!("<proposal_line><vat_value_id>{vat}</vat_value_id><total_price>{total}</total_price><vat_value>{amount}</vat_value></proposal_line>")
}

/// A proposal sheet in currency 41.
pub(super) fn sheet(id: u64, sheet_type: &str, progress: u64, reference: &str, lines: &str) -> String {
    format!("<proposal_sheet><id>{id}</id><sheet_type>{sheet_type}</sheet_type><progress_id>{progress}</progress_id><reference>{reference}</reference><currency_id>41</currency_id><proposal_lines>{lines}</proposal_lines></proposal_sheet>")
}

/// A bill sheet in currency 41, without lines.
pub(super) fn bill(id: u64, sheet_type: &str, progress: u64, reference: &str) -> String {
    format!("<bill_sheet><id>{id}</id><sheet_type>{sheet_type}</sheet_type><progress_id>{progress}</progress_id><reference>{reference}</reference><currency_id>41</currency_id><bill_lines></bill_lines></bill_sheet>")
}

/// A product with a VAT id and a currency id.
pub(super) fn product(id: u64, reference: &str, vat: u64, currency: u64) -> String {
    format!("<customer_product><id>{id}</id><reference>{reference}</reference><vat_id>{vat}</vat_id><currency_id>{currency}</currency_id></customer_product>")
}

/// A stock movement between two warehouses (an empty one is left out).
pub(super) fn movement(id: u64, origin: Option<u64>, destination: Option<u64>) -> String {
    let origin = origin.map_or(String::new(), |w| {
        format!("<origin_warehouse_id>{w}</origin_warehouse_id>")
    });
    let destination = destination.map_or(String::new(), |w| {
        format!("<destination_warehouse_id>{w}</destination_warehouse_id>")
    });
    format!("<stock_movement><id>{id}</id>{origin}{destination}<quantity>1</quantity></stock_movement>")
}

/// Observations of one page of `resource` holding `items`.
pub(super) fn observed(resource: Resource, items: &str) -> Observations {
    let mut obs = Observations::new();
    obs.add_page(resource, &page(resource.as_str(), items))
        .expect("a valid page");
    obs
}
