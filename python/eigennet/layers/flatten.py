"""Flatten: `(batch, 28, 28)` becomes `(batch, 784)`."""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet.layers.layer import Layer


class Flatten(Layer):
    """Flattens each sample: `(batch, 28, 28)` becomes `(batch, 784)`.

    Samples are flat columns inside the core, so Flatten only changes the shape Python reports:
    C-ordered input is read as it is, never copied inside the training loop.

    Example:
        >>> model = Sequential([Input((28, 28)), layers.Flatten(), layers.Dense(10)])
    """

    _kind = "identity"
    _flat_only = False

    def __init__(self, data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Unknown data_format. Received: data_format={data_format!r}")
        self.data_format = data_format

    def _output_sample_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return (math.prod(shapes[0]),)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
