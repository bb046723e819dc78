//! The `incwo-sim` binary, as a non-Rust test suite would start it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

#[test]
fn binary_prints_its_address_first_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_incwo-sim"))
        .args(["--port", "0", "--page-size", "2", "--login", "bot@example.fr"])
        .env("INCWO_SIM_PASSWORD", "pw")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start incwo-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .parse()
        .unwrap();
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
fn binary_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_incwo-sim"))
        .args(["--port", "notaport"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
