"""LeakyReLU: `z` for z > 0, else `negative_slope * z`."""

from __future__ import annotations

import warnings
from typing import Any

from eigennet.layers.activation import Activation, activation_argument
from eigennet.layers.layer import Layer


class LeakyReLU(Activation):
    """Leaky rectified linear unit with Keras's layer default slope 0.3 (the function's is
    0.2). Keras 2's `alpha=` is read as `negative_slope`, with Keras's deprecation warning."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2
            )
        super().__init__("leaky_relu", **kwargs)
        if negative_slope is None or (
            isinstance(negative_slope, (int, float)) and negative_slope < 0
        ):
            raise ValueError(
                "The negative_slope value of a Leaky ReLU layer cannot be None or negative "
                f"value. Expected a float. Received: negative_slope={negative_slope}"
            )
        self.negative_slope = activation_argument("LeakyReLU", "negative_slope", negative_slope)
        self._activation_args = {"negative_slope": self.negative_slope}

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), "negative_slope": self.negative_slope}
