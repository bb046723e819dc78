//! `incwo listen` is secure by default, proven against the real binary over
//! real TCP: no secret, no start (unless the risk is named, on loopback);
//! bodies over 1 MiB answered 413 unread; 429 after 10 wrong secrets a
//! minute; 64 connections served at once, the next answered 503; capped
//! backoff when accept fails; the secret never in a log line.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::incwo_bare as incwo;

const SECRET: &str = "whsec-listen-7f3a9c2e41";

fn listen_args(state: &std::path::Path, bind: &str) -> Vec<String> {
    [
        "listen",
        "--server",
        "http://127.0.0.1:9",
        "--business-file",
        "123456",
        "--login",
        "api@example.fr",
        "--password-env",
        "INCWO_TEST_PASSWORD",
        "--state",
        state.to_str().unwrap(),
        "--listen",
        bind,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A state file in a temporary folder removed when the test ends.
struct TempState(std::path::PathBuf);

impl std::ops::Deref for TempState {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempState {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn temp_state(name: &str) -> TempState {
    let dir = std::env::temp_dir().join(format!("incwo-listen-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    TempState(dir.join("state.json"))
}

/// A running `incwo listen`: its port and the stderr lines so far.
struct Listen {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listen {
    fn start(mut command: Command) -> Listen {
        let mut child = command
            .env("INCWO_TEST_PASSWORD", "secret")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start incwo listen");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = BufReader::new(child.stderr.take().unwrap());
        let keep = lines.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|p| p.parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
                keep.lock().unwrap().push(line);
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no endpoint URL on stderr: {:?}", lines.lock().unwrap()));
        Listen {
            child,
            port,
            stderr: lines,
        }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, raw answer), or
/// `None` when the connection failed or nothing readable came back.
fn try_request(port: u16, head: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(head.as_bytes()).ok()?;
    let _ = s.write_all(body);
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, answer))
}

fn request(port: u16, head: &str, body: &[u8]) -> (u16, String) {
    try_request(port, head, body).unwrap_or_else(|| panic!("no answer to {head:?}"))
}

fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    request(port, &head, body.as_bytes())
}

/// A connection that holds a slot: one the server did not answer "busy" (the
/// slot of the request just served may not be released yet).
fn holding_connection(port: u16) -> TcpStream {
    for _ in 0..50 {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        s.set_nonblocking(true).unwrap();
        let answered = s.peek(&mut [0u8; 1]).is_ok();
        s.set_nonblocking(false).unwrap();
        if !answered {
            return s;
        }
    }
    panic!("every new connection was answered busy");
}

const PING: &str = r#"{"zname":"bill_sheets","zid":500001}"#;

#[test]
fn without_a_secret_listen_refuses_to_start_unless_the_risk_is_named_on_loopback() {
    let state = temp_state("nosecret");
    let out = incwo()
        .args(listen_args(&state, "127.0.0.1:0"))
        .env("INCWO_TEST_PASSWORD", "secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without a secret")
            && err.contains("--secret-env")
            && err.contains("--insecure-no-webhook-secret"),
        "{err}"
    );

    let out = incwo()
        .args(listen_args(&state, "0.0.0.0:0"))
        .arg("--insecure-no-webhook-secret")
        .env("INCWO_TEST_PASSWORD", "secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"));

    let out = incwo()
        .args(listen_args(&state, "127.0.0.1:0"))
        .args(["--secret-env", "INCWO_EMPTY_SECRET"])
        .env("INCWO_TEST_PASSWORD", "secret")
        .env("INCWO_EMPTY_SECRET", " ")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));

    // Named and on loopback: it starts, says so, and takes unauthenticated pings.
    let mut c = incwo();
    c.args(listen_args(&state, "127.0.0.1:0"))
        .arg("--insecure-no-webhook-secret");
    let listen = Listen::start(c);
    assert!(listen.log().contains("WITHOUT a secret"), "{}", listen.log());
    assert_eq!(post(listen.port, "/incwo/webhook", PING).0, 202);
}

#[test]
fn with_a_secret_bodies_are_capped_connections_bounded_failures_throttled_and_logs_redacted() {
    let state = temp_state("secure");
    let mut c = incwo();
    c.args(listen_args(&state, "127.0.0.1:0"))
        .args(["--secret-env", "INCWO_TEST_WEBHOOK_SECRET"])
        .env("INCWO_TEST_WEBHOOK_SECRET", SECRET);
    let listen = Listen::start(c);
    let port = listen.port;
    let good = format!("/incwo/webhook/{SECRET}");
    assert_eq!(post(port, &good, PING).0, 202);
    assert_eq!(post(port, &format!("/incwo/webhook?zid=1&token={SECRET}"), PING).0, 202);

    // Over 1 MiB: 413 from the head alone, the body is never sent.
    let head = format!(
        "POST {good} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    let started = Instant::now();
    let (status, _) = request(port, &head, b"{");
    assert_eq!(status, 413);
    assert!(started.elapsed() < Duration::from_secs(3));
    // Over the core's 64 KiB but under 1 MiB: read, then refused by the core.
    let big = format!(
        r#"{{"zname":"bill_sheets","zid":1,"pad":"{}"}}"#,
        "x".repeat(200 * 1024)
    );
    assert_eq!(post(port, &good, &big).0, 413);

    // 63 idle connections hold 63 slots: a 64th request is still served.
    let mut idle: Vec<TcpStream> = (0..63)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(post(port, &good, PING).0, 202);
    // With all 64 slots held, the next connection is answered 503 at once.
    idle.push(holding_connection(port));
    let (status, answer) = post(port, &good, PING);
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    while post(port, &good, PING).0 != 202 {
        assert!(Instant::now() < deadline, "slots never freed");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Ten wrong secrets in a minute: 403 each, then 429 even for the right one.
    for i in 0..10 {
        let (status, _) = post(port, &format!("/incwo/webhook/guess-{i}-{SECRET}x"), PING);
        assert_eq!(status, 403, "guess {i}");
    }
    let (status, answer) = post(port, &good, PING);
    assert_eq!(status, 429, "{answer}");
    assert!(answer.contains("Retry-After: "), "{answer}");
    let (status, _) = post(port, &format!("/incwo/webhook?token={SECRET}"), PING);
    assert_eq!(status, 429);

    std::thread::sleep(Duration::from_millis(200));
    let log = listen.log();
    assert!(
        log.contains("/incwo/webhook/[redacted]") && log.contains("inbound.bad_secret"),
        "{log}"
    );
    assert!(!log.contains(SECRET), "the secret reached a log line: {log}");
    assert!(!log.contains("guess-"), "a presented secret reached a log line: {log}");
}

#[test]
fn failed_accepts_back_off_exponentially_instead_of_spinning() {
    let state = temp_state("backoff");
    let mut args = listen_args(&state, "127.0.0.1:0");
    args.extend(["--secret-env".into(), "INCWO_TEST_WEBHOOK_SECRET".into()]);
    let mut c = Command::new("sh");
    // Few file descriptors: accepting fails with EMFILE once they are taken.
    c.arg("-c")
        .arg("ulimit -n 32 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_incwo"))
        .args(&args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("INCWO_TEST_WEBHOOK_SECRET", SECRET);
    let listen = Listen::start(c);
    let held: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(("127.0.0.1", listen.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let log = listen.log();
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("accepting a webhook connection failed"))
        .collect();
    assert!(!failures.is_empty(), "accept never failed: {log}");
    for pause in ["retrying in 10 ms", "retrying in 20 ms", "retrying in 40 ms"] {
        assert!(log.contains(pause), "{pause} missing: {log}");
    }
    // A spinning loop logs thousands of lines in 1.5 s; the backoff about ten.
    assert!(failures.len() <= 20, "{} failures logged: {log}", failures.len());
    drop(held);
    // Once descriptors are free again, webhooks are served.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let head = format!(
            "POST /incwo/webhook/{SECRET} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            PING.len()
        );
        if try_request(listen.port, &head, PING.as_bytes()).map(|a| a.0) == Some(202) {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {}", listen.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}
