//! What a call is: its HTTP method, the operation it performs (create, read,
//! update, delete, list) and its call site (method, endpoint template,
//! operation, correlation id), the labels metrics, errors and retry decisions
//! are keyed on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// HTTP method. JSON: `"GET"`, `"POST"`, `"PUT"`, `"DELETE"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read one record or a list page.
    Get,
    /// Create (incwo's POST is not idempotent).
    Post,
    /// Partial update.
    Put,
    /// Delete.
    Delete,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// True for methods that may change state (POST, PUT, DELETE).
    pub fn is_write(self) -> bool {
        !matches!(self, Method::Get)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a call does, derived from the method and the path shape (with or
/// without an id). Used as a metric label and by retry decisions (a create
/// whose outcome is unknown is reconciled, never blindly repeated).
/// JSON: lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// POST on a collection.
    Create,
    /// GET of one record.
    Read,
    /// PUT of one record, or a POST action on one record.
    Update,
    /// DELETE of one record.
    Delete,
    /// GET of a collection page.
    List,
}

impl Operation {
    /// Derives the operation from the method and whether the path names a record.
    pub fn derive(method: Method, has_id: bool) -> Self {
        match (method, has_id) {
            (Method::Get, false) => Operation::List,
            (Method::Get, true) => Operation::Read,
            (Method::Post, false) => Operation::Create,
            (Method::Post, true) | (Method::Put, _) => Operation::Update,
            (Method::Delete, _) => Operation::Delete,
        }
    }

    /// Derives the operation from the method and an endpoint template
    /// (a template naming a record contains `{id}`).
    pub fn from_endpoint(method: Method, endpoint: &str) -> Self {
        Self::derive(method, endpoint.contains("{id}"))
    }

    /// The lowercase label (`create`, `read`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::List => "list",
        }
    }
}

/// What a classification needs to know about the call that failed: method,
/// endpoint template, operation and correlation id. Built from a
/// [`Request`](crate::http::Request) with [`Request::call_site`](crate::http::Request::call_site) or directly from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSite {
    /// HTTP method.
    pub method: Method,
    /// Endpoint template, e.g. `/bill_sheets/{id}.xml` (never a raw id).
    pub endpoint: String,
    /// Operation derived from method and template.
    pub operation: Operation,
    /// Correlation id of the call, when known.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl CallSite {
    /// A call site from a method and an endpoint template; the operation is derived.
    pub fn new(method: Method, endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        Self {
            method,
            operation: Operation::from_endpoint(method, &endpoint),
            endpoint,
            correlation_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_follow_method_and_shape() {
        assert_eq!(Operation::from_endpoint(Method::Get, "/firms.xml"), Operation::List);
        assert_eq!(
            Operation::from_endpoint(Method::Get, "/firms/{id}.xml"),
            Operation::Read
        );
        assert_eq!(Operation::from_endpoint(Method::Post, "/firms.xml"), Operation::Create);
        assert_eq!(
            Operation::from_endpoint(Method::Put, "/firms/{id}.xml"),
            Operation::Update
        );
        assert_eq!(
            Operation::from_endpoint(Method::Delete, "/firms/{id}.xml"),
            Operation::Delete
        );
    }

    #[test]
    fn methods_read_as_the_wire_and_json_names() {
        for (method, text, write) in [
            (Method::Get, "GET", false),
            (Method::Post, "POST", true),
            (Method::Put, "PUT", true),
            (Method::Delete, "DELETE", true),
        ] {
            assert_eq!(method.as_str(), text);
            assert_eq!(method.to_string(), text);
            assert_eq!(method.is_write(), write, "{text}");
            assert_eq!(serde_json::to_value(method).unwrap(), text);
            assert_eq!(serde_json::from_value::<Method>(text.into()).unwrap(), method);
        }
        assert!(serde_json::from_value::<Method>("PATCH".into()).is_err());
        assert_eq!(Operation::derive(Method::Post, true), Operation::Update);
        assert_eq!(serde_json::to_value(Operation::List).unwrap(), "list");
        assert_eq!(Operation::Create.as_str(), "create");
    }

    #[test]
    fn a_call_site_derives_its_operation_from_the_template() {
        let site = CallSite::new(Method::Put, "/bill_sheets/{id}.xml");
        assert_eq!(site.operation, Operation::Update);
        assert_eq!(site.correlation_id, None);
        assert_eq!(
            serde_json::to_value(&site).unwrap(),
            serde_json::json!({"method": "PUT", "endpoint": "/bill_sheets/{id}.xml",
                "operation": "update", "correlationId": null})
        );
        let read: CallSite =
            serde_json::from_value(serde_json::json!({"method": "GET", "endpoint": "/firms.xml", "operation": "list"}))
                .unwrap();
        assert_eq!(read, CallSite::new(Method::Get, "/firms.xml"));
    }
}
