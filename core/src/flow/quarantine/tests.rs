use super::*;
use crate::flow::{batch, Action, Flow, FlowOptions, Outcome};
use crate::http::{Auth, ConnectionConfig};
use crate::mapping::Profile;

const NOW: u64 = 1_780_000_000_000;

fn bad_order(number: &str) -> String {
    format!(
        r#"{{"kind": "order", "record": {{"orderNumber": "{number}", "customerExternalId": "CLI-1", "currency": "EUR", "orderDate": "2026-04-14", "lines": [{{"sku": "KIT-1", "description": "call jane.doe@example.com", "qty": 2, "taxCode": "TVA20"}}]}}}}"#
    )
}

fn run(jsonl: &str, options: FlowOptions) -> (Vec<Action>, Flow) {
    let profile = Profile::default();
    let items = batch::parse_jsonl(jsonl, &profile);
    let config = ConnectionConfig::new("http://127.0.0.1:1", "123456", Auth::basic("a@b.fr", "pw"), true).unwrap();
    let mut flow = Flow::start(items, profile, config, options, NOW, 1);
    let mut actions = Vec::new();
    loop {
        let action = flow.poll(NOW).unwrap();
        let done = matches!(action, Action::Done { .. });
        assert!(
            !matches!(action, Action::Send { .. }),
            "a contract-invalid record sends nothing"
        );
        actions.push(action);
        if done {
            return (actions, flow);
        }
    }
}

fn quarantined(actions: &[Action]) -> Vec<Entry> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RecordDone { quarantine, .. } => quarantine.as_deref().cloned(),
            _ => None,
        })
        .collect()
}

#[test]
fn a_contract_invalid_order_comes_with_its_entry_redacted_with_path_and_runbook_line() {
    let (actions, _) = run(&bad_order("CMD-9"), FlowOptions::default());
    let entries = quarantined(&actions);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.state, State::Open);
    assert_eq!(
        (e.kind.as_deref(), e.external_id.as_deref(), e.line),
        (Some("order"), Some("CMD-9"), 1)
    );
    assert_eq!(e.error.code, "contract.invalid");
    assert_eq!(e.error.violations[0].path, "/lines/0/unitPriceExclTax");
    assert!(e.runbook.starts_with("contract.invalid (contract): "), "{}", e.runbook);
    assert_eq!(e.record["orderNumber"], "CMD-9");
    let dated = batch::parse_line(1, &bad_order("CMD-2026-0411"), &Profile::default());
    let error = crate::flow::ErrorInfo::business("contract.invalid", "x");
    let kept = new_entry(&dated, "b", &error, Vec::new(), NOW);
    assert_eq!(
        kept.record["orderNumber"], "CMD-2026-0411",
        "references are kept verbatim"
    );
    assert_eq!(
        e.record["lines"][0]["description"], "call [email]",
        "the payload is redacted like a log line"
    );
    assert!(e.requests.is_empty());
    assert_eq!((e.first_seen, e.last_seen, e.attempts), (NOW, NOW, 1));
    assert_eq!(e.id, entry_id(Some("order"), Some("CMD-9"), "", 0));
}

#[test]
fn a_line_that_is_not_json_keeps_its_text_and_gets_an_entry_by_line() {
    let (actions, _) = run("not json at all\n", FlowOptions::default());
    let e = &quarantined(&actions)[0];
    assert_eq!(e.error.code, "usage.malformed_line");
    assert_eq!(e.record, "not json at all");
    assert_eq!(e.id, entry_id(None, None, &e.batch, 1));
}

#[test]
fn a_manual_replay_counts_each_record_once() {
    let options = FlowOptions {
        manual_replay: true,
        ..FlowOptions::default()
    };
    let (_, flow) = run(&bad_order("CMD-9"), options);
    let text = flow.metrics().render_prometheus();
    assert!(text.contains("replay_total{reason=\"manual\"} 1"), "{text}");
    let (_, flow) = run(&bad_order("CMD-9"), FlowOptions::default());
    assert!(!flow.metrics().render_prometheus().contains("reason=\"manual\""));
}

fn entry(code: &str, kind: &str, id: &str, first_seen: u64) -> Entry {
    let item = batch::parse_line(
        1,
        &bad_order(id).replace("\"order\"", &format!("\"{kind}\"")),
        &Profile::default(),
    );
    let mut error = crate::flow::ErrorInfo::business(code, "refused");
    error.class = code.split('.').next().unwrap().into();
    let mut e = new_entry(&item, "digest", &error, Vec::new(), first_seen);
    e.kind = Some(kind.into());
    e.external_id = Some(id.into());
    e.id = entry_id(Some(kind), Some(id), "", 0);
    e
}

#[test]
fn merge_keeps_the_first_sighting_counts_attempts_and_reopens() {
    let first = drop_entry(entry("contract.invalid", "order", "CMD-1", 10), "later", 20).unwrap();
    let again = entry("business.conflict", "order", "CMD-1", 30);
    let merged = merge(Some(&first), again);
    assert_eq!((merged.first_seen, merged.last_seen, merged.attempts), (10, 30, 2));
    assert_eq!((merged.state, merged.drop_reason.as_deref()), (State::Open, None));
    assert_eq!(merged.error.code, "business.conflict");
}

#[test]
fn list_filters_by_code_class_resource_age_and_state_and_reports_expired_entries() {
    let day = 86_400_000;
    let entries = vec![
        entry("contract.invalid", "order", "CMD-1", NOW - 3 * day),
        entry("business.conflict", "invoice", "F-1", NOW - 1000),
        drop_entry(
            entry("business.not_found", "order", "CMD-2", NOW - day),
            "gone",
            NOW - day,
        )
        .unwrap(),
        entry("contract.invalid", "order", "CMD-OLD", NOW - 40 * day),
    ];
    let ids = |f: Filter| -> Vec<String> {
        list(&entries, &f, NOW, RETENTION_DAYS)
            .0
            .into_iter()
            .filter_map(|e| e.external_id)
            .collect()
    };
    assert_eq!(ids(Filter::default()), ["CMD-1", "F-1"]);
    let by = |code: &str| Filter {
        code: Some(code.into()),
        ..Filter::default()
    };
    assert_eq!(ids(by("business.")), ["F-1"]);
    assert_eq!(ids(by("contract.invalid")), ["CMD-1"]);
    let class = Filter {
        class: Some("business".into()),
        state: Some("all".into()),
        ..Filter::default()
    };
    assert_eq!(ids(class), ["CMD-2", "F-1"]);
    let resource = Filter {
        resource: Some("invoice".into()),
        ..Filter::default()
    };
    assert_eq!(ids(resource), ["F-1"]);
    let old = Filter {
        older_than_seconds: Some(86_400),
        ..Filter::default()
    };
    assert_eq!(ids(old), ["CMD-1"]);
    let (_, expired) = list(&entries, &Filter::default(), NOW, RETENTION_DAYS);
    assert_eq!(expired, [entries[3].id.clone()]);
}

#[test]
fn select_takes_the_batch_lines_of_open_entries_and_names_the_missing() {
    let open = entry("contract.invalid", "order", "CMD-1", 1);
    let absent = entry("contract.invalid", "order", "CMD-404", 1);
    let jsonl = format!("{}\n{}\nnot json\n", bad_order("CMD-0"), bad_order("CMD-1"));
    let (lines, missing) = select(&[open, absent.clone()], &jsonl);
    assert_eq!(lines, [bad_order("CMD-1")]);
    assert_eq!(missing, [absent.id]);
}

#[test]
fn settle_marks_replayed_only_when_the_record_synced_and_drop_needs_a_reason() {
    let e = entry("contract.invalid", "order", "CMD-1", 1);
    let synced = settle(e.clone(), &Outcome::Synced { incwo_id: Some(7) }, 5);
    assert_eq!((synced.state, synced.last_seen), (State::Replayed, 5));
    let deferred = Outcome::Deferred {
        not_before: 9,
        error: crate::flow::ErrorInfo::business("http.503", "later"),
    };
    assert_eq!(settle(e.clone(), &deferred, 5).state, State::Open);
    let err = drop_entry(e.clone(), "  ", 5).unwrap_err();
    assert_eq!(err.code, "usage.bad_arguments");
    let dropped = drop_entry(e, "duplicate, fixed by hand; asked jane@example.com", 5).unwrap();
    assert_eq!(
        dropped.drop_reason.as_deref(),
        Some("duplicate, fixed by hand; asked [email]")
    );
}

#[test]
fn runbook_line_comes_from_the_code_table() {
    assert!(runbook_line("business.conflict").contains("replay once its state allows the change"));
    assert!(runbook_line("http.418").starts_with("http.418 (contract): "));
    assert!(runbook_line("nope.nope").contains("not in the code table"));
}
