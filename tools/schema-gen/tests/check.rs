//! `incwo-schema-gen --check` as CI runs it: passes on a current tree, and
//! fails naming the stale file and the command that fixes it.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_incwo-schema-gen"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("incwo-schema-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_fails_on_a_stale_file_and_says_how_to_fix_it() {
    let root = scratch("stale");
    let wrote = bin().arg("--root").arg(&root).output().unwrap();
    assert!(wrote.status.success(), "{wrote:?}");
    let ok = bin().args(["--check", "--root"]).arg(&root).output().unwrap();
    assert!(ok.status.success(), "{ok:?}");

    // A hand edit (or a core change without regenerating) makes it stale.
    let ts = root.join(incwo_schema_gen::TS_PATH);
    let text = std::fs::read_to_string(&ts).unwrap();
    std::fs::write(
        &ts,
        text.replace(
            "export interface Summary {",
            "export interface Summary {\n  added: number;",
        ),
    )
    .unwrap();
    let stale = bin().args(["--check", "--root"]).arg(&root).output().unwrap();
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert_eq!(stale.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("wasm/npm/flow-messages.d.ts is out of date"),
        "{stderr}"
    );
    assert!(stderr.contains("run `cargo run -p incwo-schema-gen`"), "{stderr}");
    assert!(
        !stderr.contains("messages.py"),
        "only the stale file is named: {stderr}"
    );

    // A missing file is stale too.
    std::fs::remove_file(root.join(incwo_schema_gen::PHP_PATH)).unwrap();
    let missing = bin().args(["--check", "--root"]).arg(&root).output().unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("FlowMessages.php is out of date"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_bad_argument_is_a_usage_error() {
    let out = bin().arg("--chek").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument --chek"));
}
