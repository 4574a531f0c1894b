"""Argument checks shared by the normalisation layers."""

from __future__ import annotations

import math
from typing import Any


def check_axis(layer: str, axis: Any) -> int:
    if axis not in (-1, 1, [-1], [1], (-1,), (1,)):
        raise ValueError(
            f"{layer} normalises the features of flat samples: axis must be -1. "
            f"Received: axis={axis!r}"
        )
    return -1


def check_epsilon(epsilon: Any) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
        raise TypeError(f"epsilon must be a float. Received: epsilon={epsilon!r}")
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon}")
    return float(epsilon)


def refuse(layer: str, **unsupported: Any) -> None:
    """Refuses arguments eigennet does not implement, rather than ignoring them."""
    bad = {k: v for k, v in unsupported.items() if v not in (None, False)}
    if bad:
        raise NotImplementedError(
            f"{layer} does not support {', '.join(f'{k}={v!r}' for k, v in bad.items())} yet."
        )
