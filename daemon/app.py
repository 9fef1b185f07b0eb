"""``create_app``: the aiohttp application, its middlewares, routes and background loops."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from daemon.api import jobs, nodes, openapi
from daemon.api.errors import identify, refusals
from daemon.api.keys import CONTROLLER
from daemon.auth import load_or_create_secret
from daemon.controller import Controller
from daemon.loops import Loops
from daemon.metrics import routes as metric_routes


def create_app(controller: Controller, *, background: bool = True) -> web.Application:
    """The API over ``controller``. ``background`` starts the pass and housekeeping loops with
    the application (tests of single handlers may leave them off and call passes by hand)."""
    settings = controller.settings
    key = load_or_create_secret(settings.secret_path)
    app = web.Application(
        middlewares=[
            refusals,
            identify(lambda: settings.admins, lambda: key, controller.clock.now),
        ],
        client_max_size=64 * 1024 * 1024,  # scripts and environments can be large
    )
    app[CONTROLLER] = controller
    for table in (jobs.routes, nodes.routes, openapi.routes, metric_routes):
        app.add_routes(table)
    if background:
        app.cleanup_ctx.append(_background)
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    controller = app[CONTROLLER]
    loops = Loops(controller)
    await loops.start()
    yield
    await loops.stop()
