//! An in-process fake incwo: takes `incwo_core::http::Request`s and answers
//! `Response`s in incwo's XML shape, as `tests/sim` does over HTTP (201 with
//! the created object, list pages of 20 with `<pagination>`, partial PUT,
//! totals recomputed from the lines with VAT per rate, stock per product,
//! 404 on an unknown id, 422 `<errors>` on an invalid body). It keeps every
//! object so tests assert incwo's state, counts creates per marker, and
//! injects faults by method / resource / count.
//!
//! Its XML reading uses the core's hardened reader (a tree of elements); its
//! rules (totals, validation, ids) are written here, independently of the
//! core's mappers.

#![allow(dead_code, clippy::unnecessary_map_or)]

use incwo_core::errors::{TransportFailure, TransportKind, TransportPhase};
use incwo_core::http::{Method, Request, Response};
use incwo_core::xml::{parse_document, Element, XmlLimits};
use rust_decimal::prelude::*;
use rust_decimal::RoundingStrategy;
use std::collections::BTreeMap;

/// Page size of list pages.
pub const PAGE_SIZE: usize = 20;

/// The resources the fake serves, with their singular, id base and marker.
pub const RESOURCES: [(&str, &str, u64, Option<&str>); 7] = [
    ("firms", "firm", 100_000, Some("accounting_ref")),
    ("contacts", "contact", 200_000, None),
    ("customer_products", "customer_product", 300_000, Some("reference")),
    ("proposal_sheets", "proposal_sheet", 400_000, Some("title")),
    ("bill_sheets", "bill_sheet", 500_000, Some("title")),
    ("stock_movements", "stock_movement", 600_000, Some("comment")),
    ("cash_deposits", "cash_deposit", 700_000, None),
];

fn singular(resource: &str) -> Option<&'static str> {
    RESOURCES.iter().find(|r| r.0 == resource).map(|r| r.1)
}

fn marker_field(resource: &str) -> Option<&'static str> {
    RESOURCES.iter().find(|r| r.0 == resource).and_then(|r| r.3)
}

/// VAT id → rate.
pub fn vat_rate(id: &str) -> Option<Decimal> {
    let rate = match id.trim() {
        "607" => "0.20",
        "552" => "0.10",
        "223" => "0.055",
        "222" => "0.021",
        "225" => "0",
        "224" => "0.196",
        _ => return None,
    };
    Decimal::from_str(rate).ok()
}

fn round2(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// One stored object: its leaf fields (in insertion order of first write)
/// and, for sheets, its lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object {
    /// incwo id.
    pub id: u64,
    /// Leaf fields, text as written (computed ones included).
    pub fields: BTreeMap<String, String>,
    /// Lines of a sheet (leaf fields each).
    pub lines: Vec<BTreeMap<String, String>>,
}

impl Object {
    /// A field's text.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A decimal field.
    pub fn decimal(&self, name: &str) -> Option<Decimal> {
        self.get(name).and_then(|v| Decimal::from_str(v).ok())
    }

    /// A numeric field.
    pub fn number(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// The client times out while connecting: nothing written, `timeout`
    /// in phase `connect`.
    TimeoutBeforeSend,
    /// The TLS handshake fails: nothing written, `tls` in phase `tls_handshake`.
    TlsHandshakeRefused,
    /// Committed, then the client times out (phase `sent`).
    TimeoutAfterCommit,
    /// Committed, then the connection is reset (phase `sent`).
    ResetAfterCommit,
    /// Committed, then the TLS stream breaks (no close_notify): `tls` in
    /// phase `sent`, the post-send TLS error hosts used to read as "not sent".
    TlsResetAfterCommit,
    /// Committed, then a failure whose phase the host cannot tell (workerd's
    /// opaque fetch errors): `reset` with no phase, i.e. `unknown`.
    UnknownAfterCommit,
    /// The connection is reset before incwo handles it (phase `sent`, nothing written).
    ResetBeforeCommit,
    /// A failure whose phase the host cannot tell, before incwo handled it
    /// (phase `unknown`, nothing written).
    UnknownBeforeCommit,
    /// An HTTP error status (5xx…), nothing written.
    Status(u16),
    /// An HTTP error status after the write was committed.
    StatusAfterCommit(u16),
    /// 429 with `Retry-After` seconds, nothing written.
    RateLimit(u64),
    /// A refusal: this 4xx status (400/422 contract, 404/409 business) with
    /// an incwo `<errors>` body, nothing written.
    Refuse(u16),
}

/// A fault rule: fires on matching requests after `skip` of them, at most `times`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Method filter.
    pub method: Option<Method>,
    /// Resource filter.
    pub resource: Option<String>,
    /// Only requests naming an id (`Some(true)`) or not (`Some(false)`).
    pub with_id: Option<bool>,
    /// Matching requests let through first.
    pub skip: u32,
    /// Most firings.
    pub times: u32,
    /// What happens.
    pub kind: FaultKind,
    seen: u32,
    fired: u32,
}

impl Fault {
    /// A rule firing once on the first matching request.
    pub fn new(method: Option<Method>, resource: Option<&str>, kind: FaultKind) -> Self {
        Self {
            method,
            resource: resource.map(str::to_string),
            with_id: None,
            skip: 0,
            times: 1,
            kind,
            seen: 0,
            fired: 0,
        }
    }

    /// Lets `skip` matching requests through first.
    pub fn skip(mut self, skip: u32) -> Self {
        self.skip = skip;
        self
    }

    /// Fires at most `times` times.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Only on requests naming an id (or not).
    pub fn with_id(mut self, with_id: bool) -> Self {
        self.with_id = Some(with_id);
        self
    }
}

/// A parsed request path.
#[derive(Debug, Clone)]
struct Target {
    resource: String,
    id: Option<String>,
    page: usize,
}

fn parse_target(url: &str, business_file: &str) -> Option<Target> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = after_scheme.split_once('/').map(|(_, p)| p)?;
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut segments = path.split('/');
    if segments.next()? != business_file {
        return None;
    }
    let rest: Vec<&str> = segments.collect();
    let (resource, id) = match rest.as_slice() {
        [file] => (file.strip_suffix(".xml")?.to_string(), None),
        [resource, file] => (resource.to_string(), Some(file.strip_suffix(".xml")?.to_string())),
        _ => return None,
    };
    let page = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(1);
    Some(Target { resource, id, page })
}

/// A log line of what the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Method.
    pub method: Method,
    /// Endpoint template.
    pub endpoint: String,
    /// What happened: the status, or the fault.
    pub result: String,
}

/// A body read: leaf fields and, when the body has a line list, its lines.
type Body = (BTreeMap<String, String>, Option<Vec<BTreeMap<String, String>>>);

/// The fake incwo.
#[derive(Debug, Clone)]
pub struct FakeIncwo {
    /// Business file id in paths.
    pub business_file: String,
    /// Objects by resource, by id.
    pub objects: BTreeMap<String, BTreeMap<u64, Object>>,
    next_ids: BTreeMap<String, u64>,
    next_line_id: u64,
    /// Creates per (resource, marker).
    pub creates: BTreeMap<(String, String), u32>,
    /// Stock per product id.
    pub stock: BTreeMap<u64, Decimal>,
    /// Fault rules, in insertion order.
    pub faults: Vec<Fault>,
    /// Every request received.
    pub log: Vec<Received>,
    references: BTreeMap<String, u64>,
    /// Objects someone else created in incwo (resource, id): not the
    /// connector's, so the ledger need not know them.
    pub foreign: std::collections::BTreeSet<(String, u64)>,
    /// List pages in an order that is not by ascending id (a seeded
    /// shuffle), as an account whose list order changed would serve them.
    pub scrambled: bool,
    /// Changes made in incwo by someone else, each before the request of
    /// its number (counted from 0 over `log`) is served.
    pub churn: Vec<(usize, Churn)>,
    /// When each marker first appeared: the number of requests received
    /// before, by (resource, marker).
    pub born: BTreeMap<(String, String), usize>,
}

/// A change someone else makes in incwo while the connector works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Churn {
    /// Creates an object of `resource` with `marker` (unless an object
    /// already carries it), or with no marker.
    Create(&'static str, Option<String>),
    /// Deletes the `n`-th foreign object of `resource` (modulo their count),
    /// shifting later objects one place towards the first page.
    Delete(&'static str, u64),
    /// Lists come in a shuffled order from now on.
    Scramble,
}

impl Default for FakeIncwo {
    fn default() -> Self {
        Self::new("123456")
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn errors_body(errors: &[(Option<String>, String)]) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors>\n");
    for (field, text) in errors {
        match field {
            Some(f) => out.push_str(&format!(
                "  <error field=\"{}\">{}</error>\n",
                xml_escape(f),
                xml_escape(text)
            )),
            None => out.push_str(&format!("  <error>{}</error>\n", xml_escape(text))),
        }
    }
    out.push_str("</errors>\n");
    out.into_bytes()
}

fn xml_response(status: u16, body: String) -> Response {
    Response::new(
        status,
        vec![("Content-Type".to_string(), "application/xml; charset=utf-8".to_string())],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}").into_bytes(),
    )
}

fn html_error(status: u16) -> Response {
    Response::new(
        status,
        vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        format!("<!DOCTYPE html><html><body><h1>We're sorry, but something went wrong ({status}).</h1></body></html>")
            .into_bytes(),
    )
}

/// Read-only fields of a resource (ignored in bodies, computed by incwo).
fn is_computed(singular: &str, field: &str) -> bool {
    let sheet = matches!(singular, "proposal_sheet" | "bill_sheet");
    match field {
        "id" | "created_at" | "updated_at" | "modified_at" => true,
        "vat_exl_total" | "vat_cost" | "vat_inc_total" | "reference" | "reference_index" | "progress_prev_id" => sheet,
        "total_stock" => singular == "customer_product",
        _ => false,
    }
}

impl FakeIncwo {
    /// An empty incwo for business file `business_file`.
    pub fn new(business_file: &str) -> Self {
        Self {
            business_file: business_file.to_string(),
            objects: BTreeMap::new(),
            next_ids: BTreeMap::new(),
            next_line_id: 900_000,
            creates: BTreeMap::new(),
            stock: BTreeMap::new(),
            faults: Vec::new(),
            log: Vec::new(),
            references: BTreeMap::new(),
            foreign: Default::default(),
            scrambled: false,
            churn: Vec::new(),
            born: BTreeMap::new(),
        }
    }

    /// Someone else creates an object of `resource` in incwo, with `marker`
    /// or none; its id, or `None` when an object already carries the marker.
    pub fn add_foreign(&mut self, resource: &'static str, marker: Option<&str>) -> Option<u64> {
        let field = marker_field(resource);
        if let (Some(m), Some(_)) = (marker, field) {
            if !self.by_marker(resource, m).is_empty() {
                return None;
            }
        }
        let base = RESOURCES.iter().find(|r| r.0 == resource).map_or(0, |r| r.2);
        let next = self.next_ids.entry(resource.into()).or_insert(base);
        *next += 1;
        let id = *next;
        let mut fields: Vec<(String, String)> = match resource {
            "firms" => vec![("name".into(), format!("Société {id}"))],
            "customer_products" => vec![
                ("name".into(), format!("Article {id}")),
                ("is_active".into(), "1".into()),
            ],
            "proposal_sheets" => vec![
                ("sheet_type".into(), "order".into()),
                ("progress_id".into(), "555".into()),
            ],
            _ => vec![],
        };
        if let (Some(m), Some(f)) = (marker, field) {
            fields.push((f.into(), m.into()));
            self.born
                .entry((resource.to_string(), m.to_string()))
                .or_insert(self.log.len());
        }
        let o = Object {
            id,
            fields: fields.into_iter().collect(),
            lines: Vec::new(),
        };
        self.objects.entry(resource.into()).or_default().insert(id, o);
        self.foreign.insert((resource.to_string(), id));
        Some(id)
    }

    /// Someone else deletes the `n`-th foreign object of `resource` (modulo
    /// their count); its id, if there was one.
    /// Objects carrying a marker the batch uses (adopted by the connector)
    /// are left alone: deleting what the ledger knows is outside this model.
    pub fn delete_foreign(&mut self, resource: &str, n: u64) -> Option<u64> {
        let field = marker_field(resource).unwrap_or("-");
        let ids: Vec<u64> = self
            .foreign
            .iter()
            .filter(|(r, _)| r == resource)
            .map(|(_, id)| *id)
            .filter(|id| {
                self.objects
                    .get(resource)
                    .and_then(|m| m.get(id))
                    .and_then(|o| o.get(field))
                    .map_or(true, |m| m.starts_with("EXT-"))
            })
            .collect();
        let id = *ids.get((n % ids.len().max(1) as u64) as usize)?;
        self.objects.get_mut(resource).and_then(|m| m.remove(&id));
        self.foreign.remove(&(resource.to_string(), id));
        Some(id)
    }

    fn apply_churn(&mut self) {
        let at = self.log.len();
        let due: Vec<Churn> = self
            .churn
            .iter()
            .filter(|(n, _)| *n == at)
            .map(|(_, c)| c.clone())
            .collect();
        for change in due {
            match change {
                Churn::Create(resource, marker) => {
                    self.add_foreign(resource, marker.as_deref());
                }
                Churn::Delete(resource, n) => {
                    self.delete_foreign(resource, n);
                }
                Churn::Scramble => self.scrambled = true,
            }
        }
    }

    /// Adds a fault rule.
    pub fn fault(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Objects of a resource, in id order.
    pub fn all(&self, resource: &str) -> Vec<&Object> {
        self.objects
            .get(resource)
            .map(|m| m.values().collect())
            .unwrap_or_default()
    }

    /// The objects of a resource whose marker is `marker`.
    pub fn by_marker(&self, resource: &str, marker: &str) -> Vec<&Object> {
        let Some(field) = marker_field(resource) else {
            return Vec::new();
        };
        self.all(resource)
            .into_iter()
            .filter(|o| o.get(field) == Some(marker))
            .collect()
    }

    /// The one object of a resource carrying `marker` (panics otherwise: for tests).
    pub fn one(&self, resource: &str, marker: &str) -> &Object {
        let found = self.by_marker(resource, marker);
        assert_eq!(found.len(), 1, "{resource} {marker}: {} objects", found.len());
        found[0]
    }

    /// Markers created more than once: (resource, marker, count).
    pub fn duplicates(&self) -> Vec<(String, String, u32)> {
        self.creates
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((r, m), n)| (r.clone(), m.clone(), *n))
            .collect()
    }

    /// Total creates (POST 201) so far.
    pub fn create_count(&self) -> u32 {
        self.creates.values().sum()
    }

    /// A product's stock by SKU.
    pub fn stock_of(&self, sku: &str) -> Decimal {
        self.by_marker("customer_products", sku)
            .first()
            .and_then(|p| self.stock.get(&p.id).copied())
            .unwrap_or_default()
    }

    /// Requests received with a method and endpoint template.
    pub fn count(&self, method: Method, endpoint: &str) -> usize {
        self.log
            .iter()
            .filter(|r| r.method == method && r.endpoint == endpoint)
            .count()
    }

    fn pick_fault(&mut self, method: Method, target: &Target) -> Option<FaultKind> {
        // Every matching rule counts the request; the first that fires wins.
        let mut chosen = None;
        for rule in &mut self.faults {
            let matches = rule.method.map_or(true, |m| m == method)
                && rule.resource.as_ref().map_or(true, |r| *r == target.resource)
                && rule.with_id.map_or(true, |w| w == target.id.is_some());
            if !matches {
                continue;
            }
            rule.seen += 1;
            if chosen.is_none() && rule.seen > rule.skip && rule.fired < rule.times {
                rule.fired += 1;
                chosen = Some(rule.kind);
            }
        }
        chosen
    }

    /// Handles a request: a response, or the transport failure the host sees.
    pub fn handle(&mut self, request: &Request) -> Result<Response, TransportFailure> {
        self.apply_churn();
        let method = request.method();
        let endpoint = request.endpoint().to_string();
        let Some(target) = parse_target(request.url(), &self.business_file) else {
            self.log.push(Received {
                method,
                endpoint,
                result: "404".into(),
            });
            return Ok(xml_response(404, "<errors><error>not found</error></errors>".into()));
        };
        let fault = self.pick_fault(method, &target);
        let failure = |kind, phase| Err(TransportFailure { kind, phase });
        let (result, label) = match fault {
            Some(FaultKind::TimeoutBeforeSend) => (
                failure(TransportKind::Timeout, TransportPhase::Connect),
                "timeout_before_send".into(),
            ),
            Some(FaultKind::TlsHandshakeRefused) => (
                failure(TransportKind::Tls, TransportPhase::TlsHandshake),
                "tls_handshake_refused".into(),
            ),
            Some(FaultKind::ResetBeforeCommit) => (
                failure(TransportKind::Reset, TransportPhase::Sent),
                "reset_before_commit".into(),
            ),
            Some(FaultKind::UnknownBeforeCommit) => (
                failure(TransportKind::Reset, TransportPhase::Unknown),
                "unknown_before_commit".into(),
            ),
            Some(FaultKind::Status(status)) => (Ok(html_error(status)), format!("{status}")),
            Some(FaultKind::Refuse(status)) => {
                let errors = [(
                    Some("title".to_string()),
                    format!("refused by the fault injector ({status})"),
                )];
                let r = Response::new(
                    status,
                    vec![("Content-Type".into(), "application/xml; charset=utf-8".into())],
                    errors_body(&errors),
                );
                (Ok(r), format!("{status}_refused"))
            }
            Some(FaultKind::RateLimit(seconds)) => {
                let mut r = html_error(429);
                r.headers.push(("Retry-After".into(), seconds.to_string()));
                (Ok(r), "429".into())
            }
            Some(FaultKind::TimeoutAfterCommit) => {
                self.serve(method, &target, request.body());
                (
                    failure(TransportKind::Timeout, TransportPhase::Sent),
                    "timeout_after_commit".into(),
                )
            }
            Some(FaultKind::ResetAfterCommit) => {
                self.serve(method, &target, request.body());
                (
                    failure(TransportKind::Reset, TransportPhase::Sent),
                    "reset_after_commit".into(),
                )
            }
            Some(FaultKind::TlsResetAfterCommit) => {
                self.serve(method, &target, request.body());
                (
                    failure(TransportKind::Tls, TransportPhase::Sent),
                    "tls_reset_after_commit".into(),
                )
            }
            Some(FaultKind::UnknownAfterCommit) => {
                self.serve(method, &target, request.body());
                (
                    failure(TransportKind::Reset, TransportPhase::Unknown),
                    "unknown_after_commit".into(),
                )
            }
            Some(FaultKind::StatusAfterCommit(status)) => {
                self.serve(method, &target, request.body());
                (Ok(html_error(status)), format!("{status}_after_commit"))
            }
            None => {
                let r = self.serve(method, &target, request.body());
                let label = r.status.to_string();
                (Ok(r), label)
            }
        };
        self.log.push(Received {
            method,
            endpoint,
            result: label,
        });
        result
    }

    fn serve(&mut self, method: Method, target: &Target, body: &[u8]) -> Response {
        let Some(singular) = singular(&target.resource) else {
            return xml_response(404, "<errors><error>unknown resource</error></errors>".into());
        };
        let id = match &target.id {
            Some(text) => match text.parse::<u64>() {
                Ok(id) => Some(id),
                Err(_) => return xml_response(404, "<errors><error>not found</error></errors>".into()),
            },
            None => None,
        };
        match (method, id) {
            (Method::Get, None) => self.list(&target.resource, singular, target.page),
            (Method::Get, Some(id)) => match self.objects.get(&target.resource).and_then(|m| m.get(&id)) {
                Some(o) => xml_response(200, self.render(&target.resource, singular, o)),
                None => xml_response(404, "<errors><error>not found</error></errors>".into()),
            },
            (Method::Post, None) => self.create(&target.resource, singular, body),
            (Method::Put, Some(id)) => self.update(&target.resource, singular, id, body),
            (Method::Delete, Some(id)) => {
                let removed = self.objects.get_mut(&target.resource).and_then(|m| m.remove(&id));
                match removed {
                    Some(o) => {
                        if target.resource == "stock_movements" {
                            self.apply_movement(&o, -Decimal::ONE);
                        }
                        Response::new(200, vec![], Vec::new())
                    }
                    None => xml_response(404, "<errors><error>not found</error></errors>".into()),
                }
            }
            _ => Response::new(405, vec![], Vec::new()),
        }
    }

    fn list(&self, resource: &str, singular: &str, page: usize) -> Response {
        let mut all = self.all(resource);
        if self.scrambled {
            all.sort_by_key(|o| incwo_core::retry::splitmix64(o.id));
        }
        let total_pages = all.len().div_ceil(PAGE_SIZE).max(1);
        let items: Vec<&&Object> = all.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
        let mut out = format!(
            "<{resource} type=\"array\"><pagination><current_page>{page}</current_page><total_pages>{total_pages}</total_pages><current_page_items_count>{}</current_page_items_count></pagination>",
            items.len()
        );
        for o in items {
            out.push_str(&self.render(resource, singular, o));
        }
        out.push_str(&format!("</{resource}>"));
        xml_response(200, out)
    }

    fn render(&self, resource: &str, singular: &str, o: &Object) -> String {
        let mut out = format!("<{singular}><id>{}</id>", o.id);
        for (k, v) in &o.fields {
            out.push_str(&format!("<{k}>{}</{k}>", xml_escape(v)));
        }
        if resource == "customer_products" {
            let stock = self.stock.get(&o.id).copied().unwrap_or_default();
            out.push_str(&format!("<total_stock>{}</total_stock>", stock.normalize()));
        }
        let wrapper = match resource {
            "proposal_sheets" => Some(("proposal_lines", "proposal_line")),
            "bill_sheets" => Some(("bill_lines", "bill_line")),
            _ => None,
        };
        if let Some((wrapper, line)) = wrapper {
            out.push_str(&format!("<{wrapper}>"));
            for l in &o.lines {
                out.push_str(&format!("<{line}>"));
                for (k, v) in l {
                    out.push_str(&format!("<{k}>{}</{k}>", xml_escape(v)));
                }
                out.push_str(&format!("</{line}>"));
            }
            out.push_str(&format!("</{wrapper}>"));
        }
        out.push_str(&format!("</{singular}>"));
        out
    }

    /// Reads a body into leaf fields and lines, or the 422 errors.
    fn read_body(&self, singular: &str, body: &[u8]) -> Result<Body, Vec<(Option<String>, String)>> {
        let root = parse_document(body, XmlLimits::default()).map_err(|e| vec![(None, e.to_string())])?;
        if root.name != singular {
            return Err(vec![(
                None,
                format!("the root element must be <{singular}>, not <{}>", root.name),
            )]);
        }
        let mut fields = BTreeMap::new();
        let mut lines = None;
        for child in &root.children {
            let is_lines = matches!(child.name.as_str(), "proposal_lines" | "bill_lines");
            if is_lines {
                let mut out = Vec::new();
                for line in &child.children {
                    let mut l = BTreeMap::new();
                    for f in &line.children {
                        if f.children.is_empty()
                            && !matches!(
                                f.name.as_str(),
                                "id" | "total_price" | "vat_value" | "total_price_with_taxes"
                            )
                        {
                            l.insert(f.name.clone(), f.text.clone());
                        }
                    }
                    out.push(l);
                }
                lines = Some(out);
            } else if child.children.is_empty() && !is_computed(singular, &child.name) {
                fields.insert(child.name.clone(), child.text.clone());
            }
        }
        Ok((fields, lines))
    }

    fn validate(&self, resource: &str, o: &Object) -> Vec<(Option<String>, String)> {
        let mut errors = Vec::new();
        let mut required = |name: &str| {
            if o.get(name).map_or(true, |v| v.trim().is_empty()) {
                errors.push((Some(name.to_string()), "can't be blank".to_string()));
            }
        };
        match resource {
            "firms" => required("name"),
            "customer_products" => required("name"),
            "stock_movements" => {
                required("customer_product_id");
                required("quantity");
                required("direction");
            }
            _ => {}
        }
        let exists = |res: &str, id: Option<u64>| {
            id.is_some_and(|id| self.objects.get(res).is_some_and(|m| m.contains_key(&id)))
        };
        if matches!(resource, "proposal_sheets" | "bill_sheets") {
            let firm = o.number("firm_id").filter(|id| *id != 0);
            if firm.is_none() && o.number("contact_id").filter(|id| *id != 0).is_none() {
                errors.push((None, "a document needs a firm or a contact".into()));
            } else if firm.is_some() && !exists("firms", firm) {
                errors.push((
                    Some("firm_id".into()),
                    format!("does not exist (firm {})", firm.unwrap_or(0)),
                ));
            }
            let wrapper = if resource == "proposal_sheets" {
                "proposal_lines"
            } else {
                "bill_lines"
            };
            for (i, l) in o.lines.iter().enumerate() {
                for name in ["quantity", "unit_price"] {
                    if let Some(v) = l.get(name) {
                        if Decimal::from_str(v).is_err() {
                            errors.push((Some(format!("{wrapper}[{i}].{name}")), "is not a number".into()));
                        }
                    }
                }
                if let Some(v) = l.get("vat_value_id") {
                    if vat_rate(v).is_none() {
                        errors.push((
                            Some(format!("{wrapper}[{i}].vat_value_id")),
                            "is not a known VAT".into(),
                        ));
                    }
                }
                if let Some(p) = l
                    .get("customer_product_id")
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|p| *p != 0)
                {
                    if !exists("customer_products", Some(p)) {
                        errors.push((
                            Some(format!("{wrapper}[{i}].customer_product_id")),
                            "does not exist".into(),
                        ));
                    }
                }
            }
        }
        if resource == "stock_movements" {
            if let Some(p) = o.number("customer_product_id") {
                if !exists("customer_products", Some(p)) {
                    errors.push((
                        Some("customer_product_id".into()),
                        format!("does not exist (product {p})"),
                    ));
                }
            }
            match o.decimal("quantity") {
                Some(q) if q > Decimal::ZERO => {}
                _ => errors.push((Some("quantity".into()), "must be greater than 0".into())),
            }
            if !matches!(o.get("direction"), Some("1" | "-1")) {
                errors.push((Some("direction".into()), "must be 1 or -1".into()));
            }
        }
        if resource == "customer_products" {
            if let Some(v) = o.get("vat_id") {
                if vat_rate(v).is_none() {
                    errors.push((Some("vat_id".into()), "is not a known VAT".into()));
                }
            }
        }
        errors
    }

    /// Recomputes a sheet's totals from its lines (VAT per rate).
    fn compute(o: &mut Object) {
        let mut excl = Decimal::ZERO;
        let mut by_rate: BTreeMap<String, Decimal> = BTreeMap::new();
        for (i, l) in o.lines.iter_mut().enumerate() {
            let qty = l
                .get("quantity")
                .and_then(|v| Decimal::from_str(v).ok())
                .unwrap_or(Decimal::ONE);
            let price = l
                .get("unit_price")
                .and_then(|v| Decimal::from_str(v).ok())
                .unwrap_or_default();
            let vat_id = l.get("vat_value_id").cloned().unwrap_or_else(|| "607".into());
            let rate = vat_rate(&vat_id).unwrap_or_default();
            let total = round2(qty * price);
            excl += total;
            *by_rate.entry(vat_id.clone()).or_default() += total;
            l.insert("total_price".into(), total.to_string());
            l.insert("vat_value".into(), round2(total * rate).to_string());
            l.insert(
                "total_price_with_taxes".into(),
                round2(total + round2(total * rate)).to_string(),
            );
            l.entry("ordering".into())
                .or_insert_with(|| ((i + 1) * 100).to_string());
        }
        let vat: Decimal = by_rate
            .iter()
            .map(|(id, base)| round2(*base * vat_rate(id).unwrap_or_default()))
            .sum();
        o.fields.insert("vat_exl_total".into(), round2(excl).to_string());
        o.fields.insert("vat_cost".into(), round2(vat).to_string());
        o.fields.insert("vat_inc_total".into(), round2(excl + vat).to_string());
    }

    fn apply_movement(&mut self, o: &Object, sign: Decimal) {
        let (Some(product), Some(qty)) = (o.number("customer_product_id"), o.decimal("quantity")) else {
            return;
        };
        let direction = if o.get("direction") == Some("-1") {
            -Decimal::ONE
        } else {
            Decimal::ONE
        };
        *self.stock.entry(product).or_default() += qty * direction * sign;
    }

    fn numbering(&mut self, resource: &str, o: &mut Object) {
        let prefix = match (resource, o.get("sheet_type").unwrap_or("")) {
            ("proposal_sheets", "proposal") => "D",
            ("proposal_sheets", "order") => "C",
            ("proposal_sheets", _) => "BL",
            ("bill_sheets", "invoice") => "F",
            ("bill_sheets", "credit") => "A",
            _ => return,
        };
        if o.get("reference").is_some_and(|r| !r.is_empty()) {
            return;
        }
        let n = self.references.entry(prefix.into()).or_insert(0);
        *n += 1;
        o.fields.insert("reference".into(), format!("{prefix}{:05}", *n));
    }

    fn create(&mut self, resource: &str, singular: &str, body: &[u8]) -> Response {
        let (mut fields, lines) = match self.read_body(singular, body) {
            Ok(x) => x,
            Err(errors) => return Response::new(422, vec![], errors_body(&errors)),
        };
        if matches!(resource, "proposal_sheets" | "bill_sheets") {
            fields
                .entry("progress_id".into())
                .or_insert_with(|| if resource == "proposal_sheets" { "555" } else { "0" }.into());
        }
        if resource == "customer_products" {
            fields.entry("is_active".into()).or_insert_with(|| "1".into());
            fields.entry("currency_id".into()).or_insert_with(|| "58".into());
        }
        let mut o = Object {
            id: 0,
            fields,
            lines: lines.unwrap_or_default(),
        };
        let errors = self.validate(resource, &o);
        if !errors.is_empty() {
            return Response::new(422, vec![], errors_body(&errors));
        }
        let base = RESOURCES.iter().find(|r| r.0 == resource).map_or(0, |r| r.2);
        let next = self.next_ids.entry(resource.into()).or_insert(base);
        *next += 1;
        o.id = *next;
        for l in &mut o.lines {
            self.next_line_id += 1;
            l.insert("id".into(), self.next_line_id.to_string());
        }
        if matches!(resource, "proposal_sheets" | "bill_sheets") {
            Self::compute(&mut o);
            self.numbering(resource, &mut o);
        }
        if resource == "stock_movements" {
            self.apply_movement(&o.clone(), Decimal::ONE);
        }
        if let Some(field) = marker_field(resource) {
            if let Some(marker) = o.get(field).filter(|m| !m.is_empty()) {
                *self
                    .creates
                    .entry((resource.to_string(), marker.to_string()))
                    .or_default() += 1;
                self.born
                    .entry((resource.to_string(), marker.to_string()))
                    .or_insert(self.log.len());
            }
        }
        let rendered = self.render(resource, singular, &o);
        let id = o.id;
        self.objects.entry(resource.into()).or_default().insert(id, o);
        let mut r = xml_response(201, rendered);
        r.headers.push((
            "Location".into(),
            format!("/{}/{resource}/{id}.xml", self.business_file),
        ));
        r
    }

    fn update(&mut self, resource: &str, singular: &str, id: u64, body: &[u8]) -> Response {
        let Some(current) = self.objects.get(resource).and_then(|m| m.get(&id)).cloned() else {
            return xml_response(404, "<errors><error>not found</error></errors>".into());
        };
        let (fields, lines) = match self.read_body(singular, body) {
            Ok(x) => x,
            Err(errors) => return Response::new(422, vec![], errors_body(&errors)),
        };
        let mut o = current.clone();
        if resource == "proposal_sheets" {
            if let (Some(old), Some(new)) = (current.get("sheet_type"), fields.get("sheet_type")) {
                if old != new {
                    return Response::new(
                        422,
                        vec![],
                        errors_body(&[(Some("sheet_type".into()), "cannot be changed".into())]),
                    );
                }
            }
        }
        if resource == "bill_sheets" {
            let final_now = matches!(current.get("sheet_type"), Some("invoice" | "credit"));
            let to_draft = matches!(
                fields.get("sheet_type").map(String::as_str),
                Some("invoice_maybe" | "credit_maybe")
            );
            if final_now && (to_draft || lines.is_some()) {
                return Response::new(
                    422,
                    vec![],
                    errors_body(&[(None, "a final bill sheet cannot be changed".into())]),
                );
            }
        }
        if let Some(new) = fields.get("progress_id") {
            if current.get("progress_id") != Some(new.as_str()) {
                o.fields.insert(
                    "progress_prev_id".into(),
                    current.get("progress_id").unwrap_or("0").to_string(),
                );
            }
        }
        for (k, v) in fields {
            o.fields.insert(k, v);
        }
        if let Some(lines) = lines {
            o.lines = lines;
            for l in &mut o.lines {
                self.next_line_id += 1;
                l.insert("id".into(), self.next_line_id.to_string());
            }
        }
        let errors = self.validate(resource, &o);
        if !errors.is_empty() {
            return Response::new(422, vec![], errors_body(&errors));
        }
        if matches!(resource, "proposal_sheets" | "bill_sheets") {
            Self::compute(&mut o);
            self.numbering(resource, &mut o);
        }
        if resource == "stock_movements" {
            self.apply_movement(&current, -Decimal::ONE);
            self.apply_movement(&o.clone(), Decimal::ONE);
        }
        let rendered = self.render(resource, singular, &o);
        self.objects.entry(resource.into()).or_default().insert(id, o);
        xml_response(200, rendered)
    }
}

/// Parses an XML body the fake answered (for tests that read it).
pub fn parse(body: &[u8]) -> Option<Element> {
    parse_document(body, XmlLimits::default()).ok()
}
