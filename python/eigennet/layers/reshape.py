"""Reshape: gives each sample a new shape with the same number of values."""

from __future__ import annotations

import math
from typing import Any

from eigennet.layers.layer import Layer, check_input_shape


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one dimension may be -1), in C order.

    Example:
        >>> layers.Reshape((4, 3))  # (batch, 12) -> (batch, 4, 3)
    """

    _kind = "identity"
    _flat_only = False

    def __init__(self, target_shape: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        shape = tuple(target_shape) if isinstance(target_shape, (tuple, list)) else None
        if not shape or shape.count(-1) > 1:
            raise ValueError(
                f"target_shape must be a tuple of positive ints with at most one -1. "
                f"Received: target_shape={target_shape!r}"
            )
        check_input_shape(tuple(1 if d == -1 else d for d in shape), "target_shape")
        self.target_shape = tuple(int(d) for d in shape)

    def _output_sample_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        n = math.prod(shapes[0])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if n % known:
                raise ValueError(
                    f"Cannot reshape samples of shape {shapes[0]} to {self.target_shape}."
                )
            return tuple(n // known if d == -1 else d for d in self.target_shape)
        if known != n:
            raise ValueError(
                f"total size of new array must be unchanged, input_shape = {list(shapes[0])}, "
                f"output_shape = {list(self.target_shape)}"
            )
        return self.target_shape

    def _check_inputs(self, shapes: list[tuple[int, ...]]) -> None:
        super()._check_inputs(shapes)
        self._output_sample_shape(shapes)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
