"""Time one `scheduler.schedule()` pass per policy on a busy 16-node GPU cluster.

16 nodes x 8 GPUs (two NVLink groups of 4) x 64 CPUs x 512 GiB, 1,000 running jobs and 10,000
pending jobs of mixed shapes (GPUs 0-8, CPUs 1-32, 1-4 nodes, limits 10 min - 24 h, 50 users in 5
accounts, with usage). Prints the median of several passes per policy and the ratio against FCFS
measured in the same process. Targets (issue 3): EASY < 50 ms, conservative < 250 ms.

    .venv/bin/python bench/schedule_pass.py [--repeat 5] [--pending 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from scheduler import (
    AccountShare,
    Allocation,
    BackfillMode,
    Cluster,
    GpuDevice,
    JobRequest,
    Node,
    NodeAllocation,
    Partition,
    Policy,
    RunningJob,
    ShareTree,
    Snapshot,
    UsageRecord,
    UserShare,
    schedule,
)

NODES, GPUS, CPUS, MEM = 16, 8, 64, 512 * 1024
NOW = 1_000_000


def build_cluster() -> Cluster:
    nodes = tuple(
        Node(
            name=f"gpu{i:02d}",
            cpus=CPUS,
            mem_mb=MEM,
            gpus=tuple(
                GpuDevice(
                    index=g, uuid=f"GPU-{i}-{g}", model="h100", memory_mb=81_920, link_group=g // 4
                )
                for g in range(GPUS)
            ),
            partitions=("gpu",),
        )
        for i in range(NODES)
    )
    return Cluster(
        nodes=nodes,
        partitions=(Partition(name="gpu", nodes=tuple(n.name for n in nodes), default=True),),
    )


def build_snapshot(pending_count: int, seed: int = 42) -> Snapshot:
    rng = random.Random(seed)
    cluster = build_cluster()
    users = [f"user{u:02d}" for u in range(50)]
    limits_s = [600, 3600, 4 * 3600, 12 * 3600, 24 * 3600]
    running: list[RunningJob] = []
    free = [[CPUS, MEM, list(range(GPUS))] for _ in range(NODES)]
    job_id = 1
    while len(running) < 1000:
        node = rng.randrange(NODES)
        gpus = 1 if rng.random() < 0.12 else 0
        cpus, mem = 1, 4096
        slot = free[node]
        if slot[0] < cpus or slot[1] < mem or len(slot[2]) < gpus:  # type: ignore[arg-type]
            continue
        slot[0] -= cpus  # type: ignore[operator]
        slot[1] -= mem  # type: ignore[operator]
        taken = tuple(slot[2][:gpus])  # type: ignore[index]
        slot[2] = slot[2][gpus:]  # type: ignore[index]
        user = rng.choice(users)
        request = JobRequest(
            job_id=job_id,
            user=user,
            account=f"acct{users.index(user) % 5}",
            partition="gpu",
            submit_time=NOW - 7200,
            time_limit_s=rng.choice(limits_s),
            cpus_per_task=cpus,
            mem_mb=mem,
            gpus_per_node=gpus,
        )
        part = NodeAllocation(node=f"gpu{node:02d}", cpus=cpus, mem_mb=mem, gpu_indices=taken)
        start = NOW - rng.randrange(0, 600)
        running.append(
            RunningJob(request=request, allocation=Allocation(nodes=(part,)), start_time=start)
        )
        job_id += 1
    pending = []
    for _ in range(pending_count):
        user = rng.choice(users)
        nodes = 1 if rng.random() < 0.9 else rng.choice([2, 4])
        gpus = rng.choice([0, 0, 1, 1, 1, 2, 4, 8])
        cpus = rng.choice([1, 2, 4, 8, 16, 32])
        pending.append(
            JobRequest(
                job_id=job_id,
                user=user,
                account=f"acct{users.index(user) % 5}",
                partition="gpu",
                submit_time=NOW - rng.randrange(0, 86_400),
                time_limit_s=rng.choice(limits_s),
                nodes=nodes,
                tasks=nodes,
                cpus_per_task=cpus,
                mem_mb=rng.choice([4096, 16384, 65536]),
                gpus_per_node=gpus,
            )
        )
        job_id += 1
    shares = ShareTree(
        accounts=tuple(AccountShare(name=f"acct{a}", shares=1 + a) for a in range(5)),
        users=tuple(UserShare(user=u, account=f"acct{i % 5}") for i, u in enumerate(users)),
    )
    usage = tuple(
        UsageRecord(user=u, account=f"acct{i % 5}", usage=float(rng.randrange(0, 10**7)))
        for i, u in enumerate(users)
    )
    return Snapshot(
        cluster=cluster, running=tuple(running), pending=tuple(pending), shares=shares, usage=usage
    )


def time_pass(snapshot: Snapshot, policy: Policy, repeat: int) -> tuple[float, int, int]:
    times = []
    plan = None
    for _ in range(repeat):
        began = time.perf_counter()
        plan = schedule(snapshot, NOW, policy)
        times.append(time.perf_counter() - began)
    assert plan is not None
    estimated = sum(1 for p in plan.pending if p.estimated_start is not None)
    return statistics.median(times) * 1000, len(plan.starts), estimated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pending", type=int, default=10_000)
    args = parser.parse_args()
    snapshot = build_snapshot(args.pending)
    print(
        f"cluster {NODES} nodes x {GPUS} GPUs x {CPUS} CPUs; running {len(snapshot.running)}, "
        f"pending {len(snapshot.pending)}; median of {args.repeat} passes"
    )
    baseline = None
    for mode in (BackfillMode.FCFS, BackfillMode.EASY, BackfillMode.CONSERVATIVE):
        for estimate in (True, False):
            ms, started, estimated = time_pass(
                snapshot, Policy(backfill=mode, estimate_starts=estimate), args.repeat
            )
            baseline = baseline or ms
            print(
                f"{mode.value:<13} estimate_starts={estimate!s:<5} {ms:8.1f} ms "
                f"(x{ms / baseline:4.2f} of fcfs)  started {started:4d}  "
                f"with estimate {estimated:5d}"
            )


if __name__ == "__main__":
    main()
