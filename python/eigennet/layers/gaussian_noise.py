"""GaussianNoise: additive zero-centred noise in training (a regulariser)."""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet.layers.dropout import check_seed
from eigennet.layers.layer import Layer


class GaussianNoise(Layer):
    """Adds N(0, stddev**2) noise to each input in training; the identity otherwise."""

    _kind = "gaussian_noise"
    _flat_only = False

    def __init__(self, stddev: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)):
            raise TypeError(f"stddev must be a float. Received: stddev={stddev!r}")
        if not (stddev >= 0 and math.isfinite(stddev)):
            raise ValueError(
                f"Invalid value received for argument `stddev`. Expected a float value "
                f"greater than 0. Received: stddev={stddev}"
            )
        self.stddev = float(stddev)
        self.seed = check_seed(seed)

    def _core_args(self) -> Any:
        ints = {} if self.seed is None else {"seed": self.seed}
        return ints, {"stddev": self.stddev}, {}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
