//! The CLI's contract: exit codes, outputs and the README's examples.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn incwo(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_incwo"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run incwo");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn validate_the_brief_order() {
    let out = incwo(&["validate", "order", "examples/data/order.json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["valid"], true);
}

#[test]
fn an_order_without_unit_price_exits_1_and_names_the_path() {
    let out = incwo(&["validate", "order", "examples/data/order-missing-price.json"], None);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["violations"][0]["path"], "/lines/0/unitPriceExclTax");
    assert_eq!(report["violations"][0]["code"], "required");
    let out = incwo(&["map", "order", "examples/data/order-missing-price.json"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("/lines/0/unitPriceExclTax"));
}

#[test]
fn map_prints_the_xml_with_ids_prices_and_totals() {
    let out = incwo(&["map", "order", "examples/data/order.json"], None);
    assert_eq!(out.status.code(), Some(0));
    let xml = stdout(&out);
    for needle in [
        "<vat_value_id>607</vat_value_id>",
        "<unit_price>49.90</unit_price>",
        "<quantity>10</quantity>",
        "<vat_exl_total>499.00</vat_exl_total>",
        "<vat_cost>99.80</vat_cost>",
        "<vat_inc_total>598.80</vat_inc_total>",
    ] {
        assert!(xml.contains(needle), "{needle} missing from {xml}");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        incwo(&["validate", "order", "-"], Some("{ not json")).status.code(),
        Some(2)
    );
    assert_eq!(
        incwo(&["validate", "orders", "examples/data/order.json"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        incwo(&["validate", "order", "no/such/file.json"], None).status.code(),
        Some(2)
    );
    let out = incwo(&["validate", "order", "-"], Some("{\n \"orderNumber\": ,\n}"));
    assert!(stdout(&out).contains("\"line\": 2"), "{}", stdout(&out));
}

#[test]
fn validate_reads_stdin_and_a_profile() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/customer.json"
    ))
    .unwrap();
    let out = incwo(&["validate", "customer", "-"], Some(&text));
    assert_eq!(out.status.code(), Some(0), "warnings do not fail validation");
    assert!(stdout(&out).contains("vat_key"));
    let out = incwo(
        &[
            "validate",
            "customer",
            "-",
            "--profile",
            "tests/vectors/profiles/strict-vat.json",
        ],
        Some(&text),
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn every_fixture_parses() {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "xml") {
                files.push(path);
            }
        }
    }
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/fixtures"));
    let mut files = Vec::new();
    walk(root, &mut files);
    assert!(files.len() >= 15);
    for file in files {
        // The resource is the folder the file sits in (…/contacts/firms/1.xml → firms),
        // or the root element's plural for folders named after the case.
        let text = std::fs::read_to_string(&file).unwrap();
        let root_name = text
            .split('<')
            .find_map(|t| t.strip_prefix(|c: char| c.is_ascii_alphabetic()).map(|_| t))
            .unwrap();
        let root_name: String = root_name
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let resource = if text.contains("type=\"array\"") {
            root_name
        } else {
            format!("{root_name}s")
        };
        let out = incwo(&["parse", &resource, file.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(0), "{}: {}", file.display(), stdout(&out));
    }
}

#[test]
fn schema_prints_a_json_schema() {
    let out = incwo(&["schema", "order"], None);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

fn classify(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["classify"];
    all.extend_from_slice(args);
    let out = incwo(&all, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn classify_gives_the_class_and_the_retry_decision() {
    let r = classify(&["--status", "503"]);
    assert_eq!(r["classified"]["class"], "technical");
    assert_eq!(r["decision"]["decision"], "retryAt");
    let body = std::env::temp_dir().join(format!("incwo-422-{}.xml", std::process::id()));
    std::fs::write(&body, "<errors><error field=\"name\">can't be blank</error></errors>").unwrap();
    let r = classify(&[
        "--status",
        "422",
        "--body",
        body.to_str().unwrap(),
        "--method",
        "POST",
        "--endpoint",
        "/firms.xml",
    ]);
    assert_eq!(r["classified"]["class"], "contract");
    assert_eq!(r["classified"]["messages"][0]["text"], "can't be blank");
    assert_eq!(r["decision"]["decision"], "reject");
    let r = classify(&[
        "--transport",
        "timeout",
        "--phase",
        "sent",
        "--method",
        "POST",
        "--endpoint",
        "/bill_sheets.xml",
    ]);
    assert_eq!(r["decision"]["decision"], "reconcileFirst");
    let r = classify(&[
        "--transport",
        "tls",
        "--phase",
        "tls_handshake",
        "--method",
        "POST",
        "--endpoint",
        "/bill_sheets.xml",
    ]);
    assert_eq!(r["decision"]["decision"], "retryAt");
    let r = classify(&["--status", "429", "--retry-after", "120"]);
    assert_eq!(r["decision"]["decision"], "requeue");
}

#[test]
fn request_prints_the_request_without_the_secret() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_incwo"))
        .args([
            "request",
            "order",
            "create",
            "examples/data/order.json",
            "--server",
            "https://www.incwo.com",
        ])
        .args([
            "--business-file",
            "123456",
            "--login",
            "api@example.fr",
            "--password-env",
            "INCWO_PW_TEST",
        ])
        .env("INCWO_PW_TEST", "s3cret-pass")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut text).unwrap();
    assert!(child.wait().unwrap().success());
    let request: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], "https://www.incwo.com/123456/proposal_sheets.xml");
    assert!(request["body"]
        .as_str()
        .unwrap()
        .contains("<unit_price>49.90</unit_price>"));
    assert!(!text.contains("s3cret-pass"));
    assert!(
        !text.contains("YXBpQGV4YW1wbGUuZnI6czNjcmV0LXBhc3M"),
        "the Basic token leaked"
    );
}
