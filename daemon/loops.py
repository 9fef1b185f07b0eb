"""The daemon's background work: the scheduling pass loop, and periodic housekeeping run by
APScheduler 3 (``AsyncIOScheduler``; 4.x is still a pre-release).

| loop | every | what |
|---|---|---|
| pass | `scheduler.next_pass_at` | debounced after submits and ends, and periodic |
| time limits | 15 s | a backstop to the executors' own enforcement |
| fair-share decay | ``usage_flush_interval`` | decay the usage, write it to the store |
| accounting roll-up | 30 s | jobs finished before ``MinJobAge`` leave the mirror, not the store |
| step warnings | 1 s | ``--signal=SIG@T`` to the steps of jobs T seconds from their limit |
| GPU health | 30 s | NVML readings for /metrics; a broken GPU drains its node with the reason |
| heartbeats | 5 s | ``berth node`` agents silent for ``heartbeat_timeout``: node DOWN, runs LOST |
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from daemon import housekeeping
from daemon.controller import Controller

log = logging.getLogger("berth.loops")


class Loops:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._scheduler: AsyncIOScheduler | None = None
        self._pass_task: asyncio.Task[None] | None = None
        self._started = 0

    async def start(self) -> None:
        ctl = self.controller
        self._started = ctl.clock.now()
        for executor in ctl.all_executors():
            await executor.start(ctl.on_end)
        await ctl.recover()
        self._pass_task = asyncio.get_running_loop().create_task(ctl.run_forever())
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
        every = functools.partial(self._every, scheduler)
        every(15, "time limits", functools.partial(housekeeping.enforce_limits, ctl))
        every(ctl.settings.usage_flush_interval_s, "fair-share decay",
              functools.partial(housekeeping.flush_usage, ctl))  # fmt: skip
        every(30, "accounting roll-up", self._purge)
        every(5, "heartbeats", self._heartbeats)
        every(1, "step warnings", functools.partial(housekeeping.warn_steps, ctl))
        every(30, "GPU health", functools.partial(housekeeping.check_gpus, ctl))
        scheduler.start()
        self._scheduler = scheduler

    async def _heartbeats(self) -> None:
        from daemon.agents import check_heartbeats

        ctl = self.controller
        await check_heartbeats(ctl, ctl.settings.heartbeat_timeout_s, self._started)

    async def _purge(self) -> None:
        housekeeping.purge(self.controller)

    @staticmethod
    def _every(
        scheduler: AsyncIOScheduler, seconds: int, name: str, job: Callable[[], Awaitable[None]]
    ) -> None:
        async def run() -> None:
            try:
                await job()
            except Exception:  # a failing loop is logged and runs again next time
                log.exception("%s loop failed", name)

        scheduler.add_job(run, "interval", seconds=seconds, name=name, max_instances=1,
                          coalesce=True)  # fmt: skip

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if self._pass_task is not None:
            self._pass_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pass_task
        ctl = self.controller
        await housekeeping.flush_usage(ctl)
        for executor in ctl.all_executors():
            await executor.stop()
