"""Activation: applies an activation function to its input."""

from __future__ import annotations

import math
from typing import Any

from eigennet import activations
from eigennet.layers.dense import activation_property
from eigennet.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function: `Activation("relu")`. Softmax works over the features of
    a flat sample."""

    _kind = "activation"
    _flat_only = False
    activation = activation_property()

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        # The function's arguments (ReLU's, LeakyReLU's, ELU's), computed by the core.
        self._activation_args: dict[str, float] = {}

    def _check_inputs(self, shapes: list[tuple[int, ...]]) -> None:
        super()._check_inputs(shapes)
        name = self.activation.__name__
        if name in ("softmax", "log_softmax") and len(shapes[0]) != 1:
            raise ValueError(
                f"Layer {self.name!r}: {name} over samples of shape {shapes[0]} needs a "
                "Flatten first (it normalises over the features of a flat sample)."
            )

    def _core_args(self) -> Any:
        return {}, dict(self._activation_args), {"activation": self.activation.__name__}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


def activation_argument(layer: str, name: str, value: Any, minimum: bool = True) -> float:
    """A float argument of an activation layer, in Keras's words when it is None or negative
    (`minimum`), and refused when it is not a finite number."""
    if value is None or (minimum and isinstance(value, (int, float)) and value < 0):
        raise ValueError(
            f"{name} of a {layer} layer cannot be None or a negative value. Received: "
            f"{name}={value}"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} of a {layer} layer must be a finite float. Received: {value!r}")
    return float(value)
