"""Daemon memory with 100,000 queued jobs (target: RSS < 300 MB).

Submits 100 arrays of 1,000 held tasks (each task is one job record, as in Slurm once tasks
split) to a real daemon, prints its resident memory; then restarts it, so the figure also covers
rebuilding the mirror from the store.

    .venv/bin/python bench/daemon_memory.py [--jobs 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.daemon.harness import CONFIG, Daemon

ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/home/alice", "LANG": "C.UTF-8",
               "USER": "alice", "SHELL": "/bin/bash"}  # fmt: skip


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def queued(daemon: Daemon) -> int:
    """Pending jobs, from /metrics (cheap: listing 100,000 jobs as JSON costs memory itself)."""
    text = _metrics(daemon)
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith('berth_jobs{state="PENDING"'))  # fmt: skip


def _metrics(daemon: Daemon) -> str:
    import http.client
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.connect(daemon.socket)
    connection = http.client.HTTPConnection("localhost")
    connection.sock = sock
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    daemon = Daemon(CONFIG.replace("pass_interval = 1", "pass_interval = 30")
                    .replace("pass_debounce = 0", "pass_debounce = 1"))  # fmt: skip
    daemon.start()
    try:
        assert daemon.process is not None
        print(f"idle daemon: {rss_mb(daemon.process.pid):.0f} MB")
        began = time.time()
        per_array = 1000
        for _ in range(args.jobs // per_array):
            daemon.submit("#!/bin/sh\npython3 train.py --seed $SLURM_ARRAY_TASK_ID\n",
                          array={"indices": list(range(per_array)), "throttle": None},
                          hold=True, environment=ENVIRONMENT, name="sweep")  # fmt: skip
        print(f"submitted {args.jobs} jobs in {time.time() - began:.1f} s")
        time.sleep(2)  # a pass over the full queue
        print(f"daemon RSS with {queued(daemon)} queued: {rss_mb(daemon.process.pid):.0f} MB")
        jobs = daemon.client().get("/v1/jobs", state="PENDING")["jobs"]
        print(f"... after listing all {len(jobs)} as JSON: {rss_mb(daemon.process.pid):.0f} MB")
        del jobs
        daemon.stop()
        began = time.time()
        daemon.start(timeout=120)
        print(f"restarted in {time.time() - began:.1f} s; "
              f"RSS after reloading: {rss_mb(daemon.process.pid):.0f} MB")  # fmt: skip
        return 0
    finally:
        daemon.stop()


if __name__ == "__main__":
    sys.exit(main())
