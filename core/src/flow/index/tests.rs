//! Unit tests of the marker index.

use super::*;

fn listing(ids: &[u64], total: u32) -> Listing {
    Listing {
        ids: ids.to_vec(),
        marked: ids
            .iter()
            .map(|&id| {
                (
                    format!("C{id}"),
                    Found {
                        id,
                        progress_id: None,
                        firm_id: None,
                        sheet_type: None,
                    },
                )
            })
            .collect(),
        total_pages: total,
    }
}

/// Pages of `per` ascending ids 1..=n.
fn pages(n: u64, per: u64) -> Vec<Vec<u64>> {
    (1..=n)
        .collect::<Vec<_>>()
        .chunks(per as usize)
        .map(|c| c.to_vec())
        .collect()
}

/// Runs a pass over `pages`, returning the pages read.
fn run_pass(index: &mut MarkerIndex, pages: &[Vec<u64>]) -> Vec<u32> {
    index.begin_pass("firms", ListOrder::Ascending);
    let mut read = Vec::new();
    while let Some(page) = index.next_page("firms") {
        read.push(page);
        let ids = pages.get(page as usize - 1).cloned().unwrap_or_default();
        index.feed(Domain::Customer, page, &listing(&ids, pages.len() as u32));
        assert!(read.len() < 100, "a pass ends");
    }
    read
}

#[test]
fn the_first_pass_reads_every_page_backwards_then_one_page_suffices() {
    let mut index = MarkerIndex::default();
    let account = pages(95, 20);
    let read = run_pass(&mut index, &account);
    assert_eq!(read, vec![1, 5, 4, 3, 2, 1], "page 1 tells where the last page is");
    assert_eq!(index.coverage("firms").watermark, 95);
    assert!(index.lookup(Domain::Customer, "C7").is_some());
    assert!(index.lookup(Domain::Customer, "C96").is_none());
    let account = pages(97, 20);
    assert_eq!(run_pass(&mut index, &account), vec![5], "only the newest page");
    assert_eq!(index.coverage("firms").watermark, 97);
    assert_eq!(index.lookup(Domain::Customer, "C97").map(|f| f.id), Some(97));
}

#[test]
fn a_new_page_moves_the_pass_to_the_last_page_and_back_to_the_watermark() {
    let mut index = MarkerIndex::default();
    run_pass(&mut index, &pages(100, 20));
    let read = run_pass(&mut index, &pages(150, 20));
    assert_eq!(read, vec![5, 8, 7, 6, 5]);
    assert_eq!(index.coverage("firms").watermark, 150);
}

#[test]
fn a_page_out_of_order_turns_the_resource_to_full_passes() {
    let mut index = MarkerIndex::default();
    let shuffled = vec![vec![5, 1, 9], vec![2, 8, 3], vec![4, 7, 6]];
    let read = run_pass(&mut index, &shuffled);
    assert_eq!(read, vec![1, 3, 1, 2, 3]);
    assert_eq!(index.coverage("firms").order, ListOrder::Unknown);
    assert!(index.read_whole_this_run("firms"));
    assert!((1..=9).all(|i| index.lookup(Domain::Customer, &format!("C{i}")).is_some()));
    let mut next_run = MarkerIndex::default();
    next_run.load(index.export());
    assert!(!next_run.read_whole_this_run("firms"), "fresh for one run only");
    assert_eq!(run_pass(&mut next_run, &shuffled), vec![1, 2, 3]);
}

#[test]
fn pages_that_overlap_across_pages_are_not_ascending() {
    let mut index = MarkerIndex::default();
    let crossed = vec![vec![1, 2, 9], vec![3, 4, 5]];
    run_pass(&mut index, &crossed);
    assert_eq!(index.coverage("firms").order, ListOrder::Unknown);
}

#[test]
fn a_pass_cut_short_resumes_in_the_next_run() {
    let account = pages(100, 10);
    let mut index = MarkerIndex::default();
    index.begin_pass("firms", ListOrder::Ascending);
    for _ in 0..4 {
        let page = index.next_page("firms").unwrap();
        index.feed(
            Domain::Customer,
            page,
            &listing(&account[page as usize - 1], account.len() as u32),
        );
    }
    let saved = index.take_changes();
    assert_eq!(saved.coverage["firms"].pass.as_ref().map(|p| p.next_page), Some(7));
    let mut next_run = MarkerIndex::default();
    next_run.load(saved);
    let read = run_pass(&mut next_run, &account);
    assert_eq!(read, vec![7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(next_run.coverage("firms").watermark, 100);
    assert_eq!(next_run.pages_read_this_run(), 7);
}

#[test]
fn a_deletion_shifting_objects_back_loses_none() {
    let mut index = MarkerIndex::default();
    index.begin_pass("firms", ListOrder::Ascending);
    let before = pages(30, 10);
    index.feed(Domain::Customer, 1, &listing(&before[0], 3));
    index.feed(Domain::Customer, 3, &listing(&before[2], 3));
    // Object 5 is deleted: 21 moves to page 2, which is read next.
    let after: Vec<u64> = (1..=30).filter(|&i| i != 5).collect();
    index.feed(Domain::Customer, 2, &listing(&after[10..20], 3));
    index.feed(Domain::Customer, 1, &listing(&after[0..10], 3));
    assert_eq!(index.next_page("firms"), None);
    assert_eq!(index.coverage("firms").order, ListOrder::Ascending);
    assert!((1..=30)
        .filter(|&i| i != 5)
        .all(|i| index.lookup(Domain::Customer, &format!("C{i}")).is_some()));
}

#[test]
fn an_empty_account_is_covered_at_once_and_changes_are_taken_once() {
    let mut index = MarkerIndex::default();
    assert_eq!(run_pass(&mut index, &[]), vec![1]);
    let found = Found {
        id: 4,
        progress_id: None,
        firm_id: None,
        sheet_type: None,
    };
    index.record(Domain::Customer, "C4", found.clone());
    index.record(Domain::Customer, "C4", found);
    let changes = index.take_changes();
    assert_eq!(changes.entries.len(), 1);
    assert_eq!(changes.entries[0].found.len(), 1, "one object, recorded twice");
    assert_eq!(index.take_changes(), IndexChanges::default());
}

#[test]
fn invoices_and_credit_notes_share_a_resource_but_not_a_lookup() {
    let mut index = MarkerIndex::default();
    let credit = Found {
        id: 2,
        progress_id: None,
        firm_id: None,
        sheet_type: Some("credit_maybe".into()),
    };
    index.record(Domain::CreditNote, "F-1-credit", credit);
    assert!(index.lookup(Domain::CreditNote, "F-1-credit").is_some());
    assert!(index.lookup(Domain::Invoice, "F-1-credit").is_none());
}

#[test]
fn a_profile_saying_unknown_order_makes_every_pass_read_every_page() {
    let mut index = MarkerIndex::default();
    index.begin_pass("firms", ListOrder::Unknown);
    assert_eq!(index.coverage("firms").order, ListOrder::Unknown);
    assert_eq!(index.next_page("firms"), Some(1));
    for page in 1..=3 {
        index.feed(Domain::Customer, page, &listing(&[page.into()], 3));
    }
    assert_eq!(index.next_page("firms"), None);
    assert!(index.read_whole_this_run("firms"));
}

fn ascending(watermark: u64, pass: Option<Pass>) -> Coverage {
    Coverage {
        watermark,
        total_pages: 5,
        order: ListOrder::Ascending,
        pass,
    }
}

#[test]
fn merged_coverage_keeps_the_higher_watermark_and_the_latest_pass() {
    let pass = Pass {
        next_page: 3,
        pages_read: 2,
        top: 90,
        located: true,
        ..Pass::default()
    };
    // A writer that loaded an older watermark never moves it back.
    let merged = Coverage::merge(&ascending(80, None), &ascending(40, Some(pass.clone())));
    assert_eq!(merged, ascending(80, Some(pass.clone())));
    // A writer whose pass completed drops the pass another saved (resuming
    // it is sound, dropping it costs at most a page).
    assert_eq!(
        Coverage::merge(&ascending(80, Some(pass)), &ascending(95, None)),
        ascending(95, None)
    );
}

#[test]
fn merged_coverage_keeps_an_unknown_order_once_seen_with_only_whole_passes() {
    let unknown = Coverage {
        order: ListOrder::Unknown,
        total_pages: 5,
        pass: Some(Pass {
            full: true,
            next_page: 2,
            ..Pass::default()
        }),
        ..Coverage::default()
    };
    let backwards = Pass {
        next_page: 4,
        ..Pass::default()
    };
    // An ascending writer that had not seen it yet claims nothing.
    let merged = Coverage::merge(&unknown, &ascending(80, Some(backwards.clone())));
    assert_eq!((merged.order, merged.watermark), (ListOrder::Unknown, 0));
    assert_eq!(
        merged.pass, unknown.pass,
        "an ascending pass proves nothing in an unknown order"
    );
    let merged = Coverage::merge(&ascending(80, Some(backwards)), &unknown);
    assert_eq!(merged, unknown);
}

#[test]
fn a_loaded_marker_lists_its_objects_by_ascending_id_once() {
    let found = |id| Found {
        id,
        progress_id: None,
        firm_id: None,
        sheet_type: None,
    };
    let mut index = MarkerIndex::default();
    index.load(IndexChanges {
        entries: vec![IndexEntry {
            resource: "firms".into(),
            marker: "C1".into(),
            found: vec![found(9), found(4), found(9)],
        }],
        coverage: BTreeMap::new(),
    });
    assert_eq!(index.export().entries[0].found, vec![found(4), found(9)]);
}

#[test]
fn the_page_budget_counts_pages_beyond_each_passs_first() {
    let mut index = MarkerIndex::default();
    assert_eq!(run_pass(&mut index, &pages(95, 20)).len(), 6);
    assert_eq!(index.pages_read_this_run(), 5, "the sweep's pages after its first");
    for n in 96..=100 {
        assert_eq!(run_pass(&mut index, &pages(n, 20)), vec![5]);
    }
    assert_eq!(index.pages_read_this_run(), 5, "one-page lookups are not counted");
    assert_eq!(run_pass(&mut index, &pages(150, 20)), vec![5, 8, 7, 6, 5]);
    assert_eq!(
        index.pages_read_this_run(),
        9,
        "a longer pass is, beyond its first page"
    );
}

#[test]
fn a_pass_resumed_from_an_earlier_run_is_not_read_in_this_one() {
    let account = pages(30, 10);
    let mut index = MarkerIndex::default();
    index.begin_pass("firms", ListOrder::Ascending);
    let page = index.next_page("firms").unwrap();
    index.feed(Domain::Customer, page, &listing(&account[page as usize - 1], 3));
    assert!(index.passed_this_run("firms"), "its first page was read in this run");
    // The run's page budget ends it; the next run resumes the pass. An
    // object created meanwhile lands on the page it read first.
    let mut next_run = MarkerIndex::default();
    next_run.load(index.take_changes());
    run_pass(&mut next_run, &account);
    assert_eq!(next_run.next_page("firms"), None, "the resumed pass completed");
    assert!(
        !next_run.passed_this_run("firms"),
        "it proves no absence: its first page was read in the earlier run"
    );
    // A pass of its own, begun in this run, does.
    assert!(next_run.begin_pass("firms", ListOrder::Ascending));
    assert!(!next_run.passed_this_run("firms"), "nothing read yet");
    run_pass(&mut next_run, &account);
    assert!(next_run.passed_this_run("firms"));
    // Unknown order: only a whole read begun in this run makes absence proof enough.
    let mut whole = MarkerIndex::default();
    whole.begin_pass("firms", ListOrder::Unknown);
    whole.feed(Domain::Customer, 1, &listing(&account[0], 3));
    let mut later = MarkerIndex::default();
    later.load(whole.take_changes());
    run_pass(&mut later, &account);
    assert!(!later.read_whole_this_run("firms"));
}

#[test]
fn a_whole_read_that_sees_an_id_twice_reads_again_from_page_one() {
    let mut index = MarkerIndex::default();
    index.begin_pass("firms", ListOrder::Unknown);
    assert_eq!(index.next_page("firms"), Some(1));
    index.feed(Domain::Customer, 1, &listing(&[5, 1, 9], 2));
    // The list is reordered before page 2: 5 comes again, 7 was on page 1.
    index.feed(Domain::Customer, 2, &listing(&[5, 3], 2));
    assert_eq!(index.next_page("firms"), Some(1), "no snapshot: it starts again");
    index.feed(Domain::Customer, 1, &listing(&[7, 5, 3], 2));
    index.feed(Domain::Customer, 2, &listing(&[1, 9], 2));
    assert_eq!(index.next_page("firms"), None, "a consistent read completes");
    assert!(index.read_whole_this_run("firms"));
    assert!(index.lookup(Domain::Customer, "C7").is_some());
}
