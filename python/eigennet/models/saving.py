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
from typing import Any, Optional

import numpy as np

FORMAT = "eigennet"
FORMAT_VERSION = 1
_MAX_JSON_BYTES = 1 << 20
_NPY_HEADER_MAX = 1 << 16


def _layer_configs(model: Any) -> list[dict[str, Any]]:
    return [
        {"class_name": type(layer).__name__, "config": layer.get_config()}
        for layer in model._layers
    ]


def model_config(model: Any) -> dict[str, Any]:
    from eigennet.models.sequential import Sequential

    return {
        "class_name": "Sequential" if isinstance(model, Sequential) else "Functional",
        "name": model.name,
        "n_inputs": model._net.n_inputs if model._net is not None else None,
        "input_shape": list(model._net.input_shape) if model._net is not None else None,
        "layers": _layer_configs(model),
    }


def _compile_config(model: Any) -> Optional[dict[str, Any]]:
    from eigennet import losses, optimizers

    if not model.compiled:
        return None
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": losses.serialize(model.loss) if model.loss is not None else None,
        "metrics": [
            m if isinstance(m, str) else getattr(m, "__name__", str(m)) for m in model._metrics_spec
        ],
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


def _atomic_zip(filepath: Any, members: dict[str, bytes], overwrite: bool) -> None:
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
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, payload in members.items():
                    zf.writestr(name, payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


def _model_members(model: Any) -> dict[str, bytes]:
    model._require_built("its architecture")
    core = model._net.core
    members = {
        "metadata.json": _metadata("model", model),
        "config.json": json.dumps(
            {"model": model_config(model), "compile": _compile_config(model)}
        ).encode(),
        "params.npy": _npy_bytes(core.get_params()),
    }
    if model.compiled:
        members["optimizer.npy"] = _npy_bytes(core.get_state())
        members["training.json"] = json.dumps(
            {
                "iterations": int(core.iterations),
                "rng": [int(v) for v in core.get_rng_state()],
            }
        ).encode()
    return members


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    if not os.fspath(filepath).endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={os.fspath(filepath)}"
        )
    model._require_built("its weights")
    members = {
        "metadata.json": _metadata("weights", model),
        "config.json": json.dumps({"model": model_config(model)}).encode(),
        "params.npy": _npy_bytes(model._net.core.get_params()),
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

    def array(self, name: str, n: int, dtype: np.dtype) -> np.ndarray:
        raw = self.read(name, n * dtype.itemsize + _NPY_HEADER_MAX)
        try:
            a = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
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
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{arc.path}: unsupported format version {meta.get('format_version')!r}.")
    if meta.get("kind") not in kinds:
        raise ValueError(f"{arc.path} holds {meta.get('kind')!r}, expected one of {kinds}.")
    if meta.get("dtype") not in ("float32", "float64"):
        raise ValueError(f"{arc.path}: unsupported dtype {meta.get('dtype')!r}.")
    return meta


def _build_from_config(cfg: Any, path: str) -> Any:
    from eigennet.layers.core import LAYER_CLASSES, Input
    from eigennet.models.model import Model
    from eigennet.models.sequential import Sequential

    try:
        input_shape = tuple(int(d) for d in (cfg.get("input_shape") or [cfg["n_inputs"]]))
        layers = []
        for entry in cfg["layers"]:
            cls = LAYER_CLASSES.get(entry["class_name"])
            if cls is None:
                raise ValueError(f"unknown layer class {entry['class_name']!r}")
            config = dict(entry["config"])
            config.pop("name", None)  # fresh Keras-style names avoid clashes in this session
            layers.append(cls.from_config(config))
        if cfg["class_name"] == "Sequential":
            return Sequential([Input(input_shape), *layers], name=cfg.get("name"))
        x = Input(input_shape)
        t = x
        for layer in layers:
            t = layer(t)
        return Model(x, t, name=cfg.get("name"))
    except (KeyError, TypeError, AttributeError) as e:
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
    from eigennet import losses, optimizers

    meta = _check_metadata(arc, ("model",))
    cfg = arc.json("config.json")
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise ValueError(f"{arc.path}: config.json has no model.")
    model = _with_floatx(meta["dtype"], lambda: _build_from_config(cfg["model"], arc.path))
    core = model._net.core
    dtype = model._net.dtype
    core.set_params(arc.array("params.npy", int(core.n_params), dtype))
    comp = cfg.get("compile")
    if compile and comp:
        try:
            model.compile(
                optimizer=optimizers.deserialize(comp["optimizer"]),
                loss=losses.deserialize(comp["loss"]) if comp.get("loss") else None,
                metrics=list(comp.get("metrics") or []),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"{arc.path}: invalid compile configuration ({e!r}).") from None
        if "optimizer.npy" in arc.names:
            core.set_state(arc.array("optimizer.npy", int(core.get_state().size), dtype))
            training = arc.json("training.json")
            try:
                core.iterations = int(training["iterations"])
                core.set_rng_state([int(v) for v in training["rng"]])
            except (KeyError, TypeError, ValueError, OverflowError) as e:
                raise ValueError(f"{arc.path}: invalid training state ({e!r}).") from None
    return model


def _with_floatx(dtype: str, build: Any) -> Any:
    from eigennet import config as en_config

    previous = en_config.floatx()
    en_config.set_floatx(dtype)
    try:
        return build()
    finally:
        en_config.set_floatx(previous)


def clone_model(model: Any) -> Any:
    """A new model with the same architecture and freshly initialised weights, uncompiled
    (Keras's `clone_model`). New layer objects are created; nothing is shared."""
    from eigennet.layers.core import LAYER_CLASSES
    from eigennet.models.sequential import Sequential

    cfg = model_config(model)
    if cfg["n_inputs"] is None:
        layers = []
        for entry in cfg["layers"]:
            config = dict(entry["config"])
            config.pop("name", None)
            layers.append(LAYER_CLASSES[entry["class_name"]].from_config(config))
        return Sequential(layers)
    return _with_floatx(
        str(model._net.dtype), lambda: _build_from_config(cfg, f"model {model.name!r}")
    )


def load_weights(model: Any, filepath: Any) -> None:
    arc = _Archive(filepath)
    try:
        _check_metadata(arc, ("weights", "model"))
        model._require_built("its weight layout")
        cfg = arc.json("config.json")
        try:
            saved = [(e["class_name"], e["config"].get("units")) for e in cfg["model"]["layers"]]
            n_inputs = cfg["model"]["n_inputs"]
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"{arc.path}: the configuration is invalid ({e!r}).") from None
        ours = [(type(layer).__name__, getattr(layer, "units", None)) for layer in model._layers]
        if saved != ours or n_inputs != model._net.n_inputs:
            raise ValueError(
                f"{arc.path} holds weights for layers {saved} on {n_inputs} inputs; this model "
                f"has {ours} on {model._net.n_inputs} inputs."
            )
        core = model._net.core
        raw_dtype = np.dtype(arc.json("metadata.json")["dtype"])
        params = arc.array("params.npy", int(core.n_params), raw_dtype)
        core.set_params(params.astype(model._net.dtype))
    finally:
        arc.close()
