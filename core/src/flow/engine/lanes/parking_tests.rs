//! Tests of parking: in unknown list order, the reconciliations of lost
//! creates share whole reads of the list, each begun after them, against a
//! small stand-in of incwo that lists firms newest first.

use super::super::testing::*;
use crate::flow::index::ListOrder;
use crate::flow::{Action, Flow, FlowOptions, Ledger, Outcome};
use crate::http::{Request, Response};
use std::collections::BTreeMap;

const NOW: u64 = 1_000_000;
const PER_PAGE: usize = 10;

/// What happens to a create of a marker.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    /// Created, answer lost (a 503 after the commit).
    LostAfterCommit,
    /// Not created, answer lost (a 503 before the commit).
    LostBeforeCommit,
}

/// incwo's firms, listed newest first (not ascending), and what it was asked.
struct Incwo {
    firms: Vec<(u64, String)>,
    /// The fates of a marker's next creates (answered once none is left).
    fates: BTreeMap<String, Vec<Fate>>,
    /// Answers requests in flight together newest first.
    reverse: bool,
    /// Page numbers read, in order.
    pages: Vec<u32>,
    posts: u32,
}

impl Incwo {
    fn with(existing: u64, fates: &[(&str, Fate)]) -> Incwo {
        Incwo {
            firms: (1..=existing).map(|id| (id, format!("OLD{id}"))).collect(),
            fates: fates.iter().fold(BTreeMap::new(), |mut all, (m, f)| {
                all.entry(m.to_string()).or_insert_with(Vec::new).push(*f);
                all
            }),
            reverse: false,
            pages: Vec::new(),
            posts: 0,
        }
    }

    fn answer(&mut self, request: &Request) -> Response {
        if request.method().as_str() == "POST" {
            self.posts += 1;
            let body = String::from_utf8_lossy(request.body()).to_string();
            let marker = between(&body, "<accounting_ref>", "</accounting_ref>");
            let fate = self
                .fates
                .get_mut(&marker)
                .filter(|f| !f.is_empty())
                .map(|f| f.remove(0));
            if fate != Some(Fate::LostBeforeCommit) {
                let id = self.firms.iter().map(|f| f.0).max().unwrap_or(0) + 1;
                self.firms.push((id, marker.clone()));
                if fate.is_none() {
                    return answer(201, &format!("<firm><id>{id}</id><name>x</name></firm>"));
                }
            }
            let mut lost = answer(503, "");
            lost.headers = vec![("Retry-After".into(), "1".into())];
            return lost;
        }
        let page: u32 = request
            .url()
            .split("page=")
            .nth(1)
            .and_then(|p| p.split('&').next()?.parse().ok())
            .unwrap_or(1);
        self.pages.push(page);
        let mut newest_first = self.firms.clone();
        newest_first.reverse();
        let total = newest_first.len().div_ceil(PER_PAGE).max(1);
        let rows: String = newest_first
            .iter()
            .skip((page as usize - 1) * PER_PAGE)
            .take(PER_PAGE)
            .map(|(id, m)| format!("<firm><id>{id}</id><accounting_ref>{m}</accounting_ref></firm>"))
            .collect();
        answer(
            200,
            &format!("<firms type=\"array\"><pagination><current_page>{page}</current_page><total_pages>{total}</total_pages></pagination>{rows}</firms>"),
        )
    }

    /// Whole reads begun (each reads page 1 first).
    fn whole_reads(&self) -> usize {
        self.pages.iter().filter(|&&p| p == 1).count()
    }

    fn duplicates(&self) -> usize {
        let mut markers: Vec<&String> = self.firms.iter().map(|f| &f.1).collect();
        let all = markers.len();
        markers.sort();
        markers.dedup();
        all - markers.len()
    }
}

fn between(s: &str, open: &str, close: &str) -> String {
    s.split(open)
        .nth(1)
        .and_then(|r| r.split(close).next())
        .unwrap_or("")
        .to_string()
}

/// A flow over new customers N0..N{n-1} in unknown list order.
fn customers(n: usize, k: u32, ledger: Ledger) -> Flow {
    let envelopes: Vec<_> = (0..n).map(|i| customer(&format!("N{i}"))).collect();
    let template = flow_of(&envelopes);
    let mut profile = template.profile.clone();
    profile.lists.order = ListOrder::Unknown;
    let options = FlowOptions {
        max_in_flight: k,
        ..FlowOptions::default()
    };
    Flow::with_ledger(
        template.items.clone(),
        profile,
        template.config.clone(),
        options,
        ledger,
        NOW,
        7,
    )
}

/// Drives `flow` against `incwo` to its end (answers in batches of up to
/// `max_in_flight`); the outcomes by record.
fn drive(flow: &mut Flow, incwo: &mut Incwo) -> Vec<Outcome> {
    let mut now = NOW;
    let mut outcomes = vec![None; flow.items.len()];
    let mut in_flight: Vec<(u64, Request)> = Vec::new();
    let k = flow.options.max_in_flight as usize;
    loop {
        if k == 1 && !in_flight.is_empty() {
            let error = flow.poll(now).unwrap_err();
            assert_eq!(error.code, "usage.awaiting_response", "one request at a time still");
        }
        if in_flight.len() >= k {
            answer_all(flow, incwo, &mut in_flight, now);
        }
        match flow.poll(now).expect("poll") {
            Action::Send { request_id, request } => in_flight.push((request_id, request)),
            Action::Wait { until, reason } => {
                if in_flight.is_empty() {
                    assert_ne!(reason, "in_flight");
                    now = until.max(now + 1);
                } else {
                    answer_all(flow, incwo, &mut in_flight, now);
                }
            }
            Action::RecordDone { index, outcome, .. } => outcomes[index] = Some(outcome),
            Action::Done { .. } => break,
            _ => {}
        }
    }
    outcomes.into_iter().map(|o| o.expect("every record ends")).collect()
}

/// Answers every request in flight (newest first when `incwo.reverse`).
fn answer_all(flow: &mut Flow, incwo: &mut Incwo, in_flight: &mut Vec<(u64, Request)>, now: u64) {
    let mut batch = std::mem::take(in_flight);
    if incwo.reverse {
        batch.reverse();
    }
    for (id, request) in batch {
        flow.on_response(id, incwo.answer(&request), now).unwrap();
    }
}

fn all_synced(outcomes: &[Outcome]) -> bool {
    outcomes.iter().all(|o| matches!(o, Outcome::Synced { .. }))
}

/// Eight new customers, four of whose creates lose their answer (two
/// committed, two not).
fn half_lost() -> Incwo {
    Incwo::with(
        30,
        &[
            ("N1", Fate::LostAfterCommit),
            ("N3", Fate::LostBeforeCommit),
            ("N5", Fate::LostAfterCommit),
            ("N7", Fate::LostBeforeCommit),
        ],
    )
}

#[test]
fn lost_answers_in_one_run_cost_one_more_whole_read_not_one_each() {
    for k in [1, 4] {
        let mut incwo = half_lost();
        let mut flow = customers(8, k, Ledger::default());
        let outcomes = drive(&mut flow, &mut incwo);
        assert!(all_synced(&outcomes), "K = {k}: {outcomes:?}");
        assert_eq!(incwo.duplicates(), 0, "K = {k}");
        assert_eq!(
            incwo.whole_reads(),
            2,
            "K = {k}: one for the lookups, one for the four reconciliations: {:?}",
            incwo.pages
        );
        assert_eq!(incwo.posts, 8 + 2, "K = {k}: the two not committed are created again");
    }
}

#[test]
fn a_whole_read_cut_by_the_page_budget_is_read_anew_by_the_next_run() {
    let mut incwo = half_lost();
    let mut flow = customers(8, 1, Ledger::default());
    // Four pages: the lookups' whole read (three pages of 30 firms), then the
    // first page of the reconciliations' (N1 and N5 are on it, N3 and N7 are
    // not: only the rest of the list would prove them absent). N1 reads that
    // page and is found; the run stops when N3 would read the next.
    flow.options.max_lookup_pages = 4;
    let outcomes = drive(&mut flow, &mut incwo);
    let deferred = |o: &Outcome| matches!(o, Outcome::Deferred { error, .. } if error.code == "deferred.index_budget");
    assert_eq!(
        outcomes.iter().filter(|o| deferred(o)).count(),
        3,
        "N3, N5 and N7 wait for the next run: {outcomes:?}"
    );
    assert_eq!(incwo.whole_reads(), 2, "{:?}", incwo.pages);
    let saved = flow.export_index();
    assert!(saved.coverage["firms"].pass.is_some(), "the cut read is saved to go on");
    // The next run: the read carried over began before its reconciliations
    // and proves nothing for them; N5 is in the index, and one whole read of
    // the run's own proves N3 and N7 absent.
    let mut next = customers(8, 1, flow.state.ledger.clone());
    next.load_index(saved);
    incwo.pages.clear();
    let outcomes = drive(&mut next, &mut incwo);
    let redone: Vec<Outcome> = outcomes
        .into_iter()
        .filter(|o| !matches!(o, Outcome::Skipped { .. }))
        .collect();
    assert!(redone.len() == 3 && all_synced(&redone), "{redone:?}");
    assert_eq!(incwo.duplicates(), 0);
    assert_eq!(incwo.posts, 8 + 2, "N3 and N7 are created again, once");
    assert_eq!(
        incwo.pages,
        (1..=4).collect::<Vec<u32>>(),
        "one whole read from page 1, not the rest of the cut one first"
    );
}

#[test]
fn random_losses_create_nothing_twice_and_cost_a_whole_read_per_round() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut below = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for case in 0..120 {
        let n = 1 + below(10) as usize;
        let k = [1, 2, 4][below(3) as usize];
        let mut fates = Vec::new();
        let mut most = 0;
        for i in 0..n {
            let losses = below(4);
            most = most.max(losses);
            for _ in 0..losses {
                let fate = if below(2) == 0 {
                    Fate::LostAfterCommit
                } else {
                    Fate::LostBeforeCommit
                };
                fates.push((format!("N{i}"), fate));
            }
        }
        let named: Vec<(&str, Fate)> = fates.iter().map(|(m, f)| (m.as_str(), *f)).collect();
        let mut incwo = Incwo::with(below(40), &named);
        incwo.reverse = below(2) == 0;
        let mut flow = customers(n, k, Ledger::default());
        let outcomes = drive(&mut flow, &mut incwo);
        let context = format!(
            "case {case}: {n} records, K = {k}, fates {fates:?}, pages {:?}",
            incwo.pages
        );
        assert_eq!(incwo.duplicates(), 0, "{context}");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Synced { .. } | Outcome::Deferred { .. })),
            "{context}: {outcomes:?}"
        );
        // One whole read for the lookups, then one per round of losses: a
        // record lost L times waits for at most L of them.
        assert!(incwo.whole_reads() as u64 <= 1 + most, "{context}");
    }
}
