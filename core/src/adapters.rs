//! Adapters, one per domain: build the create / read / update / list-page
//! requests of a domain and read its responses into the typed views. An
//! endpoint change stays inside this module.
//!
//! incwo has no search endpoint, so finding the object the connector wrote
//! (its *marker*: the external id in a chosen field, see
//! [`Domain::marker_field`]) means reading list pages. [`Adapter::parse_page`]
//! reads one into a [`Listing`]: every object's id, in the page's order, and
//! the markers; the flow's marker index (`flow::index`) keeps them so that a
//! lookup reads only what is newer than what it already holds.

use crate::http::{ConnectionConfig, HttpError, Method, Request, RequestSpec};
use crate::model::Domain;
use crate::views::{self, Item, Parsed, ViewError};

/// What the connector needs to know about an object found in incwo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    /// incwo id.
    pub id: u64,
    /// `progress_id`, for documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_id: Option<u64>,
    /// `firm_id`, for documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firm_id: Option<u64>,
    /// `sheet_type`, for documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet_type: Option<String>,
}

/// One list page as the marker index needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// Every object's id, in the page's order (marked or not).
    pub ids: Vec<u64>,
    /// The objects carrying a marker of the resource (every domain of it:
    /// quotes and orders, invoices and credit notes).
    pub marked: Vec<(String, Found)>,
    /// The page count incwo announced (0 for an empty list).
    pub total_pages: u32,
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

    /// GET `/{resource}.xml?page=N` (`&per_page=M` with `per_page`: the page
    /// size to ask for, the profile's `lists.perPage`).
    pub fn list_page(
        &self,
        config: &ConnectionConfig,
        page: u32,
        per_page: Option<u32>,
        correlation_id: &str,
    ) -> Result<Request, HttpError> {
        let (page, per_page) = (page.to_string(), per_page.map(|n| n.to_string()));
        let mut query = vec![("page", page.as_str())];
        query.extend(per_page.as_deref().map(|n| ("per_page", n)));
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

    /// Reads a list page of the domain's resource (see [`Listing`]).
    pub fn parse_page(&self, body: &[u8]) -> Result<Listing, ViewError> {
        let (items, total_pages) = match views::parse_resource(self.resource(), body)? {
            Parsed::Page(page) => page.into_items(),
            Parsed::One(item) => (vec![item], 1),
        };
        let marked = items
            .iter()
            .filter_map(|i| self.marked(i).or_else(|| self.sibling().and_then(|s| s.marked(i))))
            .collect();
        Ok(Listing {
            ids: items.iter().map(Item::id).collect(),
            marked,
            total_pages,
        })
    }

    /// The other domain sharing a bill sheet resource (invoices and credit
    /// notes are told apart by sheet type; quotes and orders later, by
    /// [`Adapter::accepts`]'s caller).
    fn sibling(&self) -> Option<Adapter> {
        match self.domain {
            Domain::Invoice => Some(Adapter::new(Domain::CreditNote)),
            Domain::CreditNote => Some(Adapter::new(Domain::Invoice)),
            _ => None,
        }
    }

    /// Whether an object found on this domain's resource is of this domain:
    /// a credit note and an invoice share `bill_sheets`.
    pub fn accepts(&self, found: &Found) -> bool {
        match self.domain {
            Domain::Invoice | Domain::CreditNote => {
                is_credit(found.sheet_type.as_deref()) == (self.domain == Domain::CreditNote)
            }
            _ => true,
        }
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
                if is_credit(s.sheet_type.as_deref()) != (self.domain == Domain::CreditNote) {
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

/// Whether a bill sheet's type is a credit note's.
fn is_credit(sheet_type: Option<&str>) -> bool {
    sheet_type.is_some_and(|t| t.starts_with("credit"))
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
            a.list_page(&c, 3, None, corr).unwrap().url(),
            "http://127.0.0.1:9/123456/bill_sheets.xml?page=3"
        );
        assert_eq!(
            a.list_page(&c, 3, Some(100), corr).unwrap().url(),
            "http://127.0.0.1:9/123456/bill_sheets.xml?page=3&per_page=100"
        );
    }

    #[test]
    fn list_pages_yield_every_id_and_the_markers_of_the_resource() {
        let page = br#"<bill_sheets type="array"><pagination><current_page>1</current_page><total_pages>2</total_pages>
            <current_page_items_count>2</current_page_items_count></pagination>
            <bill_sheet><id>1</id><title>F-1</title><sheet_type>invoice_maybe</sheet_type></bill_sheet>
            <bill_sheet><id>2</id><title>F-1-credit</title><sheet_type>credit_maybe</sheet_type></bill_sheet></bill_sheets>"#;
        let listing = Adapter::new(Domain::Invoice).parse_page(page).unwrap();
        assert_eq!(listing.total_pages, 2);
        assert_eq!(listing.ids, vec![1, 2]);
        assert_eq!(listing.marked.len(), 2, "invoices and credit notes share the resource");
        let (invoice, credit) = (&listing.marked[0].1, &listing.marked[1].1);
        assert!(Adapter::new(Domain::Invoice).accepts(invoice));
        assert!(!Adapter::new(Domain::Invoice).accepts(credit));
        assert!(Adapter::new(Domain::CreditNote).accepts(credit));
        assert_eq!(listing.marked[1].0, "F-1-credit");
    }
}
