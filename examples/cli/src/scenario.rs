//! Runs the scenario files of `tests/scenarios/` against a simulator over
//! real loopback HTTP, as `tests/scenarios/README.md` specifies.

use crate::host::{self, RunLog, Stop, Transport};
use incwo_core::api::subset_match;
use incwo_core::flow::{batch, Flow, FlowOptions};
use incwo_core::http::{Auth, ConnectionConfig};
use incwo_core::mapping::Profile;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a scenario run can reach the simulator.
pub struct SimAccess<'a> {
    /// The running simulator.
    pub sim: &'a incwo_sim::SimHandle,
    /// Its login.
    pub login: String,
    /// Its password.
    pub password: String,
    /// Its business file id.
    pub business_file_id: String,
}

/// The result of one scenario.
#[derive(Debug, Default)]
pub struct ScenarioResult {
    /// File stem.
    pub name: String,
    /// What the scenario expects, in a few words.
    pub expected: String,
    /// What was observed, in a few words.
    pub observed: String,
    /// Every failed expectation.
    pub failures: Vec<String>,
    /// Markers created more than once in incwo.
    pub duplicates: usize,
    /// Requests sent.
    pub requests: usize,
    /// Time spent in the core.
    pub core_time: Duration,
    /// The metrics of the last step.
    pub metrics: String,
}

impl ScenarioResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The scenario files of a folder, sorted.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

fn metric_value(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs one scenario file.
pub fn run(path: &Path, access: &SimAccess<'_>) -> ScenarioResult {
    let mut result = ScenarioResult {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
        ..Default::default()
    };
    if let Err(e) = run_inner(path, access, &mut result) {
        result.failures.push(e);
    }
    result
}

fn run_inner(path: &Path, access: &SimAccess<'_>, result: &mut ScenarioResult) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let scenario: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let profile = match scenario["profileFile"].as_str() {
        Some(file) => {
            let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("profile {file}: {e}"))?;
            Profile::from_json(&text).map_err(|e| e.to_string())?
        }
        None => Profile::default(),
    };
    let options: FlowOptions = serde_json::from_value(scenario["options"].clone()).unwrap_or_default();
    result.expected = scenario["summary"].as_str().unwrap_or("").to_string();
    let config = ConnectionConfig::new(
        &access.sim.base_url(),
        &access.business_file_id,
        Auth::basic(access.login.clone(), access.password.clone()),
        false,
    )
    .map_err(|e| e.to_string())?;
    let transport = Transport::new(Duration::from_secs(2), crate::tls::client_config(None)?);
    access.sim.reset();
    let mut inbound = Inbound::setup(&scenario, access, &profile, &options)?;
    let mut checkpoint: Option<String> = None;
    let mut observed = Vec::new();
    let steps = scenario["steps"].as_array().cloned().unwrap_or_default();
    for (n, step) in steps.iter().enumerate() {
        access.sim.clear_faults();
        if let Some(faults) = step["faults"].as_array().filter(|f| !f.is_empty()) {
            access.sim.add_faults(&Value::Array(faults.clone()))?;
        }
        let records = step["records"].as_array().cloned().unwrap_or_default();
        let make_items = || -> Vec<_> {
            records
                .iter()
                .enumerate()
                .map(|(i, r)| batch::parse_line(i + 1, &r.to_string(), &profile))
                .collect()
        };
        let start = |checkpoint: &Option<String>| -> Result<Flow, String> {
            match checkpoint {
                Some(c) => Flow::resume(
                    c,
                    make_items(),
                    profile.clone(),
                    config.clone(),
                    options.clone(),
                    host::now_ms(),
                )
                .map_err(|e| e.to_string()),
                None => Ok(Flow::start(
                    make_items(),
                    profile.clone(),
                    config.clone(),
                    options.clone(),
                    host::now_ms(),
                    7 + n as u64,
                )),
            }
        };
        let mut log = RunLog::default();
        let mut flow = start(&checkpoint)?;
        let crash_at = step["crashAfterActions"].as_u64().map(|n| n as usize);
        let mut saved = checkpoint.clone();
        let stop = host::drive(
            &mut flow,
            &transport,
            &mut log,
            &mut |flow, _| {
                saved = Some(flow.checkpoint());
                Ok(())
            },
            &mut |_| {},
            &mut |actions| crash_at.is_some_and(|n| actions >= n),
            crash_at,
        )?;
        if stop == Stop::Interrupted {
            // The crash: everything in memory is lost; resume from the last save.
            flow = start(&saved)?;
            host::drive(
                &mut flow,
                &transport,
                &mut log,
                &mut |flow, _| {
                    saved = Some(flow.checkpoint());
                    Ok(())
                },
                &mut |_| {},
                &mut |_| false,
                None,
            )?;
        }
        checkpoint = saved;
        let label = format!("step {}", n + 1);
        let received = inbound.step(step, access, &mut checkpoint, &label, &mut result.failures)?;
        if let Some(wanted) = step["expect"].get("inbound") {
            if let Err(e) = subset_match(wanted, &Value::Array(received.clone())) {
                let seen: Vec<String> = received
                    .iter()
                    .map(|e| format!("{} {}", e["queue"].as_str().unwrap_or(""), e["type"]))
                    .collect();
                result.failures.push(format!("{label} inbound{e}; received {seen:?}"));
            }
        }
        result.requests += log.requests.values().sum::<usize>();
        result.core_time += log.core_time;
        result.metrics = flow.metrics().render_prometheus();
        // Secrets stay secret: nothing the host keeps or hands on (checkpoint,
        // events, metrics, outcomes) carries the password or the Basic token.
        let token = basic_token(&access.login, &access.password);
        let kept = [
            checkpoint.clone().unwrap_or_default(),
            serde_json::to_string(&log.published.iter().map(|(_, e)| e).collect::<Vec<_>>()).unwrap_or_default(),
            result.metrics.clone(),
            serde_json::to_string(flow.outcomes()).unwrap_or_default(),
        ];
        if kept
            .iter()
            .any(|text| text.contains(&access.password) || text.contains(&token))
        {
            result
                .failures
                .push(format!("step {}: the password or the Basic token leaked", n + 1));
        }
        let outcomes = serde_json::to_value(flow.outcomes()).map_err(|e| e.to_string())?;
        let names: Vec<&str> = outcomes
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["outcome"].as_str().unwrap_or("none"))
            .collect();
        observed.push(summarize(&names));
        let expect = &step["expect"];
        if !expect["outcomes"].is_null() {
            if let Err(e) = subset_match(&expect["outcomes"], &outcomes) {
                result.failures.push(format!("{label} outcomes{e}; got {outcomes}"));
            }
        }
        for wanted in expect["published"].as_array().into_iter().flatten() {
            let found = log.published.iter().any(|(queue, event)| {
                Some(queue.as_str()) == wanted["queue"].as_str() && event["type"] == wanted["type"]
            });
            if !found {
                let seen: Vec<String> = log
                    .published
                    .iter()
                    .map(|(q, e)| format!("{q} {}", e["type"]))
                    .collect();
                result
                    .failures
                    .push(format!("{label}: no {wanted} among published events {seen:?}"));
            }
        }
        for metric in expect["metrics"].as_array().into_iter().flatten() {
            let sample = metric["sample"].as_str().unwrap_or_default();
            let value = metric_value(&result.metrics, sample).unwrap_or(0.0);
            if let Some(min) = metric["min"].as_f64() {
                if value < min {
                    result
                        .failures
                        .push(format!("{label}: {sample} = {value}, expected ≥ {min}"));
                }
            }
            if let Some(equals) = metric["equals"].as_f64() {
                if value != equals {
                    result
                        .failures
                        .push(format!("{label}: {sample} = {value}, expected {equals}"));
                }
            }
        }
        if let Some(wanted) = expect["requests"].as_object() {
            for (method, count) in wanted {
                let sent = log.requests.get(method).copied().unwrap_or(0);
                if Some(sent as u64) != count.as_u64() {
                    result
                        .failures
                        .push(format!("{label}: {sent} {method} requests sent, expected {count}"));
                }
            }
        }
    }
    let state = access.sim.state();
    result.duplicates = state["duplicates"].as_array().map_or(0, Vec::len);
    if result.duplicates > 0 {
        result
            .failures
            .push(format!("duplicates in incwo: {}", state["duplicates"]));
    }
    let wanted = scenario.get("incwo").cloned().unwrap_or(json!({}));
    if let Err(e) = subset_match(&wanted, &state) {
        result.failures.push(format!("incwo state{e}"));
    }
    result.observed = observed.join(" | ");
    Ok(())
}

fn summarize(names: &[&str]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for name in names {
        *counts.entry(*name).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scenario's inbound side (README: "Inbound"): the host's webhook
/// endpoint registered with the simulator, the poll state, and the calls
/// that bring changes made in incwo back through the core.
struct Inbound {
    endpoint: Option<crate::listen::Endpoint>,
    secret: Option<String>,
    poll_state: Value,
    config: Value,
    profile: Option<String>,
    options: Value,
    agent: ureq::Agent,
}

fn admin(agent: &ureq::Agent, access: &SimAccess<'_>, method: &str, path: &str, body: &str) -> Result<Value, String> {
    let url = format!("{}{path}", access.sim.base_url());
    let call = agent.request(method, &url);
    let answer = if body.is_empty() {
        call.call()
    } else {
        call.send_string(body)
    };
    match answer {
        Ok(r) => Ok(r
            .into_string()
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => Err(format!(
            "{method} {path}: {code} {}",
            r.into_string().unwrap_or_default()
        )),
        Err(e) => Err(format!("{method} {path}: {e}")),
    }
}

/// The id of the object whose marker (title, reference…) is `marker`.
fn id_of(access: &SimAccess<'_>, resource: &str, marker: &str) -> Result<u64, String> {
    let state = access.sim.state();
    let field = state["marker_fields"][resource].as_str().unwrap_or("title").to_string();
    state["objects"][resource]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o[&field].as_str().map(str::trim) == Some(marker))
        .and_then(|o| o["id"].as_u64())
        .ok_or_else(|| format!("no {resource} with {field} {marker} in the simulator"))
}

/// Replaces `{{id:RESOURCE:MARKER}}` by the object's id.
fn substitute(access: &SimAccess<'_>, text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{id:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 5..];
        let end = after.find("}}").ok_or("unclosed {{id:…}} placeholder")?;
        let (resource, marker) = after[..end].split_once(':').ok_or("{{id:RESOURCE:MARKER}} expected")?;
        out.push_str(&id_of(access, resource, marker)?.to_string());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Inbound {
    fn setup(
        scenario: &Value,
        access: &SimAccess<'_>,
        profile: &Profile,
        options: &FlowOptions,
    ) -> Result<Inbound, String> {
        let spec = &scenario["inbound"];
        let agent = crate::listen::agent(Duration::from_secs(5), crate::tls::client_config(None)?);
        let secret = spec["secret"].as_str().map(str::to_string);
        let endpoint = if spec["webhooks"] == true {
            let settings = json!({
                "secret": secret,
                "allowNetworks": spec["allowNetworks"],
                "businessFileId": access.business_file_id,
            });
            let settings = match settings["allowNetworks"] {
                Value::Null => json!({"secret": secret, "businessFileId": access.business_file_id}),
                _ => settings,
            };
            let endpoint = crate::listen::Endpoint::start("127.0.0.1:0", settings)?;
            let body = json!({"url": endpoint.url(secret.as_deref()), "retryMs": 20}).to_string();
            admin(&agent, access, "PUT", "/_sim/webhooks", &body)?;
            Some(endpoint)
        } else {
            None
        };
        Ok(Inbound {
            endpoint,
            secret,
            poll_state: Value::Null,
            config: json!({"server": access.sim.base_url(), "businessFileId": access.business_file_id,
                "auth": {"type": "basic", "login": access.login, "password": access.password}}),
            profile: serde_json::to_string(profile).ok(),
            options: json!({"tenant": options.tenant, "company": options.company}),
            agent,
        })
    }

    fn context(&self, checkpoint: &Option<String>) -> crate::listen::Context {
        crate::listen::Context {
            config: self.config.clone(),
            profile: self.profile.clone(),
            options: self.options.clone(),
            ledger: crate::listen::LedgerView::Checkpoint(checkpoint.clone()),
        }
    }

    /// Applies the step's `incwoChanges` and forged `webhooks`, then runs its
    /// `inbound` mode; returns the change events received (`{queue, ...event}`).
    fn step(
        &mut self,
        step: &Value,
        access: &SimAccess<'_>,
        checkpoint: &mut Option<String>,
        label: &str,
        failures: &mut Vec<String>,
    ) -> Result<Vec<Value>, String> {
        for change in step["incwoChanges"].as_array().into_iter().flatten() {
            let resource = change["resource"]
                .as_str()
                .ok_or("incwoChanges: resource is required")?;
            let marker = change["marker"].as_str().ok_or("incwoChanges: marker is required")?;
            let id = id_of(access, resource, marker)?;
            if let Some(progress) = change.get("progressId") {
                let body = json!({ "progress_id": progress }).to_string();
                admin(
                    &self.agent,
                    access,
                    "PUT",
                    &format!("/_sim/documents/{resource}/{id}/progress"),
                    &body,
                )?;
            }
            if let Some(xml) = change["xml"].as_str() {
                admin(
                    &self.agent,
                    access,
                    "PUT",
                    &format!("/_sim/objects/{resource}/{id}"),
                    xml,
                )?;
            }
            if change["delete"] == true {
                admin(
                    &self.agent,
                    access,
                    "DELETE",
                    &format!("/_sim/objects/{resource}/{id}"),
                    "",
                )?;
            }
        }
        for (i, hook) in step["webhooks"].as_array().into_iter().flatten().enumerate() {
            let endpoint = self
                .endpoint
                .as_ref()
                .ok_or("webhooks need \"inbound\": {\"webhooks\": true} in the scenario")?;
            let body = match &hook["body"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let body = substitute(access, &body)?;
            let secret = match &hook["secret"] {
                Value::String(s) => Some(s.clone()),
                Value::Null => self.secret.clone(),
                _ => None,
            };
            let content_type = hook["contentType"].as_str().unwrap_or("application/json");
            let answer = self
                .agent
                .post(&endpoint.url(secret.as_deref()))
                .set("Content-Type", content_type)
                .send_string(&body);
            let status = match answer {
                Ok(r) => r.status(),
                Err(ureq::Error::Status(code, _)) => code,
                Err(e) => return Err(format!("webhook {}: {e}", i + 1)),
            };
            if let Some(want) = hook["expectStatus"].as_u64() {
                if u64::from(status) != want {
                    failures.push(format!("{label}: webhook {} answered {status}, expected {want}", i + 1));
                }
            }
        }
        let mode = match &step["inbound"] {
            Value::String(m) => m.clone(),
            Value::Object(o) => o.get("mode").and_then(Value::as_str).unwrap_or("").to_string(),
            _ => return Ok(Vec::new()),
        };
        let mut ctx = self.context(checkpoint);
        let events = match mode.as_str() {
            "webhook" => {
                let endpoint = self
                    .endpoint
                    .as_ref()
                    .ok_or("inbound webhook mode needs \"inbound\": {\"webhooks\": true} in the scenario")?;
                // The simulator delivers in the background: wait until none is pending.
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                loop {
                    let log = admin(&self.agent, access, "GET", "/_sim/webhooks", "")?;
                    if log["pending"] == 0 || std::time::Instant::now() > deadline {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let (events, failed) = ctx.process(&self.agent, &endpoint.take());
                for (target, why) in failed {
                    failures.push(format!("{label}: {target}: {why}"));
                }
                events
            }
            "poll" => {
                let budget = step["inbound"]["pageBudget"].as_u64().unwrap_or(10) as u32;
                let (events, state) = ctx.poll(&self.agent, &self.poll_state, budget)?;
                self.poll_state = state;
                events
            }
            other => return Err(format!("{label}: unknown inbound mode {other:?} (webhook or poll)")),
        };
        if let crate::listen::LedgerView::Checkpoint(c) = ctx.ledger {
            *checkpoint = c;
        }
        Ok(events
            .into_iter()
            .map(|p| {
                let mut e = p["event"].clone();
                e["queue"] = p["queue"].clone();
                e
            })
            .collect())
    }
}

/// `base64(login:password)` without padding, as it would appear in an Authorization header.
fn basic_token(login: &str, password: &str) -> String {
    let token = incwo_core::http::encode::base64_encode(format!("{login}:{password}").as_bytes());
    token.trim_end_matches('=').to_string()
}
