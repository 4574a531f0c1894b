"""Regression metrics: mean errors over samples (weighted means for weighted_metrics), their
root, and the coefficient of determination."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from eigennet.metrics.metric import Metric


class MeanSquaredError(Metric):
    """The mean over samples of mean((y_true - y_pred)²)."""

    _core_kind = "mean_squared_error"

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class MeanAbsoluteError(Metric):
    """The mean over samples of mean(|y_true - y_pred|)."""

    _core_kind = "mean_absolute_error"

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class MeanAbsolutePercentageError(Metric):
    """The mean over samples of 100·mean(|y_true - y_pred| / max(|y_true|, ε))."""

    _core_kind = "mean_absolute_percentage_error"

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class MeanSquaredLogarithmicError(Metric):
    """The mean over samples of mean((log(max(y_pred, ε) + 1) - log(max(y_true, ε) + 1))²)."""

    _core_kind = "mean_squared_logarithmic_error"

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class RootMeanSquaredError(Metric):
    """sqrt of the (weighted) mean squared error over every sample seen."""

    _core_kind = "root_mean_squared_error"

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination 1 - Σ(y - p)² / Σ(y - ȳ)² per output, averaged as
    `class_aggregation` says; adjusted for `num_regressors` when > 0."""

    _core_kind = "r2_score"

    def __init__(
        self,
        class_aggregation: Optional[str] = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(name, dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one of "
                f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation}"
            )
        if (
            isinstance(num_regressors, bool)
            or not isinstance(num_regressors, int)
            or (num_regressors < 0)
        ):
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors

    def _core_args(self) -> dict[str, Any]:
        return {
            "class_aggregation": self.class_aggregation or "none",
            "num_regressors": self.num_regressors,
        }

    def _scalar(self, n_out: Optional[int]) -> bool:
        return self.class_aggregation is not None

    def result(self) -> Any:
        if self._sums is not None and self.num_regressors:
            samples = float(self._sums[4::5].sum())
            if self.num_regressors >= samples - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score. Falling "
                    "back to standard R2 score."
                    if self.num_regressors > samples - 1
                    else "Division by zero in Adjusted R2 score. Falling back to standard R2 "
                    "score.",
                    stacklevel=2,
                )
        return super().result()

    def _empty_result(self) -> Any:
        return self._dtype.type(np.nan)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
