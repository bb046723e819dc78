//! `request`: the JSON façade of the request builder ([`crate::http`]).

use serde::Deserialize;
use serde_json::Value;

use super::args::Args;
use crate::http::{invalid_json, ConnectionConfig, Method, RequestSpec};
use crate::usage::UsageError;

#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Number(u64),
}

impl TextOrNumber {
    fn into_string(self) -> String {
        match self {
            TextOrNumber::Text(t) => t,
            TextOrNumber::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum QueryIn {
    Pairs(Vec<(String, TextOrNumber)>),
    Map(std::collections::BTreeMap<String, TextOrNumber>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequestArgs {
    config: Value,
    method: Method,
    resource: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    id: Option<TextOrNumber>,
    #[serde(default)]
    query: Option<QueryIn>,
    #[serde(default)]
    body: Option<String>,
    correlation_id: String,
    #[serde(default)]
    idempotency_key: Option<String>,
}

fn config_from_json(value: &Value) -> Result<ConnectionConfig, UsageError> {
    ConnectionConfig::from_json(value).map_err(UsageError::from)
}

/// `request`: builds a request from JSON: `{"config": {...}, "method": "GET",
/// "resource": "bill_sheets", "action"?: "list", "id"?: "12" | 12,
/// "query"?: [["page","2"]] | {"page": 2}, "body"?: "<xml…>",
/// "correlationId": "uuid", "idempotencyKey"?: "…"}` → the request's JSON
/// (see [`crate::http::Request`]), or a usage error.
pub(crate) fn request(args: &Value) -> Result<Value, UsageError> {
    let args: RequestArgs = Args::new(args).typed()?;
    let config = config_from_json(&args.config)?;
    let id = args.id.map(TextOrNumber::into_string);
    let query: Vec<(String, String)> = match args.query {
        None => Vec::new(),
        Some(QueryIn::Pairs(pairs)) => pairs.into_iter().map(|(k, v)| (k, v.into_string())).collect(),
        Some(QueryIn::Map(map)) => map.into_iter().map(|(k, v)| (k, v.into_string())).collect(),
    };
    let query_refs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let request = config.build(RequestSpec {
        method: args.method,
        resource: &args.resource,
        action: args.action.as_deref(),
        id: id.as_deref(),
        query: &query_refs,
        body: args.body.unwrap_or_default().into_bytes(),
        correlation_id: &args.correlation_id,
        idempotency_key: args.idempotency_key.as_deref(),
    })?;
    serde_json::to_value(&request).map_err(invalid_json)
}
