"""What a job's container is made of: a `LaunchSpec` -> the engine's create arguments.

Pure except `bind_mounts`, which looks at the paths it mounts. The choices, and why:

* **The script** is written to the run directory on the host and mounted read-only at
  `SCRIPT_PATH`; it runs by its own ``#!`` line, inside the image.
* **Output**: the directories of the job's output files are bind-mounted at the same paths
  and a small ``/bin/sh`` prologue (`PROLOGUE`) opens the files as the job's user (truncated,
  or appended for ``--open-mode=append``) before it ``exec``s the script. The job writes
  straight into its files: ``tail -f`` works while it runs, bytes arrive unchanged (Docker's
  json-file log replaces invalid UTF-8), nothing is lost when the daemon dies, and the files are
  opened with the user's rights, never root's. The engine's own log of the container then holds
  only the prologue's complaints (a file it could not open), which become the launch failure's
  message. The cost: the image needs ``/bin/sh``; a batch script needs a shell in practice.
  The prologue also checks that the user may enter the working directory (runc enters it as
  root before it switches users, so a job could otherwise start in a directory it cannot use).
* **Signals**: Docker's init (tini) is PID 1 with ``TINI_KILL_PROCESS_GROUP=1``, so a signal
  sent to the container reaches every process of the batch script's group (a shell as PID 1
  would ignore SIGTERM), and when the script exits, PID 1 exits and the kernel kills whatever
  it left behind, as Slurm ends a batch step.
* **Isolation**: the submitter's uid:gid and supplementary groups, ``no-new-privileges``, every
  capability dropped, Docker's default bridge network unless the site allows the host's, no
  device but the job's GPUs, the engine's socket never mounted (`bind_mounts` refuses a path
  that would expose it), the image's entrypoint replaced.
* **Limits**: ``nano_cpus`` for the CPU count (the scheduler allocates counts, not cores),
  ``mem_limit`` with ``memswap_limit`` equal (no swap), ``pids_limit``, ``/dev/shm`` half the
  memory limit (Docker's 64 MiB default breaks PyTorch's data loaders).
* **GPUs** by UUID in one ``DeviceRequest`` (index order can differ between NVML, CUDA and
  boots); inside, ``CUDA_VISIBLE_DEVICES`` counts from 0 and ``NVIDIA_VISIBLE_DEVICES`` holds
  the UUIDs; ``SLURM_JOB_GPUS`` keeps the node's indices. A job without GPUs gets
  ``NVIDIA_VISIBLE_DEVICES=void``, so a CUDA image (which sets ``all``) sees none even where
  the NVIDIA runtime is Docker's default.
* **Environment**: the spec's, except that a variable the image sets keeps the image's value
  (the submitter's ``PATH`` names host directories; pyxis decides the same way), while every
  variable Berth manages (``SLURM_*``, GPUs) is always Berth's.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docker.types import DeviceRequest, Mount  # type: ignore[import-untyped]

from daemon.executors.base import LaunchSpec
from daemon.executors.dockerrecords import PROLOGUE_FAILED, container_name, run_labels
from daemon.jobenv import MANAGED
from daemon.settings import DockerSettings

SCRIPT_PATH = "/berth/script"
# $1 output, $2 error, $3 "a" to append, then the script and its arguments. Its complaints go
# to the engine's log of the container, and become the LAUNCH_FAILED message.
PROLOGUE = f"""out=$1 err=$2 mode=$3; shift 3
cd . 2>/dev/null || {{ echo "cannot enter working directory $PWD: Permission denied" >&2
                      exit {PROLOGUE_FAILED}; }}
( : >>"$out" ) || exit {PROLOGUE_FAILED}
[ "$err" = "$out" ] || ( : >>"$err" ) || exit {PROLOGUE_FAILED}
if [ "$mode" = a ]; then exec >>"$out"; else exec >"$out"; fi
if [ "$err" = "$out" ]; then exec 2>&1
elif [ "$mode" = a ]; then exec 2>>"$err"; else exec 2>"$err"; fi
exec "$@"
"""
_BERTH_VARIABLES = MANAGED | {"NVIDIA_VISIBLE_DEVICES", "TINI_KILL_PROCESS_GROUP"}


class LaunchRefused(Exception):
    """The job cannot start on this node; the message is for its owner (LAUNCH_FAILED)."""


def container_environment(spec: LaunchSpec, image_env: Sequence[str]) -> dict[str, str]:
    """The job's variables for ``create_container``; Docker lays them over the image's."""
    env = dict(spec.environment)
    for item in image_env:
        name = item.partition("=")[0]
        if name not in _BERTH_VARIABLES:
            env.pop(name, None)  # the image's value stands
    env.update(gpu_environment(spec))
    env["TINI_KILL_PROCESS_GROUP"] = "1"
    return env


def gpu_environment(spec: LaunchSpec) -> dict[str, str]:
    if not spec.gpu_indices:
        return {"CUDA_VISIBLE_DEVICES": "", "NVIDIA_VISIBLE_DEVICES": "void"}
    return {
        "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(len(spec.gpu_indices))),
        "NVIDIA_VISIBLE_DEVICES": ",".join(gpu_ids(spec)),
    }


def gpu_ids(spec: LaunchSpec) -> list[str]:
    """The UUIDs; the indices when the site declared its GPUs without them."""
    if len(spec.gpu_uuids) == len(spec.gpu_indices) and all(spec.gpu_uuids):
        return list(spec.gpu_uuids)
    return [str(index) for index in spec.gpu_indices]


def device_requests(spec: LaunchSpec, *, node: str, gpu_runtime: bool) -> list[DeviceRequest]:
    """The job's GPUs for the engine. :raises LaunchRefused: GPUs without the NVIDIA runtime."""
    if not spec.gpu_indices:
        return []
    if not gpu_runtime:
        raise LaunchRefused(
            f"the job was given GPUs {','.join(map(str, spec.gpu_indices))} on node {node}, "
            "but Docker there has no NVIDIA runtime, so no container can reach a GPU; an "
            "administrator installs nvidia-container-toolkit (then `nvidia-ctk runtime "
            "configure --runtime=docker` and restarts dockerd) or drains the node"
        )
    return [DeviceRequest(device_ids=gpu_ids(spec), capabilities=[["gpu"]])]


def supplementary_groups(spec: LaunchSpec) -> list[str]:
    """The submitter's other groups, as a login on this node would have them."""
    try:
        name = pwd.getpwuid(spec.uid).pw_name
        groups = os.getgrouplist(name, spec.gid)
    except (KeyError, OSError):
        return []
    return [str(gid) for gid in groups if gid != spec.gid]


def bind_mounts(
    spec: LaunchSpec, settings: DockerSettings, *, script: Path, engine_socket: str
) -> list[Mount]:
    """The job's directories at their own paths, the script and the site's read-only mounts.

    :raises LaunchRefused: a directory that does not exist, or one that would expose the
        engine's socket (``/``, ``/run``, or a symlink to them).
    """
    wanted: dict[str, bool] = {}  # container path -> read-only
    sources: dict[str, str] = {}

    def add(target: str, read_only: bool, problem: str, source: str | None = None) -> None:
        source = source or target
        try:
            real = os.path.realpath(source, strict=True)
        except OSError as error:
            raise LaunchRefused(f"{problem}: {error.strerror}") from None
        if _exposes(real, engine_socket):
            raise LaunchRefused(f"{problem}: it would expose the container engine's socket, "
                                "which no job may reach")  # fmt: skip
        if target not in wanted:
            wanted[target], sources[target] = read_only, real

    add(spec.workdir, False, f"cannot use working directory {spec.workdir}")
    for path in dict.fromkeys(output_paths(spec)):
        parent = os.path.dirname(path)
        add(parent, False, f"cannot write output file {path} (directory {parent})")
    for host, inside in settings.read_only_mounts:
        add(inside, True, f"cannot mount the site's read-only {host}", host)
    add(SCRIPT_PATH, True, f"cannot mount the batch script {script}", str(script))
    return [
        Mount(target, sources[target], type="bind", read_only=read_only)
        for target, read_only in wanted.items()
    ]


def output_paths(spec: LaunchSpec) -> tuple[str, str]:
    """The output files as absolute paths (a relative one is relative to the workdir)."""
    return (
        os.path.join(spec.workdir, spec.stdout_path),
        os.path.join(spec.workdir, spec.stderr_path),
    )


def _exposes(real: str, engine_socket: str) -> bool:
    if not engine_socket:
        return False
    socket = os.path.realpath(engine_socket)
    return socket == real or socket.startswith(real.rstrip("/") + "/")


def create_arguments(
    spec: LaunchSpec,
    settings: DockerSettings,
    *,
    node: str,
    image: str,
    image_env: Sequence[str],
    mounts: list[Mount],
    gpu_runtime: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(create_container kwargs, create_host_config kwargs)`` for one run."""
    out, err = output_paths(spec)
    host_network = settings.allow_host_network
    create: dict[str, Any] = {
        "image": image,
        "entrypoint": ["/bin/sh", "-c", PROLOGUE, "berth"],
        "command": [out, err, "a" if spec.append else "t", SCRIPT_PATH, *spec.argv],
        "name": container_name(node, spec.key),
        "labels": run_labels(node, spec),
        "environment": container_environment(spec, image_env),
        "working_dir": spec.workdir,
        "user": f"{spec.uid}:{spec.gid}",
        "detach": True,
        "stdin_open": False,
        "tty": False,
    }
    if not host_network:
        create["hostname"] = node  # `hostname` in the job names its node, as under Slurm
    host: dict[str, Any] = {
        "init": True,
        "mounts": mounts,
        "pids_limit": settings.pids_limit,
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
        "network_mode": "host" if host_network else "bridge",
        "group_add": supplementary_groups(spec),
        "device_requests": device_requests(spec, node=node, gpu_runtime=gpu_runtime),
    }
    if spec.cpus > 0:
        host["nano_cpus"] = spec.cpus * 1_000_000_000
    if spec.mem_mb > 0:
        host["mem_limit"] = host["memswap_limit"] = f"{spec.mem_mb}m"
        host["shm_size"] = f"{max(64, spec.mem_mb // 2)}m"
    return create, host
