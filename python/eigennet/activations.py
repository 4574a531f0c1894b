"""Activation functions, computed by the same C++ kernels that `fit` uses.

Each takes an array of any shape (softmax and log_softmax work over the last axis) and returns a
numpy array of the same shape and float dtype (float32 input stays float32, anything else
becomes float64).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from eigennet import _core

NAMES = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "softmax",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "selu",
    "silu",
    "mish",
    "hard_sigmoid",
    "hard_silu",
    "relu6",
    "softsign",
    "exponential",
    "log_softmax",
)


def _apply(name: str, x: Any, **args: Any) -> np.ndarray:
    return _core.activation(name, np.asarray(x), **args)


def linear(x: Any) -> np.ndarray:
    """Identity: `g(z) = z`."""
    return _apply("linear", x)


def sigmoid(x: Any) -> np.ndarray:
    """Logistic sigmoid `1 / (1 + exp(-z))`, stable for any finite z."""
    return _apply("sigmoid", x)


def tanh(x: Any) -> np.ndarray:
    """Hyperbolic tangent."""
    return _apply("tanh", x)


def relu(
    x: Any, negative_slope: float = 0.0, max_value: Optional[float] = None, threshold: float = 0.0
) -> np.ndarray:
    """Rectified linear unit `max(z, 0)`; with Keras's arguments `z` above `threshold` (else 0),
    clipped to `[0, max_value]` when it is set, minus `negative_slope * max(threshold - z, 0)`.

    Example:
        >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], negative_slope=0.5)
        array([-5. , -2.5,  0. ,  5. , 10. ])
    """
    return _apply(
        "relu", x, negative_slope=negative_slope, max_value=max_value, threshold=threshold
    )


def softmax(x: Any) -> np.ndarray:
    """Softmax over the last axis (rows sum to one)."""
    return _apply("softmax", x)


def log_softmax(x: Any) -> np.ndarray:
    """`z - log(sum(exp(z)))` over the last axis (log-probabilities, computed stably)."""
    return _apply("log_softmax", x)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> np.ndarray:
    """`z` for z > 0, else `negative_slope * z` (Keras's default slope 0.2)."""
    return _apply("leaky_relu", x, negative_slope=negative_slope)


def elu(x: Any, alpha: float = 1.0) -> np.ndarray:
    """`z` for z > 0, else `alpha * (exp(z) - 1)`."""
    return _apply("elu", x, alpha=alpha)


def gelu(x: Any) -> np.ndarray:
    """Gaussian error linear unit in its exact erf form, `z * Phi(z)`."""
    return _apply("gelu", x)


def softplus(x: Any) -> np.ndarray:
    """`log(1 + exp(z))`, stable for any finite z."""
    return _apply("softplus", x)


def selu(x: Any) -> np.ndarray:
    """Scaled ELU: `scale * z` for z > 0, else `scale * alpha * (exp(z) - 1)`, with Keras's
    alpha = 1.67326324 and scale = 1.05070098."""
    return _apply("selu", x)


def silu(x: Any) -> np.ndarray:
    """Swish / SiLU: `z * sigmoid(z)`."""
    return _apply("silu", x)


swish = silu


def mish(x: Any) -> np.ndarray:
    """`z * tanh(softplus(z))`."""
    return _apply("mish", x)


def hard_sigmoid(x: Any) -> np.ndarray:
    """Keras 3's hard sigmoid: `0` for z <= -3, `1` for z >= 3, else `z / 6 + 0.5`."""
    return _apply("hard_sigmoid", x)


def hard_silu(x: Any) -> np.ndarray:
    """Hard SiLU / hard swish: `z * hard_sigmoid(z)`."""
    return _apply("hard_silu", x)


hard_swish = hard_silu


def relu6(x: Any) -> np.ndarray:
    """`min(max(z, 0), 6)`."""
    return _apply("relu6", x)


def softsign(x: Any) -> np.ndarray:
    """`z / (|z| + 1)`."""
    return _apply("softsign", x)


def exponential(x: Any) -> np.ndarray:
    """`exp(z)`."""
    return _apply("exponential", x)


def derivative(name: str, x: Any) -> np.ndarray:
    """The element-wise derivative `g'(z)` of an activation (not defined for softmax and
    log_softmax).

    Example:
        >>> derivative("sigmoid", [0.0])
        array([0.25])
    """
    return _core.activation(get(name).__name__, np.asarray(x), True)


_BY_NAME: dict[str, Callable[[Any], np.ndarray]] = {
    f.__name__: f
    for f in (
        linear,
        sigmoid,
        tanh,
        relu,
        softmax,
        leaky_relu,
        elu,
        gelu,
        softplus,
        selu,
        silu,
        mish,
        hard_sigmoid,
        hard_silu,
        relu6,
        softsign,
        exponential,
        log_softmax,
    )
}
# Keras's second names of the same functions (serialised under the first).
_BY_NAME["swish"], _BY_NAME["hard_swish"] = silu, hard_silu


def get(identifier: Any) -> Callable[[Any], np.ndarray]:
    """Resolves an activation given by name, by function, or None (linear).

    Raises:
        ValueError: for an unknown name or function.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(
                f"Unknown activation: {identifier!r}. Expected one of {sorted(_BY_NAME)}."
            )
        return _BY_NAME[identifier]
    if callable(identifier) and getattr(identifier, "__name__", None) in _BY_NAME:
        return _BY_NAME[identifier.__name__]
    raise ValueError(
        f"Unsupported activation: {identifier!r}. Pass a name or a function from "
        "eigennet.activations (custom Python activations cannot run inside the C++ core)."
    )


def serialize(activation: Callable[[Any], np.ndarray]) -> str:
    """The name of an activation function."""
    return get(activation).__name__
