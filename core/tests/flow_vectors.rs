//! The flow vectors (`tests/vectors/flow/*.json`, call `flow.script`):
//! each case runs a batch against the fake incwo, records every answer, and
//! checks that `flow.script` fed those answers replays the same run. The
//! vector files are written from these cases with
//! `FLOW_VECTORS_WRITE=1 cargo test -p incwo-core --test flow_vectors`;
//! the vector runner (`tests/vectors.rs`) then checks them like every vector.

mod support;

use incwo_core::flow::{batch, Action, Flow, FlowOptions};
use incwo_core::http::{Auth, ConnectionConfig, Method};
use incwo_core::mapping::Profile;
use serde_json::{json, Value};
use support::fake_incwo::{FakeIncwo, Fault, FaultKind};
use support::*;

/// One vector case.
struct Case {
    name: &'static str,
    description: &'static str,
    records: Vec<Value>,
    final_invoices: bool,
    faults: Vec<Fault>,
}

fn script_config() -> ConnectionConfig {
    ConnectionConfig::new(
        "https://www.incwo.com",
        "123456",
        Auth::basic("api@example.fr", "secret"),
        false,
    )
    .unwrap()
}

/// Runs a case against the fake incwo with the script's clock rules (the
/// clock stands still; a Wait moves it); returns the recorded answers.
fn record_answers(case: &Case, profile: &Profile) -> Vec<Value> {
    let mut fake = FakeIncwo::default();
    for f in &case.faults {
        fake.fault(f.clone());
    }
    let items: Vec<_> = case
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| batch::parse_line(i + 1, &r.to_string(), profile))
        .collect();
    let mut now = T0;
    let mut flow = Flow::start(items, profile.clone(), script_config(), FlowOptions::default(), now, 7);
    let mut answers = Vec::new();
    loop {
        match flow.poll(now).unwrap() {
            Action::Send { request_id, request } => match fake.handle(&request) {
                Ok(r) => {
                    let headers: serde_json::Map<String, Value> =
                        r.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                    answers.push(
                        json!({"status": r.status, "headers": headers, "body": String::from_utf8_lossy(&r.body)}),
                    );
                    flow.on_response(request_id, r, now).unwrap();
                }
                Err(f) => {
                    answers.push(json!({"transport": f}));
                    flow.on_transport_error(request_id, f, now).unwrap();
                }
            },
            Action::Wait { until, .. } => now = now.max(until),
            Action::Done { .. } => break,
            _ => {}
        }
    }
    assert_eq!(fake.duplicates(), [], "{}", case.name);
    answers
}

/// The part of a script result a vector pins.
fn project(result: &Value) -> Value {
    let actions: Vec<Value> = result["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| match a["action"].as_str().unwrap() {
            "send" => json!({"action": "send", "method": a["method"], "endpoint": a["endpoint"]}),
            "wait" => json!({"action": "wait", "reason": a["reason"]}),
            "publish" => json!({"action": "publish", "queue": a["queue"],
                "event": {"type": a["event"]["type"], "externalId": a["event"]["externalId"]}}),
            "recordDone" => {
                let mut outcome = json!({"outcome": a["outcome"]["outcome"]});
                if let Some(e) = a["outcome"].get("error") {
                    outcome["error"] = json!({"class": e["class"], "code": e["code"]});
                }
                json!({"action": "recordDone", "index": a["index"], "outcome": outcome})
            }
            other => json!({"action": other}),
        })
        .collect();
    let s = &result["summary"];
    json!({
        "actions": actions,
        "summary": {"total": s["total"], "synced": s["synced"], "skipped": s["skipped"],
            "quarantined": s["quarantined"], "deferred": s["deferred"]},
        "counters": result["counters"],
        "answersLeft": 0,
    })
}

fn cases() -> Vec<Case> {
    let l = |q: &str| vec![line("KIT-API-01", q, "49.90", "TVA20")];
    let brief = brief();
    let post = Some(Method::Post);
    let mut cancelled_then_invoiced = brief.clone();
    let inv = cancelled_then_invoiced.pop().unwrap();
    cancelled_then_invoiced.push(cancellation("CMD-INC-2026-0411"));
    cancelled_then_invoiced.push(inv);
    let mut with_cancellation = brief.clone();
    with_cancellation.push(cancellation("CMD-INC-2026-0411"));
    let mut missing_price = brief[..4].to_vec();
    missing_price[3]["record"]["lines"][0]
        .as_object_mut()
        .unwrap()
        .remove("unitPriceExclTax");
    let no_quote = vec![
        customer("CLI-INC-8872"),
        product("KIT-API-01", "49.90", "TVA20"),
        order("CMD-INC-2026-0411", "CLI-INC-8872", None, l("10")),
    ];
    let over = {
        let mut r = no_quote.clone();
        r.push(invoice("FAC-1", "CMD-INC-2026-0411", l("6")));
        r.push(invoice("FAC-2", "CMD-INC-2026-0411", l("4")));
        r.push(invoice("FAC-3", "CMD-INC-2026-0411", l("1")));
        r
    };
    vec![
        Case { name: "01-nominal", description: "nominal: customer, product, quote, order (accepting the quote), invoice; each document read back and confirmed on its queue", records: brief.clone(), final_invoices: false, faults: vec![] },
        Case { name: "02-order-timeout-after-commit", description: "the order POST times out after incwo committed it: the flow looks the marker up, finds the order and never POSTs it again (replay_total{reason=reconciled})", records: brief.clone(), final_invoices: false, faults: vec![Fault::new(post, Some("proposal_sheets"), FaultKind::TimeoutAfterCommit).skip(1)] },
        Case { name: "03-order-reset-before-commit", description: "the order POST is reset before incwo handled it: the lookup proves it absent, then it is created once", records: brief.clone(), final_invoices: false, faults: vec![Fault::new(post, Some("proposal_sheets"), FaultKind::ResetBeforeCommit).skip(1)] },
        Case { name: "04-contract-missing-price", description: "an order line without unitPriceExclTax is quarantined as a contract error and nothing is sent for it", records: missing_price, final_invoices: false, faults: vec![] },
        Case { name: "05-invoice-on-cancelled-order", description: "an invoice on a cancelled order is quarantined (business.order_cancelled) and published on the billing quarantine queue", records: cancelled_then_invoiced, final_invoices: false, faults: vec![] },
        Case { name: "06-invoice-on-unknown-order", description: "an invoice on an order neither in the ledger nor in incwo is quarantined after the lookup", records: vec![invoice("FAC-X", "CMD-NOPE", l("1"))], final_invoices: false, faults: vec![] },
        Case { name: "07-replay-in-one-batch", description: "a record repeated in the same batch is skipped the second time: nothing sent (replay_total{reason=already_applied})", records: vec![customer("CLI-1"), product("KIT-API-01", "49.90", "TVA20"), order("CMD-1", "CLI-1", None, l("2")), order("CMD-1", "CLI-1", None, l("2"))], final_invoices: false, faults: vec![] },
        Case { name: "08-stock-correction", description: "a reception and a correction move the stock once each; a repeated correction is skipped", records: vec![product("KIT-API-01", "49.90", "TVA20"), movement("REC-1", "KIT-API-01", "25", "reception", None), movement("COR-1", "KIT-API-01", "-3", "correction", None), movement("COR-1", "KIT-API-01", "-3", "correction", None)], final_invoices: false, faults: vec![] },
        Case { name: "09-late-cancellation-draft", description: "cancelling an invoiced order cancels its draft invoice, then the order", records: with_cancellation.clone(), final_invoices: false, faults: vec![] },
        Case { name: "10-late-cancellation-credit-note", description: "with final invoices, cancelling an invoiced order issues a credit note (totals = -invoice totals), then cancels the order", records: with_cancellation, final_invoices: true, faults: vec![] },
        Case { name: "11-invoicing-after-incidents", description: "invoice POST: 503 (reconciled first), 429 Retry-After 2, timeout before send, then created once; api_error_total{class=technical} = 3", records: brief.clone(), final_invoices: false, faults: vec![
            Fault::new(post, Some("bill_sheets"), FaultKind::Status(503)),
            Fault::new(post, Some("bill_sheets"), FaultKind::RateLimit(2)).skip(1),
            Fault::new(post, Some("bill_sheets"), FaultKind::TimeoutBeforeSend).skip(2),
        ] },
        Case { name: "12-unauthorized-stops-the-run", description: "401 on the first call stops the run: every record is deferred with auth.unauthorized and the summary says stopped", records: brief.clone(), final_invoices: false, faults: vec![Fault::new(None, None, FaultKind::Status(401))] },
        Case { name: "13-incwo-rejects-a-product", description: "incwo answers 422 to a product create: quarantined as a contract error; the next records go on", records: vec![product("KIT-API-01", "49.90", "TVA20"), product("KIT-API-02", "10.00", "TVA10")], final_invoices: false, faults: vec![Fault::new(post, Some("customer_products"), FaultKind::Status(422))] },
        Case { name: "14-server-errors-exhaust-attempts", description: "the invoice POST keeps failing with 503: reconciled before every retry, at most 4 attempts, then deferred with its entry pending", records: brief.clone(), final_invoices: false, faults: vec![Fault::new(post, Some("bill_sheets"), FaultKind::Status(503)).times(10)] },
        Case { name: "15-retry-after-beyond-cap-defers-the-customer", description: "a 429 with Retry-After 120 s (beyond the 60 s cap) defers the record; the customer's later records keep their place behind it", records: vec![customer("CLI-1"), product("KIT-API-01", "49.90", "TVA20"), quote("DEV-1", "CLI-1", l("1")), order("CMD-1", "CLI-1", None, l("1"))], final_invoices: false, faults: vec![Fault::new(post, Some("proposal_sheets"), FaultKind::RateLimit(120))] },
        Case { name: "16-over-invoicing", description: "6 then 4 of 10 units invoiced; a third invoice for 1 more is quarantined (business.over_invoicing) without a request", records: over, final_invoices: false, faults: vec![] },
        Case { name: "17-order-on-unknown-quote", description: "an order on a quote that is not in incwo is quarantined (business.unknown_quote)", records: vec![customer("CLI-1"), order("CMD-1", "CLI-1", Some("DEV-NOPE"), l("1"))], final_invoices: false, faults: vec![] },
    ]
}

fn args_of(case: &Case, answers: Vec<Value>) -> Value {
    let mut args = json!({"records": case.records, "now": T0, "seed": 7, "answers": answers});
    if case.final_invoices {
        args["profile"] =
            serde_json::from_str(include_str!("../../tests/vectors/profiles/final-invoices.json")).unwrap();
    }
    args
}

#[test]
fn flow_vectors_replay_what_the_fake_incwo_answered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/flow");
    let write = std::env::var("FLOW_VECTORS_WRITE").is_ok();
    for case in cases() {
        let profile = if case.final_invoices {
            final_profile()
        } else {
            Profile::default()
        };
        let answers = record_answers(&case, &profile);
        let args = args_of(&case, answers);
        let result = incwo_core::api::call("flow.script", &args);
        assert!(result.get("error").is_none(), "{}: {result}", case.name);
        assert_eq!(result["answersLeft"], 0, "{}", case.name);
        let expected = project(&result);
        let path = dir.join(format!("{}.json", case.name));
        if write {
            let vector =
                json!({"description": case.description, "call": "flow.script", "args": args, "expected": expected});
            std::fs::write(&path, serde_json::to_string_pretty(&vector).unwrap() + "\n").unwrap();
        } else {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let vector: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                vector["args"], args,
                "{}: the recorded answers changed; rewrite the vectors",
                case.name
            );
            assert_eq!(vector["expected"], expected, "{}", case.name);
        }
    }
}
