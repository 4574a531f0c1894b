"""compile / fit / evaluate / predict. Each epoch is one C++ call with the GIL released; Python
only runs callbacks and progress output between (or, for batch hooks, after) batches."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from eigennet import losses, metrics, optimizers
from eigennet.callbacks.callback import Callback, CallbackList, History
from eigennet.trainers import data
from eigennet.utils.progbar import Progbar, is_interactive

_DEFAULT_BATCH = 32


def _resolve_verbose(verbose: Any) -> int:
    if verbose == "auto":
        # The progress bar where it can redraw (a terminal or a Jupyter kernel, as the bar
        # itself decides), one line per epoch in logs and pipes.
        return 1 if is_interactive() else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


def _unsupported(kwargs: dict[str, Any], method: str) -> None:
    bad = {k: v for k, v in kwargs.items() if v is not None}
    if bad:
        raise ValueError(f"{method}() does not support these arguments: {sorted(bad)}")


class Trainer:
    """Mixin of Model with Keras's training methods."""

    _net: Any

    def _init_trainer(self) -> None:
        self.optimizer: Optional[optimizers.Optimizer] = None
        self.loss: Optional[losses.Loss] = None
        self.compiled = False
        self.stop_training = False
        self.history: Optional[History] = None
        self._metrics_spec: list[Any] = []
        self._metric_names: list[str] = []

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
            metrics: list of metric names (`"accuracy"`, `"mse"`, ...).

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        _unsupported(
            {"loss_weights": loss_weights, "weighted_metrics": weighted_metrics}, "compile"
        )
        if steps_per_execution != 1:
            raise ValueError("steps_per_execution must be 1: every epoch already runs in C++.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(
                f"Expected `metrics` argument to be a list or tuple. Received: metrics={metrics!r}"
            )
        opt = optimizers.get(optimizer)
        lossobj = losses.get(loss) if loss is not None else None
        previous = (self.optimizer, self.loss, self._metrics_spec, self.compiled)
        self.optimizer, self.loss, self._metrics_spec = opt, lossobj, list(metrics or [])
        self.compiled = True
        if self._net is not None:
            try:
                self._compile_core()
            except Exception:
                self.optimizer, self.loss, self._metrics_spec, self.compiled = previous
                raise

    def _compile_core(self) -> None:
        core = self._net.core
        assert self.optimizer is not None
        loss_name = self.loss.core_name if self.loss is not None else "mean_squared_error"
        resolved = [metrics.resolve(m, loss_name, core.n_outputs) for m in self._metrics_spec]
        core.compile(loss_name, self.optimizer._spec(), [kind for _, kind in resolved])
        self.optimizer._attach(core)
        self._metric_names = [name for name, _ in resolved]

    def _ensure_built(self, x: Any) -> None:
        pass

    def _targets(self, y: Any, n: int) -> np.ndarray:
        """y checked and converted for this model's outputs and loss."""
        net = self._net
        loss = self.loss.core_name if self.loss is not None else ""
        return data.targets(y, n, net.n_outputs, loss, net.dtype)

    def _require_loss(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before calling `{method}()`.")
        if self.loss is None:
            raise ValueError(f"The model was compiled without a loss: `{method}()` needs one.")
        losses.warn_if_one_class(self.loss.core_name, self._net.n_outputs)

    def _logs(self, loss: float, values: Sequence[float], prefix: str = "") -> dict[str, float]:
        logs = {prefix + "loss": float(loss)}
        for name, v in zip(self._metric_names, values):
            logs[prefix + name] = float(v)
        return logs

    def _dataset(self, x: Any, y: Any = None, sample_weight: Any = None) -> Any:
        net = self._net
        xa = data.features(x, net.n_inputs, net.dtype, "x", net.input_shape)
        if y is None:
            return net.core.dataset(xa)
        ya = self._targets(y, len(xa))
        wa = data.sample_weights(ya, sample_weight, None, net.dtype)
        return net.core.dataset(xa, ya, wa)

    # fit ----------------------------------------------------------------------------------
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
            x: inputs, shape `(n, n_features)`.
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

        Returns:
            A `History` whose `.history` maps `loss`, metrics and `val_*` to per-epoch lists.
        """
        _unsupported(
            {"steps_per_epoch": steps_per_epoch, "validation_steps": validation_steps}, "fit"
        )
        if validation_freq != 1:
            raise ValueError("validation_freq must be 1.")
        self._ensure_built(x)
        self._require_loss("fit")
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
        net = self._net
        xa = data.features(x, net.n_inputs, net.dtype, "x", net.input_shape)
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
            split_at = int(len(xa) * (1.0 - validation_split))
            if split_at == 0 or split_at == len(xa):
                raise ValueError(
                    f"validation_split={validation_split} leaves no training or no validation "
                    f"samples out of {len(xa)}."
                )
            val_w = None if wa is None else wa[split_at:]
            val_ds = net.core.dataset(xa[split_at:], ya[split_at:], val_w)
            xa, ya = xa[:split_at], ya[:split_at]
            wa = None if wa is None else wa[:split_at]
        train_ds = net.core.dataset(xa, ya, wa)
        steps = math.ceil(len(xa) / batch_size)

        history = History()
        cbs = CallbackList(
            list(callbacks or []) + [history],
            self,
            {"verbose": verbose, "epochs": epochs, "steps": steps},
        )
        batch_mode = cbs.uses_batch_hooks
        self.stop_training = False
        cbs.on_train_begin()
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
                train_ds, batch_size, bool(shuffle), progress, 0.0 if batch_mode else 0.1
            )
            logs = self._logs(r.loss, r.metrics)
            if val_ds is not None:
                v = net.core.evaluate(val_ds, val_batch)
                logs.update(self._logs(v.loss, v.metrics, "val_"))
            if bar is not None:
                bar.update(r.batches, logs, finalize=True)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = history
        return history

    def _epoch_progress(
        self, cbs: Optional[CallbackList], bar: Optional[Progbar], steps: int
    ) -> Any:
        if cbs is None and (bar is None or not bar.interactive):
            return None

        def progress(samples: int, batches: int, loss: float, values: list[float]) -> bool:
            logs = self._logs(loss, values)
            if cbs is not None:
                cbs.on_train_batch_end(batches - 1, logs)
                if self.stop_training:
                    return False
                if batches < steps:
                    cbs.on_train_batch_begin(batches)
            if bar is not None:
                bar.update(batches, logs)
            return True

        return progress

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
        _unsupported({"steps": steps}, "evaluate")
        self._ensure_built(x)
        self._require_loss("evaluate")
        batch_size = data.positive_int(
            _DEFAULT_BATCH if batch_size is None else batch_size, "batch_size"
        )
        verbose = _resolve_verbose(verbose)
        ds = self._dataset(x, y, sample_weight)
        steps_n = math.ceil(ds.size / batch_size)
        bar = Progbar(steps_n, verbose) if verbose else None
        r = self._net.core.evaluate(ds, batch_size, self._epoch_progress(None, bar, steps_n))
        logs = self._logs(r.loss, r.metrics)
        if bar is not None:
            bar.update(r.batches, logs, finalize=True)
        if return_dict:
            return logs
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
        """Outputs of the model for x, shape `(n, n_outputs)`, in batches of `batch_size`."""
        net = self._net
        if (
            verbose == 0
            and type(x) is np.ndarray
            and net is not None
            and x.dtype == net.dtype
            and x.ndim == 2
            and len(net.input_shape) == 1
            and x.flags.c_contiguous
            and (batch_size is None or (type(batch_size) is int and batch_size > 0))
            and steps is None
        ):
            # The common serving call: already the model's dtype and layout, silent. The core
            # still checks the feature count and emptiness.
            return net.core.predict_array(x, batch_size or _DEFAULT_BATCH)
        _unsupported({"steps": steps}, "predict")
        self._ensure_built(x)
        batch_size = data.positive_int(
            _DEFAULT_BATCH if batch_size is None else batch_size, "batch_size"
        )
        verbose = _resolve_verbose(verbose)
        if verbose == 0 or len(x) <= batch_size:
            fast = self._fast_input(x)
            if fast is not None:
                if verbose:
                    one = Progbar(1, verbose)
                    out = self._net.core.predict_array(fast, batch_size)
                    one.update(1, {}, finalize=True)
                    return out
                return self._net.core.predict_array(fast, batch_size)
        ds = self._dataset(x)
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
        return out

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """One update on one batch; returns its loss (and metrics) computed before the update."""
        self._ensure_built(x)
        self._require_loss("train_on_batch")
        return self._batch_result(
            self._on_batch(x, y, True, sample_weight, class_weight), return_dict
        )

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Loss (and metrics) of one batch, without updating."""
        self._ensure_built(x)
        self._require_loss("test_on_batch")
        return self._batch_result(self._on_batch(x, y, False, sample_weight), return_dict)

    def _on_batch(
        self, x: Any, y: Any, train: bool, sample_weight: Any = None, class_weight: Any = None
    ) -> Any:
        net = self._net
        xa = self._fast_input(x)
        if xa is None:
            xa = data.features(x, net.n_inputs, net.dtype, "x", net.input_shape)
        ya = self._targets(y, len(xa))
        wa = data.sample_weights(ya, sample_weight, class_weight, net.dtype)
        return net.core.train_arrays(xa, ya, train, wa)

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Outputs for one batch, shape `(n, n_outputs)`."""
        self._ensure_built(x)
        fast = self._fast_input(x)
        if fast is None:
            fast = data.features(x, self._net.n_inputs, self._net.dtype, "x", self._net.input_shape)
        return self._net.core.predict_array(fast, len(fast))

    def _fast_input(self, x: Any) -> Optional[np.ndarray]:
        """x itself when it is already what the core reads (no checks or copies needed)."""
        net = self._net
        if (
            type(x) is np.ndarray
            and x.dtype == net.dtype
            and x.ndim == 2
            and len(net.input_shape) == 1
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
