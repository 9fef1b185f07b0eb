"""`sim.policies`: the named policies, ``name:key=value`` parameter sets and their errors."""

from __future__ import annotations

import pytest

from scheduler import BackfillMode, Policy, PriorityWeights, QueueOrder
from sim.policies import (
    FIFO_WEIGHTS,
    NAMED,
    POLICY_NAMES,
    TRACE_BASE,
    PolicyError,
    parse_policy,
    policy_named,
)

B, Q = BackfillMode, QueueOrder


@pytest.mark.parametrize(
    ("name", "backfill", "order"),
    [
        ("fcfs", B.FCFS, Q.PRIORITY),
        ("easy", B.EASY, Q.PRIORITY),
        ("conservative", B.CONSERVATIVE, Q.PRIORITY),
        ("fcfs-greedy", B.GREEDY, Q.PRIORITY),
        ("sjf", B.FCFS, Q.SHORTEST_FIRST),  # SJF without backfilling (RLScheduler's SJF)
        ("sjf-easy", B.EASY, Q.SHORTEST_FIRST),
        ("sjf-greedy", B.GREEDY, Q.SHORTEST_FIRST),
    ],
)
def test_named_policy_table(name: str, backfill: BackfillMode, order: QueueOrder) -> None:
    policy = policy_named(name)
    assert (policy.backfill, policy.queue_order) == (backfill, order)
    # FIFO: all weights 0, so the order is (submit time, job id) as VALIDATION.md defines
    assert policy.weights == FIFO_WEIGHTS
    assert policy.estimate_starts is False


@pytest.mark.parametrize("name", ["rl-fcfs", "rl-sjf", "rl-fcfs-greedy", "rl-sjf-greedy"])
def test_rl_names_are_the_authors_loop(name: str) -> None:
    policy = policy_named(name)
    plain = policy_named(name.removeprefix("rl-"))
    assert (policy.backfill, policy.queue_order) == (plain.backfill, plain.queue_order)
    assert (policy.keep_head, plain.keep_head) == (True, False)
    assert (policy.backfill_order, plain.backfill_order) == (Q.PRIORITY, None)


def test_names_cover_the_table_and_design_names() -> None:
    assert set(POLICY_NAMES) == {*NAMED, "site"}
    assert {"fcfs", "easy", "conservative"} <= set(POLICY_NAMES)  # DESIGN §8


def test_fifo_weights_are_all_zero() -> None:
    w = FIFO_WEIGHTS
    assert (w.age, w.fairshare, w.job_size, w.partition, w.qos, w.assoc) == (0, 0, 0, 0, 0, 0)
    assert not w.tres


def test_site_is_the_base_and_names_keep_the_base() -> None:
    site = Policy(backfill=B.CONSERVATIVE, weights=PriorityWeights(age=7))
    assert policy_named("site", site) is site
    easy = policy_named("easy", site)
    assert easy.backfill is B.EASY
    assert easy.weights.age == 7  # the site's weights stay


def test_unknown_name_lists_the_names() -> None:
    with pytest.raises(PolicyError) as info:
        policy_named("lifo")
    message = str(info.value)
    assert "'lifo'" in message
    for name in POLICY_NAMES:
        assert name in message


def test_plain_name_parses_to_the_named_policy() -> None:
    assert parse_policy("easy") == policy_named("easy")
    assert parse_policy(" sjf-easy ") == policy_named("sjf-easy")


def test_overrides_set_fields_and_keep_the_rest() -> None:
    policy = parse_policy("conservative:bf_window_s=3600, bf_max_job_test=50")
    assert policy.backfill is B.CONSERVATIVE
    assert (policy.bf_window_s, policy.bf_max_job_test) == (3600, 50)
    assert policy.weights == FIFO_WEIGHTS
    assert parse_policy("easy:estimate_starts=true").estimate_starts is True
    assert parse_policy("easy:backfill=conservative").backfill is B.CONSERVATIVE
    assert parse_policy("easy:bf_window_s=1_000").bf_window_s == 1000


def test_dotted_overrides_change_one_weight() -> None:
    policy = parse_policy("easy:weights.age=1000,billing.gpu=2.5")
    assert policy.weights.age == 1000
    assert policy.weights.fairshare == 0  # the base's other weights stay FIFO's zeros
    assert policy.billing.gpu == 2.5
    assert policy.billing.cpu == TRACE_BASE.billing.cpu


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("easy:bf_window_s=0", "bf_window_s: expected an integer >= 1"),
        ("easy:bf_window_s=1.5", "bf_window_s"),
        ("easy:nonsense=1", "nonsense: unknown key"),
        ("easy:limits=1", "limits: unknown key"),
        ("easy:bf_window_s", "expected key=value"),
        ("easy:=3", "expected key=value"),
        ("easy:", "expected key=value"),
        ("easy:queue.x=1", "only ('weights', 'billing') have dotted keys"),
        ("easy:weights.nope=1", "nope"),
        ("easy:backfill=sideways", "expected one of fcfs, easy, conservative, greedy"),
        ("easy:estimate_starts=nan", "estimate_starts"),
        ("nope:bf_window_s=3", "unknown policy 'nope'"),
    ],
)
def test_bad_overrides_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_override_errors_name_the_parameter_set() -> None:
    with pytest.raises(PolicyError, match=r"^policy 'easy:bf_window_s=0': "):
        parse_policy("easy:bf_window_s=0")
