"""Slurm's job state words, as the commands print and accept them.

The long names and compact codes are those of ``job_state_string`` and
``job_state_string_compact`` (``SchedMD/slurm:src/common/slurm_protocol_defs.c``): base states
(``PENDING``/``PD`` ... ``OUT_OF_MEMORY``/``OOM``) and the flag states Slurm prints *instead of*
the base state when the flag is set (``COMPLETING``/``CG``, ``CONFIGURING``/``CF``, ...).
The daemon sends the long word in the job resource's ``state`` (docs/API.md); ``squeue %t``
prints the code, ``%T`` and ``sacct`` the long word.

sacct adds ``" by <uid>"`` to ``CANCELLED`` when the canceller is known
(``SchedMD/slurm:src/sacct/print.c``): `state_with_requester`. ``ExitCode`` is
``<exit code>:<signal>`` (`exit_code_text`).
"""

from __future__ import annotations

BASE_STATES: dict[str, str] = {
    "PENDING": "PD",
    "RUNNING": "R",
    "SUSPENDED": "S",
    "COMPLETED": "CD",
    "CANCELLED": "CA",
    "FAILED": "F",
    "TIMEOUT": "TO",
    "NODE_FAIL": "NF",
    "PREEMPTED": "PR",
    "BOOT_FAIL": "BF",
    "DEADLINE": "DL",
    "OUT_OF_MEMORY": "OOM",
}
FLAG_STATES: dict[str, str] = {
    "COMPLETING": "CG",
    "CONFIGURING": "CF",
    "STAGE_OUT": "SO",
    "REQUEUED": "RQ",
    "REQUEUE_HOLD": "RH",
    "REQUEUE_FED": "RF",
    "SPECIAL_EXIT": "SE",
    "STOPPED": "ST",
    "REVOKED": "RV",
    "RESV_DEL_HOLD": "RD",
    "RESIZING": "RS",
    "SIGNALING": "SI",
}
STATE_CODES: dict[str, str] = {**BASE_STATES, **FLAG_STATES}
_LONG_BY_CODE = {code: name for name, code in STATE_CODES.items()}

# What squeue lists without -t (SchedMD/slurm:src/squeue/opts.c: pending, running, suspended,
# completing and configuring jobs); finished jobs need -t all or -t <state>.
ACTIVE_STATES: frozenset[str] = frozenset(
    {"PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "REQUEUED", "RESIZING",
     "SIGNALING", "STAGE_OUT"}
)  # fmt: skip
FINISHED_STATES: frozenset[str] = frozenset(
    {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
     "DEADLINE", "OUT_OF_MEMORY"}
)  # fmt: skip


def compact_state(state: str) -> str:
    """``"RUNNING"`` -> ``"R"``; a word Slurm does not know prints as itself (never hidden)."""
    return STATE_CODES.get(state.upper(), state)


def long_state(word: str) -> str:
    """``"pd"`` or ``"pending"`` -> ``"PENDING"`` (case-insensitive, either form).

    :raises ValueError: ``Invalid job state specified: <word>`` (squeue's wording).
    """
    key = word.strip().upper()
    if key in STATE_CODES:
        return key
    if key in _LONG_BY_CODE:
        return _LONG_BY_CODE[key]
    raise ValueError(f"Invalid job state specified: {word}")


def parse_state_list(text: str) -> frozenset[str] | None:
    """``squeue -t`` / ``sacct -s``: a comma list of long names or codes; ``all`` -> ``None``.

    :raises ValueError: for a word that is neither (see `long_state`).
    """
    words = [word for word in text.split(",") if word.strip()]
    if any(word.strip().lower() == "all" for word in words):
        return None
    return frozenset(long_state(word) for word in words)


def state_with_requester(state: str, cancelled_by: int | None) -> str:
    """sacct's State: ``CANCELLED by 1001`` when the canceller's uid is known."""
    if state == "CANCELLED" and cancelled_by is not None:
        return f"CANCELLED by {cancelled_by}"
    return state


def exit_code_text(exit_code: int | None, exit_signal: int | None) -> str:
    """sacct's ExitCode ``<code>:<signal>``: ``exit 3`` -> ``3:0``, ``kill -9`` -> ``0:9``."""
    return f"{exit_code or 0}:{exit_signal or 0}"
