"""Sequential: a plain stack of layers (a functional graph with one path)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.layer import KerasTensor, Layer, unique_name
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
            self._build_chain()
        if not trainable:
            self.trainable = False

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @layers.setter
    def layers(self, _: Any) -> None:
        raise AttributeError(
            "`Sequential.layers` attribute is reserved and should not be used. Use `add()` and "
            "`pop()` to change the layers in this model."
        )

    def _check_unchanged(self, action: str) -> None:
        if self._fitting:
            raise RuntimeError(
                f"Model {self.name!r} is being trained by fit(): you cannot {action} until fit "
                "returns (stop training with model.stop_training = True first)."
            )

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Appends a layer (or sets the input with an `Input`)."""
        self._check_unchanged("add() a layer")
        if isinstance(layer, KerasTensor) and isinstance(layer._input_layer, InputLayer):
            layer = layer._input_layer
        if isinstance(layer, InputLayer):
            if self._has_input:
                raise ValueError(self._configured("add a different Input layer to it."))
            if self._layers:
                raise ValueError("An Input must come first in a Sequential model.")
            self._input_shape = layer.shape
            self._has_input = True
            return
        if not isinstance(layer, Layer) and not getattr(layer, "_is_model", False):
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
        first_shape = getattr(layer, "_input_shape", None)
        if not self._layers and self._input_shape is None and first_shape is not None:
            self._input_shape = first_shape
        self._layers.append(layer)
        if rebuild and self._input_shape is not None:
            try:
                self._build_chain()
            except Exception:
                self._layers.pop()
                raise

    def _configured(self, action: str) -> str:
        """Keras's sentence for an action its Input contradicts."""
        return (
            f"Sequential model '{self.name}' has already been configured to use input shape "
            f"{(None, *(self._input_shape or ()))}. You cannot {action}"
        )

    def pop(self, rebuild: bool = True) -> Layer:
        """Removes and returns the last layer."""
        self._check_unchanged("pop() a layer")
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        if rebuild and self._layers and self._input_shape is not None:
            self._build_chain()
        elif not self._layers:
            self._net = None
        return layer

    def _build_chain(self) -> None:
        assert self._input_shape is not None
        x = Input(self._input_shape)
        t = x
        for layer in self._layers:
            t = layer(t)
        self.inputs, self.outputs = [x], [t]
        self._build()

    def build(self, input_shape: Any = None) -> None:
        """Builds the model for inputs of shape `(batch, ...)`."""
        if input_shape is None:
            raise ValueError("build() needs input_shape=(None, n_features).")
        shape = tuple(int(d) for d in tuple(input_shape)[1:])
        if self._has_input and shape != self._input_shape:
            raise ValueError(self._configured(f"build it with input_shape {tuple(input_shape)}"))
        if self._net is not None and shape == self._input_shape:
            return  # already built for this shape: building again must not reset the weights
        self._input_shape = shape
        self._build_chain()

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
        self._build_chain()
