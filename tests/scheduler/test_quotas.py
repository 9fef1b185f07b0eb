"""limits.yaml -> Limits: both real DS01 files, Berth's own vocabulary, resolution and errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler.errors import ConfigError
from scheduler.limits import Caps, JobCaps, Qos, UserLimits
from scheduler.quotas import limits_from_mapping

ROOT = Path(__file__).resolve().parents[2]
DS01 = ROOT.parent / "shared" / "fixtures" / "ds01"
if not DS01.is_dir():  # the checkout may sit elsewhere than beside shared/
    DS01 = Path("/work/shared/fixtures/ds01")
GIB = 1024
HOUR = 3600
NOTE = re.compile(r"^[\w.@\-\[\]]+: (fractional part )?not enforced by Berth \(.+\)$")


def load(path: Path) -> dict[str, Any]:
    with path.open() as file:
        data: dict[str, Any] = yaml.safe_load(file)
    return data


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    return load(DS01 / "resource-limits.current.yaml")


@pytest.fixture(scope="module")
def v1() -> dict[str, Any]:
    return load(DS01 / "resource-limits.v1.yaml")


# --- DS01, current vocabulary --------------------------------------------------------------------


def test_current_student_is_the_default_user(current: dict[str, Any]) -> None:
    limits = limits_from_mapping(current, source="resource-limits.yaml")
    student = limits.default_user
    # groups.student.max_gpu_equivalents 2.0 over defaults' 1.0; aggregate.gpu_limit 2.0 agrees
    assert student.total == Caps(gpus=2, cpus=96, mem_mb=96 * GIB, running_jobs=3)
    # per container: max_gpu_slots_per_container 2, max_cpus 32, memory 32g, max_runtime_h 24
    assert student.per_job == JobCaps(gpus=2, cpus=32, mem_mb=32 * GIB, wall_s=24 * HOUR)
    assert student.priority == 0
    assert limits.users == {}
    assert list(limits.qos) == ["normal"]


def test_current_groups_through_member_files(current: dict[str, Any]) -> None:
    members = {"researcher": ["rita"], "faculty": ["fay"], "admin": ["datasciencelab"]}
    limits = limits_from_mapping(current, group_members=members)
    rita = limits.for_user("rita")
    assert rita.total == Caps(gpus=4, cpus=240, mem_mb=320 * GIB, running_jobs=5)
    assert rita.per_job == JobCaps(gpus=3, cpus=48, mem_mb=64 * GIB, wall_s=48 * HOUR)
    fay = limits.for_user("fay")
    assert fay.per_job == JobCaps(gpus=4, cpus=64, mem_mb=128 * GIB, wall_s=72 * HOUR)
    assert fay.total == Caps(gpus=4, cpus=320, mem_mb=640 * GIB, running_jobs=5)
    admin = limits.for_user("datasciencelab")
    assert admin.total == Caps(gpus=None, running_jobs=10)  # no aggregate: no totals but jobs
    assert admin.per_job == JobCaps(gpus=None, cpus=64, mem_mb=128 * GIB, wall_s=24 * HOUR)
    assert limits.for_user("someone") == limits.default_user


def test_current_user_overrides_file(current: dict[str, Any]) -> None:
    # the shape of DS01's config/runtime/user-overrides.yaml: user -> keys
    overrides = {
        "204214@hertie-school.lan": {
            "idle_timeout_h": None,
            "max_runtime_h": None,
            "container_hold_after_stop_h": None,
        },
        "241248@hertie-school.lan": {"max_runtime_h": 48},
    }
    limits = limits_from_mapping(
        current,
        group_members={"researcher": ["204214@hertie-school.lan"]},
        user_overrides=overrides,
    )
    silke = limits.for_user("204214@hertie-school.lan")
    assert silke.per_job == JobCaps(gpus=3, cpus=48, mem_mb=64 * GIB, wall_s=None)
    other = limits.for_user("241248@hertie-school.lan")  # a student with a longer runtime
    assert other.per_job == JobCaps(gpus=2, cpus=32, mem_mb=32 * GIB, wall_s=48 * HOUR)
    assert (
        "user_overrides.204214@hertie-school.lan.idle_timeout_h: not enforced by Berth "
        "(Berth ends a job at its time limit, not when it is idle)"
    ) in limits.unenforced


def test_current_unenforced_keys_are_listed(current: dict[str, Any]) -> None:
    notes = limits_from_mapping(current).unenforced
    assert all(NOTE.match(note) for note in notes), notes
    paths = [note.partition(":")[0] for note in notes]
    for path in (
        "enforcement",
        "gpu_allocation",
        "policies",
        "container_types",
        "monitoring",
        "bare_metal_access",
        "access_control",
        "defaults.allow_full_gpu",
        "defaults.memory_swap",
        "defaults.shm_size",
        "defaults.pids_limit",
        "defaults.idle_timeout_h",
        "defaults.gpu_hold_after_stop_h",
        "defaults.container_hold_after_stop_h",
        "defaults.max_tasks",
        "groups.student.aggregate.memory_high",
        "groups.student.aggregate.tasks_max",
        "groups.student.policies",
        "groups.researcher.shm_size",
        "groups.admin.gpu_hold_after_stop_h",
    ):
        assert path in paths
    assert len(paths) == len(set(paths))
    # what Berth enforces is never listed
    assert not any(path.endswith((".max_cpus", ".memory", ".max_runtime_h")) for path in paths)


# --- DS01, v1 vocabulary -------------------------------------------------------------------------


def test_v1_defaults_and_student(v1: dict[str, Any]) -> None:
    limits = limits_from_mapping(v1)
    student = limits.default_user
    assert student.total == Caps(gpus=2, running_jobs=3)  # max_mig_instances 2
    assert student.per_job == JobCaps(gpus=None, cpus=16, mem_mb=32 * GIB, wall_s=12 * HOUR)
    assert student.priority == 10  # groups.student over defaults' 1


def test_v1_inline_members_and_priorities(v1: dict[str, Any]) -> None:
    limits = limits_from_mapping(v1, group_members={"researcher": ["rita"]})
    assert list(limits.users) == ["datasciencelab", "rita"]
    admin = limits.users["datasciencelab"]
    assert admin.priority == 90
    assert admin.total == Caps(gpus=None, running_jobs=10)  # max_mig_instances: null
    # admin's max_runtime is commented out: the default 12h applies
    assert admin.per_job == JobCaps(cpus=64, mem_mb=128 * GIB, wall_s=12 * HOUR)
    rita = limits.users["rita"]
    assert rita.priority == 50
    assert rita.total == Caps(gpus=8, running_jobs=5)
    assert rita.per_job == JobCaps(cpus=32, mem_mb=64 * GIB, wall_s=None)  # max_runtime: null


def test_v1_unenforced_keys_are_listed(v1: dict[str, Any]) -> None:
    notes = limits_from_mapping(v1).unenforced
    assert all(NOTE.match(note) for note in notes), notes
    paths = {note.partition(":")[0] for note in notes}
    assert {
        "gpu_allocation",
        "policies",
        "advanced",
        "wizard",
        "defaults.gpu_memory",
        "defaults.storage_tmp",
        "defaults.idle_timeout",
        "defaults.gpu_hold_after_stop",
        "groups.researcher.idle_timeout",
        "groups.admin.max_tasks",
    } <= paths


# --- Berth's vocabulary --------------------------------------------------------------------------


def test_shipped_limits_yaml() -> None:
    limits = limits_from_mapping(load(ROOT / "config" / "limits.yaml"), source="limits.yaml")
    assert list(limits.qos) == ["normal", "long", "high"]
    normal, long, high = limits.qos.values()
    assert normal.per_user == Caps(gpus=4, running_jobs=8, submitted_jobs=100)
    assert normal.per_job == JobCaps(wall_s=2 * 86_400)
    assert long.group == Caps(gpus=4)
    assert (high.priority, high.preempt, high.per_job.gpus) == (100, ("long",), 8)
    assert limits.accounts["lab_a"] == Caps(
        gpus=8, cpus=96, mem_mb=768 * GIB, running_jobs=20, submitted_jobs=500
    )
    assert limits.accounts["lab_b"] == Caps(gpus=4)
    assert limits.default_user == UserLimits(
        total=Caps(gpus=2, running_jobs=4),
        per_job=JobCaps(cpus=32, mem_mb=128 * GIB, wall_s=86_400),
        priority=10,
    )
    assert limits.users["rita"] == limits.users["ravi"]
    assert limits.users["rita"].total == Caps(gpus=4, running_jobs=8)
    alice = limits.users["alice"]
    assert (alice.total.gpus, alice.per_job.wall_s, alice.per_job.cpus) == (8, None, 32)
    assert limits.unenforced == ()


def test_example_limits_for_the_4x4_cluster() -> None:
    limits = limits_from_mapping(load(ROOT / "config" / "examples" / "limits-4x4.yaml"))
    assert limits.qos["normal"].per_user == Caps(gpus=4)
    assert set(limits.accounts) == {"lab_a", "lab_b"}


def test_every_native_key() -> None:
    data = {
        "qos": {
            "normal": {
                "priority": 1,
                "max_gpus_per_user": 1,
                "max_cpus_per_user": 2,
                "max_mem_per_user": "3G",
                "max_jobs_per_user": 4,
                "max_submit_per_user": 5,
                "grp_gpus": 6,
                "grp_cpus": 7,
                "grp_mem": 8,
                "grp_jobs": 9,
                "grp_submit": 10,
                "max_gpus_per_job": 11,
                "max_cpus_per_job": 12,
                "max_mem_per_job": "13M",
                "max_wall": 14,
                "preempt": "low",
            },
            "low": None,
        },
        "users": {
            "u": {
                "max_gpus": 1,
                "max_cpus_total": 2,
                "max_mem_total": "3G",
                "max_jobs": 4,
                "max_submit": 5,
                "max_gpus_per_job": 6,
                "max_cpus_per_job": 7,
                "max_mem_per_job": 8,
                "max_wall": "9:00",
                "priority": 10,
            }
        },
    }
    limits = limits_from_mapping(data)
    normal = limits.qos["normal"]
    assert normal.priority == 1
    assert normal.per_user == Caps(gpus=1, cpus=2, mem_mb=3 * GIB, running_jobs=4, submitted_jobs=5)
    assert normal.group == Caps(gpus=6, cpus=7, mem_mb=8, running_jobs=9, submitted_jobs=10)
    assert normal.per_job == JobCaps(gpus=11, cpus=12, mem_mb=13, wall_s=14 * 60)
    assert normal.preempt == ("low",)
    assert limits.qos["low"].per_user == Caps()
    assert limits.users["u"] == UserLimits(
        total=Caps(gpus=1, cpus=2, mem_mb=3 * GIB, running_jobs=4, submitted_jobs=5),
        per_job=JobCaps(gpus=6, cpus=7, mem_mb=8, wall_s=540),
        priority=10,
    )


@pytest.mark.parametrize("data", [{}, {"qos": {"high": {"priority": 5}}}, {"qos": None}])
def test_normal_qos_always_exists(data: dict[str, Any]) -> None:
    limits = limits_from_mapping(data)
    assert limits.qos["normal"] == Qos(name="normal")
    assert limits.users == {}
    assert limits.unenforced == ()


@pytest.mark.parametrize(
    ("user", "gpus", "cpus", "wall_s"),
    [
        ("nobody", 1, 8, 3600),  # defaults < default_group (cpus from the group)
        ("gina", 3, 8, 7200),  # defaults < own group
        ("ursula", 5, 8, 3600),  # defaults < default_group < own table
        ("ulf", 5, 16, 7200),  # defaults < own group < own table
    ],
)
def test_resolution_order(user: str, gpus: int, cpus: int, wall_s: int) -> None:
    data = {
        "defaults": {"max_gpus": 1, "max_cpus_per_job": 4, "max_wall": "1:00:00"},
        "default_group": "base",
        "groups": {
            "base": {"max_cpus_per_job": 8},
            "big": {
                "members": ["gina", "ulf"],
                "max_gpus": 3,
                "max_cpus_per_job": 8,
                "max_wall": 120,
            },
        },
        "users": {"ursula": {"max_gpus": 5}, "ulf": {"max_gpus": 5, "max_cpus_per_job": 16}},
    }
    limits = limits_from_mapping(data).for_user(user)
    assert (limits.total.gpus, limits.per_job.cpus, limits.per_job.wall_s) == (gpus, cpus, wall_s)


def test_no_default_group_means_defaults_only() -> None:
    data = {"defaults": {"max_gpus": 1}, "groups": {"big": {"members": ["g"], "max_gpus": 4}}}
    limits = limits_from_mapping(data)
    assert limits.default_user.total.gpus == 1
    assert limits.for_user("g").total.gpus == 4


def test_null_lifts_a_cap_set_by_a_wider_table() -> None:
    data = {"defaults": {"max_gpus": 1}, "users": {"boss": {"max_gpus": None}}}
    assert limits_from_mapping(data).for_user("boss").total.gpus is None


def test_fractions_are_floored_and_said() -> None:
    data = {"defaults": {"max_gpu_equivalents": 1.5, "aggregate": {"cpu_quota": "150%"}}}
    limits = limits_from_mapping(data)
    assert limits.default_user.total == Caps(gpus=1, cpus=1)
    assert limits.unenforced == (
        (
            "defaults.max_gpu_equivalents: fractional part not enforced by Berth (1.5 floored to "
            "1; Berth schedules whole GPUs and CPUs)"
        ),
        (
            "defaults.aggregate.cpu_quota: fractional part not enforced by Berth ('150%' floored "
            "to 1; Berth schedules whole GPUs and CPUs)"
        ),
    )


def test_two_keys_for_one_cap_keep_the_smaller() -> None:
    data = {
        "defaults": {
            "max_gpu_equivalents": 3,
            "aggregate": {"gpu_limit": 2, "memory_max": "infinity", "cpu_quota": None},
        }
    }
    assert limits_from_mapping(data).default_user.total == Caps(gpus=2)


def test_a_null_and_a_number_for_one_cap_keep_the_number() -> None:
    data = {"defaults": {"max_gpu_equivalents": None, "aggregate": {"gpu_limit": 2.0}}}
    assert limits_from_mapping(data).default_user.total == Caps(gpus=2)


def test_members_may_be_null() -> None:
    data = {"groups": {"a": {"members": None, "max_gpus": 1}}, "default_group": "a"}
    limits = limits_from_mapping(data)
    assert limits.users == {}
    assert limits.default_user.total.gpus == 1


def test_legacy_ds01_aliases() -> None:
    data = {
        "defaults": {
            "max_gpu_slots": 3,
            "max_mig_per_container": 1,
            "max_runtime": 2,  # a bare number is hours
            "max_containers_per_user": 2,
        }
    }
    user = limits_from_mapping(data).default_user
    assert (user.total.gpus, user.per_job.gpus, user.per_job.wall_s) == (3, 1, 2 * HOUR)
    assert user.total.running_jobs == 2


def test_input_is_not_mutated(current: dict[str, Any]) -> None:
    before = copy.deepcopy(current)
    members = {"researcher": ["rita"]}
    limits_from_mapping(current, group_members=members)
    assert current == before
    assert members == {"researcher": ["rita"]}


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "table", "key", "fragment"),
    [
        ({"quota": {}}, "limits", "quota", "unknown top-level key"),
        ({"groupz": {}}, "limits", "groupz", "did you mean 'groups'?"),
        ({"defaults": {"max_cpus": -1}}, "defaults", "max_cpus", "expected a whole number >= 0"),
        ({"defaults": {"max_gpus": "four"}}, "defaults", "max_gpus", "whole number"),
        ({"defaults": {"max_cpus": 1.5}}, "defaults", "max_cpus", "whole number"),
        ({"defaults": {"priority": True}}, "defaults", "priority", "whole number"),
        ({"defaults": {"priority": None}}, "defaults", "priority", "whole number"),
        ({"groups": {"student": {"memory": "lots"}}}, "groups.student", "memory", "K, M, G or T"),
        ({"groups": {"s": {"memory": 32.5}}}, "groups.s", "memory", "expected a memory size"),
        ({"defaults": {"max_gpu_equivalents": -1.0}}, "defaults", "max_gpu_equivalents", ">= 0"),
        ({"defaults": {"max_runtime": "forever"}}, "defaults", "max_runtime", "12h"),
        ({"defaults": {"max_runtime_h": -2}}, "defaults", "max_runtime_h", ">= 0"),
        ({"defaults": {"max_wall": "2 days"}}, "defaults", "max_wall", "D-H:M:S"),
        ({"defaults": {"max_gpu": 1}}, "defaults", "max_gpu", "did you mean 'max_gpus'?"),
        (
            {"defaults": {"aggregate": {"cpu_quota": "96"}}},
            "defaults.aggregate",
            "cpu_quota",
            "9600%",
        ),
        (
            {"defaults": {"aggregate": {"cpu_quota": "x%"}}},
            "defaults.aggregate",
            "cpu_quota",
            "9600%",
        ),
        ({"defaults": {"aggregate": {"cpus": 1}}}, "defaults.aggregate", "cpus", "unknown key"),
        ({"defaults": {"aggregate": [1]}}, "defaults", "aggregate", "expected a table"),
        ({"defaults": {"members": ["x"]}}, "defaults", "members", "unknown key"),
        ({"defaults": [1, 2]}, "limits", "defaults", "expected a table"),
        ({"groups": ["a"]}, "limits", "groups", "expected a table"),
        ({"groups": {"a": [1]}}, "groups", "a", "expected a table"),
        ({"groups": {"a": {"members": "bob"}}}, "groups.a", "members", "list of user names"),
        (
            {"groups": {"a": {}}, "default_group": "b"},
            "limits",
            "default_group",
            "the groups are a",
        ),
        ({"default_group": 3}, "limits", "default_group", "string"),
        (
            {"groups": {"a": {"members": ["x"]}, "b": {"members": ["x"]}}},
            "groups.b",
            "members",
            "user 'x' is in groups 'a' and 'b'",
        ),
        (
            {"users": {"x": {}}, "user_overrides": {"x": {}}},
            "user_overrides",
            "x",
            "already has a table",
        ),
        ({"qos": {"normal": {"preempt": ["gold"]}}}, "qos.normal", "preempt", "'gold' is not"),
        ({"qos": {"normal": {"preempt": ["normal"]}}}, "qos.normal", "preempt", "not another QOS"),
        (
            {"qos": {"normal": {"max_gpu_per_user": 1}}},
            "qos.normal",
            "max_gpu_per_user",
            "did you mean 'max_gpus_per_user'?",
        ),
        ({"qos": {"normal": {"grp_mem": "-1G"}}}, "qos.normal", "grp_mem", "memory size"),
        ({"accounts": {"lab": {"max_mem": "many"}}}, "accounts.lab", "max_mem", "memory size"),
        ({"accounts": {"lab": {"max_wall": 1}}}, "accounts.lab", "max_wall", "unknown key"),
        ({"users": {123: {}}}, "users", "123", "keys must be strings"),
        ({"defaults": {"max_gpu_equivalents": "two"}}, "defaults", "max_gpu_equivalents", "number"),
    ],
)
def test_errors_name_the_table_key_and_fix(
    data: dict[str, Any], table: str, key: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        limits_from_mapping(data, source="limits.yaml")
    error = caught.value
    assert (error.table, error.key) == (table, key)
    assert fragment in str(error)
    assert str(error).startswith("limits.yaml: ")


def test_group_members_argument_errors() -> None:
    data = {"groups": {"a": {"members": ["x"]}, "b": None}}
    with pytest.raises(ConfigError, match=r"\[group_members\] c: group 'c' is not under groups"):
        limits_from_mapping(data, group_members={"c": ["y"]})
    with pytest.raises(ConfigError, match="user 'x' is in groups 'a' and 'b'"):
        limits_from_mapping(data, group_members={"b": ["x"]})
    with pytest.raises(ConfigError, match="list of user names"):
        limits_from_mapping(data, group_members={"b": "x"})
    assert limits_from_mapping(data, group_members={"b": ("y",)}).users.keys() == {"x", "y"}


def test_user_overrides_argument_errors() -> None:
    with pytest.raises(ConfigError, match=r"\[user_overrides\] x: this user already has a table"):
        limits_from_mapping({"users": {"x": {"max_gpus": 1}}}, user_overrides={"x": {}})
    with pytest.raises(ConfigError, match=r"\[user_overrides.x\] max_gpu:"):
        limits_from_mapping({}, user_overrides={"x": {"max_gpu": 1}})


def test_unknown_top_level_key_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        limits_from_mapping({"gpu_quota": 1})
    message = str(caught.value)
    assert (
        "Berth reads qos, accounts, defaults, default_group, groups, users, user_overrides"
        in message
    )
    assert "lists DS01's gpu_allocation" in message
