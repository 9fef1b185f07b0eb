"""``GET /v1/openapi.json``: the API described from the routes themselves, so a route cannot
be served without being documented (a test compares the two). Field-level detail of the job
resource and the submit body is in docs/API.md, summarised here as schemas."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

routes = web.RouteTableDef()

_JOB = {
    "type": "object",
    "description": "One job (one array task); see docs/API.md 'The job resource'.",
    "properties": {
        key: {"type": kind}
        for key, kind in [
            ("job_id", "integer"), ("array_job_id", "integer"), ("array_task_id", "integer"),
            ("name", "string"), ("user", "string"), ("state", "string"), ("reason", "string"),
            ("partition", "string"), ("priority", "integer"), ("submit_time", "integer"),
            ("start_time", "integer"), ("end_time", "integer"), ("time_limit_s", "integer"),
            ("node_list", "string"), ("exit_code", "integer"), ("exit_signal", "integer"),
        ]
    },
}  # fmt: skip
_REFUSED = {
    "description": "refused",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "code": {"type": "string"}},
    "required": ["error", "code"],
}


def document(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method == "HEAD":
            continue
        handler = route.handler
        doc = (handler.__doc__ or handler.__name__.replace("_", " ")).strip()
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", path)
        ]
        paths.setdefault(path, {})[route.method.lower()] = {
            "summary": doc.splitlines()[0],
            "description": doc,
            "parameters": parameters,
            "responses": {"200": {"description": "success"}, "4XX": _REFUSED},
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Berth", "version": "1", "description": "See docs/API.md."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Job": _JOB, "Error": _ERROR}},
    }


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """This document."""
    return web.json_response(document(request.app))
