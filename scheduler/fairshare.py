"""Fair share: usage that decays with a half-life, the share tree, and each user's factor.

Usage is charged in billing-weighted resource-seconds (`billing_rate` per second of allocation,
Slurm's ``TRESBillingWeights``), kept per user association as `UsageRecord` values and halved
every ``half_life_s`` by `decay_usage` (``PriorityDecayHalfLife``). The driver owns the records
and the clock; these functions only compute. `share_report` gives one row per account and user
association, as ``sshare -a -l`` does; `fairshare_factors` reads the users' factors off it.

- CLASSIC: ``F = 2 ** (-U / S)``: U is the association's usage over all usage (0 when there is
  none), S the product of shares / siblings' shares along its path; zero shares give F = 0.
- FAIR_TREE: at each level ``LevelFS = S_sib / U_sib``, shares and usage relative to the
  siblings (accounts and users under one parent); inf without usage, 0 without shares. Siblings
  are walked depth-first by LevelFS descending, raw shares descending, then name; user
  associations get ranks N, N-1, ... 1 in that walk (a user tied on LevelFS with the sibling just
  before it, itself a user, keeps that sibling's rank) and F = rank / N.

Where Slurm's database would refuse the input: account "" means root; an (account, user) of
``extra_users`` or of a usage record with no association gets one with 1 share, an unknown
account or parent is added under root with 1 share; a looping parent chain is cut by moving its
smallest account under root; the first declaration wins; negative shares and usage count as 0;
records of one association add up; user "" is ignored. Rows start with root (account "root",
user "") and go depth-first, each level by name (a user before an account of the same name).
``norm_shares`` is sibling-relative under FAIR_TREE, the path product S under CLASSIC. Account
rows have ``fairshare`` 0.0: only user associations have a factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scheduler.model import Resources
from scheduler.policy import BillingWeights, FairshareAlgorithm

ROOT = "root"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountShare:
    """An account in the share tree; ``parent`` is another account's name or "root"."""

    name: str
    parent: str = "root"
    shares: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class UserShare:
    """A user association: ``user`` in ``account`` (an account name or "root") with raw shares."""

    user: str
    account: str
    shares: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareTree:
    accounts: tuple[AccountShare, ...] = ()
    users: tuple[UserShare, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecord:
    """Decayed usage of one user association, in billing-weighted resource-seconds."""

    user: str
    account: str
    usage: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareReport:
    """One ``sshare -a -l`` row; ``user`` is "" on account rows. ``effective_usage`` is the usage
    over the parent's usage (Slurm's EffectvUsage), ``level_fs`` may be ``math.inf``. The root
    row counts as its own only sibling: 1 share, effective usage 1.0 (0.0 and inf unused)."""

    account: str
    user: str
    raw_shares: int
    norm_shares: float
    raw_usage: float
    norm_usage: float
    effective_usage: float
    level_fs: float
    fairshare: float


def decay(usage: float, elapsed_s: int, half_life_s: int) -> float:
    """``usage * 2 ** (-elapsed_s / half_life_s)``. A half-life <= 0 disables decay (Slurm's
    ``PriorityDecayHalfLife=0``); a negative elapsed time (a clock stepping back) counts as 0."""
    if half_life_s <= 0 or elapsed_s <= 0:
        return usage
    return usage * math.pow(2.0, -elapsed_s / half_life_s)


def decay_usage(
    records: tuple[UsageRecord, ...], elapsed_s: int, half_life_s: int
) -> tuple[UsageRecord, ...]:
    """Every record decayed by `decay`, in the same order."""
    return tuple(
        UsageRecord(user=r.user, account=r.account, usage=decay(r.usage, elapsed_s, half_life_s))
        for r in records
    )


def billing_rate(amount: Resources, weights: BillingWeights) -> float:
    """What ``amount`` costs per second: CPUs, GiB of memory and GPUs, each by its weight."""
    w = weights
    return amount.cpus * w.cpu + amount.mem_mb / 1024 * w.mem_gb + amount.gpus * w.gpu


def charge(
    records: tuple[UsageRecord, ...], user: str, account: str, amount: float
) -> tuple[UsageRecord, ...]:
    """The records with ``amount`` added to (account, user), sorted by (account, user); a missing
    record is created, records of one association are merged. :raises ValueError: for an amount
    that is negative or not finite."""
    if not 0.0 <= amount < math.inf:
        raise ValueError(f"a charge must be a finite amount >= 0, got {amount!r}")
    totals: dict[tuple[str, str], float] = {}
    for record in records:
        key = (record.account, record.user)
        totals[key] = totals.get(key, 0.0) + record.usage
    totals[(account, user)] = totals.get((account, user), 0.0) + amount
    return tuple(UsageRecord(user=u, account=a, usage=totals[(a, u)]) for a, u in sorted(totals))


@dataclass(slots=True, eq=False)
class _Assoc:
    """A node of the working tree: private, built afresh by every call, never shared."""

    account: str
    user: str  # "" for an account
    shares: int
    usage: float = 0.0  # summed over the subtree
    children: list[_Assoc] = field(default_factory=list)
    s_sib: float = 1.0  # shares / siblings' shares
    u_sib: float = 0.0  # usage / parent's usage (EffectvUsage)
    path_shares: float = 1.0  # classic S: product of s_sib from the root down
    level_fs: float = math.inf
    fairshare: float = 0.0


def _cut_loops(parents: dict[str, str]) -> None:
    for start in sorted(parents):
        seen: dict[str, int] = {}
        node = start
        while node != ROOT and node not in seen:
            seen[node] = len(seen)
            node = parents[node]
        if node != ROOT:
            parents[min(name for name, step in seen.items() if step >= seen[node])] = ROOT


def _build(
    tree: ShareTree, usage: tuple[UsageRecord, ...], extra: tuple[tuple[str, str], ...]
) -> _Assoc:
    parents: dict[str, str] = {}
    shares: dict[str, int] = {ROOT: 1}
    for acc in tree.accounts:
        if acc.name not in ("", ROOT) and acc.name not in parents:
            parents[acc.name], shares[acc.name] = acc.parent or ROOT, max(0, acc.shares)
    users = {(a.account or ROOT, a.user): max(0, a.shares) for a in reversed(tree.users) if a.user}
    used: dict[tuple[str, str], float] = {}
    for record in usage:
        key = (record.account or ROOT, record.user)
        used[key] = used.get(key, 0.0) + max(0.0, record.usage)
    for account, user in (*extra, *used):
        if user:
            users.setdefault((account or ROOT, user), 1)
    for account in sorted({a for a, _ in users} | set(parents.values())):
        if account not in shares:
            parents[account], shares[account] = ROOT, 1
    _cut_loops(parents)
    nodes = {name: _Assoc(account=name, user="", shares=shares[name]) for name in sorted(shares)}
    for name in sorted(parents):
        nodes[parents[name]].children.append(nodes[name])
    for (account, user), count in sorted(users.items()):
        amount = used.get((account, user), 0.0)
        child = _Assoc(account=account, user=user, shares=count, usage=amount)
        nodes[account].children.append(child)
        while True:  # every account above the association carries its usage
            nodes[account].usage += amount
            if account == ROOT:
                break
            account = parents[account]
    return nodes[ROOT]


def _relate(node: _Assoc, out: list[_Assoc]) -> None:
    """Set the sibling-relative values below ``node`` and append its subtree to ``out`` in
    report order (each level by name, a user before an account of the same name)."""
    node.children.sort(key=lambda c: (c.user or c.account, not c.user))
    share_sum = sum(child.shares for child in node.children)
    for child in node.children:
        child.s_sib = child.shares / share_sum if share_sum else 0.0
        child.u_sib = child.usage / node.usage if node.usage else 0.0
        child.path_shares = node.path_shares * child.s_sib
        level_fs = child.s_sib / child.u_sib if child.u_sib else math.inf
        child.level_fs = level_fs if child.shares else 0.0
        out.append(child)
        _relate(child, out)


def _rank_fair_tree(node: _Assoc, count: int, next_rank: int) -> int:
    """Rank the users below ``node`` from ``next_rank`` down; return the next rank to hand out."""
    rank, previous = 0, node
    for child in sorted(
        node.children, key=lambda c: (-c.level_fs, -c.shares, c.user or c.account, not c.user)
    ):
        if not child.user:
            next_rank = _rank_fair_tree(child, count, next_rank)
        else:
            if not previous.user or previous.level_fs != child.level_fs:
                rank = next_rank
            child.fairshare = rank / count
            next_rank -= 1
        previous = child
    return next_rank


def share_report(
    tree: ShareTree,
    usage: tuple[UsageRecord, ...],
    algorithm: FairshareAlgorithm,
    extra_users: tuple[tuple[str, str], ...] = (),
) -> tuple[ShareReport, ...]:
    """Every account and user association with its shares, usage and factor, root first."""
    root = _build(tree, usage, extra_users)
    total, nodes = root.usage, [root]
    root.u_sib, root.level_fs = (1.0, 1.0) if total else (0.0, math.inf)
    _relate(root, nodes)
    classic = algorithm is FairshareAlgorithm.CLASSIC
    for node in nodes:  # classic: 2 ** (-U / S), U the share of all usage, S the path's shares
        if classic and node.user and node.path_shares > 0.0:
            node.fairshare = math.pow(2.0, -node.usage / (total or 1.0) / node.path_shares)
    if not classic:
        count = sum(1 for node in nodes if node.user)
        _rank_fair_tree(root, count, count)
    return tuple(
        ShareReport(
            account=node.account,
            user=node.user,
            raw_shares=node.shares,
            norm_shares=node.path_shares if classic else node.s_sib,
            raw_usage=node.usage,
            norm_usage=node.usage / (total or 1.0),
            effective_usage=node.u_sib,
            level_fs=node.level_fs,
            fairshare=node.fairshare,
        )
        for node in nodes
    )


def fairshare_factors(
    tree: ShareTree,
    usage: tuple[UsageRecord, ...],
    algorithm: FairshareAlgorithm,
    users: tuple[tuple[str, str], ...],
) -> dict[tuple[str, str], float]:
    """(account, user) -> factor in [0, 1] for ``users`` (added as implicit associations where
    they have none) and for every other user association of the tree."""
    report = share_report(tree, usage, algorithm, extra_users=users)
    factors = {(row.account, row.user): row.fairshare for row in report if row.user}
    for account, user in users:
        factors[(account, user)] = factors.get((account or ROOT, user), 0.0)
    return factors
