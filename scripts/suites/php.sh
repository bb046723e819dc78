# PHP suite: the C ABI (crate incwo-ffi), its cbindgen header (must match the
# committed one), a C test program under valgrind, then phpunit on the PHP
# package and the Symfony bundle (golden vectors, scenarios against incwo-sim,
# bundle in a kernel, memory), and the example app's one-command demo. The
# golden vectors also run through PHP's FFI under valgrind's memcheck.
# mariadb-server and php8.2-mysql serve the two-writer test of the PDO store
# on MariaDB: the test starts its own server (temporary data directory, Unix
# socket, no TCP port; `--user=root` when run as root, as in CI containers).
PHP_CBINDGEN_VERSION=0.29.4
PHP_APT_PACKAGES=(
  php8.2-cli php8.2-curl php8.2-sqlite3 php8.2-mysql php8.2-xml php8.2-mbstring phpunit composer valgrind curl
  mariadb-server
  php-psr-log php-symfony-http-client php-symfony-console php-symfony-http-kernel
  php-symfony-dependency-injection php-symfony-config php-symfony-framework-bundle
  php-symfony-messenger php-symfony-yaml php-symfony-routing
)

suite_php() {
  export CI=true
  local target="${CARGO_TARGET_DIR:-$ROOT/target}"

  step "php: system packages (Debian)"
  local missing=()
  for p in "${PHP_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  step "php: cbindgen ${PHP_CBINDGEN_VERSION}"
  if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen ${PHP_CBINDGEN_VERSION}" ]; then
    cargo install cbindgen --version "${PHP_CBINDGEN_VERSION}" --locked
  fi

  step "php: build incwo-ffi and incwo-sim"
  cargo build -p incwo-ffi -p incwo-sim

  step "php: the committed header matches the code"
  local header
  header=$(mktemp)
  (cd "$ROOT/bindings/c" && cbindgen --quiet --config cbindgen.toml --crate incwo-ffi --output "$header" .)
  if ! diff -u "$ROOT/bindings/c/include/incwo.h" "$header"; then
    echo "bindings/c/include/incwo.h drifted from the code: regenerate it with" >&2
    echo "  (cd bindings/c && cbindgen --config cbindgen.toml --crate incwo-ffi --output include/incwo.h .)" >&2
    rm -f "$header"
    return 1
  fi
  rm -f "$header"

  step "php: C test program against the static library, under valgrind"
  local ctest="$target/debug/incwo-ffi-ctest"
  cc -std=c11 -Wall -Wextra -Werror -I"$ROOT/bindings/c/include" "$ROOT/bindings/c/tests/test_incwo.c" \
    "$target/debug/libincwo_ffi.a" -lpthread -ldl -lm -o "$ctest"
  valgrind -q --leak-check=full --error-exitcode=1 "$ctest" "$ROOT"

  step "php: every golden vector through PHP's FFI, under valgrind"
  php_vectors_memcheck "$target/debug/libincwo_ffi.so"

  step "php: composer.json"
  (cd "$ROOT/bindings/php" && COMPOSER_ALLOW_SUPERUSER=1 composer validate --no-check-publish --no-check-lock --no-interaction)
  (cd "$ROOT/examples/symfony" && COMPOSER_ALLOW_SUPERUSER=1 composer validate --no-check-publish --no-check-lock --no-interaction)

  step "php: phpunit"
  (cd "$ROOT/bindings/php" && CARGO_TARGET_DIR="$target" INCWO_FFI_LIBRARY="$target/debug/libincwo_ffi.so" \
    INCWO_SIM_BIN="$target/debug/incwo-sim" php -d ffi.enable=1 /usr/bin/phpunit --colors=never)

  step "php: example app, nominal flow against the simulator"
  CARGO_TARGET_DIR="$target" INCWO_DEMO_NO_BUILD=1 "$ROOT/examples/symfony/bin/demo"
}

# Runs every golden vector (and one flow through every flow export) through
# PHP's FFI under valgrind's memcheck; fails on any invalid access or leak.
# Usage: php_vectors_memcheck path/to/libincwo_ffi.so
# - USE_ZEND_ALLOC=0: PHP allocates with malloc, so memcheck sees its blocks;
# - the library is preloaded (LD_PRELOAD) so that PHP's FFI cannot dlclose it
#   at shutdown: unmapping it would make the blocks its statics still hold
#   (the shipped profile, the handle registries) look lost, and its frames
#   unreadable;
# - pcre.jit=0: PCRE's JIT code makes memcheck report uninitialised reads;
# - ZEND_DONT_UNLOAD_MODULES=1: PHP's extensions stay mapped for readable stacks.
# Nothing is suppressed: PHP 8.2's CLI does not leak on this script.
php_vectors_memcheck() {
  local library="$1" started log
  started=$(date +%s)
  log=$(mktemp)
  if ! LD_PRELOAD="$library" USE_ZEND_ALLOC=0 ZEND_DONT_UNLOAD_MODULES=1 INCWO_FFI_LIBRARY="$library" \
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible --num-callers=40 \
    php -n -d extension=ffi -d ffi.enable=1 -d pcre.jit=0 "$ROOT/bindings/php/tests/vectors-memcheck.php" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "valgrind found memory errors or leaks through the C ABI (or a vector failed)" >&2
    return 1
  fi
  cat "$log"
  rm -f "$log"
  echo "valgrind: clean, in $(( $(date +%s) - started )) s"
}
