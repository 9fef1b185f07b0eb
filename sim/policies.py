"""Named policies for trace studies, and ``name:key=value,...`` parameter sets.

A trace replay ranks jobs FIFO: every priority weight is 0, so the queue order is (submit time,
job id), the order ``shared/traces/VALIDATION.md`` defines. A named policy sets two things on a
base policy, the backfill mode and the queue order (the ``rl-`` names two more, below); the
base is `TRACE_BASE` unless a site's ``[policy]`` table is given (then its weights, fair share
and limits stay). ``estimate_starts`` is off in `TRACE_BASE`: estimated starts are reported to
users and never change a decision, so a replay skips them.

======================  ==============  ================  ======================================
name                    backfill        queue order       what it is
======================  ==============  ================  ======================================
``fcfs``                FCFS            priority (FIFO)   strict order; the head waits until it fits
``easy``                EASY            priority (FIFO)   Lifka's EASY: one reservation
``conservative``        CONSERVATIVE    priority (FIFO)   a reservation for every blocked job
``fcfs-greedy``         GREEDY          priority (FIFO)   RLScheduler's greedy backfill (§B)
``sjf``                 FCFS            shortest first    SJF by estimate, no backfilling
``sjf-easy``            EASY            shortest first    SJF order with EASY backfilling
``sjf-greedy``          GREEDY          shortest first    SJF with RLScheduler's greedy backfill
``rl-fcfs``             FCFS            priority (FIFO)   RLScheduler's loop (below): FCFS
``rl-sjf``              FCFS            shortest first    RLScheduler's loop: SJF
``rl-fcfs-greedy``      GREEDY          priority (FIFO)   RLScheduler's loop: FCFS, greedy backfill
``rl-sjf-greedy``       GREEDY          shortest first    RLScheduler's loop: SJF, greedy backfill
``site``                (as the base)   (as the base)     the site's ``[policy]`` table unchanged
======================  ==============  ================  ======================================

The ``rl-`` names add the state of the authors' sequential loop (VALIDATION.md §B,
``sim/README.md``): ``keep_head`` (the first blocked job keeps its place, and its greedy shadow
time, until it starts) and ``backfill_order = "priority"`` (the jobs behind it in FCFS order).
Replayed with ``--events singly`` (one event at a time, submits first) they give the published
cells of RLScheduler's table; the other names decide afresh every pass, as Slurm does.

A parameter set is a name, a colon and comma-separated overrides of `scheduler.Policy` fields:
``easy:bf_window_s=3600``, ``conservative:bf_window_s=86400,bf_max_job_test=500``,
``easy:weights.age=1000``. Values are read as TOML scalars would be (``true``/``false``, integers,
decimals, else words) and validated by `scheduler.policy_from_mapping`, so the errors and the
accepted ranges are those of ``berth.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from scheduler import (
    BackfillMode,
    BerthError,
    Policy,
    PriorityWeights,
    QueueOrder,
    policy_from_mapping,
)

FIFO_WEIGHTS = PriorityWeights(age=0, fairshare=0, job_size=0, partition=0, qos=0, assoc=0)
TRACE_BASE = Policy(weights=FIFO_WEIGHTS, estimate_starts=False)
SITE = "site"

_FIFO, _SJF = QueueOrder.PRIORITY, QueueOrder.SHORTEST_FIRST
# name -> (backfill mode, queue order, the authors' loop: kept heads and FCFS behind the head)
NAMED: Mapping[str, tuple[BackfillMode, QueueOrder, bool]] = {
    "fcfs": (BackfillMode.FCFS, _FIFO, False),
    "easy": (BackfillMode.EASY, _FIFO, False),
    "conservative": (BackfillMode.CONSERVATIVE, _FIFO, False),
    "fcfs-greedy": (BackfillMode.GREEDY, _FIFO, False),
    "sjf": (BackfillMode.FCFS, _SJF, False),
    "sjf-easy": (BackfillMode.EASY, _SJF, False),
    "sjf-greedy": (BackfillMode.GREEDY, _SJF, False),
    "rl-fcfs": (BackfillMode.FCFS, _FIFO, True),
    "rl-sjf": (BackfillMode.FCFS, _SJF, True),
    "rl-fcfs-greedy": (BackfillMode.GREEDY, _FIFO, True),
    "rl-sjf-greedy": (BackfillMode.GREEDY, _SJF, True),
}
POLICY_NAMES: tuple[str, ...] = (*NAMED, SITE)
_TABLES = ("weights", "billing")  # nested tables of [policy], reachable as weights.age=...


class PolicyError(ValueError):
    """An unknown policy name or a bad override; the message says what would be accepted."""


def policy_named(name: str, base: Policy = TRACE_BASE) -> Policy:
    """The named policy on ``base`` (``site`` is ``base`` itself).

    :raises PolicyError: for an unknown name, listing the known ones.
    """
    if name == SITE:
        return base
    try:
        backfill, order, authors_loop = NAMED[name]
    except KeyError:
        raise PolicyError(
            f"unknown policy {name!r}; the policies are {', '.join(POLICY_NAMES)}"
        ) from None
    policy = replace(base, backfill=backfill, queue_order=order)
    if authors_loop:
        policy = replace(policy, keep_head=True, backfill_order=_FIFO)
    return policy


def parse_policy(text: str, base: Policy = TRACE_BASE) -> Policy:
    """A policy from ``name`` or ``name:key=value,key=value`` (see the module docstring).

    :raises PolicyError: for an unknown name, a malformed override or a value out of range.
    """
    name, colon, rest = text.partition(":")
    policy = policy_named(name.strip(), base)
    if not colon:
        return policy
    overrides: dict[str, Any] = {}
    for item in rest.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not (key and equals and value):
            raise PolicyError(f"policy {text!r}: expected key=value after the colon, got {item!r}")
        table, dot, field = key.partition(".")
        if dot:
            if table not in _TABLES:
                raise PolicyError(f"policy {text!r}: {key!r}: only {_TABLES} have dotted keys")
            overrides.setdefault(table, {})[field] = _scalar(value)
        else:
            overrides[key] = _scalar(value)
    return _override(text, policy, overrides)


def _override(text: str, policy: Policy, overrides: dict[str, Any]) -> Policy:
    try:
        parsed = policy_from_mapping(overrides)
    except BerthError as err:
        raise PolicyError(f"policy {text!r}: {err}") from None
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in _TABLES:  # keep the base's other weights, take only the keys given
            fresh = {field: getattr(getattr(parsed, key), field) for field in value}
            changes[key] = replace(getattr(policy, key), **fresh)
        else:
            changes[key] = getattr(parsed, key)
    return replace(policy, **changes)


def _scalar(text: str) -> object:
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
