"""Normalization: Keras 3's preprocessing layer, `(x - mean) / max(sqrt(variance), 1e-7)`."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from eigennet import initializers
from eigennet.layers.layer import Layer, write_checked
from eigennet.layers.normalization_common import check_axis, refuse
from eigennet.variables import Variable


class Normalization(Layer):
    """Standardises each feature with a mean and variance given or learnt by `adapt(data)`.

    Args:
        axis: -1 (the features of flat samples).
        mean, variance: optional per-feature statistics (scalars or arrays).

    Example:
        >>> norm = layers.Normalization()
        >>> norm.adapt(x_train)
        >>> model = Sequential([Input((4,)), norm, layers.Dense(1)])
    """

    _kind = "normalization"

    def __init__(
        self,
        axis: int = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        refuse("Normalization", invert=invert)
        self.axis = check_axis("Normalization", axis)
        if (mean is None) != (variance is None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}"
            )
        self.input_mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.input_variance = None if variance is None else np.asarray(variance, dtype=np.float64)
        self._adapted: Optional[tuple[np.ndarray, np.ndarray]] = None

    def _weight_decls(self) -> list[Any]:
        assert self._in_shapes is not None
        shape = self._in_shapes[0]
        return [
            ("mean", shape, True, initializers.Zeros()),
            ("variance", shape, True, initializers.Ones()),
        ]

    def _bind_shapes(self, shapes: list[tuple[int, ...]]) -> None:
        fresh = not self.built
        super()._bind_shapes(shapes)
        if not fresh:
            return
        stats = self._adapted
        if stats is None and self.input_mean is not None:
            assert self.input_variance is not None
            stats = (
                np.broadcast_to(self.input_mean, shapes[0]),
                np.broadcast_to(self.input_variance, shapes[0]),
            )
        if stats is not None:
            self._ensure_values()
            write_checked(self._variables, list(stats), lambda i, v: self.name)

    def adapt(self, data: Any, batch_size: Any = None, steps: Any = None) -> None:
        """Computes the mean and (biased) variance of each feature of `data` (n, features)."""
        a = np.asarray(data, dtype=np.float64)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[0] == 0:
            raise ValueError(
                f"adapt() takes data of shape (samples, features). Received: shape={a.shape}"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError("adapt() data must be finite.")
        stats = (a.mean(axis=0), a.var(axis=0))
        if self.built:
            assert self._in_shapes is not None
            if a.shape[1:] != self._in_shapes[0]:
                raise ValueError(
                    f"Layer {self.name!r} was built for samples of shape {self._in_shapes[0]}; "
                    f"adapt() received {a.shape[1:]}."
                )
            write_checked(self._variables, list(stats), lambda i, v: self.name)
        else:
            self._adapted = stats

    @property
    def mean(self) -> Optional[Variable]:
        return self._variable("mean")

    @property
    def variance(self) -> Optional[Variable]:
        return self._variable("variance")

    def get_config(self) -> dict[str, Any]:
        def listed(a: Any) -> Any:
            return None if a is None else np.asarray(a).tolist()

        return {
            **super().get_config(),
            "axis": self.axis,
            "mean": listed(self.input_mean),
            "variance": listed(self.input_variance),
            "invert": False,
        }
