"""Weight constraints (Keras 3's): applied by the C++ core to a weight after every optimizer
update, in `fit` and in `apply_gradients`, as Keras applies them."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from eigennet import _core
from eigennet.utils import serialization


def _check(name: str, value: Any, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
    if not (math.isfinite(value) and value >= low):
        raise ValueError(f"{name} must be finite and >= {low}. Received: {name}={value}")
    return float(value)


def _axis(axis: Any) -> int:
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise NotImplementedError(
            f"Constraints over several axes ({axis!r}) are not supported: a dense network's "
            "weights take one axis (Keras's default 0: each unit's incoming weights)."
        )
    return int(axis)


class Constraint:
    """Base class: the identity. Subclasses name the core's kind and parameters."""

    _core_kind = ""

    def _params(self) -> dict[str, float]:
        return {}

    def _axis_value(self) -> int:
        return int(getattr(self, "axis", 0))

    def _spec_entries(self, weight: str) -> tuple[dict[str, int], dict[str, float], dict[str, str]]:
        """The LayerSpec entries naming this constraint on `weight`."""
        key = f"{weight}_constraint"
        nums = {f"{key}_{k}": v for k, v in self._params().items()}
        return {f"{key}_axis": self._axis_value()}, nums, {key: self._core_kind}

    def __call__(self, w: Any) -> Any:
        """The constrained copy of w (the same C++ formula as training)."""
        if not self._core_kind:
            return w
        a = np.asarray(w)
        a = np.array(
            a, dtype=a.dtype if a.dtype in (np.float32, np.float64) else np.float64, order="C"
        )
        _core.constrain(self._core_kind, self._params(), self._axis_value(), a)
        return a

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class MaxNorm(Constraint):
    """Scales the weights along `axis` (each unit's incoming weights for a Dense kernel) down to a
    norm of at most `max_value`."""

    _core_kind = "max_norm"

    def __init__(self, max_value: float = 2, axis: Any = 0) -> None:
        self.max_value = _check("max_value", max_value)
        self.axis = _axis(axis)

    def _params(self) -> dict[str, float]:
        return {"max_value": self.max_value}

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to 0."""

    _core_kind = "non_neg"


class UnitNorm(Constraint):
    """Scales the weights along `axis` to a norm of 1."""

    _core_kind = "unit_norm"

    def __init__(self, axis: Any = 0) -> None:
        self.axis = _axis(axis)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norm of the weights along `axis` into [min_value, max_value], by the fraction
    `rate` of the way (1: all the way)."""

    _core_kind = "min_max_norm"

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0
    ) -> None:
        self.min_value = _check("min_value", min_value)
        self.max_value = _check("max_value", max_value)
        if self.min_value > self.max_value:
            raise ValueError(
                f"min_value must be <= max_value. Received: min_value={min_value}, "
                f"max_value={max_value}"
            )
        self.rate = _check("rate", rate, -math.inf)
        self.axis = _axis(axis)

    def _params(self) -> dict[str, float]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate}

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


_CLASSES: dict[str, type[Constraint]] = {
    c.__name__: c for c in (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
}
_BY_NAME: dict[str, type[Constraint]] = {
    **_CLASSES,
    "max_norm": MaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
    "min_max_norm": MinMaxNorm,
}


def get(identifier: Any) -> Optional[Constraint]:
    """A constraint from None, a name (`"max_norm"`, `"NonNeg"`, ...), a config or an object."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        f"Could not interpret constraint identifier: {identifier!r}. Expected one of "
        f"{sorted(k for k in _BY_NAME if k.islower())} or an eigennet.constraints object "
        "(custom Python constraints cannot run inside the C++ core)."
    )


def serialize(obj: Optional[Constraint]) -> Optional[dict[str, Any]]:
    return None if obj is None else serialization.serialize(obj)


def deserialize(config: Any) -> Optional[Constraint]:
    if config is None:
        return None
    return serialization.deserialize(config, _CLASSES, "constraint")
