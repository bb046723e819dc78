use super::detect::{detect, DetectOutcome, Observed, DELETED};
use super::snapshot;
use super::*;
use crate::flow::ledger::{Domain, Entry, EntryState, Ledger, LineQuantities};
use crate::mapping::Profile;
use rust_decimal::Decimal;
use std::str::FromStr;

fn entry(domain: Domain, external_id: &str, id: u64, status: &str) -> Entry {
    Entry {
        key: format!("k-{external_id}-{}", domain.as_str()),
        domain,
        external_id: external_id.into(),
        step: "create".into(),
        mapper_version: 1,
        state: EntryState::Done,
        incwo_id: Some(id),
        hash: "h".into(),
        status: (!status.is_empty()).then(|| status.to_string()),
        pending_status: None,
        verified: true,
        published: true,
        events: vec![],
        customer: Some("C1".into()),
        currency: Some("EUR".into()),
        lines: BTreeMap::new(),
        invoices: vec![],
        totals: Some(Totals {
            excl_tax: d("100.00"),
            vat: d("20.00"),
            incl_tax: d("120.00"),
            by_tax: vec![],
            lines: vec![d("100.00")],
        }),
        error: None,
        updated_at: 0,
    }
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ledger() -> Ledger {
    let mut order = entry(Domain::Order, "CMD-1", 400002, "confirmed");
    order.lines.insert(
        "SKU-1".into(),
        LineQuantities {
            ordered: d("2"),
            ..Default::default()
        },
    );
    let mut product = entry(Domain::Product, "SKU-1", 300001, "");
    product.step = "upsert".into();
    product.totals = None;
    Ledger::from_entries([
        entry(Domain::Quote, "DEV-1", 400001, "draft"),
        order,
        entry(Domain::Invoice, "FAC-1", 500001, "draft"),
        product,
    ])
}

fn sheet(root: &str, id: u64, extra: &str, total: &str) -> Vec<u8> {
    let lines = if root == "proposal_sheet" {
        format!("<proposal_lines><proposal_line><customer_product_id>300001</customer_product_id><quantity>2</quantity><total_price>{total}</total_price><vat_value_id>607</vat_value_id></proposal_line></proposal_lines>")
    } else {
        String::new()
    };
    let excl = d(total);
    let vat = (excl * d("0.2")).round_dp(2);
    format!(
        "<{root}><id>{id}</id>{extra}<vat_exl_total>{excl}</vat_exl_total><vat_cost>{vat}</vat_cost><vat_inc_total>{}</vat_inc_total>{lines}</{root}>",
        excl + vat
    )
    .into_bytes()
}

fn observe(resource: &str, body: &[u8]) -> Observed {
    Observed::Object(snapshot::read(resource, body).unwrap().0.remove(0))
}

fn options() -> InboundOptions {
    InboundOptions {
        company: "acme".into(),
        ..Default::default()
    }
}

#[test]
fn a_quote_accepted_in_incwo_is_reported_once() {
    let (mut l, p) = (ledger(), Profile::default());
    let o = observe(
        "proposal_sheets",
        &sheet("proposal_sheet", 400001, "<progress_id>557</progress_id>", "100.00"),
    );
    let first = detect(&mut l, &p, &options(), &o, Source::Webhook, 1_700_000_000_000).unwrap();
    assert_eq!(first.outcome, DetectOutcome::Changed);
    assert_eq!(first.events.len(), 1);
    let e = &first.events[0];
    assert_eq!(
        (e.queue.as_str(), e.event.event_type.as_str()),
        ("erp.incwo.quote.acme", "quote.accepted")
    );
    assert_eq!(e.event.previous_status.as_deref(), Some("draft"));
    assert_eq!(e.event.expected_transition, Some(true));
    assert_eq!(l.take_changed().len(), 1);
    let again = detect(&mut l, &p, &options(), &o, Source::Webhook, 1_700_000_000_001).unwrap();
    assert_eq!(again.outcome, DetectOutcome::Unchanged);
    assert!(l.take_changed().is_empty());
}

#[test]
fn the_connectors_own_write_is_not_echoed() {
    let (mut l, p) = (ledger(), Profile::default());
    let o = observe(
        "proposal_sheets",
        &sheet("proposal_sheet", 400001, "<progress_id>555</progress_id>", "100.00"),
    );
    assert_eq!(
        detect(&mut l, &p, &options(), &o, Source::Poll, 1).unwrap().outcome,
        DetectOutcome::Unchanged
    );
    assert!(l.take_changed().is_empty());
}

#[test]
fn invoices_are_issued_by_sheet_type_and_paid_by_payments() {
    let (mut l, p) = (ledger(), Profile::default());
    let issued = observe(
        "bill_sheets",
        &sheet(
            "bill_sheet",
            500001,
            "<sheet_type>invoice</sheet_type><progress_id>600011</progress_id>",
            "100.00",
        ),
    );
    let r = detect(&mut l, &p, &options(), &issued, Source::Poll, 1).unwrap();
    assert_eq!(r.events[0].event.event_type, "invoice.issued");
    assert_eq!(r.events[0].queue, "erp.incwo.billing.acme");
    let paid = observe(
        "bill_sheets",
        &sheet(
            "bill_sheet",
            500001,
            "<sheet_type>invoice</sheet_type><payed_amount>120.00</payed_amount>",
            "100.00",
        ),
    );
    let r = detect(&mut l, &p, &options(), &paid, Source::Poll, 2).unwrap();
    assert_eq!(r.events[0].event.event_type, "invoice.paid");
    assert_eq!(r.events[0].event.source, Source::Poll);
}

#[test]
fn edits_name_the_differing_fields_and_update_the_ledger() {
    let (mut l, p) = (ledger(), Profile::default());
    let body = sheet("proposal_sheet", 400002, "<progress_id>600003</progress_id>", "150.00")
        .iter()
        .map(|b| *b as char)
        .collect::<String>()
        .replace("<quantity>2</quantity>", "<quantity>3</quantity>");
    let o = observe("proposal_sheets", body.as_bytes());
    let r = detect(&mut l, &p, &options(), &o, Source::Webhook, 5).unwrap();
    let types: Vec<&str> = r.events.iter().map(|e| e.event.event_type.as_str()).collect();
    assert_eq!(types, ["order.delivered", "document.edited_in_incwo"]);
    assert_eq!(r.events[0].queue, "erp.incwo.order.acme.eur");
    let changes = &r.events[1].event.changes;
    assert_eq!(changes["lines/SKU-1/qty"].after.as_deref(), Some("3"));
    assert_eq!(changes["exclTax"].before.as_deref(), Some("100"));
    assert_eq!(changes["exclTax"].after.as_deref(), Some("150"));
    let e = detect::find_entry(&l, "proposal_sheets", 400002).unwrap();
    assert_eq!(e.lines["SKU-1"].ordered, d("3"));
    assert_eq!(e.totals.as_ref().unwrap().incl_tax, d("180.00"));
    assert_eq!(e.totals.as_ref().unwrap().by_tax[0].tax_code, "TVA20");
    assert_eq!(
        detect(&mut l, &p, &options(), &o, Source::Webhook, 6).unwrap().outcome,
        DetectOutcome::Unchanged
    );
}

#[test]
fn deletions_and_unknown_objects() {
    let (mut l, p) = (ledger(), Profile::default());
    let gone = Observed::Gone {
        resource: "bill_sheets".into(),
        id: 500001,
    };
    let r = detect(&mut l, &p, &options(), &gone, Source::Webhook, 1).unwrap();
    assert_eq!(r.events[0].event.event_type, "document.deleted");
    assert_eq!(r.events[0].event.status.as_deref(), Some(DELETED));
    assert_eq!(
        detect(&mut l, &p, &options(), &gone, Source::Webhook, 2)
            .unwrap()
            .outcome,
        DetectOutcome::Unchanged
    );
    l.take_changed();
    for observed in [
        Observed::Gone {
            resource: "bill_sheets".into(),
            id: 999,
        },
        // A product id is not a document, whatever the resource claims.
        Observed::Gone {
            resource: "customer_products".into(),
            id: 300001,
        },
        observe("proposal_sheets", &sheet("proposal_sheet", 500001, "", "1.00")),
    ] {
        let r = detect(&mut l, &p, &options(), &observed, Source::Webhook, 3).unwrap();
        assert_eq!(r.outcome, DetectOutcome::NotTracked);
    }
    assert!(l.take_changed().is_empty());
}

/// An order whose two lines each hold the largest decimal as quantity and
/// total, after the given extra line (so the overflowing one is line 1 or 2).
fn overflowing_order(first: &str) -> Observed {
    let max = Decimal::MAX;
    let line = format!(
        "<proposal_line><customer_product_id>300001</customer_product_id><quantity>{max}</quantity><total_price>{max}</total_price><vat_value_id>607</vat_value_id></proposal_line>"
    );
    let body = format!(
        "<proposal_sheet><id>400002</id><vat_exl_total>1</vat_exl_total><vat_cost>0</vat_cost><vat_inc_total>1</vat_inc_total><proposal_lines>{first}{line}{line}</proposal_lines></proposal_sheet>"
    );
    observe("proposal_sheets", body.as_bytes())
}

#[test]
fn quantities_and_totals_beyond_the_decimal_range_are_a_contract_error_not_a_panic() {
    // The totals differ from the ledger's, so the per-tax sums are computed
    // first: the second line's amount overflows. Nothing changes.
    let (mut l, p) = (ledger(), Profile::default());
    let before = l.clone();
    let e = detect(&mut l, &p, &options(), &overflowing_order(""), Source::Poll, 1).unwrap_err();
    assert_eq!(
        (e.class, e.code, e.path.as_str()),
        ("contract", "contract.overflow", "/lines/1/total")
    );
    assert!(e.message.contains("proposal_sheets 400002"), "{}", e.message);
    assert_eq!(l, before, "the ledger is unchanged");
    // With the ledger's totals unknown, only the quantities are summed: the
    // third line (after a comment line, which is not priced) overflows.
    for entry in l.entries().cloned().collect::<Vec<_>>() {
        l.put(Entry { totals: None, ..entry });
    }
    let before = l.clone();
    let comment = "<proposal_line><content_kind>comment</content_kind><description>note</description></proposal_line>";
    let e = detect(&mut l, &p, &options(), &overflowing_order(comment), Source::Poll, 1).unwrap_err();
    assert_eq!((e.code, e.path.as_str()), ("contract.overflow", "/lines/2/quantity"));
    assert_eq!(l, before, "the ledger is unchanged");
}
