//! The CLI as an inbound host: a webhook endpoint that answers incwo at once
//! and queues what to re-read, a worker that re-reads and compares through
//! the core's JSON calls (`inbound.webhook`, `inbound.fetch`,
//! `inbound.detect`, `inbound.poll`), and `incwo listen`, which runs both
//! (plus optional polling) against the state store shared with `incwo sync`
//! (one listener per business file; the writer lock only while comparing
//! and saving).

use crate::account::AccountArgs;
use crate::host;
use crate::store::{lock, StateArgs, Store};
use incwo_core::flow::ledger::Entry;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Path prefix of the webhook endpoint; the secret, if any, follows it.
pub const WEBHOOK_PATH: &str = "/incwo/webhook";

/// Largest request head read.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body read (the core refuses anything over 64 KiB anyway).
const MAX_BODY: usize = 64 * 1024 + 1;

/// The webhook endpoint: a loopback HTTP listener on its own thread.
pub struct Endpoint {
    port: u16,
    queue: Arc<Mutex<VecDeque<Value>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Endpoint {
    /// Listens on `bind` (`127.0.0.1:0` for any free port). `settings` are
    /// the core's intake settings (`secret`, `allowNetworks`, `businessFileId`).
    pub fn start(bind: &str, settings: Value) -> Result<Endpoint, String> {
        let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (q, s) = (queue.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("incwo-webhooks".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &settings, &q);
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Endpoint {
            port,
            queue,
            stop,
            thread: Some(thread),
        })
    }

    /// The URL to register in incwo (the secret is a path segment).
    pub fn url(&self, secret: Option<&str>) -> String {
        match secret {
            Some(s) => format!("http://127.0.0.1:{}{WEBHOOK_PATH}/{s}", self.port),
            None => format!("http://127.0.0.1:{}{WEBHOOK_PATH}", self.port),
        }
    }

    /// Takes the targets queued so far (the host's message queue).
    pub fn take(&self) -> Vec<Value> {
        lock(&self.queue).drain(..).collect()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request, asks the core, answers at once; queues the target.
fn serve(mut stream: TcpStream, settings: &Value, queue: &Mutex<VecDeque<Value>>) {
    let peer: Option<SocketAddr> = stream.peer_addr().ok();
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let (status, body) = match read_request(&mut stream) {
        Err(status) => (status, json!({"error": "unreadable request"})),
        Ok((method, target, content_type, body)) => {
            let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
            let secret = path
                .strip_prefix(WEBHOOK_PATH)
                .map(|rest| rest.trim_start_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .or_else(|| {
                    query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("token=").map(str::to_string))
                });
            if !path.starts_with(WEBHOOK_PATH) {
                (404, json!({"error": "not found"}))
            } else if method != "POST" {
                (405, json!({"error": "POST only"}))
            } else {
                let result = incwo_core::api::call(
                    "inbound.webhook",
                    &json!({
                        "bodyBase64": incwo_core::http::encode::base64_encode(&body),
                        "contentType": content_type,
                        "remoteAddr": peer.map(|p| p.to_string()),
                        "presentedSecret": secret,
                        "settings": settings,
                    }),
                );
                let status = result["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(500);
                if let Some(target) = result.get("target") {
                    lock(queue).push_back(target.clone());
                }
                let answer = match &result["error"] {
                    Value::Null => json!({"accepted": true}),
                    e => json!({"error": e["code"], "message": e["message"]}),
                };
                (status, answer)
            }
        }
    };
    let text = body.to_string();
    let reason = match status {
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        _ => "Error",
    };
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )
        .as_bytes(),
    );
}

type Parsed = (String, String, Option<String>, Vec<u8>);

fn read_request(stream: &mut TcpStream) -> Result<Parsed, u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(431);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(400),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (method, target) = (
        first.next().unwrap_or("").to_string(),
        first.next().unwrap_or("").to_string(),
    );
    let mut length = 0usize;
    let mut content_type = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().map_err(|_| 400u16)?,
                "content-type" => content_type = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let mut body = buf[head_end + 4..].to_vec();
    let want = length.min(MAX_BODY);
    while body.len() < want {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(want);
    Ok((method, target, content_type, body))
}

/// Sends a request the core built (its JSON form) over a fresh connection;
/// returns the response JSON for the core, or `None` on a transport failure.
pub fn send(agent: &ureq::Agent, request: &Value) -> Option<Value> {
    let mut call = agent.request(request["method"].as_str()?, request["url"].as_str()?);
    for h in request["headers"].as_array().into_iter().flatten() {
        call = call.set(h["name"].as_str()?, h["value"].as_str()?);
    }
    let body = request["body"].as_str().unwrap_or("");
    let result = if body.is_empty() {
        call.call()
    } else if request["bodyEncoding"] == "base64" {
        call.send_bytes(&incwo_core::http::encode::base64_decode(body)?)
    } else {
        call.send_string(body)
    };
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(_)) => return None,
    };
    let status = response.status();
    let mut bytes = Vec::new();
    response
        .into_reader()
        .take(16 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(json!({"status": status, "bodyBase64": incwo_core::http::encode::base64_encode(&bytes)}))
}

/// An agent like the flow's transport: fresh connection, fixed timeout,
/// the account's TLS trust (`--ca-file`).
pub fn agent(timeout: Duration, tls: std::sync::Arc<ureq::rustls::ClientConfig>) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(timeout)
        .tls_config(tls)
        .max_idle_connections(0)
        .redirects(0)
        .build()
}

/// Targets to retry later, each with why.
pub type Failed = Vec<(Value, String)>;

/// The ledger the inbound comparisons read and update.
pub enum LedgerView {
    /// A whole flow checkpoint kept in memory (`incwo demo`), or none yet.
    Checkpoint(Option<String>),
    /// Ledger entries read from the state store (`incwo listen`), by key,
    /// and the keys the comparisons changed since the store last took them.
    Entries {
        /// Every entry of the business file, by idempotency key.
        entries: std::collections::BTreeMap<String, Value>,
        /// Keys changed since [`Context::take_changed`].
        changed: std::collections::BTreeSet<String>,
    },
}

/// What inbound calls share: connection, profile, options, and the ledger.
pub struct Context {
    /// The connection config JSON (with credentials).
    pub config: Value,
    /// The profile JSON text, if not the default.
    pub profile: Option<String>,
    /// `{"tenant", "company"}`.
    pub options: Value,
    /// The ledger compared and updated.
    pub ledger: LedgerView,
}

impl Context {
    fn args(&self, mut extra: Value) -> Value {
        extra["config"] = self.config.clone();
        extra["options"] = self.options.clone();
        extra["now"] = json!(host::now_ms());
        if let Some(p) = &self.profile {
            extra["profile"] = json!(p);
        }
        match &self.ledger {
            LedgerView::Checkpoint(Some(c)) => extra["checkpoint"] = json!(c),
            LedgerView::Checkpoint(None) => extra["entries"] = json!([]),
            LedgerView::Entries { entries, .. } => extra["entries"] = Value::Array(entries.values().cloned().collect()),
        }
        extra
    }

    fn keep(&mut self, result: &Value) {
        match &mut self.ledger {
            LedgerView::Checkpoint(checkpoint) => {
                if let Some(c) = result["checkpoint"].as_str() {
                    *checkpoint = Some(c.to_string());
                }
            }
            LedgerView::Entries { entries, changed } => {
                for entry in result["entries"].as_array().into_iter().flatten() {
                    if let Some(key) = entry["key"].as_str() {
                        changed.insert(key.to_string());
                        entries.insert(key.to_string(), entry.clone());
                    }
                }
            }
        }
    }

    /// The entries the comparisons changed since the last call (store form only).
    pub fn take_changed(&mut self) -> Vec<Value> {
        match &mut self.ledger {
            LedgerView::Checkpoint(_) => Vec::new(),
            LedgerView::Entries { entries, changed } => std::mem::take(changed)
                .into_iter()
                .filter_map(|k| entries.get(&k).cloned())
                .collect(),
        }
    }

    /// Re-reads each target and compares it; returns the `{queue, event}`
    /// publications and the targets to retry later (with why).
    pub fn process(&mut self, agent: &ureq::Agent, targets: &[Value]) -> (Vec<Value>, Vec<(Value, String)>) {
        let (read, mut failed) = self.fetch(agent, targets);
        let (events, more) = self.detect(read);
        failed.extend(more);
        (events, failed)
    }

    /// Re-reads each target (no ledger needed): `(target, response)` pairs
    /// and the targets that failed (with why).
    pub fn fetch(&self, agent: &ureq::Agent, targets: &[Value]) -> (Vec<(Value, Value)>, Failed) {
        let mut read = Vec::new();
        let mut failed = Vec::new();
        for target in targets {
            let fetch = incwo_core::api::call("inbound.fetch", &self.args(json!({ "target": target })));
            let Some(request) = fetch.get("request") else {
                failed.push((target.clone(), format!("inbound.fetch: {}", fetch["error"]["message"])));
                continue;
            };
            match send(agent, request) {
                Some(response) => read.push((target.clone(), response)),
                None => failed.push((target.clone(), "re-reading failed in transport".into())),
            }
        }
        (read, failed)
    }

    /// Compares what was re-read with the ledger (updating it); returns the
    /// publications and the targets to retry later (with why).
    pub fn detect(&mut self, read: Vec<(Value, Value)>) -> (Vec<Value>, Failed) {
        let mut events = Vec::new();
        let mut failed = Vec::new();
        for (target, response) in read {
            let mut args = self.args(json!({"target": target, "response": response, "source": "webhook"}));
            if let LedgerView::Entries { entries, .. } = &self.ledger {
                // The comparison reads the document's own entry and the
                // products' (line quantities by SKU): only those are handed
                // over, not the whole ledger per target.
                args["entries"] = entries
                    .values()
                    .filter(|e| e["incwoId"] == target["id"] || e["domain"] == "product")
                    .cloned()
                    .collect();
            }
            let result = incwo_core::api::call("inbound.detect", &args);
            if let Some(e) = result.get("error") {
                failed.push((target, format!("inbound.detect: {}", e["message"])));
                continue;
            }
            self.keep(&result);
            events.extend(result["events"].as_array().cloned().unwrap_or_default());
        }
        (events, failed)
    }

    /// One polling run; returns the publications and the new poll state.
    pub fn poll(
        &mut self,
        agent: &ureq::Agent,
        state: &Value,
        page_budget: u32,
    ) -> Result<(Vec<Value>, Value), String> {
        let mut events = Vec::new();
        let mut result = incwo_core::api::call(
            "inbound.poll",
            &self.args(json!({"state": state, "pageBudget": page_budget})),
        );
        loop {
            if let Some(e) = result.get("error") {
                return Err(format!("inbound.poll: {e}"));
            }
            self.keep(&result);
            events.extend(result["events"].as_array().cloned().unwrap_or_default());
            if let Some(stopped) = result.get("stopped") {
                return Err(format!("polling stopped: {stopped}"));
            }
            let state = result["state"].clone();
            if result["done"] == true || result["request"].is_null() {
                return Ok((events, state));
            }
            let Some(response) = send(agent, &result["request"]) else {
                return Err("a list page could not be read (transport); the next run resumes".into());
            };
            result = incwo_core::api::call(
                "inbound.poll",
                &self.args(json!({"state": state, "response": response})),
            );
        }
    }
}

/// Arguments of `incwo listen`.
#[derive(clap::Args, Debug)]
pub struct ListenArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The state store `incwo sync` writes (its ledger is compared and
    /// updated, and the polling cursor kept), under the same writer lock.
    #[command(flatten)]
    state: StateArgs,
    /// Mapping profile (JSON); the shipped default when absent.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Company segment of queue names.
    #[arg(long, default_value = "default")]
    company: String,
    /// Address to listen on for webhooks (`127.0.0.1:8088`; `off` for polling only).
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: String,
    /// Name of the environment variable holding the webhook secret (the URL's last segment).
    #[arg(long)]
    secret_env: Option<String>,
    /// Allowed source networks (repeat; e.g. 185.16.44.0/24). Empty: any.
    #[arg(long)]
    allow: Vec<String>,
    /// Poll every N seconds (0: never), for accounts that cannot send webhooks.
    #[arg(long, default_value_t = 0)]
    poll_every: u64,
    /// Pages read per polling run.
    #[arg(long, default_value_t = 10)]
    page_budget: u32,
}

/// Runs `incwo listen`: prints each change event as one JSON line on stdout.
pub fn run(args: ListenArgs) -> Result<ExitCode, String> {
    let account = &args.account;
    let password = account.password()?;
    let secret = match &args.secret_env {
        Some(name) => Some(std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))?),
        None => None,
    };
    let config = json!({"server": account.server, "businessFileId": account.business_file,
        "auth": {"type": "basic", "login": account.login, "password": password},
        "allowInsecureHttp": account.allow_insecure_http});
    if let Some(e) = incwo_core::api::call(
        "inbound.fetch",
        &json!({"config": config, "target": {"resource": "bill_sheets", "id": 1}}),
    )
    .get("error")
    {
        return Err(format!("invalid connection settings: {}", e["message"]));
    }
    let mut ctx = Context {
        config,
        profile: crate::input::profile(args.profile.as_deref())?,
        options: json!({"company": args.company}),
        ledger: LedgerView::Checkpoint(None),
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let interrupted = || stop.load(Ordering::SeqCst);
    let business_file = account.business_file.clone();
    // One listener per state and business file for its whole life; the
    // writer lock (shared with `incwo sync`) only while it reads and writes.
    let _listener = match args.state.lock("listen", &business_file, "incwo listen", &interrupted) {
        Ok(guard) => guard,
        Err((lock::LockError::Busy(_), message)) => {
            eprintln!("incwo: {message}");
            return Ok(ExitCode::from(lock::EXIT_BUSY));
        }
        Err((lock::LockError::Interrupted, _)) => return Ok(ExitCode::from(130)),
        Err((_, message)) => return Err(message),
    };
    // Opening (and a version-1 import) is serialised by the store itself.
    let mut store = Store::open(&args.state.state, &business_file)?;
    let endpoint = if args.listen == "off" {
        None
    } else {
        let settings = json!({"secret": secret, "allowNetworks": args.allow, "businessFileId": account.business_file});
        let e = Endpoint::start(&args.listen, settings)?;
        eprintln!(
            "webhook endpoint: {} (register it in incwo's Webhooks app)",
            e.url(secret.as_ref().map(|_| "<secret>"))
        );
        Some(e)
    };
    let agent = agent(Duration::from_millis(account.timeout_ms), account.tls()?);
    let mut retry: Vec<Value> = Vec::new();
    let mut last_poll = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let mut targets = std::mem::take(&mut retry);
        if let Some(e) = &endpoint {
            targets.extend(e.take());
        }
        let poll_due = args.poll_every > 0 && host::now_ms().saturating_sub(last_poll) >= args.poll_every * 1000;
        if targets.is_empty() && !poll_due {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        // Re-reads need no ledger: they go out before the writer lock is
        // taken, which is then held only to compare and save.
        let (read, failed) = ctx.fetch(&agent, &targets);
        let _writer = match args.state.lock("writer", &business_file, "incwo listen", &interrupted) {
            Ok(guard) => guard,
            Err((_, message)) => {
                eprintln!("incwo: {message}; {} targets kept for the next round", targets.len());
                retry = targets;
                continue;
            }
        };
        let mut events = Vec::new();
        for (target, why) in failed {
            eprintln!("incwo: {target}: {why}; retried at the next round");
            retry.push(target);
        }
        ctx.ledger = LedgerView::Entries {
            entries: store
                .entries(&business_file)?
                .into_iter()
                .map(|e| (e.key.clone(), serde_json::to_value(e).unwrap_or_default()))
                .collect(),
            changed: Default::default(),
        };
        let (found, failed) = ctx.detect(read);
        events.extend(found);
        for (target, why) in failed {
            eprintln!("incwo: {target}: {why}; retried at the next round");
            retry.push(target);
        }
        if poll_due {
            last_poll = host::now_ms();
            let cursor = match store.poll_cursor(&business_file)? {
                Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                    eprintln!("incwo: the stored polling cursor is unreadable ({e}); polling starts over");
                    Value::Null
                }),
                None => Value::Null,
            };
            match ctx.poll(&agent, &cursor, args.page_budget) {
                Ok((e, state)) => {
                    events.extend(e);
                    store.set_poll_cursor(&business_file, &state.to_string())?;
                }
                Err(e) => eprintln!("incwo: {e}"),
            }
        }
        let changed: Vec<Entry> = ctx
            .take_changed()
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("a ledger entry the core returned cannot be read: {e}"))?;
        store.put_entries(&business_file, &changed)?;
        let mut out = std::io::stdout().lock();
        for e in events {
            let _ = writeln!(out, "{e}");
        }
        let _ = out.flush();
    }
    Ok(ExitCode::SUCCESS)
}
