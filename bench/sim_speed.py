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

``--compiled`` also builds the mypyc-compiled hot path (setup.py, BERTH_COMPILE=1) into
build/compiled and times it the same way. HPC2N easy, medians of seven alternating rounds:
interpreted 14.4 s (14,100 jobs/s), compiled 9.4 s (21,600 jobs/s).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
DEFAULT_TRACES = ("HPC2N-2002-2.2-cln.swf.gz",)

_CHILD = """
import json, resource, sys, time
began = time.perf_counter()
import scheduler.cycle
from sim.runner import RunSpec, run_spec
result = run_spec(RunSpec(trace=sys.argv[1], policy=sys.argv[2]))
wall = time.perf_counter() - began
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
compiled = not scheduler.cycle.__file__.endswith(".py")
print(json.dumps({"jobs": result.summary.jobs, "wall_s": wall, "peak_mib": peak_kib / 1024,
                  "compiled": compiled}))
"""


def build_compiled(target: Path) -> Path:
    """The project installed into ``target`` with setup.py's mypyc-compiled modules."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--upgrade", "--target", str(target), str(ROOT)],
        env={**os.environ, "BERTH_COMPILE": "1"},
        check=True,
    )  # fmt: skip
    return target


def run(trace: Path, policy: str, path: Path) -> dict[str, float]:
    """One replay in a fresh process importing the packages from ``path`` (cwd there too, so
    nothing else is found first)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(trace), policy],
        capture_output=True,
        text=True,
        check=True,
        cwd=path,
        env={**os.environ, "PYTHONPATH": str(path)},
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", action="append", help="trace file name in shared/traces")
    parser.add_argument("--policy", action="append", help="named policy (default: fcfs, easy)")
    parser.add_argument(
        "--compiled", action="store_true",
        help="also run the mypyc-compiled build (setup.py; needs mypy and a C compiler)",
    )  # fmt: skip
    args = parser.parse_args()
    builds = [("interpreted", ROOT)]
    if args.compiled:
        builds.append(("compiled", build_compiled(ROOT / "build" / "compiled")))
    for name in args.trace or DEFAULT_TRACES:
        for policy in args.policy or ("fcfs", "easy"):
            for build, path in builds:
                figures = run(TRACES / name, policy, path)
                if figures["compiled"] != (build == "compiled"):
                    raise SystemExit(f"the {build} run imported the wrong build from {path}")
                rate = figures["jobs"] / figures["wall_s"]
                print(
                    f"{name:<30} {policy:<6} {build:<11} {figures['jobs']:>8,.0f} jobs  "
                    f"{figures['wall_s']:7.1f} s  {rate:8,.0f} jobs/s  "
                    f"peak {figures['peak_mib']:7.1f} MiB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
