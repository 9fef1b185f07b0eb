"""``scontrol show config`` and ``scontrol show job`` text.

``show config`` (``SchedMD/slurm:src/api/config_info.c``): a ``Configuration data as of <time>``
line, then one ``"%-23s = %s"`` line per key (``MinJobAge               = 300 sec``); integer
values of the keys Slurm prints in seconds get `` sec``.

``show job`` (``slurm_sprint_job_info`` in ``SchedMD/slurm:src/api/job_info.c``): per job a
block of ``Key=Value`` words, the first line flush left and the others indented by three
spaces, then an empty line. Berth prints the lines whose values its job resource holds
(``JobId``, ``ArrayJobId``/``ArrayTaskId``, ``JobName``, ``UserId``, ``Priority``, ``Nice``,
``Account``, ``QOS``, ``JobState``, ``Reason``, ``Dependency``, ``Requeue``, ``Restarts``,
``ExitCode``, ``RunTime``, ``TimeLimit``, the times, ``Partition``, ``NodeList``,
``NumNodes``, ``NumCPUs``, ``NumTasks``, ``CPUs/Task``, ``TRES``, ``MinMemoryNode``,
``Features``, ``Command``, ``WorkDir``, ``StdErr``, ``StdIn``, ``StdOut``, ``TresPerNode``)
in Slurm's order and words; unset values print as Slurm's ``(null)``, ``Unknown`` or ``N/A``.
Pending array tasks fold into one block (``ArrayTaskId=2,4-9 ArrayTaskThrottle=2``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cli.arrays import fold_ranges
from cli.hostnames import compress_hostnames
from cli.sacctformat import SacctRow, field_value
from cli.squeueformat import QueueRow, cpus_text, gres_text, memory_text, queue_rows, time_used
from cli.states import exit_code_text
from cli.timefmt import format_elapsed, format_limit_elapsed, format_timestamp

SECONDS_KEYS = frozenset(
    {"BatchStartTimeout", "InactiveLimit", "KillWait", "MessageTimeout", "MinJobAge",
     "SchedulerTimeSlice", "SlurmctldTimeout", "SlurmdTimeout", "TCPTimeout", "WaitTime"}
)  # fmt: skip
Job = Mapping[str, Any]


def format_config(values: Mapping[str, object], *, as_of: int | None = None) -> str:
    """``show config``: the ``as of`` line (when ``as_of`` is given) and one line per key."""
    lines = [f"Configuration data as of {format_timestamp(as_of)}"] if as_of else []
    for key, value in values.items():
        text = f"{value} sec" if key in SECONDS_KEYS and isinstance(value, int) else str(value)
        lines.append(f"{key:<23} = {text}")
    return "".join(line + "\n" for line in lines)


def format_job_details(jobs: Iterable[Job], *, now: int) -> str:
    """``show job``: one block per job (pending array tasks folded), each then an empty line."""
    return "".join(_block(row, now) + "\n" for row in queue_rows(jobs))


def _null(value: object) -> str:
    return "(null)" if value in (None, "") else str(value)


def _ids(row: QueueRow) -> str:
    job = row.job
    words = [f"JobId={job['array_job_id'] if row.task_ids else job['job_id']}"]
    if job.get("array_job_id") is not None:
        tasks = fold_ranges(row.task_ids) if row.task_ids else job.get("array_task_id")
        words += [f"ArrayJobId={job['array_job_id']}", f"ArrayTaskId={tasks}"]
        if row.task_ids and job.get("array_throttle"):
            words.append(f"ArrayTaskThrottle={job['array_throttle']}")
    return " ".join([*words, f"JobName={job.get('name', '')}"])


def _block(row: QueueRow, now: int) -> str:
    job, get = row.job, row.job.get
    as_sacct = SacctRow(job)
    tres = field_value("AllocTRES", as_sacct, now) or field_value("ReqTRES", as_sacct, now)
    start = get("estimated_start") if get("state") == "PENDING" else get("start_time")
    limit = get("time_limit_s")
    lines: list[list[str]] = [
        [f"UserId={get('user', '')}({get('uid', '')})",
         f"GroupId={get('group') or get('gid', '')}({get('gid', '')})", "MCS_label=N/A"],
        [f"Priority={get('priority', 0)}", f"Nice={get('nice', 0)}",
         f"Account={_null(get('account'))}", f"QOS={_null(get('qos'))}"],
        [f"JobState={get('state')}", f"Reason={get('reason') or 'None'}",
         f"Dependency={_null(get('dependency'))}"],
        [f"Requeue={int(bool(get('requeue', True)))}", f"Restarts={get('restart_count', 0)}",
         "BatchFlag=1", "Reboot=0",
         f"ExitCode={exit_code_text(get('exit_code'), get('exit_signal'))}"],
        [f"RunTime={format_elapsed(time_used(job, now))}",
         f"TimeLimit={format_limit_elapsed(limit)}", "TimeMin=N/A"],
        [f"SubmitTime={format_timestamp(get('submit_time'))}",
         f"EligibleTime={format_timestamp(get('eligible_time'))}"],
        [f"StartTime={format_timestamp(start)}", f"EndTime={format_timestamp(get('end_time'))}",
         "Deadline=N/A"],
        [f"Partition={_null(get('partition'))}"],
        [f"NodeList={_null(get('node_list'))}"],
        [f"NumNodes={get('nodes', 1)}", f"NumCPUs={cpus_text(job)}",
         f"NumTasks={get('tasks', 1)}", f"CPUs/Task={get('cpus_per_task', 1)}",
         "ReqB:S:C:T=0:0:*:*"],
        [f"TRES={_null(tres)}"],
        [f"MinCPUsNode={get('cpus_per_task', 1)}",
         f"MinMemoryNode={memory_text(get('mem_mb'))}", "MinTmpDiskNode=0"],
        [f"Features={_null(','.join(get('constraint') or ()))}", "DelayBoot=00:00:00"],
        [f"Command={_null(get('command'))}"],
        [f"WorkDir={_null(get('workdir'))}"],
    ]  # fmt: skip
    if get("comment"):
        lines.append([f"Comment={get('comment')}"])
    lines += [[f"StdErr={_null(get('stderr'))}"], ["StdIn=/dev/null"],
              [f"StdOut={_null(get('stdout'))}"]]  # fmt: skip
    if get("gpus_per_node"):
        lines.append([f"TresPerNode={gres_text(job)}"])
    if get("image"):
        lines.append([f"ContainerImage={get('image')}"])
    return _ids(row) + "\n" + "".join(f"   {' '.join(words)}\n" for words in lines)


def format_node_details(nodes: Iterable[Mapping[str, Any]]) -> str:
    """``show node``: one ``NodeName=...`` block per node record of ``GET /v1/nodes``, in
    ``slurm_sprint_node_table``'s words (``SchedMD/slurm:src/api/node_info.c``) for the values
    Berth has."""
    blocks = []
    for node in nodes:
        gpus = node.get("gpus") or []
        models = sorted({str(g.get("model")) for g in gpus if g.get("model")})
        gres = (f"gpu:{models[0]}:{len(gpus)}" if len(models) == 1 else f"gpu:{len(gpus)}"
                if gpus else "(null)")  # fmt: skip
        used = [str(g.get("index")) for g in gpus if g.get("allocated")]
        cpus, mem = node.get("cpus", 0), node.get("mem_mb", 0)
        cfg = f"cpu={cpus},mem={memory_text(mem)},billing={cpus}"
        alloc_cpus, alloc_mem = node.get("cpus_allocated", 0), node.get("mem_allocated_mb", 0)
        alloc = f"cpu={alloc_cpus},mem={memory_text(alloc_mem)}" if alloc_cpus else ""
        lines = [
            [f"CPUAlloc={alloc_cpus}", f"CPUEfctv={cpus}", f"CPUTot={cpus}"],
            [f"AvailableFeatures={_null(','.join(node.get('features') or ()))}"],
            [f"ActiveFeatures={_null(','.join(node.get('features') or ()))}"],
            [f"Gres={gres}", f"GresUsed=gpu:{len(used)}(IDX:{','.join(used) or 'N/A'})"],
            [f"NodeAddr={node['name']}", f"NodeHostName={node['name']}"],
            [f"RealMemory={mem}", f"AllocMem={alloc_mem}"],
            [f"State={str(node.get('state', '')).upper()}"],
            [f"Partitions={_null(','.join(node.get('partitions') or ()))}"],
            [f"CfgTRES={cfg}" + (f",gres/gpu={len(gpus)}" if gpus else "")],
            [f"AllocTRES={alloc}" + (f",gres/gpu={len(used)}" if alloc and used else "")],
        ]
        if node.get("reason"):
            lines.append([f"Reason={node['reason']}"])
        body = "".join(f"   {' '.join(words)}\n" for words in lines)
        blocks.append(f"NodeName={node['name']}\n{body}\n")
    return "".join(blocks)


def format_partition_details(partitions: Iterable[Mapping[str, Any]],
                             nodes: Iterable[Mapping[str, Any]]) -> str:  # fmt: skip
    """``show partition``: one ``PartitionName=...`` block per partition record, in
    ``slurm_sprint_partition_info``'s words (``SchedMD/slurm:src/api/partition_info.c``)."""
    cpus_of = {str(n["name"]): int(n.get("cpus") or 0) for n in nodes}
    blocks = []
    for part in partitions:
        members = [str(name) for name in part.get("nodes") or ()]
        limit, default = part.get("max_time_s"), part.get("default_time_s")
        lines = [
            ["AllowGroups=ALL", "AllowAccounts=ALL", "AllowQos=ALL"],
            [f"Default={'YES' if part.get('default') else 'NO'}"],
            [f"MaxTime={format_limit_elapsed(limit)}",
             f"DefaultTime={'NONE' if default is None else format_limit_elapsed(default)}"],
            [f"Nodes={_null(compress_hostnames(members))}"],
            [f"State={'UP' if part.get('up', True) else 'DOWN'}",
             f"TotalCPUs={sum(cpus_of.get(n, 0) for n in members)}",
             f"TotalNodes={len(members)}"],
        ]  # fmt: skip
        body = "".join(f"   {' '.join(words)}\n" for words in lines)
        blocks.append(f"PartitionName={part['name']}\n{body}\n")
    return "".join(blocks)
