"""bias_regularizer (and every regularised weight) in the core's loss, layer.losses and the
tape, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en


def _model(kernel, bias):
    model = en.Sequential(
        [
            en.Input((4,)),
            en.layers.Dense(3, kernel_regularizer=kernel, bias_regularizer=bias),
        ]
    )
    rng = np.random.default_rng(0)
    model.layers[0].set_weights([rng.normal(size=(4, 3)), rng.normal(size=3)])
    return model


def _penalty(k, b, kernel, bias):
    out = 0.0
    for w, reg in ((k, kernel), (b, bias)):
        if reg is not None:
            out += reg.l1 * np.abs(w).sum() + reg.l2 * (w * w).sum()
    return out


@pytest.mark.parametrize(
    "kernel,bias",
    [
        (None, en.regularizers.L2(0.05)),
        (en.regularizers.L1(0.02), en.regularizers.L1L2(l1=0.01, l2=0.03)),
    ],
)
def test_bias_regularizer_in_loss_step_losses_and_tape(kernel, bias):
    en.config.set_floatx("float64")
    model = _model(kernel, bias)
    k, b = (w.copy() for w in model.layers[0].get_weights())
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 4)), rng.normal(size=(8, 3))
    penalty = _penalty(k, b, kernel, bias)
    assert float(sum(model.losses)) == pytest.approx(penalty, rel=1e-12)
    # One SGD step: mse + penalty, and the bias moves by its gradient, penalty included.
    model.compile(optimizer=en.optimizers.SGD(0.1), loss="mse")
    p = x @ k + b
    mse = ((p - y) ** 2).mean()
    grad_b = 2 * (p - y).sum(axis=0) / p.size
    if bias is not None:
        grad_b = grad_b + bias.l1 * np.sign(b) + 2 * bias.l2 * b
    assert model.train_on_batch(x, y) == pytest.approx(mse + penalty, rel=1e-12)
    np.testing.assert_allclose(model.layers[0].get_weights()[1], b - 0.1 * grad_b, rtol=1e-12)
    # The tape differentiates the penalty too (central differences in the bias).
    loss_fn = en.losses.MeanSquaredError()
    with en.GradientTape() as tape:
        value = loss_fn(y, model(x)) + sum(model.losses)
    _, g_bias = tape.gradient(value, model.trainable_weights)
    bias_var = model.trainable_weights[1]
    base = bias_var.numpy()
    fd = np.zeros_like(base)
    for i in range(base.size):
        for sign in (1, -1):
            w = base.copy()
            w[i] += sign * 1e-6
            bias_var.assign(w)
            total = loss_fn(y, model.predict_on_batch(x)) + float(sum(model.losses))
            fd[i] += sign * total / 2e-6
    bias_var.assign(base)
    np.testing.assert_allclose(g_bias, fd, rtol=1e-6, atol=1e-9)


def test_embedding_regularizer_is_in_layer_losses():
    layer = en.layers.Embedding(5, 2, embeddings_regularizer=en.regularizers.L2(0.1))
    model = en.Sequential([en.Input((3,)), layer, en.layers.Flatten()])
    table = layer.embeddings.numpy()
    assert float(sum(model.losses)) == pytest.approx(0.1 * (table**2).sum(), rel=1e-6)


def test_bias_regularizer_config_round_trip_and_no_bias():
    layer = en.layers.Dense(2, bias_regularizer=en.regularizers.L1(0.3))
    again = en.layers.Dense.from_config(layer.get_config())
    assert isinstance(again.bias_regularizer, en.regularizers.L1)
    assert again.bias_regularizer.l1 == pytest.approx(0.3)
    # Without a bias there is nothing to penalise.
    model = en.Sequential(
        [en.Input((2,)), en.layers.Dense(2, use_bias=False, bias_regularizer="l2")]
    )
    assert model.losses == []
