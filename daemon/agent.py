"""``berth node``: run jobs on this host for a controller elsewhere (see `daemon.remote`).

The agent's home may hold a ``berth.toml`` of its own: its ``[daemon] executor`` and
``[docker]`` tables (image allowlist) choose how this node runs jobs, as on the controller.

The agent owns a process executor over ``<home>/runs`` and, every ``interval_s``, POSTs a
heartbeat to the controller's ``/v1/agent/heartbeat`` with a signed token: the runs alive here,
the ends not yet acknowledged, the runs a reconcile found never started, and this host's GPUs.
It carries out the orders in the reply. It keeps no durable state of its own beyond the run
directories: after a restart it says so (``fresh``) and the controller tells it which runs to
look for. A controller that cannot be reached is retried; jobs keep running meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from daemon.executors.base import Executor, RunEnd, RunKey
from daemon.gpus import discover_gpus
from daemon.remote import end_json, key_from, key_json, spec_from

log = logging.getLogger("berth.node")


def _executor(home: Path, node_name: str) -> Executor:
    """The node's executor, chosen as the controller chooses its own: ``home/berth.toml``'s
    ``[daemon] executor`` and ``[docker]`` tables (optional; Docker when the engine answers)."""
    from daemon.main import local_executor
    from daemon.site import load_site

    return local_executor(load_site(home), node_name)


class Agent:
    def __init__(self, controller_url: str, token: str, node_name: str, home: Path,
                 *, interval_s: float = 1.0) -> None:  # fmt: skip
        self.url = controller_url.rstrip("/") + "/v1/agent/heartbeat"
        self.token = token
        self.node_name = node_name
        self.interval_s = interval_s
        home.mkdir(parents=True, exist_ok=True)
        self.executor = _executor(home, node_name)
        self.alive: set[RunKey] = set()
        self.ends: dict[RunKey, RunEnd] = {}  # reported here, not yet acknowledged
        self.unknown: list[RunKey] = []
        self.fresh = True
        self.gpus = [asdict(gpu) for gpu in discover_gpus()]

    async def _on_end(self, end: RunEnd) -> None:
        self.ends[end.key] = end
        self.alive.discard(end.key)

    def _heartbeat(self) -> dict[str, Any]:
        return {
            "node": self.node_name,
            "fresh": self.fresh,
            "alive": [key_json(k) for k in sorted(self.alive, key=key_json)],
            "ends": [end_json(e) for e in self.ends.values()],
            "unknown": [key_json(k) for k in self.unknown],
            "gpus": self.gpus,
        }

    async def _obey(self, reply: dict[str, Any]) -> None:
        self.fresh = False
        self.unknown = []
        for key in reply.get("acknowledged", []):
            self.ends.pop(key_from(key), None)
        if reply.get("reconcile") is not None:
            found = await self.executor.reconcile([key_from(k) for k in reply["reconcile"]])
            self.alive.update(found.running)
            for end in found.ended:
                self.ends[end.key] = end
            self.unknown = list(found.unknown)
        for data in reply.get("launch", []):
            spec = spec_from(data)
            if spec.key in self.ends or spec.key in self.alive:
                continue
            self.alive.add(spec.key)
            await self.executor.launch(spec)
        for key in reply.get("kill", []):
            await self.executor.kill(key_from(key))
        for key, signum, batch_only in reply.get("signal", []):
            await self.executor.signal(key_from(key), signum, batch_only=batch_only)

    async def run(self, stop: asyncio.Event) -> None:
        await self.executor.start(self._on_end)
        headers = {"Authorization": f"Bearer {self.token}"}
        timeout = aiohttp.ClientTimeout(total=30)
        try:
            async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
                while not stop.is_set():
                    try:
                        async with session.post(self.url, json=self._heartbeat()) as response:
                            reply = await response.json()
                            if response.status != 200:
                                log.error("controller refused the heartbeat: %s", reply)
                            else:
                                await self._obey(reply)
                    except (aiohttp.ClientError, TimeoutError) as err:
                        log.warning("controller unreachable (%s); retrying", err)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.interval_s)
        finally:
            await self.executor.stop()


def run_agent(controller_url: str, token: str, node_name: str, home: Path) -> int:
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await Agent(controller_url, token, node_name, home).run(stop)

    asyncio.run(main())
    return 0
