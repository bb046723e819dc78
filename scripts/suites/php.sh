# PHP suite: the C ABI (crate incwo-ffi), its cbindgen header (must match the
# committed one), a C test program under valgrind, then phpunit on the PHP
# package and the Symfony bundle (golden vectors, scenarios against incwo-sim,
# bundle in a kernel, memory), and the example app's one-command demo. The
# golden vectors also run through PHP's FFI under valgrind's memcheck. The
# example app also runs under PHP-FPM with PHP's default ffi.enable=preload
# (preload.php), reached through cgi-fcgi.
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
  php8.2-fpm php8.2-opcache libfcgi-bin
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

  step "php: the committed headers match the code"
  local header
  header=$(mktemp)
  (cd "$ROOT/bindings/c" && cbindgen --quiet --config cbindgen.toml --crate incwo-ffi --output "$header" .)
  if ! diff -u "$ROOT/bindings/c/include/incwo.h" "$header"; then
    echo "bindings/c/include/incwo.h drifted from the code: regenerate it with" >&2
    echo "  (cd bindings/c && cbindgen --config cbindgen.toml --crate incwo-ffi --output include/incwo.h .)" >&2
    rm -f "$header"
    return 1
  fi
  "$ROOT/bindings/c/preload-header.sh" "$ROOT/bindings/c/include/incwo.h" >"$header"
  if ! diff -u "$ROOT/bindings/c/include/incwo.preload.h" "$header"; then
    echo "bindings/c/include/incwo.preload.h drifted from incwo.h: regenerate it with" >&2
    echo "  bindings/c/preload-header.sh > bindings/c/include/incwo.preload.h" >&2
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

  step "php: example app under PHP-FPM, PHP's default ffi.enable, preloaded"
  php_fpm_app "$target"
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

# Runs the example Symfony app under Debian's PHP-FPM, as a production
# install would: PHP's default ffi.enable (preload), opcache on, the FPM
# master as root (-R), its own php.ini, pool config and unix socket, reached
# through cgi-fcgi (FastCGI, as nginx would).
# - without preload.php: POST /sync answers 500 with the UsageException
#   ffi.not_preloaded (no fatal error), and 401 to a wrong bearer token;
# - preloaded (opcache.preload=preload.php, opcache.preload_user, and, the
#   master being root, ffi.preload=incwo.preload.h with the library on
#   LD_LIBRARY_PATH): POST /sync syncs an order into incwo-sim (one order),
#   the same request again creates nothing; a pool without INCWO_SYNC_TOKEN
#   answers 503;
# - a master that is not root (nobody): preload.php loads the scope itself
#   (FFI::load with the library Core finds) and a Core works in a request.
# Usage: php_fpm_app path/to/target
php_fpm_app() (
  set -euo pipefail
  # as_user: empty, the master runs as root (-R); else that user.
  local target="$1" app="$ROOT/examples/symfony" work sim_pid="" fpm_pid="" server status as_user="" script
  local token="sync-token-$RANDOM$RANDOM"
  work=$(mktemp -d)
  chmod 755 "$work"
  trap 'php_fpm_stop; [ -z "$sim_pid" ] || kill "$sim_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

  # php_fpm_start NAME INI_LINES POOLS...: a master with its php.ini and one
  # pool per "name:socket:token" (empty token: INCWO_SYNC_TOKEN unset).
  php_fpm_start() {
    local name="$1" ini="$2" pool sock pool_token conf
    conf="$work/$name.conf"
    shift 2
    printf '%s\n' "$ini" >"$work/$name.ini"
    printf '[global]\npid = %s\nerror_log = %s\ndaemonize = no\n' "$work/$name.pid" "$work/$name.log" >"$conf"
    for pool in "$@"; do
      IFS=: read -r pool sock pool_token <<<"$pool"
      printf '[%s]\nlisten = %s\npm = static\npm.max_children = 2\ncatch_workers_output = yes\nclear_env = yes\n' "$pool" "$sock" >>"$conf"
      printf 'env[APP_ENV] = prod\nenv[INCWO_SERVER] = %s\nenv[INCWO_BUSINESS_FILE_ID] = 123456\n' "$server" >>"$conf"
      printf 'env[INCWO_LOGIN] = api@example.fr\nenv[INCWO_PASSWORD] = secret\n' >>"$conf"
      [ -z "$pool_token" ] || printf 'env[INCWO_SYNC_TOKEN] = %s\n' "$pool_token" >>"$conf"
    done
    if [ -z "$as_user" ]; then
      LD_LIBRARY_PATH="$target/debug" php-fpm8.2 -R -F -y "$conf" -c "$work/$name.ini" &
    else
      INCWO_FFI_LIBRARY="$target/debug/libincwo_ffi.so" setpriv --reuid="$(id -u "$as_user")" --regid="$(id -g "$as_user")" --clear-groups \
        php-fpm8.2 -F -y "$conf" -c "$work/$name.ini" &
    fi
    fpm_pid=$!
    for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
    if [ ! -S "$sock" ]; then
      cat "$work/$name.log" >&2 || true
      echo "php-fpm ($name) did not start" >&2
      return 1
    fi
  }
  php_fpm_stop() {
    [ -z "$fpm_pid" ] || { kill "$fpm_pid" 2>/dev/null || true; wait "$fpm_pid" 2>/dev/null || true; }
    fpm_pid=""
  }
  # php_fpm_request SOCKET METHOD URI [BODY_FILE] [AUTHORIZATION]: sets
  # $status, writes the body to $work/body.
  php_fpm_request() {
    local sock="$1" method="$2" uri="$3" body="${4:-/dev/null}" auth="${5:-}"
    env -i REQUEST_METHOD="$method" REQUEST_URI="$uri" SCRIPT_NAME=/index.php SCRIPT_FILENAME="$script" \
      DOCUMENT_ROOT="$app/public" SERVER_NAME=localhost SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 \
      CONTENT_TYPE=application/x-ndjson CONTENT_LENGTH="$(wc -c <"$body")" ${auth:+"HTTP_AUTHORIZATION=$auth"} \
      cgi-fcgi -bind -connect "$sock" <"$body" >"$work/response"
    status=$(sed -n '1,/^\r*$/s/^Status: \([0-9]*\).*/\1/p' "$work/response")
    status=${status:-200}
    sed '1,/^\r*$/d' "$work/response" >"$work/body"
  }
  # expect STATUS JQ_TEST: the last response had that status and its body passes the jq test.
  expect() {
    if [ "$status" != "$1" ] || ! jq -e "$2" "$work/body" >/dev/null 2>&1; then
      echo "expected HTTP $1 and $2; got HTTP $status:" >&2
      head -c 2000 "$work/body" >&2
      echo >&2
      return 1
    fi
  }

  echo "php-fpm: $(php-fpm8.2 -v | head -1)"
  : >"$work/base.ini"
  php-fpm8.2 -c "$work/base.ini" -i | grep -x 'ffi.enable => preload => preload' >/dev/null ||
    { echo "php-fpm's ffi.enable is not PHP's default (preload)" >&2; return 1; }

  "$target/debug/incwo-sim" --port 0 >"$work/sim.out" 2>/dev/null &
  sim_pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on ' "$work/sim.out" && break; sleep 0.05; done
  server=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/sim.out" | head -1)
  [ -n "$server" ] || { echo "incwo-sim did not start" >&2; return 1; }
  # An order, its customer and product (lines 1, 2 and 4 of the example batch, the order without its quote).
  sed -n '1,2p' "$ROOT/examples/data/batch.jsonl" >"$work/order.jsonl"
  sed -n '4p' "$ROOT/examples/data/batch.jsonl" | jq -c 'del(.record.sourceQuote)' >>"$work/order.jsonl"
  rm -rf "$app/var"
  script="$app/public/index.php"

  echo "not preloaded: the UsageException, no fatal error"
  php_fpm_start plain "opcache.enable=1" "app:$work/plain.sock:$token"
  php_fpm_request "$work/plain.sock" POST /sync/fpm-order "$work/order.jsonl" "Bearer wrong-$token"
  expect 401 '.error.code == "sync.unauthorized"'
  php_fpm_request "$work/plain.sock" POST /sync/fpm-order "$work/order.jsonl" "Bearer $token"
  expect 500 '.error.class == "usage" and .error.code == "ffi.not_preloaded" and (.error.hint | contains("opcache.preload="))'
  echo "  HTTP $status $(jq -c .error "$work/body")"
  php_fpm_stop
  if grep -q 'Fatal error' "$work/plain.log"; then cat "$work/plain.log" >&2; return 1; fi

  echo "preloaded: sync an order through POST /sync"
  php_fpm_start preloaded "opcache.enable=1
opcache.preload=$ROOT/bindings/php/preload.php
opcache.preload_user=root
ffi.preload=$ROOT/bindings/c/include/incwo.preload.h" "app:$work/app.sock:$token" "off:$work/off.sock:"
  php_fpm_request "$work/off.sock" POST /sync/fpm-order "$work/order.jsonl" "Bearer $token"
  expect 503 '.error.code == "sync.disabled"'
  php_fpm_request "$work/app.sock" POST /sync/fpm-order "$work/order.jsonl" "Bearer $token"
  expect 200 '.counts.total == 3 and .counts.synced == 3 and .requests > 0'
  echo "  HTTP $status $(jq -c '{counts, requests}' "$work/body")"
  local first again
  first=$(curl -fsS "$server/_sim/state")
  jq -e '.counts.proposal_sheets == 1 and .objects.proposal_sheets[0].sheet_type == "order"
    and .objects.proposal_sheets[0].title == "CMD-INC-2026-0411" and (.duplicates | length) == 0' <<<"$first" >/dev/null ||
    { echo "the simulator does not hold exactly one order: $(jq -c .counts <<<"$first")" >&2; return 1; }
  php_fpm_request "$work/app.sock" POST /sync/fpm-order "$work/order.jsonl" "Bearer $token"
  expect 200 '.counts.total == 3 and .counts.skipped == 3 and .requests == 0'
  echo "  again: HTTP $status $(jq -c '{counts, requests}' "$work/body")"
  again=$(curl -fsS "$server/_sim/state")
  [ "$(jq -c '[.counts, .counters.creates]' <<<"$again")" = "$(jq -c '[.counts, .counters.creates]' <<<"$first")" ] ||
    { echo "the second request created something: $(jq -c .counts <<<"$again")" >&2; return 1; }
  echo "incwo-sim holds $(jq -c .counts <<<"$again")"
  php_fpm_stop
  if grep -q 'Fatal error\|Warning' "$work/preloaded.log"; then cat "$work/preloaded.log" >&2; return 1; fi

  echo "master not root: preload.php loads the scope itself (FFI::load)"
  mkdir "$work/nobody"
  chown nobody "$work/nobody"
  sed "s#@ROOT@#$ROOT#g" >"$work/nobody/probe.php" <<'PHP'
<?php
require '@ROOT@/bindings/php/autoload.php';
$core = new Incwo\Connector\Core();
$order = (string) file_get_contents('@ROOT@/examples/data/order.json');
echo json_encode(['version' => $core->version(), 'scope' => Incwo\Connector\Core::preloadedScope() !== null, 'valid' => $core->validate('order', $order)['valid']]);
PHP
  as_user=nobody script="$work/nobody/probe.php"
  php_fpm_start nobody/fpm "opcache.enable=1
opcache.preload=$ROOT/bindings/php/preload.php" "probe:$work/nobody/fpm.sock:"
  php_fpm_request "$work/nobody/fpm.sock" GET /probe.php
  expect 200 ".scope == true and .valid == true and .version == \"$(sed -n 's/^#define INCWO_HEADER_VERSION "\(.*\)"$/\1/p' "$ROOT/bindings/c/include/incwo.h")\""
  echo "  HTTP $status $(cat "$work/body")"
  php_fpm_stop
)
