"""Softmax: the softmax over the features of a flat sample."""

from __future__ import annotations

from typing import Any

from eigennet.layers.activation import Activation
from eigennet.layers.layer import Layer


class Softmax(Activation):
    """Softmax over the last axis (Keras's default `axis=-1`; samples are flat, so 1 is the
    same axis). Other axes and masks are refused."""

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__("softmax", **kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or axis not in (-1, 1):
            raise NotImplementedError(
                f"Softmax(axis={axis!r}) is not supported: eigennet's samples are flat, so the "
                "softmax runs over their features (axis=-1)."
            )
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), "axis": self.axis}
