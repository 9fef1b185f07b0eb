"""``sbatch``: submit a batch script to the Berth daemon (SLURM-CONTRACT.md rows 1-7).

Slurm's behaviour followed (``SchedMD/slurm:src/sbatch/sbatch.c``, ``opt.c``):
- stdout is exactly ``Submitted batch job <N>\\n``, or ``<N>\\n`` with ``--parsable``; nothing
  else goes to stdout, and stderr stays quiet on success (Nextflow merges it into what it
  parses), so accepted-but-inert options print no note;
- the script comes from the path (relative to the cwd) or standard input, is read and checked
  at submit time, and its ``#SBATCH`` lines are parsed with the command line's option table,
  the command line winning (`cli.submission.build_submission`); the submitter's environment
  and working directory are captured now (``--export=ALL``);
- errors are ``sbatch: error: <message>`` on stderr with exit code 1;
- ``--test-only`` submits nothing and prints, on stderr as Slurm does, ``sbatch: Job <N> to
  start at <time> using <C> processors on nodes <list> in partition <P>`` from the daemon's
  backfill estimate (``<N>`` is the id the job would get).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from cli.client import Client
from cli.command import arguments, informational, run_command
from cli.options import SBATCH_TABLE
from cli.submission import Submission, build_submission, parse_command_line, submitted_line
from cli.timefmt import format_timestamp

USAGE = "sbatch [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]"


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("sbatch", lambda: _sbatch(arguments(argv)))


def _sbatch(argv: list[str]) -> int:
    text = informational(SBATCH_TABLE, parse_command_line(argv), USAGE)
    if text is not None:
        sys.stdout.write(text)
        return 0
    stdin_text = None
    parsed = parse_command_line(argv)
    if not parsed.given("wrap") and parsed.positionals[:1] in ((), ("/dev/stdin",)):
        stdin_text = sys.stdin.read()
    cwd = os.getcwd()
    with Client() as client:
        submission = build_submission(
            argv, stdin_text=stdin_text, cwd=cwd, environ=os.environ, now=int(time.time())
        )
        for warning in submission.warnings:
            sys.stderr.write(f"sbatch: warning: {warning}\n")
        reply = client.post("/v1/jobs", submission.body)
        if submission.body.get("test_only"):
            sys.stderr.write(_test_only_line(client, submission, reply))
            return 0
    sys.stdout.write(
        submitted_line(reply["job_id"], parsable=submission.parsable, cluster=submission.cluster)
    )
    return 0


def _test_only_line(client: Client, submission: Submission, reply: Mapping[str, Any]) -> str:
    """Slurm's will-run line for ``--test-only`` (``sbatch: Job N to start at ...``)."""
    body = submission.body
    job = reply.get("would_be_job_id") or 0
    partition = body.get("partition") or _default_partition(client)
    start = reply.get("estimated_start")
    if start is None:
        reason = reply.get("reason") or "unknown"
        return f"sbatch: Job {job} has no estimated start yet (Reason={reason})\n"
    nodes = str(reply.get("node_list") or "")
    return (
        f"sbatch: Job {job} to start at {format_timestamp(int(start))} using "
        f"{_processors(body)} processors on nodes {nodes} in partition {partition}\n"
    )


def _processors(body: Mapping[str, Any]) -> int:
    nodes = int(body.get("nodes") or 1)
    per_node = body.get("tasks_per_node")
    tasks = int(body.get("tasks") or (nodes * int(per_node) if per_node else nodes))
    return tasks * int(body.get("cpus_per_task") or 1)


def _default_partition(client: Client) -> str:
    partitions = client.get("/v1/nodes").get("partitions", [])
    return next((str(p["name"]) for p in partitions if p.get("default")), "")


if __name__ == "__main__":
    sys.exit(main())
