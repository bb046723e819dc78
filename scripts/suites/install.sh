# Install suite: what a user installs, checked the way they install it.
# - one version: the workspace version drives every package (a mismatch fails);
# - the published Rust crate: `cargo package -p incwo-core` (the tarball
#   builds on its own), `cargo doc` with no warning, doc examples run.

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
  if ! grep -Eq "^## ($want|Unreleased)" "$ROOT/CHANGELOG.md"; then
    echo "CHANGELOG.md has no section for $want (or Unreleased)" >&2
    return 1
  fi
  echo "version $want: Cargo workspace, Python wheel (dynamic), npm package, CHANGELOG"
}

install_check_crate() {
  step "install: incwo-core, the published crate (cargo package, cargo doc, doc examples)"
  RUSTDOCFLAGS="-D warnings" cargo doc --quiet -p incwo-core --no-deps
  cargo test --quiet -p incwo-core --doc
  cargo package --quiet -p incwo-core --allow-dirty
}

suite_install() {
  install_check_versions
  install_check_crate
}
