//! The state store with several writers, real `incwo` processes and real
//! HTTP against the simulator: two overlapping `incwo sync` runs on one
//! state (1,000 records), `incwo listen` beside `incwo sync`, a SIGKILLed
//! holder, the import of a version-1 JSON checkpoint, and the file modes.
//! Each counts incwo's documents in the simulator's state (no duplicate)
//! and every record's entry in the exported ledger (none lost).

mod support;

use incwo_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{temp_dir, text};

const V1_FIXTURE: &str = include_str!("fixtures/v1-checkpoint.json");

/// `incwo` with the test password and the webhook secret in the environment.
fn incwo() -> Command {
    let mut c = support::incwo();
    c.env("INCWO_TEST_WEBHOOK_SECRET", "hook-secret-1");
    c
}

fn dir(name: &str) -> PathBuf {
    temp_dir("store", name)
}

/// The simulator's account flags and the company `acme`.
fn account(sim: &SimHandle) -> Vec<String> {
    let mut flags = support::account(sim);
    flags.extend(["--company".to_string(), "acme".to_string()]);
    flags
}

fn sync(sim: &SimHandle, batch: &Path, state: &Path, lock_wait_ms: u64) -> Command {
    let mut c = incwo();
    c.args(["sync", batch.to_str().unwrap()])
        .args(account(sim))
        .args(["--state", state.to_str().unwrap()])
        .args(["--lock-wait-ms", &lock_wait_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("a JSON report: {}", text(o)))
}

/// `customers` customers (shared between batches when the prefix is), one
/// product and `orders` orders of them (`CMD-{tag}-n`).
fn batch(customers: usize, orders: usize, tag: &str) -> String {
    let mut lines = vec![
        json!({"kind": "product", "record": {"sku": "KIT-API-01", "name": "Kit", "unitPriceExclTax": 49.9, "taxCode": "TVA20", "unit": "unit", "active": true}}),
    ];
    for i in 0..customers {
        lines.push(json!({"kind": "customer", "record": {"externalId": format!("CLI-{i:03}"), "name": format!("Client {i}"), "kind": "client",
            "billingAddress": {"line1": "18 rue des Tanneurs", "zipCode": "69002", "city": "Lyon", "country": "FR"}}}));
    }
    for i in 0..orders {
        lines.push(json!({"kind": "order", "record": {"orderNumber": format!("CMD-{tag}-{i:04}"), "customerExternalId": format!("CLI-{:03}", i % customers),
            "orderDate": "2026-04-11", "currency": "EUR",
            "lines": [{"sku": "KIT-API-01", "description": "Kit", "qty": 2, "unitPriceExclTax": 49.9, "taxCode": "TVA20"}]}}));
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

fn write_batch(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The state's checkpoint as version-1 JSON (`incwo state export`).
fn export(state: &Path) -> Value {
    let out = incwo()
        .args(["state", "export", "--state", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `(domain, externalId)` of every `done` ledger entry.
fn done_entries(checkpoint: &Value) -> BTreeSet<(String, String)> {
    checkpoint["ledger"]["entries"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["state"] == "done")
        .map(|e| {
            (
                e["domain"].as_str().unwrap().to_string(),
                e["externalId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What every record of a batch must leave in the ledger.
fn expected_entries(batch: &str) -> BTreeSet<(String, String)> {
    batch
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let r = &v["record"];
            match v["kind"].as_str().unwrap() {
                "product" => ("product".to_string(), r["sku"].as_str().unwrap().to_string()),
                "customer" => ("customer".to_string(), r["externalId"].as_str().unwrap().to_string()),
                _ => ("order".to_string(), r["orderNumber"].as_str().unwrap().to_string()),
            }
        })
        .collect()
}

fn assert_no_duplicate(sim: &SimHandle) -> Value {
    let state = sim.state();
    assert_eq!(state["duplicates"], json!([]), "{}", state["duplicates"]);
    state["counts"].clone()
}

/// Waits until the writer lock of business file 123456 names `pid`.
fn wait_for_holder(state: &Path, pid: u32) {
    let lock = PathBuf::from(format!("{}.locks/writer-123456", state.display()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let record: Value =
            serde_json::from_str(&std::fs::read_to_string(&lock).unwrap_or_default()).unwrap_or_default();
        if record["pid"] == pid {
            return;
        }
        assert!(Instant::now() < deadline, "pid {pid} never took the lock: {record}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_overlapping_syncs_on_one_state_lose_nothing_and_create_nothing_twice() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let work = dir("two-syncs");
    // 1,000 records: the same 10 customers and product in both, 489 orders each.
    let (a, b) = (batch(10, 489, "A"), batch(10, 489, "B"));
    let (batch_a, batch_b) = (write_batch(&work, "a.jsonl", &a), write_batch(&work, "b.jsonl", &b));
    let state = work.join("state.db");

    let first = sync(&sim, &batch_a, &state, 120_000).spawn().unwrap();
    let second = sync(&sim, &batch_b, &state, 120_000).spawn().unwrap();
    let pids = [first.id(), second.id()];
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    for (out, n) in [(&first, 500), (&second, 500)] {
        assert_eq!(out.status.code(), Some(0), "{}", text(out));
        assert_eq!(report(out)["summary"]["finished"], n, "{}", text(out));
    }
    // One of them waited, naming the other as the holder.
    let waited: Vec<String> = [&first, &second]
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).to_string())
        .filter(|e| e.contains("waiting up to 120000 ms"))
        .collect();
    assert_eq!(waited.len(), 1, "{waited:?}");
    assert!(
        pids.iter().any(|p| waited[0].contains(&format!("pid {p} on host"))) && waited[0].contains("`incwo sync "),
        "{waited:?}"
    );

    // Rerun both batches at once: nothing is created again.
    let reruns = [
        sync(&sim, &batch_a, &state, 120_000).spawn().unwrap(),
        sync(&sim, &batch_b, &state, 120_000).spawn().unwrap(),
    ];
    for child in reruns {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let r = report(&out);
        assert_eq!(r["summary"]["skipped"], 500, "{r}");
        assert_eq!(r["requests"]["POST"], Value::Null, "{r}");
    }
    let counts = assert_no_duplicate(&sim);
    assert_eq!(counts["firms"], 10, "{counts}");
    assert_eq!(counts["proposal_sheets"], 2 * 489, "{counts}");
    let mut expected = expected_entries(&a);
    expected.extend(expected_entries(&b));
    assert_eq!(expected.len(), 10 + 1 + 2 * 489);
    let missing: Vec<_> = expected.difference(&done_entries(&export(&state))).cloned().collect();
    assert!(missing.is_empty(), "lost ledger entries: {missing:?}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_sigkilled_holder_releases_the_lock_and_its_files_are_private() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let work = dir("sigkill");
    let records = batch(5, 400, "K");
    let batch_file = write_batch(&work, "k.jsonl", &records);
    let state = work.join("state.db");
    let mut holder = sync(&sim, &batch_file, &state, 0).spawn().unwrap();
    wait_for_holder(&state, holder.id());
    let wal = PathBuf::from(format!("{}-wal", state.display()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !wal.exists() {
        assert!(Instant::now() < deadline, "the store was never opened");
        std::thread::sleep(Duration::from_millis(20));
    }

    // While it runs, the store and SQLite's WAL and shared-memory files are the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", state.display());
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{path}: {mode:o}");
        }
        let locks = std::fs::metadata(format!("{}.locks", state.display())).unwrap();
        assert_eq!(locks.permissions().mode() & 0o777, 0o700);
    }

    // A second writer with no wait stops at once, naming the holder.
    let busy = sync(&sim, &batch_file, &state, 0).output().unwrap();
    assert_eq!(busy.status.code(), Some(75), "{}", text(&busy));
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(
        stderr.contains(&format!("pid {} on host", holder.id()))
            && stderr.contains("`incwo sync ")
            && stderr.contains("--lock-wait-ms"),
        "{stderr}"
    );

    // SIGKILL: the kernel drops the lock; the next run takes it at once and resumes.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let done = sync(&sim, &batch_file, &state, 0).output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    assert_eq!(report(&done)["summary"]["finished"], 406, "{}", text(&done));
    let counts = assert_no_duplicate(&sim);
    assert_eq!(counts["proposal_sheets"], 400, "{counts}");
    let missing: Vec<_> = expected_entries(&records)
        .difference(&done_entries(&export(&state)))
        .cloned()
        .collect();
    assert!(missing.is_empty(), "lost ledger entries: {missing:?}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_version_1_checkpoint_is_imported_once_and_exported_back() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let work = dir("import");
    let state = work.join("state.json");
    std::fs::write(&state, V1_FIXTURE).unwrap();
    // Exporting a JSON checkpoint prints it as it is (nothing imported yet).
    assert_eq!(export(&state), serde_json::from_str::<Value>(V1_FIXTURE).unwrap());

    let run = |state: &Path| {
        sync(&sim, Path::new("examples/data/batch.jsonl"), state, 0)
            .output()
            .unwrap()
    };
    let first = run(&state);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let stderr = String::from_utf8_lossy(&first.stderr);
    let backup = PathBuf::from(format!("{}.v1-backup.json", state.display()));
    assert!(
        stderr.contains("imported the version-1 JSON checkpoint") && stderr.contains(backup.to_str().unwrap()),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), V1_FIXTURE);
    assert!(std::fs::read(&state).unwrap().starts_with(b"SQLite format 3\0"));
    // The imported ledger says every record is done: nothing is sent again.
    let r = report(&first);
    assert_eq!(r["summary"]["skipped"], 5, "{r}");
    assert_eq!(r["requests"]["POST"], Value::Null, "{r}");

    let v1: Value = serde_json::from_str(V1_FIXTURE).unwrap();
    let exported = export(&state);
    assert_eq!(exported["ledger"], v1["ledger"]);
    assert_eq!(exported["checkpointVersion"], 1);
    assert_eq!(exported["outcomes"].as_array().unwrap().len(), 5);

    // Once: the next run opens the store without importing again.
    let second = run(&state);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(!String::from_utf8_lossy(&second.stderr).contains("imported"));
    assert_eq!(export(&state)["ledger"], v1["ledger"]);

    // An exported checkpoint imports into a new state as the same ledger.
    let again = work.join("again.json");
    std::fs::write(&again, exported.to_string()).unwrap();
    let third = run(&again);
    assert_eq!(third.status.code(), Some(0), "{}", text(&third));
    assert_eq!(export(&again)["ledger"], v1["ledger"]);
    assert_no_duplicate(&sim);
    let _ = std::fs::remove_dir_all(&work);
}

/// `incwo listen` as a child, its stdout lines collected by a thread.
struct Listener {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn listen_and_sync_share_one_state_without_losing_either_update() {
    let sim = incwo_sim::spawn(SimConfig::default());
    let work = dir("listen");
    let state = work.join("state.db");
    let port = free_port();
    let mut child = incwo()
        .arg("listen")
        .args(account(&sim))
        .args([
            "--state",
            state.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--secret-env", "INCWO_TEST_WEBHOOK_SECRET"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(work.join("listen.err")).unwrap())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let listener = Listener { child, lines };
    // 1,000 records in two runs; during the second, the listener receives
    // a webhook for every create and for 20 cancellations made in incwo.
    let (a, b) = (batch(10, 489, "LA"), batch(10, 489, "LB"));
    let (batch_a, batch_b) = (write_batch(&work, "a.jsonl", &a), write_batch(&work, "b.jsonl", &b));
    let first = sync(&sim, &batch_a, &state, 60_000).output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let hooks = ureq::put(&format!("{}/_sim/webhooks", sim.base_url()))
        .send_json(json!({"url": format!("http://127.0.0.1:{port}/incwo/webhook/hook-secret-1"), "retryMs": 50}));
    assert!(hooks.is_ok(), "{hooks:?}");

    // While the second run holds the state, 20 orders of the first are cancelled in incwo.
    let second = sync(&sim, &batch_b, &state, 60_000).spawn().unwrap();
    wait_for_holder(&state, second.id());
    let cancelled = incwo_core::mapping::Profile::default().statuses.order["cancelled"];
    let objects = sim.state()["objects"]["proposal_sheets"].clone();
    let mut changed = BTreeSet::new();
    for n in 0..20 {
        let title = format!("CMD-LA-{:04}", n * 7);
        let id = objects
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["title"] == title.as_str())
            .unwrap_or_else(|| panic!("{title} in incwo"))["id"]
            .as_u64()
            .unwrap();
        ureq::put(&format!(
            "{}/_sim/documents/proposal_sheets/{id}/progress",
            sim.base_url()
        ))
        .send_json(json!({"progress_id": cancelled}))
        .unwrap();
        changed.insert(title);
    }
    let second = second.wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert_eq!(report(&second)["summary"]["finished"], 500);

    // The listener reports each cancellation once (and no echo of the syncs' creates).
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < changed.len() && Instant::now() < deadline {
        if let Ok(line) = listener.lines.recv_timeout(Duration::from_millis(200)) {
            let event: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(event["event"]["type"], "order.cancelled", "{event}");
            assert!(
                seen.insert(event["event"]["externalId"].as_str().unwrap().to_string()),
                "twice: {event}"
            );
        }
    }
    let listen_err = std::fs::read_to_string(work.join("listen.err")).unwrap_or_default();
    assert_eq!(seen, changed, "listen's stderr: {listen_err}");
    // Give a late round the time to finish its save before reading the state.
    std::thread::sleep(Duration::from_millis(500));
    let checkpoint = export(&state);
    let mut expected = expected_entries(&a);
    expected.extend(expected_entries(&b));
    let missing: Vec<_> = expected.difference(&done_entries(&checkpoint)).cloned().collect();
    assert!(missing.is_empty(), "lost ledger entries: {missing:?}");
    let statuses: BTreeSet<String> = checkpoint["ledger"]["entries"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["status"] == "cancelled")
        .map(|e| e["externalId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, changed, "the listener's updates are in the ledger");
    let counts = assert_no_duplicate(&sim);
    assert_eq!(counts["proposal_sheets"], 2 * 489, "{counts}");
    drop(listener);
    let _ = std::fs::remove_dir_all(&work);
}
