//! The test matrix (tests/README.md#the-flow-test-matrix) against the in-process fake
//! incwo: every scenario asserts incwo's final state, the outcomes, the
//! published events and the metrics.

mod support;

use incwo_core::flow::{Flow, FlowOptions, Outcome};
use incwo_core::http::Method;
use incwo_core::mapping::Profile;
use rust_decimal::Decimal;
use std::str::FromStr;
use support::fake_incwo::{FakeIncwo, Fault, FaultKind};
use support::*;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn assert_totals(o: &support::fake_incwo::Object, excl: &str, vat: &str, incl: &str) {
    assert_eq!(o.decimal("vat_exl_total"), Some(dec(excl)), "{o:?}");
    assert_eq!(o.decimal("vat_cost"), Some(dec(vat)), "{o:?}");
    assert_eq!(o.decimal("vat_inc_total"), Some(dec(incl)), "{o:?}");
}

fn profile() -> Profile {
    Profile::default()
}

fn error_of(outcome: &Option<Outcome>) -> (String, String) {
    match outcome {
        Some(Outcome::Quarantined { error }) | Some(Outcome::Deferred { error, .. }) => {
            (error.class.clone(), error.code.clone())
        }
        other => panic!("expected an error outcome, got {other:?}"),
    }
}

#[test]
fn s1_nominal_customer_quote_order_invoice() {
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, summary) = run(&brief(), &profile(), &mut fake, &mut host);
    assert_eq!(outcome_names(&flow), ["synced"; 5], "{:?}", flow.outcomes());
    assert_eq!(summary.synced, 5);
    assert_eq!(fake.duplicates(), []);
    assert_eq!(fake.all("firms").len(), 1);
    assert_eq!(fake.all("customer_products").len(), 1);
    assert_eq!(fake.all("proposal_sheets").len(), 2);
    assert_eq!(fake.all("bill_sheets").len(), 1);
    let p = profile();
    let quote = fake.one("proposal_sheets", "DEV-INC-2026-0107");
    assert_eq!(quote.get("sheet_type"), Some("proposal"));
    assert_eq!(quote.number("progress_id"), p.statuses.quote.get("accepted").copied());
    let order = fake.one("proposal_sheets", "CMD-INC-2026-0411");
    assert_eq!(order.get("sheet_type"), Some("order"));
    assert_eq!(order.number("progress_id"), p.statuses.order.get("confirmed").copied());
    let inv = fake.one("bill_sheets", "FAC-INC-2026-0198");
    assert_eq!(inv.get("sheet_type"), Some("invoice_maybe"));
    let firm = fake.one("firms", "CLI-INC-8872");
    for doc in [quote, order, inv] {
        assert_totals(doc, "499.00", "99.80", "598.80");
        assert_eq!(doc.number("firm_id"), Some(firm.id));
        let product = fake.one("customer_products", "KIT-API-01");
        assert_eq!(
            doc.lines[0].get("customer_product_id").map(String::as_str),
            Some(product.id.to_string().as_str())
        );
    }
    // One confirmation event per document on its queue.
    let quotes = host.on_queue("erp.incwo.quote.acme");
    assert_eq!(quotes.len(), 1);
    assert_eq!(quotes[0].event_type, "quote.created");
    let orders = host.on_queue("erp.incwo.order.acme.eur");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].incwo_id, Some(order.id));
    let bills = host.on_queue("erp.incwo.billing.acme");
    assert_eq!(bills.len(), 1);
    assert_eq!(bills[0].totals.as_ref().map(|t| t.incl_tax), Some(dec("598.80")));
    // Read-back matched: every document was read back, no gap.
    let m = flow.metrics().render_prometheus();
    assert_eq!(metric(&m, "reconciliation_gap_total", &[]), 0.0);
    assert_eq!(fake.count(Method::Get, "/proposal_sheets/{id}.xml"), 3);
    assert_eq!(fake.count(Method::Get, "/bill_sheets/{id}.xml"), 1);
    assert_eq!(metric(&m, "api_error_total", &[]), 0.0);
    assert!(flow
        .ledger()
        .entries()
        .all(|e| e.verified || e.domain.as_str() == "customer" || e.domain.as_str() == "product"));
}

#[test]
fn s2_order_create_times_out_after_commit_and_is_reconciled() {
    for kind in [
        FaultKind::TimeoutAfterCommit,
        FaultKind::ResetAfterCommit,
        FaultKind::StatusAfterCommit(502),
    ] {
        let mut fake = FakeIncwo::default();
        // The second proposal sheet POST is the order's.
        fake.fault(Fault::new(Some(Method::Post), Some("proposal_sheets"), kind).skip(1));
        let mut host = Host::new();
        let (flow, _) = run(&brief(), &profile(), &mut fake, &mut host);
        assert_eq!(outcome_names(&flow), ["synced"; 5], "{kind:?}: {:?}", flow.outcomes());
        assert_eq!(fake.duplicates(), [], "{kind:?}");
        assert_eq!(fake.by_marker("proposal_sheets", "CMD-INC-2026-0411").len(), 1);
        assert_eq!(
            fake.count(Method::Post, "/proposal_sheets.xml"),
            2,
            "no second POST of the order"
        );
        let m = flow.metrics().render_prometheus();
        assert!(metric(&m, "replay_total", &[("reason", "reconciled")]) >= 1.0, "{m}");
        assert_eq!(metric(&m, "api_error_total", &[("class", "technical")]), 1.0);
        assert_totals(
            fake.one("bill_sheets", "FAC-INC-2026-0198"),
            "499.00",
            "99.80",
            "598.80",
        );
    }
}

#[test]
fn s2b_order_create_reset_before_commit_is_looked_up_then_created_once() {
    let mut fake = FakeIncwo::default();
    fake.fault(
        Fault::new(
            Some(Method::Post),
            Some("proposal_sheets"),
            FaultKind::ResetBeforeCommit,
        )
        .skip(1),
    );
    let mut host = Host::new();
    let (flow, _) = run(&brief(), &profile(), &mut fake, &mut host);
    assert_eq!(outcome_names(&flow), ["synced"; 5], "{:?}", flow.outcomes());
    assert_eq!(fake.duplicates(), []);
    assert_eq!(fake.by_marker("proposal_sheets", "CMD-INC-2026-0411").len(), 1);
    assert_eq!(
        fake.count(Method::Post, "/proposal_sheets.xml"),
        3,
        "created again after the lookup proved it absent"
    );
}

#[test]
fn s3_contract_degraded_missing_unit_price_sends_nothing_for_the_order() {
    let mut records = brief();
    records[3]["record"]["lines"][0]
        .as_object_mut()
        .unwrap()
        .remove("unitPriceExclTax");
    records.truncate(4);
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, _) = run(&records, &profile(), &mut fake, &mut host);
    assert_eq!(outcome_names(&flow), ["synced", "synced", "synced", "quarantined"]);
    match &flow.outcomes()[3] {
        Some(Outcome::Quarantined { error }) => {
            assert_eq!(error.class, "contract");
            let v = &error.violations[0];
            assert_eq!(v.path, "/lines/0/unitPriceExclTax");
            assert_eq!(v.code, "required");
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.by_marker("proposal_sheets", "CMD-INC-2026-0411").is_empty());
    // The quote was not accepted either: nothing was sent for the order.
    assert_eq!(fake.count(Method::Put, "/proposal_sheets/{id}.xml"), 0);
    assert_eq!(fake.duplicates(), []);
}

#[test]
fn s4_business_degraded_invoice_on_a_cancelled_order_is_quarantined() {
    let mut records = brief();
    let inv = records.pop().unwrap();
    records.push(cancellation("CMD-INC-2026-0411"));
    records.push(inv);
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, _) = run(&records, &profile(), &mut fake, &mut host);
    assert_eq!(
        outcome_names(&flow),
        ["synced", "synced", "synced", "synced", "synced", "quarantined"]
    );
    assert_eq!(
        error_of(&flow.outcomes()[5]),
        ("business".into(), "business.order_cancelled".into())
    );
    assert!(fake.all("bill_sheets").is_empty(), "no invoice");
    let order = fake.one("proposal_sheets", "CMD-INC-2026-0411");
    assert_eq!(
        order.number("progress_id"),
        profile().statuses.order.get("cancelled").copied()
    );
    let q = host.on_queue("erp.incwo.billing.acme.quarantine");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].event_type, "record.quarantined");
    assert_eq!(q[0].external_id, "FAC-INC-2026-0198");
    assert_eq!(fake.duplicates(), []);
}

#[test]
fn s4b_invoice_on_an_unknown_order_is_quarantined() {
    let records = vec![invoice(
        "FAC-X",
        "CMD-NOPE",
        vec![line("KIT-API-01", "1", "49.90", "TVA20")],
    )];
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, _) = run(&records, &profile(), &mut fake, &mut host);
    assert_eq!(
        error_of(&flow.outcomes()[0]),
        ("business".into(), "business.unknown_order".into())
    );
    assert!(fake.all("bill_sheets").is_empty());
    assert_eq!(host.on_queue("erp.incwo.billing.acme.quarantine").len(), 1);
}

#[test]
fn s5_replay_of_a_historical_batch_sends_no_write() {
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (first, _) = run(&brief(), &profile(), &mut fake, &mut host);
    let before = fake.objects.clone();
    let sends_before = host.sends.len();
    let published_before = host.published.len();
    let (second, summary) = replay(&first, &brief(), &profile(), &mut fake, &mut host);
    assert_eq!(outcome_names(&second), ["skipped"; 5], "{:?}", second.outcomes());
    assert_eq!(summary.skipped, 5);
    assert_eq!(
        host.sends.len(),
        sends_before,
        "no request at all: {:?}",
        &host.sends[sends_before..]
    );
    assert_eq!(host.published.len(), published_before, "no event published twice");
    assert_eq!(fake.objects, before);
    assert_eq!(fake.duplicates(), []);
    let m = second.metrics().render_prometheus();
    assert_eq!(metric(&m, "replay_total", &[("reason", "already_applied")]), 5.0);
}

#[test]
fn s5b_replay_with_an_empty_ledger_adopts_customers_and_products() {
    // The ledger was lost: referentials are upserted by marker (looked up
    // first), so they are never created twice.
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    run(&brief()[..2], &profile(), &mut fake, &mut host);
    let (flow, _) = run(&brief()[..2], &profile(), &mut fake, &mut host);
    assert_eq!(outcome_names(&flow), ["synced", "synced"]);
    assert_eq!(fake.duplicates(), []);
    assert_eq!(fake.all("firms").len(), 1);
    assert_eq!(fake.all("customer_products").len(), 1);
}

#[test]
fn s5c_replay_with_a_lost_ledger_and_lookup_before_create_creates_nothing_twice() {
    // The whole history (customer, product, quote, order, invoice, a stock
    // movement) ran once; the host then lost its ledger and replays the
    // batch. With `lookupBeforeCreate` every document is found by its marker
    // and linked; without it, documents would be created again.
    let records = {
        let mut r = brief();
        r.push(movement("MVT-1", "KIT-API-01", "-2", "correction", None));
        r
    };
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (first, _) = run(&records, &profile(), &mut fake, &mut host);
    assert!(first.summary().synced >= 5, "{:?}", first.outcomes());
    let before = fake.objects.clone();

    let lost = |lookup: bool, fake: &mut FakeIncwo, host: &mut Host| {
        let mut flow = Flow::start(
            items(&records, &profile()),
            profile(),
            config(),
            FlowOptions {
                lookup_before_create: lookup,
                ..options()
            },
            host.now,
            8,
        );
        drive(&mut flow, fake, host, None).expect("no crash");
        flow
    };
    let mut replayed = lost(true, &mut fake, &mut host);
    assert_eq!(fake.duplicates(), [], "{:?}", replayed.outcomes());
    for (resource, objects) in &before {
        assert_eq!(
            fake.all(resource).len(),
            objects.len(),
            "{resource}: nothing created again"
        );
    }
    assert_eq!(replayed.summary().quarantined, 0, "{:?}", replayed.outcomes());
    assert_eq!(replayed.summary().deferred, 0, "{:?}", replayed.outcomes());
    let m = replayed.metrics().render_prometheus();
    assert!(metric(&m, "replay_total", &[("reason", "reconciled")]) >= 3.0, "{m}");
    // What the replay wrote to its ledger agrees with incwo: a third run over
    // it sends no write.
    let sends = host.sends.len();
    let (third, _) = replay(&replayed, &records, &profile(), &mut fake, &mut host);
    assert!(
        host.sends[sends..].iter().all(|s| s.starts_with("GET")),
        "{:?}",
        &host.sends[sends..]
    );
    assert_eq!(fake.duplicates(), [], "{:?}", third.outcomes());
    replayed = lost(false, &mut fake, &mut host);
    assert!(
        !fake.duplicates().is_empty(),
        "without the option the gap is real (documented in docs/RELIABILITY.md): {:?}",
        replayed.outcomes()
    );
}

#[test]
fn s6_partial_order_deliver_and_invoice_in_two_parts_then_over_invoicing() {
    let p = profile();
    let l = |q: &str| vec![line("KIT-API-01", q, "49.90", "TVA20")];
    let records = vec![
        customer("CLI-INC-8872"),
        product("KIT-API-01", "49.90", "TVA20"),
        order("CMD-INC-2026-0411", "CLI-INC-8872", None, l("10")),
        movement("MVT-1", "KIT-API-01", "-6", "sale", Some("CMD-INC-2026-0411")),
        invoice("FAC-1", "CMD-INC-2026-0411", l("6")),
    ];
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (first, _) = run(&records, &p, &mut fake, &mut host);
    assert_eq!(outcome_names(&first), ["synced"; 5], "{:?}", first.outcomes());
    let order_id = fake.one("proposal_sheets", "CMD-INC-2026-0411").id;
    assert_eq!(
        fake.one("proposal_sheets", "CMD-INC-2026-0411").number("progress_id"),
        p.statuses.order.get("partiallyDelivered").copied()
    );
    assert_eq!(fake.stock_of("KIT-API-01"), dec("-6"));
    assert_totals(fake.one("bill_sheets", "FAC-1"), "299.40", "59.88", "359.28");

    let rest = vec![
        movement("MVT-2", "KIT-API-01", "-4", "sale", Some("CMD-INC-2026-0411")),
        invoice("FAC-2", "CMD-INC-2026-0411", l("4")),
        invoice("FAC-3", "CMD-INC-2026-0411", l("1")),
    ];
    let (second, _) = replay(&first, &rest, &p, &mut fake, &mut host);
    assert_eq!(
        outcome_names(&second),
        ["synced", "synced", "quarantined"],
        "{:?}",
        second.outcomes()
    );
    assert_eq!(
        error_of(&second.outcomes()[2]),
        ("business".into(), "business.over_invoicing".into())
    );
    let order = &fake.objects["proposal_sheets"][&order_id];
    assert_eq!(order.number("progress_id"), p.statuses.order.get("delivered").copied());
    assert_eq!(
        order.number("progress_prev_id"),
        p.statuses.order.get("partiallyDelivered").copied()
    );
    assert_eq!(fake.stock_of("KIT-API-01"), dec("-10"));
    assert_eq!(fake.all("bill_sheets").len(), 2);
    assert_totals(fake.one("bill_sheets", "FAC-2"), "199.60", "39.92", "239.52");
    assert_eq!(fake.all("stock_movements").len(), 2);
    assert_eq!(host.on_queue("erp.incwo.billing.acme.quarantine").len(), 1);
    assert_eq!(host.on_queue("erp.incwo.stock.main").len(), 2);
    assert_eq!(fake.duplicates(), []);

    // Over-delivery is refused too.
    let (third, _) = replay(
        &second,
        &[movement("MVT-3", "KIT-API-01", "-1", "sale", Some("CMD-INC-2026-0411"))],
        &p,
        &mut fake,
        &mut host,
    );
    assert_eq!(
        error_of(&third.outcomes()[0]),
        ("business".into(), "business.over_delivery".into())
    );
    assert_eq!(fake.all("stock_movements").len(), 2);
}

#[test]
fn s7_stock_correction_and_its_replay() {
    let p = profile();
    let records = vec![
        product("KIT-API-01", "49.90", "TVA20"),
        movement("REC-1", "KIT-API-01", "25", "reception", None),
        movement("COR-1", "KIT-API-01", "-3", "correction", None),
    ];
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (first, _) = run(&records, &p, &mut fake, &mut host);
    assert_eq!(outcome_names(&first), ["synced"; 3], "{:?}", first.outcomes());
    assert_eq!(fake.stock_of("KIT-API-01"), dec("22"));
    assert_eq!(fake.by_marker("stock_movements", "COR-1").len(), 1);
    let (second, _) = replay(&first, &records[2..], &p, &mut fake, &mut host);
    assert_eq!(outcome_names(&second), ["skipped"]);
    assert_eq!(fake.stock_of("KIT-API-01"), dec("22"), "the replay moves nothing");
    assert_eq!(fake.duplicates(), []);
    assert_eq!(host.on_queue("erp.incwo.stock.main").len(), 2);
}

#[test]
fn s8_late_cancellation_cancels_the_draft_invoice() {
    let p = profile();
    let mut records = brief();
    records.push(cancellation("CMD-INC-2026-0411"));
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, _) = run(&records, &p, &mut fake, &mut host);
    assert_eq!(outcome_names(&flow), ["synced"; 6], "{:?}", flow.outcomes());
    let inv = fake.one("bill_sheets", "FAC-INC-2026-0198");
    assert_eq!(inv.number("progress_id"), p.statuses.invoice.get("cancelled").copied());
    assert_eq!(fake.all("bill_sheets").len(), 1, "no credit note for a draft");
    let order = fake.one("proposal_sheets", "CMD-INC-2026-0411");
    assert_eq!(order.number("progress_id"), p.statuses.order.get("cancelled").copied());
    let cancelled = host.on_queue("erp.incwo.order.acme.eur");
    assert_eq!(cancelled.last().map(|e| e.event_type.as_str()), Some("order.cancelled"));
    // Cancelling again is a business error, nothing sent.
    let sends = host.sends.len();
    let (again, _) = replay(&flow, &[cancellation("CMD-INC-2026-0411")], &p, &mut fake, &mut host);
    assert!(
        matches!(
            &again.outcomes()[0],
            Some(Outcome::Skipped { .. }) | Some(Outcome::Quarantined { .. })
        ),
        "{:?}",
        again.outcomes()
    );
    assert_eq!(host.sends.len(), sends);
}

#[test]
fn s8b_late_cancellation_with_final_invoices_issues_a_credit_note() {
    let p = final_profile();
    let mut records = brief();
    records.push(cancellation("CMD-INC-2026-0411"));
    let mut fake = FakeIncwo::default();
    let mut host = Host::new();
    let (flow, _) = run(&records, &p, &mut fake, &mut host);
    assert_eq!(outcome_names(&flow), ["synced"; 6], "{:?}", flow.outcomes());
    let inv = fake.one("bill_sheets", "FAC-INC-2026-0198");
    assert_eq!(inv.get("sheet_type"), Some("invoice"));
    let credit = fake.one("bill_sheets", "FAC-INC-2026-0198-credit");
    assert_eq!(credit.get("sheet_type"), Some("credit"));
    assert_totals(inv, "499.00", "99.80", "598.80");
    assert_totals(credit, "-499.00", "-99.80", "-598.80");
    let order = fake.one("proposal_sheets", "CMD-INC-2026-0411");
    assert_eq!(order.number("progress_id"), p.statuses.order.get("cancelled").copied());
    let billing: Vec<&str> = host
        .on_queue("erp.incwo.billing.acme")
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(billing, ["invoice.created", "credit_note.created"]);
    assert_eq!(fake.duplicates(), []);
}

#[test]
fn s9_invoicing_after_network_incidents() {
    let mut fake = FakeIncwo::default();
    fake.fault(Fault::new(
        Some(Method::Post),
        Some("bill_sheets"),
        FaultKind::Status(503),
    ));
    fake.fault(Fault::new(Some(Method::Post), Some("bill_sheets"), FaultKind::RateLimit(2)).skip(1));
    fake.fault(Fault::new(Some(Method::Post), Some("bill_sheets"), FaultKind::TimeoutBeforeSend).skip(2));
    let mut host = Host::new();
    let (flow, _) = run(&brief(), &profile(), &mut fake, &mut host);
    assert_eq!(outcome_names(&flow), ["synced"; 5], "{:?}", flow.outcomes());
    assert_eq!(fake.all("bill_sheets").len(), 1);
    assert_eq!(fake.duplicates(), []);
    assert_totals(
        fake.one("bill_sheets", "FAC-INC-2026-0198"),
        "499.00",
        "99.80",
        "598.80",
    );
    let m = flow.metrics().render_prometheus();
    assert_eq!(metric(&m, "api_error_total", &[("class", "technical")]), 3.0, "{m}");
    // The 429's Retry-After (2 s) was honoured as a minimum.
    let wait_after_429 = host.waits.iter().any(|(until, _)| *until >= T0 + 2_000);
    assert!(wait_after_429, "{:?}", host.waits);
    assert_eq!(fake.count(Method::Post, "/bill_sheets.xml"), 4);
}

#[test]
fn s9b_retries_stop_at_the_attempt_limit_and_defer_the_record() {
    let mut fake = FakeIncwo::default();
    fake.fault(Fault::new(Some(Method::Post), Some("bill_sheets"), FaultKind::Status(503)).times(100));
    let mut host = Host::new();
    let (flow, _) = run(&brief(), &profile(), &mut fake, &mut host);
    assert_eq!(outcome_names(&flow)[..4], ["synced"; 4]);
    assert!(
        matches!(
            &flow.outcomes()[4],
            Some(Outcome::Deferred { .. }) | Some(Outcome::Quarantined { .. })
        ),
        "{:?}",
        flow.outcomes()[4]
    );
    assert!(fake.all("bill_sheets").is_empty());
    assert_eq!(fake.duplicates(), []);
}

/// Batch resume after a crash at every action index, before and after the
/// action: no duplicate, every record's documents exactly once.
#[test]
fn s10_batch_resume_after_a_crash_at_every_action() {
    let p = profile();
    let mut records = brief();
    records.push(movement(
        "MVT-1",
        "KIT-API-01",
        "-10",
        "sale",
        Some("CMD-INC-2026-0411"),
    ));
    records.push(customer("CLI-2"));
    records.push(order(
        "CMD-2",
        "CLI-2",
        None,
        vec![line("KIT-API-01", "3", "10.00", "TVA10")],
    ));
    // How many actions a clean run takes.
    let mut clean = FakeIncwo::default();
    let mut host = Host::new();
    run(&records, &p, &mut clean, &mut host);
    let total = host.actions;
    assert!(total > 20);
    for at in 0..total {
        for after in [false, true] {
            let mut fake = FakeIncwo::default();
            let mut host = Host::new();
            let mut flow = Flow::start(items(&records, &p), p.clone(), config(), options(), host.now, 7);
            let crashed = drive(&mut flow, &mut fake, &mut host, Some(Crash { at, after }));
            assert!(crashed.is_err());
            let mut flow = match host.saved.clone() {
                Some(cp) => Flow::resume(&cp, items(&records, &p), p.clone(), config(), options(), host.now).unwrap(),
                None => Flow::start(items(&records, &p), p.clone(), config(), options(), host.now, 7),
            };
            drive(&mut flow, &mut fake, &mut host, None).unwrap();
            let ctx = format!("crash at {at} (after: {after})");
            assert_eq!(fake.duplicates(), [], "{ctx}");
            for o in flow.outcomes() {
                assert!(
                    matches!(o, Some(Outcome::Synced { .. } | Outcome::Skipped { .. })),
                    "{ctx}: {o:?}"
                );
            }
            assert_eq!(fake.all("firms").len(), 2, "{ctx}");
            assert_eq!(fake.all("customer_products").len(), 1, "{ctx}");
            assert_eq!(fake.all("proposal_sheets").len(), 3, "{ctx}");
            assert_eq!(fake.all("bill_sheets").len(), 1, "{ctx}");
            assert_eq!(fake.all("stock_movements").len(), 1, "{ctx}");
            assert_eq!(fake.stock_of("KIT-API-01"), dec("-10"), "{ctx}");
            let order = fake.one("proposal_sheets", "CMD-INC-2026-0411");
            assert_eq!(
                order.number("progress_id"),
                p.statuses.order.get("delivered").copied(),
                "{ctx}"
            );
            assert_eq!(
                fake.one("proposal_sheets", "DEV-INC-2026-0107").number("progress_id"),
                p.statuses.quote.get("accepted").copied(),
                "{ctx}"
            );
            assert_totals(
                fake.one("bill_sheets", "FAC-INC-2026-0198"),
                "499.00",
                "99.80",
                "598.80",
            );
            assert_totals(fake.one("proposal_sheets", "CMD-2"), "30.00", "3.00", "33.00");
            // Every record ended once across both runs (a record restarted
            // after the crash may end twice only when the crash cut its end).
            for index in 0..records.len() {
                assert!(
                    host.done.iter().any(|(i, _)| *i == index),
                    "{ctx}: record {index} never ended"
                );
            }
        }
    }
}
