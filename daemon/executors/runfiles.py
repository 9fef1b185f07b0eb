"""The run directory: the durable record shared by the process executor and its shepherds.

One directory per run, ``<run_root>/<job_id>.<restart_count>/``:

===============  ===========  ===================================================================
file             written by   meaning
===============  ===========  ===================================================================
spec.json        executor     everything the shepherd needs (`LaunchSpec` plus node settings)
script           executor     the batch script, mode 0700, owned by the job's uid
shepherd.log     both         the shepherd's own stderr (tracebacks, the limits it chose)
shepherd.pid     shepherd     its `ProcRef`; created with ``link()``, so it is also the claim
job.pid          shepherd     the batch shell's `ProcRef`; its pid is the job's process group
end.json         shepherd     how the run ended; its presence means "ended"
===============  ===========  ===================================================================

Files that others read while they may be rewritten are replaced atomically (temporary file,
fsync, rename), so a reader sees the old or the new content, never a torn one.

Stdlib only: the shepherd imports this at every job start.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.executors.base import EndCause, LaunchSpec, RunEnd, RunKey
from daemon.executors.procfs import ProcRef

SPEC_VERSION = 1


@dataclass(frozen=True, slots=True)
class RunDir:
    """Paths of one run's directory."""

    path: Path

    @classmethod
    def of(cls, run_root: Path, key: RunKey) -> RunDir:
        return cls(run_root / f"{key.job_id}.{key.restart_count}")

    @property
    def spec(self) -> Path:
        return self.path / "spec.json"

    @property
    def script(self) -> Path:
        return self.path / "script"

    @property
    def log(self) -> Path:
        return self.path / "shepherd.log"

    @property
    def shepherd_pid(self) -> Path:
        return self.path / "shepherd.pid"

    @property
    def job_pid(self) -> Path:
        return self.path / "job.pid"

    @property
    def end(self) -> Path:
        return self.path / "end.json"


def temporary_beside(path: Path) -> Path:
    """A fresh name next to ``path`` for a file to be renamed onto it (unique per writer, even
    for two threads of one process launching the same run)."""
    return path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so that no reader, and no crash, sees a partial file."""
    temporary = temporary_beside(path)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def read_ref(path: Path) -> ProcRef | None:
    """The `ProcRef` in a pid file; None when the file is absent or unreadable."""
    try:
        return ProcRef.loads(path.read_text())
    except (OSError, UnicodeDecodeError):
        return None


def spec_to_json(spec: LaunchSpec, *, node_name: str, cgroup_root: str) -> bytes:
    """``spec.json``: the spec (without the script text, which has its own file) and the node
    settings the shepherd must follow."""
    fields = {name: getattr(spec, name) for name in LaunchSpec.__dataclass_fields__}
    del fields["script"]
    fields["key"] = {"job_id": spec.key.job_id, "restart_count": spec.key.restart_count}
    fields["environment"] = dict(spec.environment)
    document = {
        "version": SPEC_VERSION,
        "node_name": node_name,
        "cgroup_root": cgroup_root,
        "spec": fields,
    }
    return json.dumps(document, indent=1).encode()


@dataclass(frozen=True, slots=True)
class StoredSpec:
    spec: LaunchSpec
    node_name: str
    cgroup_root: str  # "" when the node does not allow cgroups


def spec_from_json(data: bytes) -> StoredSpec:
    """Read ``spec.json``. :raises ValueError: for a document this version cannot use."""
    document = json.loads(data)
    if document.get("version") != SPEC_VERSION:
        raise ValueError(f"spec version {document.get('version')!r}, expected {SPEC_VERSION}")
    fields: dict[str, Any] = dict(document["spec"])
    fields["key"] = RunKey(**fields["key"])
    for name in ("argv", "gpu_indices", "gpu_uuids"):
        fields[name] = tuple(fields[name])
    spec = LaunchSpec(script="", **fields)
    return StoredSpec(spec, str(document["node_name"]), str(document["cgroup_root"]))


def end_to_json(end: RunEnd, **extra: str) -> bytes:
    """``end.json``; ``extra`` adds facts for people (which limits applied), ignored by readers."""
    document = {
        "cause": end.cause.value,
        "exit_code": end.exit_code,
        "signal": end.signal,
        "end_time": end.end_time,
        "message": end.message,
        **extra,
    }
    return json.dumps(document, indent=1).encode()


def read_end(run: RunDir, key: RunKey) -> RunEnd | None:
    """The recorded end of the run, None while there is none. An end file that cannot be read
    is still an end (the run is over), reported as LOST with the reason."""
    try:
        data = run.end.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = json.loads(data)
        return RunEnd(
            key=key,
            cause=EndCause(document["cause"]),
            exit_code=int(document["exit_code"]),
            signal=int(document["signal"]),
            end_time=int(document["end_time"]),
            message=str(document["message"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        return RunEnd(key=key, cause=EndCause.LOST, message=f"unreadable {run.end}: {error}")
