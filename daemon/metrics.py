"""Prometheus text exposition at ``/metrics`` (format 0.0.4): queue by state and reason, GPUs
allocated and free, pass duration, starts and backfill starts, fair-share factors."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from daemon.api.keys import CONTROLLER
from daemon.controller import Controller
from scheduler import fairshare_factors

routes = web.RouteTableDef()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(ctl: Controller) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {value:g}")

    jobs = Counter((r.state.value, r.reason if r.state.value == "PENDING" else "")
                   for r in ctl.mirror.jobs.values() if r.active)  # fmt: skip
    by_state = [(f'{{state="{s}",reason="{_label(r)}"}}', float(n))
                for (s, r), n in sorted(jobs.items())]  # fmt: skip
    metric("berth_jobs", "gauge", "Jobs in the queue by state and pending reason.", by_state)
    allocated: Counter[str] = Counter()
    for record in ctl.mirror.running.values():
        if record.allocation is not None:
            for part in record.allocation.nodes:
                allocated[part.node] += len(part.gpu_indices)
    gpu_samples = []
    for node in ctl.site.cluster.nodes:
        used = allocated[node.name]
        gpu_samples.append((f'{{node="{node.name}",state="allocated"}}', float(used)))
        gpu_samples.append((f'{{node="{node.name}",state="free"}}', float(len(node.gpus) - used)))
    metric("berth_gpus", "gauge", "GPUs by node and state.", gpu_samples)
    stats = ctl.stats
    metric("berth_pass_duration_seconds", "gauge", "Duration of the last scheduling pass.",
           [("", stats.last_duration_s)])  # fmt: skip
    metric("berth_pass_seconds_total", "counter", "Time spent in scheduling passes.",
           [("", stats.total_duration_s)])  # fmt: skip
    metric("berth_passes_total", "counter", "Scheduling passes run.", [("", stats.passes)])
    metric("berth_job_starts_total", "counter", "Jobs started.", [("", stats.starts)])
    metric("berth_backfill_starts_total", "counter", "Jobs started by backfill.",
           [("", stats.backfill_starts)])  # fmt: skip
    readings = [
        (node, reading)
        for node, check in sorted(ctl.gpu_checks.items())
        for reading in check.readings
    ]
    for name, attribute, help_text in (
        ("berth_gpu_utilization_percent", "utilization_pct", "GPU utilisation (NVML)."),
        ("berth_gpu_memory_used_mib", "memory_used_mb", "GPU memory in use (NVML)."),
        ("berth_gpu_temperature_celsius", "temperature_c", "GPU temperature (NVML)."),
    ):
        samples = [
            (f'{{node="{node}",gpu="{r.index}",uuid="{r.uuid}"}}', float(getattr(r, attribute)))
            for node, r in readings
            if getattr(r, attribute) is not None
        ]
        if samples:
            metric(name, "gauge", help_text, samples)
    policy = ctl.site.policy
    users = tuple(sorted({(r.request.account, r.user) for r in ctl.mirror.pending.values()}))
    if users:
        factors = fairshare_factors(
            ctl.mirror.shares, ctl.mirror.decayed_usage(ctl.clock.now(), policy.half_life_s),
            policy.fairshare, users,
        )  # fmt: skip
        metric("berth_fairshare_factor", "gauge", "Fair-share factor of users with pending jobs.",
               [(f'{{account="{_label(a)}",user="{_label(u)}"}}', factors[(a, u)])
                for a, u in users])  # fmt: skip
    return "\n".join(lines) + "\n"


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        text=render(request.app[CONTROLLER]), content_type="text/plain", charset="utf-8",
        headers={"X-Berth-Format": "prometheus-0.0.4"},
    )  # fmt: skip
