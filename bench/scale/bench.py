"""The scale bench (issue #19): `incwo sync` (release) against `incwo-sim`.

- accounts.py: requests per record by account size (1,000 / 10,000 / 100,000
  firms), record kind and list order, the sweep and whole-list reads apart;
- lanes.py: records per second with K = 1, 4, 16, 64 requests in flight at
  25 ms of latency, per-customer order checked from the request log;
- replay.py: 10,000 orders with an empty ledger against a 50,000-firm
  account (duplicates, quarantines, requests per record, wall time);
- first_import.py: 10,000 new customers into an empty account in one run
  (requests per record, the CLI's CPU per record along the run).

usage: bench.py INCWO INCWO_SIM OUT.json [SIZES] [PARTS]
  SIZES: e.g. 1000,10000 (default 1000,10000,100000)
  PARTS: e.g. lanes,replay (default accounts,lanes,replay,firstImport)
It reports; it never fails on a number. Progress goes to stderr.
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import accounts  # noqa: E402
import first_import  # noqa: E402
import lanes  # noqa: E402
import replay  # noqa: E402

PARTS = ("accounts", "lanes", "replay", "firstImport")


def load():
    """The load averages (1, 5, 15 min): the machine may be shared."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    incwo, sim_bin, out = sys.argv[1:4]
    sizes = [int(s) for s in (sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else "1000,10000,100000").split(",")]
    parts = sys.argv[5].split(",") if len(sys.argv) > 5 else PARTS
    results = {"records": accounts.RECORDS, "lostRecords": accounts.LOST_RECORDS, "accounts": [], "seconds": {},
               "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "loadBefore": load()}

    def timed(name, f):
        started = time.perf_counter()
        r = f()
        results["seconds"][name] = round(time.perf_counter() - started, 1)
        print(f"{name} ({results['seconds'][name]} s): {json.dumps(r)}", file=sys.stderr, flush=True)
        return r

    with tempfile.TemporaryDirectory() as workdir:
        if "accounts" in parts:
            for order in ("ascending", "unknown"):
                for size in sizes:
                    results["accounts"].append(
                        timed(f"accounts {order} {size}", lambda: accounts.run(incwo, sim_bin, size, order, workdir)))
        if "lanes" in parts:
            results["lanes"] = timed("lanes", lambda: lanes.run(incwo, sim_bin, workdir))
        if "replay" in parts:
            results["replay"] = timed("replay", lambda: replay.run(incwo, sim_bin, workdir))
        if "firstImport" in parts:
            results["firstImport"] = timed("firstImport", lambda: first_import.run(incwo, sim_bin, workdir))
    results["loadAfter"] = load()
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
