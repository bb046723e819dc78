//! `incwo demo` and `incwo sim`: the simulator in-process, and the test
//! matrix run against it over real HTTP.

use crate::scenario::{self, SimAccess};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `incwo sim`: serves the simulator until the process is stopped.
pub fn run_sim(port: u16, config: incwo_sim::SimConfig) -> Result<ExitCode, String> {
    let (business_file, login) = (config.business_file_id, config.login.clone());
    // In TLS mode the CA is written here, before the address is announced.
    let server = incwo_sim::Server::new(config)?;
    let scheme = server.scheme();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {scheme}://127.0.0.1:{port}");
        let _ = writeln!(out, "business file {business_file}, login {login} (password not shown)");
        if let Some(ca) = server.ca_file() {
            let _ = writeln!(out, "test CA (trust it) at {}", ca.display());
        }
        let _ = out.flush();
        drop(out);
        server.serve(listener, std::future::pending()).await;
        Ok::<(), String>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn scenarios_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let here = Path::new("tests/scenarios");
        if here.is_dir() {
            here.to_path_buf()
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
        }
    })
}

/// `incwo demo`.
pub fn run(dir: Option<PathBuf>, only: Option<&str>, json: bool) -> Result<ExitCode, String> {
    let dir = scenarios_dir(dir);
    // A password no output could contain by chance, so the scenarios can
    // check that it never leaks.
    let config = incwo_sim::SimConfig {
        password: "demo-pass-7f3a9c".into(),
        ..Default::default()
    };
    let access_config = (
        config.login.clone(),
        config.password.clone(),
        config.business_file_id.to_string(),
    );
    let sim = incwo_sim::try_spawn(config).map_err(|e| format!("cannot start the simulator: {e}"))?;
    let access = SimAccess {
        sim: &sim,
        login: access_config.0,
        password: access_config.1,
        business_file_id: access_config.2,
    };
    if !json {
        eprintln!(
            "simulator on {} — running the scenarios of {}",
            sim.base_url(),
            dir.display()
        );
    }
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    for file in scenario::files(&dir)? {
        if only.is_some_and(|o| !file.to_string_lossy().contains(o)) {
            continue;
        }
        let result = scenario::run(&file, &access);
        if !json {
            eprintln!("  {} {}", if result.passed() { "ok  " } else { "FAIL" }, result.name);
        }
        results.push(result);
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    if json {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "scenario": r.name, "passed": r.passed(), "failures": r.failures,
                    "duplicates": r.duplicates, "requests": r.requests,
                    "coreMicros": r.core_time.as_micros() as u64, "observed": r.observed,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else {
        print_table(&results);
        if let Some(last) = results.last() {
            println!("\nMetrics of the last scenario (Prometheus text):\n{}", last.metrics);
        }
        println!(
            "{} scenarios, {} passed, {} failed, in {:.1} s",
            results.len(),
            results.len() - failed,
            failed,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if failed == 0 && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(results: &[scenario::ScenarioResult]) {
    println!(
        "\n{:<36} {:<6} {:>4} {:>8} {:>9}  expected / observed",
        "scenario", "result", "dup", "requests", "core ms"
    );
    for r in results {
        println!(
            "{:<36} {:<6} {:>4} {:>8} {:>9.2}  {}",
            r.name,
            if r.passed() { "pass" } else { "FAIL" },
            r.duplicates,
            r.requests,
            r.core_time.as_secs_f64() * 1000.0,
            r.expected
        );
        println!("{:<70}  → {}", "", r.observed);
        for failure in &r.failures {
            println!("{:<70}  ✗ {failure}", "");
        }
    }
}
