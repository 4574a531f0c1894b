"""Activation: applies an activation function to its input."""

from __future__ import annotations

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

    def _check_inputs(self, shapes: list[tuple[int, ...]]) -> None:
        super()._check_inputs(shapes)
        name = self.activation.__name__
        if name in ("softmax", "log_softmax") and len(shapes[0]) != 1:
            raise ValueError(
                f"Layer {self.name!r}: {name} over samples of shape {shapes[0]} needs a "
                "Flatten first (it normalises over the features of a flat sample)."
            )

    def _core_args(self) -> Any:
        return {}, {}, {"activation": self.activation.__name__}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
