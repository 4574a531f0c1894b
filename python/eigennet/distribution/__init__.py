"""Data parallelism with Keras 3's names: `DataParallel`, `set_distribution`, `distribution`,
`list_devices`.

Under `mpirun -n N python train.py` every rank runs the same script on the same arrays. With
`set_distribution(DataParallel())`, `fit` treats `batch_size` as the global batch: every rank
draws the same shuffle, rank r computes the gradient of rows [r·B/N, (r+1)·B/N) of each global
batch of B rows (shards differ by at most a row; a short last batch is split the same way, and
a shard may be empty when B < N), the gradients are gathered inside the C++ step and added in
rank order, and every rank applies the same update. Loss and metric sums are gathered the same
way, so every rank's logs, callbacks and decisions agree. In one process, `DataParallel` over
several devices (`devices=["cpu:0", "cpu:1"]`) computes the shards in turn: its weights equal
those of as many MPI ranks bit for bit.

With `DataParallel(auto_shard_dataset=False)` each rank passes its own shard of the data
instead, as many samples on every rank: step k's global batch is batch k of every rank's
shard (batch_size / N rows each, so N must divide batch_size), in rank order, and each rank
shuffles its own shard (all draw the same permutation). Validation and `evaluate` run on every
rank's own data and report the result over all of it; `predict` predicts each rank's inputs.

The transport is MPI: mpi4py initialises it, the optional build component `eigennet._mpi`
(built with `-Ccmake.define.EIGENNET_MPI=ON` against the system's Open MPI or MPICH) gathers.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional, Sequence

__all__ = ["DataParallel", "distribution", "list_devices", "set_distribution"]

# Environment variables a launcher sets to the number of processes it started.
_WORLD_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")
# Seconds a gather waits for the slowest rank before this rank raises (a rank died, raised or
# left fit early); EIGENNET_DATA_PARALLEL_TIMEOUT overrides it.
DEFAULT_TIMEOUT = 120.0

_current: Optional[DataParallel] = None


def _launched_size() -> int:
    for name in _WORLD_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def _mpi_world() -> Any:
    """mpi4py's COMM_WORLD when this process was started by an MPI launcher (or mpi4py is
    already in use), else None."""
    if _launched_size() <= 1 and "mpi4py.MPI" not in sys.modules:
        return None
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "This process was started by an MPI launcher, and DataParallel across processes "
            "needs mpi4py for the communicator: pip install mpi4py (or eigennet[mpi])."
        ) from e
    return MPI.COMM_WORLD


def list_devices(device_type: Optional[str] = None) -> list[str]:
    """Every device of the run: one CPU per MPI rank (`"cpu:r"` on rank r), or `["cpu:0"]` in
    one process."""
    if device_type not in (None, "cpu", "CPU"):
        raise ValueError(
            f"eigennet's DataParallel runs on CPUs. Received: device_type={device_type!r}"
        )
    world = _mpi_world()
    return [f"cpu:{r}" for r in range(1 if world is None else world.Get_size())]


def _device_index(device: Any) -> int:
    text = str(device).lower()
    kind, _, index = text.partition(":")
    if kind != "cpu" or not index.isdigit():
        raise ValueError(f"Devices are named 'cpu:<index>'. Received: device={device!r}")
    return int(index)


class DataParallel:
    """Keras 3's data parallelism: every device holds all the weights and computes the
    gradient of its shard of each global batch; the gradients are summed (in device order)
    before one update that every device applies.

    Args:
        device_mesh: not supported (a one-dimensional mesh is `devices`); must be None.
        devices: the devices, `"cpu:<i>"`, by default `list_devices()`. Across MPI ranks they
            must be all the ranks' devices in rank order; in one process, k devices compute k
            shards in turn (what k ranks would compute, bit for bit).
        auto_shard_dataset: True: every rank passes the whole data and computes its rows of
            each global batch. False: every rank passes its own shard of the data (as many
            samples on every rank) and computes batch_size / N rows of it per step; evaluate
            and validation cover every rank's data. Needs one process per device.
    """

    def __init__(
        self,
        device_mesh: Any = None,
        devices: Optional[Sequence[Any]] = None,
        auto_shard_dataset: bool = True,
    ) -> None:
        if device_mesh is not None:
            raise ValueError(
                "eigennet's DataParallel takes `devices`, not a device_mesh. "
                f"Received: device_mesh={device_mesh!r}"
            )
        if not isinstance(auto_shard_dataset, bool):
            raise ValueError(
                "auto_shard_dataset must be True or False. "
                f"Received: auto_shard_dataset={auto_shard_dataset!r}"
            )
        self.auto_shard_dataset = auto_shard_dataset
        world = _mpi_world()
        size = 1 if world is None else world.Get_size()
        names = list_devices() if devices is None else [str(d) for d in devices]
        if not names:
            raise ValueError("DataParallel needs at least one device. Received: devices=[]")
        indices = [_device_index(d) for d in names]
        if size > 1 and indices != list(range(size)):
            raise ValueError(
                f"Across {size} MPI ranks DataParallel runs on one device per rank, "
                f"{list_devices()}. Received: devices={names}"
            )
        if len(set(indices)) != len(indices):
            raise ValueError(f"Each device may appear once. Received: devices={names}")
        if not auto_shard_dataset and size == 1 and len(names) > 1:
            raise ValueError(
                "auto_shard_dataset=False means that each process passes its own shard of the "
                f"data, so it needs one MPI process per device; this is one process. Received: "
                f"devices={names}"
            )
        self.devices = names
        self.batch_dim_name = "batch"
        self._world = world if size > 1 else None
        self._collective: Any = None

    @property
    def num_processes(self) -> int:
        return 1 if self._world is None else int(self._world.Get_size())

    @property
    def process_id(self) -> int:
        return 0 if self._world is None else int(self._world.Get_rank())

    def __repr__(self) -> str:
        shard = "" if self.auto_shard_dataset else " auto_shard_dataset=False"
        return f"<DataParallel devices={self.devices}{shard}>"

    # -- what fit uses ------------------------------------------------------------------------

    def _transport(self) -> Any:
        """The core's collective capsule over MPI (None in one process), made once."""
        if self._world is None:
            return None
        if self._collective is None:
            try:
                from eigennet import _mpi
            except ImportError as e:
                raise ImportError(
                    "DataParallel across MPI ranks needs eigennet's MPI component, which this "
                    "build lacks: reinstall eigennet with "
                    "`pip install . -Ccmake.define.EIGENNET_MPI=ON` (needs an MPI such as "
                    "Debian's libopenmpi-dev)."
                ) from e
            self._collective = _mpi.world(timeout())
        return self._collective


def timeout() -> float:
    """Seconds a rank waits for the others in a gather (EIGENNET_DATA_PARALLEL_TIMEOUT)."""
    return float(os.environ.get("EIGENNET_DATA_PARALLEL_TIMEOUT", DEFAULT_TIMEOUT))


def set_distribution(value: Optional[DataParallel]) -> None:
    """Sets the distribution `fit` uses (None: one process, one device)."""
    global _current
    if value is not None and not isinstance(value, DataParallel):
        raise ValueError(
            "eigennet supports DataParallel distributions. "
            f"Received: distribution={type(value).__name__}"
        )
    _current = value


def distribution() -> Optional[DataParallel]:
    """The distribution set by `set_distribution`, or None."""
    return _current


def is_writer() -> bool:
    """False on every MPI rank but 0 of a DataParallel run: files are written by rank 0."""
    return _current is None or _current.process_id == 0
