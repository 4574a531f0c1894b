"""The global seed: `set_random_seed(s)` makes every later model build, shuffle and dropout mask
reproducible (the draws themselves happen in C++ from each model's own stream)."""

from __future__ import annotations

import os
import random

_rng = random.Random(int.from_bytes(os.urandom(8), "little"))


def set_random_seed(seed: int) -> None:
    """Seeds eigennet, Python's `random` and NumPy's global generator, as Keras does.

    Args:
        seed: a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int. Received: seed={seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0. Received: seed={seed}")
    _rng.seed(seed)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed % 2**32)


def next_seed() -> int:
    """A 64-bit seed for the next model, drawn from the global stream."""
    return _rng.getrandbits(64)
