//! The account listing: the request that lists the business files some
//! credentials reach, and the reader of its answer.

use serde::Serialize;

use crate::http::{Auth, ConnectionConfig, HttpError, Method, Request, RequestSpec};
use crate::views::ViewError;
use crate::xml::{parse_document, XmlLimits};

/// One business file the credentials can reach (account listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessFile {
    /// Its id (the number in API paths).
    pub id: String,
    /// Its name, when given.
    pub name: Option<String>,
}

/// `GET {server}/account/index/0.xml?target=incwo_erp`: the business files
/// these credentials reach.
pub fn account_listing_request(server: &str, auth: Auth, correlation_id: &str) -> Result<Request, HttpError> {
    let config = ConnectionConfig::new(server, "0", auth, true)?;
    config.build(
        RequestSpec::new(Method::Get, "account", correlation_id)
            .action("index")
            .query(&[("target", "incwo_erp")]),
    )
}

/// Reads the account listing (`<business_files><business_file><id/><name/>…`).
pub fn parse_business_files(xml: &[u8]) -> Result<Vec<BusinessFile>, ViewError> {
    let root = parse_document(xml, XmlLimits::default())?;
    if root.name != "business_files" {
        return Err(ViewError::WrongRoot {
            found: root.name.chars().take(64).collect(),
            expected: "`business_files`".into(),
        });
    }
    root.children_named("business_file")
        .enumerate()
        .map(|(i, el)| {
            let id = el
                .child_text("id")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ViewError::MissingElement {
                    path: format!("/business_files/business_file[{}]/id", i + 1),
                    expected: "an integer",
                })?;
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ViewError::ValueFormat {
                    path: format!("/business_files/business_file[{}]/id", i + 1),
                    expected: "an integer",
                });
            }
            Ok(BusinessFile {
                id: id.to_string(),
                name: el.child_text("name").map(str::to_string).filter(|n| !n.is_empty()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::test_support::page;
    use crate::discover::Observations;
    use crate::views::Resource;

    #[test]
    fn wrong_pages_and_listings_are_view_errors() {
        let mut obs = Observations::new();
        assert!(obs.add_page(Resource::Firms, &page("firms", "")).is_err());
        assert!(obs.add_page(Resource::BillSheets, b"<html>").is_err());
        let files = parse_business_files(
            b"<business_files type=\"array\"><business_file><id>123456</id><name>Demo</name></business_file><business_file><id>7</id><name/></business_file></business_files>",
        )
        .unwrap();
        assert_eq!(
            files[0],
            BusinessFile {
                id: "123456".into(),
                name: Some("Demo".into())
            }
        );
        assert_eq!(files[1].name, None);
        assert!(parse_business_files(b"<firms/>").is_err());
        assert!(
            parse_business_files(b"<business_files><business_file><id>x</id></business_file></business_files>")
                .is_err()
        );
        let r = account_listing_request(
            "https://www.incwo.com",
            Auth::basic("a", "b"),
            "0f8fad5b-d9cb-469f-a165-70867728950e",
        )
        .unwrap();
        assert_eq!(r.url(), "https://www.incwo.com/account/index/0.xml?target=incwo_erp");
    }
}
