"""Reports of finished runs: a result table (Rich on a terminal, plain text otherwise), a short
summary of one run, JSON, per-job CSVs, and PNG plots (matplotlib, Agg backend).

Plots, one figure per kind with a line per run, over time since the first submit, in
`BINS` equal bins from the first submit to the last end (the window of ``utilization``):

- ``queue_length.png``: time-weighted mean of pending jobs per bin (sampled after every pass);
- ``utilization.png``: busy processor-seconds per bin / (capacity x bin width), computed from
  the job records; the bins' mean is the run's ``utilization``;
- ``wait_cdf.png``: the fraction of jobs that waited at most x seconds, x on a symlog axis
  (linear below 1 s, so the many zero waits show at 0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from scheduler import BackfillMode, Policy, QueueOrder
from sim.metrics import JobRecord, write_jobs_csv
from sim.policies import FIFO_WEIGHTS
from sim.runner import RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BINS = 200
PLOTS = ("queue_length.png", "utilization.png", "wait_cdf.png")
HEADERS = (
    "policy", "jobs", "mean\nwait s", "median\nwait s", "p95\nwait s", "max\nwait s",
    "mean\nbsld", "util", "makespan\ndays", "jobs/s",
)  # fmt: skip
TableStyle = Literal["auto", "rich", "plain"]
_BACKFILL_WORDS = {
    BackfillMode.FCFS: "no backfilling",
    BackfillMode.EASY: "EASY backfilling",
    BackfillMode.CONSERVATIVE: "conservative backfilling",
    BackfillMode.GREEDY: "greedy backfilling",
}


def table_rows(results: Iterable[RunResult]) -> list[tuple[str, ...]]:
    """One row of display strings per run, in `HEADERS` order."""
    rows: list[tuple[str, ...]] = []
    for result in results:
        s = result.summary
        rows.append(
            (
                result.label,
                f"{s.jobs:,}",
                f"{s.mean_wait_s:,.0f}",
                f"{s.median_wait_s:,.0f}",
                f"{s.p95_wait_s:,}",
                f"{s.max_wait_s:,}",
                f"{s.mean_bounded_slowdown:,.2f}",
                f"{s.utilization:.3f}",
                f"{s.makespan_s / 86400:,.1f}",
                f"{result.jobs_per_s:,.0f}",
            )
        )
    return rows


def plain_table(results: Iterable[RunResult]) -> str:
    """The result table as aligned text: the policy left-aligned, numbers right-aligned."""
    rows = [tuple(header.replace("\n", " ") for header in HEADERS), *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def print_table(
    results: Sequence[RunResult], stream: IO[str], style: TableStyle = "auto", title: str = ""
) -> None:
    """Write the result table: Rich when ``style`` is rich, or auto and ``stream`` is a
    terminal; plain text otherwise."""
    if style == "plain" or (style == "auto" and not stream.isatty()):
        stream.write((f"{title}\n" if title else "") + plain_table(results))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    rows = table_rows(results)
    table = Table(title=title or None, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0, 0, 1))
    table.add_column(HEADERS[0], overflow="fold")
    for header in HEADERS[1:]:  # numbers are never cut; the label folds
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    Console(file=stream).print(table)


def order_words(policy: Policy) -> str:
    """How the queue is ordered, in words: FIFO (submit time, job id) for a trace replay's zero
    weights."""
    if policy.queue_order is QueueOrder.SHORTEST_FIRST:
        return "shortest estimate first"
    if policy.weights == FIFO_WEIGHTS:
        return "FIFO order"
    return "multifactor priority order"


def summary_text(result: RunResult) -> str:
    """A short human summary of one run."""
    s = result.summary
    policy = f"{_BACKFILL_WORDS[result.policy.backfill]}, {order_words(result.policy)}"
    wait = f"mean {s.mean_wait_s:,.1f} s, median {s.median_wait_s:,.1f} s"
    wait += f", p95 {s.p95_wait_s:,} s, max {s.max_wait_s:,} s"
    slowdown = f"mean bounded {s.mean_bounded_slowdown:,.2f}, max {s.max_bounded_slowdown:,.2f}"
    usage = f"{s.utilization:.1%} over a makespan of {s.makespan_s:,} s"
    usage += f" ({s.makespan_s / 86400:,.1f} days)"
    speed = f"{result.sim_wall_s:.2f} s, {result.jobs_per_s:,.0f} jobs/s"
    lines = [
        f"{result.trace}: policy {result.label} ({policy}); machine: {result.machine}",
        f"  jobs         {s.jobs:,} of {s.users:,} users",
        f"  wait         {wait}",
        f"  slowdown     {slowdown} (tau 10 s)",
        f"  utilization  {usage}",
        f"  fairness     Jain's index {s.jain_fairness:.3f}",
        f"  simulated    in {speed}, {result.sim.passes:,} passes",
    ]
    for cause, count in result.report:
        lines.append(f"  trace        {count:,} {cause}")
    if result.sim.unfinished:
        lines.append(f"  unfinished   {len(result.sim.unfinished):,} jobs never started")
    return "\n".join(lines) + "\n"


def to_json(results: Sequence[RunResult]) -> str:
    """A JSON array with each run's `RunResult.as_dict`."""
    return json.dumps([result.as_dict() for result in results], indent=2)


def file_stem(label: str) -> str:
    """A file-name-safe run label: ``easy:bf_window_s=3600`` -> ``easy_bf_window_s_3600``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", label).strip("_") or "run"


def write_csvs(results: Sequence[RunResult], directory: Path) -> list[Path]:
    """One per-job CSV per run (`sim.metrics.write_jobs_csv`), named after the run's label."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for result in results:
        path = directory / f"{file_stem(result.label)}.csv"
        with path.open("w", encoding="utf-8", newline="") as stream:
            write_jobs_csv(result.sim.records, stream)
        paths.append(path)
    return paths


def step_means(changes: Sequence[tuple[int, int]], begin: int, end: int, bins: int) -> list[float]:
    """Time-weighted means over ``bins`` equal bins of ``[begin, end]`` of a step function that
    is 0 before its first change and moves by ``delta`` at each ``(time, delta)`` of
    ``changes`` (sorted by time). An empty window gives zeros."""
    if end <= begin:
        return [0.0] * bins
    width = (end - begin) / bins
    means, level, i, n = [], 0.0, 0, len(changes)
    while i < n and changes[i][0] <= begin:
        level += changes[i][1]
        i += 1
    left: float = begin
    for k in range(1, bins + 1):
        right = begin + k * width if k < bins else end
        area, t = 0.0, left
        while i < n and changes[i][0] < right:
            area += level * (changes[i][0] - t)
            t = changes[i][0]
            level += changes[i][1]
            i += 1
        area += level * (right - t)
        means.append(area / (right - left))
        left = right
    return means


def _window(records: Sequence[JobRecord]) -> tuple[int, int]:
    if not records:
        return 0, 0
    return min(r.submit for r in records), max(r.end for r in records)


def utilization_series(result: RunResult, bins: int = BINS) -> list[float]:
    """Busy fraction of the processors per bin (see the module docstring)."""
    records = result.sim.records
    changes = sorted([(r.start, r.procs) for r in records] + [(r.end, -r.procs) for r in records])
    begin, end = _window(records)
    return [mean / result.capacity for mean in step_means(changes, begin, end, bins)]


def queue_series(result: RunResult, bins: int = BINS) -> list[float]:
    """Mean number of pending jobs per bin (see the module docstring)."""
    changes, previous = [], 0
    for time, length in zip(result.queue_times, result.queue_lengths, strict=True):
        changes.append((time, length - previous))
        previous = length
    begin, end = _window(result.sim.records)
    return step_means(changes, begin, end, bins)


def write_plots(results: Sequence[RunResult], directory: Path, bins: int = BINS) -> list[Path]:
    """The three PNGs of the module docstring in ``directory``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    directory.mkdir(parents=True, exist_ok=True)
    span = max((_window(r.sim.records)[1] - _window(r.sim.records)[0] for r in results), default=0)
    unit, unit_name = (86400, "days") if span >= 2 * 86400 else (3600, "hours")
    trace = ", ".join(sorted({r.trace for r in results}))
    paths = []
    kinds = (
        ("queue_length.png", "pending jobs (mean per bin)", queue_series),
        ("utilization.png", "utilization (busy / capacity)", utilization_series),
    )
    for name, ylabel, series in kinds:
        figure = Figure(figsize=(9, 4.5), layout="constrained")
        axes = figure.add_subplot()
        for result in results:
            begin, end = _window(result.sim.records)
            values = series(result, bins)
            times = [(k + 0.5) * (end - begin) / bins / unit for k in range(bins)]
            axes.plot(times, values, label=result.label, linewidth=1)
        axes.set(xlabel=f"{unit_name} since the first submit", ylabel=ylabel, title=trace)
        axes.legend()
        paths.append(_save(figure, directory / name))
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for result in results:
        waits = sorted(r.wait for r in result.sim.records)
        fractions = [(i + 1) / len(waits) for i in range(len(waits))]
        axes.step(waits, fractions, where="post", label=result.label, linewidth=1)
    axes.set_xscale("symlog", linthresh=1)
    axes.set(xlabel="wait (s, symlog)", ylabel="fraction of jobs", title=f"waits, {trace}")
    axes.legend()
    paths.append(_save(figure, directory / PLOTS[2]))
    return paths


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=100)
    return path
