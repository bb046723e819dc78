"""The PHP-FPM section of BENCHMARKS.md, from bench/php-fpm/bench.sh's JSON.

Used by bench/report.py; standalone, prints the section alone:
    python3 bench/php-fpm/fpm_report.py target/bench/fpm.json
SPDX-License-Identifier: MIT OR Apache-2.0
"""

from __future__ import annotations

import json
import sys

TITLE = "## PHP-FPM: making a `Core` in each request, preloaded scope vs `FFI::cdef`"


def _spread(s):
    return f"{s['medianUs']:,.1f} µs [{s['minUs']:,.1f}–{s['maxUs']:,.1f}]"


def section(data):
    """The section's lines (data: bench.sh's JSON, or None when not measured)."""
    lines = [TITLE, ""]
    if data is None:
        return lines + ["not measured (php8.2-fpm, cgi-fcgi or the library missing; see the notes below)", ""]
    pre, cdef = data["preloaded"], data["cdef"]
    lines += [
        "`BENCH_HOSTS=fpm ./scripts/bench` (runs `bench/php-fpm/bench.sh target/release/libincwo_ffi.so OUT.json`):",
        f"{data['php']}, Debian's `php8.2-fpm` with one worker and opcache on, the {data['library']} library, "
        f"{pre['requests']} requests through",
        "`cgi-fcgi` after 20 warm-up ones. `bench/php-fpm/core.php` times, inside each request, its first `new Core()`",
        "(what every request pays: `Core`'s cache of the FFI instance lives one request) and a second one (that cache).",
        f"Median [min–max]. Measured {data.get('date', '?')}, load average {data.get('loadBefore', '?')} before, "
        f"{data.get('loadAfter', '?')} after (the machine is shared).",
        "",
        "| path | first `Core` of a request | a second `Core` in the request |",
        "|---|---|---|",
        "| preloaded scope: `opcache.preload=preload.php`, `ffi.preload=incwo.preload.h`, PHP's default `ffi.enable` "
        f"| {_spread(pre['first'])} | {_spread(pre['again'])} |",
        "| `FFI::cdef`: `ffi.enable=1`, nothing preloaded (`incwo.h` parsed, the library loaded in each request) "
        f"| {_spread(cdef['first'])} | {_spread(cdef['again'])} |",
        "",
        f"Preloading saves {cdef['first']['medianUs'] - pre['first']['medianUs']:,.0f} µs per request: the first `Core` of a "
        f"request costs {cdef['first']['medianUs'] / pre['first']['medianUs']:.1f} × less.",
        "",
    ]
    return lines


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print("\n".join(section(json.load(f))))
