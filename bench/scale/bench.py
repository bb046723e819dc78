"""Requests per record on accounts of growing size (issue #19): the CLI
(`incwo sync`) against the simulator seeded in bulk, for three kinds of
record (orders of existing customers, new customers, creates whose answer was
lost), accounts of 1,000 / 10,000 / 100,000 firms, and both list orders.
The sweep that builds the marker index is measured apart, as is a first
import of 10,000 new customers into an empty account (requests per record,
CPU per record of the first and last 1,000).

usage: bench.py INCWO INCWO_SIM OUT.json [SIZES]  (SIZES: e.g. 1000,10000)
It reports; it never fails on a number.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

PASSWORD_ENV = "INCWO_BENCH_PASSWORD"
RECORDS = 200
LOST_RECORDS = 40


def customer(ext_id):
    return {"kind": "customer", "record": {
        "externalId": ext_id, "name": f"Client {ext_id}", "kind": "client", "email": "c@example.fr",
        "billingAddress": {"line1": "1 rue A", "zipCode": "69002", "city": "Lyon", "country": "FR"}}}


def order_record(number, customer_id):
    return {"kind": "order", "record": {
        "orderNumber": number, "customerExternalId": customer_id, "orderDate": "2026-04-11", "currency": "EUR",
        "lines": [{"sku": "BENCH-SKU", "description": "Kit", "qty": 2, "unitPriceExclTax": 49.9, "taxCode": "TVA20"}]}}


PRODUCT = {"kind": "product", "record": {"sku": "BENCH-SKU", "name": "Kit", "unitPriceExclTax": 49.9,
                                         "taxCode": "TVA20", "unit": "unit", "active": True}}


class Sim:
    """An incwo-sim process with its admin API."""

    def __init__(self, binary, seed_json, order):
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--seed-json", json.dumps(seed_json), "--list-order", order],
            stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip().removeprefix("listening on ")

    def admin(self, method, path, body=None):
        import urllib.request
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read() or b"null")

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def sync(incwo, sim, state, lines, extra=()):
    """Runs `incwo sync`; returns (report, seconds, cpu seconds of the child)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("".join(json.dumps(line) + "\n" for line in lines))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [incwo, "sync", f.name, "--server", sim.url, "--business-file", "123456", "--login", "api@example.fr",
         "--password-env", PASSWORD_ENV, "--state", state, *extra],
        capture_output=True, text=True, env={**os.environ, PASSWORD_ENV: "secret"})
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(f.name)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        report = {"error": out.stderr[-500:]}
    return report, seconds, cpu


def requests(report):
    return sum((report.get("requests") or {}).values())


def account_run(incwo, sim_bin, size, order, workdir):
    """One account: the sweep, then each kind of record on it."""
    sim = Sim(sim_bin, {"firms": size, "prefix": "OLD"}, order)
    state = os.path.join(workdir, f"{order}-{size}.db")
    result = {"size": size, "order": order}
    try:
        report, seconds, _ = sync(incwo, sim, state, [PRODUCT, customer(f"FIRST-{order}-{size}")])
        result["sweep"] = {"requests": requests(report), "seconds": round(seconds, 2)}
        kinds = {
            "existingCustomersOrders": [order_record(f"CMD-{order}-{size}-{i}", f"OLD-F{i * (size // RECORDS) + 1}")
                                        for i in range(RECORDS)],
            "newCustomers": [customer(f"NEW-{order}-{size}-{i}") for i in range(RECORDS)],
        }
        for kind, lines in kinds.items():
            report, seconds, _ = sync(incwo, sim, state, lines)
            result[kind] = summarise(report, seconds, len(lines))
        # Half the creates' answers are lost (the connection closes after the
        # commit); fewer records, as each lost answer waits its backoff.
        sim.admin("POST", "/_sim/faults", {"method": "POST", "resource": "firms", "probability": 0.5, "seed": 7,
                                             "fault": {"kind": "drop_after_commit"}})
        lines = [customer(f"LOST-{order}-{size}-{i}") for i in range(LOST_RECORDS)]
        report, seconds, _ = sync(incwo, sim, state, lines, ["--timeout-ms", "2000"])
        result["lostAnswers"] = summarise(report, seconds, len(lines))
        result["duplicates"] = sim.admin("GET", "/_sim/counts")["duplicatesTotal"]
    finally:
        sim.close()
    return result


def summarise(report, seconds, records):
    summary = report.get("summary") or {}
    return {"requestsPerRecord": round(requests(report) / records, 3), "requests": report.get("requests"),
            "synced": summary.get("synced"), "quarantined": summary.get("quarantined"),
            "seconds": round(seconds, 2)}


def cpu_seconds(pid):
    """User + system CPU of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_import(incwo, sim_bin, workdir, total=10_000, window=1_000):
    """10,000 new customers into an empty account in one run: requests per
    record, and the CLI's CPU per record over the first and the last 1,000
    (sampled from /proc while the simulator's firm count grows): flat when
    saving costs the change, not the history."""
    sim = Sim(sim_bin, {}, "ascending")
    state = os.path.join(workdir, "import.db")
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("".join(json.dumps(customer(f"IMP-{i:05}")) + "\n" for i in range(total)))
    try:
        proc = subprocess.Popen(
            [incwo, "sync", f.name, "--server", sim.url, "--business-file", "123456", "--login", "api@example.fr",
             "--password-env", PASSWORD_ENV, "--state", state],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, PASSWORD_ENV: "secret"})
        samples = []  # (firms created, cpu seconds)
        while proc.poll() is None:
            try:
                samples.append((sim.admin("GET", "/_sim/counts")["counts"]["firms"], cpu_seconds(proc.pid)))
            except (OSError, IndexError):
                pass
            time.sleep(0.05)
        report = json.loads(proc.stdout.read() or "{}")
        duplicates = sim.admin("GET", "/_sim/counts")["duplicatesTotal"]
    finally:
        sim.close()
        os.unlink(f.name)

    def cpu_at(created):
        return next((cpu for n, cpu in samples if n >= created), samples[-1][1] if samples else 0.0)

    first = (cpu_at(window) - cpu_at(0)) * 1000 / window
    last = (cpu_at(total) - cpu_at(total - window)) * 1000 / window
    summary = report.get("summary") or {}
    return {"records": total, "requestsPerRecord": round(requests(report) / total, 3),
            "cpuMsPerRecordFirst": round(first, 3), "cpuMsPerRecordLast": round(last, 3),
            "quarantined": summary.get("quarantined"), "duplicates": duplicates}


def main():
    incwo, sim_bin, out = sys.argv[1:4]
    sizes = [int(s) for s in (sys.argv[4] if len(sys.argv) > 4 else "1000,10000,100000").split(",")]
    results = {"records": RECORDS, "lostRecords": LOST_RECORDS, "accounts": []}
    with tempfile.TemporaryDirectory() as workdir:
        for order in ("ascending", "unknown"):
            for size in sizes:
                r = account_run(incwo, sim_bin, size, order, workdir)
                print(json.dumps(r), file=sys.stderr)
                results["accounts"].append(r)
        results["firstImport"] = first_import(incwo, sim_bin, workdir)
        print(json.dumps(results["firstImport"]), file=sys.stderr)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
