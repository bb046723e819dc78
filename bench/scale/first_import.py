"""A first import in one run: 10,000 new customers into an empty account.
Requests per record, and the CLI's CPU per record along the run (per 1,000
records created): flat when saving costs the change, not the history, and no
lookup grows with the account.

The CPU is the CLI process's on-CPU time, sampled from /proc while the
simulator's firm count (the records created) grows, and interpolated at each
thousandth record; the records' windows start at the first firm created, so
the process start (reading the batch, opening the store) is not counted."""

import glob
import json
import os
import subprocess
import tempfile
import threading
import time

from common import Sim, customer, quarantined_codes, requests, summary, sync_command, sync_env, write_batch

SAMPLE_EVERY = 0.02  # seconds


def cpu_seconds(pid):
    """On-CPU time of a process, all its threads: nanosecond-precise from
    /proc/PID/task/*/schedstat when the kernel keeps it, else user + system
    clock ticks from /proc/PID/stat."""
    try:
        return sum(int(open(f).read().split()[0]) for f in glob.glob(f"/proc/{pid}/task/*/schedstat")) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample(proc, sim, samples):
    """(firms created, CPU seconds of the CLI) until the process ends."""
    while proc.poll() is None:
        try:
            cpu = cpu_seconds(proc.pid)
            firms = sim.admin("GET", "/_sim/counts")["counts"]["firms"]
            samples.append((firms, cpu))
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(SAMPLE_EVERY)


def cpu_at(samples, created):
    """The CLI's CPU time when the `created`-th firm was created, interpolated
    between the samples around it."""
    before = None
    for firms, cpu in samples:
        if firms >= created:
            if before is None or firms == before[0]:
                return cpu
            share = (created - before[0]) / (firms - before[0])
            return before[1] + share * (cpu - before[1])
        before = (firms, cpu)
    return samples[-1][1] if samples else 0.0


def run(incwo, sim_bin, workdir, total=10_000, window=1_000):
    """Syncs `total` new customers into an empty account in one run."""
    sim = Sim(sim_bin)
    state = os.path.join(workdir, "import.db")
    batch = write_batch([customer(f"IMP-{i:05}") for i in range(total)])
    samples = []
    with tempfile.TemporaryFile("w+") as err:
        try:
            started = time.perf_counter()
            command = sync_command(incwo, sim, state, batch, [])
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err,
                                    text=True, env=sync_env())
            sampler = threading.Thread(target=sample, args=(proc, sim, samples))
            sampler.start()
            out, _ = proc.communicate()
            seconds = time.perf_counter() - started
            sampler.join()
            created = sim.admin("GET", "/_sim/counts")["counts"]["firms"]
            duplicates = sim.duplicates()
        finally:
            sim.close()
            os.unlink(batch)
        err.seek(0)
        error = err.read()[-500:]
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        return {"records": total, "error": error or "no report"}
    marks = [m for m in list(range(1, total + 1, window)) + [total] if m <= created]
    per_window = [round((cpu_at(samples, b) - cpu_at(samples, a)) * 1000 / (b - a), 3)
                  for a, b in zip(marks, marks[1:])] or [None]
    return {"records": total, "created": created, "requestsPerRecord": round(requests(report) / total, 3),
            "requests": report.get("requests"), "seconds": round(seconds, 1), "samples": len(samples),
            "cpuMsPerRecordByWindow": per_window, "window": window,
            "cpuMsPerRecordFirst": per_window[0], "cpuMsPerRecordLast": per_window[-1],
            "synced": summary(report).get("synced"), "quarantined": summary(report).get("quarantined"),
            "problems": quarantined_codes(report), "duplicates": duplicates}
