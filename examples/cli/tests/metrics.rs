//! Metrics where operators scrape them, against the real binary and the
//! simulator over real HTTP: `incwo sync --metrics-file` writes a
//! node_exporter textfile whose counters add up across runs, and `incwo
//! listen --metrics-bind` serves `GET /metrics` with the webhook backlog and
//! those totals.

mod support;

use incwo_sim::{SimConfig, SimHandle};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};
use support::{account, incwo, temp_dir, text};

fn dir(name: &str) -> PathBuf {
    temp_dir("metrics", name)
}

/// The example batch plus an order without a unit price (quarantined as a contract error).
fn batch(work: &Path) -> PathBuf {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/data/");
    let mut text = std::fs::read_to_string(format!("{root}batch.jsonl")).unwrap();
    let order: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}order-missing-price.json")).unwrap()).unwrap();
    text.push_str(&format!("{}\n", json!({"kind": "order", "record": order})));
    let path = work.join("batch.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn sync(sim: &SimHandle, batch: &Path, state: &Path, metrics: &Path) -> Output {
    incwo()
        .args(["sync", batch.to_str().unwrap()])
        .args(account(sim))
        .args(["--state", state.to_str().unwrap()])
        .args(["--metrics-file", metrics.to_str().unwrap()])
        .output()
        .unwrap()
}

/// The value of the one sample `series` (name and labels exactly as rendered).
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn sync_keeps_running_totals_in_a_node_exporter_textfile() {
    let sim = incwo_sim::spawn(SimConfig::default());
    sim.add_faults(&json!({"method": "POST", "resource": "bill_sheets", "fault": {"kind": "http_error", "status": 503}, "times": 1}))
        .unwrap();
    let work = dir("sync");
    let (batch, state, prom) = (batch(&work), work.join("state.db"), work.join("incwo.prom"));
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;

    let first = sync(&sim, &batch, &state, &prom);
    assert_eq!(first.status.code(), Some(1), "one record quarantined: {}", text(&first));
    let m = std::fs::read_to_string(&prom).unwrap();
    let host = format!("host=\"127.0.0.1:{}\"", sim.port());
    let quarantined = "quarantined_records_total{class=\"contract\",code=\"contract.invalid\",resource=\"order\"}";
    assert_eq!(sample(&m, quarantined), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, "retry_total{endpoint=\"/bill_sheets.xml\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(&m, &format!("circuit_breaker_state{{{host}}}")),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        sample(&m, &format!("retry_budget_capacity{{{host}}}")),
        Some(500.0),
        "{m}"
    );
    let synced_at = sample(&m, "last_successful_sync_timestamp_seconds").expect("last sync");
    assert!(
        synced_at >= before && synced_at < before + 300.0,
        "{synced_at} vs {before}"
    );
    let posts = "api_call_duration_ms_count{endpoint=\"/bill_sheets.xml\",operation=\"create\"}";
    assert_eq!(sample(&m, posts), Some(2.0), "{m}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&prom).unwrap().permissions().mode() & 0o777, 0o644);
    }
    let names: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".prom"))
        .collect();
    assert_eq!(names, ["incwo.prom"], "no temporary file left beside it");

    // A second run adds up: the order is quarantined again, nothing else is sent.
    let second = sync(&sim, &batch, &state, &prom);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let m = std::fs::read_to_string(&prom).unwrap();
    assert_eq!(sample(&m, quarantined), Some(2.0), "{m}");
    assert_eq!(
        sample(&m, "retry_total{endpoint=\"/bill_sheets.xml\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(sample(&m, posts), Some(2.0), "{m}");

    // A file this connector did not write is set aside, never merged into.
    std::fs::write(&prom, "node_cpu_seconds_total 3\n").unwrap();
    let third = sync(&sim, &batch, &state, &prom);
    assert!(
        String::from_utf8_lossy(&third.stderr).contains("incwo.prom.unreadable"),
        "{}",
        text(&third)
    );
    assert_eq!(
        std::fs::read_to_string(work.join("incwo.prom.unreadable")).unwrap(),
        "node_cpu_seconds_total 3\n"
    );
    let m = std::fs::read_to_string(&prom).unwrap();
    assert_eq!(sample(&m, quarantined), Some(1.0), "{m}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_metrics_file_the_collector_would_not_read_is_refused_before_anything_is_sent() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let work = dir("bad-path");
    let batch = batch(&work);
    for (path, why) in [
        (work.join("incwo.txt"), "must end in .prom"),
        (work.join("missing/incwo.prom"), "does not exist"),
    ] {
        let out = sync(&sim, &batch, &work.join("state.db"), &path);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{}", text(&out));
    }
    assert_eq!(
        sim.state()["objects"]["firms"].as_array().map_or(0, Vec::len),
        0,
        "nothing sent"
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// A running `incwo listen` and the metrics URL it printed.
struct Listen {
    child: Child,
    metrics: String,
    webhook: String,
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listen(sim: &SimHandle, state: &Path, textfile: &Path) -> Listen {
    let mut child = incwo()
        .arg("listen")
        .args(account(sim))
        .args(["--state", state.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--insecure-no-webhook-secret"])
        .args([
            "--metrics-bind",
            "127.0.0.1:0",
            "--metrics-file",
            textfile.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut metrics, mut webhook) = (None, None);
    while metrics.is_none() || webhook.is_none() {
        let line = lines.next().expect("listen printed its URLs").unwrap();
        if let Some(url) = line.strip_prefix("metrics: ") {
            metrics = Some(url.to_string());
        } else if let Some(rest) = line.strip_prefix("webhook endpoint: ") {
            webhook = rest.split(' ').next().map(str::to_string);
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Listen {
        child,
        metrics: metrics.unwrap(),
        webhook: webhook.unwrap(),
    }
}

#[test]
fn listen_serves_metrics_with_the_webhook_backlog_and_the_sync_totals() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let work = dir("listen");
    let (batch, state, prom) = (batch(&work), work.join("state.db"), work.join("incwo.prom"));
    assert_eq!(sync(&sim, &batch, &state, &prom).status.code(), Some(1));
    // incwo cannot be read back: the webhook's target waits.
    sim.add_faults(
        &json!({"method": "GET", "resource": "bill_sheets", "fault": {"kind": "http_error", "status": 503}}),
    )
    .unwrap();
    let l = listen(&sim, &state, &prom);

    let scrape = |url: &str| {
        let r = ureq::get(url).call().unwrap();
        assert_eq!(
            r.header("Content-Type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        r.into_string().unwrap()
    };
    let m = scrape(&l.metrics);
    assert_eq!(sample(&m, "webhook_backlog_size"), Some(0.0), "{m}");
    let quarantined = "quarantined_records_total{class=\"contract\",code=\"contract.invalid\",resource=\"order\"}";
    assert_eq!(sample(&m, quarantined), Some(1.0), "the sync totals are served: {m}");

    let hook = ureq::post(&l.webhook)
        .set("Content-Type", "application/json")
        .send_string(r#"{"zname":"bill_sheets","zid":1}"#);
    assert!(hook.is_ok(), "{hook:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut m = String::new();
    while Instant::now() < deadline {
        m = scrape(&l.metrics);
        if sample(&m, "webhook_backlog_size") == Some(1.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sample(&m, "webhook_backlog_size"), Some(1.0), "{m}");

    let base = l.metrics.trim_end_matches("/metrics");
    match ureq::get(&format!("{base}/other")).call() {
        Err(ureq::Error::Status(404, _)) => {}
        other => panic!("{other:?}"),
    }
    match ureq::post(&l.metrics).send_string("") {
        Err(ureq::Error::Status(405, _)) => {}
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&work);
}
