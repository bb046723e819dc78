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
//!   reconciling a lost create does not conclude from a pass begun before it
//!   (ascending order: it helps that pass to its end, then reads one of its
//!   own).
//! - **Parking** (unknown order, where a pass reads every page): a
//!   reconciliation with no whole read begun after it *parks* its record.
//!   A parked record keeps its keys (its customer's later records wait) but
//!   not a lane's place, so other records go on; it goes on as soon as such
//!   a read is in progress. When nothing else can (no request in flight, no
//!   lane to step, no record to start), [`kick`] begins one, which serves
//!   every record parked by then: a run reads the whole list once for its
//!   lookups and once per round of lost answers, not once per lost answer.
//!   The one-lane driver hands over to the lanes at the first parking
//!   (`Pool::engaged`), still one request in flight at a time.
//! - **One pool.** A retry's wait, `Retry-After` and the breaker
//!   (`engine.wait`) and the request rate hold every lane back.
//! - **Progress.** Records may end out of order: the checkpoint's cursor is
//!   the first record without an outcome, and a resumed run restarts every
//!   record without one (and skips those with one).
//! - **Determinism.** Lanes are stepped in batch order, records started in
//!   batch order: the same answers in the same order give the same actions.
//!
//! [`FlowOptions::max_in_flight`]: crate::flow::FlowOptions::max_in_flight

mod keys;
#[cfg(test)]
mod parking_tests;
#[cfg(test)]
mod tests;

use super::driver::{queued_or_waiting, send, step, take_answer, unknown_request};
use super::failure::stop_run;
use super::outputs::finish;
use super::tasks::start_record_at;
use super::{InFlight, Purpose, Run, Step};
use crate::errors::TransportFailure;
use crate::flow::{Action, ErrorInfo, Flow, Outcome};
use crate::http::Response;
use crate::usage::UsageError;
use keys::{conflicts, hold, keys_of, Held};
use std::collections::VecDeque;

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
    /// The resource whose whole read this lane's reconciliation waits for
    /// (see Parking above).
    parked: Option<&'static str>,
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
    /// The one-lane driver handed over to the lanes (a record parked).
    engaged: bool,
}

/// Whether the flow runs lanes (more than one request in flight, or a
/// record parked).
pub(super) fn active(flow: &Flow) -> bool {
    flow.options.max_in_flight > 1 || flow.engine.pool.engaged
}

/// The request in flight the host must answer before polling again: one
/// request at a time (`max_in_flight` 1) holds even after the one-lane
/// driver handed over to the lanes.
pub(super) fn awaited(flow: &Flow) -> Option<u64> {
    if flow.options.max_in_flight > 1 {
        return None;
    }
    flow.engine
        .pool
        .lanes
        .iter()
        .find_map(|l| l.in_flight.as_ref().map(|f| f.id))
}

/// Parks the current record (the one-lane driver's, which hands over to the
/// lanes from now on): it waits for a whole read of `resource` begun after
/// its reconciliation.
pub(super) fn park(flow: &mut Flow, resource: &'static str) {
    let pool = &mut flow.engine.pool;
    if !pool.engaged {
        pool.engaged = true;
        let index = flow.engine.run.as_ref().map_or(flow.state.cursor, |r| r.index);
        pool.next = Some(index + 1);
    }
    swap_out(flow, None, Some(resource));
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
fn swap_out(flow: &mut Flow, blocked_on: Option<&'static str>, parked: Option<&'static str>) {
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
            parked,
        },
    );
}

/// The lanes' `poll`: hands out queued actions, honours the pool's wait,
/// steps idle lanes and starts records into free ones until a request is to
/// be sent; `Wait` (`in_flight`) when every lane waits for an answer.
pub(super) fn poll(flow: &mut Flow, now: u64) -> Result<Action, UsageError> {
    loop {
        if let Some(action) = queued_or_waiting(flow, now) {
            return Ok(action);
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
            if start_next(flow, now) || kick(flow) {
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
/// for another lane's list page nor for a whole read; none while
/// `max_in_flight` requests are in flight (parked records hold no place).
fn steppable(flow: &Flow) -> Option<usize> {
    let lanes = &flow.engine.pool.lanes;
    let in_flight = lanes.iter().filter(|l| l.in_flight.is_some()).count();
    if in_flight >= flow.options.max_in_flight as usize {
        return None;
    }
    lanes.iter().position(|l| {
        l.in_flight.is_none()
            && l.blocked_on.map_or(true, |r| !busy_but(flow, r, l.run.index))
            && l.parked.map_or(true, |r| {
                let mark = l.run.search.as_ref().map_or(0, |s| s.mark);
                flow.index.serves(r, mark)
            })
    })
}

/// Whether a lane's place is free: lanes not parked below `max_in_flight`,
/// and fewer than [`LOOKAHEAD`] parked (then the run reads the whole list
/// for them before it starts more records).
fn room(flow: &Flow) -> bool {
    let lanes = &flow.engine.pool.lanes;
    let parked = lanes.iter().filter(|l| l.parked.is_some()).count();
    lanes.len() - parked < flow.options.max_in_flight as usize && parked < LOOKAHEAD
}

/// Whether a lane is free and a record not looked at, or waiting, may start.
fn may_start(flow: &Flow) -> bool {
    let pool = &flow.engine.pool;
    room(flow) && (!pool.waiting.is_empty() || pool.next.unwrap_or(flow.state.cursor) < flow.items.len())
}

/// When nothing else can go on (no request in flight, no lane to step, no
/// record to start) and records are parked: begins a whole read of the
/// first parked record's resource, which serves every record parked by then
/// (a read in progress, begun before them, is dropped: the new one reads
/// all it would have). Whether it began one.
fn kick(flow: &mut Flow) -> bool {
    let lanes = &flow.engine.pool.lanes;
    if lanes.iter().any(|l| l.in_flight.is_some()) {
        return false;
    }
    let Some(resource) = lanes.iter().find_map(|l| l.parked) else {
        return false;
    };
    flow.index.abandon_pass(resource);
    flow.index.begin_pass(resource, flow.profile.lists.order)
}

/// Steps the first steppable lane once: `None` when there is none,
/// `Some(Some(send))` when it sends, `Some(None)` otherwise.
fn step_lane(flow: &mut Flow, now: u64) -> Option<Option<Action>> {
    let pos = steppable(flow)?;
    swap_in(flow, pos);
    match step(flow, now) {
        Step::Continue => swap_out(flow, None, None),
        Step::Send(purpose, request) => return Some(dispatch(flow, purpose, request, None, now)),
        Step::Resend(purpose, request, attempt) => return Some(dispatch(flow, purpose, request, Some(attempt), now)),
        Step::Finish(outcome) => {
            finish(flow, outcome, now);
            swap_out(flow, None, None);
        }
        Step::Stop(info) => stop_run(flow, &info, now),
        Step::Park(resource) => swap_out(flow, None, Some(resource)),
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
            swap_out(flow, Some(resource), None);
            return None;
        }
    }
    let action = send(flow, purpose, request, resend.unwrap_or(1), now);
    swap_out(flow, None, None);
    Some(action)
}

/// Starts the first record that may start into a free lane; whether one did
/// (it may have ended at once: a refused line, a customer waiting).
fn start_next(flow: &mut Flow, now: u64) -> bool {
    if !room(flow) {
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
    swap_out(flow, None, None);
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
    swap_out(flow, None, None);
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
