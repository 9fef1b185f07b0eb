"""The controller's periodic work (run by `daemon.loops`): step warnings before time limits,
GPU health, the time-limit backstop, the roll-up of finished jobs, fair-share decay.

Each function takes the `Controller` and does one sweep; none of them decides policy (that is
`scheduler.schedule`'s), they keep the mirror, the store and the executors in step with time.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from daemon.controller import Controller
from daemon.store import repository as repo

log = logging.getLogger("berth.housekeeping")


async def warn_steps(ctl: Controller) -> None:
    """``--signal=SIG@T`` without ``B:``: at T seconds before the time limit the signal goes
    to the job's steps (``srun``), not the batch shell, as Slurm targets it. (``B:`` is
    the executor's: its supervisor signals the batch shell even while the daemon is down.)"""
    from daemon.steps import signal_steps

    now = ctl.clock.now()
    for record in list(ctl.mirror.running.values()):
        spec = record.signal
        if spec is None or spec.batch_only or record.signal_sent or record.intent:
            continue
        if record.start_time is None:
            continue
        if now >= record.start_time + record.request.time_limit_s - spec.before_s:
            record.signal_sent = True
            await signal_steps(ctl, record, spec.signum)


async def check_gpus(ctl: Controller) -> None:
    """Read this host's GPUs (NVML) for ``/metrics``; a GPU that NVML reports broken, or an
    NVML failure, drains the node with the reason, as ``scontrol update state=drain`` would
    (an administrator resumes it). Never raises: NVML errors become reasons."""
    from daemon.gpus import check_gpus

    for name in sorted(ctl.local_nodes):
        node = ctl.site.cluster.node(name)
        check = await asyncio.to_thread(check_gpus, node.gpus)
        ctl.gpu_checks[name] = check
        reason = check.drain_reason
        if reason and name not in ctl.mirror.node_admin:
            log.error("draining node %s: %s", name, reason)
            now = ctl.clock.now()
            await ctl.db.write(
                functools.partial(repo.set_node_state, name=name, state="drain",
                                  reason=reason, now=now)
            )  # fmt: skip
            ctl.mirror.set_node_admin(name, "drain", reason)


async def enforce_limits(ctl: Controller) -> None:
    """Backstop for the executors' own time-limit enforcement: a run still alive well past
    its limit and grace is killed again (its end is then TIMEOUT by the executor's word)."""
    now = ctl.clock.now()
    grace = ctl.settings.kill_wait_s + 60
    for record in list(ctl.mirror.running.values()):
        if record.start_time is None or record.job_id in ctl.launching:
            continue
        if now > record.start_time + record.request.time_limit_s + grace:
            await ctl.kill(record)


def purge(ctl: Controller) -> None:
    """Drop finished jobs older than MinJobAge from the mirror (the store keeps them)."""
    horizon = ctl.clock.now() - ctl.settings.min_job_age_s
    old = [
        record
        for record in ctl.mirror.jobs.values()
        if not record.active and (record.end_time or 0) < horizon
    ]
    if not old:
        return
    wanted = {
        d.job_id for r in ctl.mirror.pending.values() for d in r.request.dependencies
    }
    for record in old:
        if record.job_id in wanted:
            ctl.remember_target(record)
        ctl.mirror.forget(record.job_id)


async def flush_usage(ctl: Controller) -> None:
    now = ctl.clock.now()
    ctl.mirror.decay_to(now, ctl.site.policy.half_life_s)
    rows = [(u, a, v) for (u, a), v in ctl.mirror.usage.items()]
    await ctl.db.write(lambda c: repo.save_usage(c, rows, now))
