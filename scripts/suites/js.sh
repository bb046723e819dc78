# JS suite: builds the npm package incwo-connector-wasm (wasm-bindgen for
# node and for the web/workerd, wasm-opt -Oz from the npm package binaryen,
# TypeScript declarations) into wasm/pkg, then runs the wasm-bindgen-test
# tests under node, the node --test suite (every golden vector, every
# scenario file end to end over HTTP against incwo-sim, transport failures),
# the TLS fault matrix over HTTPS (node fetch and workerd's fetch), a
# TypeScript check of the declarations, and the miniflare (workerd) tests of
# examples/edge (Durable Objects, secure defaults, 1,350 records from
# concurrent requests, the quarantine's admin endpoints).

# The wasm-bindgen version the lockfile pins (the CLI must match it exactly).
js_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock"
}

js_tools() {
  step "js: toolchain (wasm32 target, wasm-bindgen-cli, node packages)"
  command -v node >/dev/null 2>&1 || { echo "node (>= 20) is required" >&2; return 1; }
  command -v npm >/dev/null 2>&1 || { echo "npm is required" >&2; return 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  local want
  want=$(js_wasm_bindgen_version)
  [ -n "$want" ] || { echo "wasm-bindgen is not in Cargo.lock" >&2; return 1; }
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    cargo install wasm-bindgen-cli --version "$want"
  fi
  # node_modules is reinstalled only when the lockfile changed.
  local stamp="$ROOT/wasm/node_modules/.incwo-lock.sha256" sum
  sum=$(sha256sum "$ROOT/wasm/package-lock.json" | awk '{print $1}')
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    (cd "$ROOT/wasm" && npm ci --no-audit --no-fund)
    echo "$sum" >"$stamp"
  fi
}

js_build() {
  step "js: cargo build --release --target wasm32-unknown-unknown (opt-level z)"
  # Size-tuned: opt-level "z" for this wasm build only (the host builds keep
  # the workspace release profile; the wasm32 artifacts live apart).
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build --release --target wasm32-unknown-unknown -p incwo-wasm
  local wasm="$ROOT/target/wasm32-unknown-unknown/release/incwo_wasm.wasm"
  local pkg="$ROOT/wasm/pkg"
  step "js: wasm-bindgen (nodejs and web targets), wasm-opt -Oz"
  rm -rf "$pkg"
  mkdir -p "$pkg"
  wasm-bindgen --target nodejs --out-dir "$pkg/node" "$wasm"
  wasm-bindgen --target web --out-dir "$pkg/web" "$wasm"
  local opt="$ROOT/wasm/node_modules/.bin/wasm-opt"
  local features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-reference-types --enable-multivalue)
  "$opt" -Oz "${features[@]}" --strip-debug --strip-producers \
    "$pkg/web/incwo_wasm_bg.wasm" -o "$pkg/web/incwo_wasm_bg.wasm"
  "$opt" -Oz "${features[@]}" --strip-debug --strip-producers \
    "$pkg/node/incwo_wasm_bg.wasm" -o "$pkg/node/incwo_wasm_bg.wasm"
  cp "$ROOT"/wasm/npm/*.js "$ROOT"/wasm/npm/*.d.ts "$ROOT/wasm/npm/package.json" "$pkg/"
  # The nodejs glue is CommonJS inside an ES-module package.
  cp "$ROOT/wasm/npm/node-package.json" "$pkg/node/package.json"
  cp "$ROOT/LICENSE-MIT" "$ROOT/LICENSE-APACHE" "$pkg/"
  local raw gz
  raw=$(stat -c %s "$pkg/web/incwo_wasm_bg.wasm")
  gz=$(gzip -9c "$pkg/web/incwo_wasm_bg.wasm" | wc -c)
  node "$ROOT/wasm/tools/readme.mjs" "$ROOT/wasm/npm/README.md" "$pkg/README.md" "$raw" "$gz"
  echo "incwo_wasm_bg.wasm (web, optimised): $raw bytes raw, $gz bytes gzipped (-9)"
  # Budget: 400 KB. A size is a target, not a test (like the benchmarks):
  # it is reported here, in the package README and in BENCHMARKS.md, and
  # missed today (the core's serde code); the suite does not fail on it.
  if [ "$raw" -ge $((400 * 1024)) ] || [ "$gz" -ge $((400 * 1024)) ]; then
    echo "warning: the optimised .wasm ($raw bytes raw, $gz gzipped) is over the 400 KB budget" >&2
  fi
}

js_sim() {
  step "js: build incwo-sim"
  cargo build -p incwo-sim
  export INCWO_SIM_BIN="$ROOT/target/debug/incwo-sim"
}

suite_js() {
  export CI=true
  js_tools
  js_build
  step "js: wasm-bindgen-test (node)"
  # Not --quiet: it breaks wasm-bindgen-test-runner.
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target wasm32-unknown-unknown -p incwo-wasm
  js_sim
  step "js: TypeScript declarations (tsc --noEmit)"
  (cd "$ROOT/wasm" && node_modules/.bin/tsc -p test/tsconfig.json)
  step "js: node --test (vectors, scenarios, package API, transport failures)"
  (cd "$ROOT/wasm" && node --test --test-concurrency=1 test/vectors.test.mjs test/api.test.mjs test/transport.test.mjs test/scenarios.test.mjs)
  step "js: TLS fault matrix (incwo-sim over HTTPS; node fetch and workerd fetch via miniflare)"
  (cd "$ROOT/wasm" && node --test test/tls-matrix.test.mjs)
  step "js: node --test (a panic inside the core: typed error, trapped instance refused)"
  (cd "$ROOT/wasm" && node --test test/panic.test.mjs)
  step "js: edge example in workerd (miniflare): orders, webhooks, secure defaults, failed-authentication throttle (waits out its 60 s window), concurrent writers, /metrics and the quarantine behind the admin secret"
  (cd "$ROOT/examples/edge" && node --test --test-concurrency=1 test/edge.test.mjs test/secure.test.mjs test/throttle.test.mjs test/concurrency.test.mjs test/metrics.test.mjs test/quarantine.test.mjs)
}
