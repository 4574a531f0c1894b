"""eigennet: fast dense neural networks with a Keras-shaped API over an Eigen C++ core.

Example:
    >>> import eigennet as en
    >>> model = en.Sequential([en.Input((2,)), en.layers.Dense(8, activation="tanh"),
    ...                        en.layers.Dense(1, activation="sigmoid")])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""

from __future__ import annotations

__version__ = "0.1.0"

import os as _os

# OpenMP threads that spin long after a parallel loop slow NumPy's threads (and ours) about 9x
# when the two alternate; threads that sleep at once make every loop pay a wake-up of tens of µs.
# A short spin (about 10-20 µs) keeps back-to-back loops of one training step cheap and leaves
# the cores alone between steps. It must be set before the OpenMP runtime loads with _core.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from eigennet import (
    activations,
    callbacks,
    config,
    constraints,
    datasets,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from eigennet.layers import Input
from eigennet.models import Model, Sequential
from eigennet.tape import GradientTape


def __getattr__(name: str) -> object:
    # scikit-learn is optional: `en.wrappers` is imported only when first used.
    if name == "wrappers":
        import importlib

        return importlib.import_module("eigennet.wrappers")
    raise AttributeError(f"module 'eigennet' has no attribute {name!r}")


__all__ = [
    "GradientTape",
    "Input",
    "Model",
    "Sequential",
    "__version__",
    "activations",
    "callbacks",
    "config",
    "constraints",
    "datasets",
    "distribution",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "utils",
]
