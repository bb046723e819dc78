//! Tests of the lanes' loop: records side by side, in order per customer,
//! one list-page reader per resource, one pool for waits, resume and stop.

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
    begin(&mut flow);
    flow.index.begin_pass("firms", crate::flow::index::ListOrder::Ascending); // begun by another lane, before the lost create
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
