"""Losses: Keras's names, classes and per-sample functions, computed by the C++ core.

Functions such as `mean_squared_error(y_true, y_pred)` return one value per sample (the last axis
is reduced); loss objects such as `MeanSquaredError()` return the mean over samples.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from eigennet import _core, tape
from eigennet.utils import serialization


def warn_if_one_class(core_name: str, n_outputs: int) -> None:
    """Keras's warning for a categorical cross-entropy over a single output."""
    if core_name.startswith("categorical_crossentropy") and n_outputs == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape=(None, {n_outputs}). "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=3,
        )


def match_targets(t: np.ndarray, want: tuple[int, ...]) -> Optional[np.ndarray]:
    """y_true brought to the shape `want` as Keras does when the ranks differ by a trailing axis
    of 1; None when it has another shape (an error, even when the sizes agree)."""
    if t.shape == (*want, 1):
        t = t[..., 0]
    elif t.shape == want[:-1] and want[-1:] == (1,):
        t = t[..., None]
    return t if t.shape == want else None


def _name_of(spec: Any) -> str:
    """The core's name of a loss given by name or as a `_core.LossSpec` (with parameters)."""
    return spec if isinstance(spec, str) else str(spec.name)


def _per_sample(core_name: Any, y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample values; on an output recorded by a GradientTape, values the tape can
    differentiate (tape.PerSampleLoss)."""
    values, t, tracked = _evaluate(core_name, y_true, y_pred)
    if tracked is None:
        return values
    return tape.per_sample_losses(core_name, values, t, tracked)


def _evaluate(
    spec: Any, y_true: Any, y_pred: Any
) -> tuple[np.ndarray, np.ndarray, Optional[tape.TrackedOutput]]:
    """Per-sample values, the targets as (n, target rows), and y_pred when a tape may
    differentiate its loss (a recorded (batch, features) output)."""
    core_name = _name_of(spec)
    tracked = tape.tracked_output(y_pred)
    p = np.asarray(y_pred)
    if p.dtype != np.float32:
        p = p.astype(np.float64)
    if p.ndim == 0:
        raise ValueError(f"y_pred must have at least one axis. Received: shape={p.shape}")
    lead = p.shape[:-1]
    want = lead if core_name.startswith("sparse") else p.shape
    t = match_targets(np.asarray(y_true, dtype=p.dtype), want)
    if t is None:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape"
            + (" up to the last axis" if want != p.shape else "")
            + f". Received: target.shape={np.shape(y_true)}, output.shape={p.shape}"
        )
    warn_if_one_class(core_name, p.shape[-1])
    p2 = p.reshape(-1, p.shape[-1])
    t2 = t.reshape(p2.shape[0], -1)
    values, _ = _core.loss(spec, t2.reshape(-1), p2)
    if tracked is not None and p.ndim != 2:
        raise ValueError(
            "GradientTape differentiates losses of (batch, features) outputs; this output has "
            f"shape {p.shape}: flatten it (a Flatten or Reshape layer) before the loss."
        )
    return values.reshape(lead), np.ascontiguousarray(t2), tracked


REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _reduced(core_name: Any, y_true: Any, y_pred: Any, sample_weight: Any, reduction: Any) -> Any:
    """Keras's reductions of the weighted per-sample losses w_i l_i: their sum ("sum"), the sum
    over the number of samples ("sum_over_batch_size", "mean"), over Σ w_i
    ("mean_with_sample_weight"; 0 when that is 0), or the values themselves (None, "none")."""
    values, t, tracked = _evaluate(core_name, y_true, y_pred)
    w = None
    if sample_weight is not None:
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "fiub":
            raise TypeError(f"sample_weight must hold numbers. Received dtype {sw.dtype}")
        if sw.ndim == values.ndim + 1 and sw.shape[-1] == 1:
            sw = sw[..., 0]
        try:
            w = np.broadcast_to(sw.astype(values.dtype), values.shape)
        except ValueError:
            raise ValueError(
                f"sample_weight of shape {sw.shape} does not broadcast to the per-sample losses "
                f"of shape {values.shape}."
            ) from None
    if reduction in (None, "none"):
        if tracked is not None:
            per = tape.per_sample_losses(core_name, values, t, tracked)
            return per if w is None else per * w
        return values if w is None else values * w
    divisor = float(values.size)
    if reduction == "sum":
        divisor = 1.0
    elif reduction == "mean_with_sample_weight" and w is not None:
        divisor = float(np.sum(w))
        if divisor == 0.0:  # Keras's divide_no_nan
            return 0.0
    if tracked is not None:
        return tape.loss_value(core_name, values, t, tracked, w, divisor)
    return float(np.sum(values if w is None else values * w)) / divisor


def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """`mean((y_true - y_pred)**2, axis=-1)`, one value per sample."""
    return _per_sample("mean_squared_error", y_true, y_pred)


def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """`mean(|y_true - y_pred|, axis=-1)`, one value per sample."""
    return _per_sample("mean_absolute_error", y_true, y_pred)


def _check_smoothing(label_smoothing: Any) -> float:
    if (
        isinstance(label_smoothing, bool)
        or not isinstance(label_smoothing, (int, float))
        or not 0 <= label_smoothing <= 1
    ):
        raise ValueError(
            "label_smoothing must be a float in [0, 1]. "
            f"Received: label_smoothing={label_smoothing!r}"
        )
    return float(label_smoothing)


def _smooth(y_true: Any, label_smoothing: float, classes: Optional[int]) -> Any:
    """Keras's label smoothing: y (1 - ls) + ls / 2 for binary targets (classes None), or
    + ls / classes for one-hot ones; the targets unchanged without smoothing."""
    if not label_smoothing:
        return y_true
    t = np.asarray(y_true, dtype=np.float64)
    k = 2 if classes is None else classes
    return t * (1.0 - label_smoothing) + label_smoothing / k


def _hinge_labels(y_true: Any) -> Any:
    """Keras's hinge losses take labels in {0, 1} as {-1, 1}. Keras decides per batch; here the
    whole target array decides, which is the same for labels in {0, 1} or in {-1, 1}."""
    t = np.asarray(y_true, dtype=np.float64)
    return 2.0 * t - 1.0 if np.all((t == 0) | (t == 1)) else t


def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0
) -> np.ndarray:
    """Binary cross-entropy averaged over the last axis (probabilities clipped to [1e-7, 1-1e-7],
    or computed from logits without clipping); targets smoothed towards 0.5."""
    name = "binary_crossentropy_from_logits" if from_logits else "binary_crossentropy"
    return _per_sample(name, _smooth(y_true, _check_smoothing(label_smoothing), None), y_pred)


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0
) -> np.ndarray:
    """`-sum(y_true * log(y_pred), axis=-1)` with y_pred rows renormalised and clipped, or from
    logits by log-sum-exp; targets smoothed towards 1 / classes."""
    name = "categorical_crossentropy_from_logits" if from_logits else "categorical_crossentropy"
    ls = _check_smoothing(label_smoothing)
    return _per_sample(name, _smooth(y_true, ls, np.shape(y_pred)[-1]), y_pred)


def hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """`mean(max(1 - y_true * y_pred, 0), axis=-1)`, labels in {-1, 1} (or {0, 1})."""
    return _per_sample("hinge", _hinge_labels(y_true), y_pred)


def squared_hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """`mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`, labels in {-1, 1} (or {0, 1})."""
    return _per_sample("squared_hinge", _hinge_labels(y_true), y_pred)


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False
) -> np.ndarray:
    """Categorical cross-entropy with integer labels `y_true` of shape `y_pred.shape[:-1]`."""
    name = (
        "sparse_categorical_crossentropy_from_logits"
        if from_logits
        else "sparse_categorical_crossentropy"
    )
    return _per_sample(name, y_true, y_pred)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """`mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)`, eps 1e-7."""
    return _per_sample("mean_squared_logarithmic_error", y_true, y_pred)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """`100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)`, eps 1e-7."""
    return _per_sample("mean_absolute_percentage_error", y_true, y_pred)


def log_cosh(y_true: Any, y_pred: Any) -> np.ndarray:
    """`mean(log(cosh(y_pred - y_true)), axis=-1)`, without overflow for large errors."""
    return _per_sample("log_cosh", y_true, y_pred)


def poisson(y_true: Any, y_pred: Any) -> np.ndarray:
    """`mean(y_pred - y_true * log(y_pred + eps), axis=-1)`, eps 1e-7."""
    return _per_sample("poisson", y_true, y_pred)


def kl_divergence(y_true: Any, y_pred: Any) -> np.ndarray:
    """`sum(y_true * log(y_true / y_pred), axis=-1)`, both clipped to [1e-7, 1]."""
    return _per_sample("kl_divergence", y_true, y_pred)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> np.ndarray:
    """`-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=-1)`: -1 for parallel vectors."""
    if axis not in (-1, np.ndim(y_pred) - 1):
        raise NotImplementedError(f"cosine_similarity supports axis=-1 only. Received: axis={axis}")
    return _per_sample("cosine_similarity", y_true, y_pred)


def categorical_hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """`max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)` per sample."""
    return _per_sample("categorical_hinge", y_true, y_pred)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> np.ndarray:
    """`mean(0.5 * x**2 if |x| <= delta else delta * (|x| - 0.5 * delta), axis=-1)`,
    x = y_pred - y_true."""
    return _per_sample(_core.LossSpec("huber", delta=_check_float("delta", delta)), y_true, y_pred)


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a float. Received: {name}={value!r}")
    return float(value)


def _class_alpha(alpha: Any) -> Optional[list[float]]:
    """The categorical focal loss's weight of each class when alpha is a list (Keras
    broadcasts it over the class axis; one entry is one weight for all), else None."""
    if not isinstance(alpha, (list, tuple, np.ndarray)):
        return None
    a = np.asarray(alpha)
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "fiu":
        raise ValueError(
            f"alpha must be a float or a list of one float per class. Received: alpha={alpha!r}"
        )
    return [float(v) for v in a]


def _focal_spec(
    binary: bool, from_logits: bool, alpha: Any, gamma: Any, balanced: bool = False
) -> Any:
    base = "binary_focal_crossentropy" if binary else "categorical_focal_crossentropy"
    per_class = None if binary else _class_alpha(alpha)
    if per_class is not None and len(per_class) == 1:
        alpha, per_class = per_class[0], None
    return _core.LossSpec(
        base + ("_from_logits" if from_logits else ""),
        alpha=0.25 if per_class is not None else _check_float("alpha", alpha),
        gamma=_check_float("gamma", gamma),
        balanced=bool(balanced),
        class_alpha=per_class or [],
    )


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> np.ndarray:
    """Keras's binary focal cross-entropy, `mean((1 - p_t)**gamma * bce, axis=-1)` with
    p_t = y p + (1 - y)(1 - p), weighted by `y * alpha + (1 - y) * (1 - alpha)` when
    apply_class_balancing; targets smoothed towards 0.5."""
    _check_axis("binary_focal_crossentropy", axis)
    spec = _focal_spec(True, from_logits, alpha, gamma, apply_class_balancing)
    return _per_sample(spec, _smooth(y_true, _check_smoothing(label_smoothing), None), y_pred)


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: Union[float, Sequence[float]] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> np.ndarray:
    """Keras's categorical focal cross-entropy, `sum(alpha * (1 - q)**gamma * -y log q,
    axis=-1)` with q the renormalised, clipped probabilities (softmax of logits);
    targets smoothed towards 1 / classes. alpha: one weight, or one per class."""
    _check_axis("categorical_focal_crossentropy", axis)
    spec = _focal_spec(False, from_logits, alpha, gamma)
    ls = _check_smoothing(label_smoothing)
    return _per_sample(spec, _smooth(y_true, ls, np.shape(y_pred)[-1]), y_pred)


def _check_axis(loss: str, axis: Any) -> None:
    if axis not in (-1, 1) or isinstance(axis, bool):
        raise NotImplementedError(
            f"{loss} works along the last axis of flat outputs (axis=-1). Received: axis={axis!r}"
        )


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
msle = MSLE = mean_squared_logarithmic_error
mape = MAPE = mean_absolute_percentage_error
kld = KLD = kl_divergence
logcosh = log_cosh


# Losses whose per-sample value is a mean of per-entry terms: over an output of any shape the
# mean over its flat entries is Keras's mean over the last axis, then over the others.
ELEMENTWISE = (
    "mean_squared_error",
    "mean_absolute_error",
    "binary_crossentropy",
    "mean_squared_logarithmic_error",
    "mean_absolute_percentage_error",
    "log_cosh",
    "huber",
    "poisson",
    "hinge",
    "squared_hinge",
    "binary_focal_crossentropy",
)


class Loss:
    """Base class of loss objects: `loss(y_true, y_pred)` is the mean over samples."""

    _core_base = ""

    @property
    def elementwise(self) -> bool:
        """Whether the loss is a mean of per-entry terms (see ELEMENTWISE)."""
        return self._core_base in ELEMENTWISE

    def __init__(
        self,
        name: str | None = None,
        reduction: str = "sum_over_batch_size",
        from_logits: bool = False,
    ) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(
                "Invalid value for argument `reduction`. Expected one of "
                f"{[r for r in REDUCTIONS if r is not None] + [None]}. Received: "
                f"reduction={reduction!r}"
            )
        if not isinstance(from_logits, bool):
            raise TypeError(f"from_logits must be a bool. Received: {from_logits!r}")
        self.name = name or self._default_name()
        self.reduction = reduction
        self.from_logits = from_logits

    def _default_name(self) -> str:
        return self._core_base

    @property
    def core_name(self) -> str:
        return self._core_base + ("_from_logits" if self.from_logits else "")

    @property
    def core_spec(self) -> Any:
        """What the core computes: the loss's core name, or a `_core.LossSpec` that also
        carries its parameters."""
        return self.core_name

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The per-sample losses, each weighted by sample_weight when given, reduced as
        `reduction` says (by default their mean over samples); on an output a GradientTape
        recorded, a value it can differentiate."""
        y = self.prepare_targets(y_true, np.shape(y_pred)[-1])
        return _reduced(self.core_spec, y, y_pred, sample_weight, self.reduction)

    def prepare_targets(self, y_true: Any, n_outputs: int) -> Any:
        """The targets the core's loss takes (label smoothing, hinge labels); fit applies it
        to its targets once."""
        return y_true

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a dict."""
        config: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
        if self._has_logits():
            config["from_logits"] = self.from_logits
        return config

    def _has_logits(self) -> bool:
        return "crossentropy" in self._core_base

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Creates an instance from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, from_logits={self.from_logits})"


class MeanSquaredError(Loss):
    """Mean of squared errors."""

    _core_base = "mean_squared_error"

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_squared_error"):
        super().__init__(name=name, reduction=reduction)


class MeanAbsoluteError(Loss):
    """Mean of absolute errors."""

    _core_base = "mean_absolute_error"

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_absolute_error"):
        super().__init__(name=name, reduction=reduction)


class _Smoothed(Loss):
    """A cross-entropy with Keras's label_smoothing."""

    _classes = True  # smoothing towards 1 / classes (else towards 1/2)

    def __init__(
        self, from_logits: bool, label_smoothing: float, reduction: str, name: str, axis: int
    ) -> None:
        super().__init__(name=name, reduction=reduction, from_logits=from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)
        # An output is a flat vector per sample: its classes lie along the last axis.
        _check_axis(type(self).__name__, axis)
        self.axis = -1

    def prepare_targets(self, y_true: Any, n_outputs: int) -> Any:
        return _smooth(y_true, self.label_smoothing, n_outputs if self._classes else None)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_Smoothed):
    """Binary cross-entropy on probabilities or, with `from_logits=True`, on logits."""

    _core_base = "binary_crossentropy"
    _classes = False

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        axis: int = -1,
    ):
        super().__init__(from_logits, label_smoothing, reduction, name, axis)


class CategoricalCrossentropy(_Smoothed):
    """Categorical cross-entropy with one-hot targets."""

    _core_base = "categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        axis: int = -1,
    ):
        super().__init__(from_logits, label_smoothing, reduction, name, axis)


class _HingeBase(Loss):
    def prepare_targets(self, y_true: Any, n_outputs: int) -> Any:
        return _hinge_labels(y_true)


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels."""

    _core_base = "sparse_categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        ignore_class: Optional[int] = None,
    ):
        super().__init__(name=name, reduction=reduction, from_logits=from_logits)
        if ignore_class is not None:
            raise NotImplementedError(
                f"SparseCategoricalCrossentropy(ignore_class={ignore_class!r}) is not supported "
                "by eigennet yet."
            )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ignore_class": None}


def _simple(cls_name: str, core: str, doc: str) -> type[Loss]:
    """A loss class over one of the core's losses with Keras's (reduction, name) arguments."""

    def __init__(self: Loss, reduction: str = "sum_over_batch_size", name: str = core) -> None:
        Loss.__init__(self, name=name, reduction=reduction)

    return type(cls_name, (Loss,), {"_core_base": core, "__init__": __init__, "__doc__": doc})


MeanSquaredLogarithmicError = _simple(
    "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "Mean squared log error."
)
MeanAbsolutePercentageError = _simple(
    "MeanAbsolutePercentageError", "mean_absolute_percentage_error", "Mean absolute % error."
)
LogCosh = _simple("LogCosh", "log_cosh", "Logarithm of the hyperbolic cosine of the error.")


class Hinge(_HingeBase):
    """Hinge loss, `max(1 - y_true * y_pred, 0)`; labels in {-1, 1} or {0, 1}."""

    _core_base = "hinge"

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "hinge") -> None:
        super().__init__(name=name, reduction=reduction)


class SquaredHinge(_HingeBase):
    """Squared hinge loss, `max(1 - y_true * y_pred, 0)**2`; labels in {-1, 1} or {0, 1}."""

    _core_base = "squared_hinge"

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "squared_hinge") -> None:
        super().__init__(name=name, reduction=reduction)


Poisson = _simple("Poisson", "poisson", "Poisson loss, `y_pred - y_true * log(y_pred)`.")
KLDivergence = _simple("KLDivergence", "kl_divergence", "Kullback-Leibler divergence.")
CategoricalHinge = _simple("CategoricalHinge", "categorical_hinge", "Categorical hinge loss.")


class Huber(Loss):
    """Huber loss: quadratic for errors up to delta, linear beyond."""

    _core_base = "huber"

    def __init__(
        self, delta: float = 1.0, reduction: str = "sum_over_batch_size", name: str = "huber_loss"
    ) -> None:
        super().__init__(name=name, reduction=reduction)
        self.delta = float(_core.LossSpec("huber", delta=_check_float("delta", delta)).delta)

    @property
    def core_spec(self) -> Any:
        return _core.LossSpec("huber", delta=self.delta)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}


class _Focal(_Smoothed):
    """alpha, gamma (and class balancing) of the focal cross-entropies."""

    _binary = True

    def _focal(self, alpha: Any, gamma: Any, balanced: bool) -> None:
        spec = _focal_spec(self._binary, self.from_logits, alpha, gamma, balanced)
        # A list stays the list given (also of one weight), as Keras's get_config keeps it.
        given = None if self._binary else _class_alpha(alpha)
        self.alpha: Union[float, list[float]] = given or float(spec.alpha)
        self.gamma = float(spec.gamma)
        self._balanced = bool(balanced)

    @property
    def core_spec(self) -> Any:
        return _focal_spec(self._binary, self.from_logits, self.alpha, self.gamma, self._balanced)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma}


class BinaryFocalCrossentropy(_Focal):
    """Binary focal cross-entropy (Lin et al. 2017), Keras's formula: the binary
    cross-entropy scaled by `(1 - p_t)**gamma`, and by `alpha` for class 1 and `1 - alpha`
    for class 0 when `apply_class_balancing`."""

    _core_base = "binary_focal_crossentropy"
    _classes = False

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
    ) -> None:
        super().__init__(from_logits, label_smoothing, reduction, name, axis)
        self._focal(alpha, gamma, apply_class_balancing)
        self.apply_class_balancing = self._balanced

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing}


class CategoricalFocalCrossentropy(_Focal):
    """Categorical focal cross-entropy, Keras's formula: `-sum(alpha * (1 - q)**gamma * y *
    log(q))` over the classes, q the renormalised and clipped probabilities; alpha is one
    weight or a list of one per class (e.g. inverse class frequencies)."""

    _core_base = "categorical_focal_crossentropy"
    _binary = False

    def __init__(
        self,
        alpha: Union[float, Sequence[float]] = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
    ) -> None:
        super().__init__(from_logits, label_smoothing, reduction, name, axis)
        self._focal(alpha, gamma, False)


class CosineSimilarity(Loss):
    """Negative cosine similarity between targets and predictions over the last axis."""

    _core_base = "cosine_similarity"

    def __init__(
        self,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "cosine_similarity",
    ) -> None:
        if axis != -1:
            raise NotImplementedError(
                f"CosineSimilarity supports axis=-1 only. Received: axis={axis}"
            )
        super().__init__(name=name, reduction=reduction)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


_BY_NAME: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "msle": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "mape": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "log_cosh": LogCosh,
    "logcosh": LogCosh,
    "poisson": Poisson,
    "kld": KLDivergence,
    "kl_divergence": KLDivergence,
    "cosine_similarity": CosineSimilarity,
    "categorical_hinge": CategoricalHinge,
    "huber": Huber,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
}
_FUNCTIONS = {
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    log_cosh: LogCosh,
    poisson: Poisson,
    kl_divergence: KLDivergence,
    cosine_similarity: CosineSimilarity,
    categorical_hinge: CategoricalHinge,
    huber: Huber,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier: Any) -> Loss:
    """Resolves a loss given by name, class, object or function into a loss object."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    if isinstance(identifier, type) and issubclass(identifier, Loss) and identifier is not Loss:
        return identifier()
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    raise ValueError(
        f"Unknown loss: {identifier!r}. Expected one of {sorted(_BY_NAME)} or an "
        "eigennet.losses object (custom Python losses cannot run inside the C++ core)."
    )


def serialize(obj: Loss) -> dict[str, Any]:
    """The JSON-ready `{"class_name", "config"}` form of a loss."""
    return serialization.serialize(obj)


def deserialize(config: dict[str, Any]) -> Loss:
    """Rebuilds a loss from `serialize()` output; unknown classes raise ValueError."""
    return serialization.deserialize(config, _CLASSES, "loss")
