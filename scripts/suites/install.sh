# Install suite: what a user installs, checked the way they install it.
# - one version: the workspace version drives every package (npm, wheel, the
#   C/PHP headers' INCWO_HEADER_VERSION; a mismatch fails);
# - the published Rust crate: `cargo package -p incwo-core` (the tarball
#   builds on its own), `cargo doc` with no warning, doc examples run;
# - the npm package: `npm pack` of the built package (wasm/pkg, built by the
#   js suite, which runs before this one; built here when absent), installed
#   into a fresh project offline, then the README's node example as ES module
#   against incwo-sim, a CommonJS require, the declarations under
#   `tsc --strict`, and a Worker on the web build in workerd (tests/install/npm).

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

suite_install() {
  install_check_versions
  install_check_crate
  install_npm
}
