"""``berth daemon``: open the store, recover, serve the API on the unix socket (and TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from pathlib import Path

from aiohttp import web

from daemon.app import create_app
from daemon.clock import SystemClock
from daemon.controller import Controller
from daemon.executors.base import Executor
from daemon.site import Site, load_site
from daemon.store.database import Database

log = logging.getLogger("berth.daemon")


class DaemonError(Exception):
    """The daemon cannot start; the message says why and what to do."""


def make_executors(site: Site) -> dict[str, Executor]:
    """This host's executor for its own node; a `RemoteExecutor` for every other node."""
    from daemon.remote import RemoteExecutor

    local = site.local_node
    executors: dict[str, Executor] = {
        node.name: RemoteExecutor(node.name) for node in site.cluster.nodes if node is not local
    }
    if local is not None:
        executors[local.name] = local_executor(site, local.name)
    return executors


def local_executor(site: Site, node_name: str) -> Executor:
    """``[daemon] executor``: "process"; "docker" (the engine must answer); "auto": Docker when
    the engine answers a ping, else processes. With Docker, jobs that name an image (or all of
    them, given ``[docker] default_image``) run in containers, the others as processes; without
    it, a job that names an image fails its launch rather than run outside its image.

    :raises DaemonError: "docker" chosen and the engine does not answer.
    """
    from daemon.executors.process import ProcessExecutor
    from daemon.executors.routing import RoutingExecutor

    settings = site.settings
    processes = ProcessExecutor(settings.runs_dir, node_name=node_name)
    if settings.executor == "process":
        return RoutingExecutor(None, processes, node_name=node_name)
    from daemon.executors.docker import DockerExecutor
    from daemon.executors.dockerevents import engine_answers

    problem = engine_answers()
    if problem is not None:
        if settings.executor == "docker":
            raise DaemonError(
                f"[daemon] executor = \"docker\", but the Docker engine does not answer "
                f"({problem}); start dockerd, or set executor = \"process\" or \"auto\""
            )
        log.info("Docker does not answer (%s): jobs run as processes", problem)
        return RoutingExecutor(None, processes, node_name=node_name)
    containers = DockerExecutor(settings.runs_dir / "containers", node_name=node_name,
                                settings=site.docker)  # fmt: skip
    log.info("jobs with an image run in Docker containers on node %s", node_name)
    return RoutingExecutor(containers, processes, node_name=node_name)


def _claim_socket(path: Path) -> None:
    """Remove a stale socket file; refuse when a live daemon answers on it."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
    else:
        raise DaemonError(f"another berth daemon is already serving {path}; stop it first")
    finally:
        probe.close()


async def serve(home: Path, *, ready: asyncio.Event | None = None) -> None:
    home.mkdir(parents=True, exist_ok=True)
    site = load_site(home)
    settings = site.settings
    settings.runs_dir.mkdir(exist_ok=True)
    database = Database(settings.database_url)
    database.migrate()
    controller = Controller(site, database, make_executors(site), SystemClock())
    if site.local_node is not None:
        controller.local_nodes = {site.local_node.name}
    controller.load()
    app = create_app(controller)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        _claim_socket(settings.socket)
        unix = web.UnixSite(runner, str(settings.socket))
        await unix.start()
        os.chmod(settings.socket, 0o666)  # anyone may connect; SO_PEERCRED says who they are
        if settings.tcp:
            host, _, port = settings.tcp.rpartition(":")
            await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()
        log.info("berth daemon serving %s (%d jobs in the queue)", settings.socket,
                 len(controller.mirror.jobs))  # fmt: skip
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping; running jobs keep running and are adopted at the next start")
    finally:
        await runner.cleanup()
        with contextlib.suppress(FileNotFoundError):
            settings.socket.unlink()
        database.close()


def run_daemon(home: Path) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # APScheduler logs every run of every loop at INFO (one a second): keep its warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from daemon.store.migrations import SchemaTooNew
    from scheduler import BerthError

    try:
        asyncio.run(serve(home))
    except (DaemonError, BerthError, SchemaTooNew) as err:
        log.error("%s", err)
        return 1
    return 0
