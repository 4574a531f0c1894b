"""_Net: the C++ model behind a list of layers, and the weight slicing between them."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from eigennet import _core, config
from eigennet.utils import seeding


def _physical_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return float("inf")


def _check_memory(n_params: int, itemsize: int, layer: Any) -> None:
    # Parameters, gradients and up to two optimizer slots: refuse early rather than let the
    # allocation or the first touch of the pages exhaust the machine.
    needed = 4.0 * n_params * itemsize
    available = _physical_memory()
    if needed > available:
        raise MemoryError(
            f"Layer {layer.name!r} brings the model to {n_params:,} parameters, which need about "
            f"{needed / 2**30:,.1f} GiB for weights, gradients and optimizer state; this machine "
            f"has {available / 2**30:,.1f} GiB."
        )


class _Net:
    """Owns one `_core.Model32/64` built from `layers` (a chain) on `n_inputs` features."""

    def __init__(self, layers: Sequence[Any], n_inputs: int, attach: bool = True) -> None:
        self.layers = list(layers)
        self.dtype = np.dtype(config.floatx())
        specs = []
        width = n_inputs
        n_params = 0
        for layer in self.layers:
            layer._bind_input(width)
            specs.append(layer._spec(width))
            n_params += sum(int(np.prod(s, dtype=np.float64)) for s in layer._weight_shapes())
            width = layer.compute_output_shape((None, width))[1]
            _check_memory(n_params, self.dtype.itemsize, layer)
        existing = [layer.get_weights() for layer in self.layers]
        core_cls = _core.Model32 if self.dtype == np.float32 else _core.Model64
        try:
            self.core = core_cls(n_inputs, specs, seeding.next_seed(), config.device())
        except (MemoryError, ValueError) as e:
            raise type(e)(f"Cannot build the model: {e}") from None
        for i, layer in enumerate(self.layers):
            inits = layer._init_specs()
            if existing[i]:
                self.set_layer_weights(i, existing[i])
            elif inits is not None:
                self.core.initialize(i, *inits)
        if attach:
            for i, layer in enumerate(self.layers):
                layer._net, layer._index, layer._pending = self, i, None
        self.n_inputs = n_inputs
        self.input_shape: tuple[int, ...] = (n_inputs,)  # a sample's shape before Flatten
        self.n_outputs = width

    def _slices(self, i: int) -> list[tuple[int, tuple[int, ...]]]:
        offset = self.core.param_offset(i)
        out = []
        for shape in self.layers[i]._weight_shapes():
            out.append((offset, shape))
            offset += int(np.prod(shape))
        return out

    def weights_from(self, params: np.ndarray, i: int) -> list[np.ndarray]:
        # A kernel is stored column-major (units, in): the bytes of Keras's C-order (in, units).
        return [params[o : o + int(np.prod(s))].reshape(s).copy() for o, s in self._slices(i)]

    def layer_weights(self, i: int) -> list[np.ndarray]:
        return self.weights_from(self.core.get_params(), i)

    def set_layer_weights(self, i: int, arrays: Sequence[np.ndarray]) -> None:
        params = self.core.get_params()
        for (o, s), a in zip(self._slices(i), arrays):
            params[o : o + int(np.prod(s))] = np.asarray(a, dtype=params.dtype).reshape(-1)
        self.core.set_params(params)

    def predict(self, x: np.ndarray, batch_size: int, training: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=self.dtype)
        out, _ = self.core.predict(self.core.dataset(x), batch_size)
        return out
