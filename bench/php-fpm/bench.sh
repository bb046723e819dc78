#!/usr/bin/env bash
# Per-request cost of making a Core under PHP-FPM (Debian's php8.2-fpm, one
# worker, opcache on, PHP's default ffi.enable for the preloaded run): the
# first `new Core()` of each request, timed inside the request by core.php,
# over REQUESTS requests through cgi-fcgi (after 20 warm-up requests), for
#   preloaded  opcache.preload=bindings/php/preload.php + ffi.preload=incwo.preload.h
#              (FFI::scope: nothing parsed or loaded in the request)
#   cdef       ffi.enable=1, nothing preloaded (FFI::cdef parses incwo.h and
#              loads the library in every request: the static cache lives one request)
# Writes OUT.json for bench/report.py. Run by ./scripts/bench (host `fpm`):
#   BENCH_HOSTS=fpm ./scripts/bench, or bench/php-fpm/bench.sh LIBRARY OUT.json [REQUESTS]
# SPDX-License-Identifier: MIT OR Apache-2.0
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
library="$1" out="$2" requests="${3:-500}"
work=$(mktemp -d)
fpm_pid=""
trap '[ -z "$fpm_pid" ] || kill "$fpm_pid" 2>/dev/null; rm -rf "$work"' EXIT

run() { # NAME INI: starts a master with that php.ini, times REQUESTS requests, stops it
  local name="$1" ini="$2" sock="$work/$1.sock" i
  printf '%s\n' "$ini" >"$work/$name.ini"
  printf '[global]\nerror_log = %s\ndaemonize = no\n[bench]\nlisten = %s\npm = static\npm.max_children = 1\n' \
    "$work/$name.log" "$sock" >"$work/$name.conf"
  LD_LIBRARY_PATH="$(dirname "$library")" INCWO_FFI_LIBRARY="$library" php-fpm8.2 -R -F -y "$work/$name.conf" -c "$work/$name.ini" &
  fpm_pid=$!
  for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
  for i in $(seq 1 $((requests + 20))); do
    env -i REQUEST_METHOD=GET SCRIPT_FILENAME="$here/core.php" SCRIPT_NAME=/core.php REQUEST_URI=/core.php \
      INCWO_FFI_LIBRARY="$library" cgi-fcgi -bind -connect "$sock" | sed '1,/^\r*$/d' >"$work/body"
    [ "$i" -le 20 ] || { cat "$work/body"; echo; }
  done >"$work/$name.jsonl"
  kill "$fpm_pid"
  wait "$fpm_pid" 2>/dev/null || true
  fpm_pid=""
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run preloaded "opcache.enable=1
opcache.preload=$root/bindings/php/preload.php
opcache.preload_user=root
ffi.preload=$root/bindings/c/include/incwo.preload.h"
run cdef "opcache.enable=1
ffi.enable=1"

php -r '
  [$_, $work, $out, $php, $library, $loadBefore, $loadAfter] = $argv;
  $stats = static function (array $xs): array { sort($xs); $n = count($xs);
      return ["medianUs" => $xs[intdiv($n, 2)], "minUs" => $xs[0], "maxUs" => $xs[$n - 1]]; };
  $result = ["php" => $php, "library" => $library, "date" => gmdate("Y-m-d\\TH:i\\Z"), "loadBefore" => $loadBefore, "loadAfter" => $loadAfter];
  foreach (["preloaded" => true, "cdef" => false] as $name => $scope) {
      $rows = array_map(static fn ($l) => json_decode($l, true, 512, JSON_THROW_ON_ERROR), file("$work/$name.jsonl", FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES));
      foreach ($rows as $r) { if ($r["scope"] !== $scope) { fwrite(STDERR, "$name: a request ran without the expected path\n"); exit(1); } }
      $result[$name] = ["requests" => count($rows), "first" => $stats(array_column($rows, "firstUs")), "again" => $stats(array_column($rows, "againUs"))];
      printf("%-9s first Core of a request: median %.1f µs [%.1f–%.1f], a second one: %.1f µs (%d requests)\n", $name,
          $result[$name]["first"]["medianUs"], $result[$name]["first"]["minUs"], $result[$name]["first"]["maxUs"], $result[$name]["again"]["medianUs"], count($rows));
  }
  file_put_contents($out, json_encode($result, JSON_PRETTY_PRINT) . "\n");
' "$work" "$out" "$(php-fpm8.2 -v | head -1 | cut -d' ' -f1-2)" "$(basename "$(dirname "$library")")" \
  "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
