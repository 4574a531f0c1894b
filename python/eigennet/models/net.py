"""_Net: the C++ model behind a graph of layers, and where each layer's weights live.

A layer's weights live in the buffers of one net at a time, its home (layers/layer.py). A net
that is about to run first adopts every layer of its graph whose home is elsewhere, copying the
current values in; a counter of home moves makes that check one comparison when nothing moved.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional, Sequence

import numpy as np

from eigennet import _core, config
from eigennet import tape as _tape
from eigennet.layers.layer import KerasTensor, Layer, Node, reachable
from eigennet.utils import seeding

_moves = [0]  # bumped whenever a layer's weights change home


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


def _cgroup_room() -> Optional[float]:
    """Bytes this process's memory cgroup (v2, else v1) still allows, if it sets a limit."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2
            base = f"/sys/fs/cgroup{path}"
            limit, used = _read_int(f"{base}/memory.max"), _read_int(f"{base}/memory.current")
        elif "memory" in controllers.split(","):
            base = f"/sys/fs/cgroup/memory{path}"
            limit = _read_int(f"{base}/memory.limit_in_bytes")
            used = _read_int(f"{base}/memory.usage_in_bytes")
        else:
            continue
        if limit is not None and limit < 2**60:
            return float(limit - (used or 0))
    return None


def _rlimit_room() -> Optional[float]:
    """Bytes of address space RLIMIT_AS still allows, if it is set."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, ValueError, OSError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return float(soft - used)


_SMALL = float(64 << 20)  # below this, a request is not worth reading /proc and /sys for


def available_memory() -> float:
    """What the process can still get: physical memory, a container's cgroup limit and
    RLIMIT_AS, whichever is smallest."""
    try:
        room = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        room = float("inf")
    for other in (_cgroup_room(), _rlimit_room()):
        if other is not None:
            room = min(room, other)
    return room


def _check_memory(n_params: int, itemsize: int, layer: Any) -> None:
    # Parameters, gradients and up to two optimizer slots: refuse early rather than let the
    # allocation or the first touch of the pages exhaust the machine (or the container's limit:
    # the kernel's OOM killer would end the process instead of an exception).
    needed = 4.0 * n_params * itemsize
    if needed < _SMALL:
        return
    available = available_memory()
    if needed > available:
        raise MemoryError(
            f"Layer {layer.name!r} brings the model to {n_params:,} parameters, which need about "
            f"{needed / 2**30:,.1f} GiB for weights, gradients and optimizer state; this process "
            f"can get {available / 2**30:,.1f} GiB."
        )


def _plan(
    inputs: Sequence[KerasTensor], outputs: Sequence[KerasTensor]
) -> tuple[list[Layer], list[Any], list[int], list[int]]:
    """The core graph of inputs -> outputs: its layers (each once, in order of first use), its
    nodes (value ids: inputs first), its output ids and each node's output width. Nested models
    are inlined."""
    layers: list[Layer] = []
    layer_index: dict[int, int] = {}
    nodes: list[Any] = []
    widths: list[int] = []
    env: dict[int, int] = {id(t): k for k, t in enumerate(inputs)}
    n_in = len(inputs)

    def expand(outs: Sequence[KerasTensor], env: dict[int, int]) -> list[int]:
        for t in reachable(outs, set(env)):
            node = t._node
            assert node is not None
            ids = [env[id(x)] for x in node.inputs]
            if getattr(node.layer, "_is_model", False):
                key = -id(node)  # a nested model is expanded once per call
                if key not in env:
                    inner = node.layer
                    inner._require_built("its graph")
                    sub = {id(x): i for x, i in zip(inner.inputs, ids)}
                    for k, o in enumerate(expand(inner.outputs, sub)):
                        env[key - 1 - k] = o
                    env[key] = 1
                env[id(t)] = env[key - 1 - t._index]
                continue
            layer = node.layer
            if id(layer) not in layer_index:
                layer_index[id(layer)] = len(layers)
                layers.append(layer)
            training = -1 if node.training is None else int(node.training)
            nodes.append(_core.NodeSpec(layer_index[id(layer)], ids, training))
            widths.append(math.prod(int(d or 0) for d in t.shape[1:]))
            env[id(t)] = n_in + len(nodes) - 1
        return [env[id(o)] for o in outs]

    out_ids = expand(outputs, env)
    return layers, nodes, out_ids, widths


class _Net:
    """Owns one `_core.Model32/64` for a graph from `inputs` to `outputs` (KerasTensors)."""

    def __init__(self, inputs: Sequence[KerasTensor], outputs: Sequence[KerasTensor]) -> None:
        self.dtype = np.dtype(config.floatx())
        self.layers, nodes, out_ids, widths = _plan(inputs, outputs)
        if not nodes:
            raise ValueError("A model needs at least one layer between inputs and outputs.")
        self.input_shapes = [tuple(int(d or 0) for d in t.shape[1:]) for t in inputs]
        self.input_widths = [math.prod(s) for s in self.input_shapes]
        self.n_inputs = sum(self.input_widths)
        # Per sample of a batch: each node's output, gradient and workspace, and the inputs.
        self.values_per_sample = 3 * sum(widths) + self.n_inputs
        self.input_shape: tuple[int, ...] = self.input_shapes[0]
        self.output_shapes = [tuple(int(d or 0) for d in t.shape[1:]) for t in outputs]
        self.output_widths = [math.prod(s) for s in self.output_shapes]
        self.n_outputs = sum(self.output_widths)
        n_params = n_stats = 0
        limits = config._limits()
        for layer in self.layers:
            decls = layer._weight_decls()
            n_params += sum(math.prod(s) for _, s, state, _ in decls if not state)
            n_stats += sum(math.prod(s) for _, s, state, _ in decls if state)
            if limits is not None and (n_params > limits[0] or n_stats > limits[1]):
                raise ValueError(
                    f"Layer {layer.name!r} needs more weights than the file holds "
                    f"({n_params:,} parameters and {n_stats:,} statistics for "
                    f"{limits[0]:,} and {limits[1]:,} values)."
                )
            _check_memory(n_params, self.dtype.itemsize, layer)
        graph = _core.GraphSpec(
            self.input_widths, [lyr._spec() for lyr in self.layers], nodes, out_ids
        )
        core_cls = _core.Model32 if self.dtype == np.float32 else _core.Model64
        try:
            self.core = core_cls(graph, seeding.next_seed(), config.device())
        except (MemoryError, ValueError) as e:
            raise type(e)(f"Cannot build the model: {e}") from None
        self.n_stats = int(self.core.n_stats)
        self._index = {id(layer): i for i, layer in enumerate(self.layers)}
        # (node, layer) of each node whose layer has an activity regulariser.
        self.activity_nodes = [(k, self.layers[nodes[k].layer]) for k in self.core.activity_nodes]
        self.built_trainable = [bool(layer.trainable) for layer in self.layers]
        self._slices = [self._layout(i, layer) for i, layer in enumerate(self.layers)]
        # Embedding layers that read a model input directly check its indices at the edge.
        self.index_checks = [
            (spec.inputs[0], self.layers[spec.layer])
            for spec in nodes
            if self.layers[spec.layer]._kind == "embedding" and spec.inputs[0] < len(inputs)
        ]
        # Arrays of the model's dtype and layout go to the core unchecked and come back whole.
        self.fast = (
            len(self.input_shapes) == 1
            and len(self.input_shape) == 1
            and not self.index_checks
            and len(self.output_shapes) == 1
            and len(self.output_shapes[0]) == 1
        )
        self._seen = -1
        fresh = [lyr for lyr in self.layers if lyr._home is None and lyr._values is None]
        for layer in fresh:
            i = self._index[id(layer)]
            for j, (_, _, _, init) in enumerate(layer._weight_decls()):
                self.core.initialize(i, j, init._spec())
            layer._home = self
        if fresh:
            _moves[0] += 1
        self.sync()

    def _layout(self, i: int, layer: Layer) -> list[tuple[bool, int, tuple[int, ...]]]:
        """(in the stats buffer, offset, Keras shape) of each weight of layer i."""
        out = []
        offsets = [int(self.core.param_offset(i)), int(self.core.stats_offset(i))]
        decls = layer._weight_decls()
        core_weights = self.core.layer_weights(i)
        if [(n, tuple(s), st) for n, s, st, _ in decls] != [
            (n, tuple(s), st) for n, s, st in core_weights
        ]:
            raise RuntimeError(f"Layer {layer.name!r}: Python and C++ disagree on its weights.")
        for _, shape, state in core_weights:
            out.append((bool(state), offsets[state], tuple(shape)))
            offsets[state] += math.prod(shape)
        return out

    # Weights -------------------------------------------------------------------------------
    @classmethod
    def for_layer(cls, layer: Layer) -> _Net:
        """The one-layer net of eager calls, which also creates a lone layer's weights."""
        assert layer._in_shapes is not None
        net = layer._eager
        # trainable acts at build for eager calls (a frozen BatchNormalization normalises with
        # its moving statistics), as there is no compile.
        if (
            net is None
            or net.input_shapes != layer._in_shapes
            or net.dtype != config.floatx()
            or net.built_trainable != [layer.trainable]
        ):
            inputs = [KerasTensor((None, *s)) for s in layer._in_shapes]
            out_shape = layer._output_sample_shape(layer._in_shapes)
            output = KerasTensor((None, *out_shape), Node(layer, inputs, None))
            net = cls(inputs, [output])
            layer._eager = net
        net.sync()
        return net

    def sync(self) -> None:
        """Adopts the weights of every layer whose home is another net (or the layer)."""
        if self._seen == _moves[0]:
            return
        moved = [lyr for lyr in self.layers if lyr._home is not self]
        if moved:
            params, stats = self.core.get_params(), self.core.get_stats()
            for layer in moved:
                values = layer._home.layer_values(layer) if layer._home else layer._values
                assert values is not None
                for (state, o, shape), v in zip(self._slices[self._index[id(layer)]], values):
                    (stats if state else params)[o : o + math.prod(shape)] = np.asarray(
                        v, dtype=self.dtype
                    ).reshape(-1)
                layer._home, layer._values = self, None
            self.core.set_params(params)
            self.core.set_stats(stats)
            _moves[0] += 1
        self._seen = _moves[0]

    def claim(self) -> None:
        """After training: this net holds the newest weights of all its layers, even if a batch
        callback meanwhile had another model adopt a shared layer (its copy is now older)."""
        moved = [layer for layer in self.layers if layer._home is not self]
        for layer in moved:
            layer._home, layer._values = self, None
        if moved:
            _moves[0] += 1
        self._seen = _moves[0]

    def layer_values(self, layer: Layer) -> list[np.ndarray]:
        params, stats = self.core.get_params(), self.core.get_stats()
        return self._values_from(params, stats, layer)

    def _values_from(self, params: np.ndarray, stats: np.ndarray, layer: Layer) -> list[np.ndarray]:
        # A kernel is stored column-major (units, in): the bytes of Keras's C-order (in, units).
        return [
            (stats if state else params)[o : o + math.prod(s)].reshape(s).copy()
            for state, o, s in self._slices[self._index[id(layer)]]
        ]

    def all_values(self) -> list[np.ndarray]:
        """Every layer's weights, layer by layer in each layer's order."""
        self.sync()
        params, stats = self.core.get_params(), self.core.get_stats()
        return [v for layer in self.layers for v in self._values_from(params, stats, layer)]

    def read_weight(self, layer: Layer, j: int) -> np.ndarray:
        state, o, s = self._slices[self._index[id(layer)]][j]
        buf = self.core.get_stats() if state else self.core.get_params()
        return buf[o : o + math.prod(s)].reshape(s).copy()

    def write_weights(self, layer: Layer, values: dict[int, np.ndarray]) -> None:
        slices = self._slices[self._index[id(layer)]]
        for state in (False, True):
            mine = {j: v for j, v in values.items() if slices[j][0] == state}
            if not mine:
                continue
            buf = self.core.get_stats() if state else self.core.get_params()
            for j, v in mine.items():
                _, o, s = slices[j]
                buf[o : o + math.prod(s)] = np.asarray(v, dtype=buf.dtype).reshape(-1)
            (self.core.set_stats if state else self.core.set_params)(buf)

    def check_batch(self, batch: int, what: str) -> None:
        """MemoryError, before anything is allocated, for a batch whose workspaces this process
        cannot get."""
        needed = float(batch) * self.values_per_sample * self.dtype.itemsize
        if needed < _SMALL:
            return
        available = available_memory()
        if needed > available:
            raise MemoryError(
                f"A {what} batch of {batch:,} samples needs about {needed / 2**30:,.1f} GiB of "
                f"workspace for this model; this process can get {available / 2**30:,.1f} GiB. "
                "Use a smaller batch_size."
            )

    # Running --------------------------------------------------------------------------------
    @classmethod
    def eager_call(cls, layer: Layer, arrays: list[Any], training: bool) -> np.ndarray:
        """`layer(x)` on arrays: the layer's one-layer net on one batch."""
        xs = []
        for a in arrays:
            x = np.asarray(a)
            if x.ndim < 2 or x.shape[0] == 0:
                raise ValueError(
                    f"Layer {layer.name!r} expects a batch of samples (batch, ...), got shape "
                    f"{x.shape}"
                )
            xs.append(x)
        if len({x.shape[0] for x in xs}) != 1:
            raise ValueError(f"Layer {layer.name!r}: the inputs have different batch sizes.")
        layer._bind_shapes([tuple(int(d) for d in x.shape[1:]) for x in xs])
        net = cls.for_layer(layer)
        n = xs[0].shape[0]
        flat = [np.asarray(x, dtype=net.dtype).reshape(n, -1) for x in xs]
        for k, emb in net.index_checks:
            emb.check_indices(flat[k], "its input")
        x2 = np.ascontiguousarray(flat[0] if len(flat) == 1 else np.hstack(flat))
        if _tape.recording():
            return _tape.record(net, x2, training, arrays, lambda parts: parts[0])
        out = net.core.predict_array(x2, n, training)
        return out.reshape(n, *net.output_shapes[0])
