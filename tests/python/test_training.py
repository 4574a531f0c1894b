"""End-to-end training: XOR, determinism, real data, batch modes."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

# Every test runs once per backend (see conftest.py).
pytestmark = pytest.mark.usefixtures("device")


X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y_XOR = np.array([0, 1, 1, 0], dtype=np.float32)


def _xor_model() -> en.Sequential:
    model = en.Sequential(
        [
            en.Input((2,)),
            en.layers.Dense(8, activation="tanh"),
            en.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=en.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def test_two_layer_network_learns_xor():
    model = _xor_model()
    history = model.fit(X_XOR, Y_XOR, batch_size=4, epochs=300, verbose=0)
    assert history.history["loss"][-1] < 0.05
    assert history.history["accuracy"][-1] == 1.0
    np.testing.assert_array_equal(model.predict(X_XOR, verbose=0).ravel() > 0.5, Y_XOR > 0.5)


def _train(seed: int, threads: int, dropout: float = 0.2) -> list[np.ndarray]:
    en.config.set_num_threads(threads)
    en.utils.set_random_seed(seed)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(700, 40)).astype(np.float32)
    y = rng.integers(0, 5, size=700)
    model = en.Sequential(
        [
            en.Input((40,)),
            en.layers.Dense(256, activation="relu"),
            en.layers.Dropout(dropout),
            en.layers.Dense(128, activation="tanh"),
            en.layers.Dense(5, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=300, epochs=3, verbose=0)
    return model.get_weights()


def test_same_seed_same_weights():
    a, b = _train(7, 1), _train(7, 1)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    c = _train(8, 1)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.cpu_only
def test_thread_count_does_not_change_results():
    a, b = _train(3, 1), _train(3, 2)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_batch_modes_train(batch_size):
    # per-sample SGD (1), mini-batch with a short last batch (7), full batch (len(x)).
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    w = np.array([[1.5], [-2.0], [0.5]], dtype=np.float32)
    y = x @ w + 0.3
    model = en.Sequential([en.Input((3,)), en.layers.Dense(1)])
    model.compile(optimizer=en.optimizers.SGD(0.05 if batch_size else 0.3), loss="mse")
    history = model.fit(x, y, batch_size=batch_size or len(x), epochs=60, verbose=0)
    assert history.history["loss"][-1] < 1e-3
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, atol=0.02)
    np.testing.assert_allclose(bias, [0.3], atol=0.02)


def test_digits_accuracy():
    (xtr, ytr), (xte, yte) = en.datasets.load_digits()
    model = en.Sequential(
        [
            en.Input((64,)),
            en.layers.Dense(64, activation="relu"),
            en.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=en.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(xtr, ytr, batch_size=32, epochs=25, verbose=0)
    _, accuracy = model.evaluate(xte, yte, verbose=0)
    assert accuracy >= 0.95


def test_breast_cancer_accuracy():
    (xtr, ytr), (xte, yte) = en.datasets.load_breast_cancer()
    model = en.Sequential(
        [
            en.Input((30,)),
            en.layers.Dense(16, activation="relu"),
            en.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=en.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(xtr, ytr, batch_size=32, epochs=30, verbose=0)
    _, accuracy = model.evaluate(xte, yte, verbose=0)
    assert accuracy >= 0.95


def test_sklearn_digits_if_available():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = (d.data / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1400], order[1400:]
    model = en.Sequential(
        [
            en.Input((64,)),
            en.layers.Dense(64, activation="relu"),
            en.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[train], d.target[train], epochs=40, verbose=0)
    assert model.evaluate(x[test], d.target[test], verbose=0)[1] >= 0.95


def test_dropout_is_identity_at_inference_and_active_in_training():
    x = np.ones((200, 50), dtype=np.float32)
    model = en.Sequential(
        [
            en.Input((50,)),
            en.layers.Dropout(0.5),
            en.layers.Dense(1, use_bias=False, kernel_initializer="ones"),
        ]
    )
    np.testing.assert_allclose(model.predict(x, verbose=0), 50.0, rtol=1e-6)
    model.compile(optimizer=en.optimizers.SGD(1e-9), loss="mse")
    # In training half the inputs are dropped and the rest doubled: mean output stays ~50,
    # but single outputs vary, so the training loss against 50 is clearly positive.
    loss = model.train_on_batch(x, np.full((200, 1), 50.0, dtype=np.float32))
    assert 10 < loss < 60
    assert model.evaluate(x, np.full((200, 1), 50.0), verbose=0) < 1e-6


def test_float64_models():
    en.config.set_floatx("float64")
    model = _xor_model()
    assert model.get_weights()[0].dtype == np.float64
    model.fit(X_XOR, Y_XOR, batch_size=4, epochs=5, verbose=0)
    assert model.predict(X_XOR, verbose=0).dtype == np.float64


def test_call_with_training_applies_dropout():
    x = np.ones((400, 50), dtype=np.float32)
    model = en.Sequential(
        [
            en.Input((50,)),
            en.layers.Dropout(0.5),
            en.layers.Dense(1, use_bias=False, kernel_initializer="ones"),
        ]
    )
    np.testing.assert_allclose(model(x), 50.0, rtol=1e-6)
    noisy = model(x, training=True)
    # Each output is 2 * (number of the 50 inputs kept): mean 50, spread sqrt(50) * 2 / 2 ~ 7.
    assert abs(float(noisy.mean()) - 50.0) < 2.0
    assert 4.0 < float(noisy.std()) < 10.0
    assert np.allclose(noisy % 2.0, 0.0)
    assert not np.array_equal(noisy, model(x, training=True))  # a fresh mask each call
