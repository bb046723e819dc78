"""The "Accounts at scale" section of BENCHMARKS.md, from bench/scale/bench.py's
scale.json (requests per record by account size and list order)."""

KINDS = [("existingCustomersOrders", "orders of existing customers"),
         ("newCustomers", "new customers"),
         ("lostAnswers", "new customers, half the creates' answers lost")]


def section(data, p, verdict, nb):
    p("## Accounts at scale: requests per record (marker index)")
    p()
    if not data:
        p(f"Not measured ({nb}: `BENCH_HOSTS=scale ./scripts/bench`).")
        p()
        return
    accounts = data["accounts"]
    p(f"`incwo sync` (release) against `incwo-sim` seeded in bulk; {data['records']} records of each kind per account")
    p(f"({data.get('lostRecords', data['records'])} for lost answers, each of which waits its retry backoff),")
    p("after a first run whose sweep builds the marker index (its cost apart). Target: flat across sizes")
    p("(at most 10 % apart).")
    p()
    sizes = sorted({a["size"] for a in accounts})
    p("| list order | record kind | " + " | ".join(f"{s:,} firms" for s in sizes) + " | flat |")
    p("|---|---|" + "---|" * len(sizes) + "---|")
    for order in ("ascending", "unknown"):
        rows = {a["size"]: a for a in accounts if a["order"] == order}
        for key, name in KINDS:
            values = [rows.get(s, {}).get(key, {}).get("requestsPerRecord") for s in sizes]
            known = [v for v in values if v]
            flat = verdict(max(known) <= 1.1 * min(known)) if len(known) > 1 else ""
            p(f"| {order} | {name} | " + " | ".join("—" if v is None else f"{v:.2f}" for v in values) + f" | {flat} |")
        sweeps = ", ".join(f"{s:,}: {rows[s]['sweep']['requests']:,} requests ({rows[s]['sweep']['seconds']} s)"
                           for s in sizes if s in rows and "sweep" in rows[s])
        p(f"| {order} | *sweep (once)* | {sweeps} | | |" if sweeps else f"| {order} | *sweep* | | | |")
    duplicates = sum(a.get("duplicates") or 0 for a in accounts)
    quarantined = sum((a.get(k) or {}).get("quarantined") or 0 for a in accounts for k, _ in KINDS)
    p()
    p(f"Duplicates in the simulator after every run: {duplicates}; records quarantined: {quarantined}.")
    p("In unknown order a run reads the whole list once (counted in each run's requests) and a lost answer is")
    p("reconciled by reading it again, so those rows grow with the account by design (docs/ARCHITECTURE.md,")
    p("\"Find by marker\").")
    imp = data.get("firstImport")
    if imp:
        first, last = imp["cpuMsPerRecordFirst"], imp["cpuMsPerRecordLast"]
        p()
        p(f"First import of {imp['records']:,} new customers into an empty account, in one run: "
          f"{imp['requestsPerRecord']:.3f} requests per record (target ≤ 2.2: {verdict(imp['requestsPerRecord'] <= 2.2)}); "
          f"CPU of the CLI per record {first:.3f} ms over the first 1,000, {last:.3f} ms over the last 1,000 "
          f"(within 25 %: {verdict(last <= 1.25 * first)}); quarantined {imp['quarantined']}, duplicates {imp['duplicates']}.")
    p()
