"""Kernel regularisers: their penalty is added to the loss, their gradient to the kernel's."""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet.utils import serialization


class Regularizer:
    """Base class: `l1 * sum(|w|) + l2 * sum(w**2)`."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        for name, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and >= 0. Received: {name}={value}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: Any) -> float:
        import numpy as np

        w = np.asarray(x, dtype=np.float64)
        return float(self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum())

    def get_config(self) -> dict[str, float]:
        """The constructor arguments, as a dict."""
        return {"l1": self.l1, "l2": self.l2}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        """Creates an instance from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1(Regularizer):
    """`l1 * sum(|w|)`."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, float]:
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(w**2)`."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, float]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """`l1 * sum(|w|) + l2 * sum(w**2)`."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        super().__init__(l1=l1, l2=l2)


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier: Any) -> Optional[Regularizer]:
    """Resolves a regulariser by name (`"l2"`), object, `serialize()` dict, or None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    raise ValueError(f"Unknown regularizer: {identifier!r}. Expected L1, L2, L1L2 or None.")


def serialize(reg: Optional[Regularizer]) -> Optional[dict[str, Any]]:
    """The JSON-ready `{"class_name", "config"}` form of a regularizer (None stays None)."""
    return None if reg is None else serialization.serialize(reg)


def deserialize(config: Optional[dict[str, Any]]) -> Optional[Regularizer]:
    """Rebuilds a regularizer from `serialize()` output; unknown classes raise ValueError."""
    return None if config is None else serialization.deserialize(config, _CLASSES, "regularizer")
