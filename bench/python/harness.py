"""Worker-side helpers: synthetic data, shared initial weights, and timed loops.

Every framework draws the same data and the same Glorot-uniform weights (Keras layout: kernel
`(in, units)`, zero bias) from fixed seeds, so the three implementations train the same model.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from spec import MATMUL_SIZE, SEED, Workload

Run = Callable[[int], float]
WARM_BATCHES = 10  # a light warm-up of an epoch runs this many batches


@dataclass
class Bench:
    """`run(k)` performs the operation k times and returns the seconds measured. `warm`, when
    given, is a cheap stand-in for one call, doing `warm_fraction` of its work (a few batches of
    an epoch), that warms up heavy cases and estimates their time."""

    run: Run
    warm: Optional[Callable[[], Any]] = None
    warm_fraction: float = 1.0


def timed(op: Callable[[], Any]) -> Run:
    """Times k back-to-back calls of op."""

    def run(k: int) -> float:
        t0 = time.perf_counter()
        for _ in range(k):
            op()
        return time.perf_counter() - t0

    return run


def interleaved(op: Callable[[], Any], other: Callable[[], Any]) -> Run:
    """Times k calls of op, each preceded by an untimed call of other."""

    def run(k: int) -> float:
        total = 0.0
        for _ in range(k):
            other()
            t0 = time.perf_counter()
            op()
            total += time.perf_counter() - t0
        return total

    return run


def cycler(items: list[Any]) -> Callable[[], Any]:
    """Returns the items in turn, forever: training steps walk through distinct batches."""
    return itertools.cycle(items).__next__


def make_data(wl: Workload) -> tuple[np.ndarray, np.ndarray]:
    """x `(n, inputs)` float32; y integer labels `(n,)` (softmax) or 0/1 floats `(n, 1)`."""
    rng = np.random.default_rng(SEED)
    n, d = wl.n_samples, wl.sizes[0]
    if wl.output == "softmax":
        x = rng.random((n, d), dtype=np.float32)
        y = rng.integers(0, wl.sizes[-1], n, dtype=np.int64)
    else:
        x = rng.standard_normal((n, d), dtype=np.float32)
        y = (x[:, :5].sum(axis=1) > 0).astype(np.float32).reshape(-1, 1)
    return x, y


def initial_weights(wl: Workload) -> list[np.ndarray]:
    """[kernel0 (in, units), bias0 (units,), kernel1, bias1, ...], Glorot uniform, zero bias."""
    rng = np.random.default_rng(SEED + 1)
    weights = []
    for fan_in, fan_out in zip(wl.sizes[:-1], wl.sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, dtype=np.float32))
    return weights


def batch_pool(
    x: np.ndarray, y: np.ndarray, batch: int, limit: int = 64
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to `limit` distinct contiguous batches (views), so repeated steps see fresh data."""
    count = max(1, min(limit, len(x) // batch))
    return [(x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]) for i in range(count)]


def matmul_operands() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + 2)
    shape = (MATMUL_SIZE, MATMUL_SIZE)
    return rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)


def interference_mix(name: str, step: Callable[[], Any]) -> dict[str, Bench]:
    """A training step and a NumPy product, each alone and each with the other in between."""
    a, b = matmul_operands()

    def matmul() -> np.ndarray:
        return a @ b

    return {
        f"{name} step": Bench(timed(step)),
        f"{name} step, matmul between": Bench(interleaved(step, matmul)),
        f"{name} matmul": Bench(timed(matmul)),
        f"{name} matmul, step between": Bench(interleaved(matmul, step)),
    }
