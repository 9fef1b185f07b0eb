"""`sim.report`: binned series checked by hand, tables, summary text, JSON, CSVs, PNGs."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from scheduler import Policy, PriorityWeights
from sim.policies import policy_named
from sim.report import (
    HEADERS,
    PLOTS,
    file_stem,
    order_words,
    plain_table,
    print_table,
    queue_series,
    step_means,
    summary_text,
    to_json,
    utilization_series,
    write_csvs,
    write_plots,
)
from sim.runner import RunResult, RunSpec, run_spec
from tests.sim.test_runner import TINY, write_trace

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def runs(tmp_path: Path) -> list[RunResult]:
    trace = write_trace(tmp_path / "tiny.swf", TINY)
    return [run_spec(RunSpec(trace=trace, policy=name)) for name in ("fcfs", "easy")]


@pytest.mark.parametrize(
    ("changes", "begin", "end", "bins", "expected"),
    [
        # level 2 on [0, 10), 0 after: bins [0, 5), [5, 10), [10, 15), [15, 20)
        ([(0, 2), (10, -2)], 0, 20, 4, [2.0, 2.0, 0.0, 0.0]),
        # a change inside a bin: level 1 from 5 on, bin [0, 10) has mean 0.5
        ([(5, 1)], 0, 20, 2, [0.5, 1.0]),
        # changes before the window count toward the starting level
        ([(-5, 3), (15, -1)], 0, 20, 2, [3.0, 2.5]),
        ([], 0, 10, 2, [0.0, 0.0]),
        ([(0, 1)], 5, 5, 3, [0.0, 0.0, 0.0]),  # an empty window
    ],
)
def test_step_means(
    changes: list[tuple[int, int]], begin: int, end: int, bins: int, expected: list[float]
) -> None:
    assert step_means(changes, begin, end, bins) == pytest.approx(expected)


def test_utilization_series_by_hand(runs: list[RunResult]) -> None:
    # FCFS on the tiny trace (tests/sim/test_runner.py), 4 processors, window [0, 350] in 7 bins
    # of 50 s: busy 2 on [0, 100), 4 on [100, 150), 3 on [150, 180), 1 on [180, 350).
    # Bin 3: (3 * 30 + 1 * 20) / 50 / 4 = 0.55.
    fcfs = runs[0]
    series = utilization_series(fcfs, bins=7)
    assert series == pytest.approx([0.5, 0.5, 1.0, 0.55, 0.25, 0.25, 0.25])
    assert math.fsum(series) / 7 == pytest.approx(fcfs.summary.utilization)


def test_queue_series_by_hand(runs: list[RunResult]) -> None:
    # FCFS pending jobs: 1 from 10, 2 from 20, 3 from 30, 2 from 100, 0 from 150.
    # Bin [0, 50): (1 * 10 + 2 * 10 + 3 * 20) / 50 = 1.8.
    series = queue_series(runs[0], bins=7)
    assert series == pytest.approx([1.8, 3.0, 2.0, 0.0, 0.0, 0.0, 0.0])


def test_plain_table(runs: list[RunResult]) -> None:
    text = plain_table(runs)
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:3] == ["policy", "jobs", "mean"]
    assert lines[1].split()[:4] == ["fcfs", "4", "85", "105"]
    assert lines[2].split()[:4] == ["easy", "4", "52", "45"]  # 52.5 rounds half to even


def test_print_table_plain_unless_a_terminal_or_asked(runs: list[RunResult]) -> None:
    plain = io.StringIO()
    print_table(runs, plain, title="tiny")
    assert plain.getvalue() == "tiny\n" + plain_table(runs)
    for stream, style in ((Terminal(), "auto"), (io.StringIO(), "rich")):
        print_table(runs, stream, style)  # type: ignore[arg-type]
        text = stream.getvalue()
        assert "fcfs" in text
        assert "easy" in text
        assert "─" in text  # Rich's rule under the header
    forced = Terminal()
    print_table(runs, forced, "plain")
    assert forced.getvalue() == plain_table(runs)
    assert len(HEADERS) == 10


def test_summary_text(runs: list[RunResult], tmp_path: Path) -> None:
    text = summary_text(runs[1])
    assert text.startswith(
        "tiny.swf: policy easy (EASY backfilling, FIFO order); machine: pool of 4"
    )
    assert "mean 52.5 s, median 45.0 s, p95 120 s, max 120 s" in text
    assert "mean bounded 1.60" in text
    wide = write_trace(tmp_path / "wide.swf", [*TINY, "5 40 -1 10 8 -1 -1 8 10" + " -1" * 9])
    text = summary_text(run_spec(RunSpec(trace=wide)))
    assert "1 dropped: can never run on this machine" in text


def test_order_words() -> None:
    assert order_words(policy_named("sjf")) == "shortest estimate first"
    assert order_words(policy_named("easy")) == "FIFO order"
    assert order_words(Policy(weights=PriorityWeights())) == "multifactor priority order"


def test_json_is_an_array_of_runs(runs: list[RunResult]) -> None:
    data = json.loads(to_json(runs))
    assert [run["policy"] for run in data] == ["fcfs", "easy"]
    assert data[0]["mean_wait_s"] == 85.0


def test_csvs(runs: list[RunResult], tmp_path: Path) -> None:
    paths = write_csvs(runs, tmp_path / "csv")
    assert [path.name for path in paths] == ["fcfs.csv", "easy.csv"]
    lines = paths[0].read_text().splitlines()
    assert lines[0].startswith("job_id,user,submit,start,end,wait")
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("label", "stem"),
    [("easy", "easy"), ("easy:bf_window_s=3600", "easy_bf_window_s_3600"), (":::", "run")],
)
def test_file_stem(label: str, stem: str) -> None:
    assert file_stem(label) == stem


def test_plots_are_pngs(runs: list[RunResult], tmp_path: Path) -> None:
    paths = write_plots(runs, tmp_path / "plots", bins=20)
    assert [path.name for path in paths] == list(PLOTS)
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 1000
