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
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

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
        self._every(scheduler, 15, "time limits", ctl.enforce_limits)
        self._every(scheduler, ctl.settings.usage_flush_interval_s, "fair-share decay",
                    ctl.flush_usage)  # fmt: skip
        self._every(scheduler, 30, "accounting roll-up", self._purge)
        self._every(scheduler, 5, "heartbeats", self._heartbeats)
        self._every(scheduler, 1, "step warnings", ctl.warn_steps)
        self._every(scheduler, 30, "GPU health", ctl.check_gpus)
        scheduler.start()
        self._scheduler = scheduler

    async def _heartbeats(self) -> None:
        from daemon.agents import check_heartbeats

        ctl = self.controller
        await check_heartbeats(ctl, ctl.settings.heartbeat_timeout_s, self._started)

    async def _purge(self) -> None:
        self.controller.purge()

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
        await ctl.flush_usage()
        for executor in ctl.all_executors():
            await executor.stop()
