"""Several runs on the same trace in parallel processes, with progress and a clean Ctrl-C.

`compare` checks every `RunSpec` first (a bad policy or a missing file fails before any process
starts), then runs them on a `ProcessPoolExecutor` of ``workers`` processes (default: one per
CPU, never more than there are runs), started with ``spawn`` so no thread of the caller (Rich's
refresh thread, for one) is forked. Each worker reports ``(run, jobs started, jobs)`` on a queue
at most every 0.2 s of wall time (`sim.runner`); the caller's ``on_update`` gets them.

Ctrl-C: the workers ignore SIGINT (a terminal sends it to the whole process group; the pool's
processes inherit the ignored disposition, so none prints a traceback). The caller gets
`KeyboardInterrupt`, cancels the runs not started, terminates the workers and returns an
`Outcome` with ``interrupted`` set and the runs that had finished. An exception in a run (a
malformed trace) stops the others the same way and is raised again.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queues
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sim.runner import RunResult, RunSpec, check, run_spec

Update = Callable[[int, int, int], None]  # (run index, jobs started, jobs in the run)
Done = Callable[[int, RunResult], None]  # (run index, its result)
_POLL_S = 0.1
_progress_queue: Any = None  # the worker's end of the progress queue (set by _start_worker)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The runs' results in spec order (None: did not finish), and whether Ctrl-C stopped it."""

    results: tuple[RunResult | None, ...]
    interrupted: bool

    @property
    def finished(self) -> tuple[RunResult, ...]:
        return tuple(result for result in self.results if result is not None)


def compare(
    specs: Sequence[RunSpec],
    *,
    workers: int | None = None,
    on_update: Update | None = None,
    on_done: Done | None = None,
) -> Outcome:
    """Run ``specs`` in parallel processes (see the module docstring).

    :raises SpecError, PolicyError, ConfigError: from `sim.runner.check`, before anything runs.
    :raises TraceFormatError, OSError: from a run; the other runs are stopped first.
    """
    for spec in specs:
        check(spec)
    results: list[RunResult | None] = [None] * len(specs)
    if not specs:
        return Outcome(results=(), interrupted=False)
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    count = max(1, min(workers or os.cpu_count() or 1, len(specs)))
    with _sigint_ignored():  # the workers start with SIGINT ignored
        pool = ProcessPoolExecutor(
            count, mp_context=context, initializer=_start_worker, initargs=(progress,)
        )
        futures = {pool.submit(_run, index, spec): index for index, spec in enumerate(specs)}
    interrupted = False
    try:
        waiting: set[Future[RunResult]] = set(futures)
        while waiting:
            done, waiting = wait(waiting, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            _drain(progress, on_update)
            for future in done:
                index = futures[future]
                results[index] = future.result()
                if on_done is not None:
                    on_done(index, future.result())
    except KeyboardInterrupt:
        interrupted = True
        _stop(pool)
    except BaseException:
        _stop(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        progress.close()
        progress.cancel_join_thread()
    return Outcome(results=tuple(results), interrupted=interrupted)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _drain(progress: Any, on_update: Update | None) -> None:
    while True:
        try:
            index, started, total = progress.get_nowait()
        except queues.Empty:
            return
        if on_update is not None:
            on_update(index, started, total)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now (3.11 has no public call for the
    second half; Python 3.14's ``terminate_workers`` is used where it exists)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def _start_worker(progress: Any) -> None:
    global _progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _progress_queue = progress


def _run(index: int, spec: RunSpec) -> RunResult:
    def report(started: int, total: int) -> None:
        _progress_queue.put((index, started, total))

    return run_spec(spec, progress=report)
