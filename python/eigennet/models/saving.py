"""Model files. A `.keras` file is a zip in Keras 3's layout (config.json, model.weights.h5,
metadata.json: models/keras_format.py), which Keras loads, plus eigennet's exact state under
`eigennet/`: JSON (architecture, compile settings, random streams) and raw `.npy` arrays
(weights, statistics, optimizer state), read with `allow_pickle=False`. Files of the earlier
layout (those members at the top, no Keras members) still load. Loading never runs code.

Every write goes to a temporary file in the destination folder, is flushed to disk, then renamed
over the destination, so a crash mid-write never leaves a half-written file behind.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
import zipfile
import zlib
from typing import IO, Any, Callable, Optional

import numpy as np

FORMAT = "eigennet"
FORMAT_VERSION = 2  # 2: a graph of layers and a stats.npy; 1: a chain, still read
EXACT = "eigennet/"  # the folder of eigennet's own members inside a Keras-layout .keras file
_MAX_JSON_BYTES = 1 << 20
_NPY_HEADER_MAX = 1 << 16


def _layer_entry(layer: Any) -> dict[str, Any]:
    if getattr(layer, "_is_model", False):
        return {"class_name": "Model", "config": model_config(layer)}
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def model_config(model: Any) -> dict[str, Any]:
    """A Sequential: its layers and input shape. A functional model: its layers (nested models
    inlined), its inputs, and the graph of layer applications between them."""
    from eigennet.models.sequential import Sequential

    net = model._net
    if isinstance(model, Sequential):
        return {
            "class_name": "Sequential",
            "name": model.name,
            "trainable": model.trainable,
            "input_shape": list(net.input_shape) if net is not None else None,
            "layers": [_layer_entry(layer) for layer in model._layers],
        }
    _, nodes, outputs, _ = _plan_of(model)
    return {
        "class_name": "Functional",
        "name": model.name,
        "trainable": model.trainable,
        "inputs": [{"name": t._input_layer.name, "shape": list(t.shape[1:])} for t in model.inputs],
        "input_keys": model._input_keys if isinstance(model._input_keys, list) else None,
        "output_keys": model._output_keys if isinstance(model._output_keys, list) else None,
        "layers": [_layer_entry(layer) for layer in net.layers],
        "nodes": [[int(n.layer), [int(i) for i in n.inputs], int(n.training)] for n in nodes],
        "outputs": [int(i) for i in outputs],
    }


def _plan_of(model: Any) -> Any:
    from eigennet.models.net import _plan

    return _plan(model.inputs, model.outputs)


def map_losses(spec: Any, leaf: Callable[[Any], Any]) -> Any:
    """leaf applied to each loss of a compile `loss` spec (one loss, a list, or a dict keyed by
    output; a dict with a class_name is one serialized loss)."""
    if spec is None:
        return None
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: map_losses(v, leaf) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [map_losses(v, leaf) for v in spec]
    return leaf(spec)


def _serialize_losses(loss: Any) -> Any:
    from eigennet import losses

    return map_losses(loss, lambda one: losses.serialize(losses.get(one)))


def _deserialize_losses(cfg: Any) -> Any:
    from eigennet import losses

    return map_losses(cfg, losses.deserialize)


def _metric_names(spec: Any) -> Any:
    """compile's metrics as JSON: names stay, metric objects become {"class_name", "config"}
    (compile reads both back)."""
    from eigennet import metrics

    if isinstance(spec, dict):
        return {k: _metric_names(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_metric_names(m) for m in spec]
    if isinstance(spec, str):
        return spec
    return metrics.serialize(metrics.get(spec))


def _compile_config(model: Any) -> Optional[dict[str, Any]]:
    from eigennet import optimizers

    if not model.compiled:
        return None
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serialize_losses(model.loss),
        "loss_weights": model._loss_weights_spec,
        "metrics": _metric_names(model._metrics_spec),
        "weighted_metrics": _metric_names(model._weighted_metrics_spec),
    }


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    # Elsewhere the only way to read it is to set it (briefly, for the whole process).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(filepath: Any, write: Callable[[IO[bytes]], Any], overwrite: bool) -> None:
    """Calls write(file) on a temporary file beside filepath, flushes it to disk and renames it
    over filepath: a crash mid-write leaves the old file (or none), never half a file. Under
    DataParallel across MPI ranks only rank 0 writes (the others hold the same weights)."""
    from eigennet import distribution

    if not distribution.is_writer():
        return
    shown = os.fspath(filepath)
    if not overwrite and os.path.exists(shown):
        raise FileExistsError(f"{shown} exists and overwrite=False.")
    # Through a symlink, the file it points at is replaced and the link kept.
    path = os.path.realpath(shown)
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".eigennet-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            # mkstemp makes the file 0600; give it what writing in place would: the replaced
            # file's mode, or 0666 less the umask for a new one.
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _atomic_zip(filepath: Any, members: dict[str, bytes], overwrite: bool) -> None:
    def write(f: IO[bytes]) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, payload in members.items():
                zf.writestr(name, payload)

    atomic_write(filepath, write, overwrite)


def _metadata(kind: str, model: Any) -> bytes:
    import eigennet

    return json.dumps(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "eigennet_version": eigennet.__version__,
            "dtype": str(model._net.dtype),
        }
    ).encode()


def save_model(model: Any, filepath: Any, overwrite: bool = True) -> None:
    if not os.fspath(filepath).endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add the `.keras` extension. "
            f"Received: filepath={os.fspath(filepath)}"
        )
    _atomic_zip(filepath, _model_members(model), overwrite)


def model_to_bytes(model: Any) -> bytes:
    """The bytes of a `.keras` file for `model` (what pickling a model stores)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, payload in _model_members(model).items():
            zf.writestr(name, payload)
    return buf.getvalue()


def model_from_bytes(data: bytes) -> Any:
    """The model held in the bytes of a `.keras` file; same checks as `load_model`."""
    arc = _Archive(data)
    try:
        return _load(arc, compile=True)
    finally:
        arc.close()


def _model_members(model: Any, epoch: Optional[int] = None) -> dict[str, bytes]:
    """Keras's members (config.json, model.weights.h5, metadata.json), which Keras loads, and
    under eigennet/ the core's exact state, from which eigennet resumes bit for bit."""
    from eigennet.models import keras_format

    model._require_built("its architecture")
    model._net.sync()
    own = _exact_members(model, epoch)
    return {**keras_format.members(model), **{EXACT + k: v for k, v in own.items()}}


def _exact_members(model: Any, epoch: Optional[int]) -> dict[str, bytes]:
    core = model._net.core
    members = {
        "metadata.json": _metadata("model", model),
        "config.json": json.dumps(
            {"model": model_config(model), "compile": _compile_config(model)}
        ).encode(),
        "params.npy": _npy_bytes(core.get_params()),
        "stats.npy": _npy_bytes(core.get_stats()),
    }
    if model.compiled:
        members["optimizer.npy"] = _npy_bytes(core.get_state())
        training: dict[str, Any] = {
            "iterations": int(core.iterations),
            "rng": [int(v) for v in core.get_rng_state()],
        }
        if epoch is not None:
            training["epoch"] = epoch  # a backup's epochs done, in the same atomic file
        members["training.json"] = json.dumps(training).encode()
    return members


def save_backup(model: Any, filepath: Any, epoch: int) -> None:
    """A `.keras` file of model (compiled) that also records `epoch` epochs as done."""
    _atomic_zip(filepath, _model_members(model, epoch), True)


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Keras's `.weights.h5`: an HDF5 file of every layer's variables (and, for a compiled
    model, the optimizer's), in Keras's layout."""
    from eigennet.models import keras_format, keras_optimizer

    if not os.fspath(filepath).endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={os.fspath(filepath)}"
        )
    model._require_built("its weights")
    model._net.sync()
    opt = keras_optimizer.variables(model) if model.compiled else None
    payload = keras_format.weights_h5(model, opt)
    atomic_write(filepath, lambda f: f.write(payload), overwrite)


# Reading ----------------------------------------------------------------------------------
class _Archive:
    """A zip opened defensively: only known member names, bounded sizes."""

    def __init__(self, source: Any) -> None:
        if isinstance(source, (bytes, bytearray)):
            self.path = "<bytes>"
            target: Any = io.BytesIO(bytes(source))
        else:
            self.path = target = os.fspath(source)
            if not os.path.isfile(self.path):
                raise FileNotFoundError(f"No such file: {self.path}")
        try:
            self.zf = zipfile.ZipFile(target, "r")
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
            raise ValueError(
                f"{self.path} is not an eigennet model file (not a zip: {e})."
            ) from None
        names = self.zf.namelist()
        for n in names:
            if n.startswith("/") or ".." in n.split("/") or "\\" in n:
                raise ValueError(f"{self.path}: refusing an archive member with path {n!r}.")
        self.root_names = set(names)
        # A Keras-layout file keeps eigennet's own members in a folder: they are read as if
        # at the top (files of the earlier format have them there).
        self.prefix = EXACT if any(n.startswith(EXACT) for n in names) else ""
        self.names = {n[len(self.prefix) :] for n in names if n.startswith(self.prefix)}

    @property
    def keras_only(self) -> bool:
        """Written by Keras (or anything but eigennet): Keras's members and none of ours."""
        return not self.prefix and "model.weights.h5" in self.root_names

    def read(self, name: str, limit: int, root: bool = False) -> bytes:
        if not root and name not in self.names:
            raise ValueError(f"{self.path} is not a valid eigennet file: {name} is missing.")
        if root and name not in self.root_names:
            raise ValueError(f"{self.path} is not a valid Keras file: {name} is missing.")
        name = name if root else self.prefix + name
        info = self.zf.getinfo(name)
        if info.file_size > limit:
            raise ValueError(
                f"{self.path}: {name} declares {info.file_size} bytes, more than the {limit} "
                "expected; refusing to read it."
            )
        try:
            with self.zf.open(name) as f:
                data = f.read(limit + 1)
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            ValueError,
            RuntimeError,
            NotImplementedError,
        ) as e:
            raise ValueError(f"{self.path}: {name} is corrupted ({e}).") from None
        if len(data) > limit:
            raise ValueError(f"{self.path}: {name} is larger than expected; refusing it.")
        return data

    def json(self, name: str, root: bool = False) -> Any:
        try:
            return json.loads(self.read(name, _MAX_JSON_BYTES, root).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{self.path}: {name} is not valid JSON ({e}).") from None
        except RecursionError:
            raise ValueError(f"{self.path}: {name} is nested too deeply.") from None

    def values(self, name: str, itemsize: int) -> int:
        """How many values of itemsize bytes member `name` can hold (0 when absent)."""
        if name not in self.names:
            return 0
        return self.zf.getinfo(self.prefix + name).file_size // itemsize

    def array(self, name: str, n: int, dtype: np.dtype) -> np.ndarray:
        raw = self.read(name, n * dtype.itemsize + _NPY_HEADER_MAX)
        try:
            # The header first: its shape is checked before numpy allocates anything.
            f = io.BytesIO(raw)
            version = np.lib.format.read_magic(f)
            header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, declared = header(f)
            if declared != dtype or tuple(shape) != (n,):
                raise ValueError(f"it declares {declared} {tuple(shape)}")
            a = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError, TypeError) as e:
            raise ValueError(f"{self.path}: {name} is not a valid array ({e}).") from None
        if a.dtype != dtype or a.shape != (n,):
            raise ValueError(
                f"{self.path}: {name} holds {a.dtype} {a.shape}, expected {dtype} ({n},)."
            )
        return a

    def close(self) -> None:
        self.zf.close()


def _check_metadata(arc: _Archive, kinds: tuple[str, ...]) -> dict[str, Any]:
    meta = arc.json("metadata.json")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{arc.path} is not an eigennet file (foreign or corrupted metadata).")
    if meta.get("format_version") not in (1, FORMAT_VERSION):
        raise ValueError(f"{arc.path}: unsupported format version {meta.get('format_version')!r}.")
    if meta.get("kind") not in kinds:
        raise ValueError(f"{arc.path} holds {meta.get('kind')!r}, expected one of {kinds}.")
    if meta.get("dtype") not in ("float32", "float64"):
        raise ValueError(f"{arc.path}: unsupported dtype {meta.get('dtype')!r}.")
    return meta


def _layer_from_entry(entry: Any) -> Any:
    from eigennet.layers import LAYER_CLASSES

    if entry["class_name"] == "Model":
        return _model_from_config(entry["config"])
    cls = LAYER_CLASSES.get(entry["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer class {entry['class_name']!r}")
    config = dict(entry["config"])
    config.pop("name", None)  # fresh Keras-style names avoid clashes in this session
    return cls.from_config(config)


def _model_from_config(cfg: Any) -> Any:
    from eigennet.layers import Input
    from eigennet.models.model import Model
    from eigennet.models.sequential import Sequential

    trainable = bool(cfg.get("trainable", True))
    layers = [_layer_from_entry(e) for e in cfg["layers"]]
    if cfg["class_name"] == "Sequential":
        shape = cfg.get("input_shape") or ([cfg["n_inputs"]] if cfg.get("n_inputs") else None)
        head = [Input(tuple(int(d) for d in shape))] if shape else []
        return Sequential([*head, *layers], name=cfg.get("name"), trainable=trainable)
    if "nodes" not in cfg:  # version 1: a chain from one input
        x = Input(tuple(int(d) for d in (cfg.get("input_shape") or [cfg["n_inputs"]])))
        t = x
        for layer in layers:
            t = layer(t)
        return Model(x, t, name=cfg.get("name"))
    values = [Input(tuple(int(d) for d in i["shape"])) for i in cfg["inputs"]]
    inputs = list(values)
    for layer_index, ids, training in cfg["nodes"]:
        if not 0 <= layer_index < len(layers) or not all(0 <= i < len(values) for i in ids):
            raise ValueError("a node refers to a missing layer or value")
        args = [values[i] for i in ids]
        layer = layers[layer_index]
        call_training = None if training < 0 else bool(training)
        values.append(layer(args if layer._multi_input else args[0], training=call_training))
    outputs = [values[i] for i in cfg["outputs"]]
    in_keys, out_keys = cfg.get("input_keys"), cfg.get("output_keys")
    ins: Any = dict(zip(in_keys, inputs)) if in_keys else inputs
    outs: Any = dict(zip(out_keys, outputs)) if out_keys else outputs
    if not in_keys and len(inputs) == 1:
        ins = inputs[0]
    if not out_keys and len(outputs) == 1:
        outs = outputs[0]
    return Model(ins, outs, name=cfg.get("name"), trainable=trainable)


def _build_from_config(cfg: Any, path: str) -> Any:
    try:
        return _model_from_config(cfg)
    except (
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OverflowError,
        RecursionError,
        RuntimeError,
    ) as e:
        raise ValueError(f"{path}: the model configuration is invalid ({e!r}).") from None


def load_model(
    filepath: Any, custom_objects: Any = None, compile: bool = True, safe_mode: bool = True
) -> Any:
    """Loads a model saved by `Model.save` (ready to resume training where it stopped, bit for
    bit) or by Keras 3 (Sequential and functional models of the layers eigennet has; training
    resumes with Keras's optimizer state).

    Args:
        filepath: path of a `.keras` file written by eigennet or Keras 3.
        compile: restore the optimizer, loss, metrics and training state too.

    Returns:
        The model (a `Sequential` or functional `Model`).

    Raises:
        ValueError: for truncated, corrupted, foreign or hostile files.
    """
    arc = _Archive(filepath)
    try:
        return _load(arc, compile)
    finally:
        arc.close()


def _load(arc: _Archive, compile: bool) -> Any:
    from eigennet import config as en_config
    from eigennet import optimizers

    if arc.keras_only:
        return _load_keras(arc, compile)

    meta = _check_metadata(arc, ("model",))
    cfg = arc.json("config.json")
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise ValueError(f"{arc.path}: config.json has no model.")
    # The archive's own arrays bound the architecture before anything is allocated.
    itemsize = np.dtype(meta["dtype"]).itemsize
    limits = (arc.values("params.npy", itemsize), arc.values("stats.npy", itemsize))
    with en_config._thread_limits(*limits):
        model = _with_floatx(meta["dtype"], lambda: _build_from_config(cfg["model"], arc.path))
    if model._net is None:
        raise ValueError(f"{arc.path}: the model has no layers or no input shape.")
    _read_weights(arc, model, np.dtype(meta["dtype"]))
    comp = cfg.get("compile")
    if compile and comp:
        try:
            model.compile(
                optimizer=optimizers.deserialize(comp["optimizer"]),
                loss=_deserialize_losses(comp.get("loss")),
                loss_weights=comp.get("loss_weights"),
                metrics=comp.get("metrics") or [],
                weighted_metrics=comp.get("weighted_metrics") or None,
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"{arc.path}: invalid compile configuration ({e!r}).") from None
        if "optimizer.npy" in arc.names:
            _restore_state(arc, model)
    return model


def _h5_bytes(arc: Optional[_Archive], path: Any) -> bytes:
    """The bytes of a Keras weights file: a zip's model.weights.h5 or a whole .weights.h5,
    refused before reading when this process could not hold them."""
    from eigennet.models.net import available_memory

    size = arc.zf.getinfo("model.weights.h5").file_size if arc else os.path.getsize(path)
    if size > available_memory() / 2:
        raise ValueError(f"{os.fspath(path)}: the weights declare {size:,} bytes; refusing them.")
    if arc is not None:
        return arc.read("model.weights.h5", size, root=True)
    with open(path, "rb") as f:
        return f.read(size + 1)


def _load_keras(arc: _Archive, compile: bool) -> Any:
    """A model from a `.keras` file in Keras 3's layout (written by Keras)."""
    from eigennet import config as en_config
    from eigennet.models import keras_format

    meta = arc.json("metadata.json", root=True)
    if not isinstance(meta, dict) or "keras_version" not in meta:
        raise ValueError(f"{arc.path} is not a Keras 3 file (no keras_version in metadata.json).")
    cfg = arc.json("config.json", root=True)
    dtype = keras_format.model_dtype(cfg, arc.path)
    data = _h5_bytes(arc, arc.path)
    # The weights bound the architecture before anything is allocated.
    n = len(data) // np.dtype(dtype).itemsize
    with en_config._thread_limits(n, n):
        model = _with_floatx(dtype, lambda: keras_format.model_from_config(cfg, arc.path))
    if model._net is None:
        raise ValueError(f"{arc.path}: the model has no input shape.")
    store = keras_format._Weights(data, arc.path)
    try:
        keras_format.read_weights(model, store)
        comp = cfg.get("compile_config")
        if compile and comp:
            keras_format.compile_from_config(model, comp, arc.path)
            keras_format.read_optimizer(model, store)
    finally:
        store.close()
    return model


def _restore_state(arc: _Archive, model: Any) -> None:
    """The optimizer state, iterations and random streams of a compiled model."""
    core, dtype = model._net.core, model._net.dtype
    core.set_state(arc.array("optimizer.npy", int(core.get_state().size), dtype))
    training = arc.json("training.json")
    try:
        core.iterations = int(training["iterations"])
        core.set_rng_state([int(v) for v in training["rng"]])
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"{arc.path}: invalid training state ({e!r}).") from None


def restore_training(model: Any, filepath: Any) -> Optional[int]:
    """Loads a `.keras` file saved from a model of this architecture into `model`: its
    weights and, when the model is compiled, its optimizer state, iterations and random
    streams, so that training continues as if it had not stopped (BackupAndRestore). Returns
    the epochs a backup (save_backup) records as done, else None."""
    load_weights(model, filepath)
    arc = _Archive(filepath)
    try:
        if not (model.compiled and model._net.core.compiled and "optimizer.npy" in arc.names):
            return None
        _restore_state(arc, model)
        epoch = arc.json("training.json").get("epoch")
        if epoch is None:
            return None
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"{arc.path}: invalid backup epoch {epoch!r}.")
        return epoch
    finally:
        arc.close()


def _read_weights(arc: _Archive, model: Any, saved: np.dtype) -> None:
    """Sets a model's parameters and stats from an archive (stats.npy is absent in version 1
    files, whose layers had none)."""
    net = model._net
    core = net.core
    net.sync()
    params = arc.array("params.npy", int(core.n_params), saved)
    stats = np.zeros(int(core.n_stats), dtype=saved)
    if "stats.npy" in arc.names or core.n_stats:
        stats = arc.array("stats.npy", int(core.n_stats), saved)
    core.set_params(params.astype(net.dtype))
    core.set_stats(stats.astype(net.dtype))


def _with_floatx(dtype: str, build: Any) -> Any:
    from eigennet import config as en_config

    with en_config._thread_floatx(dtype):
        return build()


def clone_model(model: Any) -> Any:
    """A new model with the same architecture and freshly initialised weights, uncompiled
    (Keras's `clone_model`). New layer objects are created; nothing is shared."""
    cfg = model_config(model)
    dtype = str(model._net.dtype) if model._net is not None else None
    if dtype is None:
        return _build_from_config(cfg, f"model {model.name!r}")
    return _with_floatx(dtype, lambda: _build_from_config(cfg, f"model {model.name!r}"))


def _signature(entries: Any) -> list[Any]:
    return [(e["class_name"], e["config"].get("units")) for e in entries]


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _load_keras_weights(model: Any, data: bytes, path: str) -> None:
    import warnings

    from eigennet.models import keras_format

    model._require_built("its weight layout")
    store = keras_format._Weights(data, path)
    try:
        keras_format.read_weights(model, store)
        if model.compiled:
            try:
                keras_format.read_optimizer(model, store)
            except ValueError as e:
                # Keras too loads the weights and skips an optimizer state that does not fit.
                warnings.warn(f"Skipping the optimizer state: {e}", stacklevel=3)
    finally:
        store.close()


def load_weights(model: Any, filepath: Any) -> None:
    path = os.fspath(filepath)
    if os.path.isfile(path):
        with open(path, "rb") as f:
            if f.read(8) == _HDF5_MAGIC:
                _load_keras_weights(model, _h5_bytes(None, path), path)
                return
    arc = _Archive(filepath)
    if arc.keras_only:
        try:
            _load_keras_weights(model, _h5_bytes(arc, path), path)
            return
        finally:
            arc.close()
    try:
        meta = _check_metadata(arc, ("weights", "model"))
        model._require_built("its weight layout")
        cfg = arc.json("config.json")
        try:
            saved_cfg = cfg["model"]
            saved = _signature(saved_cfg["layers"])
            inputs = saved_cfg.get("inputs")
            saved_shapes = (
                [tuple(i["shape"]) for i in inputs]
                if inputs is not None
                else [tuple(saved_cfg.get("input_shape") or [saved_cfg["n_inputs"]])]
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"{arc.path}: the configuration is invalid ({e!r}).") from None
        ours = _signature(model_config(model)["layers"])
        if saved != ours or saved_shapes != [tuple(s) for s in model._net.input_shapes]:
            raise ValueError(
                f"{arc.path} holds weights for layers {saved} on inputs {saved_shapes}; this "
                f"model has {ours} on inputs {model._net.input_shapes}."
            )
        _read_weights(arc, model, np.dtype(meta["dtype"]))
    finally:
        arc.close()
