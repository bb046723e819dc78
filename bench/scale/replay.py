"""A historical replay: 10,000 orders synced with an empty ledger (a fresh
state store, `--lookup-before-create`) into an account seeded with 50,000
firms, 10,000 products and 20,000 proposal sheets, a quarter of the orders
already in incwo as seeded sales orders (as a re-import of a history meets
them). Each order names a seeded firm, found by its marker (the flow links a
line to its product only when the ledger knows the SKU, so with an empty
ledger the lines stay free lines and no product is looked up). The orders
already there carry the marker the flow looks for (`title` = order number)
and the totals the record maps to, so they are adopted, not created again.
The connector wrote them before, so they carry an order status (confirmed,
every 5th delivered since), not the simulator's default for a proposal sheet
created without one (a quote's draft, which the read-back would report as a
gap). Checked against the simulator's state: 0 duplicates, every new order
created once, 0 records quarantined."""

import os

from common import Sim, list_pages, quarantined_codes, requests, summary, sync

FIRMS = 50_000
PRODUCTS = 10_000
SHEETS = 20_000  # odd n a quote SEED-Q{n}, even n a sales order SEED-O{n}
ORDERS = 10_000
EXISTING_EVERY = 4  # every 4th order of the batch is already in incwo
STATUSES = {"confirmed": 600001, "delivered": 600003}  # the default profile's


def seeded_order(n):
    """The record of seeded proposal sheet n (even): its firm, product and
    line as the simulator seeded them (1 × 10.00 at 20 %)."""
    return {"kind": "order", "record": {
        "orderNumber": f"SEED-O{n}", "customerExternalId": f"SEED-F{(n - 1) % FIRMS + 1}", "orderDate": "2026-04-11",
        "currency": "EUR", "lines": [{"sku": f"SEED-P{(n - 1) % PRODUCTS + 1}", "description": "SEED item", "qty": 1,
                                      "unitPriceExclTax": "10.00", "taxCode": "TVA20"}]}}


def new_order(i):
    """A historical order not yet in incwo, of a seeded firm and product."""
    return {"kind": "order", "record": {
        "orderNumber": f"HIST-{i:05}", "customerExternalId": f"SEED-F{(i * 7919) % FIRMS + 1}",
        "orderDate": "2025-06-01", "currency": "EUR",
        "lines": [{"sku": f"SEED-P{(i * 31) % PRODUCTS + 1}", "description": "Kit", "qty": 2,
                   "unitPriceExclTax": "49.90", "taxCode": "TVA20"}]}}


def batch():
    """The orders, and the seeded sheets among them (n): every 4th order is
    already in incwo (seeded orders 8, 16, … spread over the seeded sheets),
    the others are new."""
    lines, existing = [], []
    step = 2 * (SHEETS // 2 // (ORDERS // EXISTING_EVERY))
    for i in range(ORDERS):
        if i % EXISTING_EVERY == 0:
            existing.append(step * (len(existing) + 1))
            lines.append(seeded_order(existing[-1]))
        else:
            lines.append(new_order(i))
    return lines, existing


def run(incwo, sim_bin, workdir):
    sim = Sim(sim_bin)
    lines, existing = batch()
    try:
        first = sim.admin("POST", "/_sim/seed", {"firms": FIRMS, "products": PRODUCTS,
                                                  "proposalSheets": SHEETS})["proposalSheets"]["first"]
        for k, n in enumerate(existing):
            status = STATUSES["delivered" if k % 5 == 4 else "confirmed"]
            sim.admin("PUT", f"/_sim/documents/proposal_sheets/{first + n - 1}/progress", {"progress_id": status})
        before = sim.admin("GET", "/_sim/counts")["counts"]["proposal_sheets"]
        sim.reset_requests()
        report, seconds, cpu = sync(incwo, sim, os.path.join(workdir, "replay.db"), lines,
                                    ["--lookup-before-create"])
        log = sim.request_log()
        after = sim.admin("GET", "/_sim/counts")
        duplicates = after["duplicatesTotal"]
    finally:
        sim.close()
    pages = list_pages(log)
    sweeps = sum(r["sweep"] for r in pages.values())
    total = requests(report)
    return {"records": ORDERS, "existing": len(existing), "firms": FIRMS, "products": PRODUCTS, "sheets": SHEETS,
            "seconds": round(seconds, 1), "cpuSeconds": round(cpu, 1), "requests": report.get("requests"),
            "requestsPerRecord": round(total / ORDERS, 3), "listPages": pages,
            "requestsPerRecordWithoutSweeps": round((total - sweeps) / ORDERS, 3),
            "created": after["counts"]["proposal_sheets"] - before, "expectedCreated": ORDERS - len(existing),
            "synced": summary(report).get("synced"), "quarantined": summary(report).get("quarantined"),
            "deferred": summary(report).get("deferred"), "problems": quarantined_codes(report),
            "duplicates": duplicates}
