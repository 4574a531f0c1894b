"""eigennet's model files: a zip holding JSON (architecture, compile settings) and raw `.npy`
arrays (weights, optimizer state), read with `allow_pickle=False`: loading never runs code.

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


def _serialize_losses(loss: Any) -> Any:
    from eigennet import losses

    if loss is None:
        return None
    if isinstance(loss, dict):
        return {k: _serialize_losses(v) for k, v in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_serialize_losses(v) for v in loss]
    return losses.serialize(losses.get(loss))


def _deserialize_losses(cfg: Any) -> Any:
    from eigennet import losses

    if cfg is None:
        return None
    if isinstance(cfg, dict) and "class_name" not in cfg:
        return {k: _deserialize_losses(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [_deserialize_losses(v) for v in cfg]
    return losses.deserialize(cfg)


def _metric_names(spec: Any) -> Any:
    if isinstance(spec, dict):
        return {k: _metric_names(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_metric_names(m) for m in spec]
    return spec if isinstance(spec, str) else getattr(spec, "__name__", str(spec))


def _compile_config(model: Any) -> Optional[dict[str, Any]]:
    from eigennet import optimizers

    if not model.compiled:
        return None
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serialize_losses(model.loss),
        "loss_weights": model._loss_weights_spec,
        "metrics": _metric_names(model._metrics_spec),
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
    over filepath: a crash mid-write leaves the old file (or none), never half a file."""
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
    model._require_built("its architecture")
    model._net.sync()
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
    if not os.fspath(filepath).endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={os.fspath(filepath)}"
        )
    model._require_built("its weights")
    model._net.sync()
    members = {
        "metadata.json": _metadata("weights", model),
        "config.json": json.dumps({"model": model_config(model)}).encode(),
        "params.npy": _npy_bytes(model._net.core.get_params()),
        "stats.npy": _npy_bytes(model._net.core.get_stats()),
    }
    _atomic_zip(filepath, members, overwrite)


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
        self.names = set(names)

    def read(self, name: str, limit: int) -> bytes:
        if name not in self.names:
            raise ValueError(f"{self.path} is not a valid eigennet file: {name} is missing.")
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

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name, _MAX_JSON_BYTES).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{self.path}: {name} is not valid JSON ({e}).") from None
        except RecursionError:
            raise ValueError(f"{self.path}: {name} is nested too deeply.") from None

    def values(self, name: str, itemsize: int) -> int:
        """How many values of itemsize bytes member `name` can hold (0 when absent)."""
        if name not in self.names:
            return 0
        return self.zf.getinfo(name).file_size // itemsize

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
    """Loads a model saved by `Model.save`, ready to resume training where it stopped.

    Args:
        filepath: path of a `.keras` file written by eigennet.
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
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"{arc.path}: invalid compile configuration ({e!r}).") from None
        if "optimizer.npy" in arc.names:
            _restore_state(arc, model)
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


def load_weights(model: Any, filepath: Any) -> None:
    arc = _Archive(filepath)
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
