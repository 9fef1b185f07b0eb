"""GPU discovery and health (`daemon.gpus`) on recorded NVML answers, and without NVML.

No GPU is needed: `FakeNvml` answers the ``pynvml`` calls Berth makes with values shaped as the
real module returns them (objects with ``.total``/``.used``/``.gpu``/``.busId``, str names and
UUIDs, errors of NVML's own classes), for four machines: an 8-GPU NVSwitch box (DGX H100), a
workstation with two NVLink bridges, a PCIe server with no NVLink (grouped by NUMA node), and an
A100 in MIG mode. On this machine the real NVML is absent, which is the no-driver path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from daemon.gpus import check_gpus, discover_gpus, load_nvml, short_model
from scheduler import GpuDevice

GIB = 1024**3


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # pynvml's names, as its errors are matched by class
    pass


class NVMLError_NotFound(NVMLError):
    pass


class NVMLError_InvalidArgument(NVMLError):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_DriverNotLoaded(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


@dataclass
class Gpu:
    name: str
    uuid: str
    bus: str
    memory_gib: int
    links: list[str] = field(default_factory=list)  # remote bus id per active link
    numa: int = 0
    mig: list[tuple[str, str, int] | None] | None = None  # slots: (uuid, profile, GiB) or empty
    util: int = 0
    used_gib: int = 0
    temperature: int = 40
    ecc: int = 0
    remap: tuple[int, int, bool, bool] = (0, 0, False, False)
    lost: bool = False


class FakeNvml:
    """The slice of ``pynvml`` that `daemon.gpus` calls, answering from ``gpus``."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_NotFound = NVMLError_NotFound
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVML_DEVICE_MIG_ENABLE = 1
    NVML_TOPOLOGY_NODE = 40
    NVML_TOPOLOGY_SYSTEM = 50
    NVML_NVLINK_MAX_LINKS = 18
    NVML_TEMPERATURE_GPU = 0
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0

    def __init__(self, gpus: list[Gpu], *, init_error: Exception | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.initialised = 0

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.initialised -= 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        return ("gpu", index)

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> Any:
        for index, gpu in enumerate(self.gpus):
            if gpu.uuid == uuid:
                if gpu.lost:
                    raise NVMLError_GpuIsLost("GPU is lost")
                return ("gpu", index)
            for slot, part in enumerate(gpu.mig or []):
                if part is not None and part[0] == uuid:
                    return ("mig", index, slot)
        raise NVMLError_NotFound("Not Found")

    def _gpu(self, handle: Any) -> Gpu:
        return self.gpus[int(handle[1])]

    def nvmlDeviceGetName(self, handle: Any) -> str:
        gpu = self._gpu(handle)
        if handle[0] == "mig":
            return f"{gpu.name} MIG {self._part(handle)[1]}"
        return gpu.name

    def _part(self, handle: Any) -> tuple[str, str, int]:
        part = (self._gpu(handle).mig or [])[int(handle[2])]
        assert part is not None
        return part

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return self._part(handle)[0] if handle[0] == "mig" else self._gpu(handle).uuid

    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any:
        gpu = self._gpu(handle)
        total = self._part(handle)[2] if handle[0] == "mig" else gpu.memory_gib
        return SimpleNamespace(total=total * GIB, used=gpu.used_gib * GIB,
                               free=(total - gpu.used_gib) * GIB)  # fmt: skip

    def nvmlDeviceGetPciInfo(self, handle: Any) -> Any:
        return SimpleNamespace(busId=self._gpu(handle).bus)

    def nvmlDeviceGetNvLinkState(self, handle: Any, link: int) -> int:
        links = self._gpu(handle).links
        if not links:
            raise NVMLError_NotSupported("Not Supported")
        if link >= len(links):
            raise NVMLError_InvalidArgument("Invalid Argument")
        return 1

    def nvmlDeviceGetNvLinkRemotePciInfo(self, handle: Any, link: int) -> Any:
        return SimpleNamespace(busId=self._gpu(handle).links[link])

    def nvmlDeviceGetTopologyCommonAncestor(self, one: Any, two: Any) -> int:
        same = self._gpu(one).numa == self._gpu(two).numa
        return self.NVML_TOPOLOGY_NODE if same else self.NVML_TOPOLOGY_SYSTEM

    def nvmlDeviceGetMigMode(self, handle: Any) -> tuple[int, int]:
        if self._gpu(handle).mig is None:
            raise NVMLError_NotSupported("Not Supported")
        return (1, 1)

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int:
        return len(self._gpu(handle).mig or [])

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, slot: int) -> Any:
        if (self._gpu(handle).mig or [])[slot] is None:
            raise NVMLError_NotFound("Not Found")
        return ("mig", handle[1], slot)

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
        if handle[0] == "mig":
            raise NVMLError_NotSupported("Not Supported")
        return SimpleNamespace(gpu=self._gpu(handle).util, memory=0)

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        return self._gpu(handle).temperature

    def nvmlDeviceGetTotalEccErrors(self, handle: Any, kind: int, counter: int) -> int:
        return self._gpu(handle).ecc

    def nvmlDeviceGetRemappedRows(self, handle: Any) -> tuple[int, int, bool, bool]:
        return self._gpu(handle).remap


def _dgx_h100() -> list[Gpu]:
    """8 x H100 SXM: every GPU has 18 links, spread over the same 4 NVSwitches."""
    switches = [f"00000000:{bus}:00.0" for bus in ("05", "06", "07", "08")]
    buses = ["18", "2A", "3A", "5D", "9A", "AB", "BA", "DB"]
    return [
        Gpu("NVIDIA H100 80GB HBM3", f"GPU-h100-{i}", f"00000000:{bus}:00.0", 80,
            links=[switches[link % 4] for link in range(18)], numa=i // 4)
        for i, bus in enumerate(buses)
    ]  # fmt: skip


def _workstation() -> list[Gpu]:
    """4 x RTX A6000, NVLink bridges on 0-1 and 2-3."""
    buses = [f"00000000:{bus}:00.0" for bus in ("17", "65", "B1", "CA")]
    peers = {0: 1, 1: 0, 2: 3, 3: 2}
    return [
        Gpu("NVIDIA RTX A6000", f"GPU-a6000-{i}", buses[i], 48, links=[buses[peers[i]]] * 4)
        for i in range(4)
    ]


def test_an_nvswitch_box_is_one_link_group() -> None:
    devices = discover_gpus(FakeNvml(_dgx_h100()))
    assert [(d.index, d.uuid, d.model, d.memory_mb, d.link_group) for d in devices] == [
        (i, f"GPU-h100-{i}", "h100", 81920, 0) for i in range(8)
    ]


def test_nvlink_bridges_make_pairs() -> None:
    devices = discover_gpus(FakeNvml(_workstation()))
    assert [d.link_group for d in devices] == [0, 0, 1, 1]
    assert {d.model for d in devices} == {"a6000"}


def test_without_nvlink_gpus_group_by_numa_node() -> None:
    gpus = [Gpu("NVIDIA L40S", f"GPU-l40s-{i}", f"00000000:{i:02X}:00.0", 48, numa=i // 2)
            for i in range(4)]  # fmt: skip
    assert [d.link_group for d in discover_gpus(FakeNvml(gpus))] == [0, 0, 1, 1]


def test_mig_instances_are_devices_of_their_own() -> None:
    gpus = [
        Gpu("NVIDIA A100-SXM4-40GB", "GPU-a100-0", "00000000:07:00.0", 40,
            mig=[("MIG-aaaa", "3g.20gb", 20), None, ("MIG-bbbb", "3g.20gb", 20)]),
        Gpu("NVIDIA A100-SXM4-40GB", "GPU-a100-1", "00000000:0F:00.0", 40),
    ]  # fmt: skip
    devices = discover_gpus(FakeNvml(gpus))
    assert [(d.index, d.uuid, d.model, d.memory_mb) for d in devices] == [
        (0, "MIG-aaaa", "a100_3g.20gb", 20480),
        (1, "MIG-bbbb", "a100_3g.20gb", 20480),
        (2, "GPU-a100-1", "a100", 40960),
    ]


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA A100-SXM4-80GB", "a100"),
        ("Tesla V100-SXM2-32GB", "v100"),
        ("NVIDIA GeForce RTX 4090", "rtx4090"),
        ("NVIDIA RTX A6000", "a6000"),
        ("NVIDIA L40S", "l40s"),
    ],
)
def test_short_model_names(name: str, model: str) -> None:
    assert short_model(name) == model


def test_no_driver_means_no_gpus() -> None:
    nvml = FakeNvml(_workstation(), init_error=NVMLError_DriverNotLoaded("Driver Not Loaded"))
    assert discover_gpus(nvml) == ()


def test_an_error_while_listing_means_no_gpus_and_nvml_is_shut_down() -> None:
    nvml = FakeNvml([Gpu("NVIDIA H100", "GPU-x", "00000000:01:00.0", 80)])
    nvml.gpus[0].name = None  # type: ignore[assignment]

    def broken(handle: Any) -> str:
        raise NVMLError_GpuIsLost("GPU is lost")

    nvml.nvmlDeviceGetName = broken  # type: ignore[method-assign]
    assert discover_gpus(nvml) == ()
    assert nvml.initialised == 0


def test_this_machine_without_nvml_has_no_gpus_and_no_error() -> None:
    """The real pynvml here: the library is absent, so discovery and checks are quiet."""
    nvml = load_nvml()
    assert nvml is not None
    try:
        nvml.nvmlInit()
    except nvml.NVMLError:
        pass
    else:  # pragma: no cover - a machine with a driver
        nvml.nvmlShutdown()
        pytest.skip("this machine has a working NVML; the no-driver path is tested by a fake")
    assert discover_gpus() == ()
    assert check_gpus([GpuDevice(index=0, uuid="GPU-declared")]).drain_reason == ""


# -- health -----------------------------------------------------------------------------------


def _devices(nvml: FakeNvml) -> tuple[GpuDevice, ...]:
    return discover_gpus(nvml)


def test_healthy_gpus_report_utilisation() -> None:
    nvml = FakeNvml(_workstation())
    nvml.gpus[1].util, nvml.gpus[1].used_gib, nvml.gpus[1].temperature = 87, 30, 71
    check = check_gpus(_devices(nvml), nvml)
    assert check.drain_reason == ""
    reading = check.readings[1]
    assert (reading.utilization_pct, reading.memory_used_mb, reading.temperature_c) == (
        87, 30 * 1024, 71,
    )  # fmt: skip
    assert nvml.initialised == 0  # shut down after every check


def test_a_sick_gpu_gives_the_node_a_drain_reason() -> None:
    nvml = FakeNvml(_workstation())
    devices = _devices(nvml)
    nvml.gpus[0].ecc = 3
    nvml.gpus[2].lost = True
    nvml.gpus[3].remap = (0, 1, True, False)
    check = check_gpus(devices, nvml)
    assert [bool(r.problem) for r in check.readings] == [True, False, True, True]
    assert check.drain_reason == (
        "GPU 0 (GPU-a6000-0): 3 uncorrectable ECC errors since the driver loaded; "
        "GPU 2 (GPU-a6000-2): not found by NVML (NVMLError_GpuIsLost: GPU is lost); "
        "GPU 3 (GPU-a6000-3): row remapping pending: reset the GPU"
    )


def test_unsupported_readings_are_absent_not_problems() -> None:
    gpus = [Gpu("NVIDIA A100-SXM4-40GB", "GPU-a", "00000000:07:00.0", 40,
                mig=[("MIG-aaaa", "1g.5gb", 5)])]  # fmt: skip
    nvml = FakeNvml(gpus)
    (reading,) = check_gpus(_devices(nvml), nvml).readings
    assert (reading.uuid, reading.utilization_pct, reading.problem) == ("MIG-aaaa", None, "")


def test_nvml_failing_at_run_time_drains_the_node_without_raising() -> None:
    nvml = FakeNvml(_workstation())
    devices = _devices(nvml)
    nvml.init_error = NVMLError_DriverNotLoaded("Driver Not Loaded")
    assert check_gpus(devices, nvml).drain_reason == (
        "NVML cannot be used (NVMLError_DriverNotLoaded: Driver Not Loaded): GPUs unchecked"
    )
    nvml.init_error = None
    nvml.nvmlDeviceGetHandleByUUID = None  # type: ignore[assignment,method-assign]
    assert "NVML failed while checking GPUs: TypeError" in check_gpus(devices, nvml).drain_reason


def test_nothing_to_check_without_uuids_or_without_the_library() -> None:
    nvml = FakeNvml(_workstation(), init_error=NVMLError_LibraryNotFound("not found"))
    declared = [GpuDevice(index=0), GpuDevice(index=1)]
    assert check_gpus(declared, FakeNvml([])).readings == ()
    assert check_gpus([GpuDevice(index=0, uuid="GPU-x")], nvml).drain_reason == ""
