//! Many requests in flight ([`FlowOptions::max_in_flight`] above 1).
//!
//! Each *lane* holds one record in progress (its [`Run`]) and the request it
//! waits for. The rest of the engine works on "the current record"
//! (`flow.engine.run` and `flow.engine.in_flight`): a lane is swapped in
//! there while it is stepped or answered, and swapped back out after, so
//! every rule of a record (ledger first, reconcile before creating again,
//! read-back) holds per lane exactly as with one request at a time.
//!
//! - **Independence.** A record starts only when no earlier unfinished
//!   record (in a lane, or waiting to start) shares a key with it: its
//!   customer ([`crate::model::identity`]), the documents it is or refers to
//!   (written: an invoice updates its order's quantities) and the product
//!   SKUs it is (written) or names (read: two orders naming one product run
//!   together, but not beside that product's own record). So one customer's
//!   records keep their order, and a product is never created twice nor
//!   looked up before its create ended.
//! - **The marker index** is shared: at most one lane reads a resource's
//!   list pages at a time (the others wait for that page's answer, then ask
//!   the index again), so no page is read twice in parallel and no lane
//!   concludes absence from a page another lane is still reading. A lookup
//!   reconciling a lost create does not join a pass begun before: it helps
//!   that pass to its end, then reads one of its own.
//! - **One pool.** A retry's wait, `Retry-After` and the breaker
//!   (`engine.wait`) and the request rate hold every lane back.
//! - **Progress.** Records may end out of order: the checkpoint's cursor is
//!   the first record without an outcome, and a resumed run restarts every
//!   record without one (and skips those with one).
//! - **Determinism.** Lanes are stepped in batch order, records started in
//!   batch order: the same answers in the same order give the same actions.
//!
//! [`FlowOptions::max_in_flight`]: crate::flow::FlowOptions::max_in_flight

use super::driver::{send, step, take_answer, unknown_request};
use super::failure::stop_run;
use super::outputs::finish;
use super::tasks::{customer_of, start_record_at};
use super::{InFlight, Purpose, Run, Step};
use crate::errors::TransportFailure;
use crate::flow::{Action, ErrorInfo, Flow, Outcome};
use crate::http::Response;
use crate::model::Record;
use crate::usage::UsageError;
use std::collections::{BTreeMap, VecDeque};

/// How long a host waits for an answer before polling again anyway, when
/// every lane waits for one (`Wait` with reason `in_flight`).
pub(super) const IN_FLIGHT_RECHECK_MS: u64 = 1_000;

/// Most records looked at beyond those in lanes for one that may start.
const LOOKAHEAD: usize = 256;

/// A record in progress and the request it waits for.
#[derive(Debug)]
pub(super) struct Lane {
    run: Run,
    in_flight: Option<InFlight>,
    /// The resource whose list page another lane is reading: this lane
    /// waits for that answer before it is stepped again.
    blocked_on: Option<&'static str>,
}

/// The lanes and the records waiting for one.
#[derive(Debug, Default)]
pub(super) struct Pool {
    lanes: Vec<Lane>,
    /// Records looked at, not started (they share a key with an earlier one).
    waiting: Vec<usize>,
    /// The next record not looked at yet (`None`: the checkpoint's cursor).
    next: Option<usize>,
    /// When the request rate lets the next request go (µs since the epoch).
    rate_next_us: u64,
}

/// Whether the flow runs lanes (more than one request in flight).
pub(super) fn active(flow: &Flow) -> bool {
    flow.options.max_in_flight > 1
}

/// The lane's wait before the next request under the rate ceiling, if any.
pub(super) fn rate_wait(flow: &Flow, now: u64) -> Option<Action> {
    flow.options.max_requests_per_second?;
    let until = flow.engine.pool.rate_next_us.div_ceil(1_000);
    (until > now).then(|| Action::Wait {
        until,
        reason: "rate_limit".into(),
    })
}

/// Takes a sent request into the rate's account.
pub(super) fn rate_sent(flow: &mut Flow, now: u64) {
    if let Some(rps) = flow.options.max_requests_per_second {
        let pool = &mut flow.engine.pool;
        let spacing = 1_000_000 / u64::from(rps.max(1));
        pool.rate_next_us = pool.rate_next_us.max(now.saturating_mul(1_000)).saturating_add(spacing);
    }
}

/// A key a record holds while it runs: what it is (`kind`, id).
type Key = (&'static str, String);

/// The keys of record `index`, each with whether the record writes it.
fn keys_of(flow: &Flow, index: usize) -> Vec<(Key, bool)> {
    let Ok(record) = flow.items[index].record.as_ref() else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    if let Some(customer) = customer_of(flow, index) {
        keys.push((("customer", customer), true));
    }
    let mut write = |kind: &'static str, id: &str| keys.push(((kind, id.to_string()), true));
    let read_lines = |lines: &[crate::model::Line]| -> Vec<(Key, bool)> {
        lines.iter().map(|l| (("sku", l.sku.clone()), false)).collect()
    };
    let lines = match record {
        Record::Customer(_) => Vec::new(),
        Record::Product(p) => {
            write("sku", &p.sku);
            Vec::new()
        }
        Record::Quote(q) => {
            write("quote", &q.quote_number);
            read_lines(&q.lines)
        }
        Record::Order(o) => {
            write("order", &o.order_number);
            if let Some(quote) = &o.source_quote {
                write("quote", quote);
            }
            read_lines(&o.lines)
        }
        Record::Invoice(i) => {
            write("invoice", &i.invoice_number);
            write("order", &i.source_order);
            read_lines(&i.lines)
        }
        Record::StockMovement(m) => {
            write("movement", &m.movement_id);
            if let Some(order) = &m.source_order {
                write("order", order);
            }
            vec![(("sku", m.sku.clone()), false)]
        }
        Record::Cancellation(c) => {
            write("order", &c.order_number);
            Vec::new()
        }
    };
    keys.extend(lines);
    keys
}

/// Keys held (true: written by one of their holders).
type Held = BTreeMap<Key, bool>;

fn conflicts(held: &Held, keys: &[(Key, bool)]) -> bool {
    keys.iter()
        .any(|(k, write)| held.get(k).is_some_and(|held_write| *write || *held_write))
}

fn hold(held: &mut Held, keys: Vec<(Key, bool)>) {
    for (k, write) in keys {
        *held.entry(k).or_default() |= write;
    }
}

/// Whether a lane reads (or is about to read again) a list page of `resource`.
fn busy(flow: &Flow, resource: &str) -> bool {
    busy_but(flow, resource, usize::MAX)
}

/// Whether a lane other than record `except`'s reads (or is about to read
/// again) a list page of `resource`.
fn busy_but(flow: &Flow, resource: &str, except: usize) -> bool {
    let lookup_of = |p: &Purpose| matches!(p, Purpose::Lookup(d, _) if d.resource() == resource);
    flow.engine.pool.lanes.iter().any(|l| {
        l.run.index != except
            && (l.in_flight.as_ref().is_some_and(|f| lookup_of(&f.purpose))
                || l.run.resend.as_ref().is_some_and(|(p, _, _)| lookup_of(p)))
    })
}

/// Swaps lane `pos` in as the current record.
fn swap_in(flow: &mut Flow, pos: usize) {
    let lane = flow.engine.pool.lanes.remove(pos);
    flow.engine.run = Some(lane.run);
    flow.engine.in_flight = lane.in_flight;
}

/// Swaps the current record back out into a lane (none when it ended).
fn swap_out(flow: &mut Flow, blocked_on: Option<&'static str>) {
    let in_flight = flow.engine.in_flight.take();
    let Some(run) = flow.engine.run.take() else {
        return;
    };
    let lanes = &mut flow.engine.pool.lanes;
    let at = lanes.partition_point(|l| l.run.index < run.index);
    lanes.insert(
        at,
        Lane {
            run,
            in_flight,
            blocked_on,
        },
    );
}

/// The lanes' `poll`: hands out queued actions, honours the pool's wait,
/// steps idle lanes and starts records into free ones until a request is to
/// be sent; `Wait` (`in_flight`) when every lane waits for an answer.
pub(super) fn poll(flow: &mut Flow, now: u64) -> Result<Action, UsageError> {
    loop {
        if let Some((action, publishes)) = flow.engine.queue.pop_front() {
            flow.engine.awaiting_publish = publishes;
            return Ok(action);
        }
        if let Some((until, reason)) = &flow.engine.wait {
            if now < *until {
                return Ok(Action::Wait {
                    until: *until,
                    reason: reason.clone(),
                });
            }
            flow.engine.wait = None;
        }
        if let Some(info) = flow.state.stopped.clone() {
            if wind_down(flow, &info, now) {
                continue;
            }
        } else {
            if let Some(wait) = rate_wait(flow, now) {
                if steppable(flow).is_some() || may_start(flow) {
                    return Ok(wait);
                }
            }
            match step_lane(flow, now) {
                Some(Some(action)) => return Ok(action),
                Some(None) => continue,
                None => {}
            }
            if start_next(flow, now) {
                continue;
            }
        }
        if flow.engine.pool.lanes.is_empty() {
            return Ok(Action::Done {
                summary: flow.summary(),
            });
        }
        return Ok(Action::Wait {
            until: now.saturating_add(IN_FLIGHT_RECHECK_MS),
            reason: "in_flight".into(),
        });
    }
}

/// The first lane that may be stepped: no request in flight, not waiting
/// for another lane's list page.
fn steppable(flow: &Flow) -> Option<usize> {
    let lanes = &flow.engine.pool.lanes;
    lanes
        .iter()
        .position(|l| l.in_flight.is_none() && l.blocked_on.map_or(true, |r| !busy_but(flow, r, l.run.index)))
}

/// Whether a lane is free and a record not looked at, or waiting, may start.
fn may_start(flow: &Flow) -> bool {
    let pool = &flow.engine.pool;
    pool.lanes.len() < flow.options.max_in_flight as usize
        && (!pool.waiting.is_empty() || pool.next.unwrap_or(flow.state.cursor) < flow.items.len())
}

/// Steps the first steppable lane once: `None` when there is none,
/// `Some(Some(send))` when it sends, `Some(None)` otherwise.
fn step_lane(flow: &mut Flow, now: u64) -> Option<Option<Action>> {
    let pos = steppable(flow)?;
    swap_in(flow, pos);
    match step(flow, now) {
        Step::Continue => swap_out(flow, None),
        Step::Send(purpose, request) => return Some(dispatch(flow, purpose, request, None, now)),
        Step::Resend(purpose, request, attempt) => return Some(dispatch(flow, purpose, request, Some(attempt), now)),
        Step::Finish(outcome) => {
            finish(flow, outcome, now);
            swap_out(flow, None);
        }
        Step::Stop(info) => stop_run(flow, &info, now),
    }
    Some(None)
}

/// Sends the current lane's request, unless it reads a list page of a
/// resource another lane is reading: then the lane waits for that answer
/// (the step had no effect but its lookup's start; a resend is kept).
fn dispatch(
    flow: &mut Flow,
    purpose: Purpose,
    request: crate::http::Request,
    resend: Option<u32>,
    now: u64,
) -> Option<Action> {
    if let Purpose::Lookup(domain, _) = &purpose {
        let resource = domain.resource();
        if busy(flow, resource) {
            if let (Some(attempt), Some(run)) = (resend, flow.engine.run.as_mut()) {
                run.resend = Some((purpose, request, attempt));
            }
            swap_out(flow, Some(resource));
            return None;
        }
    }
    let action = send(flow, purpose, request, resend.unwrap_or(1), now);
    swap_out(flow, None);
    Some(action)
}

/// Starts the first record that may start into a free lane; whether one did
/// (it may have ended at once: a refused line, a customer waiting).
fn start_next(flow: &mut Flow, now: u64) -> bool {
    let capacity = flow.options.max_in_flight as usize;
    if flow.engine.pool.lanes.len() >= capacity {
        return false;
    }
    let mut held = Held::new();
    for lane in &flow.engine.pool.lanes {
        hold(&mut held, keys_of(flow, lane.run.index));
    }
    let waiting = std::mem::take(&mut flow.engine.pool.waiting);
    for (at, &index) in waiting.iter().enumerate() {
        let keys = keys_of(flow, index);
        if conflicts(&held, &keys) {
            hold(&mut held, keys);
            continue;
        }
        let mut rest = waiting;
        rest.remove(at);
        flow.engine.pool.waiting = rest;
        start(flow, index, now);
        return true;
    }
    flow.engine.pool.waiting = waiting;
    let total = flow.items.len();
    let mut next = flow.engine.pool.next.unwrap_or(flow.state.cursor);
    while next < total && flow.engine.pool.waiting.len() < LOOKAHEAD {
        let index = next;
        next += 1;
        flow.engine.pool.next = Some(next);
        if flow.state.outcomes[index].is_some() {
            continue; // ended before a resume
        }
        let keys = keys_of(flow, index);
        if conflicts(&held, &keys) {
            hold(&mut held, keys);
            flow.engine.pool.waiting.push(index);
            continue;
        }
        start(flow, index, now);
        return true;
    }
    flow.engine.pool.next = Some(next);
    false
}

/// Starts record `index` in a new lane (none when it ended at once).
fn start(flow: &mut Flow, index: usize, now: u64) {
    start_record_at(flow, index, now);
    swap_out(flow, None);
}

/// After a stop: defers every record not in a lane, then each lane's record
/// once its request (if any) was answered; whether it ended one.
fn wind_down(flow: &mut Flow, info: &ErrorInfo, now: u64) -> bool {
    let deferred = || Outcome::Deferred {
        not_before: now,
        error: info.clone(),
    };
    if let Some(pos) = flow.engine.pool.lanes.iter().position(|l| l.in_flight.is_none()) {
        swap_in(flow, pos);
        finish(flow, deferred(), now);
        return true;
    }
    flow.engine.pool.waiting.clear();
    flow.engine.pool.next = Some(flow.items.len());
    let in_lanes: Vec<usize> = flow.engine.pool.lanes.iter().map(|l| l.run.index).collect();
    let unfinished =
        (flow.state.cursor..flow.items.len()).find(|&i| flow.state.outcomes[i].is_none() && !in_lanes.contains(&i));
    let Some(index) = unfinished else {
        return false;
    };
    flow.engine.run = Some(Run::new(index, VecDeque::new(), String::new()));
    finish(flow, deferred(), now);
    true
}

/// The lanes' `on_answer`: routes the answer to the lane of `request_id`.
pub(super) fn on_answer(
    flow: &mut Flow,
    request_id: u64,
    result: Result<Response, TransportFailure>,
    now: u64,
) -> Result<(), UsageError> {
    let lanes = &flow.engine.pool.lanes;
    let Some(pos) = lanes
        .iter()
        .position(|l| l.in_flight.as_ref().is_some_and(|f| f.id == request_id))
    else {
        return Err(unknown_request(flow, request_id));
    };
    swap_in(flow, pos);
    let answered = take_answer(flow, request_id, result, now);
    swap_out(flow, None);
    answered
}

/// The record index of the request in flight `request_id`.
pub(in crate::flow) fn record_of(flow: &Flow, request_id: u64) -> Option<usize> {
    if let (Some(f), Some(r)) = (&flow.engine.in_flight, &flow.engine.run) {
        if f.id == request_id {
            return Some(r.index);
        }
    }
    flow.engine
        .pool
        .lanes
        .iter()
        .find(|l| l.in_flight.as_ref().is_some_and(|f| f.id == request_id))
        .map(|l| l.run.index)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::flow::ledger::{Domain, EntryState};
    use crate::flow::FlowOptions;
    use serde_json::Value;

    const NOW: u64 = 1_000_000;

    /// `envelope` with its customer set to `customer`.
    fn of(customer: &str, mut envelope: Value) -> Value {
        envelope["record"]["customerExternalId"] = customer.into();
        envelope
    }

    /// A flow over `envelopes` with `k` requests in flight, customers C1..C3 known.
    fn lanes_of(k: u32, envelopes: &[Value]) -> Flow {
        let mut flow = flow_of(envelopes);
        flow.options = FlowOptions {
            max_in_flight: k,
            ..FlowOptions::default()
        };
        for (i, c) in ["C1", "C2", "C3"].iter().enumerate() {
            put_done(&mut flow, Domain::Customer, c, 11 + i as u64);
        }
        flow
    }

    /// Polls until a request or a wait; publishes and record ends are collected.
    fn next(flow: &mut Flow, now: u64, ended: &mut Vec<(usize, Outcome)>) -> Action {
        loop {
            match flow.poll(now).expect("poll") {
                Action::Publish { .. } => {}
                Action::RecordDone { index, outcome, .. } => ended.push((index, outcome)),
                other => return other,
            }
        }
    }

    fn sent(action: Action) -> (u64, String) {
        match action {
            Action::Send { request_id, request } => (
                request_id,
                format!(
                    "{} {} {}",
                    request.method().as_str(),
                    request.endpoint(),
                    String::from_utf8_lossy(request.body())
                ),
            ),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn waits_for_an_answer(action: &Action) -> bool {
        matches!(action, Action::Wait { until, reason } if reason == "in_flight" && *until == NOW + IN_FLIGHT_RECHECK_MS)
    }

    fn sheet(id: u64, title: &str) -> Response {
        answer(
            201,
            &format!("<proposal_sheet><id>{id}</id><title>{title}</title></proposal_sheet>"),
        )
    }

    #[test]
    fn two_customers_interleave_and_answers_in_reverse_order_land_in_their_lanes() {
        let mut flow = lanes_of(4, &[of("C1", quote("Q1")), of("C2", quote("Q2"))]);
        flow.options.read_back = false;
        let mut ended = Vec::new();
        let (q1, first) = sent(next(&mut flow, NOW, &mut ended));
        let (q2, second) = sent(next(&mut flow, NOW, &mut ended));
        assert!(first.starts_with("POST /proposal_sheets.xml") && first.contains("<title>Q1</title>"));
        assert!(second.starts_with("POST /proposal_sheets.xml") && second.contains("<title>Q2</title>"));
        assert!(waits_for_an_answer(&next(&mut flow, NOW, &mut ended)));
        flow.on_response(q2, sheet(402, "Q2"), NOW).unwrap();
        assert!(waits_for_an_answer(&next(&mut flow, NOW, &mut ended)));
        assert_eq!(ended, [(1, Outcome::Synced { incwo_id: Some(402) })]);
        assert_eq!(flow.state.cursor, 0, "record 0 has no outcome yet");
        flow.on_response(q1, sheet(401, "Q1"), NOW).unwrap();
        assert!(matches!(next(&mut flow, NOW, &mut ended), Action::Done { .. }));
        assert_eq!(ended[1], (0, Outcome::Synced { incwo_id: Some(401) }));
        assert_eq!(flow.state.cursor, 2);
        assert_eq!(
            flow.on_response(q1, sheet(401, "Q1"), NOW).unwrap_err().code,
            "usage.unknown_request"
        );
    }

    #[test]
    fn one_customers_records_never_overtake_each_other() {
        let mut flow = lanes_of(4, &[quote("Q1"), of("C2", quote("Q2")), quote("Q3")]);
        flow.options.read_back = false;
        let mut ended = Vec::new();
        let (q1, _) = sent(next(&mut flow, NOW, &mut ended));
        let (q2, body) = sent(next(&mut flow, NOW, &mut ended));
        assert!(body.contains("<title>Q2</title>"), "another customer goes ahead");
        assert!(
            waits_for_an_answer(&next(&mut flow, NOW, &mut ended)),
            "Q3 waits behind Q1"
        );
        flow.on_response(q2, sheet(402, "Q2"), NOW).unwrap();
        assert!(waits_for_an_answer(&next(&mut flow, NOW, &mut ended)));
        flow.on_response(q1, sheet(401, "Q1"), NOW).unwrap();
        let (_, body) = sent(next(&mut flow, NOW, &mut ended));
        assert!(body.contains("<title>Q3</title>"));
        let order: Vec<usize> = ended.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, [1, 0]);
    }

    #[test]
    fn a_product_shared_by_orders_of_two_customers_is_created_once_before_either() {
        let mut flow = lanes_of(
            4,
            &[
                product("P1"),
                of("C1", order("O1", None, &[("P1", "1")])),
                of("C2", order("O2", None, &[("P1", "2")])),
            ],
        );
        flow.options.read_back = false;
        let mut ended = Vec::new();
        let (lookup, request) = sent(next(&mut flow, NOW, &mut ended));
        assert!(request.starts_with("GET /customer_products.xml"), "{request}");
        assert!(
            waits_for_an_answer(&next(&mut flow, NOW, &mut ended)),
            "the orders wait for their product"
        );
        flow.on_response(lookup, empty_page("customer_products"), NOW).unwrap();
        let (create, request) = sent(next(&mut flow, NOW, &mut ended));
        assert!(request.starts_with("POST /customer_products.xml"), "{request}");
        assert!(waits_for_an_answer(&next(&mut flow, NOW, &mut ended)));
        let body = "<customer_product><id>31</id><reference>P1</reference></customer_product>";
        flow.on_response(create, answer(201, body), NOW).unwrap();
        let (_, o1) = sent(next(&mut flow, NOW, &mut ended));
        let (_, o2) = sent(next(&mut flow, NOW, &mut ended));
        for (o, title) in [(&o1, "O1"), (&o2, "O2")] {
            assert!(o.starts_with("POST /proposal_sheets.xml"), "{o}");
            assert!(o.contains(&format!("<title>{title}</title>")), "{o}");
            assert!(o.contains("<customer_product_id>31</customer_product_id>"), "{o}");
        }
        assert_eq!(ended, [(0, Outcome::Synced { incwo_id: Some(31) })]);
    }

    #[test]
    fn one_lane_at_a_time_reads_a_resources_pages_and_the_others_ask_the_index_again() {
        let mut flow = lanes_of(4, &[customer("N1"), customer("N2")]);
        let mut ended = Vec::new();
        let (lookup, request) = sent(next(&mut flow, NOW, &mut ended));
        assert!(request.starts_with("GET /firms.xml"), "{request}");
        assert!(
            waits_for_an_answer(&next(&mut flow, NOW, &mut ended)),
            "N2 waits for the same page"
        );
        flow.on_response(lookup, empty_page("firms"), NOW).unwrap();
        let (_, a) = sent(next(&mut flow, NOW, &mut ended));
        let (_, b) = sent(next(&mut flow, NOW, &mut ended));
        assert!(
            a.starts_with("POST /firms.xml") && b.starts_with("POST /firms.xml"),
            "absence proven once for both: {a} / {b}"
        );
    }

    #[test]
    fn a_retry_after_holds_the_whole_pool_back() {
        let mut flow = lanes_of(2, &[quote("Q1"), of("C2", quote("Q2")), of("C3", quote("Q3"))]);
        let mut ended = Vec::new();
        let (q1, _) = sent(next(&mut flow, NOW, &mut ended));
        let (_q2, _) = sent(next(&mut flow, NOW, &mut ended));
        let mut busy = answer(429, "");
        busy.headers = vec![("Retry-After".into(), "5".into())];
        flow.on_response(q1, busy, NOW).unwrap();
        match next(&mut flow, NOW, &mut ended) {
            Action::Wait { until, reason } => assert_eq!((until, reason.as_str()), (NOW + 5_000, "retry_backoff")),
            other => panic!("expected the pool to wait, got {other:?}"),
        }
        let (_, again) = sent(next(&mut flow, NOW + 5_000, &mut ended));
        assert!(again.contains("<title>Q1</title>"), "Q1 is sent again first: {again}");
    }

    #[test]
    fn a_resumed_run_skips_records_that_ended_and_restarts_the_others() {
        let mut flow = lanes_of(4, &[quote("Q1"), of("C2", quote("Q2"))]);
        flow.options.read_back = false;
        let mut ended = Vec::new();
        let (_q1, _) = sent(next(&mut flow, NOW, &mut ended));
        let (q2, _) = sent(next(&mut flow, NOW, &mut ended));
        flow.on_response(q2, sheet(402, "Q2"), NOW).unwrap();
        assert!(waits_for_an_answer(&next(&mut flow, NOW, &mut ended)));
        let checkpoint = flow.checkpoint();
        let mut resumed = Flow::resume(
            &checkpoint,
            flow.items.clone(),
            flow.profile.clone(),
            flow.config.clone(),
            flow.options.clone(),
            NOW,
        )
        .unwrap();
        let mut again = Vec::new();
        let (_, request) = sent(next(&mut resumed, NOW, &mut again));
        assert!(
            request.starts_with("GET /proposal_sheets.xml"),
            "Q1's pending create is reconciled first: {request}"
        );
        assert!(
            waits_for_an_answer(&next(&mut resumed, NOW, &mut again)),
            "Q2 is not redone"
        );
        assert_eq!(
            crate::flow::engine::entry(&resumed, Domain::Quote, "Q2").map(|e| e.state),
            Some(EntryState::Done)
        );
    }

    #[test]
    fn a_stop_ends_idle_records_at_once_and_a_lane_in_flight_after_its_answer() {
        let mut flow = lanes_of(2, &[quote("Q1"), of("C2", quote("Q2")), of("C3", quote("Q3"))]);
        let mut ended = Vec::new();
        let (q1, _) = sent(next(&mut flow, NOW, &mut ended));
        let (q2, _) = sent(next(&mut flow, NOW, &mut ended));
        flow.on_response(q1, answer(401, ""), NOW).unwrap();
        assert!(waits_for_an_answer(&next(&mut flow, NOW, &mut ended)));
        let order: Vec<usize> = ended.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, [0, 2], "Q2's request is still in flight");
        flow.on_response(q2, sheet(402, "Q2"), NOW).unwrap();
        assert!(matches!(next(&mut flow, NOW, &mut ended), Action::Done { .. }));
        assert_eq!(
            crate::flow::engine::entry(&flow, Domain::Quote, "Q2").and_then(|e| e.incwo_id),
            Some(402),
            "its answer is recorded"
        );
        assert!(ended
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Deferred { error, .. } if error.code == "auth.unauthorized")));
        assert_eq!(flow.state.cursor, 3);
    }

    #[test]
    fn a_rate_ceiling_spaces_the_requests() {
        let mut flow = lanes_of(4, &[quote("Q1"), of("C2", quote("Q2"))]);
        flow.options.max_requests_per_second = Some(4);
        let mut ended = Vec::new();
        sent(next(&mut flow, NOW, &mut ended));
        match next(&mut flow, NOW, &mut ended) {
            Action::Wait { until, reason } => assert_eq!((until, reason.as_str()), (NOW + 250, "rate_limit")),
            other => panic!("expected a wait, got {other:?}"),
        }
        sent(next(&mut flow, NOW + 250, &mut ended));
    }

    #[test]
    fn a_list_page_to_read_again_keeps_its_resource_until_it_is_read() {
        let mut flow = lanes_of(2, &[customer("N1"), customer("N2")]);
        let mut ended = Vec::new();
        let (lookup, _) = sent(next(&mut flow, NOW, &mut ended));
        let mut down = answer(503, "");
        down.headers = vec![("Retry-After".into(), "1".into())];
        flow.on_response(lookup, down, NOW).unwrap();
        assert!(matches!(next(&mut flow, NOW, &mut ended), Action::Wait { reason, .. } if reason == "retry_backoff"));
        let later = NOW + 1_000;
        let (again, request) = sent(next(&mut flow, later, &mut ended));
        assert!(request.starts_with("GET /firms.xml"), "{request}");
        assert!(
            matches!(next(&mut flow, later, &mut ended), Action::Wait { reason, .. } if reason == "in_flight"),
            "N2 does not read the page N1 reads again"
        );
        flow.on_response(again, empty_page("firms"), later).unwrap();
        let (_, a) = sent(next(&mut flow, later, &mut ended));
        let (_, b) = sent(next(&mut flow, later, &mut ended));
        assert!(a.starts_with("POST /firms.xml") && b.starts_with("POST /firms.xml"));
    }

    #[test]
    fn a_reconciliation_does_not_conclude_from_a_pass_begun_before_it() {
        use super::super::lookup::search;
        let mut flow = lanes_of(2, &[customer("N1")]);
        super::super::testing::begin(&mut flow);
        flow.index.begin_pass("firms"); // begun by another lane, before the lost create
        let helped = search(&mut flow, Domain::Customer, "N1", true);
        assert!(matches!(
            helped,
            Err(Step::Send(Purpose::Lookup(Domain::Customer, 1), _))
        ));
        flow.index.feed(
            Domain::Customer,
            1,
            &crate::adapters::Adapter::new(Domain::Customer)
                .parse_page(&empty_page("firms").body)
                .unwrap(),
        );
        assert_eq!(flow.index.next_page("firms"), None, "that pass is over");
        let own = search(&mut flow, Domain::Customer, "N1", true);
        assert!(
            matches!(own, Err(Step::Send(Purpose::Lookup(Domain::Customer, _), _))),
            "a pass of its own is read before absence is concluded"
        );
    }

    #[test]
    fn keys_say_what_a_record_writes_and_what_it_only_reads() {
        let flow = lanes_of(2, &[invoice("F1", "O1", &[("P1", "1")]), product("P1")]);
        let keys = keys_of(&flow, 0);
        assert!(keys.contains(&(("order", "O1".into()), true)));
        assert!(keys.contains(&(("invoice", "F1".into()), true)));
        assert!(keys.contains(&(("sku", "P1".into()), false)));
        let mut held = Held::new();
        hold(&mut held, keys);
        assert!(conflicts(&held, &keys_of(&flow, 1)), "the product's record writes P1");
        assert!(!conflicts(&held, &[(("sku", "P1".into()), false)]), "two readers share");
    }
}
