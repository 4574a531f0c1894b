"""GaussianDropout: multiplicative N(1, rate / (1 - rate)) noise in training."""

from __future__ import annotations

from typing import Any, Optional

from eigennet.layers.dropout import check_rate, check_seed
from eigennet.layers.layer import Layer


class GaussianDropout(Layer):
    """Multiplies each input by N(1, rate / (1 - rate)) noise in training; the identity
    otherwise."""

    _kind = "gaussian_dropout"
    _flat_only = False

    def __init__(self, rate: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = check_rate(rate)
        self.seed = check_seed(seed)

    def _core_args(self) -> Any:
        ints = {} if self.seed is None else {"seed": self.seed}
        return ints, {"rate": self.rate}, {}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
