"""InputLayer and Input: the symbolic inputs of functional models."""

from __future__ import annotations

from typing import Any, Optional

from eigennet.layers.layer import KerasTensor, Layer, check_input_shape, unique_name


class InputLayer(Layer):
    """The input of a model: `shape` is a sample's shape, e.g. `(n_features,)`."""

    def __init__(
        self,
        shape: Any = None,
        batch_size: Optional[int] = None,
        dtype: Any = None,
        name: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if shape is None:
            shape = kwargs.pop("input_shape", None)
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. shape=(n_features,).")
        self.shape = check_input_shape(shape)
        self.batch_size = batch_size
        self._in_shapes = [self.shape]
        self.output = KerasTensor((batch_size, *self.shape), None, self.name, input_layer=self)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "shape": self.shape, "batch_size": self.batch_size}


def Input(  # noqa: N802 (Keras's name)
    shape: Any = None,
    batch_size: Optional[int] = None,
    dtype: Any = None,
    name: Optional[str] = None,
) -> KerasTensor:
    """A symbolic input of shape `(batch, *shape)` for functional models.

    Example:
        >>> x = Input(shape=(4,))
        >>> x.shape
        (None, 4)
    """
    return InputLayer(shape=shape, batch_size=batch_size, name=name).output
