"""Middleware: who is calling (`daemon.auth`), and every refusal as JSON a person can act on."""

from __future__ import annotations

import json
import logging
import socket
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from daemon.auth import AuthError, Caller, caller_for, peer_credentials, verify_token
from daemon.errors import Refused

log = logging.getLogger("berth.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CALLER = "berth.caller"
_BY_CONNECTION: weakref.WeakKeyDictionary[object, Caller] = weakref.WeakKeyDictionary()


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": message, "code": code}, status=status)


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        return error_response(refused.status, refused.code, refused.message)
    except AuthError as err:
        return error_response(401, "unauthenticated", str(err))
    except json.JSONDecodeError as err:
        return error_response(400, "bad_json", f"the body is not valid JSON: {err}")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("error serving %s %s", request.method, request.path)
        return error_response(
            500, "internal", "the daemon failed on this request; its log has the details"
        )


def identify(
    admins: Callable[[], tuple[str, ...]], key: Callable[[], bytes], now: Callable[[], int]
) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[CALLER] = _caller(request, admins(), key, now)
        return await handler(request)

    return middleware


def _caller(request: web.Request, admins: tuple[str, ...], key: Callable[[], bytes],
            now: Callable[[], int]) -> Caller | None:  # fmt: skip
    transport = request.transport
    if transport is not None:
        known = _BY_CONNECTION.get(transport)
        if known is not None:
            return known
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family == socket.AF_UNIX:
        _, uid, gid = peer_credentials(sock)
        caller = caller_for(uid, gid, admins)
        _BY_CONNECTION[transport] = caller  # the peer of a connection never changes
        return caller
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user, uid = verify_token(key(), header.removeprefix("Bearer ").strip(), now())
        return caller_for(uid, uid, admins, name=user)
    return None  # anonymous: only public paths (/metrics, /v1/openapi.json) answer


def caller_of(request: web.Request) -> Caller:
    caller: Caller | None = request.get(CALLER)
    if caller is None:
        raise AuthError(
            "no identity: connect over the daemon's unix socket, or send "
            "'Authorization: Bearer <token>' (an administrator issues one with `berth token`)"
        )
    return caller
