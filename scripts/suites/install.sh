# Install suite: what a user installs, checked the way they install it.
# - one version: the workspace version drives every package (npm, wheel, the
#   C/PHP headers' INCWO_HEADER_VERSION; a mismatch fails);
# - the published Rust crate: no other workspace crate is publishable, its
#   dependents name its version, `cargo package -p incwo-core` (the tarball
#   builds on its own), `cargo doc` with no warning, doc examples run;
# - the npm package: `npm pack` of the built package (wasm/pkg, built by the
#   js suite, which runs before this one; built here when absent), installed
#   into a fresh project offline, then the README's node example against
#   incwo-sim as an ES module and as CommonJS (require), the declarations under
#   `tsc --strict` (tests/install/npm), and the edge example's tests in
#   workerd with the installed package's files;
# - PHP: the composer package archive carrying libincwo_ffi, installed offline
#   into a fresh Symfony app, its bundle's commands run (install_php);
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
  if ! command -v jq >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null
  fi
  # Only incwo-core is published: every other crate says `publish = false`
  # (cargo metadata's `publish` is then []), and crates depending on
  # incwo-core name its version beside the path, as `cargo package` needs.
  local metadata publishable version stale
  metadata=$(cargo metadata --no-deps --format-version 1)
  publishable=$(jq -r '.packages[] | select(.name != "incwo-core" and .publish != []) | .name' <<<"$metadata")
  if [ -n "$publishable" ]; then
    echo "only incwo-core is published; set publish = false in: ${publishable//$'\n'/ }" >&2
    return 1
  fi
  version=$(jq -r '.packages[] | select(.name == "incwo-core") | .version' <<<"$metadata")
  stale=$(jq -r --arg req "^$version" '.packages[] | .name as $n | .dependencies[]
    | select(.name == "incwo-core" and .req != $req) | "\($n) (\(.req))"' <<<"$metadata")
  if [ -n "$stale" ]; then
    echo "incwo-core is $version but these crates require another version: ${stale//$'\n'/ }; set [workspace.dependencies] incwo-core's version to \"$version\"" >&2
    return 1
  fi
  echo "published: incwo-core $version only; its dependents require ^$version"
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
  )
  step "install: the edge example in workerd, on the installed package"
  (cd "$ROOT/examples/edge" && INCWO_WASM_PKG="$dir/app/node_modules/incwo-connector-wasm" \
    INCWO_SIM_BIN="$ROOT/target/debug/incwo-sim" node --test --test-concurrency=1 test/edge.test.mjs)
  rm -rf "$dir"
}
# Debian packages of install_php: PHP, composer (its artifact repository
# needs ext-zip), the Symfony and PSR packages the fresh app loads.
INSTALL_PHP_APT_PACKAGES=(
  php8.2-cli php8.2-mbstring php8.2-zip composer jq curl binutils
  php-psr-log php-symfony-framework-bundle php-symfony-console php-symfony-config
  php-symfony-dependency-injection php-symfony-http-client php-symfony-http-foundation
  php-symfony-http-kernel php-symfony-messenger php-symfony-yaml
)

# The PHP package as a user installs it: bindings/php/package.sh builds the
# composer archive (PHP sources, headers, the release libincwo_ffi for this
# platform); a fresh Symfony app (tests/install/symfony-app, copied to a temp
# dir) requires it from an artifact repository with Packagist disabled,
# Symfony and PSR `provide`d from Debian's packages (versions from dpkg), and
# `composer install` runs with the network disabled. Then, with no INCWO_FFI_*
# variable: Core finds the package's library, INCWO_FFI_LIBRARY still
# overrides it, the package's preload.php and preload header preload the
# scope (README's php.ini lines, as root), `bin/console`
# lists the bundle's incwo: commands, and `incwo:sync` syncs the example batch
# into incwo-sim (then again: every record skipped, no request).
install_php() (
  set -euo pipefail
  step "install: PHP, composer package archive into a fresh Symfony app (offline)"
  local missing=() p work app version sim_pid="" server out
  for p in "${INSTALL_PHP_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  local target="${CARGO_TARGET_DIR:-$ROOT/target}"
  # The scaleout suite's release build, same packages (same features): no
  # second release build when it ran before this suite.
  cargo build --quiet --release -p incwo-ffi -p incwo-sim

  work=$(mktemp -d)
  trap '[ -z "$sim_pid" ] || kill "$sim_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
  "$ROOT/bindings/php/package.sh" "$target/release/libincwo_ffi.so" "$work/artifacts" >"$work/archive"
  echo "archive: $(basename "$(cat "$work/archive")"), $(du -k "$(cat "$work/archive")" | cut -f1) KiB"
  version=$(install_workspace_version)

  # The fresh app: the artifact repository, and a `provide` for each Symfony
  # or PSR package incwo/connector requires, at the version Debian installed.
  app="$work/app"
  cp -R "$ROOT/tests/install/symfony-app" "$app"
  local provide='{}' name deb debver
  for name in $(jq -r '.require | keys[] | select(startswith("symfony/") or startswith("psr/"))' "$ROOT/bindings/php/composer.json"); do
    deb="php-${name/\//-}"
    debver=$(dpkg-query -W -f='${Version}' "$deb" 2>/dev/null) ||
      { echo "$name: Debian's $deb is not installed" >&2; return 1; }
    debver=${debver#*:}
    provide=$(jq -c --arg n "$name" --arg v "${debver%%[+~-]*}" '. + {($n): $v}' <<<"$provide")
  done
  jq --arg v "$version" --arg dir "$work/artifacts" --argjson provide "$provide" \
    '.require["incwo/connector"] = $v | .repositories = [{type: "artifact", url: $dir}, {"packagist.org": false}] | .provide = $provide' \
    "$app/composer.json" >"$work/composer.json"
  mv "$work/composer.json" "$app/composer.json"
  echo "provided by Debian: $(jq -c . <<<"$provide")"
  (cd "$app" && env -u INCWO_FFI_LIBRARY COMPOSER_HOME="$work/composer-home" COMPOSER_CACHE_DIR="$work/composer-cache" \
    COMPOSER_DISABLE_NETWORK=1 COMPOSER_ALLOW_SUPERUSER=1 composer install --no-interaction --no-progress --quiet)
  local installed="$app/vendor/incwo/connector"
  local library="$installed/lib/$(php -r 'require $argv[1]; echo Incwo\Connector\NativeLibrary::currentPlatform();' "$installed/src/NativeLibrary.php")/libincwo_ffi.so"
  [ -f "$library" ] || { echo "the installed package has no $library" >&2; return 1; }

  # No INCWO_FFI_* nor CARGO_TARGET_DIR from here: the package finds its own.
  local -a php=(env -u INCWO_FFI_LIBRARY -u INCWO_FFI_HEADER -u INCWO_FFI_PRELOAD_HEADER -u CARGO_TARGET_DIR php)
  out=$(cd "$app" && "${php[@]}" -d ffi.enable=1 -r 'require "vendor/autoload.php";
    echo json_encode(["library" => Incwo\Connector\Core::libraryPath(), "version" => (new Incwo\Connector\Core())->version()]);')
  jq -e --arg l "$library" --arg v "$version" '.library == $l and .version == $v' <<<"$out" >/dev/null ||
    { echo "Core did not load the package's library $library ($version): $out" >&2; return 1; }
  echo "Core: $out"
  out=$(cd "$app" && INCWO_FFI_LIBRARY=/opt/elsewhere/libincwo_ffi.so php -r 'require "vendor/autoload.php"; echo Incwo\Connector\Core::libraryPath();')
  [ "$out" = /opt/elsewhere/libincwo_ffi.so ] || { echo "INCWO_FFI_LIBRARY does not override the package's library: $out" >&2; return 1; }
  # The README's php.ini lines for a master running as root (PHP then
  # refuses FFI::load in preload.php): ffi.preload, the library on the loader's path.
  out=$(cd "$app" && LD_LIBRARY_PATH="$(dirname "$library")" "${php[@]}" -d ffi.enable=preload -d opcache.enable_cli=1 \
    -d opcache.preload="$installed/preload.php" -d opcache.preload_user=root -d ffi.preload="$installed/include/incwo.preload.h" -r 'require "vendor/autoload.php";
    echo json_encode(["scope" => Incwo\Connector\Core::preloadedScope() !== null, "version" => (new Incwo\Connector\Core())->version()]);')
  jq -e --arg v "$version" '.scope and .version == $v' <<<"$out" >/dev/null ||
    { echo "the package's preload.php did not preload the scope: $out" >&2; return 1; }
  echo "preload.php: $out"

  "$target/release/incwo-sim" --port 0 >"$work/sim.out" 2>/dev/null &
  sim_pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on ' "$work/sim.out" && break; sleep 0.05; done
  server=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/sim.out" | head -1)
  [ -n "$server" ] || { echo "incwo-sim did not start" >&2; return 1; }
  local -a console=(env INCWO_SERVER="$server" INCWO_BUSINESS_FILE_ID=123456 INCWO_LOGIN=api@example.fr INCWO_PASSWORD=secret
    "${php[@]}" -d ffi.enable=1 bin/console --no-ansi)
  (cd "$app" && "${console[@]}" list incwo --format=json) >"$work/list.json"
  jq -e '[.commands[].name] | index("incwo:sync") != null' "$work/list.json" >/dev/null ||
    { echo "bin/console lists no incwo:sync" >&2; head -c 2000 "$work/list.json" >&2; return 1; }
  echo "bin/console: $(jq -r '[.commands[].name | select(startswith("incwo:"))] | join(" ")' "$work/list.json")"

  local -a sync=("${console[@]}" incwo:sync "$ROOT/examples/data/batch.jsonl")
  out=$(cd "$app" && "${sync[@]}" 2>&1) || { echo "$out" >&2; return 1; }
  grep -Eq '^incwo sync: 5 records, 5 synced, 0 skipped, 0 quarantined, 0 deferred; [1-9][0-9]* requests$' <<<"$out" ||
    { echo "incwo:sync did not sync the batch: $out" >&2; return 1; }
  echo "$out" | grep '^incwo sync:'
  curl -fsS "$server/_sim/state" | jq -e '.counts.proposal_sheets == 2 and .counts.bill_sheets == 1 and (.duplicates | length) == 0' >/dev/null ||
    { echo "incwo-sim does not hold the batch: $(curl -fsS "$server/_sim/state" | jq -c .counts)" >&2; return 1; }
  out=$(cd "$app" && "${sync[@]}" 2>&1) || { echo "$out" >&2; return 1; }
  grep -Eq '^incwo sync: 5 records, 0 synced, 5 skipped, 0 quarantined, 0 deferred; 0 requests$' <<<"$out" ||
    { echo "incwo:sync again did not skip every record: $out" >&2; return 1; }
  echo "again: $(grep '^incwo sync:' <<<"$out")"
)

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
  install_php
  install_python
}
