"""The controller's GPU health loop: NVML readings reach /metrics, a broken GPU drains its node,
and a machine without NVML (no library, no driver) drains nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon import gpus, housekeeping
from daemon.clock import ManualClock
from daemon.controller import Controller
from daemon.metrics import render
from daemon.settings import Settings
from daemon.site import Site
from daemon.store.database import Database
from scheduler import Cluster, GpuDevice, Node, Partition, Policy
from tests.daemon.test_gpus import FakeNvml, Gpu, NVMLError_DriverNotLoaded

CLUSTER = Cluster(
    nodes=(Node(name="a", cpus=8, mem_mb=8192, partitions=("p",),
                gpus=(GpuDevice(index=0, uuid="GPU-a0", model="h100"),)),),
    partitions=(Partition(name="p", nodes=("a",), default=True),),
)  # fmt: skip


def _controller(tmp_path: Path) -> Controller:
    database = Database(f"sqlite:///{tmp_path}/s.db")
    database.migrate()
    site = Site(settings=Settings(home=tmp_path), cluster=CLUSTER, policy=Policy())
    controller = Controller(site, database, {}, ManualClock())
    controller.local_nodes = {"a"}
    return controller


def _gpu(**health: int) -> Gpu:
    return Gpu(name="NVIDIA H100 80GB HBM3", uuid="GPU-a0", bus="00000000:01:00.0",
               memory_gib=80, **health)  # type: ignore[arg-type]  # fmt: skip


def test_a_gpu_with_uncorrectable_errors_drains_its_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpus, "load_nvml", lambda: FakeNvml([_gpu(ecc=3, util=55)]))
    controller = _controller(tmp_path)
    asyncio.run(housekeeping.check_gpus(controller))
    state, reason = controller.mirror.node_admin["a"]
    assert state == "drain"
    assert "uncorrectable ECC" in reason
    assert 'berth_gpu_utilization_percent{node="a",gpu="0",uuid="GPU-a0"} 55' in render(controller)
    controller.db.close()


def test_no_driver_means_declared_gpus_and_no_drain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeNvml([_gpu()], init_error=NVMLError_DriverNotLoaded("Driver Not Loaded"))
    fake.NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded  # type: ignore[attr-defined]
    monkeypatch.setattr(gpus, "load_nvml", lambda: fake)
    controller = _controller(tmp_path)
    asyncio.run(housekeeping.check_gpus(controller))
    assert controller.mirror.node_admin == {}
    controller.db.close()
