"""ELU: `z` for z > 0, else `alpha * (exp(z) - 1)`."""

from __future__ import annotations

from typing import Any

from eigennet.layers.activation import Activation, activation_argument
from eigennet.layers.layer import Layer


class ELU(Activation):
    """Exponential linear unit with Keras's `alpha` (default 1)."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__("elu", **kwargs)
        self.alpha = activation_argument("ELU", "alpha", alpha, minimum=False)
        self._activation_args = {"alpha": self.alpha}

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), "alpha": self.alpha}
