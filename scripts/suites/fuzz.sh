# Fuzz suite: a short smoke run of every cargo-fuzz target (7 × 11 s, ≤ 90 s
# in all), seeded from the golden vectors and the real incwo fixtures. A long run:
#   cd fuzz && cargo +nightly fuzz run <target> -- -max_total_time=600
suite_fuzz() {
  if ! rustup toolchain list | grep -q '^nightly'; then
    step "fuzz: install the nightly toolchain"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -q '0.12.0'; then
    step "fuzz: cargo install cargo-fuzz 0.12.0"
    cargo install cargo-fuzz --version 0.12.0
  fi
  if ! command -v jq >/dev/null; then
    step "fuzz: jq (fuzz/seed.sh reads the golden vectors with it)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null
  fi
  local corpus
  corpus=$(mktemp -d)
  "$ROOT/fuzz/seed.sh" "$corpus"
  step "fuzz: build the targets"
  (cd "$ROOT/fuzz" && cargo +nightly fuzz build -O)
  for target in validate_map fastpath_differential parse_xml classify checkpoint_resume checkpoint_import inbound_detect c_abi; do
    step "fuzz: $target for 11 s"
    (cd "$ROOT/fuzz" && cargo +nightly fuzz run -O "$target" "$corpus/$target" -- \
      -max_total_time=11 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | grep -E "^(stat::|Done|INFO: seed|==[0-9]+==|SUMMARY|thread|panicked|Error|error)" | tail -n 20; exit "${PIPESTATUS[0]}")
  done
  rm -rf "$corpus"
}
