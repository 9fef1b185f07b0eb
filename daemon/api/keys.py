"""The application's typed keys (aiohttp `AppKey`)."""

from __future__ import annotations

from aiohttp import web

from daemon.controller import Controller

CONTROLLER = web.AppKey("controller", Controller)
