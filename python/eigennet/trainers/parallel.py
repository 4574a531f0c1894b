"""fit under `eigennet.distribution.DataParallel`: the checks, the state every rank starts
from, and the split the C++ epoch takes (Model::train_shards)."""

from __future__ import annotations

import sys
import time
import traceback
from typing import Any, Optional

import numpy as np

from eigennet import distribution as _distribution


class Plan:
    """How fit's C++ epochs split each batch: `shards` shards, computed in turn here, or one
    per MPI rank through `collective` (the core's capsule); with `own_shard` every rank
    passes its own shard of the data."""

    def __init__(
        self, shards: int = 1, collective: Any = None, world: Any = None, own_shard: bool = False
    ) -> None:
        self.shards = shards
        self.collective = collective
        self.world = world
        self.own_shard = own_shard

    def kwargs(self) -> dict[str, Any]:
        return {"shards": self.shards, "collective": self.collective, "own_shard": self.own_shard}

    def step_batch(self, batch_size: int) -> int:
        """The rows of a global batch of batch_size that a step of this rank takes from the
        data it was given."""
        return batch_size // self.shards if self.own_shard else batch_size

    def abort_job(self) -> None:
        """After an error inside the epochs of a run across processes: the others would wait
        for this rank's gradients (until their timeout) and MPI's exit would wait for them, so
        the error is printed and the whole job aborted (MPI_Abort), as `python -m mpi4py` does
        for an uncaught exception. Ctrl-C on mpirun ends every rank this way."""
        if self.world is None:
            return
        traceback.print_exc()
        sys.stderr.flush()
        sys.stdout.flush()
        self.world.Abort(1)


def active() -> Optional[_distribution.DataParallel]:
    """The DataParallel distribution, when it splits batches (more than one device)."""
    dist = _distribution.distribution()
    return dist if dist is not None and len(dist.devices) > 1 else None


def own_shards() -> Optional[_distribution.DataParallel]:
    """The DataParallel distribution across MPI ranks that each pass their own shard (one
    process with several devices cannot: DataParallel refuses it)."""
    dist = active()
    return None if dist is None or dist.auto_shard_dataset else dist


def refuse(what: str, own_only: bool = False) -> None:
    """Raises for a path DataParallel does not split: under any DataParallel (fit's batches
    pulled from Python), or with `own_only` where every rank passes its own shard only (there
    a pass run whole on each rank would cover that rank's data alone)."""
    if (own_shards() if own_only else active()) is not None:
        raise ValueError(
            f"DataParallel does not split {what} yet: pass NumPy arrays to fit and evaluate, "
            "or set_distribution(None)."
        )


def evaluation() -> dict[str, Any]:
    """The core evaluate's arguments: with own shards, every rank's evaluation is gathered
    into one over all of them."""
    dist = own_shards()
    if dist is None:
        return {}
    return {"shards": dist.num_processes, "collective": dist._transport()}


def _wait(world: Any, request: Any, what: str) -> None:
    """Waits for one of fit's opening collectives at most the DataParallel timeout; past it a
    rank failed before fit or never called it, and the job is aborted (the others would wait
    in MPI_Finalize for this rank's pending collective)."""
    limit = _distribution.timeout()
    deadline = time.monotonic() + limit
    while not request.Test():
        if time.monotonic() > deadline:
            sys.stderr.write(
                f"DataParallel: rank {world.Get_rank()} waited {limit:g} s for the other ranks "
                f"at the start of fit ({what}): one failed before fit or did not call it. "
                "Aborting the job.\n"
            )
            sys.stderr.flush()
            world.Abort(1)
        time.sleep(0.0002)


def prepare(model: Any, n: int, batch_size: int, epochs: int, initial_epoch: int) -> Plan:
    """The plan of a fit on n samples. Across MPI ranks: checks that every rank passes the
    same sizes, then copies rank 0's weights, optimizer state and random streams to every
    rank, so that all start equal and draw the same shuffles."""
    dist = active()
    if dist is None:
        return Plan()
    from eigennet.layers.batch_normalization import BatchNormalization

    for layer in model._net.layers:
        if isinstance(layer, BatchNormalization) and layer.trainable:
            raise ValueError(
                f"DataParallel cannot train BatchNormalization layer '{layer.name}' yet: each "
                "shard would normalise with its own batch statistics and update the moving "
                "ones on its own. Freeze it (trainable=False) or train without DataParallel."
            )
    world = dist._world
    if world is None:
        return Plan(len(dist.devices))
    own = not dist.auto_shard_dataset
    # Every rank takes part in the allgather before any raises, so that all raise alike.
    core = model._net.core
    params, stats, slots = core.get_params(), core.get_stats(), core.get_state()
    # Every rank takes part in the gather before any raises, so that all raise alike.
    mine = np.array(
        [
            n,
            batch_size,
            epochs,
            initial_epoch,
            params.size,
            stats.size,
            slots.size,
            params.dtype.itemsize,
        ],
        dtype=np.int64,
    )
    every = np.zeros((world.Get_size(), mine.size), dtype=np.int64)
    _wait(world, world.Iallgather(mine, every), "checking the fit arguments")
    sizes = [tuple(int(v) for v in row[:4]) for row in every]
    if any(s != sizes[0] for s in sizes):
        what = "as many samples of its own" if own else "the same data"
        raise ValueError(
            f"Under DataParallel every rank passes {what} and the same fit arguments. "
            "Received (samples, batch_size, epochs, initial_epoch) per rank: "
            + ", ".join(f"rank {r}: {s}" for r, s in enumerate(sizes))
        )
    if (every[:, 4:] != every[0, 4:]).any():
        raise ValueError(
            "Under DataParallel every rank trains the same model (in the same floatx). "
            "Received (parameters, statistics, optimizer slots, bytes per number) per rank: "
            + ", ".join(
                f"rank {r}: {tuple(int(v) for v in row[4:])}" for r, row in enumerate(every)
            )
        )
    ranks = world.Get_size()
    if own and batch_size % ranks:
        raise ValueError(
            "With auto_shard_dataset=False every rank computes batch_size / N rows of its own "
            f"shard per step, so batch_size must be divisible by the N={ranks} processes. "
            f"Received: batch_size={batch_size}"
        )
    # Rank 0's weights, statistics, optimizer slots, step count and random streams, as buffers.
    counters = np.array([core.iterations, *core.get_rng_state()], dtype=np.uint64)
    for buffer in (params, stats, slots, counters):
        _wait(world, world.Ibcast(buffer, root=0), "taking rank 0's state")
    if world.Get_rank() != 0:
        core.set_params(params)
        core.set_stats(stats)
        core.set_state(slots)
        core.iterations = int(counters[0])
        core.set_rng_state([int(v) for v in counters[1:]])
    return Plan(len(dist.devices), dist._transport(), world, own)
