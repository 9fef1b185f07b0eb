"""Reaching the Docker engine: the client, which errors mean "no answer", and its events.

Every call is blocking (the docker SDK is synchronous): callers run them in threads. The event
stream gets a thread and a connection of its own, as it blocks for as long as it is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Callable
from typing import Any

import docker  # type: ignore[import-untyped]
import requests
from docker.errors import APIError, DockerException  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

DEFAULT_SOCKET = "/var/run/docker.sock"
ENGINE_TIMEOUT_S = 30
PING_TIMEOUT_S = 3  # the daemon asks once at start; a hung engine must not hold it for long
Connect = Callable[[], Any]  # -> a docker.APIClient (the SDK is untyped)


def connect_engine(timeout_s: float = ENGINE_TIMEOUT_S) -> Any:
    """The low-level client of the engine ``DOCKER_HOST`` names (the local socket by default),
    ignoring the CLI's contexts: a daemon must not follow a user's ``docker context use``."""
    return docker.from_env(use_context=False, timeout=timeout_s).api


def transient(error: BaseException) -> bool:
    """The engine did not answer (the connection, a timeout), as opposed to answering no
    (`APIError`) or a bad argument (other `DockerException` subclasses)."""
    if isinstance(error, APIError):
        return False
    return isinstance(error, requests.RequestException) or type(error) is DockerException


def engine_socket() -> str | None:
    """The engine's unix socket (``DOCKER_HOST`` or the default); None for a TCP/SSH engine."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        return DEFAULT_SOCKET
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def engine_answers(connect: Connect | None = None) -> str | None:
    """None when the engine answers a ping; otherwise why not, for the daemon's log."""
    socket = engine_socket()
    if connect is None and socket is not None and not os.path.exists(socket):
        return f"no Docker engine socket at {socket}"  # (and no socket for the SDK to leak)
    try:
        api = connect() if connect is not None else connect_engine(PING_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - any failure means "no engine here"
        return str(error)
    try:
        api.ping()
    except Exception as error:  # noqa: BLE001
        return str(error)
    finally:
        api.close()
    return None


def nvidia_runtime(api: Any) -> bool:
    """Whether the engine can hand GPUs to containers: an ``nvidia`` runtime registered, or
    the hook that Docker's built-in ``--gpus`` support looks for when dockerd starts."""
    runtimes = api.info().get("Runtimes") or {}
    return "nvidia" in runtimes or shutil.which("nvidia-container-runtime-hook") is not None


class EventFollower:
    """A thread that follows the engine's ``die`` events for one node's containers and hands
    each container's name to ``on_die`` on the event loop; it reconnects after an error (the
    watcher's polls cover any gap, so a lost event only costs latency)."""

    def __init__(self, connect: Connect, node: str, on_die: Callable[[str], None],
                 loop: asyncio.AbstractEventLoop) -> None:  # fmt: skip
        self._connect = connect
        self._filters = {"type": "container", "event": ["die"], "label": [f"berth.node={node}"]}
        self._on_die = on_die
        self._loop = loop
        self._stopping = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._follow, name=f"docker-events-{node}",
                                        daemon=True)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Blocking: close the stream (which ends the thread's read) and join the thread."""
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
        self._thread.join(timeout=5)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            api = None
            try:
                api = self._connect()
                self._stream = api.events(decode=True, filters=self._filters)
                if self._stopping.is_set():
                    break
                for event in self._stream:
                    name = event.get("Actor", {}).get("Attributes", {}).get("name", "")
                    self._loop.call_soon_threadsafe(self._on_die, name)
            except Exception as error:  # noqa: BLE001 - reconnect after a pause
                if not self._stopping.is_set():
                    log.debug("docker event stream: %s", error)
                    self._stopping.wait(1.0)
            finally:
                stream, self._stream = self._stream, None
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()
                if api is not None:
                    api.close()
