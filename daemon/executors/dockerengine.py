"""The Docker executor's blocking half: every call to the engine, and the run directories.

`DockerExecutor` (``daemon.executors.docker``) runs each method here in a thread. Methods are
idempotent, so a call repeated after a crash or a transient error does no harm: creating a
container whose name is taken means "launched before", removing one that is gone is done,
an end is written before its container is removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from docker.errors import APIError, DockerException, NotFound  # type: ignore[import-untyped]

from daemon.clock import Clock
from daemon.executors.base import EndCause, LaunchSpec, Reconciled, RunEnd, RunKey
from daemon.executors.dockerevents import Connect, nvidia_runtime, transient
from daemon.executors.dockerrecords import (
    PROLOGUE_FAILED,
    Timers,
    container_name,
    end_from_state,
    key_of,
    read_stop,
)
from daemon.executors.dockerspec import LaunchRefused, bind_mounts, create_arguments
from daemon.executors.images import image_refusal
from daemon.executors.runfiles import RunDir, atomic_write, end_to_json, read_end
from daemon.settings import DockerSettings

log = logging.getLogger(__name__)

LAUNCH_TRIES = 3
ALIVE = frozenset({"running", "paused", "restarting"})


@dataclass(frozen=True, slots=True)
class Found:
    """A container found alive: what an executor needs to watch it as its launcher did."""

    name: str
    timers: Timers
    stop: tuple[EndCause, int] | None  # from stop.json: the end asked for, SIGTERM's time


class Engine:
    """One node's containers on one engine, and their run directories under ``run_root``."""

    def __init__(
        self,
        run_root: Path,
        *,
        node: str,
        settings: DockerSettings,
        clock: Clock,
        connect: Connect,
        engine_socket: str,
        gpu_runtime: bool | None,
    ) -> None:
        self.run_root = run_root
        self.node = node
        self.settings = settings
        self.clock = clock
        self.gpu_runtime = gpu_runtime
        self._connect = connect
        self._engine_socket = engine_socket
        self._api: Any = None
        self._lock = threading.Lock()

    def api(self) -> Any:
        with self._lock:
            if self._api is None:
                self._api = self._connect()
            return self._api

    def close(self) -> None:
        with self._lock:
            api, self._api = self._api, None
        if api is not None:
            api.close()

    def run_dir(self, key: RunKey) -> RunDir:
        return RunDir.of(self.run_root, key)

    def name(self, key: RunKey) -> str:
        return container_name(self.node, key)

    def probe_gpus(self) -> None:
        if self.gpu_runtime is None:
            self.gpu_runtime = nvidia_runtime(self.api())

    def listing(self) -> dict[str, dict[str, Any]]:
        """Name -> the engine's summary of every container of this node, in one request."""
        found = self.api().containers(all=True, filters={"label": f"berth.node={self.node}"})
        return {item["Names"][0].lstrip("/"): item for item in found if item["Names"]}

    # -- launching --------------------------------------------------------------------------

    def launch(self, spec: LaunchSpec) -> None:
        """Start the run's container, or record why it cannot start (LAUNCH_FAILED)."""
        record = self.run_dir(spec.key)
        if record.end.exists():
            return  # ended before: never again
        problem = ""
        for attempt in range(1, LAUNCH_TRIES + 1):
            try:
                self._create_and_start(spec, record)
                return
            except LaunchRefused as refusal:
                problem = str(refusal)
            except APIError as error:
                problem = _explain(error, self.node)
            except (requests.RequestException, DockerException) as error:
                if not transient(error):
                    raise
                problem = f"the Docker engine on node {self.node} did not answer: {error}"
                if attempt < LAUNCH_TRIES:
                    time.sleep(0.5 * attempt)
                    continue
            except OSError as error:
                problem = f"cannot prepare the job's run directory on node {self.node}: {error}"
            break
        with contextlib.suppress(Exception):  # a half-made container must not start later
            self.api().remove_container(self.name(spec.key), force=True)
        self.record(record, RunEnd(key=spec.key, cause=EndCause.LAUNCH_FAILED,
                                   end_time=self.clock.now(), message=problem))  # fmt: skip

    def _create_and_start(self, spec: LaunchSpec, record: RunDir) -> None:
        image = spec.image or self.settings.default_image
        if not image:
            raise LaunchRefused("the job names no image and the site sets no [docker] "
                                "default_image")  # fmt: skip
        refusal = image_refusal(image, self.settings.allowed_images)
        if refusal is not None:
            raise LaunchRefused(refusal)
        api = self.api()
        if spec.gpu_indices:
            self.probe_gpus()  # again, if the engine was away when the executor started
        script = self._write_script(spec, record)
        mounts = bind_mounts(spec, self.settings, script=script, engine_socket=self._engine_socket)
        try:
            image_env = api.inspect_image(image)["Config"].get("Env") or []
        except NotFound:
            raise LaunchRefused(
                f"image {image} is not on node {self.node}; Berth never pulls images: an "
                f"administrator runs `docker pull {image}` there"
            ) from None
        create, host = create_arguments(
            spec, self.settings, node=self.node, image=image, image_env=image_env,
            mounts=mounts, gpu_runtime=bool(self.gpu_runtime),
        )  # fmt: skip
        try:
            api.create_container(**create, host_config=api.create_host_config(**host))
        except APIError as error:
            if error.status_code != 409:  # 409: the name is taken, launched before
                raise
        name = create["name"]
        if api.inspect_container(name)["State"]["Status"] == "created":
            api.start(name)

    def _write_script(self, spec: LaunchSpec, record: RunDir) -> Path:
        record.path.mkdir(parents=True, exist_ok=True)
        record.path.chmod(0o711)  # the job's user reaches its script, lists nothing
        atomic_write(record.script, spec.script.encode(), mode=0o500)
        if os.geteuid() == 0:
            os.chown(record.script, spec.uid, spec.gid)
        return record.script

    def record(self, record: RunDir, end: RunEnd) -> None:
        record.path.mkdir(parents=True, exist_ok=True)
        atomic_write(record.end, end_to_json(end))

    # -- ending -----------------------------------------------------------------------------

    def finish(self, key: RunKey, stopping: EndCause | None) -> RunEnd | None:
        """The run's end, recorded in ``end.json``; None while its container still runs."""
        record = self.run_dir(key)
        name = self.name(key)
        try:
            state = self.api().inspect_container(name)["State"]
        except NotFound:
            end = read_end(record, key)
            if end is None:
                end = RunEnd(key=key, cause=EndCause.LOST, end_time=self.clock.now(),
                             message=f"the job's container {name} vanished from node "
                             f"{self.node} without a recorded end")  # fmt: skip
                self.record(record, end)
            return end
        if state.get("Status") in ALIVE:
            return None
        stop = read_stop(record)
        stopping = stopping or (None if stop is None else stop[0])
        tail = ""
        if state.get("ExitCode") == PROLOGUE_FAILED:
            logs = self.api().logs(name, stdout=True, stderr=True, tail=20)
            tail = logs.decode(errors="replace").strip()
        end = end_from_state(key, state, stopping=stopping, log_tail=tail, now=self.clock.now())
        self.record(record, end)
        return end

    def remove(self, name: str) -> None:
        try:
            self.api().remove_container(name, force=True)
        except NotFound:
            pass
        except Exception as error:  # noqa: BLE001 - swept at the next reconcile instead
            log.warning("cannot remove container %s: %s", name, error)

    # -- signals ----------------------------------------------------------------------------

    def send(self, name: str, *signums: int) -> None:
        """Signals to the container's init, which hands them to the batch script's group."""
        for signum in signums:
            try:
                self.api().kill(name, signum)
            except APIError as error:  # 404 gone, 409 not running: it ended meanwhile
                log.debug("signal %s to %s: %s", signum, name, error)

    def signal(self, key: RunKey, signum: int, batch_only: bool) -> bool:
        name = self.name(key)
        try:
            state = self.api().inspect_container(name)["State"]
        except NotFound:
            return False
        if not state.get("Running"):
            return False
        shell = _batch_shell(int(state.get("Pid") or 0)) if batch_only else None
        if shell is None:
            self.send(name, signum)
            return True
        try:
            os.kill(shell, signum)
        except ProcessLookupError:
            return False
        return True

    # -- finding runs again -----------------------------------------------------------------

    def found_alive(self, key: RunKey) -> Found | None:
        try:
            info = self.api().inspect_container(self.name(key))
        except NotFound:
            return None
        if info["State"].get("Status") not in ALIVE:
            return None
        return self._found(key, info["Config"].get("Labels") or {})

    def _found(self, key: RunKey, labels: dict[str, str]) -> Found:
        return Found(self.name(key), Timers.from_labels(labels), read_stop(self.run_dir(key)))

    def reconcile(self, expected: Sequence[RunKey]) -> tuple[Reconciled, dict[RunKey, Found]]:
        by_name = self.listing()
        running: list[RunKey] = []
        ended: list[RunEnd] = []
        unknown: list[RunKey] = []
        alive: dict[RunKey, Found] = {}
        for key in expected:
            item = by_name.get(self.name(key))
            state = None if item is None else item["State"]
            if item is not None and state in ALIVE:
                alive[key] = self._found(key, item.get("Labels") or {})
                running.append(key)
                continue
            end = None
            if state == "created":  # made, never started: as if never launched
                self.remove(self.name(key))
            elif state is not None:
                end = self.finish(key, None)
                self.remove(self.name(key))
            end = end or read_end(self.run_dir(key), key)
            if end is not None:
                ended.append(end)
            else:
                unknown.append(key)
        self._sweep(by_name, {self.name(key) for key in expected})
        found = Reconciled(running=tuple(running), ended=tuple(ended), unknown=tuple(unknown))
        return found, alive

    def _sweep(self, by_name: dict[str, dict[str, Any]], expected: set[str]) -> None:
        """Remove finished containers the store no longer expects whose end is recorded (a
        removal that failed before a restart)."""
        for name, item in by_name.items():
            if name in expected or item["State"] in ALIVE:
                continue
            key = key_of(item.get("Labels") or {})
            if key is not None and self.run_dir(key).end.exists():
                self.remove(name)


def _batch_shell(init_pid: int) -> int | None:
    """The host pid of the batch script: the one child of the container's init."""
    if init_pid <= 0:
        return None
    try:
        children = Path(f"/proc/{init_pid}/task/{init_pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _explain(error: APIError, node: str) -> str:
    """The engine's refusal, with what to do where its words alone do not say it."""
    text = str(error.explanation or error)
    if "could not select device driver" in text:
        return (
            f"the job was given GPUs on node {node}, but Docker there cannot hand GPUs to "
            f"containers (install nvidia-container-toolkit and restart dockerd): {text}"
        )
    return f"Docker refused to start the job's container on node {node}: {text}"
