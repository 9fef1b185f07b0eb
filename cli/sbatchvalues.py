"""The values of sbatch's options that the client turns into JSON (docs/API.md, ``POST /v1/jobs``).

Times (``-t``) and memory sizes (``--mem*``) are *not* here: they go to the daemon as written
and its shared parser reads them. Each parser raises ``ValueError`` whose message lines are what
sbatch prints (``cli.submission`` wraps them in `SubmitError`); lines are separated by ``\\n``.

- counts (``-N``, ``-n``, ``-c``, ...): Slurm's ``parse_int`` (``SchedMD/slurm:src/common/
  proc_args.c``): ``Invalid numeric value "x" for --ntasks.``, and a count below 1 is
  ``Invalid --ntasks specification``.
- ``--dependency`` (``update_job_dependency`` in ``SchedMD/slurm:src/slurmctld/
  job_scheduler.c``): ``type:id[:id...]`` items joined by ``,`` (all must hold) or ``?`` (any);
  ``singleton``; a bare id means ``afterany``; ``123_4`` names one array task. Berth knows
  ``after``, ``afterany``, ``afterok``, ``afternotok`` and ``singleton``; ``aftercorr``,
  ``afterburstbuffer`` and ``after:id+minutes`` are refused with the reason.
- ``--signal=[B:]SIG[@T]`` (``get_signal_opts`` in ``SchedMD/slurm:src/common/proc_args.c``):
  a name with or without ``SIG`` (any case) or a number; T defaults to 60 seconds, at most
  65535. ``R:`` (reservation ends) is refused: Berth has no reservations.
- GPUs: ``--gres=gpu[:type][:N]`` (N defaults to 1; ``none`` asks none) and ``--gpus``,
  ``--gpus-per-node``, ``--gpus-per-task`` as ``[type:]N``. Other generic resources are refused.
- ``--export`` (``SchedMD/slurm:src/sbatch/opt.c``, env handling in ``src/common/env.c``):
  ``ALL`` (default), ``NONE`` (or ``NIL``), ``[ALL,]VAR[=value],...``; values may be quoted to
  hold commas. Unlike Slurm, ``NONE`` and a list without ``ALL`` do not add the submitter's
  ``SLURM_*`` variables (docs/API.md: ``{}`` for ``NONE``).
- ``--constraint``: features joined by ``&`` (or ``,``); Slurm's OR, brackets and counts are
  refused (Berth matches a list of required features).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Linux signal numbers of the names Slurm's sig_name2num knows (SchedMD/slurm:src/common/
# proc_args.c).
SIGNALS: dict[str, int] = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ABRT": 6, "KILL": 9, "USR1": 10, "USR2": 12, "ALRM": 14,
    "TERM": 15, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
}  # fmt: skip
DEPENDENCY_KINDS = ("after", "afterany", "afterok", "afternotok")
_DEPENDENCY_PROBLEM = "Batch job submission failed: Job dependency problem"
_TASK_ID = re.compile(r"(\d+)(?:_(\d+))?")
_GPU_COUNT = re.compile(r"(?:([A-Za-z0-9_.\-]+):)?(\d+)")


def parse_count(value: str, option: str) -> int:
    """A count >= 1 for ``option`` (spelled ``--ntasks``)."""
    text = value.strip()
    if not (text.isascii() and text.lstrip("+-").isdigit()):
        raise ValueError(f'Invalid numeric value "{value}" for {option}.')
    number = int(text)
    if number < 1:
        raise ValueError(f"Invalid {option} specification")
    return number


def parse_nice(value: str | None) -> int:
    """``--nice`` alone is 100, as in Slurm; ``--nice=N`` any integer (negative: admins only)."""
    if value is None:
        return 100
    text = value.strip()
    if not (text.isascii() and text.lstrip("+-").isdigit()):
        raise ValueError(f'Invalid numeric value "{value}" for --nice.')
    number = int(text)
    if abs(number) > 2147483645:  # NICE_OFFSET - 3 (SchedMD/slurm:src/common/slurm_opt.c)
        raise ValueError("Invalid --nice value")
    return number


def parse_open_mode(value: str) -> str:
    """``append`` or ``truncate`` (Slurm looks at the first letter only, either case)."""
    first = value.strip()[:1].lower()
    if first == "a":
        return "append"
    if first == "t":
        return "truncate"
    raise ValueError("Invalid --open-mode argument: Please specify `append` or `truncate`")


def parse_dependency(text: str) -> tuple[list[dict[str, object]], bool]:
    """The API's ``dependency`` list and ``dependency_any`` for a ``--dependency`` string."""
    if "," in text and "?" in text:
        raise ValueError(f"{_DEPENDENCY_PROBLEM}\nmix of ',' and '?' in {text!r}: use one")
    any_of = "?" in text
    found: list[dict[str, object]] = []
    for item in text.split("?" if any_of else ","):
        kind, colon, ids = item.strip().partition(":")
        kind = kind.lower()
        if kind == "singleton" and not colon:
            found.append({"kind": "singleton"})
            continue
        if not colon and _TASK_ID.fullmatch(kind):
            kind, ids = "afterany", kind  # a bare job id
        if kind not in DEPENDENCY_KINDS:
            raise ValueError(
                f"{_DEPENDENCY_PROBLEM}\ndependency type {kind!r} in {text!r}: Berth supports "
                f"{', '.join(DEPENDENCY_KINDS)} and singleton"
            )
        for job in ids.split(":"):
            found.append(_dependency_target(kind, job, text))
    return found, any_of


def _dependency_target(kind: str, job: str, text: str) -> dict[str, object]:
    if "+" in job:
        raise ValueError(f"{_DEPENDENCY_PROBLEM}\n{kind}:{job}: Berth has no '+minutes' delay")
    match = _TASK_ID.fullmatch(job.strip())
    if match is None:
        raise ValueError(f"{_DEPENDENCY_PROBLEM}\ninvalid job id {job!r} in {text!r}")
    target: dict[str, object] = {"kind": kind, "job_id": int(match.group(1))}
    if match.group(2) is not None:
        target["array_task_id"] = int(match.group(2))
    return target


def parse_signal(text: str) -> dict[str, object]:
    """The API's ``signal`` object: ``B:USR1@90`` -> signum 10, 90 s, batch shell only."""
    body = text.strip()
    batch_only = body[:2].upper() == "B:"
    if batch_only:
        body = body[2:]
    name, at, seconds_text = body.partition("@")
    signum = signal_number(name)
    seconds = 60
    if at:
        if not (seconds_text.isascii() and seconds_text.isdigit()):
            raise ValueError("Invalid --signal specification")
        seconds = int(seconds_text)
    if signum is None or seconds > 0xFFFF:
        raise ValueError("Invalid --signal specification")
    return {"signum": signum, "seconds": seconds, "batch_only": batch_only}


def signal_number(name: str) -> int | None:
    """``"USR1"``, ``"sigusr1"`` or ``"10"`` -> 10; ``None`` for anything else."""
    word = name.strip().upper()
    if word.isascii() and word.isdigit():
        number = int(word)
        return number if 1 <= number <= 64 else None
    return SIGNALS.get(word.removeprefix("SIG"))


def parse_gpus(value: str, option: str) -> tuple[int, str | None]:
    """``[type:]N`` of ``--gpus``/``--gpus-per-node``/``--gpus-per-task`` -> (N, type)."""
    match = _GPU_COUNT.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"Invalid {option} specification: {value!r}; expected [type:]count")
    return int(match.group(2)), match.group(1)


def parse_gres(value: str) -> tuple[int, str | None]:
    """``--gres``: ``gpu`` -> (1, None), ``gpu:2`` -> (2, None), ``gpu:a100:2`` -> (2, "a100"),
    ``none`` -> (0, None)."""
    text = value.strip()
    if text.lower() == "none":
        return 0, None
    parts = text.removeprefix("gres/").removeprefix("gres:").split(":")
    if "," in text or parts[0] != "gpu" or len(parts) > 3:
        raise ValueError(
            "Invalid generic resource (gres) specification\n"
            f"{value!r}: Berth knows one generic resource, gpu[:type][:count]"
        )
    if len(parts) == 1:
        return 1, None
    if len(parts) == 2:
        return (int(parts[1]), None) if parts[1].isdigit() else (1, parts[1])
    if not parts[2].isdigit():
        raise ValueError(f"Invalid generic resource (gres) specification\n{value!r}")
    return int(parts[2]), parts[1]


def parse_export(value: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The job's environment for an ``--export`` value and the submitter's environment."""
    items = _split_quoted(value)
    words = [item.upper() for item in items]
    if words in (["NONE"], ["NIL"]):
        return {}
    environment = dict(environ) if "ALL" in words else {}
    for item, word in zip(items, words, strict=True):
        if word in ("ALL", "NONE", "NIL"):
            continue
        name, equals, assigned = item.partition("=")
        if not name:
            raise ValueError(f"Invalid --export specification: {value!r}")
        if equals:
            environment[name] = _unquote(assigned)
        elif name in environ:
            environment[name] = environ[name]
    return environment


def _split_quoted(value: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quote = ""
    for char in value:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_constraint(value: str) -> list[str]:
    """``a100&nvlink`` -> ["a100", "nvlink"]."""
    if any(char in value for char in "|[]*()"):
        raise ValueError(
            f"Invalid feature specification: {value!r}; Berth takes features joined by '&'"
        )
    return [feature.strip() for feature in re.split(r"[&,]", value) if feature.strip()]
