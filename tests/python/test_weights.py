"""sample_weight and class_weight with Keras's semantics: the loss is Σ w_i l_i / batch, the
gradient is weighted alike, metrics stay unweighted."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

# Every test runs once per backend (see conftest.py).
pytestmark = pytest.mark.usefixtures("device")


def _data(n: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = rng.integers(0, 3, size=n)
    w = rng.uniform(0.0, 2.0, size=n)
    return x, y, w


def _model():
    en.config.set_floatx("float64")
    model = en.Sequential([en.Input((4,)), en.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer=en.optimizers.SGD(0.5),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_weighted_step_matches_numpy():
    x, y, w = _data()
    model = _model()
    kernel, bias = model.get_weights()
    z = x @ kernel + bias
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    losses = -np.log(p[np.arange(len(y)), y])
    dz = p.copy()
    dz[np.arange(len(y)), y] -= 1
    dz *= w[:, None] / len(y)
    loss, accuracy = model.train_on_batch(x, y, sample_weight=w)
    assert loss == pytest.approx(np.sum(w * losses) / len(y), rel=1e-12)
    assert accuracy == pytest.approx(np.mean(p.argmax(1) == y))  # unweighted
    new_kernel, new_bias = model.get_weights()
    np.testing.assert_allclose(new_kernel, kernel - 0.5 * x.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(new_bias, bias - 0.5 * dz.sum(0), rtol=1e-12)


def test_zero_weights_leave_the_model_unchanged_and_scaling_scales_the_loss():
    x, y, _ = _data()
    model = _model()
    before = model.get_weights()
    assert model.train_on_batch(x, y, sample_weight=np.zeros(len(y)))[0] == 0.0
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    plain = model.evaluate(x, y, verbose=0)[0]
    assert model.evaluate(x, y, sample_weight=np.full(len(y), 3.0), verbose=0)[0] == (
        pytest.approx(3 * plain)
    )


def test_class_weight_equals_the_matching_sample_weight():
    x, y, _ = _data(60)
    class_weight = {0: 0.5, 2: 4.0}  # class 1 is missing: weight 1
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    ha = a.fit(x, y, batch_size=8, epochs=2, shuffle=False, class_weight=class_weight, verbose=0)
    sw = np.array([class_weight.get(int(k), 1.0) for k in y])
    hb = b.fit(x, y, batch_size=8, epochs=2, shuffle=False, sample_weight=sw, verbose=0)
    assert ha.history["loss"] == pytest.approx(hb.history["loss"], rel=1e-12)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12)
    onehot = en.Sequential([en.Input((4,)), en.layers.Dense(3, activation="softmax")])
    onehot.compile(optimizer="sgd", loss="categorical_crossentropy")
    onehot.fit(x, en.utils.to_categorical(y, 3), class_weight=class_weight, verbose=0)


def test_weights_follow_validation_split_and_shuffle():
    x, y, w = _data(40)
    model = _model()
    history = model.fit(x, y, sample_weight=w, validation_split=0.25, epochs=1, verbose=0)
    expected = model.evaluate(x[30:], y[30:], sample_weight=w[30:], verbose=0)[0]
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-12)
    shuffled = _model()
    shuffled.fit(x, y, sample_weight=w, batch_size=7, epochs=3, verbose=0)  # gathers weights
    assert np.all(np.isfinite(shuffled.get_weights()[0]))
    val = model.fit(x, y, validation_data=(x[:5], y[:5], w[:5]), epochs=1, verbose=0)
    assert val.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[:5], y[:5], sample_weight=w[:5], verbose=0)[0], rel=1e-12
    )
