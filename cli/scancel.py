"""``scancel``: cancel or signal jobs (SLURM-CONTRACT.md rows 16-17, §3 item 6).

Slurm's behaviour followed (``SchedMD/slurm:src/scancel/scancel.c``, ``doc/man/man1/scancel.1``):
- ids (``123``, ``123_4``, ``123_[1-3]``) and options in any order (``scancel 12 --signal
  USR1``); nothing on stdout;
- a plain cancel of a job that is unknown or already finished is silent and exits 0;
- ``-s/--signal`` (``USR1``, ``SIGUSR1``, ``10``) signals instead of cancelling: without
  ``-b/--batch`` or ``-f/--full`` it goes to the job's steps (what ``srun`` runs), with ``-b``
  to the batch shell only, with ``-f`` to every process of the job; a job that is not running
  (or, without ``-b``/``-f``, has no running step) is an error:
  ``scancel: error: Kill job error on job id N: <why>``, exit 1;
- filters ``-u/--user``, ``--me``, ``-n/--name`` (``--jobname``), ``-t/--state``,
  ``-p/--partition`` select jobs alone or narrow the ids given;
- ``-Q/--quiet`` silences those errors (the exit code still says), ``-M`` and ``-v`` are
  accepted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from cli.arrays import parse_job_ids
from cli.client import ApiError, Client
from cli.command import arguments, current_user, parse_arguments, run_command, user_names
from cli.options import ArgKind, CommandError, OptionTable, ParsedArgs, option
from cli.sbatchvalues import signal_number
from cli.states import long_state

_NONE = ArgKind.NONE
USAGE = "scancel [-b] [-f] [-s signal] [-t state] [-u user] [-n name] [-p partition] [job_id...]"
TABLE = OptionTable(
    "scancel",
    (
        option("batch", "batch", "b", _NONE, help="signal the batch shell only"),
        option("clusters", "clusters", "M", help="accepted; Berth is one cluster", inert=True),
        option("full", "full", "f", _NONE, help="signal every process of the job"),
        option("help", "help", "", _NONE, help="print this help and exit"),
        option("me", "me", "", _NONE, help="only my jobs"),
        option("name", "name jobname", "n", help="only jobs with this name"),
        option("partition", "partition", "p", help="only jobs in this partition"),
        option("quiet", "quiet", "Q", _NONE, help="no error messages"),
        option("signal", "signal", "s", help="send this signal instead of cancelling"),
        option("state", "state", "t", help="only jobs in this state (PENDING, RUNNING, ...)"),
        option("user", "user", "u", help="only this user's jobs"),
        option("usage", "usage", "", _NONE, help="print a short usage and exit"),
        option("verbose", "verbose", "v", _NONE, help="accepted", inert=True),
        option("version", "version", "V", _NONE, help="print the version and exit"),
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    words = arguments(argv)
    return run_command("scancel", lambda: _scancel(words))


def _scancel(words: list[str]) -> int:
    args = parse_arguments(TABLE, words, USAGE)
    body = _body(args)
    with Client() as client:
        partition = args.value("partition")
        if partition:
            narrowed = _narrow_to_partition(client, body, partition)
            if narrowed is None:
                return 0
            body = narrowed
        reply = client.post("/v1/jobs/cancel", body)
        missing: list[str] = reply.get("not_found") or []
        if body.get("signal") is None or not missing:
            return 0
        if not args.given("quiet"):
            for job in missing:
                why = _why_not_signalled(client, job, args)
                sys.stderr.write(f"scancel: error: Kill job error on job id {job}: {why}\n")
    return 1


def _body(args: ParsedArgs) -> dict[str, Any]:
    ids: list[str] = []
    for word in args.positionals:
        try:
            refs = parse_job_ids(word)
        except ValueError as err:
            raise CommandError(str(err)) from None
        for ref in refs:
            if ref.task_ids is None:
                ids.append(str(ref.job_id))
            else:
                ids.extend(f"{ref.job_id}_{task}" for task in ref.task_ids)
    user = ",".join(user_names(args.value("user") or ""))
    if args.given("me"):
        user = current_user()
    state = args.value("state") or ""
    if state:
        try:
            state = long_state(state)
        except ValueError as err:
            raise CommandError(str(err)) from None
    name = args.value("name") or ""
    if not ids and not (user or name or state or args.given("partition")):
        raise CommandError("No job identification provided", hint='Try "scancel --help"')
    body: dict[str, Any] = {"ids": ids, "user": user, "name": name, "state": state}
    signal_text = args.value("signal")
    if signal_text is not None:
        signum = signal_number(signal_text)
        if signum is None:
            raise CommandError(f"Invalid signal: {signal_text}")
        body.update(signal=signum, batch_only=args.given("batch"), full=args.given("full"))
    return body


def _narrow_to_partition(
    client: Client, body: dict[str, Any], partition: str
) -> dict[str, Any] | None:
    """The API cancels by ids, user, name and state; ``-p`` picks the ids here (None: none)."""
    query = {"partition": partition, "ids": ",".join(body["ids"]), "user": body["user"],
             "name": body["name"], "state": body["state"], "fields": "job_id"}  # fmt: skip
    jobs = client.get("/v1/jobs", **query)["jobs"]
    if not jobs:
        return None
    return {**body, "ids": [str(job["job_id"]) for job in jobs]}


def _why_not_signalled(client: Client, job: str, args: ParsedArgs) -> str:
    try:
        found = client.get(f"/v1/jobs/{job}")["jobs"]
    except ApiError:
        return "Invalid job id specified"
    if any(j.get("state") == "RUNNING" for j in found):
        if args.given("batch") or args.given("full"):
            return "Job/step already completing or completed"
        return "the job has no running step to signal (-b: the batch shell, -f: all processes)"
    return "Job/step already completing or completed"


if __name__ == "__main__":
    sys.exit(main())
