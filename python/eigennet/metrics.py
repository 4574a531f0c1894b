"""Metric names accepted by `compile(metrics=...)`, resolved as Keras 3 does.

Metrics are computed inside the C++ training loop; this module only maps names.
"""

from __future__ import annotations

from typing import Any

_ALIASES = {
    "binary_accuracy": "binary_accuracy",
    "categorical_accuracy": "categorical_accuracy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
    "mse": "mean_squared_error",
    "mean_squared_error": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mean_absolute_error": "mean_absolute_error",
}


def resolve(identifier: Any, loss_core_name: str, n_outputs: int) -> tuple[str, str]:
    """Returns (display name, core metric name) for a metric given by name.

    `"accuracy"`/`"acc"` become binary, sparse categorical or categorical accuracy depending on
    the loss and the output width, as in Keras.
    """
    if not isinstance(identifier, str):
        name = getattr(identifier, "__name__", None) or getattr(identifier, "name", None)
        if not isinstance(name, str):
            raise ValueError(f"Unknown metric: {identifier!r}. Pass a metric name.")
        identifier = name
    if identifier in ("accuracy", "acc"):
        if loss_core_name.startswith("sparse_categorical"):
            return identifier, "sparse_categorical_accuracy"
        if loss_core_name.startswith("binary") or n_outputs == 1:
            return identifier, "binary_accuracy"
        return identifier, "categorical_accuracy"
    if identifier not in _ALIASES:
        raise ValueError(
            f"Unknown metric: {identifier!r}. Expected 'accuracy' or one of {sorted(_ALIASES)}."
        )
    return identifier, _ALIASES[identifier]
