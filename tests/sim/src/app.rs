//! The simulator's shared state and its HTTP handlers: the incwo API under
//! `/{business_file_id}/…` and the admin API under `/_sim/…`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use chrono::{NaiveDateTime, Utc};
use futures_util::StreamExt;
use serde_json::{json, Map, Value as Json};

use crate::faults::{DropMode, Fault, Faults, HandshakeRefusal};
use crate::order::ListOrder;
use crate::requests::{Entry, Requests, LOG_PAGE};
use crate::schema::Resource;
use crate::server::{Abort, ConnCtl};
use crate::store::{Store, WriteError};
use crate::xml::{self, DECLARATION};
use crate::SimConfig;

/// Largest request body accepted (bigger → 413).
const MAX_BODY: usize = 2 * 1024 * 1024;
/// Header carrying the admin token when one is configured.
pub const ADMIN_TOKEN_HEADER: &str = "x-sim-admin-token";

/// Largest `per_page` a list request is answered with.
pub const MAX_PER_PAGE: usize = 100;

/// Outcome counters (request counters are in [`Requests`]).
#[derive(Debug, Default)]
struct Counters {
    creates: BTreeMap<&'static str, u64>,
    updates: BTreeMap<&'static str, u64>,
    deletes: BTreeMap<&'static str, u64>,
    rejected: BTreeMap<&'static str, u64>,
    responses: BTreeMap<u16, u64>,
}

fn bump<K: Ord>(m: &mut BTreeMap<K, u64>, k: K) {
    *m.entry(k).or_insert(0) += 1;
}

/// How list requests are paged; starts from the [`SimConfig`], changed at
/// runtime by `/_sim/config`, restored by a reset.
#[derive(Debug, Clone, Copy)]
struct ListSettings {
    page_size: usize,
    list_order: ListOrder,
    honour_per_page: bool,
}

impl ListSettings {
    fn of(config: &SimConfig) -> ListSettings {
        ListSettings {
            page_size: config.page_size.max(1),
            list_order: config.list_order,
            honour_per_page: config.honour_per_page,
        }
    }

    fn to_json(self) -> Json {
        json!({
            "listOrder": self.list_order.name(),
            "pageSize": self.page_size,
            "honourPerPage": self.honour_per_page,
            "maxPerPage": MAX_PER_PAGE,
        })
    }

    /// Applies `{"listOrder"?, "pageSize"?, "honourPerPage"?}`; nothing
    /// changes when any key is bad.
    fn update(&mut self, v: &Json) -> Result<(), String> {
        let o = v.as_object().ok_or("the settings must be a JSON object")?;
        let mut next = *self;
        for (k, value) in o {
            match k.as_str() {
                "listOrder" => {
                    next.list_order = value
                        .as_str()
                        .and_then(ListOrder::parse)
                        .ok_or("`listOrder` must be \"ascending\" or \"unknown\"")?
                }
                "pageSize" => {
                    next.page_size = value
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|n| *n >= 1)
                        .ok_or("`pageSize` must be an integer of at least 1")?
                }
                "honourPerPage" => {
                    next.honour_per_page = value.as_bool().ok_or("`honourPerPage` must be true or false")?
                }
                other => {
                    return Err(format!(
                        "unknown setting `{other}` (listOrder, pageSize, honourPerPage)"
                    ))
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// Items per page for a list request's query.
    fn page_size_for(self, query: Option<&str>) -> usize {
        let asked = query_param(query, "per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n >= 1);
        match asked {
            Some(n) if self.honour_per_page => n.min(MAX_PER_PAGE),
            _ => self.page_size,
        }
    }
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct Sim {
    config: SimConfig,
    seed: u64,
    settings: ListSettings,
    store: Store,
    faults: Faults,
    counters: Counters,
    requests: Requests,
    /// Id of the object the API request being handled created.
    last_created: Option<u64>,
    webhooks: crate::webhooks::Webhooks,
}

/// Cheaply cloneable handle on the shared state.
#[derive(Debug, Clone)]
pub(crate) struct App(Arc<Mutex<Sim>>);

impl App {
    pub(crate) fn new(config: SimConfig) -> App {
        let seed = config.seed;
        let store = initial_store(&config, seed);
        let tls = config.tls_dir.is_some();
        App(Arc::new(Mutex::new(Sim {
            settings: ListSettings::of(&config),
            config,
            seed,
            store,
            faults: Faults::new(seed, tls),
            counters: Counters::default(),
            requests: Requests::default(),
            last_created: None,
            webhooks: crate::webhooks::Webhooks::default(),
        })))
    }

    /// Bulk-creates objects (`POST /_sim/seed`); answers the id ranges.
    pub(crate) fn seed(&self, v: &Json) -> Result<Json, String> {
        let spec = crate::seed::BulkSeed::from_json(v)?;
        crate::seed::apply(&mut self.lock().store, &spec, now())
    }

    /// Counts, duplicates and highest ids per resource (`GET /_sim/counts`).
    pub(crate) fn counts_json(&self) -> Json {
        self.lock().counts_json()
    }

    /// The list settings (`GET /_sim/config`).
    pub(crate) fn config_json(&self) -> Json {
        self.lock().settings.to_json()
    }

    /// Changes list settings (`PUT|POST /_sim/config`); answers them all.
    pub(crate) fn configure(&self, v: &Json) -> Result<Json, String> {
        let mut sim = self.lock();
        sim.settings.update(v)?;
        Ok(sim.settings.to_json())
    }

    /// Request counters (`GET /_sim/requests`).
    pub(crate) fn requests_json(&self) -> Json {
        self.lock().requests.summary_json()
    }

    /// The request log after `after` (`GET /_sim/requests/log`).
    pub(crate) fn request_log_json(&self, after: u64, limit: usize) -> Json {
        self.lock().requests.log_json(after, limit)
    }

    /// Forgets request counters and log (`POST /_sim/requests/reset`).
    pub(crate) fn reset_requests(&self) {
        let mut sim = self.lock();
        sim.requests.reset();
        sim.counters.responses.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Sim> {
        // A panic while holding the lock must not take the simulator down.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The whole state as JSON (what `GET /_sim/state` returns).
    pub(crate) fn state_json(&self) -> Json {
        self.lock().state_json()
    }

    /// Empties objects, rules and counters; optionally changes the seed.
    pub(crate) fn reset(&self, seed: Option<u64>) {
        self.lock().reset(seed);
    }

    /// Adds fault rules (one object or an array); returns their ids.
    pub(crate) fn add_faults(&self, v: &Json) -> Result<Vec<u64>, String> {
        let mut sim = self.lock();
        let rules: Vec<&Json> = match v {
            Json::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        // Validate all first, so a bad array adds nothing.
        let mut probe = Faults::new(0, sim.config.tls_dir.is_some());
        for (i, r) in rules.iter().enumerate() {
            probe.add(r).map_err(|e| format!("rule {i}: {e}"))?;
        }
        rules.into_iter().map(|r| sim.faults.add(r)).collect()
    }

    /// Whether the TLS handshake of a new connection is refused (handshake
    /// fault rules).
    pub(crate) fn decide_handshake(&self) -> Option<HandshakeRefusal> {
        self.lock().faults.decide_handshake()
    }

    /// Removes every fault rule.
    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Starts the webhook deliveries of the changes just committed.
    fn flush_webhooks(&self) {
        let mut sim = self.lock();
        let bfid = sim.config.business_file_id;
        sim.webhooks.flush(bfid);
    }
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// The business file at start (seeded when the account says so, then
/// bulk-seeded when the config says so). A seed that does not apply leaves
/// the file empty and says why on stderr.
fn initial_store(config: &SimConfig, seed: u64) -> Store {
    let built = Store::initial(&config.account, seed, now()).and_then(|mut store| {
        if let Some(bulk) = &config.bulk_seed {
            crate::seed::apply(&mut store, bulk, now())?;
        }
        Ok(store)
    });
    built.unwrap_or_else(|e| {
        eprintln!("incwo-sim: the seed data was refused ({e}); starting empty");
        Store::with_account(config.account.clone(), seed)
    })
}

/// The account listing path (`GET {host}/account/index/0.xml?target=incwo_erp`).
const ACCOUNT_LISTING: &str = "/account/index/0.xml";

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], body).into_response()
}

fn xml_error(status: StatusCode, message: &str) -> Response {
    xml_response(status, xml::errors_document(&[(String::new(), message.to_string())]))
}

fn json_response(status: StatusCode, v: &Json) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into()),
    )
        .into_response()
}

fn json_error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// Decodes standard base64 (padding optional); `None` on any bad input.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let trimmed = s.trim_end_matches('=');
    if s.len() - trimmed.len() > 2 {
        return None;
    }
    for c in trimmed.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}

/// The parts of an incwo API path.
#[derive(Debug)]
struct Route<'a> {
    bfid: &'a str,
    resource: &'a str,
    id: Option<&'a str>,
    ext: &'a str,
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Option<Route<'a>> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let split_ext = |s: &'a str| match s.rsplit_once('.') {
            Some((stem, ext)) => (stem, ext),
            None => (s, ""),
        };
        match segs.as_slice() {
            [bfid, last] => {
                let (resource, ext) = split_ext(last);
                Some(Route {
                    bfid,
                    resource,
                    id: None,
                    ext,
                })
            }
            [bfid, resource, last] => {
                let (id, ext) = split_ext(last);
                Some(Route {
                    bfid,
                    resource,
                    id: Some(id),
                    ext,
                })
            }
            _ => None,
        }
    }
}

/// The last value of a query parameter.
fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
        .next_back()
}

fn page_param(query: Option<&str>) -> usize {
    query_param(query, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

impl Sim {
    fn reset(&mut self, seed: Option<u64>) {
        if let Some(s) = seed {
            self.seed = s;
        }
        self.store = initial_store(&self.config, self.seed);
        self.settings = ListSettings::of(&self.config);
        self.faults = Faults::new(self.seed, self.config.tls_dir.is_some());
        self.counters = Counters::default();
        self.requests.reset();
        self.webhooks.reset();
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Some(decoded) = base64_decode(token.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", self.config.login, self.config.password);
        decoded == expected.as_bytes()
    }

    fn handle(
        &mut self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        mut entry: Entry,
    ) -> Response {
        self.last_created = None;
        let resp = self.handle_inner(method, path, query, headers, body);
        bump(&mut self.counters.responses, resp.status().as_u16());
        entry.status = Some(resp.status().as_u16());
        entry.id = entry.id.or(self.last_created);
        if let (Some(res), Some(id)) = (Resource::from_name(entry.resource), entry.id) {
            if let Some(rec) = self.store.get(res, id) {
                entry.marker = res
                    .marker_field()
                    .map(|m| rec.str(m).to_string())
                    .filter(|m| !m.is_empty());
                entry.firm_id = u64::try_from(rec.int("firm_id")).ok().filter(|f| *f > 0);
            }
        }
        self.requests.log(entry);
        resp
    }

    /// A log entry naming the request's resource and object id, arrived now.
    fn entry(&self, method: &Method, path: &str, query: Option<&str>) -> Entry {
        let route = Route::parse(path);
        let res = route.as_ref().and_then(|r| Resource::from_name(r.resource));
        Entry {
            method: method.as_str().to_string(),
            resource: res.map_or("-", Resource::name),
            path: match query {
                Some(q) => format!("{path}?{q}"),
                None => path.to_string(),
            },
            id: route
                .filter(|_| res.is_some())
                .and_then(|r| r.id)
                .and_then(|id| id.parse().ok()),
            arrived_us: self.requests.now_us(),
            ..Entry::default()
        }
    }

    fn handle_inner(
        &mut self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        if !self.authorized(headers) {
            let mut r = (StatusCode::UNAUTHORIZED, "HTTP Basic: Access denied.\n").into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"incwo\""),
            );
            return r;
        }
        if path == ACCOUNT_LISTING {
            if method != Method::GET {
                return method_not_allowed("GET");
            }
            return self.account_listing();
        }
        let Some(route) = Route::parse(path) else {
            return xml_error(StatusCode::NOT_FOUND, "no such page");
        };
        if route.bfid.parse::<u64>().ok() != Some(self.config.business_file_id) {
            return xml_error(StatusCode::NOT_FOUND, "business file not found");
        }
        if !self.config.api_access {
            return xml_error(
                StatusCode::FORBIDDEN,
                "API access is not enabled for this business file (Settings / Users / APIs)",
            );
        }
        let Some(res) = Resource::from_name(route.resource) else {
            return xml_error(StatusCode::NOT_FOUND, "no such resource");
        };
        if route.ext != "xml" {
            return (StatusCode::NOT_ACCEPTABLE, "only the XML format (.xml) is served\n").into_response();
        }
        let id = match route.id {
            None => None,
            Some(raw) => match raw.parse::<u64>() {
                Ok(id) => Some(id),
                Err(_) => return xml_error(StatusCode::NOT_FOUND, "not found"),
            },
        };
        match (method.as_str(), id) {
            ("GET", None) => self.list(res, query),
            ("POST", None) => self.create(res, body, route.bfid),
            ("GET", Some(id)) => match self.store.get(res, id) {
                Some(rec) => {
                    let mut out = String::from(DECLARATION);
                    self.store.render_xml(res, rec, 0, &mut out);
                    xml_response(StatusCode::OK, out)
                }
                None => xml_error(StatusCode::NOT_FOUND, "not found"),
            },
            ("PUT", Some(id)) => self.update(res, id, body),
            ("DELETE", Some(id)) => match self.store.delete(res, id) {
                Ok(()) => {
                    bump(&mut self.counters.deletes, res.name());
                    self.webhooks.record(res.name(), id, "delete");
                    (StatusCode::OK, [(header::CONTENT_TYPE, "application/xml")], "").into_response()
                }
                Err(e) => self.write_error(res, e),
            },
            (_, None) => method_not_allowed("GET, POST"),
            (_, Some(_)) => method_not_allowed("GET, PUT, DELETE"),
        }
    }

    /// The business files this user can reach: the one simulated.
    fn account_listing(&self) -> Response {
        let out = format!(
            "{DECLARATION}<business_files type=\"array\">\n  <business_file>\n    <id>{}</id>\n    <name>{}</name>\n  </business_file>\n</business_files>\n",
            self.config.business_file_id,
            xml::escape(&self.config.account.name),
        );
        xml_response(StatusCode::OK, out)
    }

    /// One list page: `page` (1-based) of `per_page` (when honoured) or
    /// the page size, in the configured order; O(page) whatever the size
    /// of the account.
    fn list(&self, res: Resource, query: Option<&str>) -> Response {
        let page = page_param(query);
        let size = self.settings.page_size_for(query);
        let total = self.store.count(res);
        let total_pages = total.div_ceil(size).max(1);
        let start = (page - 1).saturating_mul(size);
        let items = self.store.page(res, self.settings.list_order, start, size);
        let mut out = String::from(DECLARATION);
        out.push_str(&format!("<{} type=\"array\">\n", res.name()));
        out.push_str(&format!(
            "  <pagination>\n    <current_page>{page}</current_page>\n    <total_pages>{total_pages}</total_pages>\n    <current_page_items_count>{}</current_page_items_count>\n  </pagination>\n",
            items.len()
        ));
        for rec in items {
            self.store.render_xml(res, rec, 1, &mut out);
        }
        out.push_str(&format!("</{}>\n", res.name()));
        xml_response(StatusCode::OK, out)
    }

    fn write_error(&mut self, res: Resource, e: WriteError) -> Response {
        match e {
            WriteError::NotFound => xml_error(StatusCode::NOT_FOUND, "not found"),
            WriteError::Invalid(errors) => {
                bump(&mut self.counters.rejected, res.name());
                xml_response(StatusCode::UNPROCESSABLE_ENTITY, xml::errors_document(&errors))
            }
        }
    }

    fn parse_body(&mut self, res: Resource, body: &[u8]) -> Result<xml::Element, Box<Response>> {
        xml::parse(body).map_err(|msg| Box::new(self.write_error(res, WriteError::Invalid(vec![(String::new(), msg)]))))
    }

    fn create_object(&mut self, res: Resource, body: &[u8], bfid: &str) -> Response {
        let root = match self.parse_body(res, body) {
            Ok(r) => r,
            Err(resp) => return *resp,
        };
        match self.store.create(res, &root, now()) {
            Ok(rec) => {
                self.last_created = Some(rec.id);
                self.webhooks.record(res.name(), rec.id, "create");
                let mut out = String::from(DECLARATION);
                self.store.render_xml(res, &rec, 0, &mut out);
                let mut r = xml_response(StatusCode::CREATED, out);
                if let Ok(v) = HeaderValue::from_str(&format!("/{bfid}/{}/{}.xml", res.name(), rec.id)) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
            Err(e) => self.write_error(res, e),
        }
    }

    fn create(&mut self, res: Resource, body: &[u8], bfid: &str) -> Response {
        let r = self.create_object(res, body, bfid);
        if r.status() == StatusCode::CREATED {
            bump(&mut self.counters.creates, res.name());
        }
        r
    }

    fn update(&mut self, res: Resource, id: u64, body: &[u8]) -> Response {
        if self.store.get(res, id).is_none() {
            return xml_error(StatusCode::NOT_FOUND, "not found");
        }
        let root = match self.parse_body(res, body) {
            Ok(r) => r,
            Err(resp) => return *resp,
        };
        match self.store.update(res, id, &root, now()) {
            Ok(rec) => {
                bump(&mut self.counters.updates, res.name());
                self.webhooks.record(res.name(), id, "update");
                let mut out = String::from(DECLARATION);
                self.store.render_xml(res, &rec, 0, &mut out);
                xml_response(StatusCode::OK, out)
            }
            Err(e) => self.write_error(res, e),
        }
    }

    fn counts_json(&self) -> Json {
        let (mut counts, mut duplicates, mut max_ids) = (Map::new(), Map::new(), Map::new());
        let mut total = 0;
        for res in Resource::ALL {
            counts.insert(res.name().into(), json!(self.store.count(res)));
            max_ids.insert(res.name().into(), json!(self.store.max_id(res)));
            if res.marker_field().is_some() {
                let d = self.store.duplicate_count(res);
                total += d;
                duplicates.insert(res.name().into(), json!(d));
            }
        }
        json!({"counts": counts, "duplicates": duplicates, "duplicatesTotal": total, "maxIds": max_ids})
    }

    fn state_json(&self) -> Json {
        let mut objects = Map::new();
        let mut counts = Map::new();
        for res in Resource::ALL {
            let items: Vec<Json> = self.store.all(res).map(|r| self.store.render_json(res, r)).collect();
            counts.insert(res.name().into(), json!(items.len()));
            objects.insert(res.name().into(), Json::Array(items));
        }
        let markers: Map<String, Json> = crate::schema::MARKERS
            .iter()
            .map(|(r, m)| (r.name().to_string(), json!(m)))
            .collect();
        let c = &self.counters;
        json!({
            "business_file_id": self.config.business_file_id,
            "page_size": self.settings.page_size,
            "list_order": self.settings.list_order.name(),
            "honour_per_page": self.settings.honour_per_page,
            "seed": self.seed,
            "duplicates": self.store.duplicates(),
            "counts": counts,
            "objects": objects,
            "stock_by_warehouse": self.store.warehouse_stock(),
            "marker_fields": markers,
            "counters": {
                "requests": self.requests.by_resource,
                "creates": c.creates,
                "updates": c.updates,
                "deletes": c.deletes,
                "rejected": c.rejected,
                "responses": c.responses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
                "faults_fired": self.faults.fired_json(),
            },
            "faults": self.faults.rules_json(),
        })
    }
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = xml_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn fault_body(status: u16, body: &Option<String>) -> String {
    body.clone().unwrap_or_else(|| {
        format!(
            "<!DOCTYPE html>\n<html><head><title>{status}</title></head><body><h1>We're sorry, but something went wrong.</h1></body></html>\n"
        )
    })
}

fn fault_response(status: u16, retry_after: Option<u64>, body: &Option<String>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut r = (
        code,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        fault_body(status, body),
    )
        .into_response();
    if let Some(s) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

/// Makes the connection task close the socket without a response, then
/// never completes (the future is dropped with the connection).
async fn drop_connection(conn: Option<&ConnCtl>, how: impl Into<Abort>) -> Response {
    match conn {
        Some(c) => {
            c.abort(how.into());
            std::future::pending::<Response>().await
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "connection control missing").into_response(),
    }
}

/// The response's head (with its full `Content-Length`) and the first half
/// of its body; once that is out, the connection closes without a TLS
/// close_notify.
async fn cut_mid_body(conn: Option<ConnCtl>, response: Response) -> Response {
    let Some(conn) = conn else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "connection control missing").into_response();
    };
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let half = bytes.slice(..bytes.len() / 2);
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(half)]);
    let then_cut = futures_util::stream::once(async move {
        // The body is pending meanwhile, so hyper flushes what it has.
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.abort(Abort::Close);
        std::future::pending::<Result<Bytes, std::io::Error>>().await
    });
    Response::from_parts(parts, axum::body::Body::from_stream(first.chain(then_cut)))
}

/// The incwo API: every path that is not an admin route.
async fn api(State(app): State<App>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let conn = parts.extensions.get::<ConnCtl>().cloned();
    let path = parts.uri.path().to_string();
    let resource = Route::parse(&path)
        .and_then(|r| Resource::from_name(r.resource))
        .map_or("-", Resource::name);
    let method = parts.method.as_str().to_string();
    let (decision, mut entry) = {
        let mut sim = app.lock();
        sim.requests.count(resource, &method);
        let entry = sim.entry(&parts.method, &path, parts.uri.query());
        (sim.faults.decide(&method, resource), entry)
    };
    let fault_kind = decision.fault.as_ref().map(Fault::kind);
    // A request answered without being handled is logged here.
    let unhandled = |status: Option<StatusCode>, fault: Option<&'static str>| {
        let mut e = entry.clone();
        e.status = status.map(|s| s.as_u16());
        e.fault = fault;
        app.lock().requests.log(e);
    };
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            unhandled(Some(StatusCode::PAYLOAD_TOO_LARGE), None);
            return xml_error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
    };
    if decision.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.latency_ms)).await;
    }
    match &decision.fault {
        Some(Fault::HttpError {
            status,
            retry_after,
            after_commit: false,
            body,
        }) => {
            let r = fault_response(*status, *retry_after, body);
            unhandled(Some(r.status()), fault_kind);
            return r;
        }
        Some(Fault::RateLimit { retry_after }) => {
            unhandled(Some(StatusCode::TOO_MANY_REQUESTS), fault_kind);
            let mut r = xml_error(StatusCode::TOO_MANY_REQUESTS, "too many requests");
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Some(Fault::DropBeforeCommit { mode }) => {
            unhandled(None, fault_kind);
            return drop_connection(conn.as_ref(), *mode).await;
        }
        Some(Fault::Timeout { ms, commit: false }) => {
            unhandled(None, fault_kind);
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            return drop_connection(conn.as_ref(), DropMode::Close).await;
        }
        _ => {}
    }
    entry.fault = fault_kind;
    let response = app
        .lock()
        .handle(&parts.method, &path, parts.uri.query(), &parts.headers, &bytes, entry);
    app.flush_webhooks();
    match decision.fault {
        Some(Fault::DropAfterCommit { mode }) => drop_connection(conn.as_ref(), mode).await,
        Some(Fault::TlsResetAfterCommit) => drop_connection(conn.as_ref(), Abort::Reset).await,
        Some(Fault::TlsCloseNotifyBeforeResponse) => drop_connection(conn.as_ref(), Abort::CloseNotify).await,
        Some(Fault::TlsCutMidBody) => cut_mid_body(conn, response).await,
        Some(Fault::Timeout { ms, commit: true }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            response
        }
        Some(Fault::HttpError {
            status,
            retry_after,
            after_commit: true,
            body,
        }) => fault_response(status, retry_after, &body),
        _ => response,
    }
}

fn admin_allowed(app: &App, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let sim = app.lock();
    match &sim.config.admin_token {
        None => Ok(()),
        Some(token) => {
            let given = headers.get(ADMIN_TOKEN_HEADER).and_then(|v| v.to_str().ok());
            if given == Some(token.as_str()) {
                Ok(())
            } else {
                Err(Box::new(json_error(
                    StatusCode::FORBIDDEN,
                    "admin token missing or wrong (header x-sim-admin-token)",
                )))
            }
        }
    }
}

fn json_body(body: &[u8]) -> Result<Option<Json>, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| Box::new(json_error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}"))))
}

async fn admin_state(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    json_response(StatusCode::OK, &app.state_json())
}

async fn admin_reset(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let seed = match json_body(&body) {
        Ok(None) => None,
        Ok(Some(v)) => match v.get("seed") {
            None | Some(Json::Null) => None,
            Some(s) => match s.as_u64() {
                Some(s) => Some(s),
                None => return json_error(StatusCode::BAD_REQUEST, "`seed` must be a u64"),
            },
        },
        Err(r) => return *r,
    };
    app.reset(seed);
    json_response(StatusCode::OK, &json!({"reset": true}))
}

async fn admin_faults_get(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let rules = app.lock().faults.rules_json();
    json_response(StatusCode::OK, &json!({ "rules": rules }))
}

async fn admin_faults_add(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let v = match json_body(&body) {
        Ok(Some(v)) => v,
        Ok(None) => return json_error(StatusCode::BAD_REQUEST, "a rule or a list of rules is required"),
        Err(r) => return *r,
    };
    match app.add_faults(&v) {
        Ok(ids) => json_response(StatusCode::CREATED, &json!({ "added": ids })),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e),
    }
}

async fn admin_faults_clear(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    app.clear_faults();
    json_response(StatusCode::OK, &json!({"cleared": true}))
}

async fn admin_progress(
    State(app): State<App>,
    Path((res, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let Some(res) = Resource::from_name(&res).filter(|r| r.is_sheet()) else {
        return json_error(StatusCode::NOT_FOUND, "documents are proposal_sheets or bill_sheets");
    };
    let Ok(id) = id.parse::<u64>() else {
        return json_error(StatusCode::NOT_FOUND, "no such document");
    };
    let progress = match json_body(&body) {
        Ok(Some(v)) => v.get("progress_id").and_then(Json::as_i64),
        Ok(None) => None,
        Err(r) => return *r,
    };
    let Some(progress) = progress else {
        return json_error(StatusCode::BAD_REQUEST, "`progress_id` (integer) is required");
    };
    let mut sim = app.lock();
    let answer = match sim.store.set_progress(res, id, progress, now()) {
        Some(rec) => {
            sim.webhooks.record(res.name(), id, "update");
            let v = sim.store.render_json(res, &rec);
            json_response(StatusCode::OK, &v)
        }
        None => json_error(StatusCode::NOT_FOUND, "no such document"),
    };
    drop(sim);
    app.flush_webhooks();
    answer
}

async fn admin_seed(State(app): State<App>, Path(res): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let Some(res) = Resource::from_name(&res) else {
        return json_error(StatusCode::NOT_FOUND, "no such resource");
    };
    let mut sim = app.lock();
    let bfid = sim.config.business_file_id.to_string();
    let answer = sim.create_object(res, &body, &bfid);
    drop(sim);
    app.flush_webhooks();
    answer
}

/// `PUT /_sim/objects/{res}/{id}` (XML, as the API's PUT) and `DELETE`: a
/// change made by a person in incwo's UI. Not counted as API requests;
/// sends webhooks like any change.
async fn admin_object_edit(
    State(app): State<App>,
    method: Method,
    Path((res, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let (Some(res), Ok(id)) = (Resource::from_name(&res), id.parse::<u64>()) else {
        return json_error(StatusCode::NOT_FOUND, "no such object");
    };
    let mut sim = app.lock();
    let answer = if method == Method::DELETE {
        match sim.store.delete(res, id) {
            Ok(()) => {
                sim.webhooks.record(res.name(), id, "delete");
                json_response(StatusCode::OK, &json!({"deleted": true}))
            }
            Err(e) => sim.write_error(res, e),
        }
    } else {
        let root = match sim.parse_body(res, &body) {
            Ok(r) => r,
            Err(resp) => return *resp,
        };
        match sim.store.update(res, id, &root, now()) {
            Ok(rec) => {
                sim.webhooks.record(res.name(), id, "update");
                let mut out = String::from(DECLARATION);
                sim.store.render_xml(res, &rec, 0, &mut out);
                xml_response(StatusCode::OK, out)
            }
            Err(e) => sim.write_error(res, e),
        }
    };
    drop(sim);
    app.flush_webhooks();
    answer
}

/// `GET /_sim/webhooks` (settings and deliveries), `PUT` (`{"url", "maxAttempts"?,
/// "retryMs"?}`), `DELETE` (off).
async fn admin_webhooks(State(app): State<App>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let mut sim = app.lock();
    if method == Method::GET {
        return json_response(StatusCode::OK, &sim.webhooks.to_json());
    }
    let settings = if method == Method::DELETE {
        json!({"url": null})
    } else {
        match json_body(&body) {
            Ok(Some(v)) => v,
            Ok(None) => return json_error(StatusCode::BAD_REQUEST, "`url` is required"),
            Err(r) => return *r,
        }
    };
    match sim.webhooks.configure(&settings) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e),
    }
}

/// `POST /_sim/seed`: bulk-creates firms, products and documents.
async fn admin_bulk_seed(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let v = match json_body(&body) {
        Ok(v) => v.unwrap_or_else(|| json!({})),
        Err(r) => return *r,
    };
    match app.seed(&v) {
        Ok(ranges) => json_response(StatusCode::CREATED, &ranges),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e),
    }
}

/// `GET /_sim/counts`: the cheap summary of a big account.
async fn admin_counts(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    json_response(StatusCode::OK, &app.counts_json())
}

/// `GET /_sim/config` (list settings); `PUT` or `POST` with some of them.
async fn admin_config(State(app): State<App>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    if method == Method::GET {
        return json_response(StatusCode::OK, &app.config_json());
    }
    let v = match json_body(&body) {
        Ok(Some(v)) => v,
        Ok(None) => return json_error(StatusCode::BAD_REQUEST, "a JSON object of settings is required"),
        Err(r) => return *r,
    };
    match app.configure(&v) {
        Ok(settings) => json_response(StatusCode::OK, &settings),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e),
    }
}

/// `GET /_sim/requests`: request counters.
async fn admin_requests(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    json_response(StatusCode::OK, &app.requests_json())
}

/// `POST /_sim/requests/reset`: forgets request counters and log.
async fn admin_requests_reset(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    app.reset_requests();
    json_response(StatusCode::OK, &json!({"reset": true}))
}

/// `GET /_sim/requests/log?after=SEQ&limit=N`: the request log.
async fn admin_request_log(State(app): State<App>, headers: HeaderMap, req: Request) -> Response {
    if let Err(r) = admin_allowed(&app, &headers) {
        return *r;
    }
    let query = req.uri().query();
    let after = match query_param(query, "after").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return json_error(StatusCode::BAD_REQUEST, "`after` must be a sequence number"),
    };
    let (default, max) = LOG_PAGE;
    let limit = match query_param(query, "limit").map(str::parse::<usize>) {
        None => default,
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        Some(_) => return json_error(StatusCode::BAD_REQUEST, &format!("`limit` must be from 1 to {max}")),
    };
    json_response(StatusCode::OK, &app.request_log_json(after, limit))
}

async fn admin_health() -> Response {
    json_response(StatusCode::OK, &json!({"ok": true}))
}

/// The full router: admin routes, then the incwo API as the fallback.
pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/_sim/health", get(admin_health))
        .route("/_sim/state", get(admin_state))
        .route("/_sim/reset", post(admin_reset))
        .route("/_sim/seed", post(admin_bulk_seed))
        .route("/_sim/counts", get(admin_counts))
        .route("/_sim/config", get(admin_config).put(admin_config).post(admin_config))
        .route("/_sim/requests", get(admin_requests))
        .route("/_sim/requests/reset", post(admin_requests_reset))
        .route("/_sim/requests/log", get(admin_request_log))
        .route(
            "/_sim/faults",
            get(admin_faults_get).post(admin_faults_add).delete(admin_faults_clear),
        )
        .route("/_sim/documents/{res}/{id}/progress", put(admin_progress))
        .route("/_sim/objects/{res}", post(admin_seed))
        .route(
            "/_sim/objects/{res}/{id}",
            put(admin_object_edit).delete(admin_object_edit),
        )
        .route(
            "/_sim/webhooks",
            get(admin_webhooks).put(admin_webhooks).delete(admin_webhooks),
        )
        .fallback(api)
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(
            base64_decode("YXBpQGV4YW1wbGUuZnI6c2VjcmV0").unwrap(),
            b"api@example.fr:secret"
        );
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("Y?Q=").is_none());
        assert!(base64_decode("YQ===").is_none());
    }

    #[test]
    fn routes() {
        let r = Route::parse("/123456/firms.xml").unwrap();
        assert_eq!((r.bfid, r.resource, r.id, r.ext), ("123456", "firms", None, "xml"));
        let r = Route::parse("/123456/firms/7.xml").unwrap();
        assert_eq!((r.resource, r.id, r.ext), ("firms", Some("7"), "xml"));
        assert!(Route::parse("/a/b/c/d").is_none());
        assert_eq!(page_param(Some("per_page=5&page=3")), 3);
        assert_eq!(page_param(Some("page=0")), 1);
        assert_eq!(page_param(Some("page=x")), 1);
        assert_eq!(page_param(None), 1);
        assert_eq!(query_param(Some("page=2&per_page=50"), "per_page"), Some("50"));
        assert_eq!(query_param(Some("xper_page=5"), "per_page"), None);
    }

    #[test]
    fn per_page_is_honoured_capped_or_ignored() {
        let mut s = ListSettings::of(&SimConfig::default());
        assert_eq!(s.page_size_for(None), 20);
        assert_eq!(s.page_size_for(Some("per_page=50")), 50);
        assert_eq!(s.page_size_for(Some("per_page=500")), MAX_PER_PAGE);
        assert_eq!(s.page_size_for(Some("per_page=0")), 20);
        assert_eq!(s.page_size_for(Some("per_page=x")), 20);
        s.update(&json!({"honourPerPage": false, "pageSize": 7})).unwrap();
        assert_eq!(s.page_size_for(Some("per_page=50")), 7);
        assert!(s.update(&json!({"listOrder": "random", "pageSize": 3})).is_err());
        assert_eq!(s.page_size, 7, "a bad setting changes nothing");
        assert!(s.update(&json!({"maxPerPage": 3})).is_err());
    }
}
