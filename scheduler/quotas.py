"""``limits.yaml`` -> `Limits`: Berth's own vocabulary, and DS01's ``resource-limits.yaml``.

The drivers parse the file (YAML) and pass the mapping to `limits_from_mapping`. Top-level keys::

    qos:                    # Slurm QOS; "normal" always exists (added with no caps if absent)
      normal: {priority: 0, max_gpus_per_user: 4, max_wall: "2-00:00:00"}
      low:    {priority: 0, grp_gpus: 16}
      high:   {priority: 100, max_gpus_per_job: 8, preempt: [low]}
    accounts:               # caps over all jobs of an account (Slurm's GrpTRES / GrpJobs)
      lab_a: {max_gpus: 8, max_cpus: 128, max_mem: "512G", max_jobs: 20, max_submit: 200}
    defaults: {...}         # a user table: limits of every user
    default_group: student  # the group of users in no group (its table applies to them)
    groups:                 # user tables shared by their members
      researcher: {members: [rita], max_gpus: 4, ...}
    users:                  # user tables of single users (DS01: user_overrides)
      alice: {max_gpus: 8}

A QOS table takes ``priority``; per user ``max_{gpus,cpus,mem,jobs,submit}_per_user``; over all
its jobs ``grp_{gpus,cpus,mem,jobs,submit}``; per job ``max_{gpus,cpus,mem}_per_job`` and
``max_wall`` (a Slurm time); ``preempt`` (QOS names). "jobs" counts running jobs, "submit"
pending and running ones; memory is a size such as ``"256G"`` (a bare number is MiB).

A user table (``defaults``, ``groups.<name>``, ``users.<name>``) takes, in Berth's words:
``max_gpus``, ``max_cpus_total``, ``max_mem_total``, ``max_jobs``, ``max_submit`` (held at once
over all the user's jobs), ``max_gpus_per_job``, ``max_cpus_per_job``, ``max_mem_per_job``,
``max_wall`` (one job), ``priority`` (the association priority, DS01's 1-100). DS01's words
mean the same caps (a container is a job): ``max_gpu_equivalents`` (a float, floored to whole
GPUs: Berth schedules whole devices; a MIG instance declared as a device counts as one),
``max_mig_instances`` and ``max_gpu_slots`` (total GPUs), ``max_gpu_slots_per_container`` and
``max_mig_per_container`` (GPUs per job), ``max_cpus`` (CPUs per job: DS01's is per container),
``memory`` (per job), ``max_containers_per_user`` (running jobs), ``max_runtime`` (``"12h"``) and
``max_runtime_h`` (hours), and ``aggregate`` {``cpu_quota`` ``"9600%"`` = 96 CPUs,
``memory_max``, ``gpu_limit``} (totals). ``null`` means no cap. Where two keys of one table set
the same cap, the smaller wins.

A user's limits are resolved ``defaults`` < their group (else ``default_group``) < their own
table; `Limits.default_user` is what users in no group and without a table get. Group members
come from ``members:`` lists (DS01 v1) and/or the ``group_members`` argument (DS01 keeps them in
``groups/<group>.members`` files); DS01's separate ``user-overrides.yaml`` is the
``user_overrides`` argument. A user may be in one group only and have one table only.

Keys that DS01 knows but Berth does not enforce (idle time-outs, ``shm_size``, storage quotas,
``policies``, ``gpu_allocation``, ...) are listed in `Limits.unenforced` as
``"key.path: not enforced by Berth (reason)"``; any other unknown key is a `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scheduler.configtable import ConfigTable, suggest, text
from scheduler.errors import ConfigError
from scheduler.limits import Caps, JobCaps, Limits, Qos, UserLimits
from scheduler.quotakeys import (
    ACCOUNT_KEYS,
    AGGREGATE_KEYS,
    QOS_KEYS,
    UNENFORCED_AGGREGATE_KEYS,
    UNENFORCED_TOP_LEVEL,
    UNENFORCED_USER_KEYS,
    USER_KEYS,
    read,
)

TOP_LEVEL_KEYS = ("qos", "accounts", "defaults", "default_group", "groups", "users")
DS01_TOP_LEVEL_KEYS = ("user_overrides",)
_TABLE = "limits"
_NESTED = {"aggregate": (AGGREGATE_KEYS, UNENFORCED_AGGREGATE_KEYS)}
Layer = dict[str, Any]


def limits_from_mapping(
    data: Mapping[str, Any],
    *,
    group_members: Mapping[str, Sequence[str]] | None = None,
    user_overrides: Mapping[str, Any] | None = None,
    source: str = "",
) -> Limits:
    """Build `Limits` from a parsed ``limits.yaml`` (Berth's or DS01's vocabulary).

    :raises ConfigError: naming the table, the key and the fix, for an unknown key, a bad value,
        an unknown group or QOS, a user in two groups or with two tables.
    """
    document = ConfigTable(_TABLE, data, source=source)
    notes: list[str] = []
    for key in data:
        if key in UNENFORCED_TOP_LEVEL:
            notes.append(f"{key}: not enforced by Berth ({UNENFORCED_TOP_LEVEL[key]})")
        elif key not in TOP_LEVEL_KEYS and key not in DS01_TOP_LEVEL_KEYS:
            known = [*TOP_LEVEL_KEYS, *DS01_TOP_LEVEL_KEYS, *UNENFORCED_TOP_LEVEL]
            raise document.error(
                key,
                f"unknown top-level key{suggest(key, known)}; Berth reads "
                f"{', '.join(TOP_LEVEL_KEYS + DS01_TOP_LEVEL_KEYS)} and lists DS01's "
                f"{', '.join(UNENFORCED_TOP_LEVEL)} as not enforced; fix or remove the key",
            )
    defaults = _user_layer(_section(document, "defaults"), notes)
    groups = {
        name: _user_layer(table, notes, skip=("members",))
        for name, table in _tables(document, "groups")
    }
    default_group = document.get("default_group", text, None)
    if default_group is not None and default_group not in groups:
        raise document.error(
            "default_group",
            f"names group {default_group!r}, which is not under groups; the groups are "
            f"{', '.join(groups) or 'none'}",
        )
    membership = _membership(document, groups, group_members)
    overrides = _overrides(document, user_overrides, notes)

    def resolve(user: str | None) -> UserLimits:
        group = membership.get(user, default_group) if user is not None else default_group
        layers = [defaults, groups[group] if group is not None else {}]
        if user is not None and user in overrides:
            layers.append(overrides[user])
        return _user_limits(layers)

    users = {user: resolve(user) for user in [*membership, *overrides]}
    return Limits(
        qos=_qos(document, notes),
        users=users,
        default_user=resolve(None),
        accounts={
            name: Caps(**read(table, ACCOUNT_KEYS, notes))
            for name, table in _tables(document, "accounts")
        },
        unenforced=tuple(notes),
    )


def _section(document: ConfigTable, key: str) -> ConfigTable:
    """The table under ``key``; absent or ``null`` (a YAML heading with only comments) is empty."""
    value = document.data.get(key)
    if value is None:
        return ConfigTable(key, {}, source=document.source)
    if not isinstance(value, Mapping):
        raise document.error(key, f"expected a table, got {value!r}")
    return ConfigTable(key, value, source=document.source)


def _tables(document: ConfigTable, key: str) -> list[tuple[str, ConfigTable]]:
    section = _section(document, key)
    return [
        (name, ConfigTable(f"{key}.{name}", value or {}, source=document.source))
        for name, value in section.data.items()
    ]


def _user_layer(table: ConfigTable, notes: list[str], *, skip: tuple[str, ...] = ()) -> Layer:
    return read(table, USER_KEYS, notes, unenforced=UNENFORCED_USER_KEYS, nested=_NESTED, skip=skip)


def _user_limits(layers: Sequence[Layer]) -> UserLimits:
    merged: Layer = {}
    for layer in layers:
        merged.update(layer)

    def pick(prefix: str) -> dict[str, Any]:
        return {
            key.removeprefix(prefix): value
            for key, value in merged.items()
            if key.startswith(prefix)
        }

    return UserLimits(
        total=Caps(**pick("total.")),
        per_job=JobCaps(**pick("job.")),
        priority=merged.get("priority", 0),
    )


def _membership(
    document: ConfigTable,
    groups: Mapping[str, Layer],
    group_members: Mapping[str, Sequence[str]] | None,
) -> dict[str, str]:
    """user -> group, from inline ``members`` lists and the ``group_members`` argument."""
    listed: list[tuple[str, str, ConfigTable, str]] = []
    for name, table in _tables(document, "groups"):
        inline: tuple[str, ...] = table.get("members", _user_names, ())
        listed.extend((user, name, table, "members") for user in inline)
    for name, members in (group_members or {}).items():
        table = ConfigTable("group_members", {name: members}, source=document.source)
        if name not in groups:
            raise table.error(
                name,
                f"group {name!r} is not under groups in the limits file (the groups are "
                f"{', '.join(groups) or 'none'}); define it there or leave out its members",
            )
        listed.extend((user, name, table, name) for user in table.parse(name, _user_names))
    membership: dict[str, str] = {}
    for user, group, table, key in listed:
        if membership.setdefault(user, group) != group:
            raise table.error(
                key,
                f"user {user!r} is in groups {membership[user]!r} and {group!r}; "
                "a user belongs to one group: remove one",
            )
    return membership


def _user_names(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and item for item in value
    ):
        raise ValueError(f"expected a list of user names, got {value!r}")
    return tuple(value)


def _overrides(
    document: ConfigTable, argument: Mapping[str, Any] | None, notes: list[str]
) -> dict[str, Layer]:
    """user -> their own table, from ``users``, ``user_overrides`` and the argument."""
    tables = _tables(document, "users") + _tables(document, "user_overrides")
    if argument:
        wrapped = ConfigTable("user_overrides", argument, source=document.source)
        tables += [
            (name, ConfigTable(f"user_overrides.{name}", value or {}, source=document.source))
            for name, value in wrapped.data.items()
        ]
    overrides: dict[str, Layer] = {}
    for user, table in tables:
        if user in overrides:
            raise ConfigError(
                table.name.partition(".")[0],
                user,
                "this user already has a table (under users or user_overrides); merge the two",
                source=document.source,
            )
        overrides[user] = _user_layer(table, notes)
    return overrides


def _qos(document: ConfigTable, notes: list[str]) -> dict[str, Qos]:
    tables = _tables(document, "qos")
    known = {name for name, _table in tables} | {"normal"}
    result: dict[str, Qos] = {}
    for name, table in tables:
        values = read(table, QOS_KEYS, notes)
        for other in values.get("preempt", ()):
            if other not in known or other == name:
                raise table.error(
                    "preempt",
                    f"{other!r} is not another QOS; the QOS are {', '.join(sorted(known))}",
                )
        scopes: dict[str, dict[str, Any]] = {"per_user": {}, "group": {}, "per_job": {}}
        for target, value in values.items():
            scope, _dot, field = target.partition(".")
            if field:
                scopes[scope][field] = value
        result[name] = Qos(
            name=name,
            priority=values.get("priority", 0),
            per_user=Caps(**scopes["per_user"]),
            group=Caps(**scopes["group"]),
            per_job=JobCaps(**scopes["per_job"]),
            preempt=tuple(values.get("preempt", ())),
        )
    result.setdefault("normal", Qos(name="normal"))
    return result
