# JS suite: builds the npm package incwo-connector-wasm, full and lean
# module (wasm-bindgen for node and for the web/workerd, wasm-opt -Oz from
# the npm package binaryen, TypeScript declarations) into wasm/pkg, then runs
# the wasm-bindgen-test tests under node, the node --test suite (every golden
# vector; the record-path vectors, mapBytes and mapMany through the lean
# module too; every scenario file end to end over HTTP against incwo-sim,
# transport failures), the record-path vectors in workerd (lean and full web
# entry), the TLS fault matrix over HTTPS (node fetch and workerd's fetch), a
# TypeScript check of the declarations, and the miniflare (workerd) tests of
# examples/edge (Durable Objects, secure defaults, 1,350 records from
# concurrent requests, the quarantine's admin endpoints, the marker index
# shared by every partition's object). Last, the size
# budgets of both modules (js_size_budgets): reported; they fail the suite
# only with JS_ENFORCE_SIZE_BUDGETS=1 until the core's diet (issue #20) meets
# them (lean 551 KB / full 1,430 KB raw when they were set).

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

# Size budgets of the optimised modules (KB = 1000 bytes), raw and gzipped -9.
JS_LEAN_BUDGET_RAW=250000
JS_LEAN_BUDGET_GZIP=100000
JS_FULL_BUDGET_RAW=700000
JS_FULL_BUDGET_GZIP=250000

# Builds the npm package into wasm/pkg: the full module (node/, web/) and
# the lean one (lean-node/, lean-web/: validate, map, classify; the crate
# without its default feature `full`), both with the workspace profile
# wasm-release (opt-level "z", panic = "abort": wasm only, the C ABI and the
# wheel keep unwinding) and wasm-opt -Oz. Writes the sizes to
# wasm/pkg/sizes.json.
js_build() {
  local built="$ROOT/target/wasm32-unknown-unknown/wasm-release/incwo_wasm.wasm"
  local modules="$ROOT/target/wasm32-unknown-unknown/wasm-release/modules"
  local pkg="$ROOT/wasm/pkg"
  mkdir -p "$modules"
  step "js: cargo build --profile wasm-release --target wasm32-unknown-unknown (lean: --no-default-features)"
  cargo build --profile wasm-release --target wasm32-unknown-unknown -p incwo-wasm --no-default-features
  cp "$built" "$modules/incwo_lean.wasm"
  step "js: cargo build --profile wasm-release --target wasm32-unknown-unknown (full)"
  cargo build --profile wasm-release --target wasm32-unknown-unknown -p incwo-wasm
  cp "$built" "$modules/incwo_wasm.wasm"
  step "js: wasm-bindgen (nodejs and web targets), wasm-opt -Oz"
  rm -rf "$pkg"
  mkdir -p "$pkg"
  wasm-bindgen --target nodejs --out-dir "$pkg/node" "$modules/incwo_wasm.wasm"
  wasm-bindgen --target web --out-dir "$pkg/web" "$modules/incwo_wasm.wasm"
  wasm-bindgen --target nodejs --out-dir "$pkg/lean-node" "$modules/incwo_lean.wasm"
  wasm-bindgen --target web --out-dir "$pkg/lean-web" "$modules/incwo_lean.wasm"
  local opt="$ROOT/wasm/node_modules/.bin/wasm-opt"
  local features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-reference-types --enable-multivalue)
  # The nodejs and web targets get the same module: optimised once, copied.
  "$opt" -Oz "${features[@]}" --strip-debug --strip-producers \
    "$pkg/web/incwo_wasm_bg.wasm" -o "$pkg/web/incwo_wasm_bg.wasm"
  cp "$pkg/web/incwo_wasm_bg.wasm" "$pkg/node/incwo_wasm_bg.wasm"
  "$opt" -Oz "${features[@]}" --strip-debug --strip-producers \
    "$pkg/lean-web/incwo_lean_bg.wasm" -o "$pkg/lean-web/incwo_lean_bg.wasm"
  cp "$pkg/lean-web/incwo_lean_bg.wasm" "$pkg/lean-node/incwo_lean_bg.wasm"
  cp "$ROOT"/wasm/npm/*.js "$ROOT"/wasm/npm/*.d.ts "$ROOT/wasm/npm/package.json" "$pkg/"
  # The nodejs glue is CommonJS inside an ES-module package.
  cp "$ROOT/wasm/npm/node-package.json" "$pkg/node/package.json"
  cp "$ROOT/wasm/npm/node-package.json" "$pkg/lean-node/package.json"
  cp "$ROOT/LICENSE-MIT" "$ROOT/LICENSE-APACHE" "$pkg/"
  local full_raw full_gz lean_raw lean_gz
  full_raw=$(stat -c %s "$pkg/web/incwo_wasm_bg.wasm")
  full_gz=$(gzip -9c "$pkg/web/incwo_wasm_bg.wasm" | wc -c)
  lean_raw=$(stat -c %s "$pkg/lean-web/incwo_lean_bg.wasm")
  lean_gz=$(gzip -9c "$pkg/lean-web/incwo_lean_bg.wasm" | wc -c)
  printf '{"full": {"raw": %d, "gzip": %d}, "lean": {"raw": %d, "gzip": %d}}\n' \
    "$full_raw" "$full_gz" "$lean_raw" "$lean_gz" >"$pkg/sizes.json"
  node "$ROOT/wasm/tools/readme.mjs" "$ROOT/wasm/npm/README.md" "$pkg/README.md" "$pkg/sizes.json"
  echo "incwo_wasm_bg.wasm (full, optimised): $full_raw bytes raw, $full_gz bytes gzipped (-9)"
  echo "incwo_lean_bg.wasm (lean, optimised): $lean_raw bytes raw, $lean_gz bytes gzipped (-9)"
}

# Names each module of wasm/pkg over its budget (see the JS_*_BUDGET_*
# values above); fails then only with JS_ENFORCE_SIZE_BUDGETS=1.
js_size_budgets() {
  step "js: size budgets (lean <= 250 KB raw, 100 KB gzipped; full <= 700 KB raw, 250 KB gzipped)"
  local pkg="$ROOT/wasm/pkg" failed=0 name file raw gz max_raw max_gz
  for name in lean full; do
    if [ "$name" = lean ]; then
      file="$pkg/lean-web/incwo_lean_bg.wasm" max_raw=$JS_LEAN_BUDGET_RAW max_gz=$JS_LEAN_BUDGET_GZIP
    else
      file="$pkg/web/incwo_wasm_bg.wasm" max_raw=$JS_FULL_BUDGET_RAW max_gz=$JS_FULL_BUDGET_GZIP
    fi
    raw=$(stat -c %s "$file")
    gz=$(gzip -9c "$file" | wc -c)
    echo "$name: $raw bytes raw (budget $max_raw), $gz bytes gzipped (budget $max_gz)"
    if [ "$raw" -gt "$max_raw" ] || [ "$gz" -gt "$max_gz" ]; then
      if [ "${JS_ENFORCE_SIZE_BUDGETS:-}" = 1 ]; then
        echo "error: the $name .wasm is over its size budget" >&2
        failed=1
      else
        echo "warning: the $name .wasm is over its size budget (a target of issue #20, not enforced yet)" >&2
      fi
    fi
  done
  return "$failed"
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
  step "js: node --test (vectors on the full and the lean module, bytes and mapMany, scenarios, package API, transport failures)"
  (cd "$ROOT/wasm" && node --test --test-concurrency=1 test/vectors.test.mjs test/lean.test.mjs test/api.test.mjs test/transport.test.mjs test/scenarios.test.mjs)
  step "js: workerd (miniflare): the record vectors and bytes / mapMany through the lean and the full web entry"
  (cd "$ROOT/wasm" && node --test test/workerd.test.mjs)
  step "js: TLS fault matrix (incwo-sim over HTTPS; node fetch and workerd fetch via miniflare)"
  (cd "$ROOT/wasm" && node --test test/tls-matrix.test.mjs)
  step "js: node --test (a panic inside the core: typed error, trapped instance refused)"
  (cd "$ROOT/wasm" && node --test test/panic.test.mjs)
  step "js: edge example in workerd (miniflare): orders, webhooks, secure defaults, failed-authentication throttle (waits out its 60 s window), concurrent writers, /metrics, the quarantine behind the admin secret and the shared marker index"
  (cd "$ROOT/examples/edge" && node --test --test-concurrency=1 test/edge.test.mjs test/secure.test.mjs test/throttle.test.mjs test/concurrency.test.mjs test/metrics.test.mjs test/quarantine.test.mjs test/index.test.mjs)
  # Last, so every test above has run whatever the sizes.
  js_size_budgets
}
