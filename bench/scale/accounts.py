"""Requests per record on accounts of growing size: the CLI (`incwo sync`)
against the simulator seeded in bulk, for three kinds of record (orders of
existing customers, new customers, creates whose answer was lost), accounts
of 1,000 / 10,000 / 100,000 firms, and both list orders. A first run builds
the marker index (the sweep, measured apart).

In unknown order every pass over a list reads it from page 1 (absence is
proven by the index plus one whole read per run; a reconciliation's own pass
stops once it finds the object): the list-page GETs of each run are counted
from the simulator's request log and reported apart from the per-record
requests, with the number of passes (reads of page 1). In ascending order a
lookup reads the newest page(s), a per-record cost that stays in."""

import os

from common import PRODUCT, Sim, customer, list_page, order_record, quarantined_codes, requests, sync

RECORDS = 200
LOST_RECORDS = 40


def measured(sim, incwo, state, order, lines, extra=()):
    """One run: its report summarised, with its list-page reads from the log
    (whole-list passes apart in unknown order)."""
    sim.reset_requests()
    report, seconds, _ = sync(incwo, sim, state, lines, extra)
    pages = [p for p in map(list_page, sim.request_log()) if p is not None]
    summary = report.get("summary") or {}
    total = requests(report)
    whole = len(pages) if order == "unknown" else 0
    return {"requestsPerRecord": round(total / len(lines), 3), "requests": report.get("requests"),
            "listPages": len(pages), "wholeListPages": whole, "passes": pages.count(1) if whole else 0,
            "requestsPerRecordWithoutPasses": round((total - whole) / len(lines), 3),
            "synced": summary.get("synced"), "quarantined": summary.get("quarantined"),
            "deferred": summary.get("deferred"), "problems": quarantined_codes(report), "seconds": round(seconds, 2)}


def run(incwo, sim_bin, size, order, workdir):
    """One account: the sweep, then each kind of record on it."""
    sim = Sim(sim_bin, {"firms": size, "prefix": "OLD"}, order)
    state = os.path.join(workdir, f"{order}-{size}.db")
    result = {"size": size, "order": order}
    try:
        sweep = measured(sim, incwo, state, order, [PRODUCT, customer(f"FIRST-{order}-{size}")])
        result["sweep"] = {"requests": sum((sweep["requests"] or {}).values()), "seconds": sweep["seconds"]}
        kinds = {
            "existingCustomersOrders": [order_record(f"CMD-{order}-{size}-{i}", f"OLD-F{i * (size // RECORDS) + 1}")
                                        for i in range(RECORDS)],
            "newCustomers": [customer(f"NEW-{order}-{size}-{i}") for i in range(RECORDS)],
        }
        for kind, lines in kinds.items():
            result[kind] = measured(sim, incwo, state, order, lines)
        # Half the creates' answers are lost (the connection closes after the
        # commit); fewer records, as each lost answer waits its backoff.
        sim.admin("POST", "/_sim/faults", {"method": "POST", "resource": "firms", "probability": 0.5, "seed": 7,
                                             "fault": {"kind": "drop_after_commit"}})
        lines = [customer(f"LOST-{order}-{size}-{i}") for i in range(LOST_RECORDS)]
        result["lostAnswers"] = measured(sim, incwo, state, order, lines, ["--timeout-ms", "2000"])
        result["duplicates"] = sim.duplicates()
    finally:
        sim.close()
    return result
