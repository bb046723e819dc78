"""Python host bench: the core through the wheel (one call per order, and
one batch call for 1,000 orders) against pydantic v2 + ElementTree and
plain json + decimal + ElementTree. Same input, same output bytes: every
implementation is checked against the core's XML on the bench orders and
the edge cases before anything is timed.

    python bench/python/bench.py ORDERS_DIR OUT.json

SPDX-License-Identifier: MIT OR Apache-2.0
"""

from __future__ import annotations

import glob
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import impl  # noqa: E402


def stats(xs):
    xs = sorted(xs)
    return {"medianUs": xs[len(xs) // 2] * 1e6, "minUs": xs[0] * 1e6, "maxUs": xs[-1] * 1e6}


def timeit(f, samples=15):
    """Seconds per call: `samples` samples of enough calls to last >= 20 ms."""
    f()
    t = time.perf_counter()
    f()
    one = max(time.perf_counter() - t, 1e-9)
    per = max(1, min(200_000, int(0.02 / one) + 1))
    xs = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(per):
            f()
        xs.append((time.perf_counter() - t) / per)
    return stats(xs)


def main():
    orders_dir, out_file = sys.argv[1], sys.argv[2]
    result = {"host": "python", "version": platform.python_version(), "rows": {}, "notes": []}
    impls = {}
    core = None
    try:
        import incwo_connector
        from incwo_connector import _native

        core = incwo_connector.Core()
        native = core.native() if callable(core.native) else core.native
        impls["core_wheel"] = lambda text: core.map_record("order", text)["xml"].encode()
        impls["core_wheel_text"] = lambda text: json.loads(native.map("order", text))["xml"].encode()
        impls["core_wheel_xml"] = lambda text: core.map_xml("order", text)
    except Exception as e:  # noqa: BLE001
        core = None
        result["notes"].append(f"core through the wheel: binding not built yet ({e})")
    try:
        import pydantic

        result["pydantic"] = pydantic.VERSION
        impls["pydantic"] = impl.pydantic_order
    except ImportError:
        result["notes"].append("pydantic is not installed")
    impls["plain"] = impl.plain_order

    files = sorted(glob.glob(os.path.join(orders_dir, "*.json")))
    for name, f in impls.items():
        for path in files:
            text = open(path, encoding="utf-8").read()
            expected = open(path[:-5] + ".xml", "rb").read()
            got = f(text)
            if got != expected:
                sys.exit(f"{name} differs from the core on {path}:\n  expected {expected!r}\n  got      {got!r}")
    print(f"python: {', '.join(impls)} give the core's bytes on {len(files)} inputs", file=sys.stderr)

    order10 = open(os.path.join(orders_dir, "order-10.json"), encoding="utf-8").read()
    order1000 = open(os.path.join(orders_dir, "order-1000.json"), encoding="utf-8").read()
    for name, f in impls.items():
        ten = timeit(lambda: f(order10))
        thousand = timeit(lambda: f(order1000), 7)
        result["rows"][name] = {
            "order10": ten,
            "order1000": thousand,
            "usPerLineAt1000": thousand["medianUs"] / 1000,
            "ordersPerSecond": 1e6 / ten["medianUs"],
        }
        print(
            f"python {name:<16} {ten['medianUs']:9.2f} µs per 10-line order, "
            f"{thousand['medianUs'] / 1000:7.3f} µs per line at 1,000",
            file=sys.stderr,
        )
    # Batch: 1,000 ten-line orders in one call, against 1,000 calls of each peer.
    batch = [order10] * 1000
    if core is not None:
        def core_batch():
            return core.map_many("order", batch)

        def core_batch_json():
            # The batch path before bytes in and out: the native JSON answer, decoded.
            out = json.loads(native.map_many("order", batch))
            return [r["xml"].encode() for r in out]

        for key, f, label in (("core_wheel_batch1000", core_batch, "map_many"),
                              ("core_wheel_batch1000_json", core_batch_json, "native map_many + json.loads")):
            got = f()
            assert len(got) == 1000 and got[999] == impl.plain_order(order10), key
            b = timeit(f, 7)
            result["rows"][key] = {"perOrder": {k: v / 1000 for k, v in b.items()},
                                   "ordersPerSecond": 1e9 / b["medianUs"]}
            print(f"python core batch of 1,000 ({label}): {b['medianUs'] / 1000:9.2f} µs per order", file=sys.stderr)
        result["trivialCall"] = {
            "native_version": timeit(lambda: _native.version()),
            "python_function": timeit(lambda: len("x")),
        }
    json.dump(result, open(out_file, "w"), indent=2)


if __name__ == "__main__":
    main()
