"""Keras's "customising what happens in fit": a Model subclass that overrides `train_step`,
`test_step` or `predict_step` gets them called once per batch by `fit`, `evaluate` and
`predict`, with NumPy batches, callbacks, the progress bar and History as usual.

This is the one place where eigennet runs Python per batch: every other epoch is one C++ call.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from eigennet import tape as _tape
from eigennet.callbacks.callback import CallbackList, History
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


# Batches --------------------------------------------------------------------------------------


def _rows(value: Any, idx: Any) -> Any:
    """Rows idx of an array, or of each array of a list or dict."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: np.asarray(v)[idx] for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [np.asarray(v)[idx] for v in value]
    return np.asarray(value)[idx]


def _count(value: Any) -> int:
    if isinstance(value, dict):
        value = next(iter(value.values()))
    elif isinstance(value, (list, tuple)):
        value = value[0]
    return len(np.asarray(value))


def _batches(
    x: Any, y: Any, w: Any, batch_size: int, order: Optional[np.ndarray]
) -> Sequence[tuple[Any, ...]]:
    n = _count(x)
    idx = np.arange(n) if order is None else order
    out = []
    for start in range(0, n, batch_size):
        rows = idx[start : start + batch_size]
        batch: tuple[Any, ...] = (_rows(x, rows),)
        if y is not None:
            batch += (_rows(y, rows),)
            if w is not None:
                batch += (np.asarray(w)[rows],)
        out.append(batch)
    return out


def _floats(logs: Any) -> dict[str, float]:
    if not isinstance(logs, dict):
        raise TypeError(
            f"train_step and test_step must return a dict of logs. Received: {type(logs).__name__}"
        )
    return {str(k): float(v) for k, v in logs.items()}


def fit(
    model: Any,
    x: Any,
    y: Any,
    w: Any,
    batch_size: int,
    epochs: int,
    initial_epoch: int,
    shuffle: bool,
    verbose: int,
    callbacks: Any,
    validation: Optional[tuple[Any, ...]],
    val_batch: int,
    validate_at: Any = None,
) -> History:
    """fit's loop around an overridden train_step. Logs of an epoch are its last batch's, as in
    Keras (a step that wants running means computes them)."""
    n = _count(x)
    steps = math.ceil(n / batch_size)
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
        order = rng.permutation(n) if shuffle else None
        for b, batch in enumerate(_batches(x, y, w, batch_size, order)):
            cbs.on_train_batch_begin(b)
            logs = _floats(model.train_step(batch))
            cbs.on_train_batch_end(b, logs)
            if bar is not None:
                bar.update(b + 1, logs)
            if model.stop_training:
                break
        if validation is not None and (validate_at is None or validate_at(epoch + 1)):
            val = model.evaluate(*validation, batch_size=val_batch, verbose=0, return_dict=True)
            logs.update({f"val_{k}": v for k, v in val.items()})
        if bar is not None:
            bar.update(steps, logs, finalize=True)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    model.history = history
    return history


def evaluate(model: Any, x: Any, y: Any, w: Any, batch_size: int, cbs: Any) -> dict[str, float]:
    """evaluate's loop around an overridden test_step, with the test hooks."""
    logs: dict[str, float] = {}
    cbs.on_test_begin()
    for b, batch in enumerate(_batches(x, y, w, batch_size, None)):
        cbs.on_test_batch_begin(b)
        logs = _floats(model.test_step(batch))
        cbs.on_test_batch_end(b, logs)
    cbs.on_test_end(logs)
    return logs


def predict(model: Any, x: Any, batch_size: int, cbs: Any) -> Any:
    """predict's loop around an overridden predict_step, with the predict hooks (each batch's
    outputs in its logs, as in Keras)."""
    parts = []
    cbs.on_predict_begin()
    for b, batch in enumerate(_batches(x, None, None, batch_size, None)):
        cbs.on_predict_batch_begin(b)
        parts.append(model.predict_step(batch))
        cbs.on_predict_batch_end(b, {"outputs": parts[-1]})
    cbs.on_predict_end()

    def join(items: list[Any]) -> Any:
        first = items[0]
        if isinstance(first, dict):
            return {k: join([p[k] for p in items]) for k in first}
        if isinstance(first, (list, tuple)):
            return [join([p[k] for p in items]) for k in range(len(first))]
        return np.concatenate([np.asarray(p) for p in items])

    return join(parts)
