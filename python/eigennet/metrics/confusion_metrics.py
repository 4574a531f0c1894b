"""Metrics over confusion counts at thresholds: the counts themselves, Precision, Recall, AUC and
the rate-at-constraint metrics, with Keras 3's thresholds, defaults and results."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from eigennet.metrics.metric import Metric

_EPSILON = 1e-7
_NEG_INF = -1e10  # Keras's value of predictions outside the top k


def _to_list(x: Any) -> list[float]:
    return [float(v) for v in (x if isinstance(x, (list, tuple, np.ndarray)) else [x])]


def _parse_thresholds(thresholds: Any, default: float) -> list[float]:
    if thresholds is not None:
        given = (
            list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
        )
        bad = [t for t in given if t is None or not 0 <= t <= 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return _to_list(default if thresholds is None else thresholds)


def _evenly_spaced(thresholds: Sequence[float]) -> bool:
    """Keras's test for its optimised path: at least 3 values, each within ε of i/(n - 1)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=_EPSILON))


def _threshold_args(thresholds: list[float], with_epsilon: bool = False) -> dict[str, Any]:
    if _evenly_spaced([0.0, *thresholds[1:-1], 1.0] if with_epsilon else thresholds):
        spacing = "even_with_epsilon" if with_epsilon else "even"
        return {"spacing": spacing, "num_thresholds": len(thresholds)}
    return {"spacing": "list", "thresholds": thresholds}


def _auto_name(name: Optional[str], default: str) -> str:
    """Keras's automatic name of a metric created without one: `auc`, `auc_1`, ... (one count
    shared with the layers' names, as Keras's)."""
    from eigennet.layers.layer import unique_name

    return unique_name(default) if name is None else name


def _check_class_id(class_id: Any) -> int:
    if class_id is None:
        return -1
    if isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer)) or class_id < 0:
        raise ValueError(f"Argument `class_id` must be an integer >= 0. Received: {class_id!r}")
    return int(class_id)


class _ThresholdedMetric(Metric):
    """A metric over confusion counts at a list of thresholds."""

    def __init__(self, name: Optional[str], dtype: Any) -> None:
        super().__init__(_auto_name(name, self._default_name), dtype)
        self.thresholds: list[float] = [0.5]
        self.top_k: Optional[int] = None
        self.class_id: Optional[int] = None

    def _core_args(self) -> dict[str, Any]:
        args = _threshold_args(self.thresholds)
        args["top_k"] = self.top_k or 0
        args["class_id"] = _check_class_id(self.class_id)
        return args

    def _scalar(self, n_out: Optional[int]) -> bool:
        return len(self.thresholds) == 1

    def _empty_result(self) -> Any:
        zeros = np.zeros(len(self.thresholds), self._dtype)
        return zeros[0] if len(self.thresholds) == 1 else zeros


class _ConfusionCount(_ThresholdedMetric):
    def __init__(
        self, thresholds: Any = None, name: Optional[str] = None, dtype: Any = None
    ) -> None:
        super().__init__(name, dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The (weighted) number of positive labels predicted above each threshold."""

    _core_kind, _default_name = "true_positives", "true_positives"


class FalsePositives(_ConfusionCount):
    """The (weighted) number of negative labels predicted above each threshold."""

    _core_kind, _default_name = "false_positives", "false_positives"


class TrueNegatives(_ConfusionCount):
    """The (weighted) number of negative labels predicted at or below each threshold."""

    _core_kind, _default_name = "true_negatives", "true_negatives"


class FalseNegatives(_ConfusionCount):
    """The (weighted) number of positive labels predicted at or below each threshold."""

    _core_kind, _default_name = "false_negatives", "false_negatives"


class _PrecisionRecall(_ThresholdedMetric):
    def __init__(
        self,
        thresholds: Any = None,
        top_k: Optional[int] = None,
        class_id: Optional[int] = None,
        name: Optional[str] = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name, dtype)
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1
        ):
            raise ValueError(f"Argument `top_k` must be an integer >= 1. Received: {top_k!r}")
        self.init_thresholds = thresholds
        self.top_k = None if top_k is None else int(top_k)
        self.class_id = class_id
        _check_class_id(class_id)
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else _NEG_INF)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionRecall):
    """tp / (tp + fp) at each threshold (0 when nothing is predicted positive)."""

    _core_kind, _default_name = "precision", "precision"


class Recall(_PrecisionRecall):
    """tp / (tp + fn) at each threshold (0 when there is no positive label)."""

    _core_kind, _default_name = "recall", "recall"


class _AtConstraint(_ThresholdedMetric):
    """The best rate where another rate meets a target, over num_thresholds even thresholds."""

    _target = ""

    def __init__(
        self,
        value: float,
        num_thresholds: int = 200,
        class_id: Optional[int] = None,
        name: Optional[str] = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name, dtype)
        if not 0 <= value <= 1:
            raise ValueError(
                f"Argument `{self._target}` must be in the range [0, 1]. Received: "
                f"{self._target}={value}"
            )
        if (
            isinstance(num_thresholds, bool)
            or not isinstance(num_thresholds, int)
            or (num_thresholds <= 0)
        ):
            raise ValueError(
                "Argument `num_thresholds` must be an integer > 0. Received: "
                f"num_thresholds={num_thresholds}"
            )
        self.value = float(value)
        setattr(self, self._target, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        _check_class_id(class_id)
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            self.thresholds = [i / (num_thresholds - 1) for i in range(num_thresholds)]

    def _core_args(self) -> dict[str, Any]:
        args = super()._core_args()
        if self.num_thresholds > 1:
            args = {**args, "spacing": "even", "num_thresholds": self.num_thresholds}
            args.pop("thresholds", None)
        return {**args, "value": self.value}

    def _scalar(self, n_out: Optional[int]) -> bool:
        return True

    def _empty_result(self) -> Any:
        return self._dtype.type(0.0)

    def get_config(self) -> dict[str, Any]:
        return {
            **Metric.get_config(self),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._target: getattr(self, self._target),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        config = dict(config)
        return cls(config.pop(cls._target), **config)


class PrecisionAtRecall(_AtConstraint):
    """The best precision where recall >= `recall`."""

    _core_kind, _default_name, _target = "precision_at_recall", "precision_at_recall", "recall"

    def __init__(
        self,
        recall: float,
        num_thresholds: int = 200,
        class_id: Optional[int] = None,
        name: Optional[str] = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtConstraint):
    """The best recall where precision >= `precision`."""

    _core_kind, _default_name, _target = "recall_at_precision", "recall_at_precision", "precision"

    def __init__(
        self,
        precision: float,
        num_thresholds: int = 200,
        class_id: Optional[int] = None,
        name: Optional[str] = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) where specificity >= `specificity`."""

    _core_kind = _default_name = "sensitivity_at_specificity"
    _target = "specificity"

    def __init__(
        self,
        specificity: float,
        num_thresholds: int = 200,
        class_id: Optional[int] = None,
        name: Optional[str] = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity where sensitivity (recall) >= `sensitivity`."""

    _core_kind = _default_name = "specificity_at_sensitivity"
    _target = "sensitivity"

    def __init__(
        self,
        sensitivity: float,
        num_thresholds: int = 200,
        class_id: Optional[int] = None,
        name: Optional[str] = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """The area under the ROC or PR curve from confusion counts at `num_thresholds` thresholds,
    by interpolation (Davis & Goadrich's for PR) or Riemann sums; one curve per label averaged
    with `multi_label`."""

    _core_kind = _default_name = "auc"

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: Optional[str] = None,
        dtype: Any = None,
        thresholds: Any = None,
        multi_label: bool = False,
        num_labels: Optional[int] = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        super().__init__(_auto_name(name, "auc"), dtype)
        if str(curve).lower() not in _CURVES:
            raise ValueError(
                f'Invalid AUCCurve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]'
            )
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". Expected values '
                'are ["interpolation", "majoring", "minoring"]'
            )
        if label_weights is not None:
            weights = np.asarray(label_weights, dtype=np.float64).reshape(-1)
            if weights.size == 0 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError(
                    "label_weights must be non-negative finite numbers, one per label. "
                    f"Received: label_weights={label_weights!r}"
                )
            label_weights = [float(w) for w in weights]
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_to_list(thresholds))
            self.num_thresholds = len(inner) + 2
        else:
            if (
                isinstance(num_thresholds, bool)
                or not isinstance(num_thresholds, int)
                or (num_thresholds <= 1)
            ):
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. Received: "
                    f"num_thresholds={num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = [0.0 - _EPSILON, *inner, 1.0 + _EPSILON]
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self.multi_label = bool(multi_label)
        if num_labels and not self.multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.num_labels = num_labels
        self.label_weights = label_weights
        self._from_logits = bool(from_logits)
        if self.multi_label and num_labels:
            self._bind(int(num_labels))

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def _core_args(self) -> dict[str, Any]:
        return {
            **_threshold_args(self._thresholds, with_epsilon=True),
            "multi_label": self.multi_label,
            "from_logits": self._from_logits,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "label_weights": self.label_weights or [],
        }

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": self.label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
