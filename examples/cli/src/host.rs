//! The CLI as a real host: drives a [`Flow`] over blocking HTTP (ureq),
//! saving its state before every request and after every action.

use incwo_core::errors::{TransportFailure, TransportKind, TransportPhase};
use incwo_core::flow::{Action, Flow};
use incwo_core::http::{Request, Response};
use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Largest response body read (bigger ones are cut and will fail to parse).
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// Milliseconds since the Unix epoch, the flow's notion of time.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sends requests: a fresh connection each time (a POST is never resent by
/// the client behind the flow's back) and a fixed timeout.
pub struct Transport {
    agent: ureq::Agent,
}

impl Transport {
    /// A transport with this per-request timeout.
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .max_idle_connections(0)
            .redirects(0)
            .build();
        Self { agent }
    }

    /// Sends one request; a transport failure says whether bytes may have left.
    pub fn send(&self, request: &Request) -> Result<Response, TransportFailure> {
        let mut call = self.agent.request(request.method().as_str(), request.url());
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
            Err(ureq::Error::Transport(t)) => return Err(failure(&t)),
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

/// A failure while reading the answer: the request had been written.
fn io_failure(e: &std::io::Error) -> TransportFailure {
    TransportFailure {
        kind: io_kind(e.kind()),
        phase: TransportPhase::Sent,
    }
}

fn io_kind(kind: std::io::ErrorKind) -> TransportKind {
    match kind {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => TransportKind::Timeout,
        std::io::ErrorKind::ConnectionRefused => TransportKind::ConnectRefused,
        _ => TransportKind::Reset,
    }
}

/// The failure of ureq's call, from its error kind and the underlying I/O
/// error's kind (structured signals, never the message): name resolution and
/// connection failures end before sending; anything later may have sent.
fn failure(t: &ureq::Transport) -> TransportFailure {
    let io = std::error::Error::source(t)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .map(|e| e.kind());
    let (kind, phase) = match t.kind() {
        ureq::ErrorKind::Dns => (TransportKind::Dns, TransportPhase::Connect),
        ureq::ErrorKind::ConnectionFailed => match io {
            Some(std::io::ErrorKind::TimedOut) => (TransportKind::Timeout, TransportPhase::Connect),
            _ => (TransportKind::ConnectRefused, TransportPhase::Connect),
        },
        _ => (io.map_or(TransportKind::Reset, io_kind), TransportPhase::Unknown),
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
/// action. `save(flow, durable)` is called before every send (`durable`:
/// what it saves must be on disk before the request leaves), after every
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
                save(flow, true)?;
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
