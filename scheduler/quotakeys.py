"""The vocabulary of ``limits.yaml``: what each key caps, how its value is read, and the keys that
Berth reads but does not enforce (each with the reason). `scheduler.quotas` documents the file.

A spec maps a key to ``(target, parser)``; the target names the field it sets, ``"total.gpus"``
(what a user may hold at once), ``"job.cpus"`` (what one job may ask), ``"per_user.mem_mb"``,
``"priority"``... When two keys of one table set the same target (DS01's ``max_gpu_equivalents``
and ``aggregate.gpu_limit``), the smaller value wins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from scheduler.configtable import ConfigTable, strings, suggest
from scheduler.units import (
    parse_count,
    parse_duration_s,
    parse_hours,
    parse_memory_mb,
    parse_slurm_time_s,
)

Spec = Mapping[str, tuple[str, Callable[[Any], Any]]]


def _nullable(parse: Callable[[Any], int | None]) -> Callable[[Any], int | None]:
    """``null`` (YAML) means no cap."""
    return lambda value: None if value is None else parse(value)


def _whole_or_fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a number >= 0 or null, got {value!r}")
    if value < 0:
        raise ValueError(f"expected a number >= 0 or null, got {value!r}")
    return float(value)


def _gpu_equivalents(value: object) -> int:
    """DS01's GPU-equivalents are fractions of a GPU; Berth schedules whole devices (a MIG
    instance declared as its own device counts as one), so the quota is floored."""
    return math.floor(_whole_or_fraction(value))


def _cpu_quota(value: object) -> int:
    """systemd's CPUQuota: ``"9600%"`` is 96 CPUs (floored to whole CPUs)."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        percent = float(text.removesuffix("%")) if text.endswith("%") else -1.0
    except ValueError:
        percent = -1.0
    if not math.isfinite(percent) or percent < 0:
        raise ValueError(f"expected a CPU quota such as '9600%' (100% = 1 CPU), got {value!r}")
    return math.floor(percent / 100)


def _memory_max(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lower() == "infinity":
        return None
    return parse_memory_mb(value)


def floored(key: str, value: object) -> bool:
    """Whether reading ``key`` dropped a fraction (a note for ``Limits.unenforced``)."""
    if key == "cpu_quota" and isinstance(value, str):
        return _whole_or_fraction(float(value.strip().removesuffix("%")) / 100) % 1 != 0
    if key in ("max_gpu_equivalents", "gpu_limit") and value is not None:
        return _whole_or_fraction(value) % 1 != 0
    return False


_COUNT = _nullable(parse_count)
_MEMORY = _nullable(parse_memory_mb)
_WALL = _nullable(parse_slurm_time_s)
_GPUEQ = _nullable(_gpu_equivalents)

USER_KEYS: Spec = {
    # Berth's names
    "max_gpus": ("total.gpus", _COUNT),
    "max_cpus_total": ("total.cpus", _COUNT),
    "max_mem_total": ("total.mem_mb", _MEMORY),
    "max_jobs": ("total.running_jobs", _COUNT),
    "max_submit": ("total.submitted_jobs", _COUNT),
    "max_gpus_per_job": ("job.gpus", _COUNT),
    "max_cpus_per_job": ("job.cpus", _COUNT),
    "max_mem_per_job": ("job.mem_mb", _MEMORY),
    "max_wall": ("job.wall_s", _WALL),
    "priority": ("priority", parse_count),
    # DS01's names (a container is a job)
    "max_gpu_equivalents": ("total.gpus", _GPUEQ),
    "max_mig_instances": ("total.gpus", _COUNT),
    "max_gpu_slots": ("total.gpus", _COUNT),
    "max_gpu_slots_per_container": ("job.gpus", _COUNT),
    "max_mig_per_container": ("job.gpus", _COUNT),
    "max_cpus": ("job.cpus", _COUNT),
    "memory": ("job.mem_mb", _MEMORY),
    "max_containers_per_user": ("total.running_jobs", _COUNT),
    "max_runtime": ("job.wall_s", lambda value: parse_duration_s(value, default_unit="h")),
    "max_runtime_h": ("job.wall_s", parse_hours),
}
AGGREGATE_KEYS: Spec = {
    "cpu_quota": ("total.cpus", _nullable(_cpu_quota)),
    "memory_max": ("total.mem_mb", _nullable(_memory_max)),
    "gpu_limit": ("total.gpus", _GPUEQ),
}
QOS_KEYS: Spec = {
    "priority": ("priority", parse_count),
    "max_gpus_per_user": ("per_user.gpus", _COUNT),
    "max_cpus_per_user": ("per_user.cpus", _COUNT),
    "max_mem_per_user": ("per_user.mem_mb", _MEMORY),
    "max_jobs_per_user": ("per_user.running_jobs", _COUNT),
    "max_submit_per_user": ("per_user.submitted_jobs", _COUNT),
    "grp_gpus": ("group.gpus", _COUNT),
    "grp_cpus": ("group.cpus", _COUNT),
    "grp_mem": ("group.mem_mb", _MEMORY),
    "grp_jobs": ("group.running_jobs", _COUNT),
    "grp_submit": ("group.submitted_jobs", _COUNT),
    "max_gpus_per_job": ("per_job.gpus", _COUNT),
    "max_cpus_per_job": ("per_job.cpus", _COUNT),
    "max_mem_per_job": ("per_job.mem_mb", _MEMORY),
    "max_wall": ("per_job.wall_s", _WALL),
    "preempt": ("preempt", strings),
}
ACCOUNT_KEYS: Spec = {
    "max_gpus": ("gpus", _COUNT),
    "max_cpus": ("cpus", _COUNT),
    "max_mem": ("mem_mb", _MEMORY),
    "max_jobs": ("running_jobs", _COUNT),
    "max_submit": ("submitted_jobs", _COUNT),
}

_EXECUTOR = "a container setting, not a scheduling limit"
_LIFECYCLE = "Berth ends a job at its time limit, not when it is idle"
_HOLD = "Berth frees a job's GPUs and container when the job ends"
_STORAGE = "disk quotas are outside the scheduler"
_RESERVATION = "reservations are not implemented"
UNENFORCED_USER_KEYS: Mapping[str, str] = {
    "gpu_memory": "GPU memory comes with the device; ask for a GPU model instead",
    "allow_full_gpu": "Berth schedules whole devices; declare MIG instances as devices",
    "memory_swap": _EXECUTOR,
    "shm_size": _EXECUTOR,
    "pids_limit": _EXECUTOR,
    "max_tasks": _EXECUTOR,
    "io_read_bps": _EXECUTOR,
    "io_write_bps": _EXECUTOR,
    "ulimit_nofile": _EXECUTOR,
    "storage_workspace": _STORAGE,
    "storage_data": _STORAGE,
    "storage_tmp": _STORAGE,
    "idle_timeout": _LIFECYCLE,
    "idle_timeout_h": _LIFECYCLE,
    "policies": _LIFECYCLE,
    "gpu_hold_after_stop": _HOLD,
    "gpu_hold_after_stop_h": _HOLD,
    "container_hold_after_stop_h": _HOLD,
    "reservation_start": _RESERVATION,
    "reservation_end": _RESERVATION,
    "reserved_gpus": _RESERVATION,
    "reason": "a comment",
}
UNENFORCED_AGGREGATE_KEYS: Mapping[str, str] = {
    "memory_high": "Berth has hard caps only, no soft throttling",
    "tasks_max": _EXECUTOR,
}
UNENFORCED_TOP_LEVEL: Mapping[str, str] = {
    "gpu_allocation": "Berth places jobs by best fit and keeps NVLink groups whole",
    "policies": _LIFECYCLE,
    "enforcement": "Berth enforces every cap it reads itself, without systemd slices",
    "container_types": "Berth has one kind of job; use partitions and QOS for different limits",
    "advanced": _EXECUTOR,
    "wizard": "DS01's interactive set-up",
    "monitoring": "Berth exports its own metrics at /metrics",
    "bare_metal_access": "Berth only runs jobs it placed",
    "access_control": "Berth identifies users by their socket credentials",
}


def tighter(first: int | None, second: int | None) -> int | None:
    """The stricter of two caps, ``None`` being no cap."""
    if first is None:
        return second
    return first if second is None else min(first, second)


def read(
    table: ConfigTable,
    spec: Spec,
    notes: list[str],
    *,
    unenforced: Mapping[str, str] | None = None,
    nested: Mapping[str, tuple[Spec, Mapping[str, str]]] | None = None,
    skip: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The targets ``table`` sets. Unenforced keys go to ``notes`` with their reason; a key in
    ``nested`` is a sub-table read with its own spec; any other key is a `ConfigError`."""
    unenforced = unenforced or {}
    nested = nested or {}
    values: dict[str, Any] = {}
    for key, value in table.data.items():
        if key in skip:
            continue
        if key in spec:
            target, parse = spec[key]
            parsed = table.parse(key, parse)
            values[target] = tighter(values[target], parsed) if target in values else parsed
            if floored(key, value):
                notes.append(
                    f"{table.name}.{key}: fractional part not enforced by Berth ({value!r} "
                    f"floored to {parsed}; Berth schedules whole GPUs and CPUs)"
                )
        elif key in unenforced:
            notes.append(f"{table.name}.{key}: not enforced by Berth ({unenforced[key]})")
        elif key in nested:
            sub_spec, sub_unenforced = nested[key]
            sub = table.sub(key) if value is not None else ConfigTable(key, {})
            for target, parsed in read(sub, sub_spec, notes, unenforced=sub_unenforced).items():
                values[target] = tighter(values[target], parsed) if target in values else parsed
        else:
            known = [*spec, *unenforced, *nested, *skip]
            raise table.error(
                key,
                f"unknown key{suggest(key, known)}; the keys this table takes are "
                f"{', '.join(known)}",
            )
    return values
