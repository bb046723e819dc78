//! A checkpoint saved in parts (split once, then `Flow::take_changes`
//! before every send and after every action) rebuilds exactly the checkpoint
//! a whole save would have written, at every point of a run with faults, a
//! crash and a resume, and a run that stops early (every remaining record
//! deferred at once).

mod support;

use incwo_core::flow::{Action, CheckpointParts, Flow};
use incwo_core::http::Method;
use incwo_core::mapping::Profile;
use support::fake_incwo::{FakeIncwo, Fault, FaultKind};
use support::*;

/// Drives `flow` to the end (or `crash_at` actions), keeping `parts` as a
/// store keeps its rows and checking them against the whole checkpoint at
/// every save point. Returns whether it crashed.
fn drive(flow: &mut Flow, fake: &mut FakeIncwo, parts: &mut CheckpointParts, crash_at: Option<usize>) -> bool {
    let mut now = T0;
    let check = |flow: &mut Flow, parts: &mut CheckpointParts| {
        parts.apply(flow.take_changes());
        assert_eq!(parts.join().unwrap(), flow.checkpoint());
    };
    for actions in 0.. {
        if crash_at == Some(actions) {
            return true;
        }
        match flow.poll(now).unwrap() {
            Action::Send { request_id, request } => {
                check(flow, parts);
                now += 5;
                match fake.handle(&request) {
                    Ok(response) => flow.on_response(request_id, response, now).unwrap(),
                    Err(failure) => flow.on_transport_error(request_id, failure, now).unwrap(),
                }
            }
            Action::Wait { until, .. } => now = now.max(until),
            Action::Done { .. } => {
                check(flow, parts);
                return false;
            }
            _ => {}
        }
        check(flow, parts);
    }
    unreachable!()
}

#[test]
fn parts_rebuild_the_checkpoint_through_faults_a_crash_and_a_resume() {
    let profile = final_profile();
    let mut fake = FakeIncwo::default();
    fake.fault(Fault::new(Some(Method::Post), None, FaultKind::TimeoutAfterCommit).times(2));
    fake.fault(
        Fault::new(Some(Method::Get), None, FaultKind::Status(503))
            .skip(3)
            .times(2),
    );
    let records = brief();
    let mut flow = Flow::start(items(&records, &profile), profile.clone(), config(), options(), T0, 7);
    let mut parts = CheckpointParts::split(&flow.checkpoint()).unwrap();
    assert!(
        drive(&mut flow, &mut fake, &mut parts, Some(12)),
        "the crash point is mid-run"
    );
    assert!(!parts.outcomes.is_empty() && !parts.entries.is_empty());

    // The store's rows are all that survives; the resumed run goes on saving in parts.
    let text = parts.join().unwrap();
    let mut flow = Flow::resume(&text, items(&records, &profile), profile, config(), options(), T0).unwrap();
    assert_eq!(flow.checkpoint(), text, "an unfinished run resumes exactly");
    let mut parts = CheckpointParts::split(&flow.checkpoint()).unwrap();
    assert_eq!(parts.join().unwrap(), text);
    assert!(!drive(&mut flow, &mut fake, &mut parts, None));
    assert_eq!(flow.summary().finished, 5);
    assert!(fake.duplicates().is_empty(), "{:?}", fake.duplicates());
    assert_eq!(CheckpointParts::split(&flow.checkpoint()).unwrap(), parts);
}

#[test]
fn a_stopped_run_hands_out_every_deferred_outcome() {
    let profile = final_profile();
    let mut fake = FakeIncwo::default();
    // Bad credentials stop the run: every record is deferred in one go.
    fake.fault(Fault::new(None, None, FaultKind::Status(401)).times(1000));
    let mut flow = Flow::start(items(&brief(), &profile), profile, config(), options(), T0, 7);
    let mut parts = CheckpointParts::split(&flow.checkpoint()).unwrap();
    assert!(!drive(&mut flow, &mut fake, &mut parts, None));
    assert!(flow.summary().stopped.is_some());
    assert_eq!(parts.outcomes.len(), 5);
}

#[test]
fn a_bad_part_is_a_usage_error() {
    let flow = Flow::start(
        items(&brief(), &Profile::default()),
        Profile::default(),
        config(),
        options(),
        T0,
        7,
    );
    let mut parts = CheckpointParts::split(&flow.checkpoint()).unwrap();
    parts
        .outcomes
        .push((9, incwo_core::flow::Outcome::Skipped { incwo_id: None }));
    assert_eq!(parts.join().unwrap_err().code, "usage.bad_checkpoint");
    let wrong = parts
        .progress
        .replace("\"checkpointVersion\":1", "\"checkpointVersion\":7");
    parts.progress = wrong;
    assert_eq!(parts.join().unwrap_err().code, "usage.bad_checkpoint");
    assert_eq!(
        CheckpointParts::split("{\"checkpointVersion\": 2}").unwrap_err().code,
        "usage.checkpoint_version"
    );
}
