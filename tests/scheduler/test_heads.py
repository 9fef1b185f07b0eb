"""Kept heads and a second order behind the head (`Policy.keep_head`, `Policy.backfill_order`):
RLScheduler's heuristic loop as pass rules (VALIDATION.md §B). Hand-made cases on one 4-CPU
node; times in seconds, each job's limit is ``minutes * 60``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler import (
    BackfillMode,
    Head,
    PendingReason,
    Plan,
    Policy,
    QueueOrder,
    Snapshot,
    policy_from_mapping,
    schedule,
)
from scheduler.errors import ConfigError
from tests.scheduler.builders import cluster_of, fifo_policy, gpu_node, job, running
from tests.scheduler.test_properties import NOW, snapshots

NODE = cluster_of(gpu_node("n1", cpus=4, gpus=0))
# Three of the four CPUs busy until 100 min (its limit): one CPU free now.
BUSY = running(job(1, cpus=3, minutes=100), 0, ("n1", 3, ()))


def _policy(backfill: BackfillMode, **kwargs: object) -> Policy:
    return fifo_policy(
        backfill=backfill, queue_order=QueueOrder.SHORTEST_FIRST, estimate_starts=False, **kwargs
    )


def _pass(policy: Policy, *pending: object, heads: tuple[Head, ...] = (), now: int = 0) -> Plan:
    snapshot = Snapshot(cluster=NODE, running=(BUSY,), pending=pending, heads=heads)  # type: ignore[arg-type]
    return schedule(snapshot, now, policy)


def _started(plan: Plan) -> list[int]:
    return [start.job_id for start in plan.starts]


# Job 2 asks two CPUs for 50 minutes and cannot start before job 1 ends; job 3, submitted
# later, asks one CPU for 5 minutes and sorts before it, shortest first.
HEAD = job(2, cpus=2, minutes=50)
SHORT = job(3, cpus=1, minutes=5, submit=60)


def test_a_pass_names_its_blocked_head_only_when_the_policy_keeps_heads() -> None:
    assert _pass(_policy(BackfillMode.FCFS), HEAD).heads == ()
    plan = _pass(_policy(BackfillMode.FCFS, keep_head=True), HEAD)
    assert plan.heads == (Head(job_id=2, partition="debug", shadow=None),)
    assert plan.pending_by_id()[2].reason is PendingReason.RESOURCES


def test_a_kept_head_stays_ahead_of_a_shorter_job_that_came_later() -> None:
    keep = _policy(BackfillMode.FCFS, keep_head=True)
    kept = _pass(keep, HEAD).heads
    # Re-sorted from scratch (Slurm, or no head handed in), the short job goes first and fits.
    assert _started(_pass(_policy(BackfillMode.FCFS), HEAD, SHORT, now=60)) == [3]
    assert _started(_pass(keep, HEAD, SHORT, now=60)) == [3]
    # Kept, job 2 stays first; it does not fit, so under FCFS nothing behind it starts.
    plan = _pass(keep, HEAD, SHORT, heads=kept, now=60)
    assert _started(plan) == []
    assert plan.heads == kept
    reasons = {entry.job_id: entry.reason for entry in plan.pending}
    assert reasons == {2: PendingReason.RESOURCES, 3: PendingReason.PRIORITY}


def test_a_head_that_is_no_longer_pending_is_dropped() -> None:
    keep = _policy(BackfillMode.FCFS, keep_head=True)
    plan = _pass(keep, SHORT, heads=(Head(job_id=2, partition="debug"),), now=60)
    assert _started(plan) == [3]
    assert plan.heads == ()


def test_greedy_keeps_the_shadow_time_computed_when_the_head_first_blocked() -> None:
    greedy = _policy(BackfillMode.GREEDY, keep_head=True)
    first = _pass(greedy, HEAD)
    assert first.heads == (Head(job_id=2, partition="debug", shadow=100 * 60),)
    # 40 minutes from minute 50 ends at 90, before the shadow at 100: backfilled.
    late = job(4, cpus=1, minutes=40, submit=50 * 60)
    assert _started(_pass(greedy, HEAD, late, heads=first.heads, now=50 * 60)) == [4]
    # Had job 2 first blocked when the shadow was minute 60, that shadow is kept: job 4 would
    # end after it and waits, although the profile now says 100 (and a fresh pass starts it).
    early = (Head(job_id=2, partition="debug", shadow=60 * 60),)
    plan = _pass(greedy, HEAD, late, heads=early, now=50 * 60)
    assert _started(plan) == []
    assert plan.heads == early
    assert _started(_pass(_policy(BackfillMode.GREEDY), HEAD, late, now=50 * 60)) == [4]


def test_jobs_behind_the_head_go_in_the_backfill_order() -> None:
    # Both would end before the shadow (minute 100) and either fits the one free CPU.
    older_longer = job(5, cpus=1, minutes=80, submit=1)
    newer_shorter = job(6, cpus=1, minutes=60, submit=2)
    pending = (HEAD, older_longer, newer_shorter)
    assert _started(_pass(_policy(BackfillMode.GREEDY), *pending)) == [6]  # shortest first
    fifo_behind = _policy(BackfillMode.GREEDY, backfill_order=QueueOrder.PRIORITY)
    assert _started(_pass(fifo_behind, *pending)) == [5]  # submit order behind the head


def test_jobs_ahead_of_the_first_blocked_job_keep_the_queue_order() -> None:
    # Shortest first until something blocks: 7 (1 min) starts, 2 blocks, then FIFO behind it.
    first = job(7, cpus=1, minutes=1, submit=3)
    policy = _policy(BackfillMode.GREEDY, backfill_order=QueueOrder.PRIORITY)
    plan = _pass(policy, HEAD, first)
    assert _started(plan) == [7]
    assert plan.pending_by_id()[2].reason is PendingReason.RESOURCES


def test_keep_head_and_backfill_order_come_from_the_policy_table() -> None:
    policy = policy_from_mapping({"keep_head": True, "backfill_order": "priority"})
    assert policy.keep_head is True
    assert policy.backfill_order is QueueOrder.PRIORITY
    assert Policy().backfill_order is None
    assert Policy().keep_head is False


@pytest.mark.parametrize(
    ("table", "key"), [({"keep_head": "yes"}, "keep_head"), ({"backfill_order": "lifo"}, "order")]
)
def test_bad_keep_head_values_are_refused(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        policy_from_mapping(table)


@settings(max_examples=150, deadline=None)
@given(snapshots(), st.sampled_from(list(BackfillMode)))
def test_with_no_heads_handed_in_keeping_heads_decides_as_without(
    snapshot: Snapshot, mode: BackfillMode
) -> None:
    """A pass handed no heads decides exactly as one that keeps none, and the heads it names
    are its jobs blocked on resources first in their partition (reason ``Resources``)."""
    plain = Policy(backfill=mode)
    keeping = Policy(backfill=mode, keep_head=True)
    expected = schedule(snapshot, NOW, plain)
    got = schedule(snapshot, NOW, keeping)
    assert got.starts == expected.starts
    assert got.pending == expected.pending
    resources = [e.job_id for e in got.pending if e.reason is PendingReason.RESOURCES]
    assert [head.job_id for head in got.heads] == resources
