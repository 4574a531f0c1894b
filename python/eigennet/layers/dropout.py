"""Dropout: inverted dropout in training, the identity otherwise."""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet.layers.layer import Layer


def check_seed(seed: Any) -> Optional[int]:
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63
    ):
        raise ValueError(f"seed must be None or an int in [0, 2**63). Received: seed={seed!r}")
    return seed


def check_rate(rate: Any) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise TypeError(f"rate must be a float. Received: rate={rate!r}")
    if not (0 <= rate < 1) or not math.isfinite(rate):
        raise ValueError(
            f"Invalid value received for argument `rate`. Expected a float value between "
            f"0 and 1. Received: rate={rate}"
        )
    return float(rate)


class Dropout(Layer):
    """Inverted dropout: in training, zeroes each input with probability `rate` and scales the
    rest by `1 / (1 - rate)`; identity at inference.

    Args:
        rate: float in [0, 1).
        seed: optional int for a mask stream of the layer's own.
    """

    _kind = "dropout"
    _flat_only = False

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: Optional[int] = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.rate = check_rate(rate)
        if noise_shape is not None:
            raise ValueError("noise_shape is not supported: masks are drawn per element.")
        self.seed = check_seed(seed)

    def _core_args(self) -> Any:
        ints = {} if self.seed is None else {"seed": self.seed}
        return ints, {"rate": self.rate}, {}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
