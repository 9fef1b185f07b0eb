"""Wall time of the installed Slurm-named commands, each a new process (cold start).

Starts a real daemon on a temporary BERTH_HOME, queues 10,000 jobs (held, so they stay
pending and each prints its own squeue line), then times ``.venv/bin/squeue`` (the default
format, every line written to a pipe), ``squeue -j <one id>``, ``sbatch`` of a small script
from a file, and, for scale, a bare ``python -c pass`` of the same interpreter. Prints the
median and the range of several runs; the target (issue 7) is under 150 ms each.

    .venv/bin/python bench/cli_latency.py [--jobs 10000] [--runs 9]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.client import Client
from tests.daemon.harness import CONFIG, Daemon

BIN = Path(sys.executable).parent
SCRIPT = "#!/bin/sh\n#SBATCH -J bench -t 5\ntrue\n"


def _queue(socket: str, workdir: str, count: int) -> None:
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    body = {"script": SCRIPT, "workdir": workdir, "hold": True, "environment": environment}
    with Client(socket) as client:
        for _ in range(count):
            client.post("/v1/jobs", body)


def _time(argv: list[str], env: dict[str, str], cwd: Path, runs: int) -> list[float]:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True,
                              check=False)  # fmt: skip
        walls.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{argv[0]} failed: {done.stderr.decode()}")
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    daemon = Daemon(CONFIG.replace("pass_interval = 1", "pass_interval = 30"))
    daemon.start()
    try:
        clients = 4
        workers = [multiprocessing.Process(target=_queue, args=(daemon.socket, str(daemon.work),
                                                                args.jobs // clients))
                   for _ in range(clients)]  # fmt: skip
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        queued = len(daemon.client().get("/v1/jobs", fields="job_id")["jobs"])
        (daemon.work / "small.sh").write_text(SCRIPT)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        env["BERTH_SOCKET"] = daemon.socket
        one = str(daemon.client().get("/v1/jobs", fields="job_id")["jobs"][-1]["job_id"])
        cases = [
            (f"squeue ({queued:,} jobs, {queued + 1:,} lines)", [str(BIN / "squeue")]),
            ("squeue -j <one id>", [str(BIN / "squeue"), "-j", one]),
            ("sbatch small.sh", [str(BIN / "sbatch"), "small.sh"]),
            ("python -c pass (interpreter start)", [sys.executable, "-c", "pass"]),
        ]
        print(f"cold command wall time, {args.runs} runs each (median, min-max), target < 150 ms")
        for label, argv in cases:
            walls = _time(argv, env, daemon.work, args.runs)
            print(f"  {label:<38} {statistics.median(walls):6.1f} ms "
                  f"({min(walls):.1f}-{max(walls):.1f})")  # fmt: skip
    finally:
        daemon.stop()
        shutil.rmtree(daemon.home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
