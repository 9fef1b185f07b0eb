"""``scontrol update``'s ``Key=Value`` words -> the body of ``PATCH /v1/jobs/{id}`` or
``PATCH /v1/nodes/{name}`` (docs/API.md).

Slurm's keys (``SchedMD/slurm:src/scontrol/update_job.c``, ``update_node.c``), matched
case-insensitively: ``JobId`` (``123`` or ``123_4``), ``TimeLimit`` (Slurm time forms or
``UNLIMITED``), ``Nice``, ``Partition``, ``QOS``, ``JobName``/``Name``, ``Priority``,
``Comment``, ``StartTime``/``BeginTime`` (``now+1hour``, ``2026-11-23T10:00``, ...);
``NodeName``, ``State`` (``DRAIN``, ``DOWN``, ``RESUME``; ``IDLE`` is read as ``RESUME``),
``Reason``. Any other key is refused by name (Slurm: ``Update of this parameter is not
supported``). The daemon checks who may change what.
"""

from __future__ import annotations

from collections.abc import Mapping

from cli.options import CommandError
from cli.timefmt import parse_datetime

_TEXT_KEYS = {"partition": "partition", "qos": "qos", "jobname": "name", "name": "name",
              "comment": "comment", "timelimit": "time"}  # fmt: skip
_NUMBER_KEYS = {"nice": "nice", "priority": "priority"}
_TIME_KEYS = ("starttime", "begintime")


def job_changes(words: Mapping[str, str], *, now: int) -> tuple[str, dict[str, object]]:
    """(job id, body) for ``update JobId=... Key=Value...`` (keys lower-cased).

    :raises CommandError: for a missing id, an unknown key or a malformed value.
    """
    job = words.get("jobid") or words.get("job")
    if not job:
        raise CommandError("No job id given: scontrol update JobId=<id> Key=Value ...")
    body: dict[str, object] = {}
    for key, value in words.items():
        if key in ("jobid", "job"):
            continue
        if key in _TEXT_KEYS:
            body[_TEXT_KEYS[key]] = value
        elif key in _NUMBER_KEYS:
            if not value.lstrip("-").isdigit():
                raise CommandError(f"Invalid {key} value: {value}")
            body[_NUMBER_KEYS[key]] = int(value)
        elif key in _TIME_KEYS:
            try:
                body["begin_time"] = parse_datetime(value, now=now)
            except ValueError as err:
                raise CommandError(str(err)) from None
        else:
            raise CommandError(f"Update of this parameter is not supported: {key}")
    if not body:
        raise CommandError("No changes specified")
    return job, body


def node_change(words: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    """(node name, body) for ``update NodeName=... State=... Reason=...``.

    :raises CommandError: for a missing state or an unknown key.
    """
    name = words["nodename"]
    unknown = sorted(set(words) - {"nodename", "state", "reason"})
    if unknown:
        raise CommandError(f"Update of this parameter is not supported: {unknown[0]}")
    state = words.get("state", "").lower()
    if state not in ("drain", "down", "resume", "idle", "undrain"):
        raise CommandError(f"Invalid node state specified: {words.get('state', '')}")
    state = "resume" if state in ("idle", "undrain") else state
    return name, {"state": state, "reason": words.get("reason", "")}
