"""The Docker engine the executor tests run against: real, local, with the busybox test image.

CI (``.ci/setup-docker.sh``) installs ``docker.io``, starts ``dockerd`` and builds
`TEST_IMAGE` (``FROM scratch`` plus a static busybox). Tests marked ``docker`` are skipped only
where no engine answers (no socket, or a dockerd that could not start on this kernel), and the
skip says so; an engine that answers without the image is a failure that names the script.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from daemon.executors.docker import DockerExecutor
from daemon.executors.dockerevents import connect_engine, engine_answers, engine_socket
from daemon.settings import DockerSettings

TEST_IMAGE = "berth-test-busybox"
SETTINGS = DockerSettings(allowed_images=(TEST_IMAGE,), default_image=TEST_IMAGE)


def skip_reason() -> str | None:
    """Why the Docker tests cannot run here; None when they can (and must)."""
    socket = engine_socket()
    if socket is not None and not Path(socket).exists():
        return (f"no Docker engine socket at {socket}: run .ci/setup-docker.sh (as root) to "
                "install and start dockerd and build the test image")  # fmt: skip
    problem = engine_answers()
    if problem is not None:  # a socket left by a dockerd that could not start on this kernel
        return (f"the Docker engine at {socket} does not answer ({problem}); "
                ".ci/setup-docker.sh printed why it could not start it")  # fmt: skip
    return None


SKIP = skip_reason()
needs_docker = [pytest.mark.docker, pytest.mark.skipif(SKIP is not None, reason=SKIP or "")]


def node_for(root: Path) -> str:
    """A node name per test directory: containers of concurrent or failed tests never meet."""
    return "t" + hashlib.sha1(str(root).encode()).hexdigest()[:12]


def docker_executor(root: Path, **changes: object) -> DockerExecutor:
    options: dict[str, object] = {"node_name": node_for(root), "settings": SETTINGS,
                                  "poll_interval_s": 0.2}  # fmt: skip
    options.update(changes)
    return DockerExecutor(root / "containers", **options)  # type: ignore[arg-type]


def check_engine() -> None:
    """Fail loudly when the socket exists but the engine or the test image is missing."""
    problem = engine_answers()
    if problem is not None:
        pytest.fail(f"the Docker engine does not answer ({problem}); run .ci/setup-docker.sh")
    api = connect_engine()
    try:
        if not api.images(name=TEST_IMAGE):
            pytest.fail(f"image {TEST_IMAGE} is missing; run .ci/setup-docker.sh to build it")
    finally:
        api.close()


def remove_containers(root: Path) -> list[str]:
    """Remove every container of ``root``'s node; returns their names (left behind)."""
    return remove_containers_of(node_for(root))


def remove_containers_of(node: str) -> list[str]:
    api = connect_engine()
    try:
        found = api.containers(all=True, filters={"label": f"berth.node={node}"})
        for item in found:
            api.remove_container(item["Id"], force=True)
        return [item["Names"][0].lstrip("/") for item in found]
    finally:
        api.close()
