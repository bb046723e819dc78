//! Fault injection, duplicates and reset, over real loopback HTTP.

mod common;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use common::*;

fn order_count(sim: &Sim) -> u64 {
    sim.state()["counts"]["proposal_sheets"].as_u64().unwrap()
}

#[test]
fn drop_after_commit_loses_the_response_but_keeps_the_order() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    sim.fault(
        json!({"method":"POST","resource":"proposal_sheets","fault":{"kind":"drop_after_commit"},"times":1,"skip":0}),
    );
    let body = order_xml(&firm, &product, "CMD-INC-2026-0411");
    let err = Req::new("POST", &sim.coll("proposal_sheets"))
        .body(&body)
        .send(sim.port())
        .expect_err("the client must not get a response");
    assert!(
        matches!(err.kind(), ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof),
        "{err:?}"
    );
    let state = sim.state();
    let orders = state["objects"]["proposal_sheets"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "the write was committed");
    assert_eq!(orders[0]["title"], "CMD-INC-2026-0411");
    assert_eq!(orders[0]["vat_inc_total"], "598.80");
    assert_eq!(state["duplicates"], json!([]));
    assert_eq!(state["counters"]["faults_fired"]["drop_after_commit"], 1);
    // The rule is spent: the connector can look the order up by marker.
    let list = sim.get(&sim.coll("proposal_sheets"));
    assert_eq!(tag(&list.body, "title").unwrap(), "CMD-INC-2026-0411");
}

#[test]
fn drop_modes_reset_and_close() {
    let sim = Sim::start();
    sim.fault(json!([
        {"method":"GET","resource":"firms","fault":{"kind":"drop_before_commit","mode":"reset"},"times":1},
        {"method":"GET","resource":"firms","fault":{"kind":"drop_before_commit","mode":"close"},"times":1,"skip":1},
    ]));
    let e = Req::new("GET", &sim.coll("firms")).send(sim.port()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e:?}");
    let e = Req::new("GET", &sim.coll("firms")).send(sim.port()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e:?}");
    assert_eq!(sim.get(&sim.coll("firms")).status, 200);
}

#[test]
fn drop_before_commit_writes_nothing() {
    let sim = Sim::start();
    sim.fault(json!({"method":"POST","resource":"firms","fault":{"kind":"drop_before_commit"},"times":1}));
    let r = Req::new("POST", &sim.coll("firms"))
        .body("<firm><name>A</name><accounting_ref>CLI-1</accounting_ref></firm>")
        .send(sim.port());
    assert!(r.is_err());
    assert_eq!(sim.state()["counts"]["firms"], 0);
    // The retry goes through and creates exactly one.
    sim.create(
        "firms",
        "<firm><name>A</name><accounting_ref>CLI-1</accounting_ref></firm>",
    );
    let s = sim.state();
    assert_eq!(s["counts"]["firms"], 1);
    assert_eq!(s["duplicates"], json!([]));
    assert_eq!(s["counters"]["requests"]["firms"]["POST"], 2);
    assert_eq!(s["counters"]["creates"]["firms"], 1);
}

#[test]
fn http_errors_and_rate_limits() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    // The matrix's scenario 9: 503, then 429 with Retry-After 2.
    sim.fault(json!([
        {"method":"POST","resource":"bill_sheets","fault":{"kind":"http_error","status":503},"times":1},
        {"method":"POST","resource":"bill_sheets","fault":{"kind":"rate_limit","retry_after":2},"times":1,"skip":1},
    ]));
    let body = format!("<bill_sheet><firm_id>{firm}</firm_id><title>FAC-1</title><bill_lines><bill_line><customer_product_id>{product}</customer_product_id><quantity>1</quantity><unit_price>1</unit_price><vat_value_id>607</vat_value_id></bill_line></bill_lines></bill_sheet>");
    let r = sim.post(&sim.coll("bill_sheets"), &body);
    assert_eq!(r.status, 503);
    assert!(r.body.contains("something went wrong"));
    let r = sim.post(&sim.coll("bill_sheets"), &body);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("2"));
    let r = sim.post(&sim.coll("bill_sheets"), &body);
    assert_eq!(r.status, 201);
    let s = sim.state();
    assert_eq!(s["counts"]["bill_sheets"], 1);
    assert_eq!(s["counters"]["requests"]["bill_sheets"]["POST"], 3);

    // A 500 after the commit: the outcome is unknown to the client.
    sim.fault(json!({"method":"POST","resource":"bill_sheets","fault":{"kind":"http_error","status":500,"after_commit":true,"retry_after":5},"times":1}));
    let r = sim.post(&sim.coll("bill_sheets"), &body.replace("FAC-1", "FAC-2"));
    assert_eq!(r.status, 500);
    assert_eq!(r.header("retry-after"), Some("5"));
    assert_eq!(sim.state()["counts"]["bill_sheets"], 2);
}

#[test]
fn latency_delays_the_answer() {
    let sim = Sim::start();
    sim.fault(json!({"method":"GET","fault":{"kind":"latency","ms":300},"times":1}));
    let t = Instant::now();
    assert_eq!(sim.get(&sim.coll("firms")).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(sim.get(&sim.coll("firms")).status, 200);
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[test]
fn timeout_after_commit_and_before_commit() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    // Held longer than the client waits; the order was committed first.
    sim.fault(json!({"method":"POST","resource":"proposal_sheets","fault":{"kind":"timeout","ms":3000,"commit":true},"times":1}));
    let e = Req::new("POST", &sim.coll("proposal_sheets"))
        .body(&order_xml(&firm, &product, "CMD-A"))
        .timeout(Duration::from_millis(300))
        .send(sim.port())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{e:?}");
    assert_eq!(order_count(&sim), 1);
    // Held, then closed without handling: nothing committed.
    sim.fault(json!({"method":"POST","resource":"proposal_sheets","fault":{"kind":"timeout","ms":3000,"commit":false},"times":1}));
    let e = Req::new("POST", &sim.coll("proposal_sheets"))
        .body(&order_xml(&firm, &product, "CMD-B"))
        .timeout(Duration::from_millis(300))
        .send(sim.port())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{e:?}");
    assert_eq!(order_count(&sim), 1);
    // A patient client gets the held answer.
    sim.fault(json!({"method":"GET","resource":"firms","fault":{"kind":"timeout","ms":200},"times":1}));
    let t = Instant::now();
    assert_eq!(sim.get(&sim.coll("firms")).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[test]
fn duplicates_are_detected_per_resource() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    assert_eq!(sim.state()["duplicates"], json!([]));
    sim.create("proposal_sheets", &order_xml(&firm, &product, "CMD-1"));
    sim.create("proposal_sheets", &order_xml(&firm, &product, "CMD-2"));
    let dup = sim.create("proposal_sheets", &order_xml(&firm, &product, "CMD-1"));
    sim.create(
        "firms",
        "<firm><name>Atelier Horizon</name><accounting_ref>CLI-INC-8872</accounting_ref></firm>",
    );
    // Same title on another resource is not a duplicate.
    sim.create(
        "bill_sheets",
        &format!("<bill_sheet><firm_id>{firm}</firm_id><title>CMD-1</title></bill_sheet>"),
    );
    // Contacts have no marker.
    for _ in 0..2 {
        sim.create("contacts", "<contact><last_name>Same</last_name></contact>");
    }
    let s = sim.state();
    let d = s["duplicates"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{d:?}");
    let orders = d.iter().find(|x| x["resource"] == "proposal_sheets").unwrap();
    assert_eq!(orders["marker"], "CMD-1");
    assert_eq!(orders["marker_field"], "title");
    assert_eq!(orders["count"], 2);
    assert_eq!(orders["ids"][1].to_string(), dup);
    let firms = d.iter().find(|x| x["resource"] == "firms").unwrap();
    assert_eq!(firms["marker"], "CLI-INC-8872");
    // A deleted duplicate was still created twice.
    sim.delete(&sim.one("proposal_sheets", &dup));
    assert_eq!(sim.state()["duplicates"].as_array().unwrap().len(), 2);
}

#[test]
fn reset_empties_everything() {
    let sim = Sim::start();
    sim.referentials();
    sim.fault(json!({"method":"GET","fault":{"kind":"http_error"}}));
    assert_eq!(sim.get(&sim.coll("firms")).status, 503);
    let r = Req::new("POST", "/_sim/reset").no_auth().send(sim.port()).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let s = sim.state();
    assert_eq!(s["counts"]["firms"], 0);
    assert_eq!(s["counts"]["customer_products"], 0);
    assert_eq!(s["faults"], json!([]));
    assert_eq!(s["counters"]["requests"], json!({}));
    assert_eq!(s["counters"]["faults_fired"], json!({}));
    assert_eq!(sim.get(&sim.coll("firms")).status, 200);
    // Ids and numbers start again.
    let (firm, _) = sim.referentials();
    assert_eq!(firm, "100001");
}

#[test]
fn faults_can_be_listed_and_cleared() {
    let sim = Sim::start();
    sim.fault(json!({"resource":"firms","fault":{"kind":"http_error","status":502}}));
    assert_eq!(sim.get(&sim.coll("firms")).status, 502);
    assert_eq!(sim.get(&sim.coll("contacts")).status, 200);
    let r = Req::new("GET", "/_sim/faults").no_auth().send(sim.port()).unwrap();
    let rules = r.json();
    assert_eq!(rules["rules"][0]["seen"], 1);
    assert_eq!(rules["rules"][0]["fired"], 1);
    let r = Req::new("DELETE", "/_sim/faults").no_auth().send(sim.port()).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(sim.get(&sim.coll("firms")).status, 200);
    // Bad rules are refused with 400 and add nothing.
    for bad in [
        "{",
        "{\"fault\":{\"kind\":\"meteor\"}}",
        "[{\"fault\":{\"kind\":\"drop\"}},{\"fault\":1}]",
    ] {
        let r = Req::new("POST", "/_sim/faults")
            .no_auth()
            .body(bad)
            .send(sim.port())
            .unwrap();
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    assert_eq!(sim.state()["faults"], json!([]));
}

#[test]
fn probabilistic_rules_are_reproducible_with_a_seed() {
    let run = |seed: u64| -> Vec<u16> {
        let sim = Sim::with(SimConfig {
            seed,
            ..SimConfig::default()
        });
        sim.fault(json!({"method":"GET","fault":{"kind":"http_error","status":503},"probability":0.5}));
        (0..40).map(|_| sim.get(&sim.coll("firms")).status).collect()
    };
    let a = run(42);
    assert_eq!(a, run(42));
    assert_ne!(a, run(43));
    let errors = a.iter().filter(|s| **s == 503).count();
    assert!((5..=35).contains(&errors), "{errors}");
    // A reset with a new seed replays the same sequence as a fresh start.
    let sim = Sim::with(SimConfig {
        seed: 1,
        ..SimConfig::default()
    });
    let r = Req::new("POST", "/_sim/reset")
        .no_auth()
        .body("{\"seed\": 42}")
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 200);
    sim.fault(json!({"method":"GET","fault":{"kind":"http_error","status":503},"probability":0.5}));
    let b: Vec<u16> = (0..40).map(|_| sim.get(&sim.coll("firms")).status).collect();
    assert_eq!(a, b);
}

#[test]
fn keep_alive_connection_sees_the_drop() {
    // A client reusing one connection: first request fine, second dropped.
    use std::io::{Read, Write};
    let sim = Sim::start();
    sim.fault(json!({"method":"GET","resource":"firms","fault":{"kind":"drop_after_commit"},"times":1,"skip":1}));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", sim.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let req = format!(
        "GET /123456/firms.xml HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\r\n",
        base64(b"api@example.fr:secret")
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    s.write_all(req.as_bytes()).unwrap();
    let mut rest = Vec::new();
    let r = s.read_to_end(&mut rest);
    assert!(r.is_err() || rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

#[test]
fn handle_api_matches_http_admin() {
    let sim = Sim::start();
    sim.handle
        .add_faults(&json!({"method":"GET","fault":{"kind":"http_error","status":504},"times":1}))
        .unwrap();
    assert_eq!(sim.get(&sim.coll("firms")).status, 504);
    assert!(sim.handle.add_faults(&json!({"fault":{"kind":"nope"}})).is_err());
    sim.referentials();
    assert_eq!(sim.handle.state()["counts"]["firms"], 1);
    sim.handle.reset();
    assert_eq!(sim.handle.state()["counts"]["firms"], 0);
    assert!(sim.handle.api_url().ends_with("/123456"));
    assert!(sim.handle.base_url().starts_with("http://127.0.0.1:"));
}
