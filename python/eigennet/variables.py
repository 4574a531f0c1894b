"""Variables: a layer's weights as Keras 3 shows them (`layer.kernel`, `model.weights`).

A variable does not hold its values: it reads and writes its layer's weights wherever they live
(the C++ buffers of the model the layer last ran in, or the layer itself before any model), so
every model that shares the layer sees the same values.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Variable:
    """One weight of a layer: `.numpy()`, `.assign(value)`, `.shape`, `.dtype`, `.name`,
    `.path`, `.trainable`; NumPy arithmetic and `np.asarray(v)` give arrays."""

    def __init__(self, layer: Any, index: int, name: str, shape: tuple[int, ...], state: bool):
        self._layer = layer
        self._index = index
        self.name = name
        self.shape = tuple(shape)
        self._state = state

    @property
    def path(self) -> str:
        return f"{self._layer.name}/{self.name}"

    @property
    def trainable(self) -> bool:
        """False for non-trainable state (moving statistics) and for frozen layers' weights."""
        return not self._state and bool(self._layer.trainable)

    @property
    def dtype(self) -> str:
        return str(self._layer._weight_dtype())

    @property
    def value(self) -> np.ndarray:
        return self.numpy()

    def numpy(self) -> np.ndarray:
        """A copy of the current values."""
        return self._layer._read_weight(self._index)

    def assign(self, value: Any) -> Variable:
        a = np.asarray(value)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"Variable {self.path} takes numbers. Received dtype {a.dtype}")
        if a.shape != self.shape:
            try:
                a = np.broadcast_to(a, self.shape)
            except ValueError:
                raise ValueError(
                    f"The shape of the target variable and the shape of the target value in "
                    f"`variable.assign(value)` must match. variable.shape={self.shape}, "
                    f"Received: value.shape={a.shape}. Target variable: {self.path}"
                ) from None
        self._layer._write_weight(self._index, a)
        return self

    def assign_add(self, value: Any) -> Variable:
        return self.assign(self.numpy() + np.asarray(value))

    def assign_sub(self, value: Any) -> Variable:
        return self.assign(self.numpy() - np.asarray(value))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        return self.numpy()[key]

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
            f"value={self.numpy()}>"
        )

    # NumPy arithmetic on the current values.
    def __neg__(self) -> Any:
        return -self.numpy()

    def __abs__(self) -> Any:
        return abs(self.numpy())


def _binary(op: Any, reflected: bool = False) -> Any:
    def method(self: Variable, other: Any) -> Any:
        a, b = self.numpy(), np.asarray(other)
        return op(b, a) if reflected else op(a, b)

    return method


for _name, _op in {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "pow": np.power,
    "matmul": np.matmul,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}.items():
    setattr(Variable, f"__{_name}__", _binary(_op))
    if _name not in ("lt", "le", "gt", "ge"):
        setattr(Variable, f"__r{_name}__", _binary(_op, reflected=True))
