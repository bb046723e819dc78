//! The webhook endpoint's HTTP server, secure by default: no secret, no
//! service (the core answers 503 `inbound.no_secret`, logged once) unless
//! the host started it on loopback without one on purpose (it then sets the
//! core's `insecureNoSecret`); at most [`MAX_CONNECTIONS`] connections served
//! at once (the next ones are answered 503 at once); bodies capped at
//! [`MAX_BODY`] (413 before reading them); [`throttle`] refuses an address
//! that made too many failed authentications (429); exponential, capped
//! backoff when `accept` fails; every log line redacted by the core.
//!
//! [`throttle`]: incwo_core::inbound::throttle

use incwo_core::inbound::intake::WEBHOOK_PATH;
use incwo_core::inbound::throttle::{throttle, ThrottleState};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connections served at once; the next ones are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Largest body read: a longer one is answered 413 without being read
/// (the core refuses anything over 64 KiB anyway).
pub const MAX_BODY: usize = 1024 * 1024;
/// Largest request head read.
const MAX_HEAD: usize = 16 * 1024;
/// Time a client has to send its whole request.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// First and largest pause after a failed `accept`.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Client addresses remembered by the throttle before the idle ones go.
const THROTTLE_ENTRIES: usize = 4096;

/// Pause after `failures` consecutive failed `accept`s: 10 ms doubling, at most 1 s.
pub fn backoff(failures: u32) -> Duration {
    BACKOFF_FIRST
        .checked_mul(1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX))
        .map_or(BACKOFF_MAX, |d| d.min(BACKOFF_MAX))
}

/// A log line on stderr, redacted by the core (the secret segment, `token`
/// parameters, credentials).
pub fn log(line: &str) {
    eprintln!("incwo: {}", incwo_core::telemetry::redact(line));
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the connection threads share.
struct Shared {
    settings: Value,
    queue: Mutex<VecDeque<Value>>,
    active: AtomicUsize,
    throttle: Mutex<HashMap<IpAddr, ThrottleState>>,
    no_secret_logged: AtomicBool,
    stop: AtomicBool,
}

/// The webhook endpoint: an HTTP listener on its own thread, one thread per
/// connection (at most [`MAX_CONNECTIONS`]).
pub struct Endpoint {
    port: u16,
    ip: IpAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Endpoint {
    /// Listens on `bind` (`127.0.0.1:0` for any free port). `settings` are
    /// the core's intake settings (`secret`, `allowNetworks`,
    /// `businessFileId`); without a secret the core answers every webhook
    /// 503 `inbound.no_secret` (logged once).
    pub fn start(bind: &str, settings: Value) -> Result<Endpoint, String> {
        Self::listen(bind, settings, false)
    }

    /// Like [`Endpoint::start`] but, without a secret, accepts webhooks
    /// nobody authenticated (it sets the core's `insecureNoSecret`): only on
    /// a loopback address, else an error.
    pub fn start_insecure_no_secret(bind: &str, settings: Value) -> Result<Endpoint, String> {
        Self::listen(bind, settings, true)
    }

    fn listen(bind: &str, mut settings: Value, insecure_no_secret: bool) -> Result<Endpoint, String> {
        let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        if insecure_no_secret && !local.ip().is_loopback() {
            return Err(format!(
                "--insecure-no-webhook-secret listens on loopback only ({bind} is not): \
                 set a secret with --secret-env to listen on {}",
                local.ip()
            ));
        }
        if insecure_no_secret {
            if let Some(map) = settings.as_object_mut() {
                map.insert("insecureNoSecret".into(), Value::Bool(true));
            }
        }
        let shared = Arc::new(Shared {
            settings,
            queue: Mutex::new(VecDeque::new()),
            active: AtomicUsize::new(0),
            throttle: Mutex::new(HashMap::new()),
            no_secret_logged: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("incwo-webhooks".into())
            .spawn(move || accept_loop(&listener, &s))
            .map_err(|e| e.to_string())?;
        Ok(Endpoint {
            port: local.port(),
            ip: local.ip(),
            shared,
            thread: Some(thread),
        })
    }

    /// The URL to register in incwo (the secret is a path segment).
    pub fn url(&self, secret: Option<&str>) -> String {
        let host = match self.ip {
            IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        match secret {
            Some(s) => format!("http://{host}:{}{WEBHOOK_PATH}/{s}", self.port),
            None => format!("http://{host}:{}{WEBHOOK_PATH}", self.port),
        }
    }

    /// Takes the targets queued so far (the host's message queue).
    pub fn take(&self) -> Vec<Value> {
        lock(&self.shared.queue).drain(..).collect()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let wake = if self.ip.is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], self.port))
        } else {
            SocketAddr::new(self.ip, self.port)
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Releases a connection slot when the connection's thread ends.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut failures = 0u32;
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => {
                failures = 0;
                stream
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let pause = backoff(failures);
                log(&format!(
                    "accepting a webhook connection failed ({e}); retrying in {} ms",
                    pause.as_millis()
                ));
                std::thread::sleep(pause);
                continue;
            }
        };
        if shared.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            let mut stream = stream;
            let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
            answer(
                &mut stream,
                503,
                &json!({"error": "busy", "message": format!("{MAX_CONNECTIONS} connections are being served; retry")}),
            );
            continue;
        }
        let slot = Slot(shared.clone());
        let spawned = std::thread::Builder::new().name("incwo-webhook".into()).spawn(move || {
            let slot = slot;
            serve(stream, &slot.0);
        });
        if let Err(e) = spawned {
            log(&format!("cannot start a connection thread ({e})"));
        }
    }
}

/// Why a request could not be read: the status to answer.
struct Refused(u16, &'static str);

/// Reads one request, checks it, asks the core, answers at once; queues the target.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let peer: Option<SocketAddr> = stream.peer_addr().ok();
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let (status, body) = match handle(&mut stream, peer, shared) {
        Ok(answered) => answered,
        Err(Refused(status, why)) => (status, json!({"error": why})),
    };
    answer(&mut stream, status, &body);
    linger(&mut stream);
}

/// Half-closes and drains what the client still sends (bounded in time and
/// size), so that an answer given before the body was read (413, 429, 503)
/// reaches the client instead of being lost to a connection reset.
fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut sink = [0u8; 16 * 1024];
    let mut drained = 0usize;
    while drained < 2 * MAX_BODY {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

fn handle(stream: &mut TcpStream, peer: Option<SocketAddr>, shared: &Shared) -> Result<(u16, Value), Refused> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let head = read_head(stream, deadline)?;
    let (path, query) = head.target.split_once('?').unwrap_or((head.target.as_str(), ""));
    if path != WEBHOOK_PATH && !path.starts_with(&format!("{WEBHOOK_PATH}/")) {
        return Err(Refused(404, "not found"));
    }
    if head.method != "POST" {
        return Err(Refused(405, "POST only"));
    }
    let now = crate::host::now_ms();
    let ip = peer.map(|p| p.ip());
    if let Some(ip) = ip {
        let state = lock(&shared.throttle).get(&ip).copied();
        if let Some(seconds) = throttle(state, now, false).retry_after_seconds {
            return Ok((
                429,
                json!({"error": "inbound.too_many_failures", "message": "too many webhook calls with a wrong secret from this address", "retryAfterSeconds": seconds}),
            ));
        }
    }
    if head.chunked {
        return Err(Refused(411, "send the body with a Content-Length"));
    }
    if head.length > MAX_BODY {
        return Err(Refused(413, "the body is over 1 MiB"));
    }
    let body = read_body(stream, head.rest, head.length, deadline)?;
    let secret = path
        .strip_prefix(WEBHOOK_PATH)
        .map(|rest| rest.trim_start_matches('/').to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix("token=").map(str::to_string))
        });
    let result = incwo_core::api::call(
        "inbound.webhook",
        &json!({
            "bodyBase64": incwo_core::http::encode::base64_encode(&body),
            "contentType": head.content_type,
            "remoteAddr": peer.map(|p| p.to_string()),
            "presentedSecret": secret,
            "settings": shared.settings,
        }),
    );
    let status = result["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    if let Some(target) = result.get("target") {
        lock(&shared.queue).push_back(target.clone());
    }
    let code = result["error"]["code"].as_str();
    if code == Some("inbound.bad_secret") {
        if let Some(ip) = ip {
            record_failure(shared, ip, now);
        }
    }
    if code == Some("inbound.no_secret") {
        // The core refuses every call; say why once, not per call.
        if !shared.no_secret_logged.swap(true, Ordering::SeqCst) {
            log(&format!(
                "webhooks are refused (503): {} (incwo listen --secret-env NAME)",
                result["error"]["message"].as_str().unwrap_or_default()
            ));
        }
    } else if let Some(code) = code {
        log(&format!(
            "webhook {} {} from {}: {status} {code}",
            head.method,
            head.target,
            ip.map_or("an unknown address".into(), |ip| ip.to_string())
        ));
    }
    Ok((
        status,
        match &result["error"] {
            Value::Null => json!({"accepted": true}),
            // Retry-After, when the core's refusal carries one (no secret, throttled).
            e => json!({"error": e["code"], "message": e["message"], "retryAfterSeconds": result["retryAfterSeconds"]}),
        },
    ))
}

fn record_failure(shared: &Shared, ip: IpAddr, now: u64) {
    let mut table = lock(&shared.throttle);
    let state = table.get(&ip).copied();
    table.insert(ip, throttle(state, now, true).state);
    if table.len() > THROTTLE_ENTRIES {
        table.retain(|_, s| throttle(Some(*s), now, false).state == *s && s.failures > 0);
    }
}

fn answer(stream: &mut TcpStream, status: u16, body: &Value) {
    let text = body.to_string();
    let reason = match status {
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    // The core's delay when it gave one; a 503 of our own (every connection
    // busy) asks for a retry in a second.
    let retry_after = match (status, body["retryAfterSeconds"].as_u64()) {
        (_, Some(s)) => format!("Retry-After: {s}\r\n"),
        (503, None) => "Retry-After: 1\r\n".to_string(),
        _ => String::new(),
    };
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry_after}Connection: close\r\n\r\n{text}",
            text.len()
        )
        .as_bytes(),
    );
}

/// The request line and the headers the intake needs.
struct Head {
    method: String,
    target: String,
    content_type: Option<String>,
    length: usize,
    chunked: bool,
    /// Body bytes read with the head.
    rest: Vec<u8>,
}

/// One read, bounded by the request's deadline.
fn read_some(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Result<usize, Refused> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Refused(408, "the request took too long"));
    }
    let _ = stream.set_read_timeout(Some(left.min(Duration::from_secs(2))));
    match stream.read(buf) {
        Ok(0) => Err(Refused(400, "the request ended early")),
        Ok(n) => Ok(n),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
            Err(Refused(408, "the request took too long"))
        }
        Err(_) => Err(Refused(400, "unreadable request")),
    }
}

fn read_head(stream: &mut TcpStream, deadline: Instant) -> Result<Head, Refused> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(Refused(431, "the request head is over 16 KiB"));
        }
        let n = read_some(stream, &mut chunk, deadline)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let mut head = Head {
        method: first.next().unwrap_or("").to_string(),
        target: first.next().unwrap_or("").to_string(),
        content_type: None,
        length: 0,
        chunked: false,
        rest: buf[head_end + 4..].to_vec(),
    };
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    head.length = value.trim().parse().map_err(|_| Refused(400, "bad Content-Length"))?;
                }
                "content-type" => head.content_type = Some(value.trim().to_string()),
                "transfer-encoding" => head.chunked = true,
                _ => {}
            }
        }
    }
    Ok(head)
}

fn read_body(stream: &mut TcpStream, mut body: Vec<u8>, length: usize, deadline: Instant) -> Result<Vec<u8>, Refused> {
    let mut chunk = [0u8; 16 * 1024];
    while body.len() < length {
        let n = read_some(stream, &mut chunk, deadline)?;
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_10_ms_and_stops_at_1_s() {
        let pauses: Vec<u128> = (1..=9).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(backoff(0), BACKOFF_FIRST);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn without_a_secret_the_endpoint_refuses_and_only_loopback_may_opt_out() {
        assert!(Endpoint::start_insecure_no_secret("0.0.0.0:0", json!({}))
            .err()
            .is_some_and(|e| e.contains("loopback")));
        let e = Endpoint::start("127.0.0.1:0", json!({})).unwrap();
        let body = r#"{"zname":"bill_sheets","zid":1}"#;
        let post = |url: &str| match ureq::post(url).send_string(body) {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
            Err(ureq::Error::Transport(t)) => panic!("{t}"),
        };
        let (status, answer) = post(&e.url(None));
        assert_eq!(status, 503);
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["error"], "inbound.no_secret", "the core's code");
        assert!(answer["message"].as_str().is_some_and(|m| m.contains("no secret")));
        assert!(e.take().is_empty());
        let open = Endpoint::start_insecure_no_secret("127.0.0.1:0", json!({})).unwrap();
        assert_eq!(post(&open.url(None)).0, 202, "the opt-in reaches the core");
        assert_eq!(open.take().len(), 1);
        assert!(e.take().is_empty());
    }
}
