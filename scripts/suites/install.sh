# Install suite: what a user installs, checked the way they install it.
# - one version: the workspace version drives every package (npm, wheel, the
#   C/PHP headers' INCWO_HEADER_VERSION; a mismatch fails);
# - the published Rust crate: `cargo package -p incwo-core` (the tarball
#   builds on its own), `cargo doc` with no warning, doc examples run;
# - the npm package: `npm pack` of the built package (wasm/pkg, built by the
#   js suite, which runs before this one; built here when absent), installed
#   into a fresh project offline, then the README's node example as ES module
#   against incwo-sim, a CommonJS require, the declarations under
#   `tsc --strict`, and a Worker on the web build in workerd (tests/install/npm);
# - the Python package: a release wheel for manylinux_2_17 x86_64 (maturin
#   --zig) whose tag auditwheel confirms, an sdist that carries the workspace
#   crates it builds from, the wheel installed into a fresh venv by pip alone
#   (no cargo on PATH), then the README's example against incwo-sim
#   (tests/install/python). Reuses the python suite's venv helpers.

# The workspace version (Cargo.toml's [workspace.package]).
install_workspace_version() {
  awk '/^\[workspace.package\]/ { in_ws = 1; next } /^\[/ { in_ws = 0 }
    in_ws && /^version *=/ { gsub(/[^0-9A-Za-z.+-]/, "", $3); print $3; exit }' "$ROOT/Cargo.toml"
}

install_check_versions() {
  step "install: one version for every package"
  local want npm
  want=$(install_workspace_version)
  [ -n "$want" ] || { echo "no version in Cargo.toml's [workspace.package]" >&2; return 1; }
  npm=$(node -p 'require(process.argv[1]).version' "$ROOT/wasm/npm/package.json")
  if [ "$npm" != "$want" ]; then
    echo "wasm/npm/package.json says $npm, the workspace says $want: set it to $want" >&2
    return 1
  fi
  if ! grep -q '^dynamic = \["version"\]' "$ROOT/bindings/python/pyproject.toml"; then
    echo "bindings/python/pyproject.toml must take its version from Cargo (dynamic = [\"version\"])" >&2
    return 1
  fi
  local header
  for header in "$ROOT"/bindings/c/include/incwo.h "$ROOT"/bindings/c/include/incwo.preload.h; do
    if ! grep -q "^#define INCWO_HEADER_VERSION \"$want\"" "$header"; then
      echo "$header does not declare INCWO_HEADER_VERSION \"$want\": bump it in bindings/c/cbindgen.toml and regenerate the headers" >&2
      return 1
    fi
  done
  if ! grep -Eq "^## ($want|Unreleased)" "$ROOT/CHANGELOG.md"; then
    echo "CHANGELOG.md has no section for $want (or Unreleased)" >&2
    return 1
  fi
  echo "version $want: Cargo workspace, Python wheel (dynamic), npm package, C/PHP headers, CHANGELOG"
}

install_check_crate() {
  step "install: incwo-core, the published crate (cargo package, cargo doc, doc examples)"
  RUSTDOCFLAGS="-D warnings" cargo doc --quiet -p incwo-core --no-deps
  cargo test --quiet -p incwo-core --doc
  cargo package --quiet -p incwo-core --allow-dirty
}

install_npm() {
  step "install: npm package (npm pack, fresh project: ESM, CommonJS, tsc --strict, workerd)"
  js_tools
  [ -f "$ROOT/wasm/pkg/package.json" ] || js_build
  cargo build --quiet -p incwo-sim
  local dir version tarball
  version=$(install_workspace_version)
  dir=$(mktemp -d)
  (cd "$ROOT/wasm/pkg" && npm pack --silent --pack-destination "$dir" >/dev/null)
  tarball=$(ls "$dir"/incwo-connector-wasm-*.tgz)
  mkdir "$dir/app"
  printf '{"name": "incwo-install-smoke", "version": "0.0.0", "private": true, "license": "MIT OR Apache-2.0"}\n' \
    >"$dir/app/package.json"
  cp "$ROOT"/tests/install/npm/* "$dir/app/"
  (
    cd "$dir/app"
    npm install --silent --offline --no-audit --no-fund "$tarball"
    export INCWO_REPO_ROOT="$ROOT" INCWO_EXPECTED_VERSION="$version" INCWO_SIM_BIN="$ROOT/target/debug/incwo-sim"
    node esm.mjs
    node cjs.cjs
    "$ROOT/wasm/node_modules/.bin/tsc" -p tsconfig.json
    echo "tsc --strict: the installed declarations compile"
    node workerd.mjs
  )
  rm -rf "$dir"
}

# PATH without any folder holding cargo or rustc: what a pip-only user has.
install_path_without_rust() {
  local dir kept=()
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ] || kept+=("$dir")
  done
  (IFS=:; echo "${kept[*]}")
}

# The sdist must carry what it builds from: the workspace manifest and lock,
# the incwo-uniffi and incwo-core crates, the Python sources; cargo resolves
# its workspace offline.
install_python_sdist() {
  local sdist=$1 dir
  dir=$(mktemp -d)
  tar -xzf "$sdist" -C "$dir"
  local top
  top=$(ls -d "$dir"/incwo_connector-*)
  local need
  for need in pyproject.toml Cargo.toml Cargo.lock core/Cargo.toml core/src/lib.rs \
    bindings/python/Cargo.toml bindings/python/src/lib.rs \
    python/incwo_connector/__init__.py; do
    [ -f "$top/$need" ] || { echo "sdist $sdist lacks $need" >&2; rm -rf "$dir"; return 1; }
  done
  cargo metadata --offline --format-version 1 --manifest-path "$top/bindings/python/Cargo.toml" >/dev/null
  echo "sdist $(basename "$sdist"): workspace, incwo-core, incwo-uniffi and the Python sources; cargo resolves it offline"
  rm -rf "$dir"
}

install_python() {
  step "install: Python wheel ($PYTHON_MANYLINUX x86_64, release, maturin --zig), auditwheel, sdist"
  python_interpreter
  python_build_venv
  cargo build --quiet -p incwo-sim
  local dist="$PYTHON_DIR/dist" version started
  version=$(install_workspace_version)
  rm -rf "$dist"
  started=$(date +%s)
  python_release_wheel "$dist"
  echo "release wheel built in $(( $(date +%s) - started )) s"
  local wheel
  wheel=$(ls "$dist"/incwo_connector-"$version"-py3-none-*"$PYTHON_MANYLINUX"_x86_64*.whl) || {
    echo "no wheel tagged $PYTHON_MANYLINUX x86_64 for $version in $dist: $(ls "$dist")" >&2
    return 1
  }
  local report tag
  report=$("$PYTHON_BUILD_VENV/bin/auditwheel" show "$wheel" | tr -s '\n ' '  ')
  tag=$(sed -n 's/.*consistent with the following platform tag: "\([^"]*\)".*/\1/p' <<<"$report")
  if [ "$tag" != "${PYTHON_MANYLINUX}_x86_64" ]; then
    echo "auditwheel says $(basename "$wheel") is ${tag:-of no manylinux tag}, not ${PYTHON_MANYLINUX}_x86_64:" >&2
    echo "$report" >&2
    return 1
  fi
  echo "auditwheel: $(basename "$wheel") is $tag"

  (cd "$ROOT/bindings/python" && "$PYTHON_BUILD_VENV/bin/maturin" sdist --out "$dist" >/dev/null 2>&1)
  install_python_sdist "$(ls "$dist"/incwo_connector-"$version".tar.gz)"

  step "install: the wheel in a fresh venv by pip alone (no cargo), the README's example against incwo-sim"
  local nocargo venv="$PYTHON_DIR/install-venv" work
  nocargo=$(install_path_without_rust)
  if PATH="$nocargo" command -v cargo >/dev/null; then
    echo "cargo is still on the PATH meant to have none: $nocargo" >&2
    return 1
  fi
  work=$(mktemp -d)
  "$ROOT/target/debug/incwo-sim" --port 0 >"$work/sim.log" &
  local sim_pid=$! url="" _ rc=0
  for _ in $(seq 1 50); do
    url=$(head -n 1 "$work/sim.log" 2>/dev/null | sed -n 's/^listening on //p')
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    kill "$sim_pid" 2>/dev/null || true
    echo "the simulator did not start: $(cat "$work/sim.log")" >&2
    return 1
  fi
  # In the background and waited for, so that errexit holds inside and the
  # simulator is stopped whatever the outcome.
  (
    export PATH="$nocargo"
    cd "$work"
    python_fresh_venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: "$wheel"
    INCWO_REPO_ROOT="$ROOT" INCWO_EXPECTED_VERSION="$version" \
      "$venv/bin/python" "$ROOT/tests/install/python/check_example.py" "$url" "$work"
  ) &
  wait $! || rc=$?
  kill "$sim_pid" 2>/dev/null || true
  wait "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
  return "$rc"
}

suite_install() {
  install_check_versions
  install_check_crate
  install_npm
  install_python
}
