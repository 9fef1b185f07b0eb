"""``sbatch``'s arguments and script -> the JSON body of ``POST /v1/jobs`` (docs/API.md).

`build_submission` does what ``SchedMD/slurm:src/sbatch/sbatch.c`` and ``opt.c`` do before
contacting the controller: parse the command line (getopt with ``+``: the first non-option is
the script, the rest its arguments), read the script (a path relative to ``cwd``; standard input
when there is no path or it is ``/dev/stdin``), check it, read its ``#SBATCH`` block with the
same option table, and let the command line win. Berth then expands what the daemon wants
expanded: the ``--array`` index list, ``--dependency``, ``--signal``, GPU requests, ``--begin``
(against the caller's ``now``), ``--export`` (against the caller's ``environ``) and ``-D``
(against ``cwd``). Time limits and memory sizes go as written; the daemon parses them.

Rules beyond a plain mapping, each as Slurm has it unless marked:
- ``--wrap`` with script arguments: ``Script arguments not permitted with --wrap option``.
- ``--mem``, ``--mem-per-cpu`` and ``--mem-per-gpu`` exclude each other; when the script gives
  one and the command line another, the command line's wins (``validate_memory_options``).
- Berth: per-job GPUs (``--gpus``, ``--gpus-per-task``) and per-node GPUs (``--gres``,
  ``--gpus-per-node``) exclude each other the same way, since the daemon takes only one.
  ``--gpus-per-task=N`` becomes ``gpus`` = N x tasks (``-n``, else one task per node).
- The job name defaults to the script's file name, ``wrap`` for ``--wrap`` and ``sbatch`` for a
  script read from standard input.
- ``command`` is the script path as given, or the ``--wrap`` command; absent for stdin.
- Berth adds ``in the #SBATCH lines of <script>`` to an option error found in the script.
- Accepted-but-inert options (``--exclusive``, ``--mail-type``, ...) are listed in
  `Submission.inert`; nothing is printed for them (tools parse sbatch's output).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from cli.arrays import MAX_ARRAY_SIZE, parse_array_spec
from cli.options import SBATCH_TABLE, CommandError, OptionError, ParsedArgs
from cli.sbatchscript import read_directives, script_text, wrap_script
from cli.sbatchvalues import (
    parse_constraint,
    parse_count,
    parse_dependency,
    parse_export,
    parse_gpus,
    parse_gres,
    parse_nice,
    parse_open_mode,
    parse_signal,
)
from cli.timefmt import parse_datetime

_TEXT_KEYS = ("output", "error", "partition", "account", "qos", "comment", "image")
_SLURM_FORM_KEYS = ("time", "mem", "mem_per_cpu", "mem_per_gpu")  # sent as written
_COUNT_KEYS = ("nodes", "tasks", "tasks_per_node", "cpus_per_task", "cpus_per_gpu")
_MEMORY_SIDES = (("mem",), ("mem_per_cpu",), ("mem_per_gpu",))
_PER_NODE_GPUS, _PER_JOB_GPUS = ("gres", "gpus_per_node"), ("gpus", "gpus_per_task")
_MEMORY_CONFLICT = "--mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive."
_GPU_CONFLICT = (
    "give GPUs per job (--gpus, --gpus-per-task) or per node (--gres, --gpus-per-node), not both"
)
_P = ParamSpec("_P")
_T = TypeVar("_T")


class SubmitError(CommandError):
    """A submission sbatch refuses before contacting the daemon."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """What sbatch sends (``body``) and how it should report (``--parsable``, ``-Q``, ``-v``)."""

    body: dict[str, object]
    parsable: bool = False
    quiet: bool = False
    verbose: int = 0
    cluster: str | None = None  # -M as given; the caller names the cluster it submitted to
    inert: tuple[str, ...] = ()  # accepted options that have no effect in Berth
    warnings: tuple[str, ...] = ()  # for stderr (the #SLURM legacy prefix)


def parse_command_line(argv: Sequence[str]) -> ParsedArgs:
    """sbatch's command line alone (for ``--help``/``--version`` before anything is read).

    :raises OptionError: for an unknown or malformed option.
    """
    return SBATCH_TABLE.parse(argv)


def submitted_line(job_id: int, *, parsable: bool, cluster: str | None = None) -> str:
    """sbatch's one line of stdout: ``Submitted batch job 12\\n`` or, ``--parsable``, ``12\\n``."""
    if parsable:
        return f"{job_id};{cluster}\n" if cluster else f"{job_id}\n"
    suffix = f" on cluster {cluster}" if cluster else ""
    return f"Submitted batch job {job_id}{suffix}\n"


def build_submission(
    argv: Sequence[str],
    *,
    stdin_text: str | None,
    cwd: str,
    environ: Mapping[str, str],
    now: int,
    max_array_size: int = MAX_ARRAY_SIZE,
) -> Submission:
    """The submission for ``sbatch argv...`` run in ``cwd`` at ``now`` (epoch seconds).

    ``--help``, ``--usage`` and ``--version`` are the caller's to act on first
    (`parse_command_line`); here they are accepted and ignored.

    :raises CommandError: `OptionError` for the options, `cli.sbatchscript.ScriptError` for the
        script, `SubmitError` for the values; each carries Slurm's message lines.
    """
    command_line = SBATCH_TABLE.parse(argv)
    wrap = command_line.value("wrap")
    warnings: tuple[str, ...] = ()
    command: str | None
    args: tuple[str, ...]
    if wrap is not None:
        if command_line.positionals:
            raise SubmitError("Script arguments not permitted with --wrap option")
        script, command, default_name, args = wrap_script(wrap), wrap, "wrap", ()
        merged = command_line
    else:
        path = command_line.positionals[0] if command_line.positionals else None
        script = _read_script(path, stdin_text, cwd)
        directives = read_directives(script, file=path or "stdin")
        try:
            parsed = SBATCH_TABLE.parse(directives.words, source="script")
        except OptionError as err:  # Berth: say where the option was
            where = f"in the #SBATCH lines of {path or 'standard input'}"
            raise OptionError(*err.lines, where, hint=err.hint) from None
        if parsed.positionals:
            raise SubmitError(f"Invalid directive found in batch script: {parsed.positionals[0]}")
        if parsed.given("wrap"):
            raise SubmitError("--wrap is not valid in a batch script's #SBATCH lines")
        merged, warnings = parsed.then(command_line), directives.warnings
        command, args = path, command_line.positionals[1:]
        default_name = "sbatch" if path is None else os.path.basename(path) or "sbatch"
    body: dict[str, object] = {"script": script, "argv": list(args)}
    if command is not None:
        body["command"] = command
    body["workdir"] = _workdir(merged.value("chdir"), cwd)
    body["environment"] = _guard(parse_export, merged.value("export") or "ALL", environ)
    body["name"] = merged.value("name") or default_name
    _add_values(body, merged, now=now, max_array_size=max_array_size)
    return Submission(
        body=body,
        parsable=merged.given("parsable"),
        quiet=merged.given("quiet"),
        verbose=merged.count("verbose"),
        cluster=merged.value("clusters"),
        inert=tuple(merged.inert_options()),
        warnings=warnings,
    )


def _read_script(path: str | None, stdin_text: str | None, cwd: str) -> str:
    if path is None or path == "/dev/stdin":
        data = (stdin_text or "").encode("utf-8", "surrogateescape")
    else:
        try:
            with open(os.path.join(cwd, path), "rb") as handle:
                data = handle.read()
        except OSError:
            raise SubmitError(f"Unable to open file {path}") from None
    return script_text(data)


def _workdir(chdir: str | None, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, chdir)) if chdir else cwd


def _guard(parse: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run a value parser, turning its ValueError lines into a `SubmitError`."""
    try:
        return parse(*args, **kwargs)
    except ValueError as err:
        raise SubmitError(*str(err).split("\n")) from None


def _add_values(
    body: dict[str, object], args: ParsedArgs, *, now: int, max_array_size: int
) -> None:
    spelled = {o.option.dest: o.spelled for o in args.occurrences}
    drop = _command_line_wins(args, _MEMORY_SIDES, _MEMORY_CONFLICT)
    drop |= _command_line_wins(args, (_PER_NODE_GPUS, _PER_JOB_GPUS), _GPU_CONFLICT)
    for key in _TEXT_KEYS:
        text = args.value(key)
        if text:
            body[key] = text
    for key in _SLURM_FORM_KEYS:
        value = args.value(key)
        if value is not None and key not in drop:
            if not value.strip():
                raise SubmitError(f"Invalid {spelled[key]} specification")
            body[key] = value.strip()
    for key in _COUNT_KEYS:
        value = args.value(key)
        if value is not None:
            body[key] = _guard(parse_count, value, spelled[key])
    _add_gpus(body, args, drop)
    _add_scheduling(body, args, now=now, max_array_size=max_array_size)


def _command_line_wins(
    args: ParsedArgs, sides: Sequence[tuple[str, ...]], conflict: str
) -> set[str]:
    """The keys to ignore when options of several exclusive ``sides`` are given: those not on
    the command line when exactly one side is there, else `SubmitError` ``conflict``."""
    given = [side for side in sides if any(args.given(key) for key in side)]
    if len(given) < 2:
        return set()
    on_cli = [side for side in given if any(args.given(k, source="command line") for k in side)]
    if len(on_cli) != 1:
        raise SubmitError(conflict)
    return {key for side in given if side != on_cli[0] for key in side}


def _add_gpus(body: dict[str, object], args: ParsedArgs, drop: set[str]) -> None:
    models: set[str] = set()
    for occurrence in args.occurrences:
        dest, value = occurrence.option.dest, occurrence.value
        if dest not in _PER_NODE_GPUS + _PER_JOB_GPUS or dest in drop or value is None:
            continue
        if dest == "gres":
            count, model = _guard(parse_gres, value)
        else:
            count, model = _guard(parse_gpus, value, occurrence.spelled)
        if dest == "gpus_per_task":
            count *= _task_count(body)
        body["gpus" if dest in _PER_JOB_GPUS else "gpus_per_node"] = count
        if model:
            models.add(model)
    if len(models) > 1:
        raise SubmitError(f"conflicting GPU types {', '.join(sorted(models))}; ask for one")
    if models:
        body["gpu_model"] = models.pop()


def _task_count(body: Mapping[str, object]) -> int:
    tasks, nodes, per_node = body.get("tasks"), body.get("nodes", 1), body.get("tasks_per_node")
    if isinstance(tasks, int):
        return tasks
    assert isinstance(nodes, int)
    return nodes * per_node if isinstance(per_node, int) else nodes


def _add_scheduling(
    body: dict[str, object], args: ParsedArgs, *, now: int, max_array_size: int
) -> None:
    array, dependency, begin = args.value("array"), args.value("dependency"), args.value("begin")
    signal, constraint = args.value("signal"), args.value("constraint")
    open_mode = args.value("open_mode")
    if array is not None:
        spec = _guard(parse_array_spec, array, max_array_size=max_array_size)
        body["array"] = {"indices": list(spec.indices), "throttle": spec.throttle}
    if dependency:
        targets, any_of = _guard(parse_dependency, dependency)
        body["dependency"] = targets
        if any_of:
            body["dependency_any"] = True
    if begin is not None:
        body["begin_time"] = _guard(parse_datetime, begin, now=now)
    if signal is not None:
        body["signal"] = _guard(parse_signal, signal)
    if constraint:
        body["constraint"] = _guard(parse_constraint, constraint)
    if open_mode is not None:
        body["open_mode"] = _guard(parse_open_mode, open_mode)
    if args.given("nice"):
        body["nice"] = _guard(parse_nice, args.value("nice"))
    if args.given("requeue"):
        body["requeue"] = args.value("requeue") != "no"
    for flag in ("hold", "test_only"):
        if args.given(flag):
            body[flag] = True
