"""The open core (issue 12): layers that own their weights, graph models, frozen layers, and the
new layers, each against a NumPy reference of its forward pass and of one SGD step (float64),
Keras 3's own numbers, and a save/load round trip."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import eigennet as en

L = en.layers
DATA = Path(__file__).parent / "data"


@pytest.fixture
def f64():
    en.config.set_floatx("float64")
    en.utils.set_random_seed(3)
    yield
    en.config.set_floatx("float32")


def _sgd_step(model, x, y, lr=0.1, loss="mse", **compile_kwargs):
    model.compile(optimizer=en.optimizers.SGD(learning_rate=lr), loss=loss, **compile_kwargs)
    before = model.get_weights()
    model.fit(
        x,
        y,
        batch_size=len(y) if not isinstance(y, (list, dict)) else 8,
        epochs=1,
        shuffle=False,
        verbose=0,
    )
    return before, model.get_weights()


def _rng(seed=0):
    return np.random.default_rng(seed)


# BatchNormalization --------------------------------------------------------------------------
def _bn_reference(x, t, W1, b1, g, be, W2, b2, eps=1e-3):
    """Forward and gradients of MSE(Dense(BN(Dense(x)))) with batch statistics."""
    n = len(x)
    z = x @ W1 + b1
    mu, var = z.mean(0), z.var(0)
    inv = 1 / np.sqrt(var + eps)
    xh = (z - mu) * inv
    yb = g * xh + be
    out = yb @ W2 + b2
    dout = 2 * (out - t) / out.size
    dW2, db2 = yb.T @ dout, dout.sum(0)
    dy = dout @ W2.T
    dg, dbe = (dy * xh).sum(0), dy.sum(0)
    dxh = dy * g
    dz = inv / n * (n * dxh - dxh.sum(0) - xh * (dxh * xh).sum(0))
    return out, [x.T @ dz, dz.sum(0), dg, dbe, dW2, db2], mu, var


def test_batch_normalization_forward_and_sgd_step_match_numpy(f64):
    r = _rng(1)
    x, t = r.normal(2, 3, (8, 3)), r.normal(size=(8, 2))
    bn = L.BatchNormalization()
    model = en.Sequential([en.Input((3,)), L.Dense(4), bn, L.Dense(2)])
    w = [r.normal(size=a.shape) for a in model.get_weights()]
    w[4], w[5] = np.zeros(4), np.ones(4)  # moving mean, moving variance
    model.set_weights(w)
    W1, b1, g, be, _, _, W2, b2 = w
    out, grads, mu, var = _bn_reference(x, t, W1, b1, g, be, W2, b2)
    before, after = _sgd_step(model, x, t, lr=0.1)
    params = [0, 1, 2, 3, 6, 7]
    for k, grad in zip(params, grads):
        np.testing.assert_allclose(after[k], before[k] - 0.1 * grad, rtol=1e-10, atol=1e-12)
    # Keras: moving = 0.99 * moving + 0.01 * batch statistic (biased variance).
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * mu, rtol=1e-10)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * var, rtol=1e-10)
    # Inference uses the moving statistics, epsilon inside the square root.
    W1, b1, g, be, mm, mv, W2, b2 = model.get_weights()
    z = x @ W1 + b1
    expected = (g * (z - mm) / np.sqrt(mv + 1e-3) + be) @ W2 + b2
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-10)


def test_batch_normalization_keras_correctness_and_trainable_behaviour():
    # Keras's test_correctness: momentum 0, three training calls normalise to mean 0, std 1 and
    # leave moving statistics of about 0 and 1.
    x = _rng(2).normal(5.0, 10.0, (5, 6))
    layer = L.BatchNormalization(momentum=0.0)
    out = x
    for _ in range(3):
        out = layer(out, training=True)
    out = (out - layer.beta.numpy()) / layer.gamma.numpy()
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-3)
    np.testing.assert_allclose(out.std(0), 1.0, atol=1e-3)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.0, atol=1e-3)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 1.0, atol=1e-3)
    # Since momentum is zero, inference after a training call matches it.
    training_out = layer(x, training=True)
    np.testing.assert_allclose(layer(x, training=False), training_out, rtol=1e-5, atol=1e-5)
    # Keras's test_trainable_behavior: frozen, it normalises with its moving statistics even
    # when training (here 0 and 1 with epsilon 1e-7: the identity).
    frozen = L.BatchNormalization(momentum=0.8, epsilon=1e-7)
    frozen.build((1, 3))
    frozen.trainable = False
    assert (len(frozen.weights), len(frozen.trainable_weights)) == (4, 0)
    assert len(frozen.non_trainable_weights) == 4
    xs = _rng(3).normal(5.0, 10.0, (200, 3)).astype("float32")
    np.testing.assert_allclose(frozen(xs, training=True), xs, rtol=1e-5)
    frozen.trainable = True
    assert len(frozen.trainable_weights) == 2 and len(frozen.non_trainable_weights) == 2
    with pytest.raises(ValueError, match="`momentum` must be"):
        L.BatchNormalization(momentum=1.5)


# LayerNormalization --------------------------------------------------------------------------
def test_layer_normalization_keras_output_and_sgd_step(f64):
    # Keras's test_output: beta and gamma of ones on arange(5).
    layer = L.LayerNormalization(beta_initializer="ones", gamma_initializer="ones")
    out = layer(np.arange(5.0)[None, :])
    np.testing.assert_allclose(out, [[-0.41386, 0.29307, 1.0, 1.70693, 2.41386]], atol=1e-5)
    r = _rng(4)
    x, t = r.normal(size=(6, 4)), r.normal(size=(6, 1))
    model = en.Sequential([en.Input((4,)), L.LayerNormalization(), L.Dense(1)])
    w = [r.normal(size=a.shape) for a in model.get_weights()]
    model.set_weights(w)
    g, be, W, b = w
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    inv = 1 / np.sqrt(var + 1e-3)
    xh = (x - mu) * inv
    yl = g * xh + be
    out = yl @ W + b
    np.testing.assert_allclose(model.predict(x, verbose=0), out, rtol=1e-10)
    dout = 2 * (out - t) / out.size
    dy = dout @ W.T
    grads = [(dy * xh).sum(0), dy.sum(0), yl.T @ dout, dout.sum(0)]
    before, after = _sgd_step(model, x, t, lr=0.05)
    for k in range(4):
        np.testing.assert_allclose(after[k], before[k] - 0.05 * grads[k], rtol=1e-10, atol=1e-13)


# Normalization -------------------------------------------------------------------------------
def test_normalization_adapt_forward_and_step(f64):
    r = _rng(5)
    data = r.normal([1.0, -2.0, 30.0], [0.5, 3.0, 10.0], (50, 3))
    data[:, 0] = 4.0  # a constant feature: max(sqrt(0), 1e-7) keeps it finite
    norm = L.Normalization()
    norm.adapt(data)
    model = en.Sequential([en.Input((3,)), norm, L.Dense(1)])
    np.testing.assert_allclose(norm.mean.numpy(), data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.variance.numpy(), data.var(0), rtol=1e-12)
    x, t = data[:7] + r.normal(size=(7, 3)), r.normal(size=(7, 1))
    xn = (x - data.mean(0)) / np.maximum(np.sqrt(data.var(0)), 1e-7)
    W, b = model.layers[1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), xn @ W + b, rtol=1e-10)
    dout = 2 * (xn @ W + b - t) / len(t)
    before, after = _sgd_step(model, x, t, lr=0.01)
    np.testing.assert_allclose(after[0], before[0], rtol=0)  # state: never optimised
    np.testing.assert_allclose(after[2], before[2] - 0.01 * xn.T @ dout, rtol=1e-10)
    given = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])
    np.testing.assert_allclose(given(np.array([[3.0, 8.0]])), [[1.0, 2.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=1.0)
    with pytest.raises(NotImplementedError, match="invert"):
        L.Normalization(invert=True)


# Embedding and two inputs --------------------------------------------------------------------
def _tabular(n=400, seed=6):
    r = _rng(seed)
    num = r.normal(size=(n, 3))
    cat = r.integers(0, 5, (n, 1))
    effect = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    y = ((num[:, 0] + effect[cat[:, 0]]) > 0).astype(float)
    return num, cat.astype(float), y


def _two_input_model():
    num_in, cat_in = en.Input((3,), name="numeric"), en.Input((1,), name="category")
    hidden = L.Dense(4, activation="relu")(num_in)
    emb = L.Flatten()(L.Embedding(5, 2)(cat_in))
    h = L.Concatenate()([hidden, emb])
    return en.Model([num_in, cat_in], L.Dense(1, activation="sigmoid")(h))


def test_embedding_concatenate_two_input_model_step_matches_numpy_and_learns(f64):
    num, cat, y = _tabular()
    model = _two_input_model()
    assert model.input_shape == [(None, 3), (None, 1)]
    assert [type(lyr).__name__ for lyr in model.layers].count("InputLayer") == 2
    W1, b1, E, W2, b2 = model.get_weights()
    assert E.shape == (5, 2)
    x, c, t = num[:8], cat[:8].astype(int)[:, 0], y[:8, None]
    h1 = np.maximum(x @ W1 + b1, 0)
    h = np.hstack([h1, E[c]])
    p = 1 / (1 + np.exp(-(h @ W2 + b2)))
    np.testing.assert_allclose(model.predict([x, cat[:8]], verbose=0), p, rtol=1e-10)
    dz = (p - t) / len(t)  # sigmoid + binary cross-entropy
    dh = dz @ W2.T
    dz1 = dh[:, :4] * (h1 > 0)
    dE = np.zeros_like(E)
    np.add.at(dE, c, dh[:, 4:])
    grads = [x.T @ dz1, dz1.sum(0), dE, h.T @ dz, dz.sum(0)]
    before, after = _sgd_step(
        model, {"numeric": x, "category": cat[:8]}, t, lr=0.5, loss="binary_crossentropy"
    )
    for k in range(5):
        np.testing.assert_allclose(after[k], before[k] - 0.5 * grads[k], rtol=1e-9, atol=1e-12)
    model.compile(
        optimizer=en.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"]
    )
    h = model.fit([num, cat], y, epochs=60, batch_size=32, verbose=0)
    assert h.history["accuracy"][-1] > 0.95
    with pytest.raises(ValueError, match=r"integer indices in \[0, 5\)"):
        model.predict([num[:2], np.array([[1.0], [5.0]])], verbose=0)
    with pytest.raises(ValueError, match="2 inputs"):
        model.predict(num, verbose=0)


# Residual, shared layers, two outputs -------------------------------------------------------
def test_layer_shared_twice_has_one_weight_set_and_summed_gradients(f64):
    r = _rng(7)
    x, t = r.normal(size=(6, 3)), r.normal(size=(6, 1))
    shared = L.Dense(3, activation="tanh")
    inp = en.Input((3,))
    model = en.Model(inp, L.Dense(1)(shared(shared(inp))))
    assert model.count_params() == 12 + 4  # Keras: one weight set
    W, b, V, c = model.get_weights()
    h1 = np.tanh(x @ W + b)
    h2 = np.tanh(h1 @ W + b)
    out = h2 @ V + c
    dout = 2 * (out - t) / len(t)
    dz2 = (dout @ V.T) * (1 - h2**2)
    dz1 = (dz2 @ W.T) * (1 - h1**2)
    grads = [x.T @ dz1 + h1.T @ dz2, dz1.sum(0) + dz2.sum(0), h2.T @ dout, dout.sum(0)]
    before, after = _sgd_step(model, x, t, lr=0.2)
    for k in range(4):
        np.testing.assert_allclose(after[k], before[k] - 0.2 * grads[k], rtol=1e-10, atol=1e-13)


def test_residual_add(f64):
    r = _rng(8)
    x, t = r.normal(size=(5, 3)), r.normal(size=(5, 3))
    inp = en.Input((3,))
    inner = L.Dense(3, activation="tanh")
    model = en.Model(inp, L.Add()([inp, inner(inp)]))
    W, b = model.get_weights()
    out = x + np.tanh(x @ W + b)
    np.testing.assert_allclose(model.predict(x, verbose=0), out, rtol=1e-12)
    dz = 2 * (out - t) / out.size * (1 - np.tanh(x @ W + b) ** 2)
    before, after = _sgd_step(model, x, t, lr=0.3)
    np.testing.assert_allclose(after[0], before[0] - 0.3 * x.T @ dz, rtol=1e-10)


def test_two_outputs_with_loss_weights_report_keras_logs(f64):
    r = _rng(9)
    x = r.normal(size=(8, 3))
    inp = en.Input((3,))
    h = L.Dense(4, activation="tanh")(inp)
    cls = L.Dense(3, activation="softmax", name="cls")(h)
    reg = L.Dense(1, name="reg")(h)
    model = en.Model(inp, [cls, reg])
    labels, target = r.integers(0, 3, 8), r.normal(size=(8, 1))
    model.compile(
        optimizer=en.optimizers.SGD(0.1),
        loss=["sparse_categorical_crossentropy", "mse"],
        loss_weights={"cls": 0.3, "reg": 2.0},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
    )
    p, q = model.predict(x, verbose=0)
    ce = -np.log(p[np.arange(8), labels]).mean()
    mse, mae = ((q - target) ** 2).mean(), np.abs(q - target).mean()
    logs = model.evaluate(x, [labels, target], verbose=0, return_dict=True)
    assert set(logs) == {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"}
    np.testing.assert_allclose(logs["cls_loss"], ce, rtol=1e-10)
    np.testing.assert_allclose(logs["reg_loss"], mse, rtol=1e-10)
    np.testing.assert_allclose(logs["reg_mae"], mae, rtol=1e-10)
    np.testing.assert_allclose(logs["loss"], 0.3 * ce + 2.0 * mse, rtol=1e-10)
    h = model.fit(x, {"cls": labels, "reg": target}, epochs=2, verbose=0)
    assert set(h.history) == set(logs)
    with pytest.raises(ValueError, match="as many entries as the model has outputs"):
        model.compile(loss=["mse"])
    with pytest.raises(ValueError, match="does not correspond to any model output"):
        model.compile(loss={"cls": "mse", "nope": "mse"})


def test_a_layer_shared_by_two_models_keeps_one_set_of_weights():
    shared = L.Dense(2)
    a = en.Sequential([en.Input((3,)), shared])
    inp = en.Input((3,))
    b = en.Model(inp, L.Dense(1)(shared(inp)))
    x = np.ones((4, 3), np.float32)
    b.compile("sgd", "mse")
    b.fit(x, np.ones((4, 1)), epochs=3, verbose=0)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
    np.testing.assert_allclose(a.predict(x, verbose=0), x @ shared.kernel.numpy() + shared.bias)
    a.set_weights([np.zeros((3, 2)), np.ones(2)])
    np.testing.assert_array_equal(shared.kernel.numpy(), np.zeros((3, 2)))
    np.testing.assert_array_equal(b.get_weights()[1], np.ones(2))


# trainable -----------------------------------------------------------------------------------
def test_trainable_false_freezes_through_fit_and_counts_in_summary():
    frozen = L.Dense(3, trainable=False)
    model = en.Sequential([en.Input((4,)), frozen, L.Dense(1)])
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert " Trainable params: 4 (16.00 B)" in lines
    assert " Non-trainable params: 15 (60.00 B)" in lines
    x, y = np.random.rand(16, 4).astype("float32"), np.random.rand(16, 1)
    model.compile("adam", "mse")
    before = model.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[2], before[2])
    # Keras: a change of trainable takes effect at the next compile.
    frozen.trainable = True
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], before[0])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], before[0])
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4


# Training flags, structure changes -----------------------------------------------------------
def test_dropout_training_true_eagerly_and_in_a_functional_model():
    x = np.ones((4, 200), np.float32)
    out = L.Dropout(0.5)(x, training=True)
    assert set(np.unique(out)) == {0.0, 2.0}
    np.testing.assert_array_equal(L.Dropout(0.5)(x), x)
    inp = en.Input((200,))
    model = en.Model(inp, L.Dropout(0.5)(inp, training=True))
    a, b = model.predict(x, verbose=0), model.predict(x, verbose=0)
    assert set(np.unique(a)) == {0.0, 2.0} and not np.array_equal(a, b)


def test_changing_structure_during_fit_raises():
    model = en.Sequential([en.Input((2,)), L.Dense(3), L.Dense(1)])
    model.compile("sgd", "mse")

    class Grow(en.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.add(L.Dense(1))

    with pytest.raises(RuntimeError, match="being trained by fit"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[Grow()])
    assert len(model.layers) == 2
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0)


def test_nested_sequential_inside_a_functional_model(f64):
    inner = en.Sequential([en.Input((3,)), L.Dense(4, activation="relu"), L.Dense(2)])
    inp = en.Input((3,))
    model = en.Model(inp, L.Dense(1)(inner(inp)))
    assert model.layers[1] is inner and model.count_params() == 16 + 10 + 3
    x = _rng(10).normal(size=(5, 3))
    W1, b1, W2, b2, V, c = model.get_weights()
    expected = (np.maximum(x @ W1 + b1, 0) @ W2 + b2) @ V + c
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-12)
    np.testing.assert_allclose(inner.predict(x, verbose=0), np.maximum(x @ W1 + b1, 0) @ W2 + b2)


def test_noise_layers_are_identities_at_inference():
    x = np.full((400, 50), 2.0, np.float32)
    for layer in (L.GaussianNoise(0.5), L.GaussianDropout(0.2)):
        np.testing.assert_array_equal(layer(x), x)
        noisy = layer(x, training=True)
        assert abs(noisy.mean() - 2.0) < 0.02 and noisy.std() > 0.4


# Files ---------------------------------------------------------------------------------------
def _everything_model():
    num_in, cat_in = en.Input((4,), name="num"), en.Input((1,), name="cat")
    norm = L.Normalization()
    norm.adapt(np.random.rand(20, 4) * 3)
    shared = L.Dense(6, activation="relu")
    h0 = L.Dense(6)(L.BatchNormalization()(norm(num_in)))
    h = L.Add()([shared(h0), shared(L.LayerNormalization()(h0))])
    emb = L.Flatten()(L.Embedding(7, 3)(cat_in))
    h = L.Concatenate()([h, emb, L.Dense(2, trainable=False)(h)])
    out_a = L.Dense(3, activation="softmax", name="a")(L.Dropout(0.2)(h))
    out_b = L.Dense(1, name="b")(L.GaussianNoise(0.1)(h))
    return en.Model({"num": num_in, "cat": cat_in}, {"a": out_a, "b": out_b})


def test_graph_model_save_load_and_pickle_round_trip(tmp_path):
    model = _everything_model()
    model.compile(
        "adam",
        {"a": "sparse_categorical_crossentropy", "b": "mse"},
        loss_weights={"a": 1.0, "b": 0.5},
        metrics={"a": ["accuracy"]},
    )
    r = _rng(11)
    x = {"num": r.random((32, 4)), "cat": r.integers(0, 7, (32, 1)).astype(float)}
    y = {"a": r.integers(0, 3, 32), "b": r.random((32, 1))}
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    for loaded in (en.models.load_model(path), pickle.loads(pickle.dumps(model))):
        for want, got in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(want, got)
        pa, pb = model.predict(x, verbose=0).values()
        qa, qb = loaded.predict(x, verbose=0).values()
        np.testing.assert_array_equal(pa, qa)
        np.testing.assert_array_equal(pb, qb)
        assert len(loaded.non_trainable_weights) == len(model.non_trainable_weights)
        assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
        # Training resumes with the optimizer state: the next epoch matches.
        model_copy = pickle.loads(pickle.dumps(model))
        model_copy.fit(x, y, epochs=1, shuffle=False, verbose=0)
        loaded.fit(x, y, epochs=1, shuffle=False, verbose=0)
        for want, got in zip(model_copy.get_weights(), loaded.get_weights()):
            np.testing.assert_allclose(want, got, rtol=1e-6)


def test_a_file_from_the_previous_format_still_loads():
    model = en.models.load_model(DATA / "format_v1.keras")
    x = np.linspace(-1, 1, 24).reshape(8, 3).astype("float32")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), np.load(DATA / "format_v1_predict.npy"), rtol=1e-6
    )
    assert model.compiled and [type(lyr).__name__ for lyr in model.layers] == [
        "Dense",
        "Dropout",
        "Dense",
    ]
    model.fit(x, (x.sum(1) > 0).astype("float32"), epochs=1, verbose=0)


def test_maximum_and_minimum_forward_and_step(f64):
    r = _rng(12)
    x, t = r.normal(size=(6, 3)), r.normal(size=(6, 2))
    inp = en.Input((3,))
    a, b = L.Dense(2)(inp), L.Dense(2)(inp)
    model = en.Model(inp, L.Subtract()([L.Maximum()([a, b]), L.Minimum()([a, b])]))
    Wa, ba, Wb, bb = model.get_weights()
    za, zb = x @ Wa + ba, x @ Wb + bb
    out = np.maximum(za, zb) - np.minimum(za, zb)  # |za - zb|
    np.testing.assert_allclose(model.predict(x, verbose=0), out, rtol=1e-12)
    dout = 2 * (out - t) / out.size
    sign = np.where(za >= zb, 1.0, -1.0)
    before, after = _sgd_step(model, x, t, lr=0.1)
    np.testing.assert_allclose(after[0], before[0] - 0.1 * x.T @ (dout * sign), rtol=1e-10)
    np.testing.assert_allclose(after[2], before[2] + 0.1 * x.T @ (dout * sign), rtol=1e-10)


def test_training_keeps_its_weights_when_a_batch_callback_uses_a_shared_layer_elsewhere():
    shared = L.Dense(3)
    trained = en.Sequential([en.Input((2,)), shared, L.Dense(1)])
    other = en.Sequential([en.Input((2,)), shared])
    trained.compile(en.optimizers.SGD(0.1), "mse")
    x, y = np.random.rand(32, 2).astype("float32"), np.random.rand(32, 1)

    class UseElsewhere(en.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            other.predict(x[:1], verbose=0)  # moves the shared layer's home mid-epoch

    reference = en.models.clone_model(trained)
    reference.set_weights(trained.get_weights())
    reference.compile(en.optimizers.SGD(0.1), "mse")
    trained.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[UseElsewhere()])
    reference.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(trained.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(other.get_weights()[0], trained.get_weights()[0])
