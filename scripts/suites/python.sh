# Python suite: builds the incwo-connector wheel with maturin (uniffi
# bindings, the workspace's own uniffi-bindgen), installs it into a fresh
# venv and runs pytest on the installed package: every golden vector, every
# scenario end to end against incwo-sim, the connector, stores and CLI.
#
# Venvs live under target/python/ (git-ignored). INCWO_PY_PROFILE selects
# the wheel under test: dev (the default at a desk) reuses the workspace's
# debug build; release tests the shipped wheel, the very build the install suite
# makes and checks (python_release_wheel: LTO, manylinux_2_17), so running
# both suites builds it once; it is the default when CI=true. The helpers below are shared with the install
# suite (scripts/suites/install.sh).

PYTHON_DIR="$ROOT/target/python"
PYTHON_BUILD_VENV="$PYTHON_DIR/build-venv"

# A Python 3.10+ interpreter with venv and ensurepip (Debian's packages when absent).
python_interpreter() {
  step "python: interpreter and venv support"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  fi
  python3 -c 'import sys; assert sys.version_info >= (3, 10), sys.version' || {
    echo "python: Python 3.10 or newer is needed" >&2
    return 1
  }
  mkdir -p "$PYTHON_DIR"
}

# The build venv with pinned tools: maturin builds the wheel and the sdist;
# ziglang is the linker of `maturin build --zig` (manylinux wheels);
# auditwheel checks the platform tag a wheel claims.
python_build_venv() {
  local pins=("maturin==1.16.0" "ziglang==0.15.2" "auditwheel==6.8.2")
  step "python: build venv (${pins[*]})"
  [ -x "$PYTHON_BUILD_VENV/bin/pip" ] || python3 -m venv "$PYTHON_BUILD_VENV"
  local frozen pin missing=()
  frozen=$("$PYTHON_BUILD_VENV/bin/pip" freeze --disable-pip-version-check 2>/dev/null)
  for pin in "${pins[@]}"; do
    grep -qix "$pin" <<<"$frozen" || missing+=("$pin")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    "$PYTHON_BUILD_VENV/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
  fi
}

# The manylinux baseline of the shipped wheel: glibc 2.17 (CentOS 7 and later).
PYTHON_MANYLINUX="manylinux_2_17"

# The shipped wheel into $1: release (LTO), linked by zig against glibc
# 2.17's symbols so that it is tagged ${PYTHON_MANYLINUX}_x86_64. maturin
# finds zig through the build venv's python (`python -m ziglang`).
python_release_wheel() {
  (cd "$ROOT/bindings/python" && PATH="$PYTHON_BUILD_VENV/bin:$PATH" \
    maturin build --quiet --release --zig --compatibility "$PYTHON_MANYLINUX" --out "$1")
}

# A fresh venv at $1 (removed first), made by the system's python3.
python_fresh_venv() {
  rm -rf "$1"
  python3 -m venv "$1"
}

suite_python() {
  local dir="$PYTHON_DIR" build_venv="$PYTHON_BUILD_VENV"
  local test_venv="$dir/test-venv" wheels="$dir/wheels"
  local pytest_version="9.0.2"
  # Under CI the suite tests the shipped wheel, which the install suite then
  # reuses (one release build per run); at a desk the quicker dev wheel.
  local default=dev
  [ "${CI:-}" = true ] && default=release
  local profile="${INCWO_PY_PROFILE:-$default}"

  python_interpreter
  python_build_venv

  step "python: incwo-sim"
  cargo build --quiet -p incwo-sim

  step "python: maturin build ($profile)"
  rm -rf "$wheels"
  if [ "$profile" = release ]; then
    python_release_wheel "$wheels"
  else
    (cd "$ROOT/bindings/python" && "$build_venv/bin/maturin" build --quiet --profile "$profile" --out "$wheels")
  fi
  local wheel
  wheel=$(ls "$wheels"/incwo_connector-*.whl)

  step "python: fresh venv with the wheel"
  python_fresh_venv "$test_venv"
  "$test_venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" "pytest==$pytest_version"

  step "python: pytest on the installed package"
  # Run from outside the source tree so that only the installed package is importable.
  (cd "$dir" && CI=true INCWO_REPO_ROOT="$ROOT" INCWO_SIM_BIN="$ROOT/target/debug/incwo-sim" \
    "$test_venv/bin/python" -m pytest -p no:cacheprovider -q "$ROOT/bindings/python/tests")
}
