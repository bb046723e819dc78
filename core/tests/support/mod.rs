//! Test support: the fake incwo and a host loop that drives a flow against
//! it as `core/src/flow/mod.rs` documents (checkpoint saved before each Send
//! and after each action; a fake clock that `Wait` advances).

#![allow(dead_code)]

pub mod fake_incwo;
pub mod index_runs;
pub mod workers;
pub mod writers;

use fake_incwo::FakeIncwo;
use incwo_core::errors::{TransportFailure, TransportKind};
use incwo_core::flow::batch::{self, BatchItem};
use incwo_core::flow::queues::Event;
use incwo_core::flow::{Action, Flow, FlowOptions, Outcome, Summary};
use incwo_core::http::{Auth, ConnectionConfig, Method, Request, Response};
use incwo_core::mapping::Profile;
use incwo_core::model::Record;
use incwo_core::retry::RetryPolicy;
use serde_json::{json, Value};

/// The start of the fake clock (2026-04-15T08:00:00Z).
pub const T0: u64 = 1_776_240_000_000;

/// The connection config tests use.
pub fn config() -> ConnectionConfig {
    ConnectionConfig::new(
        "http://127.0.0.1:9",
        "123456",
        Auth::basic("api@example.fr", "secret"),
        false,
    )
    .expect("config")
}

/// Flow options tests use (company `acme`).
pub fn options() -> FlowOptions {
    FlowOptions {
        company: "acme".into(),
        ..FlowOptions::default()
    }
}

/// A profile in final invoice mode.
pub fn final_profile() -> Profile {
    Profile {
        invoice_mode: incwo_core::mapping::InvoiceMode::Final,
        ..Profile::default()
    }
}

/// Batch items from `{"kind", "record"}` values.
pub fn items(lines: &[Value], profile: &Profile) -> Vec<BatchItem> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            // The contract does not list `sourceOrder` on stock movements yet
            // (the model has it): validate without it, then set it.
            let source_order = l["record"]["sourceOrder"]
                .as_str()
                .filter(|_| l["kind"] == "stock-movement");
            let mut l = l.clone();
            if source_order.is_some() {
                l["record"].as_object_mut().map(|r| r.remove("sourceOrder"));
            }
            let mut item = batch::parse_line(i + 1, &l.to_string(), profile);
            if let (Some(order), Ok(Record::StockMovement(m))) = (source_order, item.record.as_mut()) {
                m.source_order = Some(order.to_string());
            }
            item
        })
        .collect()
}

/// The brief's customer.
pub fn customer(id: &str) -> Value {
    json!({"kind": "customer", "record": {"externalId": id, "name": format!("Atelier {id}"), "kind": "client",
        "email": "compta@atelier-horizon.fr", "billingAddress": {"line1": "18 rue des Tanneurs", "zipCode": "69002", "city": "Lyon", "country": "FR"}}})
}

/// A product at `price` with tax `tax`.
pub fn product(sku: &str, price: &str, tax: &str) -> Value {
    json!({"kind": "product", "record": {"sku": sku, "name": format!("Produit {sku}"), "unitPriceExclTax": price, "taxCode": tax, "unit": "unit", "active": true}})
}

/// A document line.
pub fn line(sku: &str, qty: &str, price: &str, tax: &str) -> Value {
    json!({"sku": sku, "description": format!("Ligne {sku}"), "qty": qty, "unitPriceExclTax": price, "taxCode": tax})
}

/// A quote.
pub fn quote(number: &str, customer: &str, lines: Vec<Value>) -> Value {
    json!({"kind": "quote", "record": {"quoteNumber": number, "customerExternalId": customer, "quoteDate": "2026-04-02",
        "validUntil": "2026-05-02", "currency": "EUR", "lines": lines}})
}

/// An order (with its source quote, if any).
pub fn order(number: &str, customer: &str, source_quote: Option<&str>, lines: Vec<Value>) -> Value {
    let mut r = json!({"orderNumber": number, "customerExternalId": customer, "orderDate": "2026-04-11", "currency": "EUR", "lines": lines});
    if let Some(q) = source_quote {
        r["sourceQuote"] = json!(q);
    }
    json!({"kind": "order", "record": r})
}

/// An invoice on an order.
pub fn invoice(number: &str, order: &str, lines: Vec<Value>) -> Value {
    json!({"kind": "invoice", "record": {"invoiceNumber": number, "sourceOrder": order, "issueDate": "2026-04-15",
        "dueDate": "2026-05-15", "currency": "EUR", "lines": lines}})
}

/// A stock movement (negative = out), optionally delivering an order.
pub fn movement(id: &str, sku: &str, qty: &str, reason: &str, source_order: Option<&str>) -> Value {
    let mut r = json!({"movementId": id, "sku": sku, "warehouse": "MAIN", "qty": qty, "reason": reason});
    if let Some(o) = source_order {
        r["sourceOrder"] = json!(o);
    }
    json!({"kind": "stock-movement", "record": r})
}

/// A cancellation of an order.
pub fn cancellation(order: &str) -> Value {
    json!({"kind": "cancellation", "record": {"orderNumber": order, "reason": "Client a annulé", "cancelledAt": "2026-04-20"}})
}

/// The brief's batch: customer, product, quote, order (from the quote), invoice.
pub fn brief() -> Vec<Value> {
    let l = || vec![line("KIT-API-01", "10", "49.90", "TVA20")];
    vec![
        customer("CLI-INC-8872"),
        product("KIT-API-01", "49.90", "TVA20"),
        quote("DEV-INC-2026-0107", "CLI-INC-8872", l()),
        order("CMD-INC-2026-0411", "CLI-INC-8872", Some("DEV-INC-2026-0107"), l()),
        invoice("FAC-INC-2026-0198", "CMD-INC-2026-0411", l()),
    ]
}

/// Where the host dies: at action `at` (0-based, counted over the whole
/// host), after performing it (`after`: the request reached incwo, the
/// event was published) or before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    /// Action index.
    pub at: usize,
    /// Die after performing the action (but before telling the flow / saving).
    pub after: bool,
}

/// The host: a fake clock, the saved checkpoint, what it published and the
/// outcomes it saw.
#[derive(Debug, Default)]
pub struct Host {
    /// Fake clock (ms).
    pub now: u64,
    /// The last saved checkpoint.
    pub saved: Option<String>,
    /// Events published, with their queue.
    pub published: Vec<(String, Event)>,
    /// Records ended: (index, outcome).
    pub done: Vec<(usize, Outcome)>,
    /// Requests incwo had received when each record of `done` ended.
    pub done_at: Vec<usize>,
    /// Actions seen (all runs).
    pub actions: usize,
    /// `METHOD endpoint` of every Send, in order.
    pub sends: Vec<String>,
    /// Waits seen: (until, reason).
    pub waits: Vec<(u64, String)>,
    /// The retry audit of every request the host sent.
    pub audit: Audit,
}

impl Host {
    /// A host whose clock starts at [`T0`].
    pub fn new() -> Self {
        Host {
            now: T0,
            ..Host::default()
        }
    }

    /// Events published on `queue`.
    pub fn on_queue(&self, queue: &str) -> Vec<&Event> {
        self.published
            .iter()
            .filter(|(q, _)| q == queue)
            .map(|(_, e)| e)
            .collect()
    }
}

/// The host died (the last saved checkpoint is in `Host::saved`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crashed;

/// Drives `flow` against `fake` until `Done` (or the crash point).
pub fn drive(flow: &mut Flow, fake: &mut FakeIncwo, host: &mut Host, crash: Option<Crash>) -> Result<Summary, Crashed> {
    // The contract saves before each Send and after each action; a resume
    // only ever reads the last save before the crash, so the host serialises
    // just those (checkpoints are the slow part of a debug test run).
    let wanted = |index: usize| crash.is_some_and(|c| c.at == index);
    let mut guard = 0u32;
    loop {
        guard += 1;
        assert!(guard < 200_000, "the flow does not end");
        let action = flow.poll(host.now).expect("poll");
        let index = host.actions;
        host.actions += 1;
        let dies = crash.filter(|c| c.at == index);
        if dies.is_some_and(|c| !c.after) {
            host.audit.on_crash();
            return Err(Crashed);
        }
        match action {
            Action::Send { request_id, request } => {
                if wanted(index) {
                    host.saved = Some(flow.checkpoint());
                }
                host.sends
                    .push(format!("{} {}", request.method().as_str(), request.endpoint()));
                host.audit.on_send(&request);
                let answer = fake.handle(&request);
                if dies.is_some() {
                    host.audit.on_crash();
                    return Err(Crashed);
                }
                host.now += 5;
                host.audit.on_answer(&answer);
                match answer {
                    Ok(response) => flow.on_response(request_id, response, host.now).expect("on_response"),
                    Err(failure) => flow
                        .on_transport_error(request_id, failure, host.now)
                        .expect("on_transport_error"),
                }
            }
            Action::Wait { until, reason } => {
                host.waits.push((until, reason));
                host.now = host.now.max(until);
            }
            Action::Publish { queue, event } => {
                host.published.push((queue, event));
                if dies.is_some() {
                    host.audit.on_crash();
                    return Err(Crashed);
                }
            }
            Action::RecordDone { index, outcome, .. } => {
                host.audit.on_record_done(index, &outcome);
                host.done.push((index, outcome));
                host.done_at.push(fake.log.len());
            }
            Action::Done { summary } => {
                if dies.is_some() {
                    host.audit.on_crash();
                    return Err(Crashed);
                }
                host.saved = Some(flow.checkpoint());
                return Ok(summary);
            }
        }
        if dies.is_some() {
            host.audit.on_crash();
            return Err(Crashed);
        }
        if wanted(index + 1) {
            host.saved = Some(flow.checkpoint());
        }
    }
}

/// Drives a flow with more than one request in flight (`maxInFlight` > 1)
/// against `fake` until `Done` (or the crash point): each request reaches
/// incwo when it is handed out, its answer is held back and delivered in a
/// seeded order (`shuffle`): after a `Send`, now and then; at a `Wait`,
/// always when one is held (the host waits for an answer or `until`).
/// The retry audit follows one record at a time, so it is not fed here.
pub fn drive_lanes(
    flow: &mut Flow,
    fake: &mut FakeIncwo,
    host: &mut Host,
    crash: Option<Crash>,
    shuffle: u64,
) -> Result<Summary, Crashed> {
    let wanted = |index: usize| crash.is_some_and(|c| c.at == index);
    let mut draw = shuffle;
    let mut held: Vec<(u64, Result<Response, TransportFailure>)> = Vec::new();
    let mut guard = 0u32;
    let deliver =
        |flow: &mut Flow, host: &mut Host, held: &mut Vec<(u64, Result<Response, TransportFailure>)>, pick: u64| {
            let (id, answer) = held.remove((pick % held.len() as u64) as usize);
            host.now += 5;
            match answer {
                Ok(response) => flow.on_response(id, response, host.now).expect("on_response"),
                Err(failure) => flow
                    .on_transport_error(id, failure, host.now)
                    .expect("on_transport_error"),
            }
        };
    loop {
        guard += 1;
        assert!(guard < 400_000, "the flow does not end");
        let action = flow.poll(host.now).expect("poll");
        let index = host.actions;
        host.actions += 1;
        let dies = crash.filter(|c| c.at == index);
        if dies.is_some_and(|c| !c.after) {
            return Err(Crashed);
        }
        draw = incwo_core::retry::splitmix64(draw);
        match action {
            Action::Send { request_id, request } => {
                if wanted(index) {
                    host.saved = Some(flow.checkpoint());
                }
                host.sends
                    .push(format!("{} {}", request.method().as_str(), request.endpoint()));
                let answer = fake.handle(&request);
                if dies.is_some() {
                    return Err(Crashed);
                }
                held.push((request_id, answer));
                if draw % 3 == 0 {
                    deliver(flow, host, &mut held, draw >> 8);
                }
            }
            Action::Wait { until, reason } => {
                if held.is_empty() {
                    assert_ne!(
                        reason, "in_flight",
                        "the flow waits for an answer while none is in flight"
                    );
                    host.waits.push((until, reason));
                    host.now = host.now.max(until);
                } else {
                    deliver(flow, host, &mut held, draw >> 8);
                }
            }
            Action::Publish { queue, event } => {
                host.published.push((queue, event));
                if dies.is_some() {
                    return Err(Crashed);
                }
            }
            Action::RecordDone { index, outcome, .. } => host.done.push((index, outcome)),
            Action::Done { summary } => {
                assert!(held.is_empty(), "done with {} answers held", held.len());
                if dies.is_some() {
                    return Err(Crashed);
                }
                host.saved = Some(flow.checkpoint());
                return Ok(summary);
            }
        }
        if dies.is_some() {
            return Err(Crashed);
        }
        if wanted(index + 1) {
            host.saved = Some(flow.checkpoint());
        }
    }
}

/// Starts a flow over `records` and drives it to the end.
pub fn run(records: &[Value], profile: &Profile, fake: &mut FakeIncwo, host: &mut Host) -> (Flow, Summary) {
    let mut flow = Flow::start(
        items(records, profile),
        profile.clone(),
        config(),
        options(),
        host.now,
        7,
    );
    let summary = drive(&mut flow, fake, host, None).expect("no crash");
    (flow, summary)
}

/// Runs `records` again over the ledger of a previous flow (a replay of a
/// batch: the checkpoint is resumed with other items or the same finished ones).
pub fn replay(
    previous: &Flow,
    records: &[Value],
    profile: &Profile,
    fake: &mut FakeIncwo,
    host: &mut Host,
) -> (Flow, Summary) {
    let ledger = previous.ledger().clone();
    let mut flow = Flow::with_ledger(
        items(records, profile),
        profile.clone(),
        config(),
        options(),
        ledger,
        host.now,
        7,
    );
    let summary = drive(&mut flow, fake, host, None).expect("no crash");
    (flow, summary)
}

/// The value of a Prometheus sample: the sum of the series of `name` whose
/// labels include every `labels` pair.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            if n != name {
                return None;
            }
            let ok = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            ok.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// The outcome names of a flow, in batch order.
pub fn outcome_names(flow: &Flow) -> Vec<&'static str> {
    flow.outcomes()
        .iter()
        .map(|o| o.as_ref().map_or("none", Outcome::name))
        .collect()
}

/// How incwo (or the transport) answered one request, as the audit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Not answered yet (or the host died first).
    Unknown,
    /// 2xx.
    Success,
    /// A technical failure (transport, 408/425/429, 5xx); `timeout` for a
    /// transport timeout, 408 or 504 (a dearer retry).
    Technical {
        /// A timeout.
        timeout: bool,
    },
    /// A refusal: a 4xx classified contract (`business` false) or business.
    Refused {
        /// The status.
        status: u16,
        /// 404, 409, 410: business; other 4xx: contract.
        business: bool,
    },
}

/// One request of the record run in progress.
#[derive(Debug, Clone)]
struct Sent {
    method: Method,
    url: String,
    body: Vec<u8>,
    answered: Answered,
    /// Index of its answer in `Audit::bucket`.
    answer_at: usize,
}

impl Sent {
    fn same(&self, request: &Request) -> bool {
        self.method == request.method() && self.url == request.url() && self.body == request.body()
    }
}

/// Checks the retry rules from the requests a host sends and their answers,
/// independently of the core's retry code (docs/DESIGN.md#6-errors-and-retries): per record run
/// (one record, one flow incarnation: a resumed record restarts), a call is
/// sent at most `maxAttempts` times (a write: every identical send counts,
/// the reconciliation lookups between two creates do not; a read: the
/// identical sends in a row that failed); each retry spends the budget's
/// `retryCost` (`timeoutCost` after a timeout), each success refunds
/// `successRefund`, and the bucket never goes below zero; after a contract
/// or business refusal nothing more is sent for the record, which ends
/// quarantined with that class.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The policy the flow runs with.
    pub policy: RetryPolicy,
    /// Tokens at the start of the flow incarnation.
    start_tokens: i64,
    /// What each answer did to the bucket, in order: a success's refund,
    /// a failure's retry cost once its retry is seen (the core spends it
    /// when it decides, right after the failure), else 0.
    bucket: Vec<i64>,
    run: Vec<Sent>,
    /// What broke a rule.
    pub violations: Vec<String>,
    /// Requests seen.
    pub requests: usize,
    /// Retries seen (attempts after the first).
    pub retries: usize,
    /// Refusals seen (contract or business).
    pub refusals: usize,
}

impl Default for Audit {
    fn default() -> Self {
        Self::new(&RetryPolicy::default())
    }
}

impl Audit {
    /// An audit of flows running with `policy` (full bucket).
    pub fn new(policy: &RetryPolicy) -> Self {
        Self {
            policy: policy.clone(),
            start_tokens: i64::from(policy.budget.capacity),
            bucket: Vec::new(),
            run: Vec::new(),
            violations: Vec::new(),
            requests: 0,
            retries: 0,
            refusals: 0,
        }
    }

    /// A new flow incarnation starts with `tokens` in its bucket (a fresh
    /// flow: the capacity; a resumed one: its checkpoint's).
    pub fn restart(&mut self, tokens: Option<u64>) {
        self.run.clear();
        self.bucket.clear();
        self.start_tokens = tokens.map_or(i64::from(self.policy.budget.capacity), |t| t as i64);
    }

    /// The lowest the bucket went, replaying its events (refunds capped at
    /// the capacity).
    fn lowest_tokens(&self) -> i64 {
        let capacity = i64::from(self.policy.budget.capacity);
        let mut tokens = self.start_tokens;
        let mut lowest = tokens;
        for change in &self.bucket {
            tokens = (tokens + change).min(capacity);
            lowest = lowest.min(tokens);
        }
        lowest
    }

    /// The tokens a checkpoint carries.
    pub fn tokens_of(checkpoint: &str) -> Option<u64> {
        let v: Value = serde_json::from_str(checkpoint).ok()?;
        v["retryState"]["budget"]["tokens"].as_u64()
    }

    /// A request leaves.
    pub fn on_send(&mut self, request: &Request) {
        self.requests += 1;
        let what = format!("{} {}", request.method().as_str(), request.url());
        // After a refusal, a read may learn what an earlier attempt did; a
        // write is never sent again.
        if let Some(refusal) = self.run.iter().find(|s| matches!(s.answered, Answered::Refused { .. })) {
            if request.method() != Method::Get {
                self.violations.push(format!(
                    "{what} sent after {} {} was refused ({:?}) in the same record run",
                    refusal.method.as_str(),
                    refusal.url,
                    refusal.answered
                ));
            }
        }
        let sent = Sent {
            method: request.method(),
            url: request.url().to_string(),
            body: request.body().to_vec(),
            answered: Answered::Unknown,
            answer_at: usize::MAX,
        };
        // A read's attempts are the identical reads in a row that failed; a
        // write's, every identical write of the run (the lookups of a
        // reconciliation come in between), none of which may have succeeded.
        let previous: Vec<&Sent> = if request.method() == Method::Get {
            self.run
                .iter()
                .rev()
                .take_while(|s| s.same(request) && s.answered != Answered::Success)
                .collect()
        } else {
            self.run.iter().rev().filter(|s| s.same(request)).collect()
        };
        if previous.iter().any(|s| s.answered == Answered::Success) {
            self.violations
                .push(format!("{what} sent again after it succeeded in the same record run"));
        }
        let attempt = previous.len() as u32 + 1;
        if attempt > self.policy.max_attempts.max(1) {
            self.violations.push(format!(
                "{what}: attempt {attempt} beyond maxAttempts {}",
                self.policy.max_attempts
            ));
        }
        if let Some(last) = previous.first() {
            self.retries += 1;
            let cost = match last.answered {
                Answered::Technical { timeout: true } => self.policy.budget.timeout_cost,
                _ => self.policy.budget.retry_cost,
            };
            if let Some(change) = self.bucket.get_mut(last.answer_at) {
                *change = -i64::from(cost);
            }
            if self.lowest_tokens() < 0 {
                self.violations.push(format!(
                    "{what}: retry {attempt} beyond the retry budget (capacity {}, cost {cost})",
                    self.policy.budget.capacity
                ));
            }
        }
        self.run.push(sent);
    }

    /// The answer of the last request sent.
    pub fn on_answer(&mut self, answer: &Result<Response, TransportFailure>) {
        let answered = match answer {
            Ok(r) if r.is_success() => Answered::Success,
            Ok(r) => match r.status {
                401 | 403 | 408 | 425 | 429 | 500..=599 | 300..=399 => Answered::Technical {
                    timeout: matches!(r.status, 408 | 504),
                },
                status @ 400..=499 => Answered::Refused {
                    status,
                    business: matches!(status, 404 | 409 | 410),
                },
                _ => Answered::Technical { timeout: false },
            },
            Err(f) => Answered::Technical {
                timeout: f.kind == TransportKind::Timeout,
            },
        };
        if matches!(answered, Answered::Refused { .. }) {
            self.refusals += 1;
        }
        let refund = match answered {
            Answered::Success => i64::from(self.policy.budget.success_refund),
            _ => 0,
        };
        self.bucket.push(refund);
        if let Some(last) = self.run.last_mut() {
            last.answered = answered;
            last.answer_at = self.bucket.len() - 1;
        }
    }

    /// The record `index` ended: a refused run ends quarantined with the
    /// refusal's class, whatever the reads after it did.
    pub fn on_record_done(&mut self, index: usize, outcome: &Outcome) {
        if let Some(Answered::Refused { status, business }) = self
            .run
            .iter()
            .map(|s| s.answered)
            .find(|a| matches!(a, Answered::Refused { .. }))
        {
            let class = if business { "business" } else { "contract" };
            match outcome {
                Outcome::Quarantined { error } if error.class == class => {}
                other => self.violations.push(format!(
                    "record {index}: refused with {status} ({class}) but ended {other:?}"
                )),
            }
        }
        self.run.clear();
    }

    /// The host died: the record run in progress ends with it.
    pub fn on_crash(&mut self) {
        self.run.clear();
    }
}
