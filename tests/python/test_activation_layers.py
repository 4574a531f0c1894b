"""relu's, leaky_relu's and elu's arguments (functions and the ReLU, LeakyReLU, ELU, Softmax
layers) and activity_regularizer: Keras 3's golden numbers, NumPy references, and real Keras
(3.15, torch backend) for training, evaluation and files."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import eigennet as en
from eigennet import activations, layers

X = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


def relu_reference(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's formula, written with NumPy."""
    y = np.where(x > threshold, x, 0.0) if threshold else np.maximum(x, 0.0)
    if max_value is not None:
        y = np.clip(y, 0.0, max_value)
    return y - negative_slope * np.maximum(threshold - x, 0.0)


def test_keras_golden_numbers_of_the_functions_and_layers():
    # activations.relu's docstring and layers/activations/relu_test.py.
    np.testing.assert_allclose(activations.relu(X), [0, 0, 0, 5, 10])
    np.testing.assert_allclose(activations.relu(X, negative_slope=0.5), [-5, -2.5, 0, 5, 10])
    np.testing.assert_allclose(activations.relu(X, max_value=5.0), [0, 0, 0, 5, 5])
    np.testing.assert_allclose(activations.relu(X, threshold=5.0), [0, 0, 0, 0, 10])
    layer = layers.ReLU(max_value=10, negative_slope=0.5)
    np.testing.assert_allclose(layer(X[None]), [[-5, -2.5, 0, 5, 10]])
    np.testing.assert_allclose(layers.ReLU(max_value=10)(X[None]), [[0, 0, 0, 5, 10]])
    threshold = layers.ReLU(max_value=8, negative_slope=0.0, threshold=5)
    np.testing.assert_allclose(threshold(np.array([[6.0, 7.0, 0.0, 5, 10]])), [[6, 7, 0, 0, 8]])
    np.testing.assert_allclose(activations.leaky_relu(X), [-2, -1, 0, 5, 10])
    np.testing.assert_allclose(layers.LeakyReLU()(X[None]), [[-3, -1.5, 0, 5, 10]])
    np.testing.assert_allclose(activations.elu([-1.0], alpha=2.0), [2 * np.expm1(-1.0)])
    np.testing.assert_allclose(
        layers.ELU(alpha=0.5)(X[None]), [0.5 * np.expm1(np.minimum(X, 0)) + np.maximum(X, 0)]
    )
    soft = layers.Softmax()(np.array([[0.0, np.log(2.0), np.log(5.0)]]))
    np.testing.assert_allclose(soft, [[1 / 8, 2 / 8, 5 / 8]])


@pytest.mark.parametrize(
    "args",
    [
        {"negative_slope": 0.3},
        {"max_value": 2.5},
        {"threshold": 0.4},
        {"negative_slope": 0.1, "max_value": 3.0, "threshold": 0.5},
        {"negative_slope": 1.0, "threshold": -0.5},
        {"max_value": 1.0, "threshold": -0.5},
    ],
)
def test_relu_against_numpy_in_both_precisions(args):
    x = np.random.default_rng(0).normal(0, 2, (40, 3))
    want = relu_reference(x, **args)
    np.testing.assert_allclose(activations.relu(x, **args), want, rtol=1e-15)
    got32 = activations.relu(x.astype(np.float32), **args)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-6, atol=1e-6)


def test_bad_arguments_are_refused_in_keras_words():
    with pytest.raises(ValueError, match="max_value of a ReLU layer cannot be a negative value"):
        layers.ReLU(max_value=-10, negative_slope=1, threshold=0.5)
    with pytest.raises(ValueError, match="negative_slope of a ReLU layer cannot be None or a"):
        layers.ReLU(max_value=10, negative_slope=-10)
    with pytest.raises(ValueError, match="threshold of a ReLU layer cannot be None or a"):
        layers.ReLU(threshold=-10)
    with pytest.raises(ValueError, match="Leaky ReLU layer cannot be None or negative"):
        layers.LeakyReLU(negative_slope=-1)
    with pytest.raises(ValueError, match="finite"):
        layers.ELU(alpha=float("nan"))
    with pytest.raises(NotImplementedError, match="axis"):
        layers.Softmax(axis=0)
    with pytest.raises(ValueError, match="negative_slope"):
        activations.relu(X, negative_slope=float("inf"))
    with pytest.raises(ValueError, match="takes no argument alpha"):
        en._core.activation("sigmoid", X, alpha=2.0)
    with pytest.warns(UserWarning, match="alpha"):
        assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1
    with pytest.raises(ValueError, match="Unknown regularizer"):
        layers.Dense(2, activity_regularizer="l3")


def _weights(model, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()]


def _activation_model(lib):
    L = lib.layers
    inp = lib.Input((4,))
    h = L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)(L.Dense(6)(inp))
    h = L.LeakyReLU(negative_slope=0.25)(L.Dense(5)(h))
    h = L.ELU(alpha=0.7)(L.Dense(5)(h))
    return lib.Model(inp, L.Softmax()(L.Dense(3)(h)))


def test_activation_layers_train_and_load_as_in_keras(tmp_path):
    keras = keras_or_skip()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]
    ours, theirs = _activation_model(en), _activation_model(keras)
    w = _weights(ours, 4)
    ours.set_weights(w)
    theirs.set_weights(w)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=2e-6)
    for model, lib in ((ours, en), (theirs, keras)):
        model.compile(lib.optimizers.SGD(0.5), "categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), atol=2e-5, rtol=1e-4)
    ours.save(tmp_path / "e.keras")
    theirs.save(tmp_path / "k.keras")
    from_ours = keras.models.load_model(tmp_path / "e.keras")
    from_theirs = en.models.load_model(tmp_path / "k.keras")
    assert from_theirs.layers[2].max_value == 1.5 and from_theirs.layers[2].threshold == 0.2
    np.testing.assert_allclose(
        from_ours.predict(x, verbose=0), ours.predict(x, verbose=0), atol=2e-6
    )
    np.testing.assert_allclose(
        from_theirs.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=2e-6
    )
    assert from_theirs.layers[6].alpha == 0.7 and from_ours.layers[6].alpha == 0.7


def test_activation_layers_export_to_onnx_and_c(tmp_path):
    from test_export import check_both

    model = _activation_model(en)
    model.set_weights(_weights(model, 5))
    x = np.random.default_rng(6).normal(0, 2, (7, 4)).astype(np.float32)
    check_both(model, [x], tmp_path)
    for k, args in enumerate(
        ({"threshold": 0.3}, {"max_value": 0.8}, {"negative_slope": 0.2, "threshold": 0.1})
    ):
        m = en.Sequential([en.Input((4,)), layers.Dense(5), layers.ReLU(**args)])
        m.set_weights(_weights(m, 7))
        (tmp_path / str(k)).mkdir()  # a library of its own (ctypes keeps one per path)
        check_both(m, [x], tmp_path / str(k))


def _activity_model(lib):
    L, R = lib.layers, lib.regularizers
    inp = lib.Input((5,))
    h = L.Dense(6, activation="tanh", activity_regularizer=R.L1L2(l1=0.01, l2=0.02))(inp)
    h = L.Dropout(0.0)(h)
    out = L.Dense(2, activation="sigmoid", activity_regularizer=R.L2(0.05))(h)
    return lib.Model(inp, out)


def test_activity_regularizer_trains_and_evaluates_as_in_keras(tmp_path):
    keras = keras_or_skip()
    rng = np.random.default_rng(8)
    x = rng.normal(size=(22, 5)).astype(np.float32)  # a partial last batch of 6
    y = (rng.random((22, 2)) > 0.5).astype(np.float32)
    sw = rng.random(22).astype(np.float32)
    ours, theirs = _activity_model(en), _activity_model(keras)
    w = _weights(ours, 9)
    ours.set_weights(w)
    theirs.set_weights(w)
    for model, lib in ((ours, en), (theirs, keras)):
        model.compile(lib.optimizers.SGD(0.3), "binary_crossentropy")
    # evaluate: Keras adds R(output) / batch of every call to the loss.
    e_ours = ours.evaluate(x, y, batch_size=8, verbose=0)
    e_theirs = theirs.evaluate(x, y, batch_size=8, verbose=0)
    np.testing.assert_allclose(e_ours, e_theirs, rtol=1e-5)
    h_ours = ours.fit(x, y, sample_weight=sw, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h_theirs = theirs.fit(x, y, sample_weight=sw, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=2e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), atol=2e-6, rtol=1e-5)
    one_ours = ours.train_on_batch(x[:5], y[:5])
    one_theirs = theirs.train_on_batch(x[:5], y[:5])
    np.testing.assert_allclose(one_ours, one_theirs, rtol=2e-5)
    # Files carry the regularizers both ways.
    ours.save(tmp_path / "e.keras")
    theirs.save(tmp_path / "k.keras")
    k_back = keras.models.load_model(tmp_path / "e.keras")
    e_back = en.models.load_model(tmp_path / "k.keras")
    assert e_back.layers[1].activity_regularizer.l2 == pytest.approx(0.02)
    np.testing.assert_allclose(
        k_back.evaluate(x, y, verbose=0), e_back.evaluate(x, y, verbose=0), rtol=2e-5
    )


def test_activity_penalty_is_the_numpy_formula_in_fit_and_custom_loops():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(10, 3))
    y = rng.normal(size=(10, 2))
    en.config.set_floatx("float64")
    try:
        model = en.Sequential(
            [en.Input((3,)), layers.Dense(2, activity_regularizer=en.regularizers.L1L2(0.1, 0.3))]
        )
        model.compile("sgd", "mse")
        k, b = model.get_weights()
        out = x @ k + b
        penalty = (0.1 * np.abs(out).sum() + 0.3 * (out**2).sum()) / 10
        want = np.mean((out - y) ** 2) + penalty
        assert model.evaluate(x, y, batch_size=10, verbose=0) == pytest.approx(want, rel=1e-12)
        # A custom loop: model.losses holds the penalty of the recorded call, and its gradient
        # is the NumPy formula's; the step equals train_on_batch's.
        assert model.losses == []  # no call recorded yet
        with en.GradientTape() as tape:
            pred = model(x, training=True)
            loss = en.losses.MeanSquaredError()(y, pred) + sum(model.losses)
        assert len(model.losses) == 1 and float(model.losses[0]) == pytest.approx(penalty, 1e-12)
        assert float(loss) == pytest.approx(want, rel=1e-12)
        d_out = 2 * (out - y) / out.size + (0.1 * np.sign(out) + 0.6 * out) / 10
        gk, gb = tape.gradient(loss, model.trainable_weights)
        np.testing.assert_allclose(gk, x.T @ d_out, rtol=1e-12)
        np.testing.assert_allclose(gb, d_out.sum(0), rtol=1e-12)
        with en.GradientTape() as tape:
            only = sum(model.layers[0].losses) * 3.0
        g_only = tape.gradient(only, model.trainable_weights)
        d_pen = 3.0 * (0.1 * np.sign(out) + 0.6 * out) / 10
        np.testing.assert_allclose(g_only[0], x.T @ d_pen, rtol=1e-12)
        model.optimizer.apply_gradients(zip([gk, gb], model.trainable_weights))
        looped = model.get_weights()
        model.set_weights([k, b])
        model.train_on_batch(x, y)
        for a, c in zip(model.get_weights(), looped):
            np.testing.assert_array_equal(a, c)
        assert model.layers[0].get_config()["activity_regularizer"]["class_name"] == "L1L2"
    finally:
        en.config.set_floatx("float32")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_activity_losses_in_custom_loops_match_real_keras():
    # model.losses, layer.losses and compute_loss on a recorded call, with a layer applied twice,
    # and their gradients, against Keras 3 (torch) on the same weights.
    keras = keras_or_skip()
    import torch

    def build(lib):
        L, R = lib.layers, lib.regularizers
        inp = lib.Input((4,))
        shared = L.Dense(4, activation="tanh", activity_regularizer=R.L1L2(0.01, 0.02))
        h = shared(shared(inp))
        h = L.Dense(5, kernel_regularizer=R.L2(0.03), activity_regularizer=R.L1(0.04))(h)
        return lib.Model(inp, L.Dense(2)(h))

    rng = np.random.default_rng(11)
    x = rng.normal(size=(12, 4)).astype(np.float32)
    y = rng.normal(size=(12, 2)).astype(np.float32)
    ours, theirs = build(en), build(keras)
    theirs.set_weights(ours.get_weights())
    for model, lib in ((ours, en), (theirs, keras)):
        model.compile(lib.optimizers.SGD(0.1), "mse")
    ours(x[:3], training=True)  # an earlier recorded call: the last one's penalties replace it
    with en.GradientTape() as tape:
        tape_out = ours(x, training=True)
        total = ours.compute_loss(x, y, tape_out)
    grads = tape.gradient(total, ours.trainable_weights)
    k_out = theirs(torch.tensor(x), training=True)
    k_total = theirs.compute_loss(torch.tensor(x), torch.tensor(y), k_out)
    k_total.backward()
    assert [float(v) for v in ours.losses] == pytest.approx(
        [float(v.detach()) for v in theirs.losses], rel=1e-5
    )
    assert len(ours.layers[1].losses) == 2  # one per application
    assert [float(v) for v in ours.layers[1].losses] == pytest.approx(
        [float(v.detach()) for v in theirs.layers[1].losses], rel=1e-5
    )
    assert float(total) == pytest.approx(float(k_total.detach()), rel=1e-5)
    for g, v in zip(grads, theirs.trainable_weights):
        np.testing.assert_allclose(g, v.value.grad.numpy(), rtol=1e-4, atol=1e-6)
