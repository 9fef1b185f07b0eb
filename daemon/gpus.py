"""GPUs of this machine, from NVML (the ``nvidia-ml-py`` distribution, imported as ``pynvml``).

`discover_gpus` finds the devices once, at start: index, UUID, short model name, memory, and a
link group per set of GPUs joined by NVLink (directly, or through NVSwitches: GPUs that reach
the same switch share a group); where no GPU has NVLink, GPUs under one NUMA node share a
group, so placement keeps well-connected devices together. A GPU in MIG mode is replaced by its
MIG instances, each a device of its own (model ``a100_1g.10gb``, addressed by its ``MIG-``
UUID), as Slurm's NVML autodetection does.

Where NVML is absent (no library: ``NVMLError_LibraryNotFound``; no driver:
``NVMLError_DriverNotLoaded``) there are no discovered GPUs and a site declares them in
``berth.toml``; the scheduler, tests and simulations work the same on any machine.

`check_gpus` reads health and utilisation for ``sinfo`` and ``/metrics`` while the daemon
runs, and never raises: an NVML error becomes a reading's ``problem`` (one GPU) or the check's
``problem`` (NVML itself failed), and `GpuCheck.drain_reason` is the reason to drain the node
with. Both take the NVML module as an argument, so tests pass recorded answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scheduler import GpuDevice

log = logging.getLogger(__name__)

_MIB = 1024 * 1024
_BRANDS = frozenset({"nvidia", "tesla", "geforce", "quadro"})


def load_nvml() -> Any | None:
    """The ``pynvml`` module of ``nvidia-ml-py``; None where it cannot be imported."""
    try:
        import pynvml  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a dependency of Berth
        return None
    return pynvml


def discover_gpus(nvml: Any = None) -> tuple[GpuDevice, ...]:
    """The devices NVML reports, in NVML's order; ``()`` when NVML cannot be used here."""
    nvml = nvml if nvml is not None else load_nvml()
    if nvml is None:
        return ()
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:
        log.info("no GPUs from NVML (%s); GPUs come from berth.toml", error)
        return ()
    try:
        return _devices(nvml)
    except nvml.NVMLError as error:
        log.warning("NVML failed while listing GPUs (%s); GPUs come from berth.toml", error)
        return ()
    finally:
        _shutdown(nvml)


def _devices(nvml: Any) -> tuple[GpuDevice, ...]:
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
    groups = link_groups(nvml, handles)
    devices: list[GpuDevice] = []
    for handle, group in zip(handles, groups, strict=True):
        model = short_model(_text(nvml.nvmlDeviceGetName(handle)))
        parts = _mig_instances(nvml, handle) or [(handle, "")]
        for part, profile in parts:
            devices.append(
                GpuDevice(
                    index=len(devices),
                    uuid=_text(nvml.nvmlDeviceGetUUID(part)),
                    model=f"{model}_{profile}" if profile else model,
                    memory_mb=int(nvml.nvmlDeviceGetMemoryInfo(part).total // _MIB),
                    link_group=group,
                )
            )
    return tuple(devices)


def _mig_instances(nvml: Any, handle: Any) -> list[tuple[Any, str]]:
    """``(handle, profile)`` of each MIG instance when MIG is on; ``[]`` otherwise."""
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
    except nvml.NVMLError:  # not a MIG-capable GPU
        return []
    if current != nvml.NVML_DEVICE_MIG_ENABLE:
        return []
    found = []
    for slot in range(nvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
        try:
            part = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
        except nvml.NVMLError:  # an empty slot
            continue
        name = _text(nvml.nvmlDeviceGetName(part))  # "NVIDIA A100-SXM4-40GB MIG 1g.5gb"
        found.append((part, name.rpartition("MIG ")[2].strip().lower()))
    return found


def short_model(name: str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` -> ``"h100"``, ``"NVIDIA A100-SXM4-80GB"`` -> ``"a100"``,
    ``"NVIDIA GeForce RTX 4090"`` -> ``"rtx4090"``: the type ``--gres=gpu:TYPE:N`` names."""
    words = [w for w in name.lower().split() if w not in _BRANDS]
    if not words:
        return name.lower()
    if words[0] == "rtx" and len(words) > 1:  # "RTX 4090" -> rtx4090, "RTX A6000" -> a6000
        following = words[1].split("-")[0]
        return f"rtx{following}" if following.isdigit() else following
    return words[0].split("-")[0]


def link_groups(nvml: Any, handles: Sequence[Any]) -> list[int]:
    """A group number per GPU, numbered from 0 in device order (see the module docstring)."""
    buses = [_bus_id(nvml, handle) for handle in handles]
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: str, b: str) -> None:
        parent[root(a)] = root(b)

    linked = False
    for index, handle in enumerate(handles):
        me = buses[index] or f"gpu{index}"
        root(me)
        for peer in _nvlink_peers(nvml, handle):
            join(me, peer)  # a peer GPU's bus id, or an NVSwitch's shared by its GPUs
            linked = True
    if not linked:
        _group_by_numa(nvml, handles, join, buses)
    numbers: dict[str, int] = {}
    return [numbers.setdefault(root(bus or f"gpu{i}"), len(numbers)) for i, bus in
            enumerate(buses)]  # fmt: skip


def _group_by_numa(
    nvml: Any, handles: Sequence[Any], join: Callable[[str, str], None], buses: list[str]
) -> None:
    near = getattr(nvml, "NVML_TOPOLOGY_NODE", 40)
    for i in range(len(handles)):
        for j in range(i + 1, len(handles)):
            try:
                level = nvml.nvmlDeviceGetTopologyCommonAncestor(handles[i], handles[j])
            except nvml.NVMLError:
                continue
            if level <= near:
                join(buses[i] or f"gpu{i}", buses[j] or f"gpu{j}")


def _nvlink_peers(nvml: Any, handle: Any) -> list[str]:
    peers = []
    for link in range(getattr(nvml, "NVML_NVLINK_MAX_LINKS", 18)):
        try:
            if not nvml.nvmlDeviceGetNvLinkState(handle, link):
                continue
            peers.append(_text(nvml.nvmlDeviceGetNvLinkRemotePciInfo(handle, link).busId).lower())
        except nvml.NVMLError:  # no such link, or NVLink unsupported
            continue
    return peers


def _bus_id(nvml: Any, handle: Any) -> str:
    try:
        return _text(nvml.nvmlDeviceGetPciInfo(handle).busId).lower()
    except nvml.NVMLError:
        return ""


# -- health and utilisation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuReading:
    index: int
    uuid: str
    utilization_pct: int | None = None
    memory_used_mb: int | None = None
    temperature_c: int | None = None
    problem: str = ""  # why this GPU must not get jobs; "" when healthy


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuCheck:
    readings: tuple[GpuReading, ...] = ()
    problem: str = ""  # NVML itself failed: no GPU of the node can be trusted

    @property
    def drain_reason(self) -> str:
        """The reason to drain the node with (``scontrol update state=drain reason=...``);
        "" when every GPU is healthy."""
        if self.problem:
            return self.problem
        return "; ".join(f"GPU {r.index} ({r.uuid}): {r.problem}" for r in self.readings
                         if r.problem)  # fmt: skip


def check_gpus(devices: Sequence[GpuDevice], nvml: Any = None) -> GpuCheck:
    """Read the health and utilisation of ``devices`` (those with a UUID; GPUs declared without
    one cannot be found in NVML). Never raises. Where NVML's library is absent nothing is read
    or no driver loaded (the GPUs are declared, not discovered); any other NVML failure is the
    check's problem."""
    wanted = [gpu for gpu in devices if gpu.uuid]
    nvml = nvml if nvml is not None else load_nvml()
    if not wanted or nvml is None:
        return GpuCheck()
    try:
        nvml.nvmlInit()
    except Exception as error:  # noqa: BLE001 - NVML's errors, or anything it raises
        absent = tuple(
            getattr(nvml, name)
            for name in ("NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded")
            if isinstance(getattr(nvml, name, None), type)
        )
        if absent and isinstance(error, absent):  # no NVML here: GPUs are declared, not read
            return GpuCheck()
        return GpuCheck(problem=f"NVML cannot be used ({_reason(error)}): GPUs unchecked")
    try:
        return GpuCheck(readings=tuple(_reading(nvml, gpu) for gpu in wanted))
    except Exception as error:  # noqa: BLE001 - a bug or an NVML surprise: drain, not crash
        return GpuCheck(problem=f"NVML failed while checking GPUs: {_reason(error)}")
    finally:
        _shutdown(nvml)


def _reading(nvml: Any, gpu: GpuDevice) -> GpuReading:
    try:
        handle = nvml.nvmlDeviceGetHandleByUUID(gpu.uuid)
    except nvml.NVMLError as error:
        return GpuReading(index=gpu.index, uuid=gpu.uuid, problem=f"not found by NVML "
                          f"({_reason(error)})")  # fmt: skip
    problems: list[str] = []

    def read(call: Any, *args: Any) -> Any:
        try:
            return call(handle, *args)
        except nvml.NVMLError as error:
            if not isinstance(error, nvml.NVMLError_NotSupported):
                problems.append(f"NVML: {_reason(error)}")
            return None

    rates = read(nvml.nvmlDeviceGetUtilizationRates)
    memory = read(nvml.nvmlDeviceGetMemoryInfo)
    temperature = read(nvml.nvmlDeviceGetTemperature, nvml.NVML_TEMPERATURE_GPU)
    ecc = read(nvml.nvmlDeviceGetTotalEccErrors, nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
               nvml.NVML_VOLATILE_ECC)  # fmt: skip
    if ecc:
        problems.append(f"{ecc} uncorrectable ECC errors since the driver loaded")
    remap = read(nvml.nvmlDeviceGetRemappedRows)  # (correctable, uncorrectable, pending, failed)
    if remap is not None and remap[3]:
        problems.append("row remapping failed: the GPU needs service")
    elif remap is not None and remap[2]:
        problems.append("row remapping pending: reset the GPU")
    return GpuReading(
        index=gpu.index,
        uuid=gpu.uuid,
        utilization_pct=None if rates is None else int(rates.gpu),
        memory_used_mb=None if memory is None else int(memory.used // _MIB),
        temperature_c=None if temperature is None else int(temperature),
        problem="; ".join(dict.fromkeys(problems)),
    )


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception as error:  # noqa: BLE001 - nothing to do about it
        log.debug("nvmlShutdown: %s", error)


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()
