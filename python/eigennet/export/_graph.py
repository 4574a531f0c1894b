"""A trained model in inference form: the operations `predict` runs, over flat float32 samples,
for the exporters (ONNX, C) to write out.

Every value is a flat vector per sample (its Keras shape in C order, as the core holds it), so
Flatten, Reshape and Identity are aliases, Dropout and the noise layers vanish, and
BatchNormalization and Normalization become one per-feature affine map. A node that was called
with `training=True` behaves randomly (or with batch statistics) in `predict`: no exporter can
reproduce that, so it is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Keras 3's Normalization divides by max(sqrt(variance), epsilon), epsilon its backend's 1e-7.
NORMALIZATION_EPSILON = 1e-7
MERGES = ("add", "subtract", "multiply", "average", "maximum", "minimum")
_ALIASES = ("identity", "dropout", "gaussian_noise", "gaussian_dropout")
_RANDOM_IN_TRAINING = ("dropout", "gaussian_noise", "gaussian_dropout", "batch_normalization")


@dataclass
class Op:
    """One operation: `kind` over the values `inputs`, writing value `output` (width floats per
    sample).

    kind and what `params` and `attrs` hold:
      dense        kernel (in, units), bias (units,) or absent; attrs activation
      activation   attrs activation, activation_args (relu's, leaky_relu's, elu's arguments)
      affine       y = (x - shift) * scale + offset: each (width,) or absent
      layer_norm   gamma, beta (width,) or absent; attrs epsilon
      embedding    embeddings (input_dim, output_dim); attrs length (indices per sample)
      add ... minimum, concatenate   element-wise over inputs of one width / joined features
    """

    kind: str
    layer: str  # the layer's name
    index: int  # the layer's position in the graph (a shared layer's ops share its weights)
    inputs: list[int]
    output: int
    width: int
    params: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """Values 0..len(input_shapes)-1 are the model's inputs; `outputs` names the values the model
    returns, in order."""

    input_names: list[str]
    input_shapes: list[tuple[int, ...]]
    output_names: list[str]
    output_shapes: list[tuple[int, ...]]
    ops: list[Op]
    outputs: list[int]
    widths: dict[int, int]

    @property
    def input_widths(self) -> list[int]:
        return [math.prod(s) for s in self.input_shapes]

    @property
    def output_widths(self) -> list[int]:
        return [math.prod(s) for s in self.output_shapes]


def _f32(a: np.ndarray, layer: Any, name: str) -> np.ndarray:
    out = np.ascontiguousarray(a, dtype=np.float32)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"Layer {layer.name!r}: its {name} holds values that are not finite in float32; "
            "such a model cannot be exported."
        )
    return out


def _weights(layer: Any) -> dict[str, np.ndarray]:
    return {v.name: _f32(v.numpy(), layer, v.name) for v in layer._variables}


def _affine(layer: Any, w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """BatchNormalization's or Normalization's inference map as shift, scale and offset."""
    if layer._kind == "normalization":
        var = np.maximum(w["variance"].astype(np.float64), 0.0)
        scale = 1.0 / np.maximum(np.sqrt(var), NORMALIZATION_EPSILON)
        return {"shift": w["mean"], "scale": scale.astype(np.float32)}
    var = w["moving_variance"].astype(np.float64)
    scale = 1.0 / np.sqrt(var + layer.epsilon)
    if "gamma" in w:
        scale = scale * w["gamma"]
    params = {"shift": w["moving_mean"], "scale": scale.astype(np.float32)}
    if "beta" in w:
        params["offset"] = w["beta"]
    return params


def inference_graph(model: Any) -> Graph:
    """The operations of `model.predict`, weights copied as float32."""
    from eigennet.models.net import _plan

    model._require_built("its graph")
    layers, nodes, out_ids, widths = _plan(model.inputs, model.outputs)
    n_in = len(model.inputs)
    input_shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
    width = {k: math.prod(s) for k, s in enumerate(input_shapes)}
    alias: dict[int, int] = {}
    ops: list[Op] = []
    for k, node in enumerate(nodes):
        layer = layers[node.layer]
        out = n_in + k
        ins = [alias.get(int(i), int(i)) for i in node.inputs]
        width[out] = int(widths[k])
        kind = layer._kind
        if node.training == 1 and kind in _RANDOM_IN_TRAINING:
            raise NotImplementedError(
                f"Layer {layer.name!r} ({type(layer).__name__}) was called with training=True, "
                "so predict runs it in its training form; an export holds the inference form "
                "only. Call the layer without training=True to export the model."
            )
        if kind in _ALIASES:
            alias[out] = ins[0]
            continue
        w = _weights(layer)
        op = Op(kind, layer.name, int(node.layer), ins, out, width[out])
        if kind == "dense":
            op.params = w
            op.attrs["activation"] = layer.activation.__name__
        elif kind == "activation":
            op.attrs["activation"] = layer.activation.__name__
            op.attrs["activation_args"] = dict(layer._activation_args)
        elif kind in ("batch_normalization", "normalization"):
            op.kind, op.params = "affine", _affine(layer, w)
        elif kind == "layer_normalization":
            op.kind, op.params = "layer_norm", w
            op.attrs["epsilon"] = layer.epsilon
        elif kind == "embedding":
            op.params = w
            op.attrs["length"] = width[ins[0]]
        elif kind in (*MERGES, "concatenate"):
            pass
        else:
            raise NotImplementedError(
                f"Layer {layer.name!r}: {type(layer).__name__} layers cannot be exported yet."
            )
        ops.append(op)
    outputs = [alias.get(int(i), int(i)) for i in out_ids]
    return Graph(
        input_names=[t._input_layer.name for t in model.inputs],
        input_shapes=input_shapes,
        output_names=list(model.output_names),
        output_shapes=[tuple(int(d) for d in t.shape[1:]) for t in model.outputs],
        ops=ops,
        outputs=outputs,
        widths=width,
    )
