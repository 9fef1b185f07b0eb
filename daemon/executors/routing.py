"""One node, two ways to run a job: jobs with an image in containers, the others as processes.

A node whose Docker engine answers runs every job that names an image (``--container-image``,
or the site's ``[docker] default_image``) in a container, and a job without one as plain
processes, so turning Docker on never breaks the scripts a lab already runs. Each run goes to
exactly one of the two, chosen from its spec at launch; after a restart the containers are
asked first (reconcile finds a run by its container or the container's ``end.json``) and the
runs they do not know are asked of the process executor.

A node without containers (``containers=None``: no engine, or ``executor = "process"``) ends a
job that names an image as LAUNCH_FAILED rather than run it on the host, outside the image it
asked for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from daemon.clock import Clock, SystemClock
from daemon.executors.base import (
    EndCallback,
    EndCause,
    Executor,
    LaunchSpec,
    Reconciled,
    RunEnd,
    RunKey,
)

if TYPE_CHECKING:
    from daemon.executors.docker import DockerExecutor

log = logging.getLogger(__name__)


class RoutingExecutor:
    def __init__(self, containers: DockerExecutor | None, processes: Executor, *,
                 node_name: str = "", clock: Clock | None = None) -> None:  # fmt: skip
        self.containers = containers
        self.processes = processes
        self._node = node_name
        self._clock: Clock = clock or SystemClock()
        self._routes: dict[RunKey, Executor] = {}
        self._refused: dict[RunKey, RunEnd] = {}
        self._on_end: EndCallback | None = None

    def _executors(self) -> list[Executor]:
        return [self.processes] if self.containers is None else [self.containers, self.processes]

    async def start(self, on_end: EndCallback) -> None:
        self._on_end = on_end
        for executor in self._executors():
            await executor.start(on_end)

    async def stop(self) -> None:
        await asyncio.gather(*(executor.stop() for executor in self._executors()))

    async def launch(self, spec: LaunchSpec) -> None:
        if self.containers is None and spec.image:
            await self._refuse(spec)
            return
        wants_container = self.containers is not None and bool(
            spec.image or self.containers.default_image
        )
        executor = self.containers if wants_container and self.containers else self.processes
        await self._routes.setdefault(spec.key, executor).launch(spec)

    async def _refuse(self, spec: LaunchSpec) -> None:
        if spec.key in self._refused:
            return  # reported once
        end = RunEnd(key=spec.key, cause=EndCause.LAUNCH_FAILED, end_time=self._clock.now(),
                     message=f"the job asks for image {spec.image}, but node {self._node} runs "
                     "no containers (no Docker engine answered when the daemon started, or "
                     'the site set [daemon] executor = "process")')  # fmt: skip
        self._refused[spec.key] = end
        if self._on_end is not None:
            await self._on_end(end)

    async def signal(self, key: RunKey, signum: int, *, batch_only: bool) -> bool:
        for executor in self._candidates(key):
            if await executor.signal(key, signum, batch_only=batch_only):
                return True
        return False

    async def kill(self, key: RunKey) -> None:
        for executor in self._candidates(key):
            await executor.kill(key)  # a run unknown to one of them is a no-op there

    async def reconcile(self, expected: Sequence[RunKey]) -> Reconciled:
        refused = tuple(self._refused[key] for key in expected if key in self._refused)
        rest = [key for key in expected if key not in self._refused]
        in_containers = Reconciled(unknown=tuple(rest))
        if self.containers is not None:
            in_containers = await self.containers.reconcile(rest)
            for key in in_containers.running:
                self._routes[key] = self.containers
        as_processes = await self.processes.reconcile(in_containers.unknown)
        for key in as_processes.running:
            self._routes[key] = self.processes
        return Reconciled(
            running=in_containers.running + as_processes.running,
            ended=refused + in_containers.ended + as_processes.ended,
            unknown=as_processes.unknown,
        )

    def _candidates(self, key: RunKey) -> list[Executor]:
        known = self._routes.get(key)
        return [known] if known is not None else self._executors()


if TYPE_CHECKING:
    _: type[Executor] = RoutingExecutor
