"""What every part of the scale bench shares: an `incwo-sim` process with its
admin API (bulk seed, counts, request log), `incwo sync` runs, and the
records synced."""

import json
import os
import resource
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

PASSWORD_ENV = "INCWO_BENCH_PASSWORD"
LOG_PAGE = 10_000  # the simulator's largest request-log read


def customer(ext_id):
    """A new customer record."""
    return {"kind": "customer", "record": {
        "externalId": ext_id, "name": f"Client {ext_id}", "kind": "client", "email": "c@example.fr",
        "billingAddress": {"line1": "1 rue A", "zipCode": "69002", "city": "Lyon", "country": "FR"}}}


def order_record(number, customer_id, sku="BENCH-SKU", qty=2, price=49.9):
    """An order of one line."""
    return {"kind": "order", "record": {
        "orderNumber": number, "customerExternalId": customer_id, "orderDate": "2026-04-11", "currency": "EUR",
        "lines": [{"sku": sku, "description": "Kit", "qty": qty, "unitPriceExclTax": price, "taxCode": "TVA20"}]}}


PRODUCT = {"kind": "product", "record": {"sku": "BENCH-SKU", "name": "Kit", "unitPriceExclTax": 49.9,
                                         "taxCode": "TVA20", "unit": "unit", "active": True}}


class Sim:
    """An incwo-sim process with its admin API."""

    def __init__(self, binary, seed_json=None, order="ascending"):
        args = [binary, "--port", "0", "--list-order", order]
        if seed_json:
            args += ["--seed-json", json.dumps(seed_json)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip().removeprefix("listening on ")

    def admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read() or b"null")

    def duplicates(self):
        """Objects whose marker another object of the resource carries too."""
        return self.admin("GET", "/_sim/counts")["duplicatesTotal"]

    def reset_requests(self):
        """Starts the request counters and log again."""
        self.admin("POST", "/_sim/requests/reset")

    def request_log(self):
        """Every logged request since the last reset, in the order handled."""
        entries, after = [], 0
        while True:
            page = self.admin("GET", f"/_sim/requests/log?after={after}&limit={LOG_PAGE}")
            if page["dropped"]:
                raise RuntimeError(f"the simulator's request log dropped {page['dropped']} entries")
            entries += page["entries"]
            if not page["entries"]:
                return entries
            after = page["next"]

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def list_page(entry):
    """The page number of a list-page GET (None for any other request)."""
    if entry["method"] != "GET" or entry["id"] is not None or entry["resource"] == "-":
        return None
    path = urllib.parse.urlsplit(entry["path"])
    if not path.path.endswith(f"/{entry['resource']}.xml"):
        return None
    page = urllib.parse.parse_qs(path.query).get("page", ["1"])[0]
    return int(page) if page.isdigit() and int(page) > 0 else 1


def list_pages(log):
    """List-page reads by resource in ascending list order:
    `{resource: {"sweep": n, "other": n}}`. The sweep is a resource's first
    pass over an index that knows nothing yet: page 1 (which tells where the
    last page is), then from the last page back to page 1, read lazily as
    lookups need it (other lookups' pages come between); the others are the
    lookups of the newest pages."""
    out = {}
    for e in log:
        page = list_page(e)
        if page is None:
            continue
        r = out.setdefault(e["resource"], {"sweep": 0, "other": 0, "deeper": False, "swept": False})
        if r["swept"]:
            r["other"] += 1
            continue
        r["sweep"] += 1
        r["swept"] = page == 1 and r["deeper"]
        r["deeper"] = r["deeper"] or page > 1
    return {res: {"sweep": r["sweep"], "other": r["other"]} for res, r in out.items()}


def write_batch(lines):
    """The records as a JSON Lines file; its path (the caller deletes it)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("".join(json.dumps(line) + "\n" for line in lines))
    return f.name


def sync_command(incwo, sim, state, batch, extra=()):
    return [incwo, "sync", batch, "--server", sim.url, "--business-file", "123456", "--login", "api@example.fr",
            "--password-env", PASSWORD_ENV, "--state", state, *extra]


def sync_env():
    return {**os.environ, PASSWORD_ENV: "secret"}


def sync(incwo, sim, state, lines, extra=()):
    """Runs `incwo sync`; returns (report, seconds, cpu seconds of the child)."""
    batch = write_batch(lines)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(sync_command(incwo, sim, state, batch, extra), capture_output=True, text=True,
                         env=sync_env())
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(batch)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        report = {"error": out.stderr[-500:]}
    return report, seconds, cpu


def requests(report):
    """Requests a run sent, from its report."""
    return sum((report.get("requests") or {}).values())


def summary(report):
    """A run's summary (synced, quarantined…), empty when it failed."""
    return report.get("summary") or {}


def quarantined_codes(report):
    """Quarantined or deferred records by error code."""
    codes = {}
    for problem in report.get("problems") or []:
        outcome = problem.get("outcome") or {}
        code = ((outcome.get("error") or {}).get("code")) or outcome.get("outcome", "?")
        codes[code] = codes.get(code, 0) + 1
    return codes
