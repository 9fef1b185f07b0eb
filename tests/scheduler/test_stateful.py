"""Whole sequences of submit / pass / finish / cancel / drain, driven by Hypothesis: the state a
driver keeps by applying Plans never oversubscribes, never starts a job twice, and every job
left pending has a reason."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scheduler import (
    BackfillMode,
    Cluster,
    GpuDevice,
    JobRequest,
    Node,
    NodeState,
    Partition,
    PassCache,
    Policy,
    RunningJob,
    Snapshot,
    schedule,
)

NODES = tuple(
    Node(
        name=f"n{i}",
        cpus=4,
        mem_mb=8192,
        gpus=tuple(GpuDevice(index=g, link_group=g // 2) for g in range(4)),
        partitions=("p",),
    )
    for i in range(3)
)


class Driver(RuleBasedStateMachine):
    """A tiny driver: the same bookkeeping the daemon and the simulator do around `schedule`."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.next_id = 1
        self.nodes = list(NODES)
        self.pending: dict[int, JobRequest] = {}
        self.running: dict[int, RunningJob] = {}
        self.ever_started: set[int] = set()
        self.policy = Policy()
        self.cache = PassCache()
        self.last_plan_pending: set[int] = set()

    def cluster(self) -> Cluster:
        nodes = tuple(self.nodes)
        return Cluster(
            nodes=nodes, partitions=(Partition(name="p", nodes=tuple(n.name for n in nodes)),)
        )

    @rule(
        nodes=st.integers(1, 2),
        cpus=st.integers(1, 4),
        gpus=st.integers(0, 4),
        minutes=st.integers(1, 30),
        user=st.sampled_from(["a", "b"]),
    )
    def submit(self, nodes: int, cpus: int, gpus: int, minutes: int, user: str) -> None:
        job = JobRequest(
            job_id=self.next_id,
            user=user,
            submit_time=self.now,
            time_limit_s=minutes * 60,
            partition="p",
            nodes=nodes,
            tasks=nodes,
            cpus_per_task=cpus,
            mem_mb=1024,
            gpus_per_node=gpus,
        )
        self.pending[job.job_id] = job
        self.next_id += 1

    @rule(mode=st.sampled_from(list(BackfillMode)), cached=st.booleans())
    def run_pass(self, mode: BackfillMode, cached: bool) -> None:
        self.policy = dataclasses.replace(self.policy, backfill=mode)
        snapshot = Snapshot(
            cluster=self.cluster(),
            running=tuple(self.running.values()),
            pending=tuple(self.pending.values()),
        )
        plan = schedule(snapshot, self.now, self.policy, cache=self.cache if cached else None)
        for start in plan.starts:
            assert start.job_id not in self.ever_started, "a job started twice"
            self.ever_started.add(start.job_id)
            request = self.pending.pop(start.job_id)
            self.running[start.job_id] = RunningJob(
                request=request, allocation=start.allocation, start_time=self.now
            )
        self.last_plan_pending = {entry.job_id for entry in plan.pending}
        assert self.last_plan_pending == set(self.pending), "a pending job without a reason"

    @rule(seconds=st.integers(1, 900))
    def advance(self, seconds: int) -> None:
        self.now += seconds

    @precondition(lambda self: bool(self.running))
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(sorted(self.running)))
        del self.running[job_id]

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(sorted(self.pending)))
        del self.pending[job_id]

    @rule(index=st.integers(0, len(NODES) - 1), state=st.sampled_from(list(NodeState)))
    def set_node_state(self, index: int, state: NodeState) -> None:
        self.nodes[index] = dataclasses.replace(self.nodes[index], state=state)

    @invariant()
    def nothing_is_oversubscribed(self) -> None:
        cpus: dict[str, int] = defaultdict(int)
        mem: dict[str, int] = defaultdict(int)
        gpus: dict[str, list[int]] = defaultdict(list)
        for running in self.running.values():
            for part in running.allocation.nodes:
                cpus[part.node] += part.cpus
                mem[part.node] += part.mem_mb
                gpus[part.node] += part.gpu_indices
        for node in self.nodes:
            assert cpus[node.name] <= node.cpus
            assert mem[node.name] <= node.mem_mb
            assert len(gpus[node.name]) == len(set(gpus[node.name]))


Driver.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestDriver = Driver.TestCase
