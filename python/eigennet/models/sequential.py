"""Sequential: a plain stack of layers."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from eigennet.layers.core import InputLayer, KerasTensor, Layer, unique_name
from eigennet.models.model import Model


class Sequential(Model):
    """A linear stack of layers. Without an `Input` first, it is built on the first data.

    Example:
        >>> model = Sequential([Input((4,)), layers.Dense(8, activation="relu"),
        ...                     layers.Dense(1, activation="sigmoid")])
    """

    def __init__(
        self,
        layers: Optional[Sequence[Any]] = None,
        name: Optional[str] = None,
        trainable: bool = True,
    ) -> None:
        self._setup(name or unique_name("sequential"))
        self._input_shape: Optional[tuple[int, ...]] = None
        self._has_input = False  # an Input fixed the input shape
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._input_shape is not None and self._layers:
            self._build(self._input_shape)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @layers.setter
    def layers(self, _: Any) -> None:
        raise AttributeError(
            "`Sequential.layers` attribute is reserved and should not be used. Use `add()` and "
            "`pop()` to change the layers in this model."
        )

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Appends a layer (or sets the input with an `Input`)."""
        if isinstance(layer, KerasTensor) and isinstance(layer._layer, InputLayer):
            layer = layer._layer
        if isinstance(layer, InputLayer):
            if self._has_input:
                raise ValueError(self._configured("add a different Input layer to it."))
            if self._layers:
                raise ValueError("An Input must come first in a Sequential model.")
            self._input_shape = layer.shape
            self._has_input = True
            return
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Only instances of eigennet.layers.Layer can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if any(existing is layer for existing in self._layers):
            raise ValueError(f"Layer {layer.name!r} is already in this model.")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                "All layers added to a Sequential model should have unique names. Name "
                f"'{layer.name}' is already the name of a layer in this model. Update the `name` "
                "argument to pass a unique name."
            )
        if not self._layers and self._input_shape is None and layer._input_shape is not None:
            self._input_shape = layer._input_shape
        self._layers.append(layer)
        if rebuild and self._input_shape is not None:
            self._build(self._input_shape)

    def _configured(self, action: str) -> str:
        """Keras's sentence for an action its Input contradicts."""
        return (
            f"Sequential model '{self.name}' has already been configured to use input shape "
            f"{(None, *(self._input_shape or ()))}. You cannot {action}"
        )

    def pop(self, rebuild: bool = True) -> Layer:
        """Removes and returns the last layer."""
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        layer._net, layer._index = None, -1
        if rebuild and self._layers and self._input_shape is not None:
            self._build(self._input_shape)
        elif not self._layers:
            self._net = None
        return layer

    def build(self, input_shape: Any = None) -> None:
        """Builds the model for inputs of shape `(batch, n_features)`."""
        if input_shape is None:
            raise ValueError("build() needs input_shape=(None, n_features).")
        shape = tuple(int(d) for d in tuple(input_shape)[1:])
        if self._has_input and shape != self._input_shape:
            raise ValueError(self._configured(f"build it with input_shape {tuple(input_shape)}"))
        if self._net is not None and shape == self._input_shape:
            return  # already built for this shape: building again must not reset the weights
        self._input_shape = shape
        self._build(self._input_shape)

    def _ensure_built(self, x: Any) -> None:
        if self._net is not None:
            return
        if not self._layers:
            raise ValueError("The Sequential model has no layers.")
        shape: Any = getattr(x, "shape", None)
        if shape is None:
            try:
                shape = np.shape(x)
            except Exception:
                shape = ()
        if len(shape) < 2 or any(d <= 0 for d in shape[1:]):
            raise ValueError(
                "Cannot build the model from input of shape "
                f"{tuple(shape)}: expected (samples, features)."
            )
        self._input_shape = tuple(int(d) for d in shape[1:])
        self._build(self._input_shape)
