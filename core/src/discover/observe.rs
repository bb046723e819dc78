//! Accumulates what list pages carry, page by page: the VAT ids (with the
//! rate bounds their lines imply), sheet types and reference prefixes,
//! status ids per document type, warehouses and currency ids, each with a
//! count and a few examples to cite as evidence.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;

use super::EXAMPLES;
use crate::views::{
    self, BillSheet, CustomerProduct, DocumentLine, ListPage, ProposalSheet, Resource, StockMovement, ViewError,
};

/// What was seen of one VAT id.
#[derive(Debug, Clone, Default)]
pub(super) struct VatSeen {
    pub(super) lines: usize,
    pub(super) products: usize,
    /// Tightest bounds of the rate implied by lines with amounts.
    pub(super) low: Option<Decimal>,
    pub(super) high: Option<Decimal>,
    pub(super) examples: Vec<String>,
}

/// What was seen of one value (a sheet type, a status id, a warehouse…).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    /// How many objects carry it.
    pub count: usize,
    /// Up to three references (or ids) of objects that carry it.
    pub examples: Vec<String>,
}

impl Seen {
    pub(super) fn add(&mut self, example: String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES && !example.is_empty() && !self.examples.contains(&example) {
            self.examples.push(example);
        }
    }
}

/// Everything read so far, accumulated page by page.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pub(super) pages: BTreeMap<&'static str, u32>,
    pub(super) truncated: BTreeSet<&'static str>,
    pub(super) vat: BTreeMap<u64, VatSeen>,
    pub(super) proposal_types: BTreeMap<String, Seen>,
    pub(super) proposal_prefixes: BTreeMap<String, BTreeMap<String, usize>>,
    pub(super) bill_types: BTreeMap<String, Seen>,
    /// (resource, sheet type) → progress id → seen.
    pub(super) progress: BTreeMap<(&'static str, String), BTreeMap<u64, Seen>>,
    pub(super) warehouses: BTreeMap<u64, Seen>,
    pub(super) currencies: BTreeMap<u64, Seen>,
    /// Per resource, how its list pages were ordered and sized.
    pub(super) lists: BTreeMap<&'static str, ListSeen>,
}

/// The order and size of a resource's list pages, as read (pages 1, 2, …).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSeen {
    /// Every id read so far came after the one before it.
    pub ascending: bool,
    /// The most objects one page held (incwo's page size, when a page was full).
    pub largest_page: usize,
    #[serde(skip)]
    last_id: Option<u64>,
}

impl Default for ListSeen {
    fn default() -> Self {
        ListSeen {
            ascending: true,
            largest_page: 0,
            last_id: None,
        }
    }
}

impl ListSeen {
    fn add(&mut self, ids: impl Iterator<Item = u64>) {
        let mut count = 0;
        for id in ids {
            count += 1;
            if self.last_id.is_some_and(|last| id <= last) {
                self.ascending = false;
            }
            self.last_id = Some(id);
        }
        self.largest_page = self.largest_page.max(count);
    }
}

fn example_of(reference: &Option<String>, title: &Option<String>, id: u64) -> String {
    reference
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .or(title.as_deref().filter(|t| !t.trim().is_empty()))
        .map_or_else(|| format!("id {id}"), str::to_string)
}

/// The letters a reference starts with (`C` of `C00012`, `BL` of `BL3-4`).
fn reference_prefix(reference: &str) -> String {
    reference.chars().take_while(char::is_ascii_alphabetic).collect()
}

impl Observations {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one list page of a [`DISCOVERY_RESOURCES`](super::DISCOVERY_RESOURCES) resource and returns
    /// the next page to fetch, if any. Other resources are a usage error.
    pub fn add_page(&mut self, resource: Resource, xml: &[u8]) -> Result<Option<u32>, ViewError> {
        let next = match resource {
            Resource::CustomerProducts => {
                let page: ListPage<CustomerProduct> = views::parse_page(xml)?;
                self.lists
                    .entry(resource.as_str())
                    .or_default()
                    .add(page.items.iter().map(|i| i.id));
                self.add_products(&page.items);
                page.pagination.next_page()
            }
            Resource::ProposalSheets => {
                let page: ListPage<ProposalSheet> = views::parse_page(xml)?;
                self.lists
                    .entry(resource.as_str())
                    .or_default()
                    .add(page.items.iter().map(|i| i.id));
                self.add_proposals(&page.items);
                page.pagination.next_page()
            }
            Resource::BillSheets => {
                let page: ListPage<BillSheet> = views::parse_page(xml)?;
                self.lists
                    .entry(resource.as_str())
                    .or_default()
                    .add(page.items.iter().map(|i| i.id));
                self.add_bills(&page.items);
                page.pagination.next_page()
            }
            Resource::StockMovements => {
                let page: ListPage<StockMovement> = views::parse_page(xml)?;
                self.lists
                    .entry(resource.as_str())
                    .or_default()
                    .add(page.items.iter().map(|i| i.id));
                self.add_movements(&page.items);
                page.pagination.next_page()
            }
            other => {
                return Err(ViewError::UnknownResource {
                    name: format!(
                        "{} (discovery reads products, documents and stock movements)",
                        other.as_str()
                    ),
                })
            }
        };
        *self.pages.entry(resource.as_str()).or_default() += 1;
        Ok(next)
    }

    /// Records that the page budget stopped the reading of a resource early.
    pub fn note_truncated(&mut self, resource: Resource) {
        self.truncated.insert(resource.as_str());
    }

    /// Products: their `vat_id` and `currency_id`.
    pub fn add_products(&mut self, items: &[CustomerProduct]) {
        for p in items {
            let example = example_of(&p.reference, &p.name, p.id);
            if let Some(vat) = p.vat_id {
                let seen = self.vat.entry(vat).or_default();
                seen.products += 1;
                if seen.examples.len() < EXAMPLES {
                    seen.examples.push(example.clone());
                }
            }
            if let Some(c) = p.currency_id {
                self.currencies.entry(c).or_default().add(example);
            }
        }
    }

    /// Quotes, orders and delivery notes.
    pub fn add_proposals(&mut self, items: &[ProposalSheet]) {
        for d in items {
            let example = example_of(&d.reference, &d.title, d.id);
            let sheet_type = d.sheet_type.clone().unwrap_or_default();
            self.proposal_types
                .entry(sheet_type.clone())
                .or_default()
                .add(example.clone());
            if let Some(r) = d.reference.as_deref().filter(|r| !r.is_empty()) {
                *self
                    .proposal_prefixes
                    .entry(sheet_type.clone())
                    .or_default()
                    .entry(reference_prefix(r))
                    .or_default() += 1;
            }
            self.document(
                "proposal_sheets",
                sheet_type,
                d.progress_id,
                d.currency_id,
                &d.lines,
                example,
            );
        }
    }

    /// Invoices and credit notes.
    pub fn add_bills(&mut self, items: &[BillSheet]) {
        for d in items {
            let example = example_of(&d.reference, &d.title, d.id);
            let sheet_type = d.sheet_type.clone().unwrap_or_default();
            self.bill_types
                .entry(sheet_type.clone())
                .or_default()
                .add(example.clone());
            self.document(
                "bill_sheets",
                sheet_type,
                d.progress_id,
                d.currency_id,
                &d.lines,
                example,
            );
        }
    }

    /// Stock movements: the warehouses they reference.
    pub fn add_movements(&mut self, items: &[StockMovement]) {
        for m in items {
            let example = format!("movement {}", m.id);
            for w in [m.origin_warehouse_id, m.destination_warehouse_id]
                .into_iter()
                .flatten()
            {
                self.warehouses.entry(w).or_default().add(example.clone());
            }
        }
    }

    fn document(
        &mut self,
        resource: &'static str,
        sheet_type: String,
        progress: Option<u64>,
        currency: Option<u64>,
        lines: &[DocumentLine],
        example: String,
    ) {
        if let Some(p) = progress {
            self.progress
                .entry((resource, sheet_type))
                .or_default()
                .entry(p)
                .or_default()
                .add(example.clone());
        }
        if let Some(c) = currency {
            self.currencies.entry(c).or_default().add(example.clone());
        }
        for line in lines {
            let Some(vat) = line.vat_value_id else { continue };
            let seen = self.vat.entry(vat).or_default();
            seen.lines += 1;
            if seen.examples.len() < EXAMPLES && !seen.examples.contains(&example) {
                seen.examples.push(example.clone());
            }
            let (Some(total), Some(amount)) = (line.total_price, line.vat_value) else {
                continue;
            };
            if total <= Decimal::ZERO {
                continue;
            }
            let half_cent = Decimal::new(5, 3);
            let low = (amount - half_cent).max(Decimal::ZERO).checked_div(total);
            let high = (amount + half_cent).checked_div(total);
            if let (Some(low), Some(high)) = (low, high) {
                seen.low = Some(seen.low.map_or(low, |l| l.max(low)));
                seen.high = Some(seen.high.map_or(high, |h| h.min(high)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::test_support::{bill, line, movement, observed, page, product, sheet};

    #[test]
    fn pages_accumulate_counts_examples_and_rate_bounds() {
        let lines = format!("{}{}", line(607, "100.00", "20.00"), line(607, "0", "0"));
        let mut obs = observed(
            Resource::ProposalSheets,
            &format!(
                "{}{}",
                sheet(1, "proposal", 555, "D00001", &lines),
                sheet(2, "order", 700, "C00002", "")
            ),
        );
        obs.add_page(
            Resource::ProposalSheets,
            &page("proposal_sheets", &sheet(3, "proposal", 555, "D00003", "")),
        )
        .unwrap();
        assert_eq!(obs.pages["proposal_sheets"], 2);
        assert_eq!(obs.proposal_types["proposal"].count, 2);
        assert_eq!(obs.proposal_types["proposal"].examples, ["D00001", "D00003"]);
        assert_eq!(obs.proposal_prefixes["order"]["C"], 1);
        assert_eq!(
            obs.progress[&("proposal_sheets", "proposal".to_string())][&555].count,
            2
        );
        assert_eq!(obs.currencies[&41].count, 3);
        // A zero total says nothing about the rate; 20.00 / 100.00 bounds it.
        let vat = &obs.vat[&607];
        assert_eq!(vat.lines, 2);
        assert_eq!(vat.low, Some("0.19995".parse().unwrap()));
        assert_eq!(vat.high, Some("0.20005".parse().unwrap()));

        obs.add_page(
            Resource::BillSheets,
            &page("bill_sheets", &bill(9, "invoice", 901, "F1")),
        )
        .unwrap();
        assert_eq!(obs.bill_types["invoice"].count, 1);
        assert_eq!(
            obs.progress[&("bill_sheets", "invoice".to_string())][&901].examples,
            ["F1"]
        );
        obs.note_truncated(Resource::BillSheets);
        assert!(obs.truncated.contains("bill_sheets"));
    }

    #[test]
    fn products_and_movements_give_vat_currencies_and_warehouses() {
        let mut obs = observed(
            Resource::CustomerProducts,
            &format!("{}{}", product(1, "KIT-1", 607, 41), product(2, "", 607, 42)),
        );
        assert_eq!(obs.vat[&607].products, 2);
        assert_eq!(obs.vat[&607].examples, ["KIT-1", "id 2"]);
        assert_eq!(obs.currencies[&42].examples, ["id 2"]);
        obs.add_page(
            Resource::StockMovements,
            &page(
                "stock_movements",
                &format!("{}{}", movement(5, Some(1), Some(2)), movement(6, None, Some(2))),
            ),
        )
        .unwrap();
        assert_eq!(obs.warehouses[&1].count, 1);
        assert_eq!(obs.warehouses[&2].count, 2);
        assert_eq!(obs.warehouses[&2].examples, ["movement 5", "movement 6"]);
    }

    #[test]
    fn examples_are_capped_and_references_give_their_letters() {
        let mut seen = Seen::default();
        for e in ["a", "a", "", "b", "c", "d"] {
            seen.add(e.to_string());
        }
        assert_eq!(seen.count, 6);
        assert_eq!(seen.examples, ["a", "b", "c"]);
        assert_eq!(reference_prefix("BL3-4"), "BL");
        assert_eq!(reference_prefix("C00012"), "C");
        assert_eq!(reference_prefix("42"), "");
        assert_eq!(example_of(&Some(" ".into()), &Some("Title".into()), 7), "Title");
        assert_eq!(example_of(&None, &None, 7), "id 7");
    }
}
