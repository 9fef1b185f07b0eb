"""The policy core's data model: resources, GPUs, nodes, partitions and job requests.

Every value is an immutable, slotted dataclass built from tuples, enums, ints and strings, so a
`Snapshot` can be shared between passes, hashed into caches the driver owns, and compared byte for
byte between the daemon and the simulator.

Units, chosen once for the whole core:
- time is integer seconds (epoch seconds in the daemon, virtual seconds in the simulator);
- memory is integer MiB (Slurm's ``--mem`` with no suffix is MiB too);
- CPUs and GPUs are integer counts; a GPU is addressed inside the core by its per-node ``index``,
  outside the core by its ``uuid`` (NVML, CUDA and reboots may order indices differently).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class NodeState(StrEnum):
    """A node's state as ``sinfo`` names it.

    Drivers report ``DRAIN`` and ``DOWN`` (administrative or health states); ``IDLE``, ``MIXED``
    and ``ALLOCATED`` follow from the allocations and are what `Node.usage_state` computes. The
    core schedules onto a node only when it is neither drained nor down.
    """

    IDLE = "idle"
    MIXED = "mixed"
    ALLOCATED = "allocated"
    DRAIN = "drain"
    DOWN = "down"

    @property
    def schedulable(self) -> bool:
        return self not in (NodeState.DRAIN, NodeState.DOWN)


class JobState(StrEnum):
    """Slurm's job states (the long names ``squeue %T`` prints)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"

    @property
    def finished(self) -> bool:
        return self not in (
            JobState.PENDING,
            JobState.RUNNING,
            JobState.SUSPENDED,
            JobState.COMPLETING,
        )


class Hold(StrEnum):
    """Why a job is held: ``scontrol hold`` by its owner (user) or by an operator (admin)."""

    NONE = "none"
    USER = "user"
    ADMIN = "admin"


class DependencyKind(StrEnum):
    """The dependency types of ``sbatch --dependency`` that Berth implements."""

    AFTER = "after"  # the other job has started (or ended)
    AFTERANY = "afterany"  # the other job has ended, in any state
    AFTEROK = "afterok"  # the other job has completed with exit code 0
    AFTERNOTOK = "afternotok"  # the other job has ended in a failed state
    SINGLETON = "singleton"  # no other job of the same user and name is running


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependency:
    kind: DependencyKind
    job_id: int | None = None  # None only for SINGLETON


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """An amount of the three schedulable resources; used for capacities, requests and totals."""

    cpus: int = 0
    mem_mb: int = 0
    gpus: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            cpus=self.cpus + other.cpus,
            mem_mb=self.mem_mb + other.mem_mb,
            gpus=self.gpus + other.gpus,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuDevice:
    """One physical GPU (or MIG instance) of a node.

    ``link_group`` groups GPUs joined by NVLink / on one PCIe switch or NUMA node: placement
    prefers to leave whole groups free, so a later multi-GPU job gets well-connected devices.
    """

    index: int
    uuid: str = ""
    model: str = ""
    memory_mb: int = 0
    link_group: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    name: str
    cpus: int
    mem_mb: int
    gpus: tuple[GpuDevice, ...] = ()
    partitions: tuple[str, ...] = ()
    state: NodeState = NodeState.IDLE
    features: tuple[str, ...] = ()
    reason: str = ""  # why it is drained or down, as ``sinfo -R`` shows it

    @property
    def capacity(self) -> Resources:
        return Resources(cpus=self.cpus, mem_mb=self.mem_mb, gpus=len(self.gpus))

    def usage_state(self, allocated: Resources) -> NodeState:
        """``sinfo``'s state for this node holding ``allocated``: drained and down nodes keep
        their state; otherwise idle with nothing allocated, allocated when every CPU is taken
        (Slurm counts CPUs), mixed in between."""
        if not self.state.schedulable:
            return self.state
        if allocated.cpus <= 0 and allocated.gpus <= 0 and allocated.mem_mb <= 0:
            return NodeState.IDLE
        if allocated.cpus >= self.cpus:
            return NodeState.ALLOCATED
        return NodeState.MIXED

    def gpu_mask(self, model: str | None = None) -> int:
        """Bitmask of this node's GPU indices, restricted to one model when given."""
        mask = 0
        for gpu in self.gpus:
            if model is None or gpu.model == model:
                mask |= 1 << gpu.index
        return mask


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition:
    """A named set of nodes with its own limits, like a Slurm partition.

    ``max_time_s`` None means unlimited; ``default_time_s`` applies to jobs that give no time
    limit (the drivers fill it in before a job reaches the core); ``priority_job_factor`` feeds
    the partition priority factor.
    """

    name: str
    nodes: tuple[str, ...]
    max_time_s: int | None = None
    default_time_s: int = 3600
    priority_job_factor: int = 1
    max_nodes_per_job: int | None = None
    default: bool = False
    up: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Cluster:
    """The configured machine: nodes and partitions, in the order the site declared them."""

    nodes: tuple[Node, ...]
    partitions: tuple[Partition, ...]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def partition(self, name: str) -> Partition | None:
        for partition in self.partitions:
            if partition.name == name:
                return partition
        return None

    @property
    def default_partition(self) -> Partition | None:
        for partition in self.partitions:
            if partition.default:
                return partition
        return self.partitions[0] if self.partitions else None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRequest:
    """What a job asks for, as the core sees it (the drivers resolve defaults first).

    ``tasks`` are spread evenly over ``nodes``: each node gets ``ceil(tasks / nodes)`` tasks, so a
    node's share is ``cpus_per_node`` CPUs, ``mem_mb`` MiB (memory is per node, as ``--mem``) and
    ``gpus_per_node`` GPUs (``--gres=gpu:N`` / ``--gpus-per-node``), optionally of ``gpu_model``.
    """

    job_id: int
    user: str
    submit_time: int
    time_limit_s: int
    name: str = ""
    account: str = ""
    partition: str = ""
    qos: str = "normal"
    nodes: int = 1
    tasks: int = 1
    cpus_per_task: int = 1
    mem_mb: int = 0
    gpus_per_node: int = 0
    gpu_model: str | None = None
    nice: int = 0
    dependencies: tuple[Dependency, ...] = ()
    dependency_any: bool = False  # '?' separator: any one dependency suffices
    begin_time: int | None = None
    hold: Hold = Hold.NONE
    array_job_id: int | None = None
    array_task_id: int | None = None
    array_throttle: int | None = None  # --array=...%N: at most N tasks of the array running
    requeue: bool = True
    features: tuple[str, ...] = ()
    admin_priority: int | None = None  # ``scontrol update priority=`` pins the priority

    @property
    def tasks_per_node(self) -> int:
        return -(-self.tasks // self.nodes)

    @property
    def cpus_per_node(self) -> int:
        return self.tasks_per_node * self.cpus_per_task

    @property
    def per_node(self) -> Resources:
        return Resources(cpus=self.cpus_per_node, mem_mb=self.mem_mb, gpus=self.gpus_per_node)

    @property
    def total(self) -> Resources:
        return Resources(
            cpus=self.cpus_per_node * self.nodes,
            mem_mb=self.mem_mb * self.nodes,
            gpus=self.gpus_per_node * self.nodes,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeAllocation:
    """One node's share of a job: CPU count, MiB and the exact GPU indices on that node."""

    node: str
    cpus: int
    mem_mb: int
    gpu_indices: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    nodes: tuple[NodeAllocation, ...] = field(default_factory=tuple)

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(part.node for part in self.nodes)

    @property
    def total(self) -> Resources:
        return Resources(
            cpus=sum(part.cpus for part in self.nodes),
            mem_mb=sum(part.mem_mb for part in self.nodes),
            gpus=sum(len(part.gpu_indices) for part in self.nodes),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningJob:
    """A job holding an allocation, expected back at ``start_time + time_limit``."""

    request: JobRequest
    allocation: Allocation
    start_time: int

    @property
    def expected_end(self) -> int:
        return self.start_time + self.request.time_limit_s


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishedJob:
    """A job that has left the queue; dependencies read its final state and exit code."""

    job_id: int
    state: JobState
    exit_code: int = 0

    @property
    def succeeded(self) -> bool:
        return self.state is JobState.COMPLETED and self.exit_code == 0
