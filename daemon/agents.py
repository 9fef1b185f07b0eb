"""The controller's handling of ``berth node`` agents: heartbeats in, orders out, and nodes
that stop answering marked DOWN with their runs ended as LOST (see `daemon.remote`)."""

from __future__ import annotations

import logging
from typing import Any

from daemon.auth import Caller
from daemon.controller import Controller
from daemon.errors import BadRequest, Forbidden, NotFound
from daemon.executors.base import EndCause, Reconciled, RunEnd, RunKey
from daemon.remote import RemoteExecutor, end_from, key_from
from daemon.store import repository as repo

log = logging.getLogger("berth.agents")
NOT_RESPONDING = "Not responding"


def remote_executor(ctl: Controller, node: str) -> RemoteExecutor:
    executor = ctl.executors.get(node)
    if not isinstance(executor, RemoteExecutor):
        raise NotFound(f"node {node!r} is not served by `berth node` here; its [[nodes]] entry "
                       "must exist and must not be this host's own node")  # fmt: skip
    return executor


async def heartbeat(ctl: Controller, caller: Caller, body: Any) -> dict[str, Any]:
    if not caller.admin:
        raise Forbidden("only an administrator's token may serve a node (`berth token root`)")
    if not isinstance(body, dict) or not isinstance(body.get("node"), str):
        raise BadRequest("send {node, fresh, alive, ends, unknown, gpus}")
    node = body["node"]
    executor = remote_executor(ctl, node)
    now = ctl.clock.now()
    try:
        alive = [key_from(k) for k in body.get("alive", [])]
        ends = [end_from(e) for e in body.get("ends", [])]
        unknown = [key_from(k) for k in body.get("unknown", [])]
    except (TypeError, ValueError, KeyError) as err:
        raise BadRequest(f"malformed heartbeat: {err}") from None
    if ctl.mirror.node_admin.get(node, ("", ""))[1] == NOT_RESPONDING:
        await _set_node(ctl, node, "", "", now)
        log.info("node %s is back", node)
    expected = [
        RunKey(job_id=r.job_id, restart_count=r.restart_count)
        for r in ctl.mirror.running.values()
        if r.allocation is not None and r.allocation.nodes[0].node == node
    ]
    reply = await executor.heartbeat(
        now=now, fresh=bool(body.get("fresh")), alive=alive, ends=ends,
        gpus=list(body.get("gpus", [])), expected=expected,
    )  # fmt: skip
    if unknown:
        await ctl.reconciled(Reconciled(unknown=tuple(unknown)))
    return reply


async def check_heartbeats(ctl: Controller, timeout_s: int, started: int) -> None:
    """Mark DOWN the nodes silent for ``timeout_s`` and end their runs as LOST."""
    now = ctl.clock.now()
    for node, executor in ctl.executors.items():
        if not isinstance(executor, RemoteExecutor):
            continue
        seen = executor.last_seen if executor.last_seen is not None else started
        if now - seen <= timeout_s or ctl.mirror.node_admin.get(node, ("", ""))[0] == "down":
            continue
        log.warning("node %s missed its heartbeats for %d s: DOWN", node, now - seen)
        await _set_node(ctl, node, "down", NOT_RESPONDING, now)
        executor.alive = set()
        for record in list(ctl.mirror.running.values()):
            if record.allocation is not None and node in record.allocation.node_names:
                key = RunKey(job_id=record.job_id, restart_count=record.restart_count)
                await ctl.on_end(RunEnd(key=key, cause=EndCause.LOST, end_time=now,
                                        message=f"node {node} not responding"))  # fmt: skip


async def _set_node(ctl: Controller, node: str, state: str, reason: str, now: int) -> None:
    await ctl.db.write(lambda c: repo.set_node_state(c, node, state, reason, now))
    ctl.mirror.set_node_admin(node, state, reason)
    ctl.notify()
