"""Callback semantics, checked against Keras 3's rules in scripted and real runs."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import eigennet as en

# Every test runs once per backend (see conftest.py).
pytestmark = pytest.mark.usefixtures("device")


def _model() -> en.Sequential:
    model = en.Sequential([en.Input((3,)), en.layers.Dense(2), en.layers.Dense(1)])
    model.compile(optimizer=en.optimizers.SGD(0.01), loss="mse")
    return model


def _run(
    cb: en.callbacks.Callback, model: en.Sequential, values: list[float], monitor: str = "val_loss"
) -> int:
    """Feeds scripted epoch logs; weights are all equal to the epoch index during epoch i.
    Returns the number of epochs run."""
    cb.set_model(model)
    model.stop_training = False
    cb.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        cb.on_epoch_end(epoch, {monitor: value})
        epochs += 1
        if model.stop_training:
            break
    cb.on_train_end()
    return epochs


@pytest.mark.parametrize(
    "values, patience, expected_epochs",
    [
        ([1.0, 0.9, 0.8, 0.7], 0, 4),  # always improving: never stops
        ([1.0, 1.1, 0.5], 0, 2),  # patience 0 stops at the first non-improvement
        ([1.0, 1.1, 1.2, 0.5, 0.4], 2, 3),  # two epochs without improvement
        ([1.0, 1.1, 0.9, 1.0, 1.0, 1.0], 2, 5),  # improvement resets wait
    ],
)
def test_early_stopping_patience(values, patience, expected_epochs):
    es = en.callbacks.EarlyStopping(patience=patience)
    assert _run(es, _model(), values) == expected_epochs


def test_early_stopping_min_delta_and_mode_max():
    es = en.callbacks.EarlyStopping(monitor="val_accuracy", min_delta=0.05, patience=1)
    # 0.52 is within min_delta of 0.5: no improvement, and patience 1 stops at epoch index 1.
    assert _run(es, _model(), [0.5, 0.52, 0.53, 0.9], "val_accuracy") == 2
    assert es.stopped_epoch == 1
    es = en.callbacks.EarlyStopping(monitor="val_accuracy", min_delta=0.01, patience=1)
    assert _run(es, _model(), [0.5, 0.52, 0.55, 0.9], "val_accuracy") == 4


def test_early_stopping_baseline():
    # Improvements that do not beat the baseline do not reset the wait counter, so the first
    # non-improving epoch after `patience` epochs stops training.
    values = [1.0, 0.9, 0.95, 0.97, 0.99, 1.0]
    es = en.callbacks.EarlyStopping(patience=2, baseline=0.5)
    assert _run(es, _model(), values) == 3
    es = en.callbacks.EarlyStopping(patience=2)
    assert _run(es, _model(), values) == 4
    # Steady improvements never stop, baseline or not (Keras returns before the check).
    es = en.callbacks.EarlyStopping(patience=1, baseline=0.1)
    assert _run(es, _model(), [1.0, 0.9, 0.8, 0.7]) == 4


def test_early_stopping_start_from_epoch():
    es = en.callbacks.EarlyStopping(patience=0, start_from_epoch=3)
    # Epochs 0-2 are ignored even though they get worse.
    assert _run(es, _model(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == 5


def test_early_stopping_restores_best_weights():
    model = _model()
    es = en.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    assert _run(es, model, [1.0, 0.4, 0.6, 0.7, 0.1]) == 4
    assert es.best_epoch == 1
    for w in model.get_weights():
        np.testing.assert_array_equal(w, 1.0)


def test_early_stopping_restores_best_even_without_stopping():
    model = _model()
    es = en.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    assert _run(es, model, [1.0, 0.2, 0.6]) == 3
    for w in model.get_weights():
        np.testing.assert_array_equal(w, 1.0)


def test_early_stopping_in_fit_stops_a_diverging_run():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = en.Sequential([en.Input((3,)), en.layers.Dense(1)])
    model.compile(optimizer=en.optimizers.SGD(1.5), loss="mse")  # diverges
    es = en.callbacks.EarlyStopping(monitor="loss", patience=1)
    history = model.fit(x, y, batch_size=64, epochs=50, callbacks=[es], verbose=0)
    assert len(history.history["loss"]) < 50
    assert es.stopped_epoch == len(history.history["loss"]) - 1


def test_history_has_val_metrics_and_epochs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = en.Sequential([en.Input((3,)), en.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, validation_split=0.2, verbose=0, initial_epoch=1)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.epoch == [1, 2]
    assert model.history is h


def test_validation_split_takes_last_samples():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.float32).reshape(10, 1)
    model = en.Sequential([en.Input((2,)), en.layers.Dense(1)])
    model.compile(optimizer=en.optimizers.SGD(1e-12), loss="mse")
    h = model.fit(x, y, epochs=1, validation_split=0.3, shuffle=True, verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(x[7:], y[7:], verbose=0))


def test_batch_hooks_and_stop_training():
    seen: list[tuple[str, int]] = []

    class Recorder(en.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("end", batch))
            assert "loss" in logs
            if batch == 2:
                self.model.stop_training = True

    x = np.zeros((10, 3), dtype=np.float32)
    model = _model()
    h = model.fit(x, np.zeros((10, 1)), batch_size=2, epochs=3, callbacks=[Recorder()], verbose=0)
    assert seen == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1), ("begin", 2), ("end", 2)]
    assert len(h.history["loss"]) == 1


def test_terminate_on_nan_stops_at_once(capsys):
    x = np.ones((40, 3), dtype=np.float32) * 1e20
    model = en.Sequential([en.Input((3,)), en.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer=en.optimizers.SGD(1.0), loss="mse")
    h = model.fit(
        x, x[:, :1], batch_size=4, epochs=5, verbose=0, callbacks=[en.callbacks.TerminateOnNaN()]
    )
    assert len(h.history["loss"]) == 1
    assert not math.isfinite(h.history["loss"][0])
    assert "Invalid loss" in capsys.readouterr().out


def test_nan_loss_without_terminate_keeps_training():
    x = np.ones((8, 3), dtype=np.float32) * 1e20
    model = en.Sequential([en.Input((3,)), en.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer=en.optimizers.SGD(1.0), loss="mse")
    h = model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3
    assert not math.isfinite(h.history["loss"][-1])


def test_learning_rate_scheduler_and_lambda():
    lrs = []
    model = _model()
    sched = en.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    rec = en.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: lrs.append(model.optimizer.learning_rate)
    )
    h = model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=3, callbacks=[sched, rec], verbose=0)
    np.testing.assert_allclose(lrs, [0.1, 0.05, 0.1 / 3])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.05, 0.1 / 3])


def test_reduce_lr_on_plateau():
    model = _model()
    cb = en.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=0.5, patience=1, cooldown=2, min_lr=0.002
    )
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for epoch, v in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        cb.on_epoch_end(epoch, {"val_loss": v})
        lrs.append(model.optimizer.learning_rate)
    # As in Keras the cooldown counter is decremented before the check, so cooldown=2 pauses
    # one epoch: epoch 1 -> 0.005, epoch 3 -> 0.0025, epoch 5 -> min_lr 0.002.
    np.testing.assert_allclose(lrs, [0.01, 0.005, 0.005, 0.0025, 0.0025, 0.002, 0.002])


def test_model_checkpoint_best_only(tmp_path):
    model = _model()
    path = str(tmp_path / "best-{epoch:02d}.keras")
    cb = en.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    _run(cb, model, [1.0, 0.5, 0.7, 0.3])
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["best-01.keras", "best-02.keras", "best-04.keras"]
    restored = en.models.load_model(tmp_path / "best-04.keras")
    for w in restored.get_weights():
        np.testing.assert_array_equal(w, 3.0)


def test_model_checkpoint_weights_only(tmp_path):
    model = _model()
    cb = en.callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)
    _run(cb, model, [1.0, 2.0])
    other = _model()
    other.load_weights(tmp_path / "w.weights.h5")
    for w in other.get_weights():
        np.testing.assert_array_equal(w, 1.0)
    with pytest.raises(ValueError, match="weights.h5"):
        en.callbacks.ModelCheckpoint(str(tmp_path / "w.keras"), save_weights_only=True)


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(
        np.ones((4, 3)),
        np.ones((4, 1)),
        epochs=2,
        verbose=0,
        callbacks=[en.callbacks.CSVLogger(str(path))],
    )
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert float(rows[1]["loss"]) == pytest.approx(model.history.history["loss"][1])
