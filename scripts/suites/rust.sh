# Rust suite: formatting, lints, and every Rust test (core, CLI, simulator).
suite_rust() {
  if command -v rustup >/dev/null 2>&1; then
    step "rust: toolchain components"
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
  fi
  step "rust: cargo fmt --check"
  cargo fmt --all -- --check
  step "rust: cargo clippy --all-targets -D warnings"
  cargo clippy --workspace --all-targets --quiet -- -D warnings
  step "rust: generated flow message types are current (fix: cargo run -p incwo-schema-gen)"
  cargo run --quiet -p incwo-schema-gen -- --check
  step "rust: cargo test"
  cargo test --workspace
}
