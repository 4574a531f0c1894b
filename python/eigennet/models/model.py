"""Model: a functional model, a graph of layers from `Input`s to outputs (Keras's functional
API): several inputs and outputs, shared layers, merges, nested models."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Optional, Sequence

import numpy as np

from eigennet import tape as _tape
from eigennet.layers.input_layer import InputLayer
from eigennet.layers.layer import (
    KerasTensor,
    Layer,
    Node,
    reachable,
    unique_name,
    write_checked,
)
from eigennet.models.net import _Net
from eigennet.trainers.trainer import Trainer
from eigennet.variables import Variable


def _flatten_struct(struct: Any, what: str) -> tuple[list[KerasTensor], Any]:
    """(tensors, structure): a tensor, a list/tuple of them, or a dict of them by name."""
    keys: Any
    if isinstance(struct, KerasTensor):
        return [struct], None
    if isinstance(struct, dict):
        tensors, keys = list(struct.values()), list(struct.keys())
    elif isinstance(struct, (list, tuple)):
        tensors, keys = list(struct), len(struct)
    else:
        raise TypeError(f"{what} must be KerasTensors from eigennet.Input. Received: {struct!r}")
    if not tensors:
        raise ValueError(f"A model needs at least one of its {what}.")
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"{what} must be KerasTensors. Received: {t!r}")
    return tensors, keys


class Model(Trainer):
    """A model from `inputs` to `outputs`, as Keras's functional API.

    Example:
        >>> x = Input((4,))
        >>> h = layers.Dense(8, activation="relu")(x)
        >>> y = layers.Dense(2)(h)
        >>> model = Model(x, y)
    """

    _is_model = True

    def __init__(
        self,
        inputs: Any = None,
        outputs: Any = None,
        name: Optional[str] = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Model: {kwargs}")
        if inputs is None or outputs is None:
            raise TypeError(
                "Model needs `inputs` and `outputs` (the functional API). Subclassed models with "
                "a Python call() cannot run inside eigennet's C++ core; use Sequential or "
                "Model(inputs, outputs)."
            )
        self._setup(name or unique_name("functional"))
        self._set_graph(inputs, outputs)
        if not trainable:
            self.trainable = False

    name: str
    _layers: list[Layer]

    def _setup(self, name: str) -> None:
        self.name = name
        self._net: Any = None  # the _Net once built
        self._layers = []
        self.inputs: list[KerasTensor] = []
        self.outputs: list[KerasTensor] = []
        self._input_keys: Any = None
        self._output_keys: Any = None
        self._fitting = False
        self._trainable = True
        self._init_trainer()

    def _set_graph(self, inputs: Any, outputs: Any) -> None:
        ins, self._input_keys = _flatten_struct(inputs, "inputs")
        outs, self._output_keys = _flatten_struct(outputs, "outputs")
        for t in ins:
            if t._node is not None or not isinstance(t._input_layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come from eigennet.Input; {t} is computed by layer "
                    f"{t._layer.name!r}."
                )
        if len({id(t) for t in ins}) != len(ins):
            raise ValueError("The same input appears twice in the model's inputs.")
        self.inputs, self.outputs = ins, outs
        self._layers = self._collect_layers()
        if not any(not isinstance(lyr, InputLayer) for lyr in self._layers):
            raise ValueError("A model needs at least one layer between inputs and outputs.")
        self._build()

    def _collect_layers(self) -> list[Layer]:
        """Keras's `model.layers`: the input layers, then every layer (a nested model as one) in
        the order the graph first uses it."""
        order: list[Layer] = [t._input_layer for t in self.inputs]
        seen = {id(layer) for layer in order}
        for t in reachable(self.outputs, {id(t) for t in self.inputs}):
            layer = t._layer
            if id(layer) not in seen:
                seen.add(id(layer))
                order.append(layer)
        return order

    def _build(self) -> None:
        if self._fitting:
            raise RuntimeError(
                f"Model {self.name!r} is being trained by fit(): its structure cannot change "
                "until fit returns (stop training with model.stop_training = True first)."
            )
        self._net = _Net(self.inputs, self.outputs)
        for layer in self._net.layers:
            layer._models.add(self)
        if self.compiled:
            self._compile_core()

    # Structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers in order (a functional model lists its InputLayers first, as Keras)."""
        return list(self._layers)

    @property
    def built(self) -> bool:
        return self._net is not None

    def _shapes(self, shapes: list[tuple[int, ...]], keys: Any) -> Any:
        out = [(None, *s) for s in shapes]
        if keys is None:
            return out[0]
        return dict(zip(keys, out)) if isinstance(keys, list) else out

    @property
    def input_shape(self) -> Any:
        self._require_built("input_shape", AttributeError)
        return self._shapes(self._net.input_shapes, self._input_keys)

    @property
    def output_shape(self) -> Any:
        self._require_built("output_shape", AttributeError)
        return self._shapes(self._net.output_shapes, self._output_keys)

    @property
    def input(self) -> Any:
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self) -> Any:
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    @property
    def output_names(self) -> list[str]:
        """One name per output: its dict key, else the name of the layer that computes it."""
        if isinstance(self._output_keys, list):
            return [str(k) for k in self._output_keys]
        return [t._layer.name for t in self.outputs]

    @property
    def input_names(self) -> list[str]:
        if isinstance(self._input_keys, list):
            return [str(k) for k in self._input_keys]
        return [t._layer.name for t in self.inputs]

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
        """Total number of weights, trainable or not."""
        self._require_built("count_params()")
        return int(sum(math.prod(v.shape) for v in self.weights))

    # Trainable and weights ----------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # As Keras: every layer follows; the change takes effect at the next compile().
        self._trainable = bool(value)
        for layer in self._all_layers():
            layer.trainable = bool(value)

    def _all_layers(self) -> list[Any]:
        out: list[Any] = []
        for layer in self.layers:
            if isinstance(layer, Model):
                out.append(layer)
                out.extend(layer._all_layers())
            elif not isinstance(layer, InputLayer):
                out.append(layer)
        return out

    @property
    def weights(self) -> list[Variable]:
        """Every layer's weights, layer by layer (shared layers once)."""
        if self._net is None:
            return []
        return [v for layer in self._net.layers for v in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if not v.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    @property
    def losses(self) -> list[Any]:
        """Keras's `model.losses`: the activity penalties of the layers' last calls recorded on
        a GradientTape, then the weight penalties of the trainable layers, as scalars a
        GradientTape can differentiate: add `sum(model.losses)` to a custom loss."""
        if self._net is None:
            return []
        layers = self._net.layers
        activity = [v for layer in layers for v in _tape.activity_values(layer)]
        return activity + [p for layer in layers if (p := _tape.penalty_value(layer)) is not None]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in Keras order: `[kernel_0, bias_0, kernel_1, ...]`."""
        if self._net is None:
            return []
        return self._net.all_values()

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets all weights from arrays in the order and shapes of `get_weights()`."""
        self._require_built("the weight layout")
        self._net.sync()
        write_checked(self.weights, list(weights), lambda i, v: v._layer.name, self.name)

    def __call__(self, x: Any, training: Optional[bool] = None) -> Any:
        """On KerasTensors, applies the model as a layer of a larger graph; on data, the outputs
        as numpy arrays (one batch, no progress output). With `training=True` dropout and the
        noise layers are active and BatchNormalization uses batch statistics, as in Keras."""
        tensors = x if isinstance(x, (list, tuple)) else [x]
        if tensors and all(isinstance(t, KerasTensor) for t in tensors):
            return self._call_symbolic(list(tensors), training)
        if _tape.recording():
            self._ensure_built(x)
            self._net.sync()
            xa = self._fast_input(x)
            if xa is None:
                xa = np.ascontiguousarray(self._features(x))
            return _tape.record(self._net, xa, bool(training), self._input_list(x), self._pack)
        if not training:
            return self.predict_on_batch(x)
        self._ensure_built(x)
        net = self._net
        net.sync()
        xa = self._features(x)
        return self._split_outputs(net.core.predict_array(xa, len(xa), True))

    def _call_symbolic(self, tensors: list[KerasTensor], training: Optional[bool]) -> Any:
        self._require_built("its graph")
        if len(tensors) != len(self.inputs):
            raise ValueError(
                f"Model {self.name!r} takes {len(self.inputs)} inputs, got {len(tensors)}."
            )
        for t, mine in zip(tensors, self.inputs):
            if tuple(t.shape[1:]) != tuple(mine.shape[1:]):
                raise ValueError(
                    f"Model {self.name!r} expects inputs of shape {mine.shape}, got {t.shape}."
                )
        node = Node(self, tensors, None if training is None else bool(training))
        outs = [KerasTensor(o.shape, node, self.name, index=k) for k, o in enumerate(self.outputs)]
        return outs[0] if len(outs) == 1 else outs

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
        file in Keras 3's layout (Keras loads it), with eigennet's exact state beside it
        (`eigennet/`: random streams, for a bit-for-bit resume), atomically (a temporary file
        in the same folder, then a rename)."""
        from eigennet.models import saving

        saving.save_model(self, filepath, overwrite)

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Saves the weights (and a compiled model's optimizer variables) to a `.weights.h5`
        file in Keras 3's HDF5 layout, atomically."""
        from eigennet.models import saving

        saving.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Loads a `.weights.h5` file written by eigennet or Keras (or a `.keras` file's
        weights); a compiled model also takes the optimizer variables when they fit."""
        from eigennet.models import saving

        saving.load_weights(self, filepath)

    def export(
        self,
        filepath: str | os.PathLike[str],
        format: str = "tf_saved_model",
        verbose: Optional[bool] = True,
        input_signature: Any = None,
        **kwargs: Any,
    ) -> None:
        """Exports the model in inference form: `format="onnx"` (an ONNX model, through the
        optional `onnx` package; `opset_version=` at least 17) or `format="c"` (one C99 header
        with `<name>_predict`; `name=` defaults to the file's stem). Keras's default,
        "tf_saved_model", needs TensorFlow and is refused."""
        from eigennet.export import export_model

        export_model(self, filepath, format, verbose, input_signature, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle (joblib, multiprocessing, copy.deepcopy) as the bytes of a `.keras` file. An
        # unbuilt model has no weights and no C++ side yet: its Python state is all of it.
        if self._net is None:
            return (_new_unbuilt, (type(self),), self.__dict__.copy())
        from eigennet.models import saving

        return (saving.model_from_bytes, (saving.model_to_bytes(self),))

    def get_config(self) -> dict[str, Any]:
        """The architecture: model class, name, inputs, layers and the graph between them."""
        from eigennet.models import saving

        return saving.model_config(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _new_unbuilt(cls: type[Model]) -> Model:
    """An empty instance of cls that unpickling fills with an unbuilt model's state."""
    return object.__new__(cls)
