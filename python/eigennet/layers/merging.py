"""The merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (element-wise over inputs
of one shape)
and Concatenate (along the features). Each takes a list of inputs, as in Keras."""

from __future__ import annotations

import math
from typing import Any

from eigennet.layers.layer import Layer


class _Merge(Layer):
    _flat_only = False
    _multi_input = True
    _min_inputs = 2

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def _check_inputs(self, shapes: list[tuple[int, ...]]) -> None:
        if len(shapes) < self._min_inputs:
            raise ValueError(
                f"A merge layer should be called on a list of at least {self._min_inputs} "
                f"inputs. Got {len(shapes)} inputs."
            )
        if any(s != shapes[0] for s in shapes):
            raise ValueError(
                "Inputs have incompatible shapes. Received shapes "
                + ", ".join(str((None, *s)) for s in shapes)
            )


class Add(_Merge):
    """Sums its inputs element-wise: `Add()([x1, x2])`."""

    _kind = "add"


class Subtract(_Merge):
    """`x1 - x2` for exactly two inputs."""

    _kind = "subtract"

    def _check_inputs(self, shapes: list[tuple[int, ...]]) -> None:
        if len(shapes) != 2:
            raise ValueError(
                "A `Subtract` layer should be called on exactly 2 inputs. "
                f"Received: inputs of length {len(shapes)}"
            )
        super()._check_inputs(shapes)


class Multiply(_Merge):
    """Multiplies its inputs element-wise."""

    _kind = "multiply"


class Average(_Merge):
    """The element-wise mean of its inputs."""

    _kind = "average"


class Maximum(_Merge):
    """The element-wise maximum of its inputs (the gradient goes to the input taken, the first
    one on ties)."""

    _kind = "maximum"


class Minimum(_Merge):
    """The element-wise minimum of its inputs."""

    _kind = "minimum"


class Concatenate(_Merge):
    """Concatenates flat inputs along the features (`axis=-1`)."""

    _kind = "concatenate"
    _flat_only = True

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis not in (-1, 1):
            raise ValueError(
                f"Concatenate joins flat samples along their features: axis must be -1 (or 1). "
                f"Received: axis={axis!r}"
            )
        self.axis = axis

    def _check_inputs(self, shapes: list[tuple[int, ...]]) -> None:
        if len(shapes) < 2:
            raise ValueError(
                "A `Concatenate` layer should be called on a list of at least 1 input. "
                f"Received: input_shape={[(None, *s) for s in shapes]}"
            )
        Layer._check_inputs(self, shapes)

    def _output_sample_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return (sum(math.prod(s) for s in shapes),)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
