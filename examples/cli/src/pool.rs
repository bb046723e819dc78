//! The host loop with many requests in flight (`--max-in-flight K`, the
//! flow's `maxInFlight`): the flow is driven from this thread alone, its
//! requests sent by a bounded pool of K worker threads.
//!
//! poll → the `Send`s the flow hands out are collected until it has nothing
//! more to do (`Wait`); one save covers them all (durable when one writes:
//! what a write implies is on disk before it leaves, as [`host::drive`]
//! does per request) and they go to the pool → while requests are in
//! flight, a `Wait` takes one finished answer (or ends at `until`) and
//! hands it to the flow → poll again.

use crate::host::{self, RunLog, Stop, Transport};
use incwo_core::errors::TransportFailure;
use incwo_core::flow::{Action, Flow};
use incwo_core::http::{Method, Request, Response};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Answer = (u64, Result<Response, TransportFailure>);

/// Drives `flow` until `Done` (or `should_stop()` after an action) with up
/// to `workers` requests in flight; `save`, `on_action` and `should_stop`
/// as in [`host::drive`]. When stopped, the requests in flight are still
/// answered and saved before it returns.
pub fn drive(
    flow: &mut Flow,
    transport: &Transport,
    workers: usize,
    log: &mut RunLog,
    save: &mut dyn FnMut(&mut Flow, bool) -> Result<(), String>,
    on_action: &mut dyn FnMut(&Action),
    should_stop: &mut dyn FnMut(usize) -> bool,
) -> Result<Stop, String> {
    let (job_tx, job_rx) = mpsc::channel::<(u64, Request)>();
    let (answer_tx, answer_rx) = mpsc::channel::<Answer>();
    let jobs = Arc::new(Mutex::new(job_rx));
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let (jobs, answers) = (jobs.clone(), answer_tx.clone());
            scope.spawn(move || loop {
                let job = jobs.lock().map_err(|_| ()).and_then(|rx| rx.recv().map_err(|_| ()));
                let Ok((id, request)) = job else {
                    return; // the loop ended: no more requests
                };
                if answers.send((id, transport.send(&request))).is_err() {
                    return;
                }
            });
        }
        drop(answer_tx);
        let result = run(flow, log, save, on_action, should_stop, &job_tx, &answer_rx);
        drop(job_tx); // the workers end once their request is answered
        result
    })
}

/// The loop of [`drive`], over the pool's channels.
fn run(
    flow: &mut Flow,
    log: &mut RunLog,
    save: &mut dyn FnMut(&mut Flow, bool) -> Result<(), String>,
    on_action: &mut dyn FnMut(&Action),
    should_stop: &mut dyn FnMut(usize) -> bool,
    jobs: &mpsc::Sender<(u64, Request)>,
    answers: &mpsc::Receiver<Answer>,
) -> Result<Stop, String> {
    let mut in_flight = 0usize;
    let mut stopping = false;
    // Requests handed out by the flow, not sent yet: one durable save covers
    // them all (each write's pending entry is in it) before they leave.
    let mut ready: Vec<(u64, Request)> = Vec::new();
    loop {
        if stopping {
            dispatch(flow, save, jobs, &mut ready, &mut in_flight)?;
            // Stopped: no new request; the ones in flight are answered and saved.
            if in_flight == 0 {
                return Ok(Stop::Interrupted);
            }
            let answer = answers.recv().map_err(|_| "the request pool ended early".to_string())?;
            in_flight -= 1;
            hand_over(flow, log, answer)?;
            save(flow, false)?;
            continue;
        }
        let started = Instant::now();
        let action = flow.poll(host::now_ms()).map_err(|e| e.to_string())?;
        log.core_time += started.elapsed();
        on_action(&action);
        match &action {
            Action::Send { request_id, request } => {
                *log.requests.entry(request.method().as_str().to_string()).or_default() += 1;
                ready.push((*request_id, request.clone()));
            }
            Action::Wait { until, .. } => {
                dispatch(flow, save, jobs, &mut ready, &mut in_flight)?;
                let wait = Duration::from_millis(until.saturating_sub(host::now_ms()).min(120_000));
                if in_flight > 0 {
                    // Wait for the next answer, or until `until`.
                    match answers.recv_timeout(wait) {
                        Ok(answer) => {
                            in_flight -= 1;
                            hand_over(flow, log, answer)?;
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return Err("the request pool ended early".into()),
                    }
                } else if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
            }
            Action::Publish { queue, event } => {
                log.published
                    .push((queue.clone(), serde_json::to_value(event).unwrap_or_default()));
            }
            Action::RecordDone { .. } => {}
            Action::Done { .. } => {
                save(flow, true)?;
                log.actions += 1;
                return Ok(Stop::Done);
            }
        }
        save(flow, false)?;
        log.actions += 1;
        if should_stop(log.actions) {
            stopping = true;
        }
    }
}

/// Sends the requests handed out so far, after one save that covers them
/// all (durable when one of them writes).
fn dispatch(
    flow: &mut Flow,
    save: &mut dyn FnMut(&mut Flow, bool) -> Result<(), String>,
    jobs: &mpsc::Sender<(u64, Request)>,
    ready: &mut Vec<(u64, Request)>,
    in_flight: &mut usize,
) -> Result<(), String> {
    if ready.is_empty() {
        return Ok(());
    }
    save(flow, ready.iter().any(|(_, r)| r.method() != Method::Get))?;
    for (id, request) in ready.drain(..) {
        jobs.send((id, request))
            .map_err(|_| "the request pool ended early".to_string())?;
        *in_flight += 1;
    }
    Ok(())
}

/// Hands an answer to the flow.
fn hand_over(flow: &mut Flow, log: &mut RunLog, (id, answer): Answer) -> Result<(), String> {
    let started = Instant::now();
    match answer {
        Ok(response) => flow.on_response(id, response, host::now_ms()),
        Err(failure) => flow.on_transport_error(id, failure, host::now_ms()),
    }
    .map_err(|e| e.to_string())?;
    log.core_time += started.elapsed();
    Ok(())
}
