"""The "Accounts at scale" section of BENCHMARKS.md, from bench/scale/bench.py's
scale.json: requests per record by account size and list order (whole-list
reads apart), records per second by requests in flight, the historical
replay and the first import."""

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
    when = data.get("started")
    if when:
        p(f"Measured on {when} by `bench/scale/bench.py` (`incwo sync`, release build, against `incwo-sim` on "
          f"loopback; a machine shared with other work: load average {data.get('loadBefore', '?')} before, "
          f"{data.get('loadAfter', '?')} after; {sum(data.get('seconds', {}).values()) / 60:.1f} min in all).")
        p()
    accounts_part(data, p, verdict)
    lanes_part(data.get("lanes"), p, verdict)
    replay_part(data.get("replay"), p, verdict)
    first_import_part(data.get("firstImport"), p, verdict)


def accounts_part(data, p, verdict):
    accounts = data.get("accounts") or []
    if not accounts:
        return
    p(f"{data['records']} records of each kind per account ({data.get('lostRecords', data['records'])} for lost")
    p("answers, each of which waits its retry backoff), after a first run whose sweep builds the marker index.")
    p("In unknown order the list-page reads of a run (every pass reads from page 1: the read that proves absence")
    p("once per run, and each lost answer's reconciliation) are counted from the simulator's request log and kept")
    p("out of the per-record figures; they are in their own rows. Target: flat across sizes (at most 10 % apart).")
    p()
    sizes = sorted({a["size"] for a in accounts})
    p("| list order | requests per record | " + " | ".join(f"{s:,} firms" for s in sizes) + " | flat |")
    p("|---|---|" + "---|" * len(sizes) + "---|")
    for order in ("ascending", "unknown"):
        rows = {a["size"]: a for a in accounts if a["order"] == order}

        def cells(f):
            return " | ".join(f(rows[s]) if s in rows else "—" for s in sizes)
        for key, name in KINDS:
            runs = [rows.get(s, {}).get(key) or {} for s in sizes]
            known = [r["requestsPerRecordWithoutPasses"] for r in runs if r.get("requestsPerRecordWithoutPasses")]
            flat = verdict(max(known) <= 1.1 * min(known)) if len(known) > 1 else ""
            p(f"| {order} | {name} | " + " | ".join(rate_cell(r) for r in runs) + f" | {flat} |")
        p(f"| {order} | *sweep (first run, once)* | "
          + cells(lambda a: f"{a['sweep']['requests']:,} requests ({a['sweep']['seconds']} s)") + " | |")
        if order == "unknown":
            for key, name in KINDS[1:]:
                p(f"| unknown | *list pages read by the run of {name}* | "
                  + cells(lambda a: f"{a[key]['wholeListPages']:,} ({passes(a[key]['passes'])})") + " | |")
    p()
    duplicates = sum(a.get("duplicates") or 0 for a in accounts)
    quarantined = sum((a.get(k) or {}).get("quarantined") or 0 for a in accounts for k, _ in KINDS)
    deferred = sum((a.get(k) or {}).get("deferred") or 0 for a in accounts for k, _ in KINDS)
    unknown = {a["size"]: a for a in accounts if a["order"] == "unknown"}
    totals = "; ".join(
        f"{name}: " + " / ".join(f"{unknown[s][key]['requestsPerRecord']:.2f}" for s in sizes if s in unknown)
        for key, name in KINDS[1:])
    p(f"Duplicates in the simulator after every run: {duplicates}; records quarantined: {quarantined}, deferred:"
      f" {deferred}.")
    p(f"With the list-page reads counted in, unknown order costs per record ({' / '.join(f'{s:,}' for s in sizes)}"
      f" firms) {totals}:")
    p("the read that proves absence is once per run for the lookups, and once more for all the creates whose answer")
    p("the run lost (a read begun after their loss; docs/ARCHITECTURE.md, \"Find by marker\"): a run's reads grow")
    p("with the account, not with its records.")
    for a in accounts:
        for key, name in KINDS:
            run = a.get(key) or {}
            if run.get("deferred"):
                p(f"On {a['size']:,} firms ({a['order']} order) the run of {name} stopped after {run['listPages']:,}"
                  f" list pages ({passes(run['passes'])}), the run's budget (`--max-lookup-pages`, default 10,000):")
                p(f"{run['deferred']} of its records were deferred to the next run.")
    p()


def passes(n):
    return f"{n} pass" if n == 1 else f"{n} passes"


def rate_cell(run):
    """Requests per record, and the records not synced (and why) if any."""
    if run.get("requestsPerRecordWithoutPasses") is None:
        return "—"
    unsynced = ", ".join(f"{n} {code}" for code, n in sorted((run.get("problems") or {}).items()))
    return f"{run['requestsPerRecordWithoutPasses']:.2f}" + (f" (**{unsynced}**)" if unsynced else "")


def lanes_part(lanes, p, verdict):
    if not lanes:
        return
    p("### Requests in flight (`--max-in-flight K`)")
    p()
    p(f"One `incwo sync` process, {lanes['latencyMs']} ms of simulated latency on every request, {lanes['records']}"
      f" records ({lanes['customers']} customers, {lanes['products']} products, {lanes['orders']} orders of two")
    p("lines), a new account and state per K. Per-customer order is checked from the simulator's request log: each")
    p("customer's requests (its firm, its orders' creates and reads) arrive one at a time, each after the previous")
    p("one was handled, and its orders are created in batch order.")
    p()
    p("| K | records/s | wall time | requests | per-customer order kept | duplicates | quarantined |")
    p("|---|---|---|---|---|---|---|")
    for r in lanes["runs"]:
        kept = "yes" if r["orderKept"] else "**no**: " + "; ".join(r["violations"])
        p(f"| {r['k']} | {r['recordsPerSecond']:.1f} | {r['seconds']:.2f} s | {r['requests']:,} | {kept} | "
          f"{r['duplicates']} | {sum(r['problems'].values())} |")
    p()
    speedup = lanes.get("speedup16")
    if speedup is not None:
        p(f"K = 16 syncs {speedup:.1f}× the records per second of K = 1 (target ≥ 8×: {verdict(speedup >= 8)}).")
        p()


def replay_part(r, p, verdict):
    if not r:
        return
    p("### Historical replay")
    p()
    if "error" in r:
        p(f"Did not run: {r['error']}")
        p()
        return
    sweeps = ", ".join(f"{res} {n['sweep']:,}" for res, n in sorted(r["listPages"].items()))
    lookups = ", ".join(f"{res} {n['other']:,}" for res, n in sorted(r["listPages"].items()))
    ok = r["duplicates"] == 0 and not r["quarantined"] and not r["deferred"] and r["created"] == r["expectedCreated"]
    p(f"{r['records']:,} orders synced with an empty ledger (a new state store, `--lookup-before-create`) into an")
    p(f"account seeded with {r['firms']:,} firms, {r['products']:,} products and {r['sheets']:,} proposal sheets;"
      f" {r['existing']:,} of the orders")
    p("are already in incwo (seeded sales orders carrying the order number as title, an order status and the")
    p("record's totals), the others are new; each names a seeded firm, found by its marker (with an empty ledger")
    p("a line names no product: the flow links only SKUs its ledger knows). Checked against the simulator's state:")
    p(f"{r['duplicates']} duplicates, {r['created']:,} orders created ({r['expectedCreated']:,} expected), "
      f"{r['quarantined']} quarantined, {r['deferred']} deferred ({verdict(ok)}).")
    p(f"{r['requestsPerRecordWithoutSweeps']:.2f} requests per record after the sweeps that build the index, "
      f"{r['requestsPerRecord']:.2f} with them")
    p(f"({sum(r['requests'].values()):,} requests: " + ", ".join(f"{m} {n:,}" for m, n in sorted(r["requests"].items()))
      + f"; list pages of the sweeps: {sweeps}; of the lookups after them: {lookups});")
    p(f"{r['seconds']:.0f} s of wall time, {r['cpuSeconds']:.0f} s of CPU in the CLI, with the default list-page"
      " budget (10,000 pages a run beyond each pass's first).")
    p()


def first_import_part(imp, p, verdict):
    if not imp:
        return
    p("### First import")
    p()
    if "error" in imp:
        p(f"Did not run: {imp['error']}")
        p()
        return
    first, last = imp["cpuMsPerRecordFirst"], imp["cpuMsPerRecordLast"]
    flat = first and last is not None and abs(last - first) <= 0.25 * first
    series = ", ".join(f"{v:.2f}" for v in imp["cpuMsPerRecordByWindow"])
    p(f"{imp['records']:,} new customers into an empty account in one run: {imp['requestsPerRecord']:.2f} requests per"
      f" record (target ≤ 2.2: {verdict(imp['requestsPerRecord'] <= 2.2)}), {imp['seconds']:.0f} s of wall time"
      " (with the default list-page budget, which leaves each lookup's first page out);")
    p(f"synced {imp['synced']:,}, quarantined {imp['quarantined']}, duplicates {imp['duplicates']}. CPU of the CLI per"
      f" record, by {imp['window']:,} records")
    p(f"(ms, sampled from /proc, the process start left out): {series}; first {first:.2f} ms, last {last:.2f} ms"
      f" (within 25 %: {verdict(flat)}).")
    p()
