"""The scheduling policy: a frozen value, parsed by a pure function from a plain mapping.

Drivers read ``berth.toml`` with ``tomllib`` and hand the ``[policy]`` table to
`policy_from_mapping`; the daemon and the simulator therefore share one configuration format and
``sim`` never imports ``daemon``.

Defaults differ from Slurm's on purpose: every ``PriorityWeight*`` in Slurm defaults to 0, which
makes a fresh Slurm plain FIFO and surprises people. Berth's defaults weigh fair share most, then
QOS, age, partition and association priority, and job size a little; see `PriorityWeights`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum, StrEnum
from typing import Any, TypeVar

from scheduler.errors import ConfigError
from scheduler.limits import Limits


class BackfillMode(StrEnum):
    """How blocked jobs are handled.

    FCFS: strict priority order; a blocked job blocks every later job that could use its nodes.
    EASY: the first blocked job of each partition gets a reservation; a later job starts now if it
    fits around every reservation (so it never delays one). CONSERVATIVE: every blocked job gets a
    reservation in priority order; a later job starts now only if it delays none of them.
    """

    FCFS = "fcfs"
    EASY = "easy"
    CONSERVATIVE = "conservative"
    GREEDY = "greedy"


class QueueOrder(StrEnum):
    """The order in which a pass considers pending jobs."""

    PRIORITY = "priority"  # (-priority, submit time, job id): Slurm's order
    SHORTEST_FIRST = "shortest_first"  # (time limit, submit time, job id): SJF for studies


class FairshareAlgorithm(StrEnum):
    FAIR_TREE = "fair_tree"  # Slurm's default since 19.05
    CLASSIC = "classic"  # 2^(-U/S), Slurm's PriorityFlags=NO_FAIR_TREE


@dataclass(frozen=True, slots=True, kw_only=True)
class PriorityWeights:
    """Weights of the multifactor priority (Slurm's ``PriorityWeight*``)."""

    age: int = 1000
    fairshare: int = 10000
    job_size: int = 500
    partition: int = 1000
    qos: int = 2000
    assoc: int = 1000
    tres: Mapping[str, int] = field(default_factory=dict)  # "cpu" / "mem" / "gpu" -> weight
    max_age_s: int = 7 * 24 * 3600  # PriorityMaxAge: the age factor saturates here
    favor_small: bool = False  # PriorityFavorSmall


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingWeights:
    """How usage is charged, per resource-second (Slurm's ``TRESBillingWeights``).

    GPU-seconds weigh most: on an 8-GPU, 64-CPU node one GPU costs as much as ten CPUs.
    """

    cpu: float = 1.0
    mem_gb: float = 0.25
    gpu: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    backfill: BackfillMode = BackfillMode.EASY
    queue_order: QueueOrder = QueueOrder.PRIORITY
    bf_window_s: int = 7 * 24 * 3600  # how far ahead reservations may be placed
    bf_max_job_test: int = 100_000  # pending jobs examined per pass (Slurm: 500)
    estimate_starts: bool = True  # compute an estimated start for every examined blocked job
    weights: PriorityWeights = field(default_factory=PriorityWeights)
    fairshare: FairshareAlgorithm = FairshareAlgorithm.FAIR_TREE
    half_life_s: int = 7 * 24 * 3600  # PriorityDecayHalfLife
    billing: BillingWeights = field(default_factory=BillingWeights)
    limits: Limits = field(default_factory=Limits)
    preemption: bool = False
    # RLScheduler's heuristic loop (VALIDATION.md §B), for studies; Slurm does neither. The
    # first job blocked on resources keeps its place at the head until it starts, even when a
    # later job sorts before it (shortest first), and under GREEDY keeps the shadow time computed
    # when it was first blocked (`Head`).
    keep_head: bool = False
    # The order in which jobs behind a blocked head are tried; None: the queue order.
    backfill_order: QueueOrder | None = None


_E = TypeVar("_E", bound=Enum)


def _int(table: str, key: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(table, key, f"expected an integer >= {minimum}, got {value!r}")
    return value


def _float(table: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(table, key, f"expected a number >= 0, got {value!r}")
    return float(value)


def _enum_value(table: str, key: str, value: object, enum: type[_E]) -> _E:
    choices = ", ".join(str(member.value) for member in enum)
    try:
        return enum(value)
    except ValueError:
        raise ConfigError(table, key, f"expected one of {choices}, got {value!r}") from None


def _check_keys(table: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            table, unknown[0], f"unknown key; the keys this table takes are {sorted(allowed)}"
        )


def _weights_from_mapping(data: Mapping[str, Any]) -> PriorityWeights:
    table = "policy.weights"
    names = {f.name for f in fields(PriorityWeights)}
    _check_keys(table, data, names)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "favor_small":
            if not isinstance(value, bool):
                raise ConfigError(table, key, f"expected true or false, got {value!r}")
            kwargs[key] = value
        elif key == "tres":
            if not isinstance(value, Mapping):
                raise ConfigError(table, key, "expected a table such as {gpu = 1000}")
            unknown = sorted(set(value) - {"cpu", "mem", "gpu"})
            if unknown:
                raise ConfigError(f"{table}.tres", unknown[0], "expected cpu, mem or gpu")
            kwargs[key] = {k: _int(f"{table}.tres", k, v) for k, v in value.items()}
        else:
            kwargs[key] = _int(table, key, value, minimum=1 if key == "max_age_s" else 0)
    return PriorityWeights(**kwargs)


def _billing_from_mapping(data: Mapping[str, Any]) -> BillingWeights:
    table = "policy.billing"
    _check_keys(table, data, {f.name for f in fields(BillingWeights)})
    return BillingWeights(**{key: _float(table, key, value) for key, value in data.items()})


def policy_from_mapping(data: Mapping[str, Any], limits: Limits | None = None) -> Policy:
    """Build a `Policy` from the ``[policy]`` table of ``berth.toml`` (already parsed).

    :raises ConfigError: naming the key and the fix, for unknown keys and bad values.
    """
    table = "policy"
    allowed = {f.name for f in fields(Policy)} - {"limits"}
    _check_keys(table, data, allowed)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "backfill":
            kwargs[key] = _enum_value(table, key, value, BackfillMode)
        elif key == "fairshare":
            kwargs[key] = _enum_value(table, key, value, FairshareAlgorithm)
        elif key in ("queue_order", "backfill_order"):
            kwargs[key] = _enum_value(table, key, value, QueueOrder)
        elif key in ("estimate_starts", "preemption", "keep_head"):
            if not isinstance(value, bool):
                raise ConfigError(table, key, f"expected true or false, got {value!r}")
            kwargs[key] = value
        elif key == "weights":
            kwargs[key] = _weights_from_mapping(value)
        elif key == "billing":
            kwargs[key] = _billing_from_mapping(value)
        else:
            kwargs[key] = _int(table, key, value, minimum=1)
    if limits is not None:
        kwargs["limits"] = limits
    return Policy(**kwargs)
