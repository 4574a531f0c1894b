"""Mean and Sum: running reductions of values a custom loop passes (Keras's reduction metrics)."""

from __future__ import annotations

from typing import Any

import numpy as np

from eigennet.metrics.metric import Metric


class _Reduce(Metric):
    """Keeps Σ w·v and Σ w over every value passed (weights broadcast to the values' shape)."""

    def __init__(self, name: str, dtype: Any = None) -> None:
        super().__init__(name, dtype)
        self._sums = np.zeros(2, np.float64)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        v = np.asarray(values, dtype=self._dtype)
        if sample_weight is None:
            w = np.ones_like(v)
        else:
            w = np.asarray(sample_weight, dtype=self._dtype)
            while w.ndim < v.ndim:
                w = w[..., None]
            try:
                w = np.broadcast_to(w, v.shape)
            except ValueError:
                raise ValueError(
                    f"{type(self).__name__}: sample_weight of shape {np.shape(sample_weight)} "
                    f"does not broadcast to the values' shape {v.shape}"
                ) from None
        assert self._sums is not None
        self._sums += [float(np.sum(v * w, dtype=np.float64)), float(np.sum(w, dtype=np.float64))]

    def __call__(self, values: Any, sample_weight: Any = None) -> Any:  # type: ignore[override]
        self.update_state(values, sample_weight)
        return self.result()

    def _core_metric(self, weighted: bool = False) -> Any:
        raise ValueError(
            f"{type(self).__name__} reduces values a custom loop passes to it; it is not a "
            "metric of (y_true, y_pred) for compile(metrics=...)."
        )


class Mean(_Reduce):
    """The (weighted) mean of every value passed to update_state."""

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name, dtype)

    def result(self) -> Any:
        assert self._sums is not None
        total, count = self._sums
        return self._dtype.type(total / count if count else 0.0)


class Sum(_Reduce):
    """The (weighted) sum of every value passed to update_state."""

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name, dtype)

    def result(self) -> Any:
        assert self._sums is not None
        return self._dtype.type(self._sums[0])
