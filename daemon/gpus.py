"""GPUs of this machine, from NVML (the ``nvidia-ml-py`` distribution, imported as ``pynvml``).

Where NVML is absent (no driver, no library: ``NVMLError_LibraryNotFound``, ``NVMLError_
DriverNotLoaded``) there are no discovered GPUs and a site declares them in ``berth.toml``; the
scheduler, tests and simulations work the same on any machine. NVLink peers share a link group so
placement keeps whole groups free.
"""

from __future__ import annotations

from scheduler import GpuDevice


def discover_gpus() -> tuple[GpuDevice, ...]:
    """The devices NVML reports, by index; ``()`` when NVML cannot be used here."""
    try:
        import pynvml
    except ImportError:  # pragma: no cover - a dependency of Berth
        return ()
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return ()
    try:
        count = pynvml.nvmlDeviceGetCount()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        groups = _link_groups(pynvml, handles)
        devices = []
        for index, handle in enumerate(handles):
            name = pynvml.nvmlDeviceGetName(handle)
            uuid = pynvml.nvmlDeviceGetUUID(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total // (1024 * 1024)
            devices.append(
                GpuDevice(
                    index=index,
                    uuid=uuid if isinstance(uuid, str) else uuid.decode(),
                    model=_model(name if isinstance(name, str) else name.decode()),
                    memory_mb=int(memory),
                    link_group=groups[index],
                )
            )
        return tuple(devices)
    except pynvml.NVMLError:
        return ()
    finally:
        pynvml.nvmlShutdown()


def _model(name: str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` -> ``"h100"``: the short type ``--gres=gpu:h100:1`` names."""
    words = [w for w in name.lower().replace("nvidia", "").split() if w]
    return words[0] if words else name.lower()


def _link_groups(pynvml: object, handles: list[object]) -> list[int]:
    """Union of NVLink-connected devices; each device alone when NVLink is absent."""
    nvml = pynvml
    parent = list(range(len(handles)))
    by_bus: dict[str, int] = {}
    for index, handle in enumerate(handles):
        try:
            bus = nvml.nvmlDeviceGetPciInfo(handle).busId  # type: ignore[attr-defined]
            by_bus[bus if isinstance(bus, str) else bus.decode()] = index
        except Exception:  # noqa: BLE001, S112 - any NVML failure means "no topology"
            continue

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, handle in enumerate(handles):
        for link in range(18):  # NVML_NVLINK_MAX_LINKS
            try:
                if not nvml.nvmlDeviceGetNvLinkState(handle, link):  # type: ignore[attr-defined]
                    continue
                remote = nvml.nvmlDeviceGetNvLinkRemotePciInfo(handle, link)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001, S112 - link absent or unsupported
                continue
            bus = remote.busId if isinstance(remote.busId, str) else remote.busId.decode()
            peer = by_bus.get(bus)
            if peer is not None:
                parent[root(index)] = root(peer)
    roots: dict[int, int] = {}
    return [roots.setdefault(root(i), len(roots)) for i in range(len(handles))]
