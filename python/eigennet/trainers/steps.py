"""Keras's "customising what happens in fit": a Model subclass that overrides `train_step`,
`test_step` or `predict_step` gets them called once per batch by `fit`, `evaluate` and
`predict`, with NumPy batches, callbacks, the progress bar and History as usual.

The same loops serve data that Python hands over batch by batch (a generator, a PyDataset,
arrays with steps_per_epoch: trainers/sources.py), each batch computed in C++. These are the
places where eigennet runs Python per batch: every other epoch is one C++ call.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from eigennet import tape as _tape
from eigennet.callbacks.callback import CallbackList, History
from eigennet.trainers import sources
from eigennet.utils import seeding
from eigennet.utils.progbar import Progbar


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """Keras's `unpack_x_y_sample_weight`: (x, y, sample_weight) from a batch, None where a
    batch does not carry one."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found: {data!r}"
    )


def overridden(model: Any, name: str) -> bool:
    """True when model's class replaces the Trainer's own step `name`."""
    from eigennet.trainers.trainer import Trainer

    return getattr(type(model), name) is not getattr(Trainer, name)


# The default steps (what a subclass reaches with super().train_step(data)) --------------------


def train_step(model: Any, data: Any) -> dict[str, float]:
    """One update with the compiled loss: forward, loss, gradient, optimizer."""
    x, y, sample_weight = unpack_x_y_sample_weight(data)
    if model.optimizer is None:
        raise ValueError("You must call `compile()` before calling `fit()`.")
    with _tape.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(x, y, y_pred, sample_weight)
    variables = model.trainable_weights
    model.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return {"loss": float(loss)}


def test_step(model: Any, data: Any) -> dict[str, float]:
    x, y, sample_weight = unpack_x_y_sample_weight(data)
    return {"loss": float(model.compute_loss(x, y, model(x, training=False), sample_weight))}


def predict_step(model: Any, data: Any) -> Any:
    x, _, _ = unpack_x_y_sample_weight(data)
    return model(x, training=False)


# Loops ----------------------------------------------------------------------------------------


def _floats(logs: Any) -> dict[str, float]:
    if not isinstance(logs, dict):
        raise TypeError(
            f"train_step and test_step must return a dict of logs. Received: {type(logs).__name__}"
        )
    return {str(k): float(v) for k, v in logs.items()}


class _Means:
    """The core's sums over an epoch's batches, so that the logs are the loss and metrics over
    every sample so far (what Keras's loss tracker and stateful metrics report)."""

    def __init__(self) -> None:
        self.sums: Optional[np.ndarray] = None
        self.n = 0

    def add(self, model: Any, result: Any, n: int) -> dict[str, Any]:
        s = np.asarray(result.sums, dtype=np.float64)
        self.sums = s if self.sums is None else self.sums + s
        self.n += n
        model._sync_metrics_from(self.sums, self.n)
        return model._logs_from_sums(self.sums, self.n)


def _batch_logs(
    model: Any, batch: Any, train: bool, means: _Means, class_weight: Any = None
) -> dict[str, float]:
    """One batch through an overridden step (its logs), or the C++ step (running means)."""
    if overridden(model, "train_step" if train else "test_step"):
        return _floats(model.train_step(batch) if train else model.test_step(batch))
    x, y, sample_weight = unpack_x_y_sample_weight(batch)
    if y is None:
        raise ValueError(
            f"{'fit' if train else 'evaluate'}() needs targets: each batch must be (x, y) or "
            f"(x, y, sample_weight). Received a batch of {type(batch).__name__}."
        )
    result = model._step_result(x, y, train, sample_weight, class_weight if train else None)
    return means.add(model, result, sources.count(x))


def fit(
    model: Any,
    source: sources.Source,
    epochs: int,
    initial_epoch: int,
    verbose: int,
    callbacks: Any,
    validate: Optional[Callable[[], dict[str, float]]],
    validate_at: Any = None,
    class_weight: Any = None,
) -> History:
    """fit's loop over batches pulled from Python: data served by a generator or a PyDataset,
    arrays with steps_per_epoch, or any data with an overridden train_step. Epoch logs are the
    running means of the C++ steps, or an overridden step's last logs, as in Keras."""
    steps = source.epoch_steps
    history = History()
    cbs = CallbackList(
        list(callbacks or []) + [history],
        model,
        {"verbose": verbose, "epochs": epochs, "steps": steps},
    )
    rng = np.random.default_rng(seeding.next_seed())
    model.stop_training = False
    cbs.on_train_begin()
    resumed = model.__dict__.pop("_initial_epoch", None)  # BackupAndRestore
    initial_epoch = initial_epoch if resumed is None else resumed
    logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        bar = None
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
            bar = Progbar(steps, verbose)
        means = _Means()
        for b, batch in enumerate(source.epoch(rng)):
            cbs.on_train_batch_begin(b)
            logs = _batch_logs(model, batch, True, means, class_weight)
            cbs.on_train_batch_end(b, logs)
            if bar is not None:
                bar.update(b + 1, logs)
            if model.stop_training:
                break
        if source.taken == 0:
            model.stop_training = True  # nothing left to train on
            break
        if validate is not None and (validate_at is None or validate_at(epoch + 1)):
            logs.update({f"val_{k}": v for k, v in validate().items()})
        if bar is not None:
            bar.update(source.taken, logs, finalize=True)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    model._finalize_variables(epochs)
    cbs.on_train_end(logs)
    model.history = history
    return history


def evaluate(model: Any, source: sources.Source, cbs: Any, verbose: int) -> dict[str, float]:
    """evaluate's loop over batches pulled from Python, with the test hooks."""
    logs: dict[str, float] = {}
    bar = Progbar(source.epoch_steps, verbose) if verbose else None
    means = _Means()
    cbs.on_test_begin()
    for b, batch in enumerate(source.epoch(None)):
        cbs.on_test_batch_begin(b)
        logs = _batch_logs(model, batch, False, means)
        cbs.on_test_batch_end(b, logs)
        if bar is not None:
            bar.update(b + 1, logs)
    if bar is not None:
        bar.update(source.taken, logs, finalize=True)
    cbs.on_test_end(logs)
    return logs


def predict(model: Any, source: sources.Source, cbs: Any, verbose: int) -> Any:
    """predict's loop over batches pulled from Python, with the predict hooks (each batch's
    outputs in its logs, as in Keras)."""
    parts = []
    custom = overridden(model, "predict_step")
    bar = Progbar(source.epoch_steps, verbose) if verbose else None
    cbs.on_predict_begin()
    for b, batch in enumerate(source.epoch(None)):
        cbs.on_predict_batch_begin(b)
        x, _, _ = unpack_x_y_sample_weight(batch)
        parts.append(model.predict_step(batch) if custom else model.predict_on_batch(x))
        cbs.on_predict_batch_end(b, {"outputs": parts[-1]})
        if bar is not None:
            bar.update(b + 1)
    if bar is not None:
        bar.update(source.taken, {}, finalize=True)
    cbs.on_predict_end()
    if not parts:
        raise ValueError("predict() received no batches: the generator or dataset is empty.")

    def join(items: list[Any]) -> Any:
        first = items[0]
        if isinstance(first, dict):
            return {k: join([p[k] for p in items]) for k in first}
        if isinstance(first, (list, tuple)):
            return [join([p[k] for p in items]) for k in range(len(first))]
        return np.concatenate([np.asarray(p) for p in items])

    return join(parts)
