"""``/v1/jobs`` and ``/v1/accounting``: submit, list, show, cancel, hold, release, requeue,
update; the history ``sacct`` reads."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon import operations as ops
from daemon import steps
from daemon.api.errors import caller_of
from daemon.api.keys import CONTROLLER
from daemon.api.serialize import job_fields, job_json, job_rows
from daemon.errors import BadRequest, NotFound
from daemon.records import JobRecord
from daemon.store import repository as repo

routes = web.RouteTableDef()


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    return await request.json()


def _list_param(request: web.Request, key: str) -> list[str]:
    return [part for value in request.query.getall(key, []) for part in value.split(",") if part]


@routes.post("/v1/jobs")
async def submit(request: web.Request) -> web.Response:
    ctl = request.app[CONTROLLER]
    result = await ops.submit(ctl, await _body(request), caller_of(request))
    if result["job_id"] is None:  # --test-only: the id the job would get, for sbatch's line
        return web.json_response({**result, "would_be_job_id": ctl.next_id})
    return web.json_response(result, status=201)


@routes.get("/v1/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    """Pending and running jobs (``all=1`` adds those finished within MinJobAge), filtered by
    ``user``, ``state``, ``partition``, ``name`` and ``ids`` (comma lists; ``123`` names every
    task of array 123, ``123_4`` one task); ``fields`` (a comma list) returns only those keys,
    and with ``rows=1`` as ``{"fields": [...], "rows": [[...], ...]}`` (no repeated keys: what
    ``squeue`` asks for, a third of the bytes for 10,000 jobs)."""
    caller_of(request)
    ctl = request.app[CONTROLLER]
    ids = _list_param(request, "ids")
    if ids:
        pool = [record for text in ids for record in ctl.mirror.find(text)]
    else:
        pool = list(ctl.mirror.jobs.values())
    users = set(_list_param(request, "user"))
    states = {s.upper() for s in _list_param(request, "state")}
    partitions = set(_list_param(request, "partition"))
    names = set(_list_param(request, "name"))
    everything = request.query.get("all", "") in ("1", "true") or "ALL" in states
    states.discard("ALL")

    def wanted(record: JobRecord) -> bool:
        return (
            (everything or record.active or bool(states))
            and (not users or record.user in users)
            and (not states or record.state.value in states)
            and (not partitions or record.request.partition in partitions)
            and (not names or record.request.name in names)
        )

    cluster = ctl.site.cluster
    chosen = sorted((r for r in pool if wanted(r)), key=lambda r: r.job_id)
    fields = list(dict.fromkeys(_list_param(request, "fields")))
    if fields and request.query.get("rows", "") in ("1", "true"):
        return web.json_response({"fields": fields, "rows": job_rows(chosen, cluster, fields)})
    if fields:
        jobs = [job_fields(r, cluster, fields) for r in chosen]
    else:
        jobs = [job_json(r, cluster) for r in chosen]
    return web.json_response({"jobs": jobs})


@routes.get("/v1/jobs/{id}")
async def show_job(request: web.Request) -> web.Response:
    caller_of(request)
    ctl = request.app[CONTROLLER]
    text = request.match_info["id"]
    records = ctl.mirror.find(text)
    if not records and text.isdigit():
        records = await ctl.db.read(lambda c: repo.accounting(c, ids=[int(text)]))
    if not records:
        raise NotFound(f"Invalid job id specified: {text}")
    ids = [r.job_id for r in records]
    steps = await ctl.db.read(lambda c: repo.steps_of(c, ids))
    jobs = [job_json(r, ctl.site.cluster, steps.get(r.job_id)) for r in records]
    return web.json_response({"jobs": jobs})


@routes.post("/v1/jobs/cancel")
async def cancel(request: web.Request) -> web.Response:
    ctl = request.app[CONTROLLER]
    return web.json_response(await ops.cancel(ctl, caller_of(request), await _body(request)))


@routes.post("/v1/jobs/{id}/hold")
async def hold(request: web.Request) -> web.Response:
    ids = await ops.hold(request.app[CONTROLLER], caller_of(request), request.match_info["id"])
    return web.json_response({"job_ids": ids})


@routes.post("/v1/jobs/{id}/release")
async def release(request: web.Request) -> web.Response:
    ctl = request.app[CONTROLLER]
    ids = await ops.release(ctl, caller_of(request), request.match_info["id"])
    return web.json_response({"job_ids": ids})


@routes.post("/v1/jobs/{id}/requeue")
async def requeue(request: web.Request) -> web.Response:
    ctl = request.app[CONTROLLER]
    ids = await ops.requeue(ctl, caller_of(request), request.match_info["id"])
    return web.json_response({"job_ids": ids})


@routes.patch("/v1/jobs/{id}")
async def update(request: web.Request) -> web.Response:
    ctl = request.app[CONTROLLER]
    body = await _body(request)
    ids = await ops.update(ctl, caller_of(request), request.match_info["id"], body)
    return web.json_response({"job_ids": ids})


@routes.get("/v1/jobs/{id}/events")
async def events(request: web.Request) -> web.Response:
    caller_of(request)
    text = request.match_info["id"]
    if not text.isdigit():
        raise BadRequest(f"events are per raw job id (a number), got {text!r}")
    ctl = request.app[CONTROLLER]
    found = await ctl.db.read(lambda c: repo.job_events(c, int(text)))
    if not found:
        raise NotFound(f"Invalid job id specified: {text}")
    return web.json_response({"job_id": int(text), "events": found})


@routes.get("/v1/accounting")
async def accounting(request: web.Request) -> web.Response:
    """Every job the store holds, live or finished, for ``sacct``: ``ids`` (a job or an array's
    every task; ``123_4`` one task), ``user``, ``name``, ``state``, and the window ``start`` /
    ``end`` (epoch seconds) in which the job was eligible or running."""
    caller_of(request)
    ctl = request.app[CONTROLLER]
    plain: set[int] = set()
    pairs: set[tuple[int, int]] = set()
    for text in _list_param(request, "ids"):
        head, _, task = text.partition("_")
        if not head.isdigit() or (task and not task.isdigit()):
            raise BadRequest(f"ids: {text!r} is not a job id such as 123 or 123_4")
        if task:
            pairs.add((int(head), int(task)))
        else:
            plain.add(int(head))
    ids = sorted(plain | {head for head, _ in pairs})

    def number(key: str) -> int | None:
        value = request.query.get(key)
        if value is None or value == "":
            return None
        if not value.lstrip("-").isdigit():
            raise BadRequest(f"{key}: expected epoch seconds, got {value!r}")
        return int(value)

    records = await ctl.db.read(
        lambda c: repo.accounting(
            c, users=_list_param(request, "user"), ids=ids, names=_list_param(request, "name"),
            states=[s.upper() for s in _list_param(request, "state")],
            start=number("start"), end=number("end"),
        )
    )  # fmt: skip
    if pairs:
        records = [
            r for r in records
            if r.job_id in plain or r.request.array_job_id in plain
            or (r.request.array_job_id, r.request.array_task_id) in pairs
        ]  # fmt: skip
    found_ids = [r.job_id for r in records]
    steps = await ctl.db.read(lambda c: repo.steps_of(c, found_ids)) if found_ids else {}
    cluster = ctl.site.cluster
    live = ctl.mirror.jobs
    jobs = [job_json(live.get(r.job_id, r), cluster, steps.get(r.job_id)) for r in records]
    return web.json_response({"jobs": jobs})


@routes.post("/v1/jobs/{id}/steps")
async def register_step(request: web.Request) -> web.Response:
    """``srun`` inside a job registers a step: ``{name, pid, ntasks}`` -> ``{step_id}``."""
    ctl = request.app[CONTROLLER]
    reply = await steps.register(ctl, caller_of(request), request.match_info["id"],
                                 await _body(request))  # fmt: skip
    return web.json_response(reply, status=201)


@routes.patch("/v1/jobs/{id}/steps/{step}")
async def finish_step(request: web.Request) -> web.Response:
    """``srun`` reports its step's end: ``{state, exit_code, exit_signal}``."""
    ctl = request.app[CONTROLLER]
    reply = await steps.finish(ctl, caller_of(request), request.match_info["id"],
                               request.match_info["step"], await _body(request))  # fmt: skip
    return web.json_response(reply)
