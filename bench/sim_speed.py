"""Simulated jobs per second, whole process, through the full policy core.

Each run is a fresh process (so peak memory is the run's own): read the trace, replay it on its
own machine (a processor pool, VALIDATION.md §A) under one policy, and print jobs/s and the peak
resident memory. Issue 4's targets: >= 20,000 jobs/s for EASY on HPC2N (202,871 jobs), peak
memory under 1 GB on CEA-Curie.

    .venv/bin/python bench/sim_speed.py [--trace NAME ...] [--policy fcfs --policy easy]

Figures on the project's 2-core machine (shared, +-10%), before and after the pass caches of
``sim/README.md``, "Speed" (same decisions, job for job):

    HPC2N   easy   6,327 -> 13,750-14,330 jobs/s   peak 192 -> 178 MiB
    HPC2N   fcfs   7,151 -> 18,260-19,210 jobs/s   peak 194 -> 178 MiB
    Curie   easy   3,291 ->  9,040-9,330 jobs/s    peak 268 -> 247 MiB

Resumed passes (sim/README.md), against the code just before them on the same (slower) day:
HPC2N easy 12,540-12,960 -> 13,990-14,500 jobs/s; Curie easy 9,010 -> 9,810 jobs/s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
DEFAULT_TRACES = ("HPC2N-2002-2.2-cln.swf.gz",)

_CHILD = """
import json, resource, sys, time
began = time.perf_counter()
from sim.runner import RunSpec, run_spec
result = run_spec(RunSpec(trace=sys.argv[1], policy=sys.argv[2]))
wall = time.perf_counter() - began
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"jobs": result.summary.jobs, "wall_s": wall, "peak_mib": peak_kib / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", action="append", help="trace file name in shared/traces")
    parser.add_argument("--policy", action="append", help="named policy (default: fcfs, easy)")
    args = parser.parse_args()
    for name in args.trace or DEFAULT_TRACES:
        for policy in args.policy or ("fcfs", "easy"):
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(TRACES / name), policy],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            rate = figures["jobs"] / figures["wall_s"]
            print(
                f"{name:<30} {policy:<13} {figures['jobs']:>8,} jobs  {figures['wall_s']:7.1f} s  "
                f"{rate:8,.0f} jobs/s  peak {figures['peak_mib']:7.1f} MiB"
            )


if __name__ == "__main__":
    main()
