//! `incwo-schema-gen [--check] [--root DIR]`: writes the bindings' flow
//! message types from the core's types; with `--check`, writes nothing and
//! fails (exit 1) naming each committed file that is out of date.

use incwo_schema_gen::{current, stale, write, COMMAND};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage("--root needs a directory"),
            },
            other => return usage(&format!("unknown argument {other}")),
        }
    }
    let outputs = match current() {
        Ok(outputs) => outputs,
        Err(e) => {
            eprintln!("schema-gen: the flow message schema cannot be rendered: {e}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        let stale = stale(&root, &outputs);
        if stale.is_empty() {
            println!("schema-gen: {} generated files are current", outputs.len());
            return ExitCode::SUCCESS;
        }
        for path in &stale {
            eprintln!("schema-gen: {path} is out of date with the core's flow message types");
        }
        eprintln!("schema-gen: run `{COMMAND}` and commit the result");
        return ExitCode::FAILURE;
    }
    match write(&root, &outputs) {
        Ok(changed) if changed.is_empty() => println!("schema-gen: every generated file was current"),
        Ok(changed) => changed.iter().for_each(|p| println!("schema-gen: wrote {p}")),
        Err(e) => {
            eprintln!("schema-gen: cannot write under {}: {e}", root.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("schema-gen: {problem}\nusage: incwo-schema-gen [--check] [--root DIR]");
    ExitCode::from(2)
}
