//! Adapters, one per domain: build the create / read / update / list-page
//! requests of a domain and read its responses into the typed views. An
//! endpoint change stays inside this module.
//!
//! incwo has no search endpoint, so finding the object the connector wrote
//! (its *marker*: the external id in a chosen field, see
//! [`Domain::marker_field`]) means scanning list pages. [`MarkerSearch`] is
//! that scan as a pure iterator: it names the next page to fetch from the
//! pages seen so far, newest pages first after the first one, bounded by a
//! page budget.

use crate::http::{ConnectionConfig, HttpError, Method, Request, RequestSpec};
use crate::model::Domain;
use crate::views::{self, Item, Page, Parsed, ViewError};

/// What the connector needs to know about an object found in incwo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// incwo id.
    pub id: u64,
    /// `progress_id`, for documents.
    pub progress_id: Option<u64>,
    /// `firm_id`, for documents.
    pub firm_id: Option<u64>,
    /// `sheet_type`, for documents.
    pub sheet_type: Option<String>,
}

/// The adapter of one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adapter {
    domain: Domain,
}

impl Adapter {
    /// The adapter of `domain`.
    pub fn new(domain: Domain) -> Self {
        Self { domain }
    }

    /// POST `/{resource}.xml` with `body`.
    pub fn create(
        &self,
        config: &ConnectionConfig,
        body: &str,
        correlation_id: &str,
        key: Option<&str>,
    ) -> Result<Request, HttpError> {
        let mut spec =
            RequestSpec::new(Method::Post, self.domain.resource(), correlation_id).body(body.as_bytes().to_vec());
        if let Some(key) = key {
            spec = spec.idempotency_key(key);
        }
        config.build(spec)
    }

    /// GET `/{resource}/{id}.xml`.
    pub fn read(&self, config: &ConnectionConfig, id: u64, correlation_id: &str) -> Result<Request, HttpError> {
        let id = id.to_string();
        config.build(RequestSpec::new(Method::Get, self.domain.resource(), correlation_id).id(&id))
    }

    /// PUT `/{resource}/{id}.xml` with the fields to change.
    pub fn update(
        &self,
        config: &ConnectionConfig,
        id: u64,
        body: &str,
        correlation_id: &str,
        key: Option<&str>,
    ) -> Result<Request, HttpError> {
        let id = id.to_string();
        let mut spec = RequestSpec::new(Method::Put, self.domain.resource(), correlation_id)
            .id(&id)
            .body(body.as_bytes().to_vec());
        if let Some(key) = key {
            spec = spec.idempotency_key(key);
        }
        config.build(spec)
    }

    /// GET `/{resource}.xml?page=N`.
    pub fn list_page(&self, config: &ConnectionConfig, page: u32, correlation_id: &str) -> Result<Request, HttpError> {
        let page = page.to_string();
        let query = [("page", page.as_str())];
        config.build(RequestSpec::new(Method::Get, self.domain.resource(), correlation_id).query(&query))
    }

    /// Reads the object of a create, read or update response.
    pub fn parse_one(&self, body: &[u8]) -> Result<Item, ViewError> {
        match views::parse_resource(self.resource(), body)? {
            Parsed::One(item) => Ok(item),
            Parsed::Page(_) => Err(ViewError::WrongRoot {
                found: "a list page".into(),
                expected: self.resource().singular().into(),
            }),
        }
    }

    /// Reads a list page: the objects carrying the domain's marker, and the
    /// page count.
    pub fn parse_page(&self, body: &[u8]) -> Result<(Vec<(String, Found)>, u32), ViewError> {
        let page = match views::parse_resource(self.resource(), body)? {
            Parsed::Page(page) => page,
            Parsed::One(item) => return Ok((self.marked(&item).into_iter().collect(), 1)),
        };
        fn collect<T>(p: views::ListPage<T>, f: impl Fn(T) -> Item) -> (Vec<Item>, u32) {
            (p.items.into_iter().map(f).collect(), p.pagination.total_pages)
        }
        let (items, total) = match page {
            Page::Firms(p) => collect(p, Item::Firm),
            Page::Contacts(p) => collect(p, Item::Contact),
            Page::CustomerProducts(p) => collect(p, Item::CustomerProduct),
            Page::ProposalSheets(p) => collect(p, Item::ProposalSheet),
            Page::BillSheets(p) => collect(p, Item::BillSheet),
            Page::StockMovements(p) => collect(p, Item::StockMovement),
            Page::CashDeposits(p) => collect(p, Item::CashDeposit),
        };
        Ok((items.iter().filter_map(|i| self.marked(i)).collect(), total))
    }

    /// The marker and essentials of an object, when it is of this domain.
    pub fn marked(&self, item: &Item) -> Option<(String, Found)> {
        let (marker, id, progress_id, firm_id, sheet_type) = match (self.domain, item) {
            (Domain::Customer, Item::Firm(f)) => (f.accounting_ref.clone(), f.id, None, None, None),
            (Domain::Product, Item::CustomerProduct(p)) => (p.reference.clone(), p.id, None, None, None),
            (Domain::Quote | Domain::Order, Item::ProposalSheet(s)) => {
                (s.title.clone(), s.id, s.progress_id, s.firm_id, s.sheet_type.clone())
            }
            (Domain::Invoice | Domain::CreditNote, Item::BillSheet(s)) => {
                let credit = s.sheet_type.as_deref().is_some_and(|t| t.starts_with("credit"));
                if credit != (self.domain == Domain::CreditNote) {
                    return None;
                }
                (s.title.clone(), s.id, s.progress_id, s.firm_id, s.sheet_type.clone())
            }
            (Domain::StockMovement, Item::StockMovement(m)) => (m.comment.clone(), m.id, None, None, None),
            _ => return None,
        };
        Some((
            marker?,
            Found {
                id,
                progress_id,
                firm_id,
                sheet_type,
            },
        ))
    }

    fn resource(&self) -> views::Resource {
        self.domain.resource().parse().unwrap_or(views::Resource::Firms)
    }
}

/// A bounded scan of list pages for one marker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkerSearch {
    /// The marker looked for.
    pub marker: String,
    /// Pages already read.
    pub pages_read: u32,
    /// Page count, once the first page is read.
    pub total_pages: Option<u32>,
    /// Most pages to read.
    pub max_pages: u32,
}

impl MarkerSearch {
    /// A scan for `marker` reading at most `max_pages` pages.
    pub fn new(marker: &str, max_pages: u32) -> Self {
        Self {
            marker: marker.to_string(),
            pages_read: 0,
            total_pages: None,
            max_pages: max_pages.max(1),
        }
    }

    /// The next page to fetch: page 1, then the last page backwards (recent
    /// objects are most likely there); `None` when the scan is over.
    pub fn next_page(&self) -> Option<u32> {
        if self.pages_read >= self.max_pages {
            return None;
        }
        match self.total_pages {
            None => Some(1),
            Some(total) => {
                let page = total.checked_sub(self.pages_read - 1)?;
                (page >= 2).then_some(page)
            }
        }
    }

    /// Feeds a page read; returns the object carrying the marker, if any.
    pub fn feed(&mut self, items: &[(String, Found)], total_pages: u32) -> Option<Found> {
        self.pages_read += 1;
        if self.total_pages.is_none() {
            self.total_pages = Some(total_pages.max(1));
        }
        items
            .iter()
            .find(|(m, _)| m.trim() == self.marker)
            .map(|(_, f)| f.clone())
    }

    /// Whether the scan stopped at its page budget before reading every page.
    pub fn truncated(&self) -> bool {
        self.total_pages.is_some_and(|t| self.pages_read < t) && self.next_page().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Auth;

    fn config() -> ConnectionConfig {
        ConnectionConfig::new(
            "http://127.0.0.1:9",
            "123456",
            Auth::basic("api@example.fr", "s3cret"),
            false,
        )
        .unwrap()
    }

    #[test]
    fn requests_have_the_documented_paths() {
        let a = Adapter::new(Domain::Invoice);
        let c = config();
        let corr = "6a1c5e2b-4f0d-4b7e-9c3a-1d2e8f40a7b1";
        assert_eq!(
            a.create(&c, "<bill_sheet/>", corr, None).unwrap().url(),
            "http://127.0.0.1:9/123456/bill_sheets.xml"
        );
        assert_eq!(
            a.read(&c, 42, corr).unwrap().url(),
            "http://127.0.0.1:9/123456/bill_sheets/42.xml"
        );
        assert_eq!(a.read(&c, 42, corr).unwrap().endpoint(), "/bill_sheets/{id}.xml");
        assert_eq!(
            a.update(&c, 42, "<bill_sheet/>", corr, None).unwrap().method(),
            Method::Put
        );
        assert_eq!(
            a.list_page(&c, 3, corr).unwrap().url(),
            "http://127.0.0.1:9/123456/bill_sheets.xml?page=3"
        );
    }

    #[test]
    fn marker_search_reads_page_one_then_backwards_within_budget() {
        let mut s = MarkerSearch::new("CMD-1", 3);
        assert_eq!(s.next_page(), Some(1));
        assert_eq!(s.feed(&[], 10), None);
        assert_eq!(s.next_page(), Some(10));
        s.feed(&[], 10);
        assert_eq!(s.next_page(), Some(9));
        let found = Found {
            id: 7,
            progress_id: None,
            firm_id: None,
            sheet_type: None,
        };
        assert_eq!(s.feed(&[("CMD-1".into(), found.clone())], 10), Some(found));
        assert_eq!(s.next_page(), None);
        assert!(s.truncated());
        let mut single = MarkerSearch::new("x", 50);
        single.feed(&[], 1);
        assert_eq!(single.next_page(), None);
        assert!(!single.truncated());
    }

    #[test]
    fn list_pages_yield_markers_of_the_domain_only() {
        let page = br#"<bill_sheets type="array"><pagination><current_page>1</current_page><total_pages>2</total_pages>
            <current_page_items_count>2</current_page_items_count></pagination>
            <bill_sheet><id>1</id><title>F-1</title><sheet_type>invoice_maybe</sheet_type></bill_sheet>
            <bill_sheet><id>2</id><title>F-1-credit</title><sheet_type>credit_maybe</sheet_type></bill_sheet></bill_sheets>"#;
        let (items, total) = Adapter::new(Domain::Invoice).parse_page(page).unwrap();
        assert_eq!(total, 2);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].0, "F-1");
        let (credits, _) = Adapter::new(Domain::CreditNote).parse_page(page).unwrap();
        assert_eq!(credits[0].1.id, 2);
    }
}
