"""``srun``: run a job step's tasks on this node (SLURM-CONTRACT.md §3).

- Options parse like Slurm's getopt with ``+``: up to the first word that is not an option;
  the rest is the command, verbatim (``srun -n1 --cpu-bind=q sh -s``).
- Inside an allocation (``SLURM_JOB_ID`` set, or ``--jobid``) srun registers a step
  ``<job>.<k>`` with the daemon (so ``sacct`` lists it and ``scancel --signal`` reaches it),
  runs the tasks (`cli.srunlaunch`) and reports the step's end. Outside one it first makes its
  own allocation (`cli.srunalloc`), like ``salloc``, and ends it when the step is done.
- Tasks: ``-n``, else ``--ntasks-per-node`` x ``-N``, else ``SLURM_NTASKS`` of the batch
  environment, else 1. ``-N`` above 1 is refused: Berth's srun runs the tasks on the node of
  the batch step (the tasks of a multi-node job are the job script's to place).
- Output: ``-o``/``-e``/``-i`` patterns expanded per task with ``daemon.filenames``
  (``%j %J %A %a %s %t %n %N %u %x %%`` and zero padding): a pattern with ``%t`` gives one
  file per task, others are shared; no ``-e`` sends stderr into the ``-o`` file; files append
  when ``--open-mode=append`` or ``SLURM_OPEN_MODE=a``, else truncate. ``-i none`` closes
  stdin, ``-i N`` gives it to task N alone; otherwise the tasks share srun's stdin (Slurm
  copies it to each). ``-l`` prefixes lines with the task number.
- Accepted and ignored: ``--cpu-bind``, ``--mpi``, ``-v``, ``--exclusive``, ``--overlap``,
  ``-u``, ``--mem*``, ``--gres``/``--gpus*`` inside an allocation (outside they size it).
- Exit status: the highest task exit code, or 128 + the signal of a task killed by one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from cli.client import ApiError, Client
from cli.command import arguments, current_user, informational, run_command
from cli.options import ArgKind, CommandError, Option, OptionTable, ParsedArgs, option
from cli.sbatchvalues import parse_count, parse_export
from cli.srunalloc import allocate, release
from cli.srunio import open_streams
from cli.srunlaunch import Launcher, task_environment

_NONE, _OPTIONAL = ArgKind.NONE, ArgKind.OPTIONAL
USAGE = "srun [OPTIONS...] executable [args...]"


def _inert(dest: str, names: str, short: str = "", arg: ArgKind = ArgKind.REQUIRED) -> Option:
    return option(dest, names, short, arg, help="accepted; no effect in Berth", inert=True)


TABLE = OptionTable(
    "srun",
    (
        option("account", "account", "A", help="account (outside an allocation)"),
        option("chdir", "chdir", "D", help="run the tasks in this directory"),
        _inert("cpu_bind", "cpu-bind cpu_bind"),
        _inert("cpus_per_gpu", "cpus-per-gpu"),
        option("cpus_per_task", "cpus-per-task", "c", help="CPUs per task"),
        option("error", "error", "e", help="stderr file pattern"),
        _inert("exclusive", "exclusive", "", _OPTIONAL),
        option("export", "export", help="environment: ALL (default), NONE, VAR[=value],..."),
        option("gpus", "gpus", "G", help="GPUs (outside an allocation)"),
        option("gpus_per_node", "gpus-per-node", help="GPUs per node (outside an allocation)"),
        _inert("gpus_per_task", "gpus-per-task"),
        option("gres", "gres", help="gpu[:type]:N (outside an allocation)"),
        option("help", "help", "h", _NONE, help="print this help and exit"),
        option("input", "input", "i", help="stdin: none, a task number, or a file pattern"),
        option("jobid", "jobid", help="run as a step of this running job"),
        option("name", "job-name", "J", help="step name (default: the command)"),
        option("kill_bad", "kill-on-bad-exit", "K", _OPTIONAL, const="1",
               help="kill the other tasks when one fails"),
        option("label", "label", "l", _NONE, help="prefix output lines with the task number"),
        option("mem", "mem", help="memory per node (outside an allocation)"),
        _inert("mem_per_cpu", "mem-per-cpu"),
        _inert("mem_per_gpu", "mem-per-gpu"),
        _inert("mpi", "mpi"),
        option("nodes", "nodes", "N", help="number of nodes (1)"),
        option("ntasks", "ntasks", "n", help="number of tasks"),
        option("tasks_per_node", "ntasks-per-node", help="tasks per node"),
        option("open_mode", "open-mode", help="append or truncate the output files"),
        option("output", "output", "o", help="stdout file pattern"),
        _inert("overlap", "overlap", "", _NONE),
        option("partition", "partition", "p", help="partition (outside an allocation)"),
        option("qos", "qos", "q", help="QOS (outside an allocation)"),
        option("quiet", "quiet", "Q", _NONE, help="fewer messages"),
        option("time", "time", "t", help="time limit (outside an allocation)"),
        _inert("unbuffered", "unbuffered", "u", _NONE),
        option("usage", "usage", arg=_NONE, help="print a short usage and exit"),
        _inert("verbose", "verbose", "v", _NONE),
        option("version", "version", "V", _NONE, help="print the version and exit"),
        _inert("wait", "wait", "W"),
    ),
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    words = arguments(argv)
    return run_command("srun", lambda: _srun(words))


def _srun(words: list[str]) -> int:
    args = TABLE.parse(words)
    text = informational(TABLE, args, USAGE)
    if text is not None:
        sys.stdout.write(text)
        return 0
    command = list(args.positionals)
    if not command:
        raise CommandError("No command given to execute.")
    if _count(args, "nodes", 1) > 1:
        raise CommandError("Berth's srun runs one step on one node: use -N 1 (or omit -N)")
    environ = _exported(args)
    client = Client()
    allocation = None
    job_text = args.value("jobid") or os.environ.get("SLURM_JOB_ID")
    if not job_text:
        allocation = allocate(client, _allocation_body(args, command, environ))
        environ.update(allocation.environment)
        job_text = str(allocation.job_id)
    outcome_code = 1
    try:
        outcome_code = _run_step(client, args, command, environ, job_text)
    finally:
        if allocation is not None:
            release(client, allocation.job_id, succeeded=outcome_code == 0)
        client.close()
    return outcome_code


def _run_step(client: Client, args: ParsedArgs, command: list[str], environ: dict[str, str],
              job_text: str) -> int:  # fmt: skip
    if not job_text.isdigit():
        raise CommandError(f"Invalid job id: {job_text}")
    ntasks = _task_count(args, environ)
    environ["SLURM_JOB_ID"] = environ["SLURM_JOBID"] = job_text
    node = environ.get("SLURMD_NODENAME") or _first_node(environ)
    name = args.value("name") or os.path.basename(command[0])
    registered = _register(client, job_text, name, ntasks)
    step = 0 if registered is None else registered
    cpus = _count(args, "cpus_per_task", 0) or None
    envs = [task_environment(environ, task=i, ntasks=ntasks, step=step, node=node,
                             cpus_per_task=cpus) for i in range(ntasks)]  # fmt: skip
    streams = open_streams(args, environ, ntasks=ntasks, step=step, node=node,
                           user=environ.get("SLURM_JOB_USER") or current_user())  # fmt: skip
    launcher = Launcher(command, envs, streams, node=node, chdir=args.value("chdir"))
    launcher.trap_signals()
    try:
        outcome = launcher.run(kill_on_bad_exit=args.value("kill_bad") not in (None, "0"))
    finally:
        launcher.restore_signals()
        streams.close()
    state = "COMPLETED" if outcome.exit_code == 0 else "FAILED"
    if outcome.worst_signal in (2, 9, 15):
        state = "CANCELLED"
    if registered is not None:
        _finish(client, job_text, step, state, outcome.worst_code, outcome.worst_signal)
    return outcome.exit_code


def _exported(args: ParsedArgs) -> dict[str, str]:
    """The tasks' base environment: ``--export`` of srun's own, the ``SLURM_*`` kept always."""
    text = args.value("export")
    if text is None:
        return dict(os.environ)
    try:
        chosen = parse_export(text, os.environ)
    except ValueError as err:
        raise CommandError(str(err)) from None
    slurm = {k: v for k, v in os.environ.items() if k.startswith(("SLURM_", "BERTH_"))}
    return {**slurm, **chosen}


def _count(args: ParsedArgs, dest: str, default: int) -> int:
    value = args.value(dest)
    if value is None:
        return default
    try:
        return parse_count(value, f"--{dest.replace('_', '-')}")
    except ValueError as err:
        raise CommandError(str(err)) from None


def _task_count(args: ParsedArgs, environ: dict[str, str]) -> int:
    if args.given("ntasks"):
        return _count(args, "ntasks", 1)
    if args.given("tasks_per_node"):
        return _count(args, "tasks_per_node", 1) * _count(args, "nodes", 1)
    inherited = environ.get("SLURM_NTASKS", "")
    return int(inherited) if inherited.isdigit() and int(inherited) > 0 else 1


def _first_node(environ: dict[str, str]) -> str:
    from cli.hostnames import expand_hostnames

    try:
        names = expand_hostnames(environ.get("SLURM_JOB_NODELIST", ""))
    except ValueError:
        names = []
    if names:
        return names[0]
    import socket

    return socket.gethostname().split(".")[0]


def _allocation_body(args: ParsedArgs, command: list[str], environ: dict[str, str]
                     ) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "name": args.value("name") or os.path.basename(command[0]),
        "command": " ".join(command), "workdir": os.getcwd(), "output": "/dev/null",
        "environment": {"PATH": environ.get("PATH", "/usr/bin:/bin")},
    }  # fmt: skip
    for key in ("partition", "account", "qos", "time", "mem"):
        if args.value(key):
            body[key] = args.value(key)
    for key, dest in (("tasks", "ntasks"), ("tasks_per_node", "tasks_per_node"),
                      ("cpus_per_task", "cpus_per_task")):  # fmt: skip
        if args.given(dest):
            body[key] = _count(args, dest, 1)
    from cli.sbatchvalues import parse_gpus, parse_gres

    try:
        if args.value("gres"):
            body["gpus_per_node"], model = parse_gres(str(args.value("gres")))
        elif args.value("gpus_per_node") or args.value("gpus"):
            key = "gpus_per_node" if args.value("gpus_per_node") else "gpus"
            body[key], model = parse_gpus(str(args.value(key)), f"--{key.replace('_', '-')}")
        else:
            model = None
    except ValueError as err:
        raise CommandError(str(err)) from None
    if model:
        body["gpu_model"] = model
    return body


def _register(client: Client, job: str, name: str, ntasks: int) -> int | None:
    """The step's id; None when the daemon did not record it (the tasks still run, as
    step 0)."""
    try:
        reply = client.post(f"/v1/jobs/{job}/steps",
                            {"name": name, "pid": os.getpid(), "ntasks": ntasks})  # fmt: skip
    except ApiError as err:
        sys.stderr.write(f"srun: warning: step not recorded by the berth daemon: {err.message}\n")
        return None
    return int(reply["step_id"])


def _finish(client: Client, job: str, step: int, state: str, code: int, signum: int) -> None:
    body = {"state": state, "exit_code": code, "exit_signal": signum}
    with contextlib.suppress(ApiError):  # the job is ending (its steps end with it), or no daemon
        client.request("PATCH", f"/v1/jobs/{job}/steps/{step}", body)


if __name__ == "__main__":
    sys.exit(main())
