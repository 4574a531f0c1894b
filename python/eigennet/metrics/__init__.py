"""Metrics with Keras 3's names, arguments and results, computed by the C++ core.

`compile(metrics=[...], weighted_metrics=[...])` takes names (`"accuracy"`, `"auc"`, `"mse"`,
...), classes or objects; their sums are kept inside the C++ epoch (no Python per batch). Used
alone, a metric is stateful: `update_state(y_true, y_pred, sample_weight=None)`, `result()`,
`reset_state()`.
"""

from __future__ import annotations

import re
from typing import Any

from eigennet.metrics.accuracy_metrics import (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from eigennet.metrics.confusion_metrics import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from eigennet.metrics.f_score_metrics import F1Score, FBetaScore
from eigennet.metrics.metric import Metric
from eigennet.metrics.reduction_metrics import Mean, Sum
from eigennet.metrics.regression_metrics import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)
from eigennet.utils import serialization

_ALL: list[type[Metric]] = [
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
    R2Score,
    TruePositives,
    FalsePositives,
    TrueNegatives,
    FalseNegatives,
    Precision,
    Recall,
    AUC,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    FBetaScore,
    F1Score,
    Mean,
    Sum,
]


def _snake(name: str) -> str:
    # Keras's to_snake_case: "AUC" -> "auc", "F1Score" -> "f1_score", "R2Score" -> "r2_score".
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


_CLASSES: dict[str, type[Metric]] = {c.__name__: c for c in _ALL}
# Keras's identifiers: class names, their snake case, and the short aliases.
_BY_NAME: dict[str, type[Metric]] = {**_CLASSES, **{_snake(c.__name__): c for c in _ALL}}
for _alias, _cls in {
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
}.items():
    _BY_NAME[_alias] = _BY_NAME[_alias.upper()] = _cls


def get(identifier: Any) -> Metric:
    """A metric object from a name, class or object (a new object for names and classes)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, type) and issubclass(identifier, Metric) and identifier in _ALL:
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    name = getattr(identifier, "__name__", None)
    if callable(identifier) and isinstance(name, str) and name in _BY_NAME:
        return _BY_NAME[name]()
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r}. Expected 'accuracy' or one of "
        f"{sorted(k for k in _BY_NAME if k.islower())}, an eigennet.metrics class or object "
        "(custom Python metrics cannot run inside the C++ core)."
    )


def resolve(identifier: Any, loss_core_name: str, n_outputs: int) -> tuple[str, Metric]:
    """(display name, metric object) of one entry of `compile(metrics=...)`, as Keras 3 resolves
    it: `"accuracy"`/`"acc"` become binary, sparse categorical or categorical accuracy by the
    loss and the output width; a name is its own display name, an object keeps its name."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        if loss_core_name.startswith("sparse_categorical"):
            return identifier, SparseCategoricalAccuracy(name=identifier)
        if loss_core_name.startswith("binary") or n_outputs == 1:
            return identifier, BinaryAccuracy(name=identifier)
        return identifier, CategoricalAccuracy(name=identifier)
    obj = get(identifier)
    if isinstance(identifier, str):
        obj.name = identifier  # Keras names a metric given by name after the name
    return obj.name, obj


def serialize(metric: Metric) -> dict[str, Any]:
    """The JSON-ready `{"class_name", "config"}` form of a metric."""
    return serialization.serialize(metric)


def deserialize(config: dict[str, Any]) -> Metric:
    """Rebuilds a metric from `serialize()` output; unknown classes raise ValueError."""
    return serialization.deserialize(config, _CLASSES, "metric")


__all__ = [c.__name__ for c in _ALL] + ["Metric", "get", "resolve", "serialize", "deserialize"]
