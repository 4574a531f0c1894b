"""Dense: `output = activation(inputs @ kernel + bias)`."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from eigennet import activations, constraints, initializers, regularizers
from eigennet.layers.layer import Layer
from eigennet.variables import Variable


def activation_property() -> Any:
    """`layer.activation`, as Keras: a function; setting a name, a function or None (linear)
    works until the layer has run in a model. After that its models compute with the
    activation they were built with, so a change is refused rather than silently ignored."""

    def get(self: Any) -> Any:
        return self._activation

    def set(self: Any, value: Any) -> None:
        fn = activations.get(value)
        if any(m._net is not None and self in m._net.layers for m in getattr(self, "_models", ())):
            raise NotImplementedError(
                f"Layer {self.name!r} is already part of a built model, which computes with the "
                f"activation it was built with ({self._activation.__name__}): changing it to "
                f"{fn.__name__} afterwards is not supported. Set the activation before the "
                "model is built, or build a new model with this layer."
            )
        self._activation = fn
        self._drop_eager()

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
        bias_regularizer: the same for the bias.
        kernel_constraint: optional `MaxNorm`, `NonNeg`, `UnitNorm` or `MinMaxNorm`, applied
            after every update (axis 0: each unit's incoming weights).
        bias_constraint: the same for the bias.

    Example:
        >>> layer = Dense(2, activation="relu")
    """

    _kind = "dense"
    activation = activation_property()

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Keras raises ValueError for a non-integer as for a non-positive width.
        if (
            isinstance(units, bool)
            or not isinstance(units, (int, np.integer))
            or not 0 < units <= 2**40
        ):
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
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _output_sample_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return (self.units,)

    def _core_args(self) -> Any:
        nums = {}
        if self.kernel_regularizer is not None:
            nums = {"l1": self.kernel_regularizer.l1, "l2": self.kernel_regularizer.l2}
        if self.bias_regularizer is not None:
            nums.update(bias_l1=self.bias_regularizer.l1, bias_l2=self.bias_regularizer.l2)
        return (
            {"units": self.units, "use_bias": int(self.use_bias)},
            nums,
            {"activation": self.activation.__name__},
        )

    def _weight_decls(self) -> list[Any]:
        assert self._in_shapes is not None
        decls: list[Any] = [
            ("kernel", (self._in_shapes[0][0], self.units), False, self.kernel_initializer)
        ]
        if self.use_bias:
            decls.append(("bias", (self.units,), False, self.bias_initializer))
        return decls

    @property
    def kernel(self) -> Variable:
        """The kernel, shape `(input_dim, units)`."""
        v = self._variable("kernel")
        assert v is not None
        return v

    @property
    def bias(self) -> Optional[Variable]:
        """The bias, shape `(units,)`, or None without bias."""
        return self._variable("bias")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }

    def _constrained(self) -> list[tuple[str, Any]]:
        pairs = [("kernel", self.kernel_constraint)]
        if self.use_bias:
            pairs.append(("bias", self.bias_constraint))
        return [(name, c) for name, c in pairs if c is not None]

    def _regularized(self) -> list[tuple[str, Any]]:
        pairs = [("kernel", self.kernel_regularizer)]
        if self.use_bias:
            pairs.append(("bias", self.bias_regularizer))
        return [(name, reg) for name, reg in pairs if reg is not None]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dense:
        """Creates an instance from the output of `get_config()`."""
        config = dict(config)
        config["kernel_initializer"] = initializers.deserialize(config["kernel_initializer"])
        config["bias_initializer"] = initializers.deserialize(config["bias_initializer"])
        for key in ("kernel_regularizer", "bias_regularizer"):
            config[key] = regularizers.deserialize(config.get(key))
        for key in ("kernel_constraint", "bias_constraint"):
            config[key] = constraints.deserialize(config.get(key))
        return cls(**config)
