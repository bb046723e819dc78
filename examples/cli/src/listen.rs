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
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use crate::intake_server::Endpoint;

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
    /// Required to listen, unless --insecure-no-webhook-secret.
    #[arg(long)]
    secret_env: Option<String>,
    /// Accept webhooks without a secret: anyone who reaches the port can make the
    /// connector re-read documents. Loopback addresses only; for local trials.
    #[arg(long)]
    insecure_no_webhook_secret: bool,
    /// Allowed source networks (repeat; e.g. 185.16.44.0/24). Empty: any.
    #[arg(long)]
    allow: Vec<String>,
    /// Poll every N seconds (0: never), for accounts that cannot send webhooks.
    #[arg(long, default_value_t = 0)]
    poll_every: u64,
    /// Pages read per polling run.
    #[arg(long, default_value_t = 10)]
    page_budget: u32,
    /// Serve `GET /metrics` (Prometheus text) on this address, e.g. 127.0.0.1:9464.
    #[arg(long)]
    metrics_bind: Option<String>,
    /// With --metrics-bind: also serve the totals `incwo sync --metrics-file` keeps in this file.
    #[arg(long, requires = "metrics_bind")]
    metrics_file: Option<PathBuf>,
}

/// The webhook secret from `--secret-env`; without one, listening for
/// webhooks needs `--insecure-no-webhook-secret` (checked on loopback by
/// [`Endpoint::start_insecure_no_secret`]).
fn webhook_secret(args: &ListenArgs) -> Result<Option<String>, String> {
    match &args.secret_env {
        Some(name) => match std::env::var(name) {
            Ok(s) if !s.trim().is_empty() => Ok(Some(s)),
            Ok(_) => Err(format!("environment variable {name} (the webhook secret) is empty")),
            Err(_) => Err(format!(
                "environment variable {name} is not set; export the webhook secret in it"
            )),
        },
        None if args.listen == "off" || args.insecure_no_webhook_secret => Ok(None),
        None => Err(format!(
            "refusing to listen for webhooks on {} without a secret: anyone reaching the port could              make the connector re-read documents. Export a long random secret and pass              --secret-env NAME (register the URL with it in incwo), or pass --listen off to poll only;              for a local trial on loopback, --insecure-no-webhook-secret",
            args.listen
        )),
    }
}

/// Runs `incwo listen`: prints each change event as one JSON line on stdout.
pub fn run(args: ListenArgs) -> Result<ExitCode, String> {
    let account = &args.account;
    let password = account.password()?;
    let secret = webhook_secret(&args)?;
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
        let e = if secret.is_none() {
            crate::intake_server::log(
                "webhooks are accepted WITHOUT a secret (--insecure-no-webhook-secret), on loopback only",
            );
            Endpoint::start_insecure_no_secret(&args.listen, settings)?
        } else {
            Endpoint::start(&args.listen, settings)?
        };
        eprintln!(
            "webhook endpoint: {} (register it in incwo's Webhooks app)",
            e.url(secret.as_ref().map(|_| "<secret>"))
        );
        Some(e)
    };
    let metrics = match &args.metrics_bind {
        Some(bind) => Some(crate::metrics::MetricsServer::start(bind, args.metrics_file.clone())?),
        None => None,
    };
    if let Some(m) = &metrics {
        eprintln!("metrics: http://{}/metrics", m.addr());
    }
    let agent = agent(Duration::from_millis(account.timeout_ms), account.tls()?);
    let mut retry: Vec<Value> = Vec::new();
    let mut last_poll = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let mut targets = std::mem::take(&mut retry);
        if let Some(e) = &endpoint {
            targets.extend(e.take());
        }
        let backlog = |n: usize| metrics.iter().for_each(|m| m.backlog.store(n as u64, Ordering::SeqCst));
        backlog(targets.len());
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
        backlog(retry.len());
        let mut out = std::io::stdout().lock();
        for e in events {
            let _ = writeln!(out, "{e}");
        }
        let _ = out.flush();
    }
    Ok(ExitCode::SUCCESS)
}
