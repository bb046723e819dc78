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
    let transport = Transport::new(Duration::from_secs(2));
    access.sim.reset();
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
            &mut |c| {
                saved = Some(c.to_string());
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
                &mut |c| {
                    saved = Some(c.to_string());
                    Ok(())
                },
                &mut |_| {},
                &mut |_| false,
                None,
            )?;
        }
        checkpoint = saved;
        result.requests += log.requests.values().sum::<usize>();
        result.core_time += log.core_time;
        result.metrics = flow.metrics().render_prometheus();
        let outcomes = serde_json::to_value(flow.outcomes()).map_err(|e| e.to_string())?;
        let names: Vec<&str> = outcomes
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["outcome"].as_str().unwrap_or("none"))
            .collect();
        observed.push(summarize(&names));
        let expect = &step["expect"];
        let label = format!("step {}", n + 1);
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
