"""``berth sim`` (one run) and ``berth sim compare`` (several, in parallel processes).

Only the standard library is imported here at start; `sim`, Rich and matplotlib are imported
inside the command functions. Bad input (a missing or malformed trace, an unknown policy, a bad
cluster file) prints one line ``berth sim: error: ...`` on stderr and exits 2; Ctrl-C stops
cleanly, says so on stderr and exits 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.runner import RunResult, RunSpec

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
COMPARE_DEFAULT = ("fcfs", "easy", "conservative")


def main(argv: Sequence[str]) -> int:
    """``berth sim ARGS``: ``compare`` first runs the comparison, anything else one run."""
    args = list(argv)
    try:
        if args[:1] == ["compare"]:
            return _compare(_parser(compare=True).parse_args(args[1:]))
        return _single(_parser(compare=False).parse_args(args))
    except BrokenPipeError:  # `berth sim ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser(*, compare: bool) -> argparse.ArgumentParser:
    if compare:
        parser = argparse.ArgumentParser(
            prog="berth sim compare",
            description="Replay one trace under several policies or parameter sets in parallel "
            "processes; print one result table (or --json), write per-job CSVs and PNG plots.",
        )
    else:
        parser = argparse.ArgumentParser(
            prog="berth sim",
            description="Replay a workload trace (SWF) through Berth's policy core on a virtual "
            "clock and print its metrics. `berth sim compare --help` compares policies.",
        )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--trace", metavar="FILE", help="an SWF trace, plain or gzipped")
    source.add_argument("--demo", action="store_true", help="the bundled 2,000-job KTH-SP2 slice")
    if compare:
        parser.add_argument(
            "--policy", action="append", metavar="NAME[:KEY=VALUE,...]",
            help="a policy or parameter set, repeatable (default: fcfs, easy, conservative); "
            "e.g. --policy easy --policy conservative:bf_window_s=3600",
        )  # fmt: skip
        parser.add_argument("--jobs", type=int, metavar="N", help="worker processes (CPUs)")
        parser.add_argument("--csv", metavar="DIR", help="write one per-job CSV per run here")
        parser.add_argument("--table", choices=("auto", "rich", "plain"), default="auto")
    else:
        parser.add_argument(
            "--policy", default="easy", metavar="NAME[:KEY=VALUE,...]",
            help="fcfs, easy (default), conservative, fcfs-greedy, sjf, sjf-easy, sjf-greedy, "
            "rl-fcfs, rl-sjf, rl-fcfs-greedy, rl-sjf-greedy, or site (the cluster file's "
            "[policy]); KEY=VALUE overrides Policy fields",
        )  # fmt: skip
        parser.add_argument("--csv", metavar="FILE", help="write one line per job here")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--plots", metavar="DIR", help="write queue, utilization, wait PNGs")
    machine = parser.add_argument_group("machine (default: the trace's MaxProcs as one pool)")
    machine.add_argument("--cluster", metavar="TOML", help="a berth.toml: nodes, partitions")
    machine.add_argument("--procs", type=int, metavar="N", help="a pool of N processors")
    machine.add_argument("--nodes", type=int, metavar="N", help="N nodes (with --cores)")
    machine.add_argument("--cores", type=int, metavar="C", help="C cores per node")
    machine.add_argument(
        "--whole-nodes", action="store_true", help="jobs take whole nodes (RLScheduler)"
    )
    jobs = parser.add_argument_group("jobs")
    jobs.add_argument("--first", type=int, metavar="N", help="only the first N jobs")
    jobs.add_argument(
        "--window", type=int, nargs=2, metavar=("START", "SIZE"), help="jobs START..START+SIZE-1"
    )
    jobs.add_argument(
        "--rules", choices=("pwa", "rlscheduler"), default="pwa",
        help="SWF cleaning: VALIDATION.md section A (pwa, default) or B (rlscheduler)",
    )  # fmt: skip
    jobs.add_argument(
        "--events", choices=("batched", "singly"), default="batched",
        help="at one instant: every end, a pass, every submit, a pass (batched, default, "
        "section A), or one event per pass, submits first (singly, RLScheduler, section B)",
    )  # fmt: skip
    jobs.add_argument(
        "--kill-at-limit", action="store_true",
        help="kill jobs at their estimate (default: run to the trace's run time, as section A)",
    )  # fmt: skip
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bars on stderr (default: when stderr is a terminal)",
    )  # fmt: skip
    return parser


@contextmanager
def _trace(args: argparse.Namespace) -> Iterator[str]:
    if args.demo:
        from sim.runner import demo_trace

        with demo_trace() as path:
            yield path
    elif args.trace is None:
        raise _Usage("give --trace FILE (an SWF trace) or --demo")
    else:
        yield args.trace


class _Usage(Exception):
    """A one-line usage problem found after argparse."""


def _spec(args: argparse.Namespace, trace: str, policy: str) -> RunSpec:
    from sim.runner import RunSpec

    return RunSpec(
        trace=trace,
        policy=policy,
        cluster=args.cluster,
        procs=args.procs,
        nodes=args.nodes,
        cores=args.cores,
        whole_nodes=args.whole_nodes,
        first=args.first,
        window=tuple(args.window) if args.window else None,
        rules=args.rules,
        kill_at_limit=args.kill_at_limit,
        events=args.events,
    )


def _errors() -> tuple[type[BaseException], ...]:
    from scheduler import BerthError
    from sim.policies import PolicyError
    from sim.runner import SpecError
    from sim.workloads import TraceFormatError

    return (_Usage, OSError, SpecError, PolicyError, TraceFormatError, BerthError)


def _fail(err: BaseException) -> int:
    if isinstance(err, OSError) and err.filename is not None:
        message = f"{err.filename}: {err.strerror}"
    else:
        message = str(err)
    print(f"berth sim: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _show_progress(args: argparse.Namespace) -> bool:
    return bool(args.progress) if args.progress is not None else sys.stderr.isatty()


def _progress_bars(show: bool, *, transient: bool) -> Any:
    if not show:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("jobs started"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=transient,
    )


def _single(args: argparse.Namespace) -> int:
    from sim.report import summary_text
    from sim.runner import check, run_spec

    seen = [0, 0]  # jobs started, jobs: the latest progress report
    try:
        with _trace(args) as trace, _progress_bars(_show_progress(args), transient=True) as bars:
            spec = _spec(args, trace, args.policy)
            check(spec)
            task = bars.add_task(spec.name, total=None) if bars is not None else None

            def progress(started: int, total: int) -> None:
                seen[:] = [started, total]
                if bars is not None:
                    bars.update(task, completed=started, total=total)

            result = run_spec(spec, progress=progress)
    except KeyboardInterrupt:
        done = f" after {seen[0]:,} of {seen[1]:,} jobs had started" if seen[1] else ""
        print(f"interrupted: the run stopped{done}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _errors() as err:
        return _fail(err)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        sys.stdout.write(summary_text(result))
    _write_files(args, [result], csv_file=args.csv)
    return 0


def _write_files(
    args: argparse.Namespace, results: Sequence[RunResult], *, csv_file: str | None = None
) -> None:
    from sim.report import write_csvs, write_plots

    written: list[Path] = []
    if csv_file is not None:
        from sim.metrics import write_jobs_csv

        with open(csv_file, "w", encoding="utf-8", newline="") as stream:
            write_jobs_csv(results[0].sim.records, stream)
        written.append(Path(csv_file))
    elif getattr(args, "csv", None) and results:
        written += write_csvs(results, Path(args.csv))
    if args.plots and results:
        written += write_plots(results, Path(args.plots))
    for path in written:
        print(f"wrote {path}", file=sys.stderr)


def _compare(args: argparse.Namespace) -> int:
    from sim.compare import compare
    from sim.report import print_table, to_json

    names = args.policy or list(COMPARE_DEFAULT)
    outcome = None
    try:
        if args.jobs is not None and args.jobs < 1:
            raise _Usage(f"--jobs must be at least 1, got {args.jobs}")
        with _trace(args) as trace, _progress_bars(_show_progress(args), transient=False) as bars:
            specs = [_spec(args, trace, name) for name in names]
            tasks = [bars.add_task(spec.name, total=None) for spec in specs] if bars else []

            def update(index: int, started: int, total: int) -> None:
                if bars is not None:
                    bars.update(tasks[index], completed=started, total=total)

            def done(index: int, result: RunResult) -> None:
                if bars is not None:
                    jobs = result.summary.jobs + len(result.sim.unfinished)
                    bars.update(tasks[index], completed=jobs, total=jobs)

            outcome = compare(specs, workers=args.jobs, on_update=update, on_done=done)
    except KeyboardInterrupt:
        pass
    except _errors() as err:
        return _fail(err)
    finished = outcome.finished if outcome is not None else ()
    if args.json:
        print(to_json(finished))
    elif finished:
        title = f"{finished[0].trace}; machine: {finished[0].machine}"
        print_table(finished, sys.stdout, args.table, title=title)
    _write_files(args, finished)
    if outcome is None or outcome.interrupted:
        print(f"interrupted: {len(finished)} of {len(names)} runs finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
