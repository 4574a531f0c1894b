"""Keras 3's file layout: `config.json` in Keras's serialization schema and the weights in
Keras's HDF5 layout, written so that `keras.models.load_model` reads eigennet's files and read
so that eigennet loads the files Keras writes.

HDF5 goes through h5py (a dependency, imported only here). In the weights file each layer of
the model, in Keras's order of `model.layers`, has a group `layers/<class in snake case>[_k]/vars`
holding datasets "0", "1", ... in the order the layer creates its variables; the optimizer's
variables (iterations, the learning rate, then its slots variable by variable) are under
`optimizer/vars`. Loading reads only JSON and numeric datasets whose shapes are checked before
they are read: no code runs.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import re
from typing import Any, Optional

import numpy as np

KERAS_VERSION = "3.15.1"  # the Keras release whose files the tests exchange
_DTYPES = ("float32", "float64")
_MAX_H5_BYTES = 1 << 34


def snake(name: str) -> str:
    """Keras's snake case of a class name: BatchNormalization -> batch_normalization."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _h5_names(objects: list[Any]) -> list[str]:
    """The group name Keras gives each object of a list it saves: its class in snake case,
    numbered from the second of a class on."""
    used: dict[str, int] = {}
    names = []
    for obj in objects:
        base = snake(type(obj).__name__)
        if base in used:
            used[base] += 1
            names.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            names.append(base)
    return names


# Graphs ------------------------------------------------------------------------------------
class _Graph:
    """A model's graph as Keras sees it: input layers, then layer calls (nested models inlined),
    with each value's producer and shape."""

    def __init__(self, model: Any) -> None:
        from eigennet.models.net import _plan

        layers, nodes, out_ids, _ = _plan(model.inputs, model.outputs)
        self.inputs = [t._input_layer for t in model.inputs]
        self.layers = layers
        self.nodes = [(int(n.layer), [int(i) for i in n.inputs], int(n.training)) for n in nodes]
        self.outputs = [int(i) for i in out_ids]
        n_in = len(self.inputs)
        self.shapes: list[tuple[int, ...]] = [
            tuple(int(d) for d in t.shape[1:]) for t in model.inputs
        ]
        self.call_index: list[int] = []  # each node's position among its layer's calls
        calls: dict[int, int] = {}
        for li, ids, _ in self.nodes:
            layer = layers[li]
            self.shapes.append(tuple(layer._output_sample_shape([self.shapes[i] for i in ids])))
            self.call_index.append(calls.get(li, 0))
            calls[li] = calls.get(li, 0) + 1
        self.n_in = n_in

    def keras_order(self) -> list[Any]:
        """Input layers and layers in the order Keras's functional models list them: by
        decreasing depth below the outputs, ties in order of first visit by a depth-first walk
        from the outputs (keras/src/ops/function.py map_graph)."""
        n_in = self.n_in
        first_visit: dict[int, int] = {}  # operation key -> visit index
        finished: set[int] = set()
        postorder: list[int] = []  # value ids, a value standing for the node producing it

        def op_key(v: int) -> int:
            return -1 - v if v < n_in else self.nodes[v - n_in][0]

        def visit(v: int) -> None:
            if v in finished:
                return
            first_visit.setdefault(op_key(v), len(first_visit))
            if v >= n_in:
                for i in self.nodes[v - n_in][1]:
                    visit(i)
            finished.add(v)
            postorder.append(v)

        for out in self.outputs:
            visit(out)
        node_depth: dict[int, int] = {}
        op_depth: dict[int, int] = {}
        for v in reversed(postorder):
            depth = max(node_depth.setdefault(v, 0), op_depth.get(op_key(v), 0))
            op_depth[op_key(v)] = depth
            node_depth[v] = depth
            for parent in self.nodes[v - n_in][1] if v >= n_in else []:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
        for k in range(n_in):
            if -1 - k not in op_depth:
                op_depth[-1 - k], first_visit[-1 - k] = 0, -1
        keys = sorted(op_depth, key=lambda key: (-op_depth[key], first_visit[key]))
        return [self.inputs[-1 - key] if key < 0 else self.layers[key] for key in keys]


def saveable_layers(model: Any) -> list[Any]:
    """The objects Keras saves under `layers/`, in its order: a Sequential's layers, or a
    functional model's input layers and layers."""
    from eigennet.models.sequential import Sequential

    if isinstance(model, Sequential):
        return list(_Graph(model).layers)
    return _Graph(model).keras_order()


# Writing -----------------------------------------------------------------------------------
def _keras_object(cfg: Any, module: str) -> Any:
    """eigennet's {"class_name", "config"} of an initializer, regularizer, loss, optimizer or
    schedule in Keras's form, with its module."""
    if not isinstance(cfg, dict) or "class_name" not in cfg:
        return cfg
    inner = dict(cfg.get("config", {}))
    lr = inner.get("learning_rate")
    if isinstance(lr, dict):
        inner["learning_rate"] = _keras_object(lr, "keras.optimizers.schedules")
    return {
        "module": module,
        "class_name": cfg["class_name"],
        "config": inner,
        "registered_name": None,
    }


def _policy(dtype: str) -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": dtype},
        "registered_name": None,
    }


def _layer_config(layer: Any, dtype: str) -> dict[str, Any]:
    cfg = layer.get_config()
    for key, value in list(cfg.items()):
        if key.endswith("_initializer"):
            cfg[key] = _keras_object(value, "keras.initializers")
        elif key.endswith("_regularizer"):
            cfg[key] = _keras_object(value, "keras.regularizers")
        elif key.endswith("_constraint"):
            cfg[key] = _keras_object(value, "keras.constraints")
    cfg["dtype"] = _policy(dtype)
    return cfg


def _input_entry(layer: Any, shape: tuple[int, ...], dtype: str) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": [None, *shape],
            "dtype": dtype,
            "sparse": False,
            "ragged": False,
            "name": layer.name,
            "optional": False,
        },
        "registered_name": None,
    }


def _layer_entry(layer: Any, in_shapes: list[tuple[int, ...]], dtype: str) -> dict[str, Any]:
    shapes = [[None, *s] for s in in_shapes]
    return {
        "module": "keras.layers",
        "class_name": type(layer).__name__,
        "config": _layer_config(layer, dtype),
        "registered_name": None,
        "build_config": {"input_shape": shapes if layer._multi_input else shapes[0]},
    }


def _tensor(graph: _Graph, v: int, dtype: str) -> dict[str, Any]:
    if v < graph.n_in:
        history = [graph.inputs[v].name, 0, 0]
    else:
        li = graph.nodes[v - graph.n_in][0]
        history = [graph.layers[li].name, graph.call_index[v - graph.n_in], 0]
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, *graph.shapes[v]], "dtype": dtype, "keras_history": history},
    }


def model_config(model: Any) -> dict[str, Any]:
    """The model in Keras's serialization schema (without compile_config)."""
    from eigennet.models.sequential import Sequential

    dtype = str(model._net.dtype)
    graph = _Graph(model)
    if isinstance(model, Sequential):
        entries = [_input_entry(graph.inputs[0], graph.shapes[0], dtype)]
        for li, ids, _ in graph.nodes:
            entries.append(_layer_entry(graph.layers[li], [graph.shapes[i] for i in ids], dtype))
        shape = [None, *graph.shapes[0]]
        return {
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": model.name,
                "trainable": model.trainable,
                "dtype": _policy(dtype),
                "layers": entries,
                "build_input_shape": shape,
            },
            "registered_name": None,
            "build_config": {"input_shape": shape},
        }
    calls: dict[int, list[Any]] = {}
    first_shapes: dict[int, list[tuple[int, ...]]] = {}
    for li, ids, training in graph.nodes:
        layer = graph.layers[li]
        args = [_tensor(graph, i, dtype) for i in ids]
        kwargs = {} if training < 0 else {"training": bool(training)}
        calls.setdefault(li, []).append(
            {"args": [args] if layer._multi_input else args, "kwargs": kwargs}
        )
        first_shapes.setdefault(li, [graph.shapes[i] for i in ids])
    entries = []
    index = {id(layer): li for li, layer in enumerate(graph.layers)}
    for obj in graph.keras_order():
        if id(obj) not in index:
            k = graph.inputs.index(obj)
            entry = _input_entry(obj, graph.shapes[k], dtype)
            entry.update(name=obj.name, inbound_nodes=[])
        else:
            li = index[id(obj)]
            entry = _layer_entry(obj, first_shapes[li], dtype)
            entry.update(name=obj.name, inbound_nodes=calls[li])
        entries.append(entry)

    def ref(v: int) -> list[Any]:
        return _tensor(graph, v, dtype)["config"]["keras_history"]

    in_keys, out_keys = model._input_keys, model._output_keys
    ins: Any = [ref(k) for k in range(graph.n_in)]
    outs: Any = [ref(v) for v in graph.outputs]
    ins = dict(zip(in_keys, ins)) if isinstance(in_keys, list) else ins
    outs = dict(zip(out_keys, outs)) if isinstance(out_keys, list) else outs
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": model.name,
            "trainable": model.trainable,
            "layers": entries,
            "input_layers": ins,
            "output_layers": outs,
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }


def compile_config(model: Any) -> Optional[dict[str, Any]]:
    from eigennet import losses, optimizers

    if not model.compiled:
        return None

    def keras_loss(one: Any) -> Any:
        if isinstance(one, str):
            return one
        return _keras_object(losses.serialize(losses.get(one)), "keras.losses")

    from eigennet.models.saving import _metric_names, map_losses

    return {
        "optimizer": _keras_object(optimizers.serialize(model.optimizer), "keras.optimizers"),
        "loss": map_losses(model.loss, keras_loss),
        "loss_weights": model._loss_weights_spec,
        "metrics": _keras_metrics(_metric_names(model._metrics_spec)),
        "weighted_metrics": _keras_metrics(_metric_names(model._weighted_metrics_spec)) or None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def layer_variables(layer: Any) -> list[np.ndarray]:
    """A layer's variables in the order Keras creates them."""
    if type(layer).__name__ == "InputLayer":
        return []
    if layer._kind == "normalization":
        # Keras makes variables only for statistics it adapts; given ones live in the config.
        if layer.input_mean is not None:
            return []
        return [layer.mean.numpy(), layer.variance.numpy(), np.asarray(0, dtype=np.int32)]
    return [v.numpy() for v in layer._variables]


def weights_h5(model: Any, optimizer_vars: Optional[list[np.ndarray]] = None) -> bytes:
    """Keras's `model.weights.h5` for model (and its optimizer's variables, if given)."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        group = f.create_group("layers")
        objects = saveable_layers(model)
        for name, obj in zip(_h5_names(objects), objects):
            vars_group = group.create_group(name).create_group("vars")
            vars_group.attrs["name"] = obj.name
            for k, value in enumerate(layer_variables(obj)):
                vars_group.create_dataset(str(k), data=value)
        if optimizer_vars is not None:
            opt = f.create_group("optimizer").create_group("vars")
            opt.attrs["name"] = model.optimizer.name
            for k, value in enumerate(optimizer_vars):
                opt.create_dataset(str(k), data=value)
        f.create_group("vars").attrs["name"] = model.name
    return buf.getvalue()


def metadata() -> bytes:
    import eigennet

    return json.dumps(
        {
            "keras_version": KERAS_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "eigennet_version": eigennet.__version__,
        }
    ).encode()


def members(model: Any) -> dict[str, bytes]:
    """Keras's three members of a `.keras` zip for model."""
    from eigennet.models import keras_optimizer

    cfg = model_config(model)
    comp = compile_config(model)
    if comp is not None:
        cfg["compile_config"] = comp
    opt = keras_optimizer.variables(model) if model.compiled else None
    return {
        "metadata.json": metadata(),
        "config.json": json.dumps(cfg).encode(),
        "model.weights.h5": weights_h5(model, opt),
    }


# Reading -----------------------------------------------------------------------------------
# Keras arguments eigennet has no counterpart for, accepted at the value that means "off".
_OFF = {
    "quantization_config": None,
    "lora_rank": None,
    "noise_shape": None,
    "renorm": False,
    "renorm_clipping": None,
    "input_axes": None,
    "output_axes": None,
}
# Arguments whose value does not matter once the ones above are off.
_MOOT = ("renorm_momentum", "lora_alpha")


def _plain(obj: Any, where: str) -> Any:
    """A Keras-serialized initializer, regularizer, loss, optimizer or schedule in eigennet's
    {"class_name", "config"} form (module and registry names dropped; nothing is imported)."""
    if not isinstance(obj, dict) or "class_name" not in obj:
        return obj
    if obj.get("module") not in (None, "builtins") and not str(obj["module"]).startswith("keras"):
        raise ValueError(
            f"{where}: refusing {obj['class_name']!r} from module {obj['module']!r}: only "
            "Keras's built-in classes load (no code from a file runs)."
        )
    inner = obj.get("config", {})
    if not isinstance(inner, dict):
        raise ValueError(f"{where}: the configuration of {obj['class_name']!r} is not a dict.")
    inner = _drop_off(dict(inner), obj["class_name"], where)
    if isinstance(inner.get("learning_rate"), dict):
        inner["learning_rate"] = _plain(inner["learning_rate"], where)
    return {"class_name": obj["class_name"], "config": inner}


def _drop_off(cfg: dict[str, Any], class_name: str, where: str) -> dict[str, Any]:
    for key in _MOOT:
        cfg.pop(key, None)
    for key, off in _OFF.items():
        if key in cfg:
            value = cfg.pop(key)
            if value != off:
                raise NotImplementedError(
                    f"{where}: {class_name} with {key}={value!r} is not supported by eigennet yet."
                )
    return cfg


def _dtype_of(policy: Any, where: str) -> Optional[str]:
    if policy is None:
        return None
    name = policy.get("config", {}).get("name") if isinstance(policy, dict) else policy
    if name not in _DTYPES:
        raise NotImplementedError(
            f"{where}: dtype policy {name!r} is not supported (eigennet computes in float32 "
            "or float64)."
        )
    return str(name)


def _layer_from_keras(entry: Any, where: str) -> Any:
    from eigennet.layers import LAYER_CLASSES

    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ValueError(f"{where}: a layer entry is not a Keras object.")
    name = str(entry.get("class_name"))
    if name in ("Functional", "Sequential", "Model"):
        raise NotImplementedError(
            f"{where}: a model nested in a model ({name} "
            f"{entry['config'].get('name')!r}) cannot be read from Keras files yet."
        )
    module = str(entry.get("module") or "keras.layers")
    cls = LAYER_CLASSES.get(name) if module.startswith("keras") else None
    if cls is None:
        raise ValueError(
            f"{where}: unknown layer class {name!r} (module {module!r}); eigennet reads "
            f"{sorted(LAYER_CLASSES)}."
        )
    cfg = _drop_off(dict(entry["config"]), name, where)
    _dtype_of(cfg.pop("dtype", None), where)
    for key, value in list(cfg.items()):
        if key.endswith(("_initializer", "_regularizer", "_constraint")):
            cfg[key] = _plain(value, where)
    try:
        return cls.from_config(cfg)
    except TypeError as e:
        raise ValueError(f"{where}: {name} {cfg.get('name')!r}: {e}") from None


def _history(t: Any, where: str) -> tuple[str, int, int]:
    if (
        isinstance(t, dict)
        and t.get("class_name") == "__keras_tensor__"
        and isinstance(t.get("config"), dict)
    ):
        t = t["config"].get("keras_history")
    if (
        isinstance(t, (list, tuple))
        and len(t) == 3
        and isinstance(t[0], str)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in t[1:])
    ):
        return t[0], int(t[1]), int(t[2])
    raise ValueError(f"{where}: a layer input is not a Keras tensor reference: {t!r}.")


def _structure(spec: Any, resolve: Any, where: str) -> Any:
    """input_layers / output_layers: one reference, a list of them, or a dict of them."""
    if isinstance(spec, dict):
        return {str(k): resolve(_history(v, where)) for k, v in spec.items()}
    if isinstance(spec, list) and spec and isinstance(spec[0], str):
        return resolve(_history(spec, where))
    if isinstance(spec, list):
        items = [resolve(_history(v, where)) for v in spec]
        return items[0] if len(items) == 1 else items
    raise ValueError(f"{where}: invalid input_layers/output_layers {spec!r}.")


def _input_shape(cfg: dict[str, Any], where: str) -> tuple[int, ...]:
    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    if shape is None and cfg.get("shape") is not None:
        return tuple(cfg["shape"])
    if not isinstance(shape, list) or len(shape) < 2:
        raise ValueError(f"{where}: an InputLayer has no usable batch_shape: {shape!r}.")
    return tuple(shape[1:])


def _functional(cfg: dict[str, Any], where: str) -> Any:
    from eigennet.layers import Input
    from eigennet.models.model import Model

    created: dict[str, Any] = {}
    outputs: dict[str, list[Any]] = {}
    pending: list[tuple[str, list[Any]]] = []
    for entry in cfg.get("layers", []):
        name = entry.get("name") or entry.get("config", {}).get("name")
        if not isinstance(name, str) or name in created:
            raise ValueError(f"{where}: a layer has a missing or repeated name {name!r}.")
        if entry.get("class_name") == "InputLayer":
            created[name] = None
            outputs[name] = [[Input(_input_shape(entry["config"], where), name=name)]]
            continue
        created[name] = _layer_from_keras(entry, where)
        outputs[name] = []
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise ValueError(f"{where}: layer {name!r} has invalid inbound_nodes.")
        pending.append((name, list(nodes)))

    def resolve(ref: tuple[str, int, int]) -> Any:
        name, node, tensor = ref
        if name not in outputs:
            raise ValueError(f"{where}: a layer input refers to an unknown layer {name!r}.")
        if tensor != 0:
            raise ValueError(f"{where}: layer {name!r} has one output; tensor index {tensor}.")
        return outputs[name][node]  # IndexError: not created yet

    progress = True
    while pending and progress:
        progress = False
        for item in pending:
            name, nodes = item
            while nodes:
                node = nodes[0]
                if not isinstance(node, dict) or not isinstance(node.get("args"), list):
                    raise ValueError(f"{where}: layer {name!r} has an invalid node {node!r}.")
                kwargs = dict(node.get("kwargs") or {})
                kwargs.pop("training", None)  # Keras's fit and predict override it
                if "mask" in kwargs and kwargs["mask"] is None:
                    del kwargs["mask"]
                if kwargs:
                    raise NotImplementedError(
                        f"{where}: layer {name!r} is called with {sorted(kwargs)}, which "
                        "eigennet does not support."
                    )
                args = node["args"]
                if len(args) != 1:
                    raise NotImplementedError(
                        f"{where}: layer {name!r} is called with {len(args)} positional "
                        "arguments; eigennet layers take one input or one list of inputs."
                    )
                try:
                    arg = args[0]
                    value = (
                        [resolve(_history(t, where))[0] for t in arg]
                        if isinstance(arg, list) and arg and not isinstance(arg[0], str)
                        else resolve(_history(arg, where))[0]
                    )
                except IndexError:
                    break
                outputs[name].append([created[name](value)])
                nodes.pop(0)
                progress = True
        pending = [item for item in pending if item[1]]
    if pending:
        raise ValueError(
            f"{where}: the graph cannot be built: layers {[n for n, _ in pending]} wait for "
            "inputs that no layer makes."
        )

    def first(ref: tuple[str, int, int]) -> Any:
        try:
            return resolve(ref)[0]
        except IndexError:
            raise ValueError(f"{where}: the model refers to a missing node {ref!r}.") from None

    inputs = _structure(cfg.get("input_layers"), first, where)
    outs = _structure(cfg.get("output_layers"), first, where)
    return Model(inputs, outs, name=cfg.get("name"), trainable=bool(cfg.get("trainable", True)))


def _sequential(cfg: dict[str, Any], where: str) -> Any:
    from eigennet.layers import Input
    from eigennet.models.sequential import Sequential

    entries = list(cfg.get("layers", []))
    head: list[Any] = []
    if entries and isinstance(entries[0], dict) and entries[0].get("class_name") == "InputLayer":
        first = entries.pop(0)["config"]
        head = [Input(_input_shape(first, where), name=first.get("name"))]
    elif cfg.get("build_input_shape"):
        head = [Input(tuple(cfg["build_input_shape"][1:]))]
    layers = [_layer_from_keras(e, where) for e in entries]
    return Sequential(
        [*head, *layers], name=cfg.get("name"), trainable=bool(cfg.get("trainable", True))
    )


def model_dtype(cfg: Any, where: str) -> str:
    """The float type a Keras model config computes in (float32 when it names none)."""
    found = {
        d
        for e in cfg.get("config", {}).get("layers", [])
        if isinstance(e, dict) and isinstance(e.get("config"), dict)
        for d in [_dtype_of(e["config"].get("dtype"), where)]
        if d is not None
    }
    found |= {d for d in [_dtype_of(cfg.get("config", {}).get("dtype"), where)] if d}
    if len(found) > 1:
        raise NotImplementedError(f"{where}: layers of several dtypes {sorted(found)}.")
    return found.pop() if found else "float32"


def model_from_config(cfg: Any, where: str) -> Any:
    """An eigennet model built from a Keras model config (Sequential or Functional)."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("config"), dict):
        raise ValueError(f"{where}: config.json is not a Keras model.")
    kind = cfg.get("class_name")
    try:
        if kind == "Sequential":
            return _sequential(cfg["config"], where)
        if kind in ("Functional", "Model") and "layers" in cfg["config"]:
            return _functional(cfg["config"], where)
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError, RecursionError) as e:
        raise ValueError(f"{where}: the model configuration is invalid ({e!r}).") from None
    raise NotImplementedError(
        f"{where}: a {kind!r} model (a subclassed Model's own code) cannot be loaded by eigennet; "
        "only Sequential and functional models can."
    )


def _keras_metrics(spec: Any) -> Any:
    """Serialized metric objects in Keras's form (module keras.metrics)."""
    if isinstance(spec, list):
        return [_keras_metrics(m) for m in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _keras_metrics(v) for k, v in spec.items()}
    return _keras_object(spec, "keras.metrics")


def _metrics_from(spec: Any, where: str) -> Any:
    """compile's metrics from a file: names, and Keras's metric objects rebuilt as eigennet's
    (classes eigennet lacks and non-Keras modules refused by name)."""
    from eigennet import metrics

    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return [_metrics_from(m, where) for m in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _metrics_from(v, where) for k, v in spec.items()}
    plain = _plain(spec, where)
    if not isinstance(plain, dict) or plain.get("class_name") not in metrics.__all__:
        raise NotImplementedError(
            f"{where}: the metric {plain.get('class_name') if isinstance(plain, dict) else plain!r}"
            " is not one eigennet has."
        )
    config = dict(plain.get("config") or {})
    if isinstance(config.get("dtype"), dict):  # a DTypePolicy
        config["dtype"] = (config["dtype"].get("config") or {}).get("name")
    try:
        return metrics.deserialize({"class_name": plain["class_name"], "config": config})
    except (ValueError, NotImplementedError) as e:
        raise NotImplementedError(f"{where}: metric {plain['class_name']!r}: {e}") from None


def compile_from_config(model: Any, comp: Any, where: str) -> None:
    from eigennet import losses, optimizers
    from eigennet.models.saving import map_losses

    if not isinstance(comp, dict):
        raise ValueError(f"{where}: compile_config is not a dict.")

    def loss_of(one: Any) -> Any:
        return one if isinstance(one, str) else losses.deserialize(_plain(one, where))

    try:
        model.compile(
            optimizer=optimizers.deserialize(_plain(comp["optimizer"], where)),
            loss=map_losses(comp.get("loss"), loss_of),
            loss_weights=comp.get("loss_weights"),
            metrics=_metrics_from(comp.get("metrics"), where) or [],
            weighted_metrics=_metrics_from(comp.get("weighted_metrics"), where) or None,
        )
    except (KeyError, TypeError) as e:
        raise ValueError(f"{where}: invalid compile configuration ({e!r}).") from None


class _Weights:
    """A Keras weights file opened read-only with h5py; datasets checked before reading."""

    def __init__(self, data: bytes, where: str) -> None:
        import h5py

        self.where = where
        try:
            self.f = h5py.File(io.BytesIO(data), "r")
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as e:
            raise ValueError(f"{where}: the weights are not a valid HDF5 file ({e}).") from None

    def group(self, path: str) -> Any:
        import h5py

        try:
            obj = self.f.get(path)
        except (OSError, KeyError, RuntimeError, TypeError, ValueError) as e:
            raise ValueError(f"{self.where}: the weights file is corrupted ({e}).") from None
        return obj if isinstance(obj, h5py.Group) else None

    def values(self, path: str, shapes: Optional[list[tuple[int, ...]]]) -> list[np.ndarray]:
        """The datasets "0".."n-1" of group `path`, each of the expected shape if given."""
        try:
            return self._values(path, shapes)
        except (OSError, KeyError, RuntimeError, TypeError) as e:
            # h5py's errors for damaged files (a ValueError already names what is wrong).
            raise ValueError(f"{self.where}: the weights file is corrupted ({e}).") from None

    def _values(self, path: str, shapes: Optional[list[tuple[int, ...]]]) -> list[np.ndarray]:
        import h5py

        group = self.group(path)
        if group is None:
            if shapes:
                raise ValueError(f"{self.where}: the weights have no group {path!r}.")
            return []
        keys = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
        if keys != [str(i) for i in range(len(keys))]:
            raise ValueError(f"{self.where}: {path} holds unexpected entries {keys[:5]}.")
        if shapes is not None and len(keys) != len(shapes):
            raise ValueError(
                f"{self.where}: {path} holds {len(keys)} variables, {len(shapes)} expected."
            )
        out = []
        for k in keys:
            ds = group[k]
            if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "fiu":
                raise ValueError(f"{self.where}: {path}/{k} is not a numeric array.")
            if shapes is not None and tuple(ds.shape) != tuple(shapes[int(k)]):
                raise ValueError(
                    f"{self.where}: {path}/{k} has shape {tuple(ds.shape)}, its variable has "
                    f"{tuple(shapes[int(k)])}."
                )
            if math.prod(ds.shape) > (1 << 31):
                raise ValueError(f"{self.where}: {path}/{k} is too large.")
            out.append(np.asarray(ds[()]))
        return out

    def keys(self, path: str) -> list[str]:
        group = self.group(path)
        try:
            return list(group.keys()) if group is not None else []
        except (OSError, KeyError, RuntimeError, TypeError) as e:
            raise ValueError(f"{self.where}: the weights file is corrupted ({e}).") from None

    def close(self) -> None:
        self.f.close()


def _expected_shapes(layer: Any) -> list[tuple[int, ...]]:
    return [tuple(np.shape(v)) for v in layer_variables(layer)]


def read_weights(model: Any, store: _Weights) -> None:
    """Sets every layer's variables from Keras's `layers/...` groups, all checked before any
    is written (a file that does not fit leaves the model as it was)."""
    objects = saveable_layers(model)
    names = _h5_names(objects)
    extra = sorted(set(store.keys("layers")) - set(names))
    if extra:
        raise ValueError(
            f"{store.where}: the weights hold layers {extra} that this model does not have."
        )
    writes = []
    for name, obj in zip(names, objects):
        shapes = _expected_shapes(obj)
        values = store.values(f"layers/{name}/vars", shapes)
        if not shapes:
            continue
        for value in values:
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise ValueError(f"{store.where}: layer {obj.name!r} has non-finite weights.")
        # Normalization's third variable is Keras's sample count, which eigennet does not keep.
        writes += list(zip(obj._variables, values))
    for v, value in writes:
        v.assign(value)


def read_optimizer(model: Any, store: _Weights) -> bool:
    """Restores the optimizer's variables if the file has them; whether it did."""
    from eigennet.models import keras_optimizer

    if store.group("optimizer/vars") is None:
        return False
    n = len(store.keys("optimizer/vars"))
    shapes = keras_optimizer.expected_shapes(model)
    scalars = next((i for i, s in enumerate(shapes) if tuple(s) != ()), len(shapes))
    if n == scalars < len(shapes):
        return False  # Keras saved an optimizer that never stepped: no slots, a fresh state
    if n != len(shapes):
        raise ValueError(
            f"{store.where}: the optimizer {type(model.optimizer).__name__} of this model has "
            f"{len(shapes)} variables, the file holds {n}."
        )
    keras_optimizer.restore(model, store.values("optimizer/vars", shapes), store.where)
    return True
