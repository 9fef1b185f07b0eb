"""Nodes served by ``berth node``: the controller's side of the agent protocol.

An agent pulls: every heartbeat it POSTs what it knows (the runs alive on its node, the ends
it has not yet had acknowledged, its GPUs' health) and gets back its orders (runs to launch, to
kill, signals to deliver, and, after the agent or the controller restarted, the runs to
reconcile). Orders are repeated until the heartbeats show them done, and the agent's launches are
idempotent (the process executor's claim), so a lost reply or a restart on either side never
loses or repeats a run. Ends are acknowledged by the next reply, after the controller stored
them.

`RemoteExecutor` is the `Executor` the controller uses for such a node: it only queues orders.
A node whose heartbeats stop for ``heartbeat_timeout`` goes DOWN ("Not responding") and the
runs it held end as LOST: requeued, or NODE_FAIL when not requeueable. When it comes back, runs
it still reports that the controller has given up on are killed there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from daemon.executors.base import EndCallback, EndCause, LaunchSpec, Reconciled, RunEnd, RunKey


def key_json(key: RunKey) -> list[int]:
    return [key.job_id, key.restart_count]


def key_from(data: Any) -> RunKey:
    job_id, restart_count = data
    return RunKey(job_id=int(job_id), restart_count=int(restart_count))


def spec_json(spec: LaunchSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["key"] = key_json(spec.key)
    data["environment"] = dict(spec.environment)
    return data


def spec_from(data: dict[str, Any]) -> LaunchSpec:
    values = dict(data)
    values["key"] = key_from(data["key"])
    for name in ("argv", "gpu_indices", "gpu_uuids"):
        values[name] = tuple(values.get(name, ()))
    return LaunchSpec(**values)


def end_json(end: RunEnd) -> dict[str, Any]:
    return dict(asdict(end), key=key_json(end.key), cause=end.cause.value)


def end_from(data: dict[str, Any]) -> RunEnd:
    return RunEnd(
        key=key_from(data["key"]), cause=EndCause(data["cause"]),
        exit_code=int(data.get("exit_code", 0)), signal=int(data.get("signal", 0)),
        end_time=int(data.get("end_time", 0)), message=str(data.get("message", "")),
    )  # fmt: skip


@dataclass(slots=True)
class _Orders:
    launches: dict[RunKey, LaunchSpec] = field(default_factory=dict)
    kills: set[RunKey] = field(default_factory=set)
    signals: list[tuple[RunKey, int, bool]] = field(default_factory=list)
    reconcile: list[RunKey] | None = None  # asked of the agent after a restart (either side)


class RemoteExecutor:
    """The controller's stand-in for the executor on a node that ``berth node`` serves."""

    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        self.alive: set[RunKey] = set()  # as the agent last reported
        self.last_seen: int | None = None  # epoch seconds of the last heartbeat
        self.gpus: list[dict[str, Any]] = []
        self._orders = _Orders()
        self._on_end: EndCallback | None = None

    async def start(self, on_end: EndCallback) -> None:
        self._on_end = on_end

    async def stop(self) -> None:
        self._on_end = None

    async def launch(self, spec: LaunchSpec) -> None:
        self._orders.launches[spec.key] = spec

    async def signal(self, key: RunKey, signum: int, *, batch_only: bool) -> bool:
        if key not in self.alive:
            return False
        self._orders.signals.append((key, signum, batch_only))
        return True

    async def kill(self, key: RunKey) -> None:
        self._orders.launches.pop(key, None)
        self._orders.kills.add(key)

    async def reconcile(self, expected: Sequence[RunKey]) -> Reconciled:
        """After a controller restart nothing is known until the agent answers: treat every
        expected run as running and ask the agent to reconcile them at its next heartbeat."""
        self._orders.reconcile = list(expected)
        return Reconciled(running=tuple(expected))

    async def heartbeat(
        self, *, now: int, fresh: bool, alive: Sequence[RunKey], ends: Sequence[RunEnd],
        gpus: list[dict[str, Any]], expected: Sequence[RunKey],
    ) -> dict[str, Any]:  # fmt: skip
        """One round of the protocol; ``expected`` are the runs the store has on this node.
        Returns the reply: acknowledged ends and the orders."""
        self.last_seen = now
        self.gpus = gpus
        self.alive = set(alive)
        for end in ends:
            self._orders.launches.pop(end.key, None)
            self._orders.kills.discard(end.key)
            if self._on_end is not None:
                await self._on_end(end)
        for key in alive:
            self._orders.launches.pop(key, None)
        wanted = set(expected)
        for key in alive:  # runs the controller has given up on (requeued, node was DOWN)
            if key not in wanted:
                self._orders.kills.add(key)
        if fresh:
            self._orders.reconcile = [k for k in expected if k not in self.alive]
        orders = self._orders
        reply = {
            "acknowledged": [key_json(end.key) for end in ends],
            "launch": [spec_json(spec) for spec in orders.launches.values()],
            "kill": [key_json(key) for key in sorted(orders.kills, key=key_json)],
            "signal": [[key_json(k), signum, batch] for k, signum, batch in orders.signals],
            "reconcile": None
            if orders.reconcile is None
            else [key_json(k) for k in orders.reconcile],
        }
        orders.signals = []
        orders.reconcile = None
        # A kill is repeated until its run ends; one for a run the node never had is dropped.
        orders.kills = {key for key in orders.kills if key in self.alive or key in wanted}
        return reply
