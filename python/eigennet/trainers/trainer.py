"""compile / fit / evaluate / predict. Each epoch is one C++ call with the GIL released; Python
only runs callbacks and progress output between (or, for batch hooks, after) batches."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from eigennet import _core, losses, metrics, optimizers
from eigennet import distribution as _distribution
from eigennet.callbacks.callback import Callback, CallbackList, History
from eigennet.models.net import _moves as _MOVES
from eigennet.trainers import data, sources
from eigennet.trainers import parallel as _parallel
from eigennet.trainers import steps as _steps
from eigennet.utils.progbar import Progbar, is_interactive

_DEFAULT_BATCH = 32


def _resolve_verbose(verbose: Any) -> int:
    """fit's, evaluate's and predict's verbose as 0, 1 or 2; 0 on every DataParallel rank but
    the writing one, which alone prints progress."""
    if verbose == "auto":
        # The progress bar where it can redraw (a terminal or a Jupyter kernel, as the bar
        # itself decides), one line per epoch in logs and pipes.
        level = 1 if is_interactive() else 2
    elif verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    else:
        level = int(verbose)
    return level if _distribution.is_writer() else 0


class _CompiledMetric:
    """One metric of one output as compiled: its object, its log name, and the core's view."""

    def __init__(self, name: str, prefix: str, obj: Any, width: int, weighted: bool) -> None:
        self.name, self.prefix, self.metric, self.width = name, prefix, obj, width
        self.weighted = weighted
        self.core = obj._core_metric(weighted=weighted)
        self.n_sums, self.size = obj._sizes(width)
        self.scalar = obj._scalar(width)
        obj._bind(width)
        self.log_name = prefix + name


class _CompileMetrics:
    """Keras 3's `compile_metrics`: the compiled metric objects as one, in Keras's order."""

    name = "compile_metrics"

    def __init__(self, model: Any) -> None:
        self._entries = sorted(model._compiled_metrics, key=lambda e: e.weighted)

    @property
    def metrics(self) -> list[Any]:
        return [e.metric for e in self._entries]

    def result(self) -> dict[str, Any]:
        return {e.log_name: e.metric.result() for e in self._entries}

    def reset_state(self) -> None:
        for e in self._entries:
            e.metric.reset_state()

    def __repr__(self) -> str:
        return f"<CompileMetrics name=compile_metrics metrics={self.metrics}>"


def _name_metrics(entries: list[_CompiledMetric]) -> None:
    """Keras's log names: the output's name before each metric's, `_1`, `_2`, ... after repeats,
    and `weighted_` before a weighted metric whose name is taken."""
    seen: dict[str, int] = {}
    for e in sorted(entries, key=lambda e: e.weighted):
        name = e.prefix + e.name
        if name in seen and e.weighted:
            name = e.prefix + "weighted_" + e.name
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name] - 1}"
        else:
            seen[name] = 1
        e.log_name = name


def _unsupported(kwargs: dict[str, Any], method: str) -> None:
    bad = {k: v for k, v in kwargs.items() if v is not None}
    if bad:
        raise ValueError(f"{method}() does not support these arguments: {sorted(bad)}")


def _split_at(n: int, validation_split: float) -> int:
    """The first of the last validation_split of n samples, which fit holds out."""
    split_at = int(n * (1.0 - validation_split))
    if split_at in (0, n):
        raise ValueError(
            f"validation_split={validation_split} leaves no training or no validation "
            f"samples out of {n}."
        )
    return split_at


def _validation_epochs(freq: Any) -> Any:
    """Keras's validation_freq as a test of the epoch number (from 1): every `freq` epochs for
    an int, the listed epochs for a list."""
    if isinstance(freq, (list, tuple, set)) and all(
        isinstance(e, int) and not isinstance(e, bool) for e in freq
    ):
        chosen = set(freq)
        return lambda epoch: epoch in chosen
    if isinstance(freq, int) and not isinstance(freq, bool) and freq >= 1:
        return lambda epoch: epoch % freq == 0
    raise ValueError(
        "validation_freq must be an int >= 1 or a list of epoch numbers. "
        f"Received: validation_freq={freq!r}"
    )


def _resolve_loss(loss: Any) -> Any:
    """compile's loss with every entry resolved to an eigennet.losses object."""
    if loss is None:
        return None
    if isinstance(loss, dict):
        return {k: _resolve_loss(v) for k, v in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_resolve_loss(v) for v in loss]
    return losses.get(loss)


class Trainer:
    """Mixin of Model with Keras's training methods."""

    _net: Any
    output_names: Any  # Model's properties
    input_names: Any

    def _init_trainer(self) -> None:
        self.optimizer: Optional[optimizers.Optimizer] = None
        self.loss: Optional[losses.Loss] = None
        self.compiled = False
        self.stop_training = False
        self.history: Optional[History] = None
        self._metrics_spec: Any = []
        self._weighted_metrics_spec: Any = []
        self._metric_names: list[str] = []
        self._loss_names: list[str] = []
        self._compiled_metrics: list[_CompiledMetric] = []
        self._loss_tracker = metrics.Mean(name="loss")
        self._output_loss_trackers: list[Any] = []
        self._loss_weights_spec: Any = None
        self._output_losses: list[Optional[losses.Loss]] = []
        self._loss_weights: list[float] = []

    # compile ------------------------------------------------------------------------------
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Optional[Sequence[Any]] = None,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
    ) -> None:
        """Configures the model for training.

        Args:
            optimizer: name (`"sgd"`, `"adam"`, `"rmsprop"`, `"adagrad"`) or optimizer object.
            loss: name, function or `eigennet.losses` object.
            metrics: metrics by name (`"accuracy"`, `"auc"`, `"mse"`, ...), class or
                `eigennet.metrics` object; for several outputs a dict by output name or one
                list per output. Their sums are kept inside the C++ epoch.
            loss_weights: each output's weight in the total loss (list or dict).
            weighted_metrics: as `metrics`, weighted by `sample_weight` and `class_weight`.

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        if steps_per_execution != 1:
            raise ValueError("steps_per_execution must be 1: every epoch already runs in C++.")
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(
                f"Expected `metrics` argument to be a list, tuple, or dict. Received: "
                f"metrics={metrics!r}"
            )
        if weighted_metrics is not None and not isinstance(weighted_metrics, (list, tuple, dict)):
            raise TypeError(
                "Expected `weighted_metrics` argument to be a list, tuple, or dict. Received "
                f"instead: weighted_metrics={weighted_metrics} of type {type(weighted_metrics)}"
            )
        opt = optimizers.get(optimizer)
        previous = (
            self.optimizer,
            self.loss,
            self._metrics_spec,
            self._weighted_metrics_spec,
            self._loss_weights_spec,
            self.compiled,
        )
        self.optimizer, self.loss, self._metrics_spec = opt, _resolve_loss(loss), metrics or []
        self._weighted_metrics_spec = weighted_metrics or []
        self._loss_weights_spec = loss_weights
        self.compiled = True
        try:
            if self._net is not None:
                self._compile_core()
        except Exception:
            (
                self.optimizer,
                self.loss,
                self._metrics_spec,
                self._weighted_metrics_spec,
                self._loss_weights_spec,
                self.compiled,
            ) = previous
            raise

    def _per_output(self, spec: Any, what: str, fill: Any) -> list[Any]:
        """A compile argument given once, as a list (one per output) or a dict by output name,
        as one entry per output."""
        names = self.output_names
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in names]
            if unknown:
                raise ValueError(
                    f"In the dict argument `{what}`, key '{unknown[0]}' does not correspond to "
                    f"any model output. Received:\n{what}={spec}"
                )
            return [spec.get(n, fill) for n in names]
        if isinstance(spec, (list, tuple)):
            if len(spec) != len(names):
                raise ValueError(
                    f"For a model with multiple outputs, when providing the `{what}` argument "
                    f"as a list, it should have as many entries as the model has outputs. "
                    f"Received:\n{what}={spec}\nof length {len(spec)} whereas the model has "
                    f"{len(names)} outputs."
                )
            return list(spec)
        return [spec] * len(names)

    def _compile_core(self) -> None:
        core = self._net.core
        assert self.optimizer is not None
        n_out = len(self._net.output_widths)
        if n_out == 1 and not isinstance(self.loss, dict):
            loss_list = [self.loss[0] if isinstance(self.loss, (list, tuple)) else self.loss]
            if isinstance(self.loss, (list, tuple)) and len(self.loss) != 1:
                self._per_output(self.loss, "loss", None)  # raises with Keras's message
        else:
            loss_list = self._per_output(self.loss, "loss", None)
        loss_objs = [losses.get(lyr) if lyr is not None else None for lyr in loss_list]
        for lobj in loss_objs:
            if lobj is not None and lobj.reduction not in ("sum_over_batch_size", "mean"):
                raise ValueError(
                    f"fit reduces losses as Keras's default, the mean over the batch; loss "
                    f"{lobj.name!r} has reduction={lobj.reduction!r}. Use it in a custom loop "
                    "(GradientTape), or compile with reduction='sum_over_batch_size'."
                )
        if n_out > 1 and any(lyr is None for lyr in loss_objs) and self.loss is not None:
            missing = [n for n, lyr in zip(self.output_names, loss_objs) if lyr is None]
            raise ValueError(f"No loss given for output(s) {missing}: give one per output.")
        weights = [1.0] * n_out
        if self._loss_weights_spec is not None:
            weights = self._per_output(self._loss_weights_spec, "loss_weights", 1.0)
            for w in weights:
                if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
                    raise ValueError(
                        f"loss_weights must be numbers >= 0. Received: loss_weights="
                        f"{self._loss_weights_spec!r}"
                    )
        per_metrics = self._metrics_per_output(self._metrics_spec, "metrics")
        per_weighted = self._metrics_per_output(self._weighted_metrics_spec, "weighted_metrics")
        core_losses, core_metrics, entries = [], [], []
        for o, (lobj, width) in enumerate(zip(loss_objs, self._net.output_widths)):
            shape = self._net.output_shapes[o]
            if lobj is not None and len(shape) > 1 and not lobj.elementwise:
                # Keras computes it along the last axis; the core over a sample's flat entries.
                raise NotImplementedError(
                    f"Loss {lobj.name!r} over the output {self.output_names[o]!r} of shape "
                    f"{(None, *shape)}: eigennet computes it over a sample's flat features, Keras "
                    "along the last axis. Flatten the output (or use an element-wise loss)."
                )
            core_loss = lobj.core_name if lobj is not None else "mean_squared_error"
            core_losses.append(lobj.core_spec if lobj is not None else core_loss)
            prefix = "" if n_out == 1 else f"{self.output_names[o]}_"
            out_metrics = []
            for weighted, given in ((False, per_metrics[o]), (True, per_weighted[o])):
                for identifier in given:
                    name, obj = metrics.resolve(identifier, core_loss, width)
                    entry = _CompiledMetric(name, prefix, obj, width, weighted)
                    out_metrics.append(entry.core)
                    entries.append(entry)
            core_metrics.append(out_metrics)
        for i, layer in enumerate(self._net.layers):
            core.set_trainable(i, bool(layer.trainable))
        core.compile(core_losses, [float(w) for w in weights], core_metrics, self.optimizer._spec())
        self.optimizer._attach(core)
        self._output_losses = loss_objs
        self._loss_weights = [float(w) for w in weights]
        self._loss_names = [] if n_out == 1 else [f"{n}_loss" for n in self.output_names]
        self._loss_tracker = metrics.Mean(name="loss")
        self._output_loss_trackers = [metrics.Mean(name=n) for n in self._loss_names]
        _name_metrics(entries)
        self._compiled_metrics = entries
        # Keras's order of the logs: every output's metrics, then every output's weighted ones.
        ordered = sorted(entries, key=lambda e: e.weighted)
        self._metric_names = self._loss_names + [e.log_name for e in ordered]

    def _ensure_built(self, x: Any) -> None:
        pass

    def _targets(self, y: Any, n: int) -> np.ndarray:
        """y checked and converted for this model's outputs and losses: (n, Σ target rows)."""
        net = self._net
        names = [lyr.core_name if lyr is not None else "" for lyr in self._output_losses]
        ys = [y] if len(net.output_widths) == 1 else self._per_output_data(y, "y")
        parts = []
        for o, (yo, w, loss, lobj) in enumerate(
            zip(ys, net.output_widths, names, self._output_losses)
        ):
            shape = net.output_shapes[o]
            if len(shape) > 1 and np.shape(yo) == (n, *shape):
                yo = np.reshape(yo, (n, w))  # targets shaped as the output, as in Keras
            t = data.targets(yo, n, w, loss, net.dtype)
            if lobj is not None:  # label smoothing, hinge labels
                t = np.asarray(lobj.prepare_targets(t, w), dtype=net.dtype)
            parts.append(t)
        return parts[0] if len(parts) == 1 else np.ascontiguousarray(np.hstack(parts))

    def _per_output_data(self, y: Any, what: str) -> list[Any]:
        names = self.output_names
        if isinstance(y, dict):
            missing = [k for k in names if k not in y]
            if missing or len(y) != len(names):
                raise ValueError(
                    f"{what} must have one entry per output {names}. Received keys {list(y)}."
                )
            return [y[k] for k in names]
        if not isinstance(y, (list, tuple)) or len(y) != len(names):
            raise ValueError(
                f"The model has {len(names)} outputs {names}: {what} must be a list of "
                f"{len(names)} arrays or a dict keyed by output name."
            )
        return list(y)

    def _features(self, x: Any) -> np.ndarray:
        """x checked and converted for this model's inputs: one (n, Σ input widths) array."""
        net = self._net
        if len(net.input_widths) == 1:
            if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
                x = x[0]
            elif isinstance(x, dict) and len(x) == 1:
                x = next(iter(x.values()))
            xa = data.features(x, net.n_inputs, net.dtype, "x", net.input_shape)
            parts = [xa]
        else:
            names = self.input_names
            if isinstance(x, dict):
                missing = [k for k in names if k not in x]
                if missing:
                    raise ValueError(
                        f"Missing data for input {missing[0]!r}. You passed a data dictionary "
                        f"with keys {list(x)}. Expected the following keys: {names}"
                    )
                xs = [x[k] for k in names]
            elif isinstance(x, (list, tuple)) and len(x) == len(names):
                xs = list(x)
            else:
                raise ValueError(
                    f"The model has {len(names)} inputs {names}: x must be a list of "
                    f"{len(names)} arrays or a dict keyed by input name."
                )
            parts = [
                data.features(xk, w, net.dtype, f"x[{name!r}]", shape)
                for xk, w, shape, name in zip(xs, net.input_widths, net.input_shapes, names)
            ]
            if len({len(p) for p in parts}) != 1:
                raise ValueError(
                    "All inputs must have the same number of samples. Received: "
                    + ", ".join(f"{n}: {len(p)}" for n, p in zip(names, parts))
                )
            xa = np.ascontiguousarray(np.hstack(parts))
        for k, emb in net.index_checks:
            emb.check_indices(parts[k], f"input {k}")
        return xa

    def _split_outputs(self, out: np.ndarray) -> Any:
        """The core's (n, Σ output widths) as Keras returns it: one array, or one per output
        (a list, or a dict for a model whose outputs are a dict)."""
        net = self._net
        n = out.shape[0]
        if len(net.output_widths) == 1:
            shape = net.output_shapes[0]
            return out if len(shape) == 1 else out.reshape(n, *shape)
        parts, start = [], 0
        for w, shape in zip(net.output_widths, net.output_shapes):
            parts.append(out[:, start : start + w].reshape(n, *shape))
            start += w
        return self._pack(parts)

    def _pack(self, parts: list[Any]) -> Any:
        """One value per output as Keras returns them: the value, a list or a dict."""
        if len(parts) == 1:
            return parts[0]
        keys = getattr(self, "_output_keys", None)
        return dict(zip(keys, parts)) if isinstance(keys, list) else parts

    def _input_list(self, x: Any) -> list[Any]:
        """The caller's input objects in input order (watched inputs are found among them)."""
        if isinstance(x, dict):
            if len(x) == 1:
                return list(x.values())
            return [x[k] for k in self.input_names]
        if isinstance(x, (list, tuple)):
            return list(x)
        return [x]

    def _require_loss(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before calling `{method}()`.")
        if self.loss is None:
            raise ValueError(f"The model was compiled without a loss: `{method}()` needs one.")
        if self._net is None:
            return  # built by its first batch (from a generator), which checks again
        for lobj, w in zip(self._output_losses, self._net.output_widths):
            if lobj is not None:
                losses.warn_if_one_class(lobj.core_name, w)

    @property
    def metrics(self) -> list[Any]:
        """Keras 3's list: the loss tracker, the compiled metrics (one `compile_metrics` object
        whose `.metrics` are the metric objects), then each output's loss tracker."""
        if not self.compiled:
            return []
        out: list[Any] = [self._loss_tracker]
        if self._metrics_spec or self._weighted_metrics_spec:
            out.append(_CompileMetrics(self))
        return out + list(self._output_loss_trackers)

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def _metrics_per_output(self, spec: Any, what: str) -> list[list[Any]]:
        """compile's metrics or weighted_metrics as one list per output."""
        n_out = len(self._net.output_widths)
        if n_out == 1:
            per = [list(spec.values())[0] if isinstance(spec, dict) else spec]
            if isinstance(spec, dict):
                self._per_output(spec, what, [])
        elif not spec:
            per = [[] for _ in range(n_out)]
        elif isinstance(spec, dict) or (
            isinstance(spec, (list, tuple)) and all(isinstance(m, (list, tuple)) for m in spec)
        ):
            per = self._per_output(spec, what, [])
        else:
            raise ValueError(
                f"For a model with multiple outputs, `{what}` must be a dict keyed by output "
                f"name or a list with one list of metrics per output. Received: {what}={spec!r}"
            )
        return [[] if m is None else list(m) if isinstance(m, (list, tuple)) else [m] for m in per]

    def _logs(self, loss: float, values: Sequence[float]) -> dict[str, Any]:
        """Logs from the core's results: the loss, each output's loss, then the metrics in
        Keras's order (a vector metric's value is an array)."""
        logs: dict[str, Any] = {"loss": float(loss)}
        k = 0
        for name in self._loss_names:
            logs[name] = float(values[k])
            k += 1
        results = {}
        for e in self._compiled_metrics:
            v = values[k : k + e.size]
            k += e.size
            results[e.log_name] = float(v[0]) if e.scalar else np.asarray(v, dtype=np.float32)
        for name in self._metric_names[len(self._loss_names) :]:
            logs[name] = results[name]
        return logs

    def _logs_from_sums(self, sums: Sequence[float], samples: int) -> dict[str, Any]:
        """Logs from an accumulator summed over several core calls (batches pulled from Python):
        the metrics over all of them, as Keras's stateful metrics report."""
        acc = np.asarray(sums, dtype=np.float64)
        n = max(samples, 1)
        values = [acc[2 + o] / n for o in range(len(self._loss_names))]
        k = 2 + len(self._loss_names)
        for e in self._compiled_metrics:
            r = _core.metric_result(e.core, e.width, acc[k : k + e.n_sums])
            values.extend(float(x) for x in r)
            k += e.n_sums
        return self._logs((acc[0] + acc[1]) / n, values)

    def _sync_metrics(self, r: Any) -> None:
        """Leaves each compiled metric object holding the sums of the last pass (Keras's
        metrics hold the state of their last update)."""
        self._sync_metrics_from(np.asarray(r.sums, dtype=np.float64), int(r.samples))

    def _sync_metrics_from(self, acc: np.ndarray, samples: int) -> None:
        self._loss_tracker._sums = np.array([acc[0] + acc[1], samples], np.float64)
        for o, tracker in enumerate(self._output_loss_trackers):
            tracker._sums = np.array([acc[2 + o], samples], np.float64)
        k = 2 + len(self._loss_names)
        for e in self._compiled_metrics:
            if e.metric._sums is not None and len(e.metric._sums) == e.n_sums:
                e.metric._sums[:] = acc[k : k + e.n_sums]
            k += e.n_sums

    def _dataset(self, x: Any, y: Any = None, sample_weight: Any = None) -> Any:
        net = self._net
        xa = self._features(x)
        if y is None:
            return net.core.dataset(xa)
        ya = self._targets(y, len(xa))
        wa = data.sample_weights(ya, sample_weight, None, net.dtype)
        return net.core.dataset(xa, ya, wa)

    # fit ----------------------------------------------------------------------------------
    # Custom steps (trainers/steps.py) ---------------------------------------------------------
    def train_step(self, data: Any) -> dict[str, float]:
        """One training step on a batch `data` ((x, y) or (x, y, sample_weight)): forward, the
        compiled loss, gradient and optimizer update; returns the logs. Override it to customise
        `fit`, which then calls it once per batch (the one place where eigennet runs Python per
        batch): use `en.GradientTape`, `self.compute_loss` and `self.optimizer`."""
        return _steps.train_step(self, data)

    def test_step(self, data: Any) -> dict[str, float]:
        """The logs of one evaluation batch; `evaluate` calls an override once per batch."""
        return _steps.test_step(self, data)

    def predict_step(self, data: Any) -> Any:
        """The outputs of one batch `(x,)`; `predict` calls an override once per batch."""
        return _steps.predict_step(self, data)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """Keras's `compute_loss`: the compiled loss of each output (times its loss weight)
        plus `sum(self.losses)`; differentiable on a GradientTape."""
        self._require_loss("compute_loss")
        n_out = len(self._net.output_widths)
        ys = [y] if n_out == 1 else self._per_output_data(y, "y")
        if n_out == 1:
            preds = [y_pred]
        elif isinstance(y_pred, dict):
            preds = [y_pred[k] for k in self.output_names]
        else:
            preds = list(y_pred)
        total: Any = 0.0
        for lobj, weight, yo, po in zip(self._output_losses, self._loss_weights, ys, preds):
            if lobj is not None:
                value = lobj(yo, po, sample_weight=sample_weight)
                total = total + (value if weight == 1.0 else weight * value)
        for penalty in self.losses:  # type: ignore[attr-defined]
            total = total + penalty
        return total

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: Optional[int] = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Optional[Sequence[Callback]] = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: Any = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: Any = None,
        validation_steps: Any = None,
        validation_batch_size: Optional[int] = None,
        validation_freq: int = 1,
    ) -> History:
        """Trains the model for `epochs` epochs over (x, y).

        Args:
            x: inputs, shape `(n, n_features)`; or a generator of batches `(x, y)` /
                `(x, y, sample_weight)`, or a `PyDataset` (batches by index), which Python
                hands over batch by batch (each computed in C++; shuffling a PyDataset
                shuffles the order of its batches).
            y: targets, shape `(n, n_outputs)` (integer labels `(n,)` for sparse losses).
            batch_size: samples per update (default 32); `len(x)` is full-batch gradient
                descent, 1 is per-sample SGD.
            epochs: index of the last epoch (training runs from `initial_epoch`).
            verbose: `"auto"`, 0 (silent), 1 (progress bar), 2 (one line per epoch).
            callbacks: list of `eigennet.callbacks.Callback`.
            validation_split: fraction of the data, taken from the end before shuffling, held
                out for validation.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, sample_weight_val)`, used
                instead of validation_split.
            shuffle: reshuffle the training data before each epoch.
            class_weight: dict of class index to loss weight (classes not in it weigh 1).
            sample_weight: per-sample loss weights, shape `(n,)`. The loss is
                `sum(w * per-sample loss) / batch`, as Keras's default reduction; metrics stay
                unweighted.
            initial_epoch: epoch at which to start (for resuming).
            steps_per_epoch: batches per epoch; the next epoch continues where the last one
                stopped, as in Keras (a generator needs it to train more than one epoch).
            validation_steps: batches of validation_data per validation.
            validation_freq: validate every that many epochs (an int), or after the listed
                epochs (counted from 1).

        Returns:
            A `History` whose `.history` maps `loss`, metrics and `val_*` to per-epoch lists.
        """
        steps_per_epoch = sources.steps_arg(steps_per_epoch, "steps_per_epoch")
        validation_steps = sources.steps_arg(validation_steps, "validation_steps")
        validate_at = _validation_epochs(validation_freq)
        fed = sources.is_source(x)
        custom = _steps.overridden(self, "train_step")
        if not fed:
            self._ensure_built(x)
        if not custom:
            self._require_loss("fit")
        elif self.optimizer is None:
            raise ValueError("You must call `compile()` before calling `fit()`.")
        batch_size = data.positive_int(
            _DEFAULT_BATCH if batch_size is None else batch_size, "batch_size"
        )
        val_batch = data.positive_int(
            batch_size if validation_batch_size is None else validation_batch_size,
            "validation_batch_size",
        )
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be an int >= 0. Received: {name}={value!r}")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(
                f"validation_split must be a float in [0, 1). "
                f"Received: validation_split={validation_split!r}"
            )
        verbose = _resolve_verbose(verbose)
        if fed or custom or steps_per_epoch is not None:
            _parallel.refuse(
                "fit on a generator, a PyDataset, steps_per_epoch or a custom train_step"
            )
            return self._fit_batches(
                x,
                y,
                sample_weight,
                class_weight,
                batch_size,
                epochs,
                initial_epoch,
                shuffle,
                verbose,
                callbacks,
                validation_split,
                validation_data,
                (val_batch, validation_steps),
                steps_per_epoch,
                validate_at,
            )
        net = self._net
        net.sync()
        xa = self._features(x)
        ya = self._targets(y, len(xa))
        wa = data.sample_weights(ya, sample_weight, class_weight, net.dtype)
        val_ds = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(
                    "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                    "sample_weight_val). Received: "
                    f"validation_data of type {type(validation_data).__name__}"
                    + (
                        f" and length {len(validation_data)}"
                        if isinstance(validation_data, (tuple, list))
                        else ""
                    )
                )
            val_ds = self._dataset(*validation_data)
        elif validation_split > 0:
            split_at = _split_at(len(xa), validation_split)
            val_w = None if wa is None else wa[split_at:]
            val_ds = net.core.dataset(xa[split_at:], ya[split_at:], val_w)
            xa, ya = xa[:split_at], ya[:split_at]
            wa = None if wa is None else wa[:split_at]
        plan = _parallel.prepare(self, len(xa), batch_size, epochs, initial_epoch)
        step_batch = plan.step_batch(batch_size)
        net.check_batch(min(step_batch, len(xa)), "training")
        train_ds = net.core.dataset(xa, ya, wa)
        steps = math.ceil(len(xa) / step_batch)

        history = History()
        cbs = CallbackList(
            list(callbacks or []) + [history],
            self,
            {"verbose": verbose, "epochs": epochs, "steps": steps},
        )
        batch_mode = cbs.uses_batch_hooks
        self.stop_training = False
        self._fitting = True
        try:
            logs = self._epochs(
                cbs,
                net,
                train_ds,
                (val_ds, validate_at),
                step_batch,
                val_batch,
                shuffle,
                steps,
                verbose,
                batch_mode,
                initial_epoch,
                epochs,
                plan,
            )
        except BaseException:
            plan.abort_job()
            raise
        finally:
            self._fitting = False
        self._finalize_variables(epochs)
        cbs.on_train_end(logs)
        self.history = history
        return history

    def _finalize_variables(self, epochs: int) -> None:
        """Keras's end of fit: the optimizer's finalize_variable_values on the trainable
        weights (with use_ema they take their moving averages), before on_train_end."""
        if self.optimizer is not None and epochs > 0 and self._net.core.iterations > 0:
            weights = self.trainable_weights  # type: ignore[attr-defined]
            self.optimizer.finalize_variable_values(weights)

    def _fit_batches(
        self,
        x: Any,
        y: Any,
        sample_weight: Any,
        class_weight: Any,
        batch_size: int,
        epochs: int,
        initial_epoch: int,
        shuffle: bool,
        verbose: int,
        callbacks: Any,
        validation_split: float,
        validation_data: Any,
        validation: tuple[int, Optional[int]],
        steps_per_epoch: Optional[int],
        validate_at: Any,
    ) -> History:
        """fit with batches pulled from Python (trainers/sources.py, trainers/steps.py)."""
        custom = _steps.overridden(self, "train_step")
        if custom and (validation_split > 0 or class_weight is not None):
            raise ValueError(
                "validation_split and class_weight are not supported with an overridden "
                "train_step: pass validation_data, and sample weights as sample_weight."
            )
        val_batch, val_steps = validation
        if validation_split > 0:
            if sources.is_source(x):
                raise ValueError(
                    "`validation_split` is only supported for Tensors or NumPy arrays."
                    f"Found: x={type(x).__name__}"
                )
            n = sources.count(x)
            split_at = _split_at(n, validation_split)
            head, tail = np.arange(split_at), np.arange(split_at, n)
            validation_data = (
                sources.rows(x, tail),
                sources.rows(y, tail),
                None if sample_weight is None else np.asarray(sample_weight)[tail],
            )
            x, y = sources.rows(x, head), sources.rows(y, head)
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[head]
        source = sources.source(
            x, y, sample_weight, batch_size, bool(shuffle), steps_per_epoch, "fit"
        )
        validate = None
        if sources.is_source(validation_data):
            val_source = sources.source(
                validation_data, None, None, val_batch, False, val_steps, "evaluate"
            )
            quiet = CallbackList([], self, {"verbose": 0, "epochs": 1})

            def validate() -> dict[str, float]:
                return _steps.evaluate(self, val_source, quiet, 0)

        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(
                    "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                    "sample_weight_val), a generator or a PyDataset."
                )
            vx, vy, vw = (*validation_data, None)[:3]

            def validate() -> dict[str, float]:
                return dict(
                    self.evaluate(
                        vx,
                        vy,
                        batch_size=val_batch,
                        sample_weight=vw,
                        steps=val_steps,
                        verbose=0,
                        return_dict=True,
                    )
                )

        return _steps.fit(
            self,
            source,
            epochs,
            initial_epoch,
            verbose,
            callbacks,
            validate,
            validate_at,
            class_weight,
        )

    def _epochs(
        self,
        cbs: CallbackList,
        net: Any,
        train_ds: Any,
        validation: tuple[Any, Any],
        batch_size: int,
        val_batch: int,
        shuffle: bool,
        steps: int,
        verbose: int,
        batch_mode: bool,
        initial_epoch: int,
        epochs: int,
        plan: _parallel.Plan,
    ) -> dict[str, float]:
        val_ds, validate_at = validation
        cbs.on_train_begin()
        # A callback resuming training (BackupAndRestore) sets where it starts.
        resumed = self.__dict__.pop("_initial_epoch", None)
        initial_epoch = initial_epoch if resumed is None else resumed
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            bar: Optional[Progbar] = None
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
                bar = Progbar(steps, verbose)
            progress = self._epoch_progress(cbs if batch_mode else None, bar, steps)
            if batch_mode:
                cbs.on_train_batch_begin(0)
            r = net.core.fit_epoch(
                train_ds,
                batch_size,
                bool(shuffle),
                progress,
                0.0 if batch_mode else 0.1,
                **plan.kwargs(),
            )
            net.claim()
            logs = self._logs(r.loss, r.metrics)
            self._sync_metrics(r)
            if val_ds is not None and validate_at(epoch + 1):
                val = self._hooked_evaluate(cbs, val_ds, val_batch, None)
                logs.update({f"val_{k}": v for k, v in val.items()})
            if bar is not None:
                bar.update(r.batches, logs, finalize=True)
            cbs.on_epoch_end(epoch, logs)
            net.sync()  # a callback may have used a layer in another model
            if self.stop_training:
                break
        return logs

    def _epoch_progress(
        self, cbs: Optional[CallbackList], bar: Optional[Progbar], steps: int, kind: str = "train"
    ) -> Any:
        """The C++ pass's progress function: the bar, and the `kind` ("train", "test",
        "predict") batch hooks of cbs when given (a predict batch's logs are empty)."""
        if cbs is None and (bar is None or not bar.interactive):
            return None
        begin = getattr(cbs, f"on_{kind}_batch_begin", None)
        end = getattr(cbs, f"on_{kind}_batch_end", None)

        def progress(samples: int, batches: int, loss: float, values: list[float]) -> bool:
            logs = self._logs(loss, values) if kind != "predict" else {}
            if end is not None and begin is not None:
                end(batches - 1, logs)
                if kind == "train" and self.stop_training:
                    return False
                if batches < steps:
                    begin(batches)
            if bar is not None:
                bar.update(batches, logs)
            return True

        return progress

    def _hooked_evaluate(
        self, cbs: CallbackList, ds: Any, batch_size: int, bar: Optional[Progbar]
    ) -> dict[str, float]:
        """One evaluation pass with the test hooks of cbs (Keras calls them for fit's
        validation too); returns its logs."""
        steps = math.ceil(ds.size / batch_size)
        batch_mode = cbs.uses_test_batch_hooks
        cbs.on_test_begin()
        if batch_mode:
            cbs.on_test_batch_begin(0)
        progress = self._epoch_progress(cbs if batch_mode else None, bar, steps, "test")
        r = self._net.core.evaluate(
            ds, batch_size, progress, 0.0 if batch_mode else 0.1, **_parallel.evaluation()
        )
        logs = self._logs(r.loss, r.metrics)
        self._sync_metrics(r)
        if bar is not None:
            bar.update(r.batches, logs, finalize=True)
        cbs.on_test_end(logs)
        return logs

    # evaluate / predict -------------------------------------------------------------------
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: Optional[int] = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: Any = None,
        callbacks: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss (and metrics) over (x, y), regularisation penalties included.

        Returns:
            The scalar loss when there are no metrics, else `[loss, *metrics]`; a dict with
            `return_dict=True`.
        """
        steps = sources.steps_arg(steps, "steps")
        fed = sources.is_source(x)
        custom = _steps.overridden(self, "test_step")
        if not fed:
            self._ensure_built(x)
        batch_size = data.positive_int(
            _DEFAULT_BATCH if batch_size is None else batch_size, "batch_size"
        )
        verbose = _resolve_verbose(verbose)
        if not custom:
            self._require_loss("evaluate")
        if fed or custom or steps is not None:
            _parallel.refuse(
                "evaluate on a generator, a PyDataset, steps or a custom test_step", True
            )
            source = sources.source(x, y, sample_weight, batch_size, False, steps, "evaluate")
            cbs = CallbackList(
                list(callbacks or []),
                self,
                {"verbose": verbose, "epochs": 1, "steps": source.epoch_steps},
            )
            logs = _steps.evaluate(self, source, cbs, verbose)
            if return_dict:
                return logs
            if custom:
                return logs if len(logs) != 1 else next(iter(logs.values()))
            return self._listed(logs)
        self._net.sync()
        ds = self._dataset(x, y, sample_weight)
        self._net.check_batch(min(batch_size, ds.size), "evaluation")
        steps_n = math.ceil(ds.size / batch_size)
        bar = Progbar(steps_n, verbose) if verbose else None
        cbs = CallbackList(
            list(callbacks or []), self, {"verbose": verbose, "epochs": 1, "steps": steps_n}
        )
        logs = self._hooked_evaluate(cbs, ds, batch_size, bar)
        return logs if return_dict else self._listed(logs)

    def _listed(self, logs: dict[str, float]) -> Any:
        """evaluate's result without return_dict: the loss, or [loss, *metrics]."""
        if not self._metric_names:
            return logs["loss"]
        return [logs["loss"], *(logs[n] for n in self._metric_names)]

    def predict(
        self,
        x: Any,
        batch_size: Optional[int] = None,
        verbose: Any = "auto",
        steps: Any = None,
        callbacks: Any = None,
    ) -> np.ndarray:
        """Outputs of the model for x, shape `(n, n_outputs)` (a list or dict of arrays for a
        model with several outputs), in batches of `batch_size`."""
        net = self._net
        if (
            verbose == 0
            and type(x) is np.ndarray
            and net is not None
            and net.fast
            and net._seen == _MOVES[0]
            and x.dtype == net.dtype
            and x.ndim == 2
            and x.flags.c_contiguous
            and (batch_size is None or (type(batch_size) is int and batch_size > 0))
            and steps is None
            and not callbacks
        ):
            # The common serving call: already the model's dtype and layout, silent, every layer's
            # weights at home in this model. The core still checks the feature count and
            # emptiness.
            return net.core.predict_array(x, batch_size or _DEFAULT_BATCH)
        steps = sources.steps_arg(steps, "steps")
        batch_size = data.positive_int(
            _DEFAULT_BATCH if batch_size is None else batch_size, "batch_size"
        )
        verbose = _resolve_verbose(verbose)
        fed = sources.is_source(x)
        if fed or steps is not None or _steps.overridden(self, "predict_step"):
            source = sources.source(x, None, None, batch_size, False, steps, "predict")
            cbs = CallbackList(
                list(callbacks or []),
                self,
                {"verbose": verbose, "epochs": 1, "steps": source.epoch_steps},
            )
            return _steps.predict(self, source, cbs, verbose)
        self._ensure_built(x)
        self._net.sync()
        cbs = CallbackList(list(callbacks or []), self, {"verbose": verbose, "epochs": 1})
        if cbs.callbacks:
            return self._hooked_predict(cbs, x, batch_size, verbose)
        if verbose == 0 or len(x) <= batch_size:
            fast = self._fast_input(x)
            if fast is not None:
                if verbose:
                    one = Progbar(1, verbose)
                    out = self._net.core.predict_array(fast, batch_size)
                    one.update(1, {}, finalize=True)
                    return self._split_outputs(out)
                return self._split_outputs(self._net.core.predict_array(fast, batch_size))
        ds = self._dataset(x)
        self._net.check_batch(min(batch_size, ds.size), "prediction")
        steps_n = math.ceil(ds.size / batch_size)
        bar = Progbar(steps_n, verbose) if verbose else None
        progress = None
        if bar is not None and bar.interactive:

            def progress(samples: int, batches: int, loss: float, values: list[float]) -> bool:
                bar.update(batches)
                return True

        out, _ = self._net.core.predict(ds, batch_size, progress)
        if bar is not None:
            bar.update(steps_n, {}, finalize=True)
        return self._split_outputs(out)

    def _hooked_predict(self, cbs: CallbackList, x: Any, batch_size: int, verbose: int) -> Any:
        """predict with the predict hooks of cbs, in batches of the C++ pass."""
        ds = self._dataset(x)
        self._net.check_batch(min(batch_size, ds.size), "prediction")
        steps = math.ceil(ds.size / batch_size)
        cbs.set_params({"verbose": verbose, "epochs": 1, "steps": steps})
        bar = Progbar(steps, verbose) if verbose else None
        batch_mode = cbs.uses_predict_batch_hooks
        cbs.on_predict_begin()
        if batch_mode:
            cbs.on_predict_batch_begin(0)
        progress = self._epoch_progress(cbs if batch_mode else None, bar, steps, "predict")
        out, _ = self._net.core.predict(ds, batch_size, progress, 0.0 if batch_mode else 0.1)
        if bar is not None:
            bar.update(steps, {}, finalize=True)
        cbs.on_predict_end()
        return self._split_outputs(out)

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """One update on one batch; returns its loss (and metrics) computed before the update."""
        return self._batch_result(
            self._step_result(x, y, True, sample_weight, class_weight), return_dict
        )

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Loss (and metrics) of one batch, without updating."""
        return self._batch_result(self._step_result(x, y, False, sample_weight), return_dict)

    def _step_result(
        self, x: Any, y: Any, train: bool, sample_weight: Any = None, class_weight: Any = None
    ) -> Any:
        """The core's result of one batch (train_on_batch or test_on_batch's)."""
        self._ensure_built(x)
        self._require_loss("train_on_batch" if train else "test_on_batch")
        _parallel.refuse("train_on_batch" if train else "test_on_batch", True)
        return self._on_batch(x, y, train, sample_weight, class_weight)

    def _on_batch(
        self, x: Any, y: Any, train: bool, sample_weight: Any = None, class_weight: Any = None
    ) -> Any:
        net = self._net
        net.sync()
        xa = self._fast_input(x)
        if xa is None:
            xa = self._features(x)
        ya = self._targets(y, len(xa))
        wa = data.sample_weights(ya, sample_weight, class_weight, net.dtype)
        net.check_batch(len(xa), "training" if train else "evaluation")
        result = net.core.train_arrays(xa, ya, train, wa)
        if train:
            net.claim()
        return result

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Outputs for one batch, shape `(n, n_outputs)`."""
        self._ensure_built(x)
        self._net.sync()
        fast = self._fast_input(x)
        if fast is None:
            fast = self._features(x)
        return self._split_outputs(self._net.core.predict_array(fast, len(fast)))

    def _fast_input(self, x: Any) -> Optional[np.ndarray]:
        """x itself when it is already what the core reads (no checks or copies needed)."""
        net = self._net
        if (
            type(x) is np.ndarray
            and x.dtype == net.dtype
            and x.ndim == 2
            and net.fast
            and x.shape[1] == net.n_inputs
            and x.shape[0] > 0
            and x.flags.c_contiguous
        ):
            return x
        return None

    def _batch_result(self, r: Any, return_dict: bool) -> Any:
        logs = self._logs(r.loss, r.metrics)
        if return_dict:
            return logs
        if not self._metric_names:
            return logs["loss"]
        return [logs["loss"], *(logs[n] for n in self._metric_names)]
