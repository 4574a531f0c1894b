"""The base of every layer, the symbolic tensors of functional models, and Keras-style names.

A layer owns its weights. They live in the C++ buffers of the model the layer last ran in (its
"home"), or in the layer itself before any model; every model that uses the layer copies them in
before it runs when another model moved them (models/net.py). So a layer shared by two models, or
applied twice in one, has one set of weights, as in Keras.
"""

from __future__ import annotations

import math
import re
import weakref
from typing import Any, Optional, Sequence

import numpy as np

from eigennet import _core, regularizers
from eigennet.variables import Variable

_NAME_COUNTS: dict[str, int] = {}


def unique_name(base: str) -> str:
    """Keras-style automatic names: `dense`, `dense_1`, `dense_2`, ..."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def check_input_shape(shape: Any, what: str = "shape") -> tuple[int, ...]:
    """A sample's shape: `(n_features,)`, or e.g. `(28, 28)` for a model that starts with
    Flatten. Every dimension a positive int."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what} must be a tuple such as (n_features,). Received: {shape!r}")
    shape = tuple(shape)
    if not shape or any(
        isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0 for k in shape
    ):
        raise ValueError(f"Every dimension must be a positive int. Received: {what}={shape}")
    if math.prod(int(k) for k in shape) > 2**40:
        raise ValueError(f"A sample of shape {shape} is too large. Received: {what}={shape}")
    return tuple(int(k) for k in shape)


class Node:
    """One application of a layer in a functional graph: its layer, input tensors and Keras's
    call-time `training` (None follows the pass)."""

    _count = 0

    def __init__(self, layer: Any, inputs: list[KerasTensor], training: Optional[bool]) -> None:
        self.layer = layer
        self.inputs = inputs
        self.training = training
        # Creation order: a node's inputs always come from earlier nodes, so sorting by it is a
        # topological order, and the one in which the user wrote the graph (Keras's order).
        Node._count += 1
        self.serial = Node._count


def reachable(outputs: Sequence[KerasTensor], known: set[int]) -> list[KerasTensor]:
    """The tensors computed between `known` tensor ids and `outputs`, in creation order.
    Raises ValueError (Keras's "Graph disconnected") for a path to an input not known."""
    found: dict[int, KerasTensor] = {}
    stack = list(outputs)
    while stack:
        t = stack.pop()
        if id(t) in known or id(t) in found:
            continue
        if t._node is None:
            raise ValueError(
                f"Graph disconnected: cannot obtain value for tensor {t} (input {t.name!r} is "
                "not among the model's inputs)."
            )
        found[id(t)] = t
        stack.extend(t._node.inputs)
    return sorted(found.values(), key=lambda t: (t._node.serial if t._node else 0, t._index))


class KerasTensor:
    """A symbolic tensor of a functional model: a shape `(None, *sample_shape)` and the node
    that produced it (none for a model input)."""

    def __init__(
        self,
        shape: tuple[Optional[int], ...],
        node: Optional[Node] = None,
        name: str = "",
        index: int = 0,
        input_layer: Any = None,
    ) -> None:
        self.shape = shape
        self.dtype = None
        self.name = name
        self._node = node
        self._index = index  # which output of the node (a nested model may have several)
        self._input_layer = input_layer

    @property
    def _layer(self) -> Any:
        return self._input_layer if self._node is None else self._node.layer

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, name={self.name}>"


def _is_symbolic(inputs: Any) -> bool:
    if isinstance(inputs, KerasTensor):
        return True
    return (
        isinstance(inputs, (list, tuple))
        and len(inputs) > 0
        and all(isinstance(t, KerasTensor) for t in inputs)
    )


# Bumped whenever a layer is frozen or unfrozen (what optimizers' cached plans depend on).
trainable_changes = [0]


class Layer:
    """Base class of eigennet layers.

    Args:
        name: the layer's name; Keras-style automatic names when None.
        trainable: whether `fit` updates its weights (Keras's semantics: a change takes effect
            at the next `compile`).
        input_shape: optional sample shape (legacy Keras style for a first layer).
        activity_regularizer: optional `L1`, `L2` or `L1L2` of the layer's output: at each
            call `regularizer(output) / batch_size` joins the loss of `fit`, `evaluate`,
            `train_on_batch` and `test_on_batch` (Keras 3's rule), computed by the core.
    """

    _kind = ""  # the C++ registry's name
    _flat_only = True  # takes flat feature vectors only
    _multi_input = False

    def __init__(
        self,
        name: Optional[str] = None,
        trainable: bool = True,
        dtype: Any = None,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string. Received: name={name!r}")
        self.name = name or unique_name(_snake(type(self).__name__))
        self._input_shape: Optional[tuple[int, ...]] = None
        if input_shape is not None:
            self._input_shape = check_input_shape(input_shape, "input_shape")
        elif input_dim is not None:
            self._input_shape = check_input_shape((input_dim,), "input_dim")
        self._in_shapes: Optional[list[tuple[int, ...]]] = None
        self._home: Any = None  # the models.net._Net whose buffers hold the weights
        self._values: Optional[list[np.ndarray]] = None  # the weights while no net holds them
        self._eager: Any = None  # the one-layer net of eager calls
        # (call, node, value) of each activity penalty of the last call recorded on a tape.
        self._activity: list[tuple[Any, int, float]] = []
        self._trainable = bool(trainable)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._variables: list[Variable] = []
        self._models: weakref.WeakSet[Any] = weakref.WeakSet()  # models built with this layer

    # Building -----------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self._in_shapes is not None

    def _check_inputs(self, shapes: list[tuple[int, ...]]) -> None:
        """Raises ValueError for sample shapes this layer cannot take."""
        if not self._multi_input and len(shapes) != 1:
            raise ValueError(f"Layer {self.name!r} takes one input. Received {len(shapes)} inputs.")
        if self._flat_only:
            for s in shapes:
                if len(s) != 1:
                    raise ValueError(
                        f"Layer {self.name!r} takes flat feature vectors but receives samples "
                        f"of shape {s}: put a Flatten layer before it."
                    )

    def _output_sample_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return shapes[0]

    def _bind_shapes(self, shapes: list[tuple[int, ...]]) -> None:
        if self._in_shapes is not None:
            if [tuple(s) for s in shapes] != self._in_shapes:
                raise ValueError(
                    f"Layer {self.name!r} was built for inputs of shape "
                    f"{_batch_shapes(self._in_shapes)} and cannot take "
                    f"{_batch_shapes(shapes)}: a layer keeps one set of weights."
                )
            return
        self._check_inputs(shapes)
        self._in_shapes = [tuple(s) for s in shapes]
        self._variables = [
            Variable(self, j, name, shape, state)
            for j, (name, shape, state, _) in enumerate(self._weight_decls())
        ]

    def build(self, input_shape: Any) -> None:
        """Builds the layer (and creates its weights) for inputs of shape `(batch, ...)`, or a
        list of such shapes for merge layers."""
        shapes = input_shape if self._multi_input else [input_shape]
        self._bind_shapes([check_input_shape(tuple(s)[1:], "input_shape") for s in shapes])
        self._ensure_values()

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The output shape for inputs of shape `(batch, ...)` (a list of them for merges)."""
        shapes = list(input_shape) if self._multi_input else [input_shape]
        batch = tuple(shapes[0])[0]
        return (batch, *self._output_sample_shape([tuple(s)[1:] for s in shapes]))

    def _core_args(self) -> tuple[dict[str, int], dict[str, float], dict[str, str]]:
        """The C++ layer's arguments: (ints, nums, strs)."""
        return {}, {}, {}

    def _spec(self) -> Any:
        ints, nums, strs = self._core_args()
        if self.activity_regularizer is not None:
            reg = self.activity_regularizer
            nums = {**nums, "activity_l1": reg.l1, "activity_l2": reg.l2}
        for weight, constraint in self._constrained():
            i, n, s = constraint._spec_entries(weight)
            ints, nums, strs = {**ints, **i}, {**nums, **n}, {**strs, **s}
        return _core.LayerSpec(self._kind, ints, nums, strs, self._trainable)

    def _constrained(self) -> list[tuple[str, Any]]:
        """(weight name, constraint) of each constrained weight, applied by the core after every
        update."""
        return []

    def _weight_decls(self) -> list[tuple[str, tuple[int, ...], bool, Any]]:
        """(name, Keras shape, is non-trainable state, initializer) per weight, Keras's order."""
        return []

    # Weights ------------------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        trainable_changes[0] += 1

    def _weight_dtype(self) -> np.dtype:
        from eigennet import config

        return self._home.dtype if self._home is not None else np.dtype(config.floatx())

    def _ensure_values(self) -> None:
        """Creates the weights (drawn by the C++ initialisers) the first time they are needed."""
        if self._home is None and self._values is None and self._variables:
            from eigennet.models.net import _Net

            _Net.for_layer(self)

    def _drop_eager(self) -> None:
        """Forgets the one-layer net of eager calls (its configuration changed)."""
        eager, self._eager = getattr(self, "_eager", None), None
        if eager is not None and self._home is eager:
            self._values, self._home = eager.layer_values(self), None

    def _read_weight(self, j: int) -> np.ndarray:
        self._ensure_values()
        if self._home is not None:
            return self._home.read_weight(self, j)
        assert self._values is not None
        return self._values[j].copy()

    def _write_weight(self, j: int, value: np.ndarray) -> None:
        self._ensure_values()
        if self._home is not None:
            self._home.write_weights(self, {j: value})
        else:
            assert self._values is not None
            self._values[j] = np.asarray(value, dtype=self._values[j].dtype).copy()

    @property
    def weights(self) -> list[Variable]:
        """Every weight: trainable ones first, then the non-trainable state (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if v.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if not v.trainable]

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    def _regularized(self) -> list[tuple[str, Any]]:
        """(weight name, regularizer) of each regularised weight, as the core penalises them."""
        return []

    @property
    def losses(self) -> list[Any]:
        """Keras's `layer.losses`: the activity penalties of the layer's last call recorded on a
        GradientTape (one per application), then its weights' regularisation penalty while it
        is trainable, as scalars a GradientTape can differentiate."""
        from eigennet import tape

        p = tape.penalty_value(self) if self.built else None
        return tape.activity_values(self) + ([] if p is None else [p])

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return self.non_trainable_weights

    def _variable(self, name: str) -> Optional[Variable]:
        if not self.built:
            raise AttributeError(
                f"Layer {self.name!r} is not built yet, so it has no {name}. Call it on an input "
                "or build the model first."
            )
        for v in self._variables:
            if v.name == name:
                return v
        return None

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the layer's weights, in the order of `layer.weights`."""
        if not self._variables:
            return []
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the layer's weights from numpy arrays of the shapes `get_weights()` returns."""
        if not self.built:
            raise ValueError(
                f"Layer {self.name!r} is not built yet: its weight shapes are unknown. Call it "
                "on an input or build the model first."
            )
        write_checked(self.weights, list(weights), lambda i, v: self.name, self.name)

    def count_params(self) -> int:
        """Number of weights of the layer (it must be built)."""
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. You can build it manually via: `layer.build(batch_input_shape)`."
            )
        return int(sum(math.prod(v.shape) for v in self._variables))

    # Calling ------------------------------------------------------------------------------
    def __call__(self, inputs: Any, training: Optional[bool] = None, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected call arguments: {kwargs}")
        if training is not None and not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be a bool or None. Received: training={training!r}")
        if _is_symbolic(inputs):
            tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            if not self._multi_input and isinstance(inputs, (list, tuple)):
                raise ValueError(f"Layer {self.name!r} takes one input, not a list.")
            shapes = [check_input_shape(t.shape[1:], "input shape") for t in tensors]
            self._bind_shapes(shapes)
            out = self._output_sample_shape(self._in_shapes or shapes)
            node = Node(self, tensors, None if training is None else bool(training))
            return KerasTensor((None, *out), node, self.name)
        from eigennet.models.net import _Net

        arrays = list(inputs) if self._multi_input else [inputs]
        return _Net.eager_call(self, arrays, bool(training))

    def __getstate__(self) -> dict[str, Any]:
        # Pickled on its own (or inside an unbuilt model): the weights travel as arrays.
        state = self.__dict__.copy()
        if self._home is not None:
            state["_values"] = self._home.layer_values(self)
        state["_home"] = state["_eager"] = None
        state["_activity"] = []
        state["_models"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._models = weakref.WeakSet()

    # Config -------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a dict (what `from_config` takes)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self._trainable}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Creates an instance from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _batch_shapes(shapes: Sequence[tuple[int, ...]]) -> Any:
    out = [(None, *s) for s in shapes]
    return out[0] if len(out) == 1 else out


def write_checked(
    order: list[Variable], weights: list[Any], owner: Any, caller: Optional[str] = None
) -> None:
    """Checks every array against its variable (owner(i, v) names the layer in errors), then
    writes them, once per layer. With `caller` (the layer or model set_weights was called on)
    the counts must match too."""
    if caller is not None and len(weights) != len(order):
        raise ValueError(
            f"You called `set_weights(weights)` on layer '{caller}' with a weight list of "
            f"length {len(weights)}, but the layer was expecting {len(order)} weights."
        )
    per_layer: dict[int, tuple[Any, dict[int, np.ndarray]]] = {}
    for i, (v, w) in enumerate(zip(order, weights)):
        a = np.asarray(w)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"Weight {i} must be numeric. Received dtype {a.dtype}")
        if a.shape != v.shape:
            raise ValueError(
                f"Layer {owner(i, v)} weight shape {v.shape} is not compatible with "
                f"provided weight shape {a.shape}."
            )
        per_layer.setdefault(id(v._layer), (v._layer, {}))[1][v._index] = a
    for layer, values in per_layer.values():
        layer._ensure_values()
        if layer._home is not None:
            layer._home.write_weights(layer, values)
        else:
            for j, a in values.items():
                layer._values[j] = np.asarray(a, dtype=layer._values[j].dtype).copy()
