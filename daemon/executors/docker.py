"""The Docker executor: each batch job runs in its own container on this node.

The modules beside it: `dockerspec` (what the container is made of: limits, mounts, user,
GPUs, how output reaches the job's files), `dockerrecords` (names, labels, reading an end from
a container's state), `dockerengine` (every blocking call to the engine), `dockerevents` (the
client and the event stream). This module runs the containers' lives on the event loop.

**The engine is called from threads.** The docker SDK is synchronous, so every call runs in
`asyncio.to_thread`, and one thread of its own follows the engine's ``die`` events for this
node's containers to wake the watcher at once; the watcher also polls (one ``list`` request
per ``poll_interval_s``) in case an event is lost. Transport errors (`requests` exceptions: the
engine restarting, a timeout) are transient: the watcher tries again at its next poll, a launch
retries a few times before it gives up as LAUNCH_FAILED.

**Durable records**, so that nothing depends on this process staying alive:

* the container: named ``berth-<node>-<job>.<restart>`` (the engine refuses a second one,
  which makes `DockerExecutor.launch` idempotent) and labelled ``berth.job_id``,
  ``berth.restart``, ``berth.node``, ``berth.user`` plus its timers (deadline, ``kill_wait``,
  ``--signal``), so an executor that finds it after a restart enforces the same limits;
* ``<run_root>/<job>.<restart>/``: ``script`` (mounted read-only), ``stop.json`` (written
  before the executor sends SIGTERM: which end it asked for, and when) and ``end.json``. The end
  is written before the container is removed, so a run is "ended" for ever after, and a repeated
  launch or a reconcile never starts it again.

**Time limits are the executor's.** ``Container.wait(timeout=)`` is an HTTP timeout, not a time
limit, and the engine has none: at the deadline the watcher sends SIGTERM, SIGKILL
``kill_wait`` later, and the end is TIMEOUT; `kill` does the same and the end is KILLED. While
no executor runs (the daemon is down) nobody enforces the limit: an adopted container past its
deadline is stopped at once, one that ended meanwhile is judged by ``stop.json``.

**Reconcile** lists the node's containers by label: running -> adopted (watched, timers
re-armed from the labels, a stop under way resumed), exited -> its end recorded from the
container's state, then the container removed; created but never started -> removed and
reported unknown (launched again); absent -> the end in ``end.json``, else unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signals
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.clock import Clock, SystemClock
from daemon.executors.base import EndCallback, EndCause, LaunchSpec, Reconciled, RunKey
from daemon.executors.dockerengine import ALIVE, Engine, Found
from daemon.executors.dockerevents import (
    DEFAULT_SOCKET,
    Connect,
    EventFollower,
    connect_engine,
    engine_socket,
)
from daemon.executors.dockerrecords import Timers, write_stop
from daemon.settings import DockerSettings

log = logging.getLogger(__name__)

_NEAR_S = 0.1  # poll period in the last second before a timer


@dataclass(slots=True)
class _Run:
    """A run being watched, and how far its stop has gone."""

    name: str
    timers: Timers
    warned: bool = False
    stopping: EndCause | None = None
    kill_at: float | None = None  # clock.monotonic() at which SIGKILL is due
    killed: bool = False


class DockerExecutor:
    """Runs jobs as containers; records under ``run_root`` (see the module docstring).

    ``settings``: the site's ``[docker]`` table. ``connect``: makes an engine client (the event
    stream gets one of its own). ``gpu_runtime``: None to ask the engine at `start`.
    ``engine_socket``: the path no job may mount (default: the one ``DOCKER_HOST`` names).
    """

    def __init__(
        self,
        run_root: Path,
        *,
        node_name: str,
        settings: DockerSettings | None = None,
        poll_interval_s: float = 1.0,
        clock: Clock | None = None,
        connect: Connect = connect_engine,
        gpu_runtime: bool | None = None,
        engine_socket: str | None = None,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._engine = Engine(
            run_root, node=node_name, settings=settings or DockerSettings(), clock=self._clock,
            connect=connect, engine_socket=engine_socket or engine_socket_path(),
            gpu_runtime=gpu_runtime,
        )  # fmt: skip
        self._node = node_name
        self._connect = connect
        self._poll_interval_s = poll_interval_s
        self._runs: dict[RunKey, _Run] = {}
        self._reported: set[RunKey] = set()
        self._launching: dict[RunKey, asyncio.Task[None]] = {}
        self._on_end: EndCallback | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._died: set[str] = set()  # containers the engine said died, not yet collected
        self._events: EventFollower | None = None

    @property
    def default_image(self) -> str:
        return self._engine.settings.default_image

    @property
    def gpu_runtime(self) -> bool | None:
        return self._engine.gpu_runtime

    # -- the contract ---------------------------------------------------------------------------

    async def start(self, on_end: EndCallback) -> None:
        self._on_end = on_end
        if self._task is not None:
            return
        try:
            await asyncio.to_thread(self._engine.probe_gpus)
        except Exception as error:  # noqa: BLE001 - asked again at the first GPU job
            log.warning("cannot ask Docker on node %s about its runtimes: %s", self._node, error)
        self._events = EventFollower(self._connect, self._node, self._on_die,
                                     asyncio.get_running_loop())  # fmt: skip
        self._events.start()
        self._task = asyncio.create_task(self._watch(), name=f"docker-executor-{self._node}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        events, self._events = self._events, None
        if events is not None:
            await asyncio.to_thread(events.stop)
        await asyncio.to_thread(self._engine.close)

    async def launch(self, spec: LaunchSpec) -> None:
        key = spec.key
        if key in self._reported or key in self._runs:
            return
        task = self._launching.get(key)
        if task is None:  # else a launch of this run is under way: wait for that one
            task = asyncio.create_task(asyncio.to_thread(self._engine.launch, spec))
            self._launching[key] = task
            task.add_done_callback(lambda _: self._launching.pop(key, None))
        await asyncio.shield(task)
        if key not in self._reported:
            self._runs.setdefault(key, _Run(self._engine.name(key), Timers.of(spec)))
            self._wake.set()

    async def signal(self, key: RunKey, signum: int, *, batch_only: bool) -> bool:
        return await asyncio.to_thread(self._engine.signal, key, signum, batch_only)

    async def kill(self, key: RunKey) -> None:
        run = self._runs.get(key)
        if run is None:
            found = await asyncio.to_thread(self._engine.found_alive, key)
            if found is None:
                return  # not running here: its end is (or was) reported
            run = self._runs.setdefault(key, self._rearm(found))
        if run.stopping is None:
            await self._begin_stop(key, run, EndCause.KILLED)

    async def reconcile(self, expected: Sequence[RunKey]) -> Reconciled:
        found, alive = await asyncio.to_thread(self._engine.reconcile, tuple(expected))
        for key, container in alive.items():
            self._runs.setdefault(key, self._rearm(container))
        self._wake.set()
        return found

    # -- watching -------------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that arrives
            # as the event is set, and stop() would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._next_wake_s()):
                    await self._wake.wait()
            self._wake.clear()
            if not self._runs:
                continue
            try:
                listing = await asyncio.to_thread(self._engine.listing)
            except Exception as error:  # noqa: BLE001 - the watcher outlives any failure
                log.warning("cannot list the containers of node %s: %s", self._node, error)
                continue
            died, self._died = self._died, set()
            for key in sorted(self._runs, key=lambda k: (k.job_id, k.restart_count)):
                run = self._runs.get(key)
                if run is None:
                    continue
                try:
                    # Right after a "die" event the engine's list may still say "running".
                    if run.name in died or listing.get(run.name, {}).get("State") not in ALIVE:
                        await self._collect(key, run)
                    else:
                        await self._tick(key, run)
                except Exception as error:  # noqa: BLE001 - tried again at the next poll
                    log.warning("job %s on node %s: %s", key.job_id, self._node, error)

    def _on_die(self, name: str) -> None:
        self._died.add(name)
        self._wake.set()

    def _next_wake_s(self) -> float:
        """Until the next poll, or the next timer when it comes sooner."""
        wait = self._poll_interval_s
        now, ticks = self._clock.now(), self._clock.monotonic()
        for run in self._runs.values():
            timers = run.timers
            if timers.deadline is not None and run.stopping is None:
                due = [timers.deadline]
                if timers.signal_number is not None and not run.warned:
                    due.append(timers.deadline - timers.signal_before_s)
                # now() counts whole seconds: poll closely through the last one.
                wait = min(wait, *(_NEAR_S if at - now <= 1 else at - now - 1 for at in due))
            if run.kill_at is not None and not run.killed:
                wait = min(wait, max(0.0, run.kill_at - ticks))
        return wait

    async def _tick(self, key: RunKey, run: _Run) -> None:
        timers, now = run.timers, self._clock.now()
        warn_at = None if timers.deadline is None else timers.deadline - timers.signal_before_s
        due = warn_at is not None and now >= warn_at
        if timers.signal_number is not None and not run.warned and due:
            run.warned = True
            await self.signal(key, timers.signal_number, batch_only=timers.signal_batch_only)
        if run.stopping is None and timers.deadline is not None and now >= timers.deadline:
            await self._begin_stop(key, run, EndCause.TIMEOUT)
        elif run.kill_at is not None and not run.killed and self._clock.monotonic() >= run.kill_at:
            run.killed = True
            await asyncio.to_thread(self._engine.send, run.name, signals.SIGKILL)

    async def _begin_stop(self, key: RunKey, run: _Run, cause: EndCause) -> None:
        """SIGCONT and SIGTERM to every process of the job; SIGKILL after the grace."""
        run.stopping = cause
        run.kill_at = self._clock.monotonic() + run.timers.kill_wait_s
        await asyncio.to_thread(write_stop, self._engine.run_dir(key), cause, self._clock.now())
        await asyncio.to_thread(self._engine.send, run.name, signals.SIGCONT, signals.SIGTERM)
        self._wake.set()

    async def _collect(self, key: RunKey, run: _Run) -> None:
        """Report a run whose container is no longer alive, then remove the container."""
        end = await asyncio.to_thread(self._engine.finish, key, run.stopping)
        if end is None:  # alive after all (a "die" seen early): look again soon
            await self._tick(key, run)
            return
        if self._on_end is None:
            return
        try:
            await self._on_end(end)
        except Exception:
            log.exception("reporting the end of job %s failed; retrying", key.job_id)
            return
        self._runs.pop(key, None)
        self._reported.add(key)
        await asyncio.to_thread(self._engine.remove, run.name)

    def _rearm(self, found: Found) -> _Run:
        """A run found alive after a restart: its timers from its labels, its stop resumed."""
        run = _Run(found.name, found.timers)
        if found.stop is not None:
            cause, term_at = found.stop
            left = max(0, term_at + found.timers.kill_wait_s - self._clock.now())
            run.stopping, run.kill_at = cause, self._clock.monotonic() + left
        return run


def engine_socket_path() -> str:
    return engine_socket() or DEFAULT_SOCKET


if TYPE_CHECKING:
    from daemon.executors.base import Executor

    _: type[Executor] = DockerExecutor
