//! `incwo sync` over real HTTPS on 127.0.0.1: the simulator (`incwo sim
//! --tls-dir`, a real process) with its generated CA, the CLI trusting it
//! with `--ca-file`, and each TLS fault of the simulator striking the order
//! create once. The simulator must end with exactly one order every time:
//! a TLS failure after the request was written is never read as "not
//! sent" (which would create the order again), and a refused handshake is
//! retried at once (nothing was sent).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::Arc;
use support::incwo_bare as incwo;

use serde_json::{json, Value};
use ureq::rustls;
use ureq::rustls::pki_types::pem::PemObject;
use ureq::rustls::pki_types::CertificateDer;

fn temp_dir(name: &str) -> PathBuf {
    support::temp_dir("cli-tls", name)
}

/// `incwo sim --tls-dir DIR` as a process, with an admin client trusting
/// its CA; killed on drop.
struct Sim {
    child: Child,
    url: String,
    ca: PathBuf,
    admin: ureq::Agent,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn trusting(ca: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

impl Sim {
    fn start(dir: &Path) -> Sim {
        let tls_dir = dir.join("tls");
        let mut child = incwo()
            .args(["sim", "--port", "0", "--tls-dir", tls_dir.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        let url = support::listening_url(&mut child);
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        let ca = tls_dir.join("ca.pem");
        let admin = ureq::AgentBuilder::new().tls_config(trusting(&ca)).build();
        Sim { child, url, ca, admin }
    }

    fn state(&self) -> Value {
        self.admin
            .get(&format!("{}/_sim/state", self.url))
            .call()
            .expect("GET /_sim/state")
            .into_json()
            .unwrap()
    }

    fn fault(&self, rule: Value) {
        self.admin
            .post(&format!("{}/_sim/faults", self.url))
            .send_json(rule)
            .expect("POST /_sim/faults");
    }
}

/// The brief's customer and product, and its order without a source quote.
fn batch(dir: &Path, with_order: bool) -> PathBuf {
    let data = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/batch.jsonl")).unwrap();
    let mut lines: Vec<String> = data.lines().take(2).map(str::to_string).collect();
    if with_order {
        let mut order: Value =
            serde_json::from_str(include_str!("../../data/order.json")).expect("examples/data/order.json");
        order.as_object_mut().unwrap().remove("sourceQuote");
        lines.push(json!({"kind": "order", "record": order}).to_string());
    }
    let path = dir.join(if with_order {
        "batch.jsonl"
    } else {
        "referentials.jsonl"
    });
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn sync(sim: &Sim, batch: &Path, state: &Path, ca: Option<&Path>) -> (Output, Value) {
    let mut c = incwo();
    c.args([
        "sync",
        batch.to_str().unwrap(),
        "--server",
        &sim.url,
        "--business-file",
        "123456",
    ])
    .args(["--login", "api@example.fr", "--password-env", "INCWO_TEST_PASSWORD"])
    .args(["--state", state.to_str().unwrap(), "--timeout-ms", "2000"])
    .env("INCWO_TEST_PASSWORD", "secret");
    if let Some(ca) = ca {
        c.args(["--ca-file", ca.to_str().unwrap()]);
    }
    let out = c.output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}

fn assert_synced(out: &Output, report: &Value, records: u64) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["summary"]["synced"], records, "{report:#}");
}

fn posts(state: &Value, resource: &str) -> u64 {
    state["counters"]["requests"][resource]["POST"].as_u64().unwrap_or(0)
}

/// Exactly one order, no duplicate marker, the fault fired once.
fn assert_one_order(state: &Value, fault: &str) {
    assert_eq!(state["counts"]["proposal_sheets"], 1, "{:#}", state["counters"]);
    assert_eq!(state["duplicates"], json!([]));
    assert_eq!(state["counters"]["faults_fired"][fault], 1, "{:#}", state["counters"]);
}

#[test]
fn nominal_sync_over_https_trusting_the_simulator_ca() {
    let dir = temp_dir("nominal");
    let sim = Sim::start(&dir);
    let (out, report) = sync(&sim, &batch(&dir, true), &dir.join("state.json"), Some(&sim.ca));
    assert_synced(&out, &report, 3);
    let state = sim.state();
    assert_eq!(state["counts"]["firms"], 1);
    assert_eq!(state["counts"]["customer_products"], 1);
    assert_eq!(state["counts"]["proposal_sheets"], 1);
    assert_eq!(posts(&state, "proposal_sheets"), 1);
}

#[test]
fn a_wrong_ca_stops_at_the_handshake_and_creates_nothing() {
    let dir = temp_dir("wrong-ca");
    let sim = Sim::start(&dir);
    // Another simulator's CA: valid, but not the one that signed this server.
    let other_dir = dir.join("other");
    let other = incwo_sim::spawn(incwo_sim::SimConfig {
        tls_dir: Some(other_dir.clone()),
        ..Default::default()
    });
    let (out, report) = sync(
        &sim,
        &batch(&dir, true),
        &dir.join("state.json"),
        Some(other.ca_file().unwrap()),
    );
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TLS certificate is not trusted") && stderr.contains("--ca-file"),
        "{stderr}"
    );
    assert_eq!(report["summary"]["synced"], 0, "{report:#}");
    let error = &report["problems"][0]["outcome"]["error"];
    assert_eq!(error["code"], "transport.tls", "{report:#}");
    // The core's wording for the phase the CLI reported (tls_handshake).
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with("before the request was sent"),
        "{error:#}"
    );
    let state = sim.state();
    assert_eq!(state["counters"]["requests"], json!({}), "no request reached the API");
    assert_eq!(state["counts"]["firms"], 0);
    assert_eq!(state["counts"]["proposal_sheets"], 0);
}

#[test]
fn a_missing_ca_file_is_a_clear_error() {
    let dir = temp_dir("missing-ca");
    let sim = Sim::start(&dir);
    let missing = dir.join("nope.pem");
    let out = incwo()
        .args(["sync", batch(&dir, true).to_str().unwrap(), "--server", &sim.url])
        .args(["--business-file", "123456", "--login", "api@example.fr"])
        .args(["--password-env", "INCWO_TEST_PASSWORD", "--state"])
        .arg(dir.join("state.json"))
        .arg("--ca-file")
        .arg(&missing)
        .env("INCWO_TEST_PASSWORD", "secret")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("--ca-file {}: cannot read", missing.display())),
        "{stderr}"
    );
    assert_eq!(sim.state()["counters"]["requests"], json!({}));
}

/// A fault that strikes after the order create was written: the CLI must
/// report it as sent, so the core looks the order up instead of posting it
/// again; one order, created by one POST.
fn post_send_fault(name: &str, kind: &str) {
    let dir = temp_dir(name);
    let sim = Sim::start(&dir);
    sim.fault(json!({"method": "POST", "resource": "proposal_sheets", "fault": {"kind": kind}, "times": 1}));
    let (out, report) = sync(&sim, &batch(&dir, true), &dir.join("state.json"), Some(&sim.ca));
    assert_synced(&out, &report, 3);
    let state = sim.state();
    assert_one_order(&state, kind);
    assert_eq!(
        posts(&state, "proposal_sheets"),
        1,
        "the order create was not sent again"
    );
}

#[test]
fn reset_after_commit_is_sent_and_reconciled() {
    post_send_fault("reset", "tls_reset_after_commit");
}

#[test]
fn close_notify_before_the_response_is_sent_and_reconciled() {
    post_send_fault("close-notify", "tls_close_notify_before_response");
}

#[test]
fn a_body_cut_mid_way_is_sent_and_reconciled() {
    post_send_fault("cut", "tls_cut_mid_body");
}

/// The handshake of the order create's connection is refused: the
/// customer and product are synced first, the rule is armed, and the
/// second run's only request is the order create.
fn refused_handshake(name: &str, fault: Value) {
    let dir = temp_dir(name);
    let sim = Sim::start(&dir);
    let state_file = dir.join("state.json");
    let (out, report) = sync(&sim, &batch(&dir, false), &state_file, Some(&sim.ca));
    assert_synced(&out, &report, 2);
    sim.fault(json!({"fault": fault, "times": 1}));
    // No admin call until the run is over: it would open a connection.
    let (out, report) = sync(&sim, &batch(&dir, true), &state_file, Some(&sim.ca));
    assert_synced(&out, &report, 1);
    assert_eq!(report["summary"]["skipped"], 2, "customer and product were done");
    let state = sim.state();
    assert_one_order(&state, "tls_handshake_refused");
    // The CLI sent two POSTs, the simulator received one: the refused
    // handshake was a POST's, and the order create is the run's only POST.
    assert_eq!(posts(&state, "proposal_sheets"), 1, "the refused one never arrived");
    assert_eq!(
        posts(&state, "firms") + posts(&state, "customer_products"),
        2,
        "only run 1's"
    );
    // Reported as tls_handshake (not sent), the create is retried at once;
    // read as "may have been sent" it would first be looked up (a 2nd GET).
    assert_eq!(report["requests"], json!({"GET": 1, "POST": 2}), "{report:#}");
    assert_eq!(state["counters"]["requests"]["proposal_sheets"]["GET"], 1);
}

#[test]
fn a_handshake_refused_with_an_alert_is_retried() {
    refused_handshake("hs-alert", json!({"kind": "tls_handshake_refused"}));
}

#[test]
fn a_handshake_refused_with_a_reset_is_retried() {
    refused_handshake("hs-reset", json!({"kind": "tls_handshake_refused", "mode": "reset"}));
}

fn account_args(sim: &Sim) -> Vec<String> {
    [
        "--server",
        &sim.url,
        "--business-file",
        "123456",
        "--login",
        "api@example.fr",
    ]
    .into_iter()
    .chain(["--password-env", "INCWO_TEST_PASSWORD"])
    .map(str::to_string)
    .collect()
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

#[test]
fn doctor_verifies_https_with_the_ca_file_and_fails_without_it() {
    let dir = temp_dir("doctor");
    let sim = Sim::start(&dir);
    let doctor = |ca: Option<&Path>| {
        let mut c = incwo();
        c.arg("doctor").args(account_args(&sim)).arg("--json");
        if let Some(ca) = ca {
            c.arg("--ca-file").arg(ca);
        }
        let out = c.env("INCWO_TEST_PASSWORD", "secret").output().unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), report)
    };
    let (code, report) = doctor(Some(&sim.ca));
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(check(&report, "tls")["verdict"], "ok");
    assert_eq!(check(&report, "tls")["detail"], "https: certificate verified");
    assert_eq!(check(&report, "credentials")["verdict"], "ok");
    let (code, report) = doctor(None);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(check(&report, "tls")["verdict"], "fail", "{report:#}");
    assert!(
        check(&report, "tls")["fix"].as_str().unwrap().contains("--ca-file"),
        "{report:#}"
    );
}

#[test]
fn listen_polls_over_https_with_the_ca_file() {
    let dir = temp_dir("listen");
    let sim = Sim::start(&dir);
    let state_file = dir.join("state.json");
    let (out, report) = sync(&sim, &batch(&dir, true), &state_file, Some(&sim.ca));
    assert_synced(&out, &report, 3);
    // A status change "from the incwo UI" for polling to find.
    let order = sim.state()["objects"]["proposal_sheets"][0]["id"].clone();
    sim.admin
        .put(&format!("{}/_sim/documents/proposal_sheets/{order}/progress", sim.url))
        .send_json(json!({"progress_id": 557}))
        .expect("change the order's status");
    let mut child = incwo()
        .arg("listen")
        .args(account_args(&sim))
        .arg("--ca-file")
        .arg(&sim.ca)
        .arg("--state")
        .arg(&state_file)
        .args(["--listen", "off", "--poll-every", "1", "--timeout-ms", "2000"])
        .env("INCWO_TEST_PASSWORD", "secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let event: Value = serde_json::from_str(&line.expect("an event within 20 s")).unwrap();
    assert_eq!(event["event"]["source"], "poll", "{event:#}");
    assert_eq!(event["event"]["incwoId"], order, "{event:#}");
    assert_eq!(event["event"]["changes"]["progressId"]["after"], "557", "{event:#}");
}
