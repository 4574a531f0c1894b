"""Model: a functional model built from `Input` to outputs through a chain of layers."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

import numpy as np

from eigennet.layers.core import Flatten, InputLayer, KerasTensor, Layer, unique_name
from eigennet.models.net import _Net
from eigennet.trainers import data
from eigennet.trainers.trainer import Trainer


def _single(tensors: Any, what: str) -> KerasTensor:
    if isinstance(tensors, (list, tuple)):
        if len(tensors) != 1:
            raise ValueError(
                f"eigennet models have exactly one input and one output. Received {len(tensors)} "
                f"{what}."
            )
        tensors = tensors[0]
    if isinstance(tensors, dict):
        raise ValueError(f"{what} must be a KerasTensor, not a dict.")
    if not isinstance(tensors, KerasTensor):
        raise TypeError(f"{what} must be a KerasTensor from eigennet.Input. Received: {tensors!r}")
    return tensors


class Model(Trainer):
    """A model from `inputs` to `outputs`, as Keras's functional API.

    Example:
        >>> x = Input((4,))
        >>> h = layers.Dense(8, activation="relu")(x)
        >>> y = layers.Dense(2)(h)
        >>> model = Model(x, y)
    """

    def __init__(
        self, inputs: Any = None, outputs: Any = None, name: Optional[str] = None, **kwargs: Any
    ) -> None:
        kwargs.pop("trainable", None)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Model: {kwargs}")
        if inputs is None or outputs is None:
            raise TypeError(
                "Model needs `inputs` and `outputs` (the functional API). Subclassed models with "
                "a Python call() cannot run inside eigennet's C++ core; use Sequential or "
                "Model(inputs, outputs)."
            )
        inp, out = _single(inputs, "inputs"), _single(outputs, "outputs")
        chain: list[Layer] = []
        t: Optional[KerasTensor] = out
        while t is not None and t._layer is not None and not isinstance(t._layer, InputLayer):
            chain.append(t._layer)
            t = t._parent
        if t is None or t is not inp or not isinstance(t._layer, InputLayer):
            raise ValueError("`outputs` are not computed from `inputs` by a chain of layers.")
        if not chain:
            raise ValueError("A model needs at least one layer between inputs and outputs.")
        chain.reverse()
        self._setup(name or unique_name("functional"))
        self._input_layer = t._layer
        self._layers = chain
        self._build(t._layer.shape)

    name: str
    _layers: list[Layer]
    _input_layer: Optional[InputLayer]

    def _setup(self, name: str) -> None:
        self.name = name
        self._net: Any = None  # the _Net once built
        self._layers = []
        self._input_layer = None
        self._init_trainer()

    def _build(self, input_shape: tuple[int, ...]) -> None:
        input_shape = tuple(int(d) for d in input_shape)
        shape: tuple[int, ...] = input_shape
        for layer in self._layers:
            if isinstance(layer, Flatten):
                shape = (int(np.prod(shape)),)
            elif len(shape) != 1:
                raise ValueError(
                    f"Layer {layer.name!r} takes flat feature vectors but receives samples of "
                    f"shape {shape}: put a Flatten layer before it."
                )
        # Flatten is a reshape at the edge (a view of C-ordered input): the core never sees it.
        core_layers = [layer for layer in self._layers if not isinstance(layer, Flatten)]
        if not core_layers:
            raise ValueError("A model needs at least one Dense, Dropout or Activation layer.")
        self._net = _Net(core_layers, int(np.prod(input_shape)))
        self._net.input_shape = input_shape
        if self.compiled:
            self._compile_core()

    # Structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers in order (a functional model lists its InputLayer first, as Keras)."""
        head = [self._input_layer] if self._input_layer is not None else []
        return head + list(self._layers)

    @property
    def built(self) -> bool:
        return self._net is not None

    @property
    def input_shape(self) -> tuple[Optional[int], int]:
        self._require_built("input_shape", AttributeError)
        return (None, *self._net.input_shape)

    @property
    def output_shape(self) -> tuple[Optional[int], int]:
        self._require_built("output_shape", AttributeError)
        return (None, self._net.n_outputs)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """A layer by name or by index in `model.layers`."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}."
        )

    def _require_built(self, what: str, error: type[Exception] = ValueError) -> None:
        # input_shape and output_shape raise AttributeError, as Keras's do, so that
        # hasattr(unbuilt_model, "input_shape") is False.
        if self._net is None:
            raise error(
                f"This model has not yet been built, so {what} is unknown. Build it by calling "
                "it on data, by fit(), or by starting it with an Input."
            )

    def count_params(self) -> int:
        """Total number of weights."""
        self._require_built("count_params()")
        return int(self._net.core.n_params)

    # Weights ------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in Keras order: `[kernel_0, bias_0, kernel_1, ...]`."""
        if self._net is None:
            return []
        params = self._net.core.get_params()
        out: list[np.ndarray] = []
        for i in range(len(self._net.layers)):
            out.extend(self._net.weights_from(params, i))
        return out

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets all weights from arrays in the order and shapes of `get_weights()`."""
        self._require_built("the weight layout")
        weights = list(weights)
        owners = [(layer.name, s) for layer in self._net.layers for s in layer._weight_shapes()]
        shapes = [s for _, s in owners]
        if len(weights) != len(shapes):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of "
                f"length {len(weights)}, but the layer was expecting {len(shapes)} weights."
            )
        params = self._net.core.get_params()
        offset = 0
        for i, (w, shape) in enumerate(zip(weights, shapes)):
            a = np.asarray(w)
            if a.dtype.kind not in "fiub":
                raise TypeError(f"Weight {i} must be numeric. Received dtype {a.dtype}")
            if a.shape != shape:
                raise ValueError(
                    f"Layer {owners[i][0]} weight shape {shape} is not compatible with provided "
                    f"weight shape {a.shape}."
                )
            n = int(np.prod(shape))
            params[offset : offset + n] = a.reshape(-1)
            offset += n
        self._net.core.set_params(params)

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        """Outputs for x as a numpy array (one batch, no progress output). With
        `training=True` dropout is active, as in Keras (e.g. for Monte Carlo dropout)."""
        if not training:
            return self.predict_on_batch(x)
        self._ensure_built(x)
        fast = self._fast_input(x)
        if fast is None:
            fast = data.features(x, self._net.n_inputs, self._net.dtype, "x", self._net.input_shape)
        return self._net.core.predict_array(fast, len(fast), True)

    # Summary ------------------------------------------------------------------------------
    def summary(
        self,
        line_length: Optional[int] = None,
        positions: Any = None,
        print_fn: Optional[Callable[..., Any]] = None,
        **kwargs: Any,
    ) -> None:
        """Prints Keras's summary table: layers, output shapes and parameter counts."""
        from eigennet.models.summary import summary_lines

        emit = print_fn or print
        for line in summary_lines(self, line_length):
            emit(line)

    # Files --------------------------------------------------------------------------------
    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Saves architecture, weights, compile settings and optimizer state to a `.keras`
        file, atomically (a temporary file in the same folder, then a rename)."""
        from eigennet.models import saving

        saving.save_model(self, filepath, overwrite)

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Saves the weights to a `.weights.h5` file (eigennet's own zip format), atomically."""
        from eigennet.models import saving

        saving.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Loads weights saved by `save_weights` (or a whole `.keras` model's weights)."""
        from eigennet.models import saving

        saving.load_weights(self, filepath)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle (joblib, multiprocessing, copy.deepcopy) as the bytes of a `.keras` file. An
        # unbuilt model has no weights and no C++ side yet: its Python state is all of it.
        if self._net is None:
            return (_new_unbuilt, (type(self),), self.__dict__.copy())
        from eigennet.models import saving

        return (saving.model_from_bytes, (saving.model_to_bytes(self),))

    def get_config(self) -> dict[str, Any]:
        """The architecture: model class, name, input width and each layer's config."""
        from eigennet.models import saving

        return saving.model_config(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _new_unbuilt(cls: type[Model]) -> Model:
    """An empty instance of cls that unpickling fills with an unbuilt model's state."""
    return object.__new__(cls)
