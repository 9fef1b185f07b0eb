"""``/v1/nodes``, ``/v1/shares``, ``/v1/config``: what ``sinfo``, ``sshare`` and ``scontrol``
show."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon import operations as ops
from daemon.api.errors import caller_of
from daemon.api.keys import CONTROLLER
from daemon.controller import Controller
from scheduler import Resources, share_report

routes = web.RouteTableDef()


def nodes_json(ctl: Controller) -> list[dict[str, Any]]:
    used: dict[str, list[int]] = {}
    gpus_used: dict[str, set[int]] = {}
    for record in ctl.mirror.running.values():
        if record.allocation is None:
            continue
        for part in record.allocation.nodes:
            cpu_mem = used.setdefault(part.node, [0, 0])
            cpu_mem[0] += part.cpus
            cpu_mem[1] += part.mem_mb
            gpus_used.setdefault(part.node, set()).update(part.gpu_indices)
    found = []
    for node in ctl.mirror.cluster_view().nodes:
        cpus, mem = used.get(node.name, [0, 0])
        busy = gpus_used.get(node.name, set())
        state = node.state.value
        if node.state.schedulable:
            state = node.usage_state(Resources(cpus=cpus, mem_mb=mem, gpus=len(busy))).value
        found.append({
            "name": node.name, "state": state, "reason": node.reason,
            "partitions": [p.name for p in ctl.site.cluster.partitions if node.name in p.nodes],
            "cpus": node.cpus, "cpus_allocated": cpus, "mem_mb": node.mem_mb,
            "mem_allocated_mb": mem, "features": list(node.features),
            "gpus": [
                {"index": g.index, "uuid": g.uuid, "model": g.model, "memory_mb": g.memory_mb,
                 "link_group": g.link_group, "allocated": g.index in busy}
                for g in node.gpus
            ],
        })  # fmt: skip
    return found


@routes.get("/v1/nodes")
async def list_nodes(request: web.Request) -> web.Response:
    caller_of(request)
    ctl = request.app[CONTROLLER]
    partitions = [
        {"name": p.name, "nodes": list(p.nodes), "default": p.default, "up": p.up,
         "max_time_s": p.max_time_s, "default_time_s": p.default_time_s}
        for p in ctl.site.cluster.partitions
    ]  # fmt: skip
    return web.json_response({"nodes": nodes_json(ctl), "partitions": partitions})


@routes.patch("/v1/nodes/{name}")
async def update_node(request: web.Request) -> web.Response:
    ctl = request.app[CONTROLLER]
    body = await request.json() if request.can_read_body else {}
    return web.json_response(
        await ops.set_node(ctl, caller_of(request), request.match_info["name"], body)
    )


@routes.get("/v1/shares")
async def shares(request: web.Request) -> web.Response:
    caller_of(request)
    ctl = request.app[CONTROLLER]
    policy = ctl.site.policy
    now = ctl.clock.now()
    users = tuple(
        sorted({(r.request.account, r.user) for r in ctl.mirror.jobs.values()}
               | {(a, u) for u, a in ctl.mirror.usage})
    )  # fmt: skip
    report = share_report(
        ctl.mirror.shares, ctl.mirror.decayed_usage(now, policy.half_life_s), policy.fairshare,
        extra_users=users,
    )  # fmt: skip
    rows = [
        {"account": r.account, "user": r.user, "raw_shares": r.raw_shares,
         "norm_shares": r.norm_shares, "raw_usage": r.raw_usage, "norm_usage": r.norm_usage,
         "effective_usage": r.effective_usage,
         "level_fs": None if r.level_fs == float("inf") else r.level_fs,
         "fairshare": r.fairshare}
        for r in report
    ]  # fmt: skip
    return web.json_response({"shares": rows})


@routes.get("/v1/config")
async def config(request: web.Request) -> web.Response:
    """``scontrol show config``: Slurm's names for the values Berth has."""
    ctl = request.app[CONTROLLER]
    settings, policy = ctl.settings, ctl.site.policy
    values = {
        "ClusterName": settings.cluster_name,
        "MinJobAge": f"{settings.min_job_age_s} sec",
        "MaxArraySize": str(settings.max_array_size),
        "KillWait": f"{settings.kill_wait_s} sec",
        "SchedulerType": "sched/backfill" if policy.backfill.value != "fcfs" else "sched/builtin",
        "BerthBackfill": policy.backfill.value,
        "bf_window": f"{policy.bf_window_s // 60} min",
        "bf_max_job_test": str(policy.bf_max_job_test),
        "PriorityDecayHalfLife": f"{policy.half_life_s} sec",
        "PriorityType": "priority/multifactor",
        "SelectType": "select/cons_tres",
        "AccountingStorageType": "accounting_storage/berth",
    }
    return web.json_response({"config": values})


@routes.post("/v1/agent/heartbeat")
async def agent_heartbeat(request: web.Request) -> web.Response:
    """A ``berth node`` agent's heartbeat: its runs and ends in, its orders out."""
    from daemon.agents import heartbeat

    ctl = request.app[CONTROLLER]
    body = await request.json()
    return web.json_response(await heartbeat(ctl, caller_of(request), body))
