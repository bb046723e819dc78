# Python suite: builds the incwo-connector wheel with maturin (uniffi
# bindings, the workspace's own uniffi-bindgen), installs it into a fresh
# venv and runs pytest on the installed package: every golden vector, every
# scenario end to end against incwo-sim, the connector, stores and CLI.
#
# Venvs live under target/python/ (git-ignored). INCWO_PY_PROFILE selects
# the cargo profile of the wheel (default dev: it reuses the workspace's
# debug build; release gives the shipped LTO build).
suite_python() {
  local dir="$ROOT/target/python"
  local build_venv="$dir/build-venv" test_venv="$dir/test-venv" wheels="$dir/wheels"
  local maturin_version="1.16.0" pytest_version="9.0.2"
  local profile="${INCWO_PY_PROFILE:-dev}"

  step "python: interpreter and venv support"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  fi
  python3 -c 'import sys; assert sys.version_info >= (3, 10), sys.version' || {
    echo "python: Python 3.10 or newer is needed" >&2
    return 1
  }
  mkdir -p "$dir"

  step "python: maturin $maturin_version (build venv)"
  if ! "$build_venv/bin/maturin" --version 2>/dev/null | grep -qx "maturin $maturin_version"; then
    rm -rf "$build_venv"
    python3 -m venv "$build_venv"
    "$build_venv/bin/pip" install --quiet --disable-pip-version-check "maturin==$maturin_version"
  fi

  step "python: incwo-sim"
  cargo build --quiet -p incwo-sim

  step "python: maturin build ($profile)"
  rm -rf "$wheels"
  (cd "$ROOT/bindings/python" && "$build_venv/bin/maturin" build --quiet --profile "$profile" --out "$wheels")
  local wheel
  wheel=$(ls "$wheels"/incwo_connector-*.whl)

  step "python: fresh venv with the wheel"
  rm -rf "$test_venv"
  python3 -m venv "$test_venv"
  "$test_venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" "pytest==$pytest_version"

  step "python: pytest on the installed package"
  # Run from outside the source tree so that only the installed package is importable.
  (cd "$dir" && CI=true INCWO_REPO_ROOT="$ROOT" INCWO_SIM_BIN="$ROOT/target/debug/incwo-sim" \
    "$test_venv/bin/python" -m pytest -p no:cacheprovider -q "$ROOT/bindings/python/tests")
}
