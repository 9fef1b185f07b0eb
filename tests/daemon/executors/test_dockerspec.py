"""The Docker executor's pure parts, no engine needed: the image allowlist, the container's
create arguments (limits, isolation, GPUs as a `DeviceRequest`, the environment), the
``[docker]`` table, and reading an end back from a container's state."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests
from docker.errors import (  # type: ignore[import-untyped]
    APIError,
    DockerException,
    InvalidArgument,
    NotFound,
)

from daemon.executors.base import EndCause, LaunchSpec, RunKey
from daemon.executors.dockerevents import nvidia_runtime, transient
from daemon.executors.dockerrecords import (
    Timers,
    container_name,
    end_from_state,
    key_of,
    run_labels,
)
from daemon.executors.dockerspec import (
    SCRIPT_PATH,
    LaunchRefused,
    bind_mounts,
    create_arguments,
)
from daemon.executors.images import image_allowed, image_refusal, normalise
from daemon.settings import DockerSettings, docker_settings_from_mapping
from daemon.site import load_site
from scheduler import ConfigError

# -- the allowlist ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "full"),
    [
        ("python", "docker.io/library/python:latest"),
        ("python:3.11", "docker.io/library/python:3.11"),
        ("library/python", "docker.io/library/python:latest"),
        ("lab/tool:2", "docker.io/lab/tool:2"),
        ("ghcr.io/lab/x:1", "ghcr.io/lab/x:1"),
        ("localhost:5000/a/b", "localhost:5000/a/b:latest"),
        ("nvcr.io/nvidia/pytorch:24.01-py3", "nvcr.io/nvidia/pytorch:24.01-py3"),
        ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64),
    ],
)
def test_references_are_spelled_out_in_full(reference: str, full: str) -> None:
    assert normalise(reference) == full


@pytest.mark.parametrize(
    ("reference", "patterns", "allowed"),
    [
        ("python:3.11", ["python:3.*"], True),
        ("docker.io/library/python:3.11", ["python:3.*"], True),  # another spelling
        ("python:2.7", ["python:3.*"], False),
        ("library/busybox", ["busybox"], True),
        ("busybox:1.36", ["busybox"], False),  # "busybox" means busybox:latest
        ("ghcr.io/lab/x:1", ["ghcr.io/lab/*"], True),
        ("ghcr.io/lab/team/x:1", ["ghcr.io/lab/*"], True),  # * spans /
        ("ghcr.io/lab-evil/x:1", ["ghcr.io/lab/*"], False),
        ("python:5000/evil", ["python:*"], False),  # a registry on host "python", not a tag
        ("anything.io/x/y:z", ["*"], True),
        ("Not An Image", ["*"], False),
        ("python", [], False),
    ],
)
def test_the_allowlist(reference: str, patterns: list[str], allowed: bool) -> None:
    assert image_allowed(reference, patterns) is allowed


def test_refusals_say_what_is_allowed() -> None:
    assert image_refusal("python:3.11", ["python:3.*"]) is None
    assert image_refusal("evil:1", ["python:3.*", "ghcr.io/lab/*"]) == (
        "image: 'evil:1' is not allowed here; allowed images: python:3.*, ghcr.io/lab/*"
    )
    assert "runs no container images" in str(image_refusal("evil:1", []))
    assert "not an image reference" in str(image_refusal("a b", ["*"]))


# -- the [docker] table -----------------------------------------------------------------------


def test_the_docker_table_is_read_and_checked(tmp_path: Path) -> None:
    (tmp_path / "berth.toml").write_text(
        '[docker]\nallowed_images = ["python:3.*"]\ndefault_image = "python:3.11"\n'
        'allow_host_network = true\nread_only_mounts = ["/datasets", "/srv/models:/models"]\n'
        "pids_limit = 512\n"
    )
    docker = load_site(tmp_path).docker
    assert docker == DockerSettings(
        allowed_images=("python:3.*",),
        default_image="python:3.11",
        allow_host_network=True,
        read_only_mounts=(("/datasets", "/datasets"), ("/srv/models", "/models")),
        pids_limit=512,
    )


def test_no_docker_table_allows_no_image(tmp_path: Path) -> None:
    assert load_site(tmp_path).docker == DockerSettings()
    assert DockerSettings().allowed_images == ()


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"images": []}, "unknown key"),
        ({"allowed_images": "python"}, "a list of image patterns"),
        ({"allowed_images": ["python:*"], "default_image": "ruby:3"}, "not allowed here"),
        ({"default_image": "Not An Image"}, "an image reference"),
        ({"allow_host_network": "yes"}, "true or false"),
        ({"read_only_mounts": ["data"]}, "absolute"),
        ({"pids_limit": 0}, ">= 16"),
    ],
)
def test_a_bad_docker_table_names_the_key(table: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words) as error:
        docker_settings_from_mapping(table, source="berth.toml")
    assert str(error.value).startswith("berth.toml: [docker] ")


# -- create arguments -------------------------------------------------------------------------


def _spec(tmp_path: Path, **changes: Any) -> LaunchSpec:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    fields: dict[str, Any] = {
        "key": RunKey(job_id=7, restart_count=1),
        "name": "train",
        "user": "alice",
        "uid": 4242,
        "gid": 4242,
        "script": "#!/bin/sh\n",
        "argv": ("--epochs", "3"),
        "workdir": str(work),
        "environment": {"PATH": "/usr/bin:/bin", "SLURM_JOB_GPUS": "2,5",
                        "CUDA_VISIBLE_DEVICES": "2,5", "HOME": "/home/alice"},
        "stdout_path": str(work / "slurm-7.out"),
        "stderr_path": str(work / "slurm-7.out"),
        "cpus": 4,
        "mem_mb": 8192,
        "gpu_indices": (2, 5),
        "gpu_uuids": ("GPU-aaaa", "GPU-bbbb"),
        "deadline": 1_700_000_600,
        "kill_wait_s": 30,
    }  # fmt: skip
    fields.update(changes)
    return LaunchSpec(**fields)


def _arguments(spec: LaunchSpec, settings: DockerSettings | None = None, *,
               image_env: tuple[str, ...] = (), gpu_runtime: bool = True
               ) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    return create_arguments(spec, settings or DockerSettings(), node="gpu1", image="img",
                            image_env=image_env, mounts=[], gpu_runtime=gpu_runtime)  # fmt: skip


def test_gpus_are_requested_by_uuid_and_renumbered_inside(tmp_path: Path) -> None:
    create, host = _arguments(_spec(tmp_path))
    (request,) = host["device_requests"]
    assert request["DeviceIDs"] == ["GPU-aaaa", "GPU-bbbb"]
    assert request["Capabilities"] == [["gpu"]]
    assert request["Driver"] == ""
    assert request.get("Count") in (None, 0)
    env = create["environment"]
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"  # the container sees only its two GPUs
    assert env["NVIDIA_VISIBLE_DEVICES"] == "GPU-aaaa,GPU-bbbb"
    assert env["SLURM_JOB_GPUS"] == "2,5"  # the node's own indices, as Slurm keeps them


def test_gpus_declared_without_uuids_are_requested_by_index(tmp_path: Path) -> None:
    create, host = _arguments(_spec(tmp_path, gpu_uuids=("", "")))
    assert host["device_requests"][0]["DeviceIDs"] == ["2", "5"]
    assert create["environment"]["NVIDIA_VISIBLE_DEVICES"] == "2,5"


def test_a_cpu_job_gets_no_device_and_hides_every_gpu(tmp_path: Path) -> None:
    create, host = _arguments(_spec(tmp_path, gpu_indices=(), gpu_uuids=()), gpu_runtime=False)
    assert host["device_requests"] == []
    assert create["environment"]["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert create["environment"]["CUDA_VISIBLE_DEVICES"] == ""


def test_gpus_without_the_nvidia_runtime_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LaunchRefused, match="no NVIDIA runtime") as refused:
        _arguments(_spec(tmp_path), gpu_runtime=False)
    assert "GPUs 2,5 on node gpu1" in str(refused.value)
    assert "nvidia-container-toolkit" in str(refused.value)


def test_limits_user_and_isolation(tmp_path: Path) -> None:
    create, host = _arguments(_spec(tmp_path))
    assert host["nano_cpus"] == 4_000_000_000
    assert host["mem_limit"] == host["memswap_limit"] == "8192m"  # no swap
    assert host["shm_size"] == "4096m"
    assert host["pids_limit"] == 4096
    assert host["init"] is True
    assert host["security_opt"] == ["no-new-privileges"]
    assert host["cap_drop"] == ["ALL"]
    assert host["network_mode"] == "bridge"
    assert "privileged" not in host
    assert create["user"] == "4242:4242"
    assert create["hostname"] == "gpu1"
    assert create["working_dir"] == str(tmp_path / "work")
    assert create["name"] == "berth-gpu1-7.1"
    assert create["entrypoint"][:2] == ["/bin/sh", "-c"]
    out = str(tmp_path / "work" / "slurm-7.out")
    assert create["command"] == [out, out, "t", SCRIPT_PATH, "--epochs", "3"]


def test_host_network_only_where_the_site_allows_it(tmp_path: Path) -> None:
    create, host = _arguments(_spec(tmp_path), DockerSettings(allow_host_network=True))
    assert host["network_mode"] == "host"
    assert "hostname" not in create  # the engine refuses a hostname with the host's network


def test_append_mode_and_no_limits(tmp_path: Path) -> None:
    create, host = _arguments(_spec(tmp_path, append=True, mem_mb=0, cpus=0))
    assert create["command"][2] == "a"
    assert not {"nano_cpus", "mem_limit", "memswap_limit", "shm_size"} & host.keys()


def test_the_images_variables_stand_except_berths(tmp_path: Path) -> None:
    image_env = ("PATH=/opt/conda/bin:/usr/bin", "CUDA_VISIBLE_DEVICES=all", "LANG=C.UTF-8")
    create, _ = _arguments(_spec(tmp_path), image_env=image_env)
    env = create["environment"]
    assert "PATH" not in env  # the engine keeps the image's PATH
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"  # Berth's, whatever the image says
    assert env["HOME"] == "/home/alice"
    assert env["TINI_KILL_PROCESS_GROUP"] == "1"


def test_labels_name_the_run_and_carry_its_timers(tmp_path: Path) -> None:
    spec = _spec(tmp_path, signal_number=10, signal_before_s=60, signal_batch_only=True)
    labels = run_labels("gpu1", spec)
    assert {k: labels[k] for k in ("berth.job_id", "berth.restart", "berth.node", "berth.user")} \
        == {"berth.job_id": "7", "berth.restart": "1", "berth.node": "gpu1", "berth.user": "alice"}
    assert Timers.from_labels(labels) == Timers.of(spec)
    assert key_of(labels) == RunKey(job_id=7, restart_count=1)
    assert Timers.from_labels(run_labels("n", _spec(tmp_path, deadline=None))).deadline is None
    assert container_name("gpu 1/x", RunKey(job_id=3)) == "berth-gpu_1_x-3.0"


# -- mounts -----------------------------------------------------------------------------------


def test_mounts_are_the_job_directories_at_their_own_paths(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    spec = _spec(tmp_path, stderr_path=str(logs / "err"))
    settings = DockerSettings(read_only_mounts=((str(data), "/data"),))
    mounts = bind_mounts(spec, settings, script=script, engine_socket="/var/run/docker.sock")
    found = {(m["Target"], m["Source"], m["ReadOnly"]) for m in mounts}
    work = str(tmp_path / "work")
    assert found == {
        (work, work, False),
        (str(logs), str(logs), False),
        ("/data", str(data), True),
        (SCRIPT_PATH, str(script), True),
    }
    assert {m["Type"] for m in mounts} == {"bind"}


def test_a_mount_that_would_expose_the_engine_socket_is_refused(tmp_path: Path) -> None:
    socket = tmp_path / "run" / "docker.sock"
    socket.parent.mkdir()
    socket.touch()
    os.symlink(tmp_path / "run", tmp_path / "work-link")
    for workdir in (str(tmp_path / "run"), str(tmp_path / "work-link"), "/"):
        spec = _spec(tmp_path, workdir=workdir)
        with pytest.raises(LaunchRefused, match="engine's socket"):
            bind_mounts(spec, DockerSettings(), script=socket, engine_socket=str(socket))


def test_a_missing_directory_is_refused_with_its_path(tmp_path: Path) -> None:
    spec = _spec(tmp_path, stdout_path=str(tmp_path / "gone" / "out"))
    with pytest.raises(LaunchRefused) as refused:
        bind_mounts(spec, DockerSettings(), script=tmp_path, engine_socket="")
    assert str(refused.value) == (
        f"cannot write output file {tmp_path}/gone/out (directory {tmp_path}/gone): "
        "No such file or directory"
    )


# -- ends from the container's state ----------------------------------------------------------

STARTED = "2026-01-02T03:04:00.5Z"
FINISHED = "2026-01-02T03:04:05.123456789Z"
FINISHED_EPOCH = 1767323045


def _state(**changes: Any) -> dict[str, Any]:
    state = {"Status": "exited", "ExitCode": 0, "OOMKilled": False, "Error": "",
             "StartedAt": STARTED, "FinishedAt": FINISHED}  # fmt: skip
    state.update(changes)
    return state


@pytest.mark.parametrize(
    ("state", "stopping", "tail", "expected"),
    [
        (_state(), None, "", (EndCause.EXITED, 0, 0)),
        (_state(ExitCode=3), None, "", (EndCause.EXITED, 3, 0)),
        (_state(ExitCode=137), None, "", (EndCause.EXITED, 0, 9)),  # 128 + SIGKILL
        (_state(ExitCode=143), EndCause.TIMEOUT, "", (EndCause.TIMEOUT, 0, 15)),
        (_state(ExitCode=137), EndCause.KILLED, "", (EndCause.KILLED, 0, 9)),
        (_state(ExitCode=137, OOMKilled=True), None, "", (EndCause.OOM, 0, 9)),
        (_state(ExitCode=0, OOMKilled=True), None, "", (EndCause.OOM, 0, 0)),  # a child died
        (_state(ExitCode=125), None, "sh: can't create /x: Permission denied",
         (EndCause.LAUNCH_FAILED, 125, 0)),  # the prologue could not open the output
        (_state(ExitCode=125), None, "", (EndCause.EXITED, 125, 0)),  # the script's own 125
        (_state(Status="created", StartedAt="0001-01-01T00:00:00Z", ExitCode=128,
                Error="chdir: permission denied"), None, "", (EndCause.LAUNCH_FAILED, 128, 0)),
    ],
)  # fmt: skip
def test_the_end_is_read_from_the_containers_state(
    state: dict[str, Any], stopping: EndCause | None, tail: str,
    expected: tuple[EndCause, int, int],
) -> None:  # fmt: skip
    end = end_from_state(RunKey(job_id=1), state, stopping=stopping, log_tail=tail, now=5)
    assert (end.cause, end.exit_code, end.signal) == expected
    assert end.end_time == FINISHED_EPOCH
    if end.cause is EndCause.LAUNCH_FAILED:
        assert end.message.endswith(tail or "chdir: permission denied")
        assert end.message.startswith("the job could not start: " if tail else "chdir")


# -- what the engine's answers mean -----------------------------------------------------------


class _Info:
    def __init__(self, runtimes: dict[str, Any]) -> None:
        self.runtimes = runtimes

    def info(self) -> dict[str, Any]:
        return {"Runtimes": self.runtimes, "DefaultRuntime": "runc"}


def test_the_nvidia_runtime_is_found_in_the_engines_answer() -> None:
    with_nvidia = {"runc": {"path": "runc"}, "nvidia": {"path": "nvidia-container-runtime"}}
    assert nvidia_runtime(_Info(with_nvidia)) is True
    if shutil.which("nvidia-container-runtime-hook") is None:
        assert nvidia_runtime(_Info({"runc": {"path": "runc"}})) is False


def test_transport_errors_are_transient_and_answers_are_not() -> None:
    assert transient(requests.ConnectionError("reset"))
    assert transient(requests.ReadTimeout("slow"))
    assert transient(DockerException("Error while fetching server API version"))
    assert not transient(APIError("409 Conflict"))
    assert not transient(NotFound("no such container"))
    assert not transient(InvalidArgument("bad mem_limit"))
    assert not transient(ValueError("a bug"))
