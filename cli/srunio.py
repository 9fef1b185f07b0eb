"""``srun``'s ``-o``/``-e``/``-i``: file patterns expanded per task (SLURM-CONTRACT.md §3
item 5).

Patterns are expanded with ``daemon.filenames.expand_pattern`` - the module the daemon uses
for the batch step, standard library only - once per task with the task's rank (``%t``), the
node (``%N``, index ``%n`` 0), the step (``%s``, ``%J`` = ``job.step``), the job (``%j``,
``%A``, ``%a``, ``%x``) and the user (``%u``). Tasks whose patterns expand to the same path
share one open file (a pattern without ``%t`` is one file for all). No ``-e`` with ``-o``:
stderr goes into the output file. Output files open in append mode when ``--open-mode=append``
or the batch job's ``SLURM_OPEN_MODE=a`` (sbatch ``--open-mode=append``), else truncated.
``-i none`` gives the tasks /dev/null, ``-i N`` gives srun's stdin to task N only,
``-i all`` (the default) to every task, anything else is a file pattern opened for reading.
Relative paths are taken from ``-D`` when given, else srun's working directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from cli.options import CommandError, ParsedArgs
from cli.srunlaunch import Streams
from daemon.filenames import expand_pattern


def open_streams(args: ParsedArgs, environ: Mapping[str, str], *, ntasks: int, step: int,
                 node: str, user: str) -> Streams:  # fmt: skip
    """The fds each task gets.

    :raises CommandError: when a file cannot be opened.
    """
    base = args.value("chdir") or os.getcwd()

    def expand(pattern: str, task: int) -> str:
        path = expand_pattern(
            pattern, job_id=int(environ["SLURM_JOB_ID"]),
            array_job_id=_number(environ.get("SLURM_ARRAY_JOB_ID")),
            array_task_id=_number(environ.get("SLURM_ARRAY_TASK_ID")), user=user,
            name=environ.get("SLURM_JOB_NAME", ""), node=node, step=step, task_id=task,
            node_index=0,
        )  # fmt: skip
        return os.path.join(base, path)

    mode = args.value("open_mode") or ("append" if environ.get("SLURM_OPEN_MODE") == "a" else "")
    append = mode.lower().startswith("a")
    if mode and not append and not mode.lower().startswith("t"):
        raise CommandError(f"Invalid --open-mode argument: {mode}")
    opened: dict[str, int] = {}
    streams = Streams([None] * ntasks, [None] * ntasks, [None] * ntasks,
                      label=args.given("label"))  # fmt: skip
    output, error = args.value("output"), args.value("error")
    for task in range(ntasks):
        if output is not None and output.lower() != "none":
            streams.stdout[task] = _open(expand(output, task), opened, _writing(append))
        if error is not None and error.lower() != "none":
            streams.stderr[task] = _open(expand(error, task), opened, _writing(append))
        elif error is None:
            streams.stderr[task] = streams.stdout[task]
    _set_input(streams, args.value("input"), expand, opened)
    streams.opened = list(opened.values())
    return streams


def _set_input(streams: Streams, spec: str | None, expand: Callable[[str, int], str],
               opened: dict[str, int]) -> None:  # fmt: skip
    if spec is None or spec.lower() == "all":
        return
    count = len(streams.stdin)
    if spec.lower() == "none" or spec.isdigit():
        null = _open(os.devnull, opened, os.O_RDONLY)
        for task in range(count):
            streams.stdin[task] = None if spec.isdigit() and int(spec) == task else null
        return
    for task in range(count):
        streams.stdin[task] = _open(expand(spec, task), opened, os.O_RDONLY)


def _open(path: str, opened: dict[str, int], flags: int) -> int:
    """``path`` opened once however many tasks name it."""
    if path not in opened:
        try:
            opened[path] = os.open(path, flags, 0o644)
        except OSError as err:
            raise CommandError(f"Could not open {path}: {err.strerror}") from None
    return opened[path]


def _writing(append: bool) -> int:
    return os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
