//! Helpers shared by the CLI's integration tests: the `incwo` binary run
//! from the repository root, a fresh temporary folder, the account flags of
//! the simulator and a readable dump of a finished run.

// Each test file compiles its own copy and uses only some of the helpers.
#![allow(dead_code)]

use incwo_sim::SimHandle;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The `incwo` binary run from the repository root, with no extra environment.
pub fn incwo_bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_incwo"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    c
}

/// The `incwo` binary run from the repository root, with the test password
/// in `INCWO_TEST_PASSWORD` (the variable [`account`] names).
pub fn incwo() -> Command {
    let mut c = incwo_bare();
    c.env("INCWO_TEST_PASSWORD", "secret");
    c
}

/// A fresh, empty folder `incwo-{prefix}-{name}-{pid}` under the system temp dir.
pub fn temp_dir(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("incwo-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The account flags for `server`: business file, login, the password read
/// from `INCWO_TEST_PASSWORD`, and the request timeout.
pub fn account_flags(server: &str, business_file: &str, timeout_ms: &str) -> Vec<String> {
    [
        "--server",
        server,
        "--business-file",
        business_file,
        "--login",
        "api@example.fr",
        "--password-env",
        "INCWO_TEST_PASSWORD",
        "--timeout-ms",
        timeout_ms,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The account flags of the simulator's default account (5 s timeout).
pub fn account(sim: &SimHandle) -> Vec<String> {
    account_flags(&sim.base_url(), "123456", "5000")
}

/// A finished run's exit code, stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The address a spawned `incwo sim` (stdout piped) prints on its first line.
pub fn listening_url(child: &mut std::process::Child) -> String {
    use std::io::{BufRead, BufReader};
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the simulator's stdout is piped"))
        .read_line(&mut line)
        .expect("read the simulator's first line");
    line.trim()
        .strip_prefix("listening on ")
        .expect("first line names the address")
        .to_string()
}
