"""Weight constraints: Keras 3's golden numbers (keras/src/constraints/constraints_test.py), the
formulas by NumPy, and their place in training (after every update, fit and custom loops)."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

C = en.constraints


def _example():
    # constraints_test.py's get_example_array: [-100 .. 100] in (100, 2).
    np.random.seed(3537)
    return np.random.uniform(-100, 100, size=(100, 2)).astype(np.float32)


def test_keras_golden_numbers():
    x = np.array([[0, 0, 0], [1.0, 0, 0], [3, 0, 0], [3, 3, 3]]).T
    target = np.array(
        [[0, 0, 0], [1.0, 0, 0], [2.0, 0, 0], [2.0 / np.sqrt(3), 2.0 / np.sqrt(3), 2 / np.sqrt(3)]]
    ).T
    np.testing.assert_allclose(C.MaxNorm(2.0)(x), target, rtol=1e-6, atol=1e-6)
    w = _example()
    assert (C.NonNeg()(w) >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(C.UnitNorm()(w), axis=0), 1.0, rtol=1e-5)
    norms = np.linalg.norm(C.MinMaxNorm(min_value=0.2, max_value=0.5)(w), axis=0)
    assert np.all(norms >= 0.2) and np.all(norms <= 0.5 + 1e-6)


def test_formulas_against_numpy():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3))
    eps = 1e-7
    for axis in (0, 1, -1):
        n = np.sqrt((w**2).sum(axis=axis, keepdims=True))
        np.testing.assert_allclose(
            C.MaxNorm(1.2, axis=axis)(w), w * np.clip(n, 0, 1.2) / (eps + n), rtol=1e-13
        )
        np.testing.assert_allclose(C.UnitNorm(axis=axis)(w), w / (eps + n), rtol=1e-13)
        want = 0.3 * np.clip(n, 0.5, 0.9) + 0.7 * n
        got = C.MinMaxNorm(0.5, 0.9, rate=0.3, axis=axis)(w)
        np.testing.assert_allclose(got, w * want / (eps + n), rtol=1e-13)
    np.testing.assert_array_equal(C.NonNeg()(w), np.maximum(w, 0))
    assert C.get("max_norm").max_value == 2 and C.get(None) is None
    assert C.deserialize(C.serialize(C.MinMaxNorm(0.1, 0.2))).get_config()["max_value"] == 0.2


def test_applied_after_every_update_in_fit_and_in_custom_loops():
    def build():
        en.utils.set_random_seed(4)
        return en.Sequential(
            [
                en.Input((3,)),
                en.layers.Dense(4, kernel_constraint=C.MaxNorm(0.5), bias_constraint="non_neg"),
                en.layers.Dense(1, kernel_constraint=C.UnitNorm()),
            ]
        )

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    fitted, looped = build(), build()
    fitted.compile(en.optimizers.SGD(0.5), "mse")
    fitted.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    opt = en.optimizers.SGD(0.5)
    for _ in range(2):
        for k in range(2):
            xb, yb = x[k * 8 : (k + 1) * 8], y[k * 8 : (k + 1) * 8]
            with en.GradientTape() as tape:
                loss = en.losses.MeanSquaredError()(yb, looped(xb, training=True))
            grads = tape.gradient(loss, looped.trainable_weights)
            opt.apply_gradients(zip(grads, looped.trainable_weights))
    for a, b in zip(fitted.get_weights(), looped.get_weights()):
        np.testing.assert_array_equal(a, b)
    kernel = fitted.layers[0].kernel.numpy()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-6)
    np.testing.assert_allclose(np.linalg.norm(fitted.layers[1].kernel.numpy(), axis=0), 1, 1e-5)
    # A frozen layer is not constrained (nothing updates it).
    frozen = build()
    frozen.layers[0].trainable = False
    before = frozen.layers[0].kernel.numpy().copy()
    frozen.compile(en.optimizers.SGD(0.5), "mse")
    frozen.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(frozen.layers[0].kernel.numpy(), before)


def test_bad_constraints_are_refused():
    with pytest.raises(ValueError, match="Could not interpret constraint"):
        en.layers.Dense(2, kernel_constraint="positive")
    with pytest.raises(ValueError, match="min_value must be <= max_value"):
        C.MinMaxNorm(2.0, 1.0)
    with pytest.raises(NotImplementedError, match="several axes"):
        C.MaxNorm(axis=[0, 1])
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        en.Sequential([en.Input((3,)), en.layers.Dense(2, kernel_constraint=C.MaxNorm(axis=2))])
    with pytest.raises(ValueError, match="Unknown constraint"):
        en._core.constrain("positive", {}, 0, np.ones(3))
