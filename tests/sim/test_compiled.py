"""The mypyc-compiled build of the hot path (``setup.py``) decides exactly as the interpreted
source: the same replays, run in fresh processes from each build, give the same job records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.sim import REPO, shared_trace

# Replays in the child: EASY and conservative over a slice of HPC2N, and RLScheduler's SJF with
# greedy backfill (kept heads, FCFS behind the head, one event at a time) over one §B window.
_CHILD = """
import hashlib, json, sys
import scheduler.cycle, sim.driver
from sim.runner import RunSpec, run_spec
from sim.rlscheduler import VARIANTS, WINDOW_STARTS, run_window
from sim.workloads import RLSCHEDULER, read_swf

digests = {}
for policy in ("easy", "conservative"):
    result = run_spec(RunSpec(trace=sys.argv[1], policy=policy, first=20000))
    rows = [(r.job_id, r.start, r.end) for r in result.sim.records]
    digests[policy] = hashlib.sha256(repr(rows).encode()).hexdigest()
trace = read_swf(sys.argv[2], rules=RLSCHEDULER)
digests["rl-sjf-greedy"] = repr(run_window(trace, WINDOW_STARTS[0], VARIANTS["SJF+greedy"]))
compiled = [not m.__file__.endswith(".py") for m in (scheduler.cycle, sim.driver)]
print(json.dumps({"digests": digests, "compiled": compiled}))
"""


def _replay(path: Path, hpc2n: Path, lublin: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(hpc2n), str(lublin)],
        capture_output=True,
        text=True,
        check=True,
        cwd=path,
        env={**os.environ, "PYTHONPATH": str(path)},
        timeout=600,
    )
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_compiled_build_replays_as_the_interpreted_source(tmp_path: Path) -> None:
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    if shutil.which("cc") is None or not headers.exists():
        pytest.skip("no C compiler (cc) or Python headers: the compiled build cannot be made here")
    hpc2n = shared_trace("HPC2N-2002-2.2-cln.swf.gz")
    lublin = shared_trace("lublin_256.swf.gz")
    build = tmp_path / "compiled"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(build), str(REPO)],
        env={**os.environ, "BERTH_COMPILE": "1"},
        check=True,
        timeout=900,
    )  # fmt: skip
    interpreted = _replay(REPO, hpc2n, lublin)
    compiled = _replay(build, hpc2n, lublin)
    assert interpreted["compiled"] == [False, False]
    assert compiled["compiled"] == [True, True]
    assert compiled["digests"] == interpreted["digests"]
