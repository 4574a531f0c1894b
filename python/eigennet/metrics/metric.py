"""The base of eigennet's metrics: Keras 3's `Metric` interface over sums the C++ core keeps.

A metric is two halves, both in C++: every batch adds its samples' contributions into sums
(`eigennet/metrics.h`), and the result is computed from the sums. `compile(metrics=...)` runs both
inside the training loop; used alone, `update_state` and `result` call the same code.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from eigennet import _core
from eigennet.losses import match_targets


def _as_float_dtype(dtype: Any) -> np.dtype:
    d = np.dtype(dtype if dtype is not None else "float32")
    if d not in (np.float32, np.float64):
        raise ValueError(f"Metrics compute in float32 or float64. Received: dtype={dtype!r}")
    return d


class Metric:
    """A stateful metric: `update_state(y_true, y_pred, sample_weight=None)`, `result()`,
    `reset_state()`, as in Keras 3.

    Subclasses name their core kind (`_core_kind`) and its parameters (`_core_args`).
    """

    _core_kind = ""
    _default_name = ""

    def __init__(self, name: Optional[str] = None, dtype: Any = None) -> None:
        self.name = name if name is not None else self._default_name
        self._dtype = _as_float_dtype(dtype)
        self._sums: Optional[np.ndarray] = None
        self._n_out: Optional[int] = None

    @property
    def dtype(self) -> str:
        return self._dtype.name

    # the core's view ---------------------------------------------------------------------
    def _core_args(self) -> dict[str, Any]:
        return {}

    def _core_metric(self, weighted: bool = False) -> Any:
        """This metric as the core's `_core.Metric` (its parameters checked there)."""
        return _core.Metric(self._core_kind, weighted=weighted, **self._core_args())

    def _check_width(self, n_out: int) -> None:
        """Raises ValueError, in Keras's words where it has them, for an output this metric does
        not fit (the core checks again)."""

    def _sizes(self, n_out: int) -> tuple[int, int]:
        self._check_width(n_out)
        n_sums, n_results = _core.metric_sizes(self._core_metric(), n_out)
        return int(n_sums), int(n_results)

    def _bind(self, n_out: int) -> None:
        """Fixes the output width (the first update's, or the compiled model's)."""
        if self._n_out == n_out and self._sums is not None:
            return
        if self._n_out is not None and self._n_out != n_out:
            raise ValueError(
                f"Metric {self.name!r} was built for outputs of width {self._n_out}; received "
                f"y_pred of width {n_out}. Create a new metric (or call reset_state after "
                "changing nothing else)."
            )
        n_sums, _ = self._sizes(n_out)
        self._n_out = n_out
        self._sums = np.zeros(n_sums, np.float64)

    # Keras's interface ---------------------------------------------------------------------
    def _prepare(self, y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
        """(y_true, y_pred (n, k), sample_weight (n,) or None) in the metric's dtype, with
        Keras's rank matching: y_pred of rank 1 is one output; higher ranks are rows of their
        last axis, the weights repeated along."""
        p = np.asarray(y_pred, dtype=self._dtype)
        if p.ndim == 0:
            raise ValueError(f"y_pred must have at least one axis. Received: shape={p.shape}")
        if p.ndim == 1:
            p = p[:, None]
        sparse = self._core_kind in (
            "sparse_categorical_accuracy",
            "sparse_top_k_categorical_accuracy",
        )
        lead = p.shape[:-1]
        t = match_targets(np.asarray(y_true, dtype=self._dtype), lead if sparse else p.shape)
        if t is None:
            raise ValueError(
                f"Metric {self.name!r}: y_true and y_pred must have the same shape"
                + (" up to the last axis" if sparse else "")
                + f". Received: y_true.shape={np.shape(y_true)}, y_pred.shape={np.shape(y_pred)}"
            )
        rows = int(np.prod(lead)) if lead else 1
        p2 = np.ascontiguousarray(p.reshape(rows, p.shape[-1]))
        t2 = np.ascontiguousarray(t.reshape(rows, -1))
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=self._dtype)
            if w.shape == (*lead, 1):
                w = w[..., 0]
            if w.shape == lead[:1] and len(lead) > 1:
                w = np.broadcast_to(w.reshape(w.shape + (1,) * (len(lead) - 1)), lead)
            if w.shape != lead:
                raise ValueError(
                    f"Metric {self.name!r}: sample_weight must have one value per sample, shape "
                    f"{lead}. Received: sample_weight.shape={np.shape(sample_weight)}"
                )
            w = np.ascontiguousarray(w.reshape(rows))
        return t2, p2, w

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds a batch: y_true and y_pred (samples, outputs), sample_weight (samples,)."""
        t, p, w = self._prepare(y_true, y_pred, sample_weight)
        self._bind(p.shape[1])
        assert self._sums is not None
        _core.metric_update(self._core_metric(), t, p, w, self._sums)

    def result(self) -> Any:
        """The metric over every batch since the last reset: a float32 scalar (or a vector for
        metrics with several thresholds or per-class results)."""
        if self._sums is None or self._n_out is None:
            return self._empty_result()
        r = np.asarray(_core.metric_result(self._core_metric(), self._n_out, self._sums))
        r = r.astype(self._dtype)
        return r[0] if self._scalar(self._n_out) else r

    def _scalar(self, n_out: Optional[int]) -> bool:
        return True

    def _empty_result(self) -> Any:
        """result() before any update: Keras's value over no samples."""
        return self._dtype.type(0.0)

    def reset_state(self) -> None:
        if self._sums is not None:
            self._sums[:] = 0.0

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """update_state, then result (Keras's Metric.__call__)."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    @property
    def variables(self) -> list[np.ndarray]:
        """The sums the result is computed from (one float64 vector)."""
        return [] if self._sums is None else [self._sums]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
