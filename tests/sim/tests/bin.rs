//! The `incwo-sim` binary, as a non-Rust test suite would start it.

mod common;

use std::process::Command;

use common::*;

#[test]
fn binary_prints_its_address_first_and_serves() {
    let (mut child, port) = start_binary(
        &["--port", "0", "--page-size", "2", "--login", "bot@example.fr"],
        &[("INCWO_SIM_PASSWORD", "pw")],
        "http",
    );
    let r = Req::new("GET", "/123456/firms.xml")
        .auth("bot@example.fr", "pw")
        .send(port)
        .unwrap();
    let r2 = Req::new("GET", "/_sim/health").no_auth().send(port).unwrap();
    let r3 = Req::new("GET", "/123456/firms.xml").send(port).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r2.status, 200);
    assert_eq!(r3.status, 401, "default password no longer valid");
}

#[test]
fn binary_seeds_in_bulk_and_takes_list_settings() {
    let (mut child, port) = start_binary(
        &[
            "--seed-json",
            r#"{"firms": 30, "billSheets": 4, "prefix": "CLI"}"#,
            "--list-order",
            "unknown",
            "--ignore-per-page",
            "--page-size",
            "7",
        ],
        &[],
        "http",
    );
    let counts = Req::new("GET", "/_sim/counts").no_auth().send(port).unwrap();
    let config = Req::new("GET", "/_sim/config").no_auth().send(port).unwrap();
    let page = Req::new("GET", "/123456/firms.xml?per_page=50").send(port).unwrap();
    let invoice = Req::new("GET", "/123456/bill_sheets/500004.xml").send(port).unwrap();
    let reset = Req::new("POST", "/_sim/reset").no_auth().send(port).unwrap();
    let after_reset = Req::new("GET", "/_sim/counts").no_auth().send(port).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(counts.json()["counts"]["firms"], 30, "{}", counts.body);
    assert_eq!(counts.json()["counts"]["bill_sheets"], 4);
    assert_eq!(
        config.json(),
        json!({"listOrder": "unknown", "pageSize": 7, "honourPerPage": false, "maxPerPage": 100})
    );
    assert_eq!(page.tag("current_page_items_count"), "7");
    assert_eq!(page.tag("total_pages"), "5");
    assert_eq!(invoice.tag("title"), "CLI-I4");
    assert_eq!(reset.status, 200);
    assert_eq!(after_reset.json()["counts"]["firms"], 30, "a reset seeds again");
}

#[test]
fn binary_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_incwo-sim"))
        .args(["--port", "notaport"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    for (args, needle) in [
        (&["--list-order", "sideways"][..], "--list-order"),
        (&["--seed-json", "{\"firms\": -3}"][..], "`firms`"),
        (&["--seed-json", "{\"billSheets\": 3}"][..], "firms"),
        (&["--seed-json", "not json"][..], "not JSON"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_incwo-sim"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
