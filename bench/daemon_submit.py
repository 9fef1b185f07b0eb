"""API submissions per second from concurrent clients over the unix socket.

Starts a real daemon on a temporary BERTH_HOME (a node too small for the jobs to start, so the
benchmark measures the submit path: parse, validate, one grouped SQLite transaction, reply),
then N client processes each submit M jobs over one kept-alive connection. Prints the rate.

    .venv/bin/python bench/daemon_submit.py [--clients 8] [--jobs 500]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.client import Client
from tests.daemon.harness import CONFIG, Daemon

# Jobs stay pending (held), so nothing but submission costs CPU.
SCRIPT = "#!/bin/sh\ntrue\n"


def _client(socket: str, workdir: str, count: int, start: float) -> None:
    while time.time() < start:
        time.sleep(0.001)
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    body = {"script": SCRIPT, "workdir": workdir, "hold": True, "environment": environment}
    with Client(socket) as client:
        for _ in range(count):
            client.post("/v1/jobs", body)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=500, help="per client")
    args = parser.parse_args()
    daemon = Daemon(CONFIG.replace("pass_debounce = 0", "pass_debounce = 1")
                    .replace("pass_interval = 1", "pass_interval = 30"))  # the defaults
    daemon.start()
    assert daemon.process is not None
    try:
        cpu_before = _cpu_seconds(daemon.process.pid)
        start = time.time() + 0.5
        workers = [
            multiprocessing.Process(
                target=_client, args=(daemon.socket, str(daemon.work), args.jobs, start)
            )
            for _ in range(args.clients)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.time() - start
        cpu = _cpu_seconds(daemon.process.pid) - cpu_before
        total = args.clients * args.jobs
        queued = len(daemon.client().get("/v1/jobs")["jobs"])
        print(f"clients {args.clients}, jobs {total}, queued after {queued}")
        print(f"submissions/s: {total / elapsed:,.0f}  ({elapsed:.2f} s wall, clients and daemon "
              f"sharing {os.cpu_count()} cores)")
        print(f"daemon CPU per submission: {cpu / total * 1000:.3f} ms "
              f"(one core's worth: {total / cpu:,.0f} submissions/s)")
        return 0 if queued == total else 1
    finally:
        daemon.stop()


if __name__ == "__main__":
    sys.exit(main())
