"""The [policy] table of berth.toml, parsed by a pure function."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from scheduler import (
    BackfillMode,
    ConfigError,
    FairshareAlgorithm,
    Limits,
    Policy,
    PriorityWeights,
    policy_from_mapping,
)

ROOT = Path(__file__).resolve().parents[2]


def test_empty_table_gives_the_defaults() -> None:
    assert policy_from_mapping({}) == Policy()


def test_defaults_weigh_every_factor_unlike_slurm() -> None:
    weights = PriorityWeights()
    assert (
        min(
            weights.age,
            weights.fairshare,
            weights.job_size,
            weights.partition,
            weights.qos,
            weights.assoc,
        )
        > 0
    )


def test_every_key_is_read() -> None:
    policy = policy_from_mapping(
        {
            "backfill": "conservative",
            "fairshare": "classic",
            "bf_window_s": 86_400,
            "bf_max_job_test": 500,
            "estimate_starts": False,
            "preemption": True,
            "half_life_s": 3600,
            "weights": {
                "age": 5,
                "fairshare": 6,
                "favor_small": True,
                "tres": {"gpu": 7},
                "max_age_s": 60,
            },
            "billing": {"cpu": 2, "mem_gb": 0.5, "gpu": 20.0},
        },
        limits=Limits(),
    )
    assert policy.backfill is BackfillMode.CONSERVATIVE
    assert policy.fairshare is FairshareAlgorithm.CLASSIC
    assert (policy.bf_window_s, policy.bf_max_job_test, policy.half_life_s) == (86_400, 500, 3600)
    assert not policy.estimate_starts
    assert policy.preemption
    assert (policy.weights.age, policy.weights.fairshare, policy.weights.max_age_s) == (5, 6, 60)
    assert policy.weights.favor_small
    assert policy.weights.tres == {"gpu": 7}
    assert (policy.billing.cpu, policy.billing.mem_gb, policy.billing.gpu) == (2.0, 0.5, 20.0)


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ({"backfil": "easy"}, "backfil", "unknown key"),
        ({"backfill": "lifo"}, "backfill", "one of fcfs, easy, conservative"),
        ({"fairshare": "fair-tree"}, "fairshare", "one of fair_tree, classic"),
        ({"bf_window_s": 0}, "bf_window_s", "integer >= 1"),
        ({"bf_window_s": True}, "bf_window_s", "integer >= 1"),
        ({"preemption": "yes"}, "preemption", "true or false"),
        ({"weights": {"age": -1}}, "age", "integer >= 0"),
        ({"weights": {"max_age_s": 0}}, "max_age_s", "integer >= 1"),
        ({"weights": {"favor_small": 1}}, "favor_small", "true or false"),
        ({"weights": {"tres": 5}}, "tres", "a table"),
        ({"weights": {"tres": {"disk": 1}}}, "disk", "cpu, mem or gpu"),
        ({"weights": {"agee": 1}}, "agee", "unknown key"),
        ({"billing": {"gpu": -2}}, "gpu", "number >= 0"),
        ({"billing": {"gpu": "ten"}}, "gpu", "number >= 0"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(table: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_mapping(table)
    assert caught.value.key == key
    assert words in str(caught.value)


def test_the_example_berth_toml_policy_parses() -> None:
    data = tomllib.loads((ROOT / "config" / "berth.toml").read_text())
    assert isinstance(policy_from_mapping(data.get("policy", {})), Policy)
