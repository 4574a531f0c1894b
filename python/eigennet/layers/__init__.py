"""Layers: `Input`, `Dense`, `Dropout`, `Activation`, with Keras 3's arguments and defaults."""

from __future__ import annotations

from eigennet.layers.core import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    KerasTensor,
    Layer,
)

__all__ = [
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "KerasTensor",
    "Layer",
]
