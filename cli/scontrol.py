"""``scontrol``: show and change jobs, nodes and the configuration (SLURM-CONTRACT.md rows
18-20).

Commands (``SchedMD/slurm:src/scontrol/scontrol.c``; words case-insensitive, ``jobs``/``nodes``/
``partitions`` as the singular):
- ``show config`` (``%-23s = %s`` lines: ``MinJobAge               = 300 sec``), ``show job
  [ID]`` (``-o`` one line per job), ``show node [NAME]``, ``show partition [NAME]``,
  ``show hostnames [LIST]`` (one host per line; ``$SLURM_JOB_NODELIST`` by default),
  ``show hostlist NAMES`` (the folded form);
- ``hold``, ``release``, ``requeue`` ``ID[,ID...]`` (``123``, ``123_4``): ``requeue`` from
  inside the job returns at once; the daemon stops the job and queues it again under the same
  id with ``SLURM_RESTART_COUNT`` one higher, its logs appended;
- ``update JobId=ID Key=Value...`` (TimeLimit, Nice, Partition, QOS, JobName, Priority,
  Comment, StartTime) and ``update NodeName=NAME State=DRAIN|DOWN|RESUME Reason=...``;
- ``ping``, ``version``.
Errors are ``scontrol: error: <message>`` (exit 1); an unknown job for ``show job`` is Slurm's
``slurm_load_jobs error: Invalid job id specified``. ``--json`` prints the API's records
(``{"config": ...}``, ``{"jobs": [...]}``, ``{"nodes": [...]}``, ``{"partitions": [...]}``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from cli.client import ApiError, Client
from cli.command import PlainError, arguments, parse_arguments, run_command, version_text
from cli.formats import format_config, format_job_details, format_json
from cli.hostnames import compress_hostnames, expand_hostnames
from cli.options import ArgKind, CommandError, OptionTable, ParsedArgs, option
from cli.scontrolformat import format_node_details, format_partition_details
from cli.scontrolupdate import job_changes, node_change

_NONE = ArgKind.NONE
USAGE = "scontrol [--json] [-o] show|hold|release|requeue|update|ping|version ..."
TABLE = OptionTable(
    "scontrol",
    (
        option("clusters", "clusters", "M", help="accepted; Berth is one cluster", inert=True),
        option("details", "details", "d", _NONE, help="accepted", inert=True),
        option("help", "help", "h", _NONE, help="print this help and exit"),
        option("json", "json", "", _NONE, help="records as JSON"),
        option("oneliner", "oneliner", "o", _NONE, help="one line per record"),
        option("quiet", "quiet", "Q", _NONE, help="no error messages"),
        option("usage", "usage", "", _NONE, help="print a short usage and exit"),
        option("verbose", "verbose", "v", _NONE, help="accepted", inert=True),
        option("version", "version", "V", _NONE, help="print the version and exit"),
    ),
)
_ENTITIES = {"config": "config", "configuration": "config", "job": "job", "jobs": "job",
             "jobid": "job", "node": "node", "nodes": "node", "partition": "partition",
             "partitions": "partition", "hostnames": "hostnames", "hostname": "hostnames",
             "hostlist": "hostlist"}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    words = arguments(argv)
    return run_command("scontrol", lambda: _scontrol(words))


def _scontrol(words: list[str]) -> int:
    args = parse_arguments(TABLE, words, USAGE)
    if not args.positionals:
        raise CommandError("give a command: show, hold, release, requeue, update, ping, version")
    command, rest = args.positionals[0].lower(), list(args.positionals[1:])
    if command == "version":
        sys.stdout.write(version_text())
        return 0
    if command == "show":
        return _show(args, rest)
    with Client() as client:
        if command in ("hold", "release", "requeue"):
            return _each_job(client, command, rest)
        if command == "update":
            return _update(client, rest)
        if command == "ping":
            client.get("/v1/config")
            sys.stdout.write(f"Slurmctld(primary) at {client.path} is UP\n")
            return 0
    raise CommandError(f"invalid keyword: {args.positionals[0]}")


def _show(args: ParsedArgs, rest: list[str]) -> int:
    if not rest:
        raise CommandError("show what? config, job, node, partition, hostnames, hostlist")
    entity = _ENTITIES.get(rest[0].lower())
    target = rest[1] if len(rest) > 1 else None
    if entity is None:
        raise CommandError(f"invalid entity: {rest[0]} for keyword: show")
    if entity in ("hostnames", "hostlist"):
        return _hostnames(entity, target)
    as_json = args.given("json")
    with Client() as client:
        if entity == "config":
            values = client.get("/v1/config")["config"]
            text = format_json(config=values) if as_json else format_config(
                values, as_of=int(time.time()))  # fmt: skip
        elif entity == "job":
            text = _show_jobs(client, target, as_json, args.given("oneliner"))
        else:
            reply = client.get("/v1/nodes")
            nodes, parts = reply["nodes"], reply["partitions"]
            if entity == "node":
                nodes = [n for n in nodes if target in (None, n["name"])]
                if target and not nodes:
                    raise CommandError(f"Node {target} not found")
                text = format_json(nodes=nodes) if as_json else format_node_details(nodes)
            else:
                parts = [p for p in parts if target in (None, p["name"])]
                if target and not parts:
                    raise CommandError(f"Partition {target} not found")
                text = (format_json(partitions=parts) if as_json
                        else format_partition_details(parts, nodes))  # fmt: skip
    if args.given("oneliner") and not as_json and entity != "job":
        text = _one_line_each(text)
    sys.stdout.write(text)
    return 0


def _show_jobs(client: Client, target: str | None, as_json: bool, oneliner: bool) -> str:
    if target is None:
        jobs: list[dict[str, Any]] = client.get("/v1/jobs", all="1")["jobs"]
        if not jobs and not as_json:
            return "No jobs in the system\n"
    else:
        try:
            jobs = client.get(f"/v1/jobs/{target}")["jobs"]
        except ApiError as err:
            if err.status == 404:
                raise PlainError("slurm_load_jobs error: Invalid job id specified") from None
            raise
    if as_json:
        return format_json(jobs=jobs)
    text = format_job_details(jobs, now=int(time.time()))
    return _one_line_each(text) if oneliner else text


def _one_line_each(text: str) -> str:
    """``-o``: each block's lines joined by spaces, one line per record."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    return "".join(" ".join(part.strip() for part in block.splitlines()) + "\n" for block in blocks)


def _hostnames(entity: str, target: str | None) -> int:
    source = target if target is not None else os.environ.get("SLURM_JOB_NODELIST", "")
    if not source:
        raise CommandError("No hostlist specified and SLURM_JOB_NODELIST is not set")
    try:
        names = expand_hostnames(source)
    except ValueError as err:
        raise CommandError(str(err)) from None
    if entity == "hostlist":
        sys.stdout.write(compress_hostnames(names) + "\n")
    else:
        sys.stdout.write("".join(name + "\n" for name in names))
    return 0


def _job_ids(words: list[str]) -> list[str]:
    ids = [item for word in words for item in word.split(",") if item]
    if not ids:
        raise CommandError("Invalid job id specified")
    return ids


def _each_job(client: Client, command: str, words: list[str]) -> int:
    for job in _job_ids(words):
        client.post(f"/v1/jobs/{job}/{command}")
    return 0


def _update(client: Client, words: list[str]) -> int:
    pairs = [word.partition("=") for word in words]
    keys = {key.lower(): value for key, _, value in pairs}
    if "nodename" in keys:
        name, body = node_change(keys)
        client.request("PATCH", f"/v1/nodes/{name}", body)
        return 0
    job, body = job_changes(keys, now=int(time.time()))
    client.request("PATCH", f"/v1/jobs/{job}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
