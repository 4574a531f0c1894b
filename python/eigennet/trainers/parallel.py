"""fit under `eigennet.distribution.DataParallel`: the checks, the state every rank starts
from, and the split the C++ epoch takes (Model::train_shards)."""

from __future__ import annotations

import sys
import traceback
from typing import Any, Optional

import numpy as np

from eigennet import distribution as _distribution


class Plan:
    """How fit's C++ epochs split each batch: `shards` shards, computed in turn here, or one
    per MPI rank through `collective` (the core's capsule)."""

    def __init__(self, shards: int = 1, collective: Any = None, world: Any = None) -> None:
        self.shards = shards
        self.collective = collective
        self.world = world

    def kwargs(self) -> dict[str, Any]:
        return {"shards": self.shards, "collective": self.collective}

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


def refuse(what: str) -> None:
    """Raises for a path DataParallel does not split (batches pulled from Python)."""
    if active() is not None:
        raise ValueError(
            f"DataParallel splits fit on arrays; {what} is not supported under it yet: pass "
            "NumPy arrays (the same on every rank), or set_distribution(None)."
        )


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
    sizes = world.allgather((n, batch_size, epochs, initial_epoch))
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            "Under DataParallel every rank passes the same data and fit arguments. Received "
            "(samples, batch_size, epochs, initial_epoch) per rank: "
            + ", ".join(f"rank {r}: {s}" for r, s in enumerate(sizes))
        )
    core = model._net.core
    state = world.bcast(
        (
            core.get_params(),
            core.get_stats(),
            core.get_state(),
            int(core.iterations),
            list(core.get_rng_state()),
        ),
        root=0,
    )
    if world.Get_rank() != 0:
        params, stats, slots, iterations, rng = state
        core.set_params(np.asarray(params))
        core.set_stats(np.asarray(stats))
        core.set_state(np.asarray(slots))
        core.iterations = iterations
        core.set_rng_state(rng)
    return Plan(len(dist.devices), dist._transport(), world)
