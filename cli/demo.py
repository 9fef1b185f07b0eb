"""``berth demo``: the SLURM-BEHAVIOUR.md backfill scenario, scheduled by the policy core.

Four nodes of 4 CPUs and 4 GPUs; seven small jobs already running; a 16-GPU job, a short job
and a long job waiting. The plan shows where each job starts (exact GPU indices), which job
backfills, and why the others wait and until when.
"""

from __future__ import annotations

import json

from scheduler import (
    Allocation,
    BackfillMode,
    JobRequest,
    NodeAllocation,
    Plan,
    Policy,
    RunningJob,
    Snapshot,
    cluster_from_mapping,
    schedule,
)

_CLUSTER = {
    "nodes": [
        {"name": f"n{i}", "cpus": 4, "mem": "16G", "gpus": 4, "gpu_model": "a100"}
        for i in range(1, 5)
    ],
    "partitions": [{"name": "debug", "nodes": "n[1-4]", "default": True}],
}


def _job(
    job_id: int, name: str, gpus: int, minutes: int, submit: int, nodes: int = 1
) -> JobRequest:
    return JobRequest(
        job_id=job_id,
        name=name,
        user="bench",
        account="lab_a",
        partition="debug",
        submit_time=submit,
        time_limit_s=minutes * 60,
        nodes=nodes,
        tasks=nodes,
        gpus_per_node=gpus,
    )


def demo_snapshot() -> Snapshot:
    running = []
    for job_id in range(1, 8):
        gpus = 4 if job_id == 7 else 1
        node, first = (
            ("n3", 0) if job_id == 7 else ((f"n{1 + (job_id - 1) // 4}"), (job_id - 1) % 4)
        )
        part = NodeAllocation(
            node=node, cpus=1, mem_mb=0, gpu_indices=tuple(range(first, first + gpus))
        )
        running.append(
            RunningJob(
                request=_job(job_id, f"gpu{gpus}", gpus, 5, 0),
                allocation=Allocation(nodes=(part,)),
                start_time=0,
            )
        )
    pending = (
        _job(8, "big16", 4, 10, 10, nodes=4),
        _job(9, "short_bf", 1, 2, 20),
        _job(10, "long_nobf", 1, 30, 30),
    )
    return Snapshot(cluster=cluster_from_mapping(_CLUSTER), running=tuple(running), pending=pending)


def plan_as_dict(plan: Plan) -> dict[str, object]:
    return {
        "starts": [
            {
                "job_id": s.job_id,
                "backfilled": s.backfilled,
                "nodes": [
                    {"node": p.node, "gpus": list(p.gpu_indices)} for p in s.allocation.nodes
                ],
            }
            for s in plan.starts
        ],
        "pending": [
            {
                "job_id": p.job_id,
                "reason": p.reason.value,
                "priority": p.priority,
                "estimated_start": p.estimated_start,
                "planned_nodes": list(p.planned_nodes),
            }
            for p in plan.pending
        ],
    }


def run_demo(*, policy_name: str, as_json: bool) -> int:
    snapshot = demo_snapshot()
    now = 40
    plan = schedule(snapshot, now, Policy(backfill=BackfillMode(policy_name)))
    if as_json:
        print(json.dumps(plan_as_dict(plan), indent=2))
        return 0
    names = {job.job_id: job.name for job in snapshot.pending}
    print(f"policy {policy_name}, t={now}s: 7 jobs running on n[1-3], 3 waiting")
    for start in plan.starts:
        where = " ".join(
            f"{p.node}:gpu{','.join(map(str, p.gpu_indices))}" for p in start.allocation.nodes
        )
        how = " (backfill)" if start.backfilled else ""
        print(f"  start   {start.job_id:>3} {names[start.job_id]:<10} on {where}{how}")
    for entry in plan.pending:
        when = "N/A" if entry.estimated_start is None else f"t={entry.estimated_start}s"
        nodes = ",".join(entry.planned_nodes)
        print(
            f"  pending {entry.job_id:>3} {names[entry.job_id]:<10} ({entry.reason.value}) "
            f"expected {when} {nodes}"
        )
    return 0
