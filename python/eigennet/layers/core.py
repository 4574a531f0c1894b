"""The layer classes. A layer holds its configuration; its weights live in the flat parameter
buffer of the C++ model it belongs to (`get_weights()` returns copies)."""

from __future__ import annotations

import math
import re
from typing import Any, Optional, Sequence

import numpy as np

from eigennet import _core, activations, initializers, regularizers

_NAME_COUNTS: dict[str, int] = {}


def unique_name(base: str) -> str:
    """Keras-style automatic names: `dense`, `dense_1`, `dense_2`, ..."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def check_input_shape(shape: Any, what: str = "shape") -> tuple[int, ...]:
    """A sample's shape: `(n_features,)`, or e.g. `(28, 28)` for a model that starts with
    Flatten. Every dimension a positive int."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what} must be a tuple such as (n_features,). Received: {shape!r}")
    shape = tuple(shape)
    if not shape or any(
        isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0 for k in shape
    ):
        raise ValueError(f"Every dimension must be a positive int. Received: {what}={shape}")
    return tuple(int(k) for k in shape)


def _check_shape(shape: Any, what: str = "shape") -> tuple[int]:
    """A flat sample shape `(n_features,)`, as dense layers take."""
    checked = check_input_shape(shape, what)
    if len(checked) != 1:
        raise ValueError(
            f"Dense layers take flat feature vectors: {what} must be (n_features,). Add a "
            f"Flatten layer first for inputs of shape {checked}. Received: {what}={checked}"
        )
    return (checked[0],)


class KerasTensor:
    """A symbolic tensor of a functional model: a shape and the layer that produced it."""

    def __init__(
        self,
        shape: tuple[Optional[int], ...],
        layer: Optional[Layer] = None,
        parent: Optional[KerasTensor] = None,
        name: str = "",
    ) -> None:
        self.shape = shape
        self.dtype = None
        self.name = name
        self._layer = layer
        self._parent = parent

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, name={self.name}>"


class Layer:
    """Base class of eigennet layers.

    Args:
        name: the layer's name; Keras-style automatic names when None.
        input_shape: optional `(n_features,)` (legacy Keras style for a first layer).
    """

    _kind = ""

    def __init__(self, name: Optional[str] = None, **kwargs: Any) -> None:
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string. Received: name={name!r}")
        self.name = name or unique_name(_snake(type(self).__name__))
        self._input_shape: Optional[tuple[int, ...]] = None
        if input_shape is not None:
            self._input_shape = check_input_shape(input_shape, "input_shape")
        elif input_dim is not None:
            self._input_shape = _check_shape((input_dim,), "input_dim")
        self._net: Any = None  # the models.net._Net holding the weights
        self._index = -1
        self._input_dim: Optional[int] = None
        self._pending: Optional[list[np.ndarray]] = None
        self.trainable = True

    # Building -----------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self._input_dim is not None

    def compute_output_shape(self, input_shape: tuple[Optional[int], ...]) -> tuple:
        """The output shape for inputs of shape `(batch, n_features)`."""
        return tuple(input_shape)

    def _spec(self, n_inputs: int) -> Any:
        raise NotImplementedError

    def _weight_shapes(self) -> list[tuple[int, ...]]:
        return []

    def _init_specs(self) -> Optional[tuple[Any, Any]]:
        return None

    # Weights ------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the layer's weights in Keras order (`[kernel, bias]` for Dense)."""
        if self._net is not None:
            return self._net.layer_weights(self._index)
        if self._pending is not None:
            return [w.copy() for w in self._pending]
        return []

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the layer's weights from numpy arrays of the shapes `get_weights()` returns."""
        shapes = self._weight_shapes()
        if not self.built:
            raise ValueError(
                f"Layer {self.name!r} is not built yet: its weight shapes are unknown. Call it "
                "on an input or build the model first."
            )
        weights = list(weights)
        if len(weights) != len(shapes):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of "
                f"length {len(weights)}, but the layer was expecting {len(shapes)} weights."
            )
        arrays = []
        for i, (w, shape) in enumerate(zip(weights, shapes)):
            a = np.asarray(w)
            if a.dtype.kind not in "fiub":
                raise TypeError(f"Weight {i} of layer {self.name!r} must be numeric, got {a.dtype}")
            if a.shape != shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {shape} is not compatible with provided "
                    f"weight shape {a.shape}."
                )
            arrays.append(a)
        if self._net is not None:
            self._net.set_layer_weights(self._index, arrays)
        else:
            self._pending = [a.copy() for a in arrays]

    @property
    def weights(self) -> list[np.ndarray]:
        return self.get_weights()

    def count_params(self) -> int:
        """Number of weights of the layer (it must be built)."""
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet.")
        return int(sum(math.prod(s) for s in self._weight_shapes()))

    # Calling ------------------------------------------------------------------------------
    def __call__(self, inputs: Any, training: bool = False) -> Any:
        if isinstance(inputs, KerasTensor):
            shape = inputs.shape
            dim = _check_shape(shape[1:], "input shape")[0]
            self._bind_input(dim)
            return KerasTensor(self.compute_output_shape(shape), self, inputs, self.name)
        from eigennet.models.net import _Net

        x = np.asarray(inputs)
        if x.ndim != 2:
            raise ValueError(f"Layer {self.name!r} expects a 2-D array, got shape {x.shape}")
        self._bind_input(x.shape[1])
        net = _Net([self], x.shape[1], attach=False)
        if self._net is not None or self._pending is not None:
            net.set_layer_weights(0, self.get_weights())
        elif self._net is None:
            self._pending = net.layer_weights(0) or None
        return net.predict(x, batch_size=max(1, len(x)), training=training)

    def _bind_input(self, dim: int) -> None:
        if self._input_dim is not None and self._input_dim != dim:
            raise ValueError(
                f"Layer {self.name!r} was built for {self._input_dim} input features and cannot "
                f"take {dim}."
            )
        self._input_dim = dim

    # Config -------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a dict (what `from_config` takes)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Creates an instance from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class InputLayer(Layer):
    """The input of a model: `shape=(n_features,)`."""

    def __init__(
        self,
        shape: Any = None,
        batch_size: Optional[int] = None,
        name: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if shape is None:
            shape = kwargs.pop("input_shape", None)
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. shape=(n_features,).")
        self.shape = check_input_shape(shape)
        self.batch_size = batch_size
        self.output = KerasTensor((batch_size,) + self.shape, self, None, self.name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "shape": self.shape, "batch_size": self.batch_size}


def Input(  # noqa: N802 (Keras's name)
    shape: Any = None,
    batch_size: Optional[int] = None,
    dtype: Any = None,
    name: Optional[str] = None,
) -> KerasTensor:
    """A symbolic input of shape `(batch, n_features)` for functional models.

    Example:
        >>> x = Input(shape=(4,))
        >>> x.shape
        (None, 4)
    """
    return InputLayer(shape=shape, batch_size=batch_size, name=name).output


def _activation_property() -> Any:
    """`layer.activation`, as Keras: a function; setting a name, a function or None (linear)
    works until the layer is built into a model. After that the model computes with the
    activation it was built with, so a change is refused rather than silently ignored."""

    def get(self: Any) -> Any:
        return self._activation

    def set(self: Any, value: Any) -> None:
        fn = activations.get(value)
        if getattr(self, "_net", None) is not None:
            raise NotImplementedError(
                f"Layer {self.name!r} is already part of a built model, which computes with the "
                f"activation it was built with ({self._activation.__name__}): changing it to "
                f"{fn.__name__} afterwards is not supported. Set the activation before the "
                "model is built, or build a new model with this layer."
            )
        self._activation = fn

    return property(get, set)


class Dense(Layer):
    """Densely connected layer: `output = activation(inputs @ kernel + bias)`.

    Args:
        units: output width (positive int).
        activation: name or eigennet.activations function; None is linear.
        use_bias: whether to add a bias vector.
        kernel_initializer: for the kernel of shape `(input_dim, units)`.
        bias_initializer: for the bias of shape `(units,)`.
        kernel_regularizer: optional `L1`, `L2` or `L1L2`.

    Example:
        >>> layer = Dense(2, activation="relu")
    """

    _kind = "dense"
    activation = _activation_property()

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Keras raises ValueError for a non-integer as for a non-positive width.
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                f"Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units!r}"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def compute_output_shape(self, input_shape: tuple[Optional[int], ...]) -> tuple:
        return (input_shape[0], self.units)

    def _spec(self, n_inputs: int) -> Any:
        s = _core.LayerSpec()
        s.kind = "dense"
        s.n_units = self.units
        s.activation = self.activation.__name__
        s.use_bias = self.use_bias
        if self.kernel_regularizer is not None:
            s.l1, s.l2 = self.kernel_regularizer.l1, self.kernel_regularizer.l2
        return s

    def _weight_shapes(self) -> list[tuple[int, ...]]:
        if self._input_dim is None:
            return []
        shapes: list[tuple[int, ...]] = [(self._input_dim, self.units)]
        if self.use_bias:
            shapes.append((self.units,))
        return shapes

    def _init_specs(self) -> tuple[Any, Any]:
        return self.kernel_initializer._spec(), self.bias_initializer._spec()

    @property
    def kernel(self) -> np.ndarray:
        """A copy of the kernel, shape `(input_dim, units)`."""
        return self.get_weights()[0]

    @property
    def bias(self) -> Optional[np.ndarray]:
        """A copy of the bias, shape `(units,)`, or None without bias."""
        return self.get_weights()[1] if self.use_bias else None

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dense:
        """Creates an instance from the output of `get_config()`."""
        config = dict(config)
        config["kernel_initializer"] = initializers.deserialize(config["kernel_initializer"])
        config["bias_initializer"] = initializers.deserialize(config["bias_initializer"])
        config["kernel_regularizer"] = regularizers.deserialize(config.get("kernel_regularizer"))
        return cls(**config)


class Dropout(Layer):
    """Inverted dropout: in training, zeroes each input with probability `rate` and scales the
    rest by `1 / (1 - rate)`; identity at inference.

    Args:
        rate: float in [0, 1).
        seed: optional int for a mask stream of the layer's own.
    """

    _kind = "dropout"

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: Optional[int] = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise TypeError(f"rate must be a float. Received: rate={rate!r}")
        if not (0 <= rate < 1) or not math.isfinite(rate):
            raise ValueError(
                f"Invalid value received for argument `rate`. Expected a float value between "
                f"0 and 1. Received: rate={rate}"
            )
        if noise_shape is not None:
            raise ValueError("noise_shape is not supported: masks are drawn per element.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be None or a non-negative int. Received: seed={seed!r}")
        self.rate = float(rate)
        self.seed = seed

    def _spec(self, n_inputs: int) -> Any:
        s = _core.LayerSpec()
        s.kind = "dropout"
        s.rate = self.rate
        if self.seed is not None:
            s.has_seed, s.seed = True, self.seed
        return s

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "rate": self.rate, "seed": self.seed}


class Activation(Layer):
    """Applies an activation function: `Activation("relu")`."""

    _kind = "activation"
    activation = _activation_property()

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def _spec(self, n_inputs: int) -> Any:
        s = _core.LayerSpec()
        s.kind = "activation"
        s.activation = self.activation.__name__
        return s

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "activation": activations.serialize(self.activation)}


class Flatten(Layer):
    """Flattens each sample: `(batch, 28, 28)` becomes `(batch, 784)`.

    A model whose input has more than one dimension starts with Flatten; the reshape happens once
    at the edge, a view of C-ordered input, never a copy inside the training loop. On flat input
    it does nothing.

    Example:
        >>> model = Sequential([Input((28, 28)), layers.Flatten(), layers.Dense(10)])
    """

    _kind = "flatten"

    def __init__(self, data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Unknown data_format. Received: data_format={data_format!r}")
        self.data_format = data_format

    @property
    def built(self) -> bool:
        return True

    def count_params(self) -> int:
        """Always 0: Flatten has no weights."""
        return 0

    def compute_output_shape(self, input_shape: tuple[Optional[int], ...]) -> tuple:
        dims: list[int] = [int(d) for d in input_shape[1:] if d is not None]
        return (input_shape[0], math.prod(dims))

    def __call__(self, inputs: Any, training: bool = False) -> Any:
        if isinstance(inputs, KerasTensor):
            check_input_shape(inputs.shape[1:], "input shape")
            return KerasTensor(self.compute_output_shape(inputs.shape), self, inputs, self.name)
        x = np.asarray(inputs)
        return x.reshape(len(x), -1)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "data_format": self.data_format}


LAYER_CLASSES: dict[str, type[Layer]] = {
    "Flatten": Flatten,
    "Dense": Dense,
    "Dropout": Dropout,
    "Activation": Activation,
}
