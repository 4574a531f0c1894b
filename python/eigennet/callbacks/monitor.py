"""Shared by callbacks that watch a metric: direction ('min'/'max') and improvement tests."""

from __future__ import annotations

import operator
import warnings
from typing import Any, Callable, Optional

_MAXIMISED = ("acc", "accuracy", "auc")


def monitor_op(monitor: str, mode: str, owner: str) -> Callable[[float, float], bool]:
    """`operator.lt` for a metric to minimise, `operator.gt` to maximise, as Keras infers it."""
    if mode not in ("auto", "min", "max"):
        # Keras's sentences: only ModelCheckpoint's quotes the mode.
        shown = f"'{mode}'" if owner == "ModelCheckpoint" else mode
        warnings.warn(f"{owner} mode {shown} is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode == "min":
        return operator.lt
    if mode == "max":
        return operator.gt
    name = monitor.removeprefix("val_")
    if name == "loss" or "error" in name or name in ("mse", "mae"):
        return operator.lt
    if name in _MAXIMISED or name.endswith("accuracy"):
        return operator.gt
    raise ValueError(
        f"{owner} callback received monitor={monitor} but eigennet isn't able to automatically "
        "determine whether that metric should be maximized or minimized. Pass mode='max' or "
        "mode='min'."
    )


def monitor_value(logs: Optional[dict[str, Any]], monitor: str, owner: str) -> Optional[float]:
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(
            f"{owner} conditioned on metric `{monitor}` which is not available. "
            f"Available metrics are: {','.join((logs or {}).keys())}",
            stacklevel=3,
        )
    return value
