//! TLS mode: HTTPS with the generated CA, and the TLS fault kinds as a
//! rustls client sees them on the wire (handshake alert or reset, reset
//! after commit, close_notify before the response, body cut mid-way).

mod common;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

fn tls_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("incwo-sim-tls-{name}-{}", std::process::id()))
}

fn tls_sim(name: &str) -> SimHandle {
    spawn(SimConfig {
        tls_dir: Some(tls_dir(name)),
        ..SimConfig::default()
    })
}

fn client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read the CA") {
        roots.add(cert.expect("a PEM certificate")).expect("a CA certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// What the client saw.
#[derive(Debug)]
enum Seen {
    /// The handshake failed.
    Handshake(io::Error),
    /// The handshake succeeded; the bytes read, and how reading ended
    /// (`Ok` = a TLS close_notify, then EOF).
    Exchange(Vec<u8>, io::Result<()>),
}

fn exchange(port: u16, config: Arc<rustls::ClientConfig>, host: &str, request: &str) -> Seen {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = ServerName::try_from(host.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(config, name).unwrap();
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            return Seen::Handshake(e);
        }
    }
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    if let Err(e) = stream.write_all(request.as_bytes()).and_then(|()| stream.flush()) {
        return Seen::Exchange(Vec::new(), Err(e));
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Seen::Exchange(got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Seen::Exchange(got, Err(e)),
        }
    }
}

fn request(method: &str, path: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\
         Content-Type: application/xml\r\nAuthorization: Basic {}\r\n\r\n{body}",
        body.len(),
        base64(format!("{LOGIN}:{PASSWORD}").as_bytes())
    )
}

fn get(sim: &SimHandle, path: &str) -> String {
    let config = client_config(sim.ca_file().unwrap());
    match exchange(sim.port(), config, "127.0.0.1", &request("GET", path, "")) {
        Seen::Exchange(bytes, Ok(())) => String::from_utf8(bytes).unwrap(),
        other => panic!("GET {path}: {other:?}"),
    }
}

fn create(sim: &SimHandle, res: &str, body: &str) -> String {
    let config = client_config(sim.ca_file().unwrap());
    match exchange(
        sim.port(),
        config,
        "localhost",
        &request("POST", &format!("/123456/{res}.xml"), body),
    ) {
        Seen::Exchange(bytes, Ok(())) => {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.starts_with("HTTP/1.1 201"), "{text}");
            tag(&text, "id").unwrap()
        }
        other => panic!("POST {res}: {other:?}"),
    }
}

/// Creates the brief's firm and product, arms `rule`, then posts the order.
fn order_under(sim: &SimHandle, rule: Json) -> Seen {
    let firm = create(
        sim,
        "firms",
        "<firm><name>Atelier Horizon</name><accounting_ref>CLI-INC-8872</accounting_ref></firm>",
    );
    let product = create(
        sim,
        "customer_products",
        "<customer_product><reference>KIT-API-01</reference><name>Kit API</name><price>49.90</price></customer_product>",
    );
    sim.add_faults(&rule).expect("a valid rule");
    let config = client_config(sim.ca_file().unwrap());
    let body = order_xml(&firm, &product, "CMD-INC-2026-0411");
    exchange(
        sim.port(),
        config,
        "127.0.0.1",
        &request("POST", "/123456/proposal_sheets.xml", &body),
    )
}

fn one_order_committed(sim: &SimHandle, kind: &str) {
    let state = sim.state();
    assert_eq!(state["counts"]["proposal_sheets"], 1, "the order was committed");
    assert_eq!(state["counters"]["faults_fired"][kind], 1, "{}", state["counters"]);
}

#[test]
fn https_with_the_generated_ca() {
    let sim = tls_sim("nominal");
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));
    assert!(sim.api_url().starts_with("https://127.0.0.1:") && sim.api_url().ends_with("/123456"));
    let ca = sim.ca_file().unwrap().to_path_buf();
    assert_eq!(ca, tls_dir("nominal").join(incwo_sim::CA_FILE_NAME));
    let text = get(&sim, "/123456/firms.xml");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("<firms type=\"array\">"), "{text}");
    // The certificate also names localhost.
    let r = exchange(
        sim.port(),
        client_config(&ca),
        "localhost",
        &request("GET", "/_sim/health", ""),
    );
    assert!(
        matches!(&r, Seen::Exchange(b, Ok(())) if b.starts_with(b"HTTP/1.1 200")),
        "{r:?}"
    );
    // Plain HTTP is not served on a TLS port.
    assert!(Req::new("GET", "/_sim/health")
        .no_auth()
        .timeout(Duration::from_secs(3))
        .send(sim.port())
        .is_err());
}

#[test]
fn another_ca_is_refused_by_the_client() {
    let sim = tls_sim("wrong-ca-server");
    let other = tls_sim("wrong-ca-other");
    match exchange(
        sim.port(),
        client_config(other.ca_file().unwrap()),
        "127.0.0.1",
        &request("GET", "/_sim/health", ""),
    ) {
        Seen::Handshake(e) => {
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            assert!(matches!(inner, Some(rustls::Error::InvalidCertificate(_))), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tls_faults_need_tls_mode() {
    let plain = spawn(SimConfig::default());
    for kind in [
        "tls_handshake_refused",
        "tls_reset_after_commit",
        "tls_close_notify_before_response",
        "tls_cut_mid_body",
    ] {
        let e = plain.add_faults(&json!({"fault": {"kind": kind}})).unwrap_err();
        assert!(e.contains("needs the simulator in TLS mode"), "{e}");
    }
}

#[test]
fn handshake_refused_with_an_alert_then_served() {
    let sim = tls_sim("hs-alert");
    sim.add_faults(&json!({"fault": {"kind": "tls_handshake_refused"}, "times": 1}))
        .unwrap();
    let config = client_config(sim.ca_file().unwrap());
    match exchange(sim.port(), config, "127.0.0.1", &request("GET", "/_sim/health", "")) {
        Seen::Handshake(e) => {
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            assert_eq!(
                inner,
                Some(&rustls::Error::AlertReceived(
                    rustls::AlertDescription::HandshakeFailure
                )),
                "{e:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The next connection is served; nothing reached the API.
    assert!(get(&sim, "/_sim/health").starts_with("HTTP/1.1 200"));
    let state = sim.state();
    assert_eq!(state["counters"]["faults_fired"]["tls_handshake_refused"], 1);
    assert_eq!(state["faults"][0]["seen"], 2, "both handshakes counted");
    assert_eq!(state["counters"]["requests"], json!({}));
}

#[test]
fn handshake_refused_with_a_reset() {
    let sim = tls_sim("hs-reset");
    sim.add_faults(&json!({"fault": {"kind": "tls_handshake_refused", "mode": "reset"}, "skip": 1, "times": 1}))
        .unwrap();
    assert!(get(&sim, "/_sim/health").starts_with("HTTP/1.1 200"), "skip 1");
    let config = client_config(sim.ca_file().unwrap());
    match exchange(sim.port(), config, "127.0.0.1", &request("GET", "/_sim/health", "")) {
        Seen::Handshake(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.state()["counters"]["faults_fired"]["tls_handshake_refused"], 1);
}

#[test]
fn reset_after_commit() {
    let sim = tls_sim("reset");
    let seen = order_under(
        &sim,
        json!({"method": "POST", "resource": "proposal_sheets", "fault": {"kind": "tls_reset_after_commit"}, "times": 1}),
    );
    match seen {
        Seen::Exchange(bytes, Err(e)) => {
            assert!(bytes.is_empty());
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e:?}");
        }
        other => panic!("{other:?}"),
    }
    one_order_committed(&sim, "tls_reset_after_commit");
}

#[test]
fn close_notify_before_the_response() {
    let sim = tls_sim("close-notify");
    let seen = order_under(
        &sim,
        json!({"method": "POST", "resource": "proposal_sheets", "fault": {"kind": "tls_close_notify_before_response"}}),
    );
    // A clean TLS end (close_notify, then EOF) with no response byte.
    assert!(matches!(&seen, Seen::Exchange(b, Ok(())) if b.is_empty()), "{seen:?}");
    one_order_committed(&sim, "tls_close_notify_before_response");
}

#[test]
fn body_cut_mid_way() {
    let sim = tls_sim("cut");
    let seen = order_under(
        &sim,
        json!({"method": "POST", "resource": "proposal_sheets", "fault": {"kind": "tls_cut_mid_body"}}),
    );
    match seen {
        Seen::Exchange(bytes, Err(e)) => {
            // rustls: the peer closed without a close_notify.
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e:?}");
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.starts_with("HTTP/1.1 201"), "{text}");
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("a Content-Length");
            assert!(!body.is_empty() && body.len() < length, "{} of {length}", body.len());
        }
        other => panic!("{other:?}"),
    }
    one_order_committed(&sim, "tls_cut_mid_body");
}

#[test]
fn binary_announces_https_once_the_ca_is_written() {
    let dir = tls_dir("bin");
    let _ = std::fs::remove_dir_all(&dir);
    let (mut child, port) = start_binary(&["--port", "0", "--tls-dir", dir.to_str().unwrap()], &[], "https");
    let seen = exchange(
        port,
        client_config(&dir.join("ca.pem")),
        "127.0.0.1",
        &request("GET", "/_sim/health", ""),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        matches!(&seen, Seen::Exchange(b, Ok(())) if b.starts_with(b"HTTP/1.1 200")),
        "{seen:?}"
    );
}

#[test]
fn binary_reports_an_unusable_tls_dir() {
    let out = Command::new(env!("CARGO_BIN_EXE_incwo-sim"))
        .args(["--port", "0", "--tls-dir", "/proc/incwo-sim/nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-dir: cannot create /proc/incwo-sim/nope"), "{err}");
}
