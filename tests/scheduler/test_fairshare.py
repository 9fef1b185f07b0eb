"""Tables for `scheduler.fairshare`: decay, billing, charging, the share report and both
fair-share algorithms, with the Fair Tree golden of SLURM-BEHAVIOUR.md ("QOS limit + Fair Tree")."""

from __future__ import annotations

import copy
import math

import pytest

from scheduler.fairshare import (
    AccountShare,
    ShareReport,
    ShareTree,
    UsageRecord,
    UserShare,
    billing_rate,
    charge,
    decay,
    decay_usage,
    fairshare_factors,
    share_report,
)
from scheduler.model import Resources
from scheduler.policy import BillingWeights, FairshareAlgorithm

CLASSIC = FairshareAlgorithm.CLASSIC
FAIR_TREE = FairshareAlgorithm.FAIR_TREE
HOUR = 3600

# The Slurm 22.05 fixture: root -> {user root, lab_a -> bench, lab_b -> bench2}, 1 share each.
SLURM_TREE = ShareTree(
    accounts=(AccountShare(name="lab_a"), AccountShare(name="lab_b")),
    users=(
        UserShare(user="root", account="root"),
        UserShare(user="bench", account="lab_a"),
        UserShare(user="bench2", account="lab_b"),
    ),
)
SLURM_USAGE = (UsageRecord(user="bench", account="lab_a", usage=638.0),)


def _users(*names: str, account: str = "root") -> tuple[UserShare, ...]:
    return tuple(UserShare(user=name, account=account) for name in names)


def _usage(**by_user: float) -> tuple[UsageRecord, ...]:
    return tuple(UsageRecord(user=u, account="root", usage=v) for u, v in by_user.items())


def _rows(report: tuple[ShareReport, ...]) -> dict[tuple[str, str], ShareReport]:
    return {(row.account, row.user): row for row in report}


def _factors(
    tree: ShareTree, usage: tuple[UsageRecord, ...], algorithm: FairshareAlgorithm
) -> dict[tuple[str, str], float]:
    return fairshare_factors(tree, usage, algorithm, ())


# decay = usage * 2 ** (-elapsed / half_life); half-life <= 0 disables decay; elapsed < 0 is 0.
@pytest.mark.parametrize(
    ("usage", "elapsed", "half_life", "expected"),
    [
        (100.0, 0, HOUR, 100.0),
        (100.0, HOUR, HOUR, 50.0),
        (100.0, 2 * HOUR, HOUR, 25.0),
        (100.0, 10 * HOUR, HOUR, 100.0 / 1024),
        (100.0, HOUR // 2, HOUR, 100.0 / math.sqrt(2)),
        (100.0, 7 * 24 * HOUR, 7 * 24 * HOUR, 50.0),
        (0.0, HOUR, HOUR, 0.0),
        (100.0, HOUR, 0, 100.0),
        (100.0, -HOUR, HOUR, 100.0),
    ],
)
def test_decay_halves_usage_every_half_life(
    usage: float, elapsed: int, half_life: int, expected: float
) -> None:
    assert decay(usage, elapsed, half_life) == pytest.approx(expected)


def test_decay_usage_decays_every_record_and_keeps_the_order() -> None:
    records = (
        UsageRecord(user="z", account="b", usage=80.0),
        UsageRecord(user="a", account="a", usage=8.0),
    )
    before = copy.deepcopy(records)
    assert decay_usage(records, 3 * HOUR, HOUR) == (
        UsageRecord(user="z", account="b", usage=10.0),
        UsageRecord(user="a", account="a", usage=1.0),
    )
    assert records == before


# billing_rate = cpus * w.cpu + mem_mb / 1024 * w.mem_gb + gpus * w.gpu (per second)
@pytest.mark.parametrize(
    ("amount", "weights", "expected"),
    [
        (Resources(), BillingWeights(), 0.0),
        (Resources(cpus=4), BillingWeights(), 4.0),
        (Resources(mem_mb=2048), BillingWeights(), 0.5),
        (Resources(gpus=1), BillingWeights(), 10.0),
        (Resources(cpus=8, mem_mb=4096, gpus=2), BillingWeights(), 8 + 1 + 20),
        (Resources(cpus=8, mem_mb=4096, gpus=2), BillingWeights(cpu=2, mem_gb=1, gpu=0), 20.0),
    ],
)
def test_billing_rate_weighs_each_resource(
    amount: Resources, weights: BillingWeights, expected: float
) -> None:
    assert billing_rate(amount, weights) == pytest.approx(expected)


def test_charge_adds_to_a_record_creates_missing_ones_and_sorts() -> None:
    records = (
        UsageRecord(user="bob", account="lab_b", usage=5.0),
        UsageRecord(user="amy", account="lab_a", usage=1.0),
    )
    before = copy.deepcopy(records)
    assert charge(records, "bob", "lab_b", 2.5) == (
        UsageRecord(user="amy", account="lab_a", usage=1.0),
        UsageRecord(user="bob", account="lab_b", usage=7.5),
    )
    assert charge(records, "cat", "lab_a", 4.0) == (
        UsageRecord(user="amy", account="lab_a", usage=1.0),
        UsageRecord(user="cat", account="lab_a", usage=4.0),
        UsageRecord(user="bob", account="lab_b", usage=5.0),
    )
    assert records == before


def test_charge_merges_records_of_one_association() -> None:
    twice = (UsageRecord(user="a", account="x", usage=1.0),) * 2
    assert charge(twice, "a", "x", 0.0) == (UsageRecord(user="a", account="x", usage=2.0),)


@pytest.mark.parametrize("amount", [-1.0, math.inf, math.nan])
def test_charge_refuses_a_negative_or_infinite_amount(amount: float) -> None:
    with pytest.raises(ValueError, match="finite amount"):
        charge((), "a", "x", amount)


def test_fair_tree_golden_slurm_22_05() -> None:
    # sshare -a -l: lab_a RawUsage 638, EffectvUsage 1.0, LevelFS 0.333; lab_b and bench2 LevelFS
    # inf, FairShare 1.0; root user 0.666 (rank 2 of 3); bench FairShare 0.333333 (rank 1 of 3).
    rows = _rows(share_report(SLURM_TREE, SLURM_USAGE, FAIR_TREE))
    lab_a, lab_b = rows[("lab_a", "")], rows[("lab_b", "")]
    assert (lab_a.raw_usage, lab_a.effective_usage) == (638.0, 1.0)
    assert lab_a.level_fs == pytest.approx(1 / 3)
    assert lab_b.level_fs == math.inf
    assert rows[("lab_b", "bench2")].level_fs == math.inf
    assert rows[("lab_b", "bench2")].fairshare == 1.0
    assert rows[("root", "root")].fairshare == pytest.approx(2 / 3)
    assert rows[("lab_a", "bench")].fairshare == pytest.approx(1 / 3)
    # sprio with PriorityWeightFairshare=10000: bench 3333, bench2 10000 (truncated).
    factors = fairshare_factors(
        SLURM_TREE, SLURM_USAGE, FAIR_TREE, (("lab_a", "bench"), ("lab_b", "bench2"))
    )
    assert int(10000 * factors[("lab_a", "bench")]) == 3333
    assert int(10000 * factors[("lab_b", "bench2")]) == 10000


def test_report_rows_follow_the_tree_root_first_by_name() -> None:
    report = share_report(SLURM_TREE, SLURM_USAGE, FAIR_TREE)
    assert [(row.account, row.user) for row in report] == [
        ("root", ""),
        ("lab_a", ""),
        ("lab_a", "bench"),
        ("lab_b", ""),
        ("lab_b", "bench2"),
        ("root", "root"),
    ]
    root = report[0]
    assert (root.raw_usage, root.norm_usage, root.effective_usage, root.fairshare) == (
        638.0,
        1.0,
        1.0,
        0.0,
    )


def test_a_user_comes_before_an_account_of_the_same_name() -> None:
    tree = ShareTree(accounts=(AccountShare(name="x"),), users=_users("x"))
    assert [(r.account, r.user) for r in share_report(tree, (), FAIR_TREE)] == [
        ("root", ""),
        ("root", "x"),
        ("x", ""),
    ]


def test_norm_shares_are_sibling_relative_under_fair_tree_and_the_path_under_classic() -> None:
    # bench: 1 of 1 share in lab_a, lab_a 1 of 3 at the root: Fair Tree 1.0, classic S = 1/3.
    fair = _rows(share_report(SLURM_TREE, SLURM_USAGE, FAIR_TREE))
    classic = _rows(share_report(SLURM_TREE, SLURM_USAGE, CLASSIC))
    assert fair[("lab_a", "bench")].norm_shares == 1.0
    assert classic[("lab_a", "bench")].norm_shares == pytest.approx(1 / 3)
    assert fair[("lab_a", "")].norm_shares == classic[("lab_a", "")].norm_shares


def test_usage_columns_are_raw_share_of_total_and_share_of_parent() -> None:
    tree = ShareTree(
        accounts=(AccountShare(name="a"), AccountShare(name="b")),
        users=(*_users("a1", "a2", account="a"), *_users("b1", account="b")),
    )
    usage = (
        UsageRecord(user="a1", account="a", usage=30.0),
        UsageRecord(user="a2", account="a", usage=10.0),
        UsageRecord(user="b1", account="b", usage=60.0),
    )
    rows = _rows(share_report(tree, usage, FAIR_TREE))
    # raw = subtree sum, norm = raw / 100, effective = raw / parent's raw
    assert (rows[("a", "")].raw_usage, rows[("a", "")].norm_usage) == (40.0, 0.4)
    assert rows[("a", "")].effective_usage == pytest.approx(0.4)
    assert rows[("a", "a1")].norm_usage == pytest.approx(0.3)
    assert rows[("a", "a1")].effective_usage == pytest.approx(0.75)
    assert rows[("b", "b1")].effective_usage == 1.0


def test_without_usage_every_usage_column_is_zero() -> None:
    rows = share_report(SLURM_TREE, (), FAIR_TREE)
    assert all(row.raw_usage == row.norm_usage == row.effective_usage == 0.0 for row in rows)
    assert all(row.level_fs == math.inf for row in rows)


# classic: F = 2 ** (-U / S), U = usage / total usage, S = product of shares / siblings' shares
@pytest.mark.parametrize(
    ("tree", "usage", "expected"),
    [
        # equal shares, one user with all usage: 2 ** (-1 / 0.5) = 0.25; the other 2 ** 0 = 1
        (ShareTree(users=_users("a", "b")), _usage(a=100.0), {"a": 0.25, "b": 1.0}),
        # equal usage: 2 ** (-0.5 / 0.5) = 0.5 each
        (ShareTree(users=_users("a", "b")), _usage(a=10.0, b=10.0), {"a": 0.5, "b": 0.5}),
        # usage in proportion to shares: 2 ** (-(3/4) / (3/4)) = 0.5 for both
        (
            ShareTree(users=(UserShare(user="a", account="root", shares=3), *_users("b"))),
            _usage(a=75.0, b=25.0),
            {"a": 0.5, "b": 0.5},
        ),
        # no usage at all: U = 0, F = 1
        (ShareTree(users=_users("a", "b")), (), {"a": 1.0, "b": 1.0}),
        # zero shares: F = 0 even without usage
        (
            ShareTree(users=(UserShare(user="a", account="root", shares=0), *_users("b"))),
            (),
            {"a": 0.0, "b": 1.0},
        ),
    ],
)
def test_classic_factor(
    tree: ShareTree, usage: tuple[UsageRecord, ...], expected: dict[str, float]
) -> None:
    factors = _factors(tree, usage, CLASSIC)
    assert {user: factors[("root", user)] for user in expected} == pytest.approx(expected)


def test_classic_multiplies_shares_along_the_path() -> None:
    # lab (3 shares) vs other (1 share); a1 one of two users of lab: S = 3/4 * 1/2 = 0.375.
    # a1 holds half of all usage: F = 2 ** (-0.5 / 0.375).
    tree = ShareTree(
        accounts=(AccountShare(name="lab", shares=3), AccountShare(name="other")),
        users=(*_users("a1", "a2", account="lab"), *_users("o1", account="other")),
    )
    usage = (
        UsageRecord(user="a1", account="lab", usage=50.0),
        UsageRecord(user="o1", account="other", usage=50.0),
    )
    factors = _factors(tree, usage, CLASSIC)
    assert factors[("lab", "a1")] == pytest.approx(2 ** (-0.5 / 0.375))
    assert factors[("lab", "a2")] == 1.0
    assert factors[("other", "o1")] == pytest.approx(2 ** (-0.5 / 0.25))


def test_classic_account_with_zero_shares_gives_its_users_zero() -> None:
    tree = ShareTree(
        accounts=(AccountShare(name="frozen", shares=0), AccountShare(name="lab")),
        users=(*_users("f", account="frozen"), *_users("l", account="lab")),
    )
    rows = _rows(share_report(tree, (), CLASSIC))
    assert rows[("frozen", "f")].norm_shares == 0.0
    assert rows[("frozen", "f")].fairshare == 0.0
    assert rows[("lab", "l")].fairshare == 1.0


# Fair Tree: LevelFS = (shares / siblings' shares) / (usage / siblings' usage); rank / N
@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        # c inf; a, b (1/3)/(1/2) tie: c rank 3, a and b share rank 2
        (_usage(a=10.0, b=10.0), {"a": 2 / 3, "b": 2 / 3, "c": 1.0}),
        # a 1/3 / 1/10, b 1/3 / 9/10: c 3, a 2, b 1
        (_usage(a=10.0, b=90.0), {"a": 2 / 3, "b": 1 / 3, "c": 1.0}),
        # no usage: all inf, all tied at the top rank
        ((), {"a": 1.0, "b": 1.0, "c": 1.0}),
        # all three used alike: tied at LevelFS 1.0, all rank 3
        (_usage(a=5.0, b=5.0, c=5.0), {"a": 1.0, "b": 1.0, "c": 1.0}),
    ],
)
def test_fair_tree_ranks_users_by_level_fs(
    usage: tuple[UsageRecord, ...], expected: dict[str, float]
) -> None:
    factors = _factors(ShareTree(users=_users("a", "b", "c")), usage, FAIR_TREE)
    assert {user: factors[("root", user)] for user in expected} == pytest.approx(expected)


def test_fair_tree_tied_users_share_a_rank_and_the_next_user_skips_it() -> None:
    # c inf (rank 4); a, b 1.25 (rank 3 both); d (1/4)/(30/50) = 0.4167 gets rank 1, not 2.
    usage = _usage(a=10.0, b=10.0, d=30.0)
    rows = _rows(share_report(ShareTree(users=_users("a", "b", "c", "d")), usage, FAIR_TREE))
    assert rows[("root", "a")].level_fs == pytest.approx(1.25)
    assert [rows[("root", u)].fairshare for u in "cabd"] == [1.0, 0.75, 0.75, 0.25]


def test_fair_tree_ties_on_level_fs_go_to_more_shares_then_to_the_name() -> None:
    # "zeta" (2 shares, 20 of 30) and "small" (1 share, 10 of 30) both have LevelFS 1.0:
    # zeta is walked first for its shares. "alpha" and "beta" tie on everything but the name.
    by_shares = ShareTree(
        accounts=(AccountShare(name="small"), AccountShare(name="zeta", shares=2)),
        users=(*_users("s", account="small"), *_users("z", account="zeta")),
    )
    usage = (
        UsageRecord(user="s", account="small", usage=10.0),
        UsageRecord(user="z", account="zeta", usage=20.0),
    )
    factors = _factors(by_shares, usage, FAIR_TREE)
    assert (factors[("zeta", "z")], factors[("small", "s")]) == (1.0, 0.5)
    by_name = ShareTree(
        accounts=(AccountShare(name="beta"), AccountShare(name="alpha")),
        users=(*_users("x", account="beta"), *_users("y", account="alpha")),
    )
    usage = (
        UsageRecord(user="x", account="beta", usage=7.0),
        UsageRecord(user="y", account="alpha", usage=7.0),
    )
    factors = _factors(by_name, usage, FAIR_TREE)
    assert (factors[("alpha", "y")], factors[("beta", "x")]) == (1.0, 0.5)


def test_fair_tree_a_user_after_a_tied_account_does_not_share_its_rank() -> None:
    # lab_b (account) and root (user) tie at inf; the tie passes only from user to user.
    factors = _factors(SLURM_TREE, SLURM_USAGE, FAIR_TREE)
    assert factors[("root", "root")] == pytest.approx(2 / 3)


def test_fair_tree_zero_shares_rank_last() -> None:
    tree = ShareTree(users=(UserShare(user="a", account="root", shares=0), *_users("b", "c")))
    rows = _rows(share_report(tree, _usage(b=50.0), FAIR_TREE))
    assert rows[("root", "a")].level_fs == 0.0
    assert rows[("root", "a")].fairshare == pytest.approx(1 / 3)
    assert rows[("root", "c")].fairshare == 1.0


def test_siblings_without_any_shares_have_zero_norm_shares() -> None:
    tree = ShareTree(users=tuple(UserShare(user=u, account="root", shares=0) for u in "ab"))
    rows = share_report(tree, _usage(a=1.0), CLASSIC)
    assert [row.norm_shares for row in rows[1:]] == [0.0, 0.0]
    assert [row.fairshare for row in rows[1:]] == [0.0, 0.0]


@pytest.mark.parametrize("algorithm", list(FairshareAlgorithm))
def test_factors_lie_in_zero_to_one(algorithm: FairshareAlgorithm) -> None:
    usage = (*SLURM_USAGE, UsageRecord(user="bench2", account="lab_b", usage=1e9))
    factors = _factors(SLURM_TREE, usage, algorithm)
    assert len(factors) == 3
    assert all(0.0 <= value <= 1.0 for value in factors.values())


def test_users_with_jobs_but_no_association_are_added_with_one_share() -> None:
    # new_lab is unknown: added under root (1 share) with its user; "" means directly under root.
    report = share_report(
        SLURM_TREE, SLURM_USAGE, FAIR_TREE, extra_users=(("new_lab", "eve"), ("", "joe"))
    )
    rows = _rows(report)
    assert rows[("new_lab", "")].raw_shares == 1
    assert rows[("new_lab", "")].norm_shares == pytest.approx(1 / 5)
    assert rows[("new_lab", "eve")].raw_shares == 1
    assert rows[("root", "joe")].raw_shares == 1
    # five user associations now: bench is still last
    assert rows[("lab_a", "bench")].fairshare == pytest.approx(1 / 5)


def test_fairshare_factors_answer_for_the_pairs_asked_as_asked() -> None:
    factors = fairshare_factors(SLURM_TREE, (), FAIR_TREE, (("", "joe"), ("root", "root")))
    assert factors[("", "joe")] == factors[("root", "joe")] == 1.0
    assert ("lab_a", "bench") in factors


def test_usage_of_an_unknown_association_is_counted_implicitly() -> None:
    usage = (*SLURM_USAGE, UsageRecord(user="ghost", account="gone", usage=362.0))
    rows = _rows(share_report(SLURM_TREE, usage, FAIR_TREE))
    assert rows[("gone", "ghost")].raw_usage == 362.0
    assert rows[("root", "")].raw_usage == 1000.0
    assert rows[("lab_a", "")].norm_usage == pytest.approx(0.638)


def test_unknown_parents_and_parent_loops_end_up_under_root() -> None:
    tree = ShareTree(
        accounts=(
            AccountShare(name="child", parent="missing"),
            AccountShare(name="p", parent="q"),
            AccountShare(name="q", parent="p"),
        )
    )
    rows = [(row.account, row.user) for row in share_report(tree, (), FAIR_TREE)]
    # "missing" is added under root; the loop p <-> q is cut by moving p (smallest) under root.
    assert rows == [("root", ""), ("missing", ""), ("child", ""), ("p", ""), ("q", "")]


def test_a_loop_entered_from_outside_is_cut_at_its_smallest_account() -> None:
    # a -> c -> b -> c: the loop is {b, c}; b (smallest) moves under root, c under b, a under c.
    tree = ShareTree(
        accounts=(
            AccountShare(name="a", parent="c"),
            AccountShare(name="c", parent="b"),
            AccountShare(name="b", parent="c"),
        )
    )
    rows = [row.account for row in share_report(tree, (), FAIR_TREE)]
    assert rows == ["root", "b", "c", "a"]


def test_first_declaration_wins_and_negative_values_count_as_zero() -> None:
    tree = ShareTree(
        accounts=(AccountShare(name="a", shares=5), AccountShare(name="a", shares=9)),
        users=(
            UserShare(user="u", account="a", shares=-3),
            UserShare(user="u", account="a", shares=4),
        ),
    )
    usage = (
        UsageRecord(user="u", account="a", usage=-5.0),
        UsageRecord(user="u", account="a", usage=2.0),
    )
    rows = _rows(share_report(tree, usage, FAIR_TREE))
    assert rows[("a", "")].raw_shares == 5
    assert rows[("a", "u")].raw_shares == 0
    assert rows[("a", "u")].raw_usage == 2.0


def test_records_of_one_association_add_up() -> None:
    usage = _usage(a=1.0) + _usage(a=2.0)
    rows = _rows(share_report(ShareTree(users=_users("a")), usage, CLASSIC))
    assert rows[("root", "a")].raw_usage == 3.0


def test_a_user_named_empty_is_ignored() -> None:
    tree = ShareTree(users=_users(""))
    usage = (UsageRecord(user="", account="ghost", usage=5.0),)
    assert share_report(tree, usage, FAIR_TREE, extra_users=(("ghost", ""),)) == (
        share_report(ShareTree(), (), FAIR_TREE)
    )


@pytest.mark.parametrize("algorithm", list(FairshareAlgorithm))
def test_report_ignores_input_order_and_leaves_inputs_alone(algorithm: FairshareAlgorithm) -> None:
    tree = ShareTree(
        accounts=(AccountShare(name="a", shares=2), AccountShare(name="b", parent="a")),
        users=(*_users("x", "y", account="b"), *_users("z", account="a"), *_users("w")),
    )
    usage = (
        UsageRecord(user="x", account="b", usage=3.0),
        UsageRecord(user="z", account="a", usage=5.0),
        UsageRecord(user="w", account="root", usage=1.0),
    )
    extra = (("c", "v"), ("b", "y"))
    snapshot = copy.deepcopy((tree, usage, extra))
    report = share_report(tree, usage, algorithm, extra)
    reordered = ShareTree(accounts=tree.accounts[::-1], users=tree.users[::-1])
    assert share_report(reordered, usage[::-1], algorithm, extra[::-1]) == report
    assert share_report(tree, usage, algorithm, extra) == report
    assert (tree, usage, extra) == snapshot
