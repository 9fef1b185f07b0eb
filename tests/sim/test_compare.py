"""`sim.compare`: two policies on the demo slice in two processes, errors, and a clean stop."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from sim.compare import compare
from sim.policies import PolicyError
from sim.report import PLOTS, print_table, write_plots
from sim.runner import RunResult, RunSpec, demo_trace, run_spec
from sim.workloads import TraceFormatError
from tests.sim.test_runner import TINY, swf_line, write_trace

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def heavy_trace(path: Path, jobs: int = 20_000) -> str:
    """A deterministic, hugely overloaded trace (about 125 times the 64 processors' capacity):
    the queue grows to thousands of jobs, so a run takes far longer than any test waits."""
    lines = ["; MaxProcs: 64"]
    for i in range(1, jobs + 1):
        run = (i * 37) % 5000 + 1
        lines.append(swf_line(i, i * 10, run, (i * 7) % 64 + 1, run + 60))
    return write_trace(path, lines)


def test_two_policies_on_the_demo_slice(tmp_path: Path) -> None:
    done: list[int] = []
    updates: list[tuple[int, int, int]] = []
    with demo_trace() as trace:
        specs = [RunSpec(trace=trace, policy=name) for name in ("fcfs", "easy")]
        outcome = compare(
            specs,
            workers=2,
            on_update=lambda *update: updates.append(update),
            on_done=lambda index, _: done.append(index),
        )
        alone = run_spec(specs[1])
    assert not outcome.interrupted
    assert sorted(done) == [0, 1]
    assert all(index in (0, 1) and 0 <= s <= t == 2000 for index, s, t in updates)
    fcfs, easy = outcome.finished
    assert (fcfs.label, easy.label) == ("fcfs", "easy")
    assert fcfs.summary.jobs == easy.summary.jobs == 2000
    assert easy.summary == alone.summary  # the same run in another process, the same metrics
    assert fcfs.summary.mean_wait_s > easy.summary.mean_wait_s
    table = io.StringIO()
    print_table(outcome.finished, table, "plain")
    rows = table.getvalue().splitlines()
    assert [row.split()[0] for row in rows] == ["policy", "fcfs", "easy"]
    paths = write_plots(outcome.finished, tmp_path / "plots")
    assert sorted(path.name for path in paths) == sorted(PLOTS)
    for path in paths:
        assert path.read_bytes().startswith(PNG_MAGIC)


def test_bad_specs_fail_before_anything_runs(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "tiny.swf", TINY)
    specs = [RunSpec(trace=trace, policy="easy"), RunSpec(trace=trace, policy="lifo")]
    began = time.perf_counter()
    with pytest.raises(PolicyError, match="unknown policy 'lifo'"):
        compare(specs)
    assert time.perf_counter() - began < 1


def test_a_run_error_stops_the_others_and_is_raised(tmp_path: Path) -> None:
    bad = write_trace(tmp_path / "bad.swf", [TINY[1], "oops"])
    heavy = heavy_trace(tmp_path / "heavy.swf")
    specs = [RunSpec(trace=heavy, policy="fcfs"), RunSpec(trace=bad, policy="easy")]
    began = time.perf_counter()
    with pytest.raises(TraceFormatError, match=r"bad.swf:2"):
        compare(specs, workers=2)
    assert time.perf_counter() - began < 30


def test_an_interrupt_keeps_the_finished_runs(tmp_path: Path) -> None:
    tiny = write_trace(tmp_path / "tiny.swf", TINY)
    heavy = heavy_trace(tmp_path / "heavy.swf")
    specs = [RunSpec(trace=tiny, policy="easy"), RunSpec(trace=heavy, policy="easy")]

    def interrupt(index: int, result: RunResult) -> None:
        raise KeyboardInterrupt  # as Ctrl-C would, once the quick run is in

    began = time.perf_counter()
    outcome = compare(specs, workers=1, on_done=interrupt)
    assert time.perf_counter() - began < 30
    assert outcome.interrupted
    assert outcome.results[1] is None
    assert [result.label for result in outcome.finished] == ["easy"]
    assert outcome.finished[0].summary.jobs == 4


def test_no_specs() -> None:
    outcome = compare([])
    assert outcome.results == ()
    assert not outcome.interrupted
