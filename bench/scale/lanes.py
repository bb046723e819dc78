"""Requests in flight: one `incwo sync` process with K = 1, 4, 16, 64
(`--max-in-flight`) against a simulator answering every request 25 ms late.
Records per second for each K, and per-customer order kept, checked from the
simulator's request log: each customer's requests (its firm, then its orders'
creates and reads) arrive one at a time (each after the previous one was
handled) and its orders are created in batch order."""

import os

from common import Sim, quarantined_codes, requests, summary, sync

LATENCY_MS = 25
CUSTOMERS = 100
PRODUCTS = 5
ORDERS = 400


def batch():
    """100 customers, 5 products, then 400 orders, customer `i % 100` each,
    naming two of the products (shared by every customer)."""
    lines = [{"kind": "customer", "record": {"externalId": f"C-{c:03}", "name": f"Client {c}"}}
             for c in range(CUSTOMERS)]
    lines += [{"kind": "product", "record": {"sku": f"P-{p}", "name": f"Produit {p}", "unitPriceExclTax": "12.50",
                                             "taxCode": "TVA20"}} for p in range(PRODUCTS)]

    def line(p):
        return {"sku": f"P-{p}", "qty": "2", "unitPriceExclTax": "12.50", "taxCode": "TVA20"}
    lines += [{"kind": "order", "record": {
        "orderNumber": f"O-{o:04}", "customerExternalId": f"C-{o % CUSTOMERS:03}", "orderDate": "2026-04-11",
        "currency": "EUR", "lines": [line(o % PRODUCTS), line((o + 1) % PRODUCTS)]}} for o in range(ORDERS)]
    return lines


def order_violations(log, lines):
    """Customers whose requests overlapped or whose orders were created out of
    batch order, from the request log (a list of readable reasons)."""
    firm_of = {}  # incwo firm id -> customer external id
    for e in log:
        if e["resource"] == "firms" and e["method"] == "POST" and e["id"]:
            firm_of[e["id"]] = e["marker"]
    expected = {}
    for line in lines:
        if line["kind"] == "order":
            r = line["record"]
            expected.setdefault(r["customerExternalId"], []).append(r["orderNumber"])
    by_customer = {}
    for e in log:
        firm = e["id"] if e["resource"] == "firms" else e["firmId"]
        if firm in firm_of:
            by_customer.setdefault(firm_of[firm], []).append(e)
    problems = []
    for cust, entries in by_customer.items():
        created = [e["marker"] for e in entries if e["resource"] == "proposal_sheets" and e["method"] == "POST"]
        if created != expected.get(cust, []):
            problems.append(f"{cust}: orders created as {created[:5]}…, batch order {expected.get(cust, [])[:5]}…")
        for before, after in zip(entries, entries[1:]):
            if after["arrivedUs"] < before["handledUs"]:
                problems.append(f"{cust}: request {after['seq']} arrived before request {before['seq']} was handled")
                break
    missing = set(expected) - set(by_customer)
    problems += [f"{cust}: no request seen" for cust in sorted(missing)]
    return problems


def run(incwo, sim_bin, workdir, ks=(1, 4, 16, 64)):
    lines = batch()
    results = {"latencyMs": LATENCY_MS, "customers": CUSTOMERS, "products": PRODUCTS, "orders": ORDERS,
               "records": len(lines), "runs": []}
    for k in ks:
        sim = Sim(sim_bin)
        try:
            sim.admin("POST", "/_sim/faults", {"fault": {"kind": "latency", "ms": LATENCY_MS}})
            state = os.path.join(workdir, f"lanes-{k}.db")
            report, seconds, cpu = sync(incwo, sim, state, lines, ["--max-in-flight", str(k)])
            violations = order_violations(sim.request_log(), lines)
            duplicates = sim.duplicates()
        finally:
            sim.close()
        results["runs"].append({
            "k": k, "seconds": round(seconds, 2), "recordsPerSecond": round(len(lines) / seconds, 1),
            "requests": requests(report), "cpuSeconds": round(cpu, 2),
            "synced": summary(report).get("synced"), "problems": quarantined_codes(report),
            "orderKept": not violations, "violations": violations[:5], "duplicates": duplicates})
    by_k = {r["k"]: r["recordsPerSecond"] for r in results["runs"]}
    if by_k.get(1) and by_k.get(16):
        results["speedup16"] = round(by_k[16] / by_k[1], 1)
    return results
