//! The CLI as a real host: drives a [`Flow`] over blocking HTTP (ureq),
//! saving its state before every request and after every action.

use crate::tls::{self, Connector, Progress, Stage};
use incwo_core::errors::{TransportFailure, TransportKind, TransportPhase};
use incwo_core::flow::{Action, Flow};
use incwo_core::http::{Request, Response};
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use ureq::rustls::ClientConfig;

/// Largest response body read (bigger ones are cut and will fail to parse).
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// Milliseconds since the Unix epoch, the flow's notion of time.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sends requests: a fresh connection each time (a POST is never resent by
/// the client behind the flow's back), a fixed timeout, and the TLS trust
/// of [`tls::client_config`].
pub struct Transport {
    timeout: Duration,
    tls: Arc<ClientConfig>,
    told_untrusted: AtomicBool,
}

impl Transport {
    /// A transport with this per-request timeout and TLS configuration.
    pub fn new(timeout: Duration, tls: Arc<ClientConfig>) -> Self {
        Self {
            timeout,
            tls,
            told_untrusted: AtomicBool::new(false),
        }
    }

    /// Sends one request; a transport failure says how far it got.
    pub fn send(&self, request: &Request) -> Result<Response, TransportFailure> {
        // One agent per request, so its TLS connector reports this
        // request's progress alone (no connection is pooled anyway).
        let progress = Arc::new(Progress::default());
        let agent = ureq::AgentBuilder::new()
            .timeout(self.timeout)
            .max_idle_connections(0)
            .redirects(0)
            .tls_connector(Arc::new(Connector::new(self.tls.clone(), progress.clone())))
            .build();
        let mut call = agent.request(request.method().as_str(), request.url());
        for (name, value) in request.headers() {
            call = call.set(name, value);
        }
        let result = if request.body().is_empty() {
            call.call()
        } else {
            call.send_bytes(request.body())
        };
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(t)) => {
                let io = transport_io_error(&t);
                self.tell_if_untrusted(&t, io);
                return Err(failure(t.kind(), io, progress.stage()));
            }
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| response.header(&name).map(|v| (name.clone(), v.to_string())))
            .collect();
        let mut body = Vec::new();
        if let Err(e) = response.into_reader().take(MAX_BODY).read_to_end(&mut body) {
            return Err(io_failure(&e));
        }
        Ok(Response::new(status, headers, body))
    }
}

impl Transport {
    /// Says once, on stderr, that the server's certificate is not trusted
    /// (rustls' `InvalidCertificate`, a structured signal; the text shown
    /// is for the reader), with the way out.
    fn tell_if_untrusted(&self, t: &ureq::Transport, io: Option<&io::Error>) {
        let Some(rustls_error) = io.and_then(tls::rustls_error) else {
            return;
        };
        if matches!(rustls_error, ureq::rustls::Error::InvalidCertificate(_))
            && !self.told_untrusted.swap(true, Ordering::SeqCst)
        {
            let at = t.url().map(|u| format!("{}://{}", u.scheme(), u.authority()));
            eprintln!(
                "incwo: {}: the server's TLS certificate is not trusted ({rustls_error}); \
                 if it is signed by a private CA (a test simulator, a company proxy), pass --ca-file with that CA",
                at.as_deref().unwrap_or("server")
            );
        }
    }
}

/// The I/O error behind ureq's transport error, if any.
fn transport_io_error(t: &ureq::Transport) -> Option<&io::Error> {
    std::error::Error::source(t).and_then(|source| source.downcast_ref::<io::Error>())
}

/// A failure while reading the answer: the request had been written.
fn io_failure(e: &io::Error) -> TransportFailure {
    TransportFailure {
        kind: io_kind(Some(e)),
        phase: TransportPhase::Sent,
    }
}

/// The kind of an I/O failure, from its `ErrorKind` and whether rustls
/// raised it.
fn io_kind(e: Option<&io::Error>) -> TransportKind {
    let Some(e) = e else {
        return TransportKind::Reset;
    };
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportKind::Timeout,
        io::ErrorKind::ConnectionRefused => TransportKind::ConnectRefused,
        _ if tls::rustls_error(e).is_some() => TransportKind::Tls,
        _ => TransportKind::Reset,
    }
}

/// The failure of ureq's call, from structured signals only: ureq's error
/// kind, the I/O error's kind and rustls error, and the stage the TLS
/// connector recorded (never an error's wording).
///
/// * DNS, or a TCP connection that failed (`ConnectionFailed` comes only
///   from ureq's TCP connect; our connector never returns it): `connect`.
/// * The TLS handshake failed (alert, certificate refused, reset or EOF
///   mid-handshake): kind `tls` (`timeout` if it timed out), `tls_handshake`.
/// * Handshake done, no request byte handed to TLS yet: `tls_handshake`
///   (nothing of the request left).
/// * Any failure after the request's first byte was written: `sent`.
/// * Plain http past the TCP connect: ureq 2 gives no hook on a plain
///   socket's writes, so `unknown` (may have been sent).
pub fn failure(kind: ureq::ErrorKind, io: Option<&io::Error>, stage: Stage) -> TransportFailure {
    let (kind, phase) = match (kind, stage) {
        (ureq::ErrorKind::Dns, _) => (TransportKind::Dns, TransportPhase::Connect),
        (_, Stage::Handshaking) => match io_kind(io) {
            TransportKind::Timeout => (TransportKind::Timeout, TransportPhase::TlsHandshake),
            _ => (TransportKind::Tls, TransportPhase::TlsHandshake),
        },
        (_, Stage::Established) => (io_kind(io), TransportPhase::TlsHandshake),
        (_, Stage::Written) => (io_kind(io), TransportPhase::Sent),
        (ureq::ErrorKind::ConnectionFailed, Stage::Idle) => match io_kind(io) {
            TransportKind::Timeout => (TransportKind::Timeout, TransportPhase::Connect),
            _ => (TransportKind::ConnectRefused, TransportPhase::Connect),
        },
        (_, Stage::Idle) => (io_kind(io), TransportPhase::Unknown),
    };
    TransportFailure { kind, phase }
}

/// What a host run saw, for reports and scenario checks.
#[derive(Debug, Default)]
pub struct RunLog {
    /// Requests sent, by method.
    pub requests: std::collections::BTreeMap<String, usize>,
    /// Published `(queue, event)` pairs.
    pub published: Vec<(String, serde_json::Value)>,
    /// Time spent inside the core (poll and answers).
    pub core_time: Duration,
    /// Actions handled.
    pub actions: usize,
}

/// What stops a run before `Done`.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// The flow finished.
    Done,
    /// The host was asked to stop (Ctrl-C) or hit its action budget (a simulated crash).
    Interrupted,
}

/// Drives `flow` until `Done`, or until `should_stop()` says so after an
/// action. `save(flow, durable)` is called before every send (`durable`,
/// for a write: what it saves must be on disk before the request leaves),
/// after every
/// other action (`false`) and at `Done` (`true`); it saves the flow's state
/// (whole, or [`Flow::take_changes`]). `on_action` sees every action
/// (progress). `crash_at` simulates a crash at that action (1-based count):
/// a request is sent and its answer dropped, anything else is dropped
/// before it is handled.
pub fn drive(
    flow: &mut Flow,
    transport: &Transport,
    log: &mut RunLog,
    save: &mut dyn FnMut(&mut Flow, bool) -> Result<(), String>,
    on_action: &mut dyn FnMut(&Action),
    should_stop: &mut dyn FnMut(usize) -> bool,
    crash_at: Option<usize>,
) -> Result<Stop, String> {
    loop {
        let started = Instant::now();
        let action = flow.poll(now_ms()).map_err(|e| e.to_string())?;
        log.core_time += started.elapsed();
        on_action(&action);
        if crash_at == Some(log.actions + 1) {
            if let Action::Send { request, .. } = &action {
                save(flow, true)?;
                *log.requests.entry(request.method().as_str().to_string()).or_default() += 1;
                let _ = transport.send(request);
            }
            return Ok(Stop::Interrupted);
        }
        match &action {
            Action::Send { request_id, request } => {
                // What a write implies must be on disk before it leaves; a
                // read changes nothing in incwo, so its save may wait.
                save(flow, request.method() != incwo_core::http::Method::Get)?;
                *log.requests.entry(request.method().as_str().to_string()).or_default() += 1;
                let answer = transport.send(request);
                let started = Instant::now();
                match answer {
                    Ok(response) => flow.on_response(*request_id, response, now_ms()),
                    Err(failure) => flow.on_transport_error(*request_id, failure, now_ms()),
                }
                .map_err(|e| e.to_string())?;
                log.core_time += started.elapsed();
            }
            Action::Wait { until, .. } => {
                let now = now_ms();
                if *until > now {
                    std::thread::sleep(Duration::from_millis((*until - now).min(120_000)));
                }
            }
            Action::Publish { queue, event } => {
                log.published
                    .push((queue.clone(), serde_json::to_value(event).unwrap_or_default()));
            }
            Action::RecordDone { .. } => {}
            Action::Done { .. } => {
                save(flow, true)?;
                log.actions += 1;
                return Ok(Stop::Done);
            }
        }
        save(flow, false)?;
        log.actions += 1;
        if should_stop(log.actions) {
            return Ok(Stop::Interrupted);
        }
    }
}

/// Writes a file atomically: a temporary file next to it (named after this
/// process, so two writers never share it), fsynced, then a rename.
pub fn write_atomic(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = std::path::PathBuf::from(name);
    std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::rustls;
    use ureq::ErrorKind as K;

    fn f(kind: TransportKind, phase: TransportPhase) -> TransportFailure {
        TransportFailure { kind, phase }
    }

    fn tls_io(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn before_tls_the_phase_is_connect() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(
            failure(K::Dns, None, Stage::Idle),
            f(TransportKind::Dns, TransportPhase::Connect)
        );
        assert_eq!(
            failure(K::ConnectionFailed, Some(&refused), Stage::Idle),
            f(TransportKind::ConnectRefused, TransportPhase::Connect)
        );
        assert_eq!(
            failure(K::ConnectionFailed, Some(&timed_out), Stage::Idle),
            f(TransportKind::Timeout, TransportPhase::Connect)
        );
    }

    #[test]
    fn a_failed_handshake_is_tls_handshake_whatever_the_cause() {
        let cases = [
            tls_io(rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure)),
            tls_io(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
            io::Error::from(io::ErrorKind::ConnectionReset),
            io::Error::from(io::ErrorKind::UnexpectedEof),
        ];
        for io in &cases {
            assert_eq!(
                failure(K::Io, Some(io), Stage::Handshaking),
                f(TransportKind::Tls, TransportPhase::TlsHandshake),
                "{io:?}"
            );
            assert!(!failure(K::Io, Some(io), Stage::Handshaking).phase.may_have_sent());
        }
        let slow = io::Error::from(io::ErrorKind::WouldBlock);
        assert_eq!(
            failure(K::Io, Some(&slow), Stage::Handshaking),
            f(TransportKind::Timeout, TransportPhase::TlsHandshake)
        );
    }

    #[test]
    fn after_the_first_request_byte_every_tls_failure_is_sent() {
        // (b) a reset, (c) close_notify then EOF before the status line (ureq:
        // ConnectionAborted), a timeout, and a TLS error after sending.
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        let eof = io::Error::from(io::ErrorKind::ConnectionAborted);
        let slow = io::Error::from(io::ErrorKind::TimedOut);
        let alert = tls_io(rustls::Error::AlertReceived(rustls::AlertDescription::InternalError));
        for (io, kind) in [
            (&reset, TransportKind::Reset),
            (&eof, TransportKind::Reset),
            (&slow, TransportKind::Timeout),
            (&alert, TransportKind::Tls),
        ] {
            let got = failure(K::Io, Some(io), Stage::Written);
            assert_eq!(got, f(kind, TransportPhase::Sent), "{io:?}");
            assert!(got.phase.may_have_sent());
        }
        assert_eq!(
            failure(K::BadStatus, None, Stage::Written),
            f(TransportKind::Reset, TransportPhase::Sent)
        );
        // (d) a body cut without close_notify: rustls' UnexpectedEof, read
        // after ureq returned the response.
        let cut = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify",
        );
        assert_eq!(io_failure(&cut), f(TransportKind::Reset, TransportPhase::Sent));
    }

    #[test]
    fn connected_but_nothing_written_is_not_sent() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(!failure(K::Io, Some(&reset), Stage::Established).phase.may_have_sent());
    }

    #[test]
    fn plain_http_past_connect_cannot_tell() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(
            failure(K::Io, Some(&reset), Stage::Idle),
            f(TransportKind::Reset, TransportPhase::Unknown)
        );
        assert_eq!(
            failure(K::BadStatus, None, Stage::Idle),
            f(TransportKind::Reset, TransportPhase::Unknown)
        );
    }
}
