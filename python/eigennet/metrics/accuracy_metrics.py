"""Accuracy metrics: the mean over samples of 1 for a right prediction, 0 for a wrong one."""

from __future__ import annotations

from typing import Any

from eigennet.metrics.metric import Metric


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"Argument `k` must be an integer >= 1. Received: k={k!r}")
    return k


class BinaryAccuracy(Metric):
    """How often predictions above `threshold` match binary labels (per output, averaged)."""

    _core_kind = "binary_accuracy"

    def __init__(
        self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5
    ) -> None:
        super().__init__(name, dtype)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"Argument `threshold` must be a number. Received: {threshold!r}")
        self.threshold = float(threshold)

    def _core_args(self) -> dict[str, Any]:
        return {"threshold": self.threshold}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """How often the largest prediction is the class of a one-hot label."""

    _core_kind = "categorical_accuracy"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class SparseCategoricalAccuracy(Metric):
    """How often the largest prediction is the integer label."""

    _core_kind = "sparse_categorical_accuracy"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class TopKCategoricalAccuracy(Metric):
    """How often a one-hot label's class is among the `k` largest predictions (ties count in)."""

    _core_kind = "top_k_categorical_accuracy"

    def __init__(
        self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        super().__init__(name, dtype)
        self.k = _check_k(k)

    def _core_args(self) -> dict[str, Any]:
        return {"k": self.k}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """How often the integer label is among the `k` largest predictions (ties count in)."""

    _core_kind = "sparse_top_k_categorical_accuracy"

    def __init__(
        self,
        k: int = 5,
        name: str = "sparse_top_k_categorical_accuracy",
        dtype: Any = None,
        from_sorted_ids: bool = False,
    ) -> None:
        super().__init__(k, name, dtype)
        # Keras's from_sorted_ids: y_pred holds class ids sorted by score, (batch, >= k).
        self.from_sorted_ids = bool(from_sorted_ids)

    def _core_args(self) -> dict[str, Any]:
        return {**super()._core_args(), "from_sorted_ids": self.from_sorted_ids}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_sorted_ids": self.from_sorted_ids}
