"""GradientTape, optimizers by hand and train_step: gradients against finite differences, tape
loops against fit's own steps, and the errors of what the tape cannot follow."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en
from eigennet import layers as L

pytestmark = pytest.mark.usefixtures("device")


@pytest.fixture
def f64():
    en.config.set_floatx("float64")
    yield
    en.config.set_floatx("float32")


def _loss_at(model, loss, x, y, training):
    return float(loss(y, np.asarray(model(x, training=training))))


def _fd_check(model, loss, x, y, training=True, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Tape gradients of every trainable weight against central differences."""
    with en.GradientTape() as tape:
        value = loss(y, model(x, training=training))
    grads = tape.gradient(value, model.trainable_weights)
    assert abs(float(value) - _loss_at(model, loss, x, y, training)) < 1e-9
    for v, g in zip(model.trainable_weights, grads):
        base = v.numpy()
        fd = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            w = base.copy()
            w[i] += eps
            v.assign(w)
            up = _loss_at(model, loss, x, y, training)
            w[i] -= 2 * eps
            v.assign(w)
            fd[i] = (up - _loss_at(model, loss, x, y, training)) / (2 * eps)
            v.assign(base)
        np.testing.assert_allclose(g, fd, rtol=rtol, atol=atol, err_msg=v.path)


def _dense_graph(body, n_in=4):
    inp = en.Input((n_in,))
    return en.Model(inp, L.Dense(2)(body(L.Dense(3, activation="tanh")(inp))))


LAYER_BODIES = {
    "dense": lambda h: L.Dense(3, activation="sigmoid", kernel_regularizer="l2")(h),
    "activation": lambda h: L.Activation("relu")(L.Dense(3)(h)),
    "identity": lambda h: L.Flatten()(L.Reshape((3, 1))(h)),
    "add": lambda h: L.Add()([h, L.Dense(3)(h)]),
    "subtract": lambda h: L.Subtract()([h, L.Dense(3)(h)]),
    "multiply": lambda h: L.Multiply()([h, L.Dense(3)(h)]),
    "average": lambda h: L.Average()([h, L.Dense(3)(h)]),
    "maximum": lambda h: L.Maximum()([h, L.Dense(3)(h)]),
    "minimum": lambda h: L.Minimum()([h, L.Dense(3)(h)]),
    "concatenate": lambda h: L.Concatenate()([h, L.Dense(2)(h)]),
    "batch_normalization": lambda h: L.BatchNormalization()(h),
    "layer_normalization": lambda h: L.LayerNormalization()(h),
}


@pytest.mark.parametrize("kind", sorted(LAYER_BODIES))
def test_layer_gradients_match_finite_differences(f64, kind):
    en.utils.set_random_seed(3)
    model = _dense_graph(LAYER_BODIES[kind])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 4)), rng.normal(size=(7, 2))
    _fd_check(model, en.losses.MeanSquaredError(), x, y)


def test_shared_layer_gradient_sums_its_applications(f64):
    en.utils.set_random_seed(4)
    inp = en.Input((3,))
    shared = L.Dense(3, activation="tanh")
    model = en.Model(inp, L.Dense(1)(shared(shared(inp))))
    rng = np.random.default_rng(1)
    _fd_check(model, en.losses.MeanSquaredError(), rng.normal(size=(5, 3)), rng.normal(size=(5, 1)))


def test_embedding_and_normalization_gradients(f64):
    en.utils.set_random_seed(5)
    rng = np.random.default_rng(2)
    idx = rng.integers(0, 6, size=(9, 2)).astype(float)
    num = rng.normal(size=(9, 3))
    cat_in, num_in = en.Input((2,)), en.Input((3,))
    norm = L.Normalization()
    norm.adapt(num)
    h = L.Concatenate()([L.Flatten()(L.Embedding(6, 2)(cat_in)), norm(num_in)])
    model = en.Model([cat_in, num_in], L.Dense(1)(h))
    _fd_check(model, en.losses.MeanSquaredError(), [idx, num], rng.normal(size=(9, 1)))


LOSS_CASES = [
    ("mse", None, en.losses.MeanSquaredError()),
    ("mae", None, en.losses.MeanAbsoluteError()),
    ("bce", "sigmoid", en.losses.BinaryCrossentropy()),
    ("bce_logits", None, en.losses.BinaryCrossentropy(from_logits=True)),
    ("cce", "softmax", en.losses.CategoricalCrossentropy()),
    ("cce_logits", None, en.losses.CategoricalCrossentropy(from_logits=True)),
    ("scce", "softmax", en.losses.SparseCategoricalCrossentropy()),
    ("scce_logits", None, en.losses.SparseCategoricalCrossentropy(from_logits=True)),
]


@pytest.mark.parametrize("name,act,loss", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_gradients_match_finite_differences(f64, name, act, loss):
    en.utils.set_random_seed(6)
    model = en.Sequential(
        [en.Input((4,)), L.Dense(5, activation="tanh"), L.Dense(3, activation=act)]
    )
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4))
    labels = rng.integers(0, 3, size=8)
    if name.startswith("scce"):
        y = labels
    elif name.startswith("cce"):
        y = np.eye(3)[labels]
    elif name.startswith("bce"):
        y = rng.integers(0, 2, size=(8, 3)).astype(float)
    else:
        y = rng.normal(size=(8, 3))
    _fd_check(model, loss, x, y)


def test_loss_functions_reduced_and_sample_weighted(f64):
    en.utils.set_random_seed(7)
    model = en.Sequential([en.Input((3,)), L.Dense(2)])
    rng = np.random.default_rng(4)
    x, y, w = rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), rng.uniform(0.5, 2, size=6)
    with en.GradientTape(persistent=True) as tape:
        out = model(x)
        by_object = en.losses.MeanSquaredError()(y, out, sample_weight=w)
        by_function = np.mean(en.losses.mean_squared_error(y, out) * w)
        summed = en.losses.mse(y, out).sum()
    g1 = tape.gradient(by_object, model.trainable_weights)
    g2 = tape.gradient(by_function, model.trainable_weights)
    g3 = tape.gradient(summed, model.trainable_weights)
    kernel, bias = model.get_weights()
    dy = 2 * (x @ kernel + bias - y) / 2  # d/d(out) of the per-sample mean over 2 outputs
    np.testing.assert_allclose(g1[0], x.T @ (dy * w[:, None]) / 6, rtol=1e-12)
    np.testing.assert_allclose(g2[1], (dy * w[:, None]).sum(0) / 6, rtol=1e-12)
    np.testing.assert_allclose(g3[0], x.T @ dy, rtol=1e-12)
    assert float(by_object) == pytest.approx(np.mean(np.mean((x @ kernel + bias - y) ** 2, 1) * w))


def test_input_gradients_saliency(f64):
    en.utils.set_random_seed(8)
    model = en.Sequential([en.Input((4,)), L.Dense(3, activation="tanh"), L.Dense(1)])
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4))
    with en.GradientTape() as tape:
        tape.watch(x)
        out = model(x)
    dx = tape.gradient(out, x)  # of sum(out), as in TensorFlow
    fd = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += 1e-6
        xm[i] -= 1e-6
        fd[i] = (model.predict_on_batch(xp).sum() - model.predict_on_batch(xm).sum()) / 2e-6
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-9)


def test_dropout_gradient_uses_the_recorded_mask(f64):
    en.utils.set_random_seed(9)
    layer = L.Dropout(0.5)
    x = np.random.default_rng(6).uniform(1, 2, size=(4, 50))
    with en.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x, training=True)
    dx = tape.gradient(y, x)
    np.testing.assert_array_equal(dx, np.asarray(y) / x)
    layer(x, training=True)  # another pass overwrites the activations: the tape replays
    np.testing.assert_array_equal(tape.gradient(y, x), dx)


@pytest.mark.parametrize(
    "layer,expected",
    [
        (lambda: L.GaussianNoise(0.5), lambda x, y: np.ones_like(x)),  # y = x + noise
        (lambda: L.GaussianDropout(0.3), lambda x, y: np.asarray(y) / x),  # y = x * noise
    ],
    ids=["gaussian_noise", "gaussian_dropout"],
)
def test_noise_layer_gradients_use_the_recorded_noise(f64, layer, expected):
    en.utils.set_random_seed(10)
    lyr = layer()
    x = np.random.default_rng(6).uniform(1, 2, size=(5, 8))
    with en.GradientTape() as tape:
        tape.watch(x)
        y = lyr(x, training=True)
    assert not np.array_equal(np.asarray(y), x)
    np.testing.assert_allclose(tape.gradient(y, x), expected(x, y), rtol=1e-12)


def _twin_models(seed, body=None, dropout=False, regularized=False):
    def make():
        en.utils.set_random_seed(seed)
        reg = "l2" if regularized else None
        layers_ = [en.Input((5,)), L.Dense(8, activation="relu", kernel_regularizer=reg)]
        if dropout:
            layers_.append(L.Dropout(0.3))
        layers_ += [L.Dense(3, activation="softmax")]
        return en.Sequential(layers_)

    return make(), make()


OPTIMIZERS = [
    lambda: en.optimizers.SGD(0.1),
    lambda: en.optimizers.SGD(0.1, momentum=0.9),
    lambda: en.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: en.optimizers.Adam(0.01),
    lambda: en.optimizers.Adam(en.optimizers.schedules.ExponentialDecay(0.01, 2, 0.5)),
    lambda: en.optimizers.RMSprop(0.01, momentum=0.5),
    lambda: en.optimizers.Adagrad(0.1),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("k", range(len(OPTIMIZERS)))
def test_tape_steps_equal_train_on_batch(dtype, k):
    en.config.set_floatx(dtype)
    try:
        fitted, looped = _twin_models(11, dropout=True, regularized=True)
        fitted.compile(optimizer=OPTIMIZERS[k](), loss="categorical_crossentropy")
        opt = OPTIMIZERS[k]()
        loss_fn = en.losses.CategoricalCrossentropy()
        rng = np.random.default_rng(7)
        for _ in range(5):
            x = rng.normal(size=(16, 5)).astype(dtype)
            y = np.eye(3, dtype=dtype)[rng.integers(0, 3, size=16)]
            w = rng.uniform(0.5, 1.5, size=16).astype(dtype)
            fitted.train_on_batch(x, y, sample_weight=w)
            with en.GradientTape() as tape:
                probs = looped(x, training=True)
                loss = loss_fn(y, probs, sample_weight=w) + sum(looped.losses)
            grads = tape.gradient(loss, looped.trainable_weights)
            opt.apply_gradients(zip(grads, looped.trainable_weights))
        assert opt.iterations == 5
        for a, b in zip(fitted.get_weights(), looped.get_weights()):
            if dtype == "float64":
                np.testing.assert_array_equal(a, b)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    finally:
        en.config.set_floatx("float32")


def test_multi_output_loss_weights_equal_fit(f64):
    def make():
        en.utils.set_random_seed(12)
        inp = en.Input((4,))
        h = L.Dense(6, activation="tanh")(inp)
        return en.Model(
            inp, [L.Dense(2, name="reg")(h), L.Dense(1, activation="sigmoid", name="cls")(h)]
        )

    fitted, looped = make(), make()
    fitted.compile(
        optimizer=en.optimizers.SGD(0.1),
        loss=["mse", "binary_crossentropy"],
        loss_weights=[1.0, 0.5],
    )
    opt = en.optimizers.SGD(0.1)
    rng = np.random.default_rng(8)
    for _ in range(3):
        x, y1 = rng.normal(size=(10, 4)), rng.normal(size=(10, 2))
        y2 = rng.integers(0, 2, size=(10, 1)).astype(float)
        fitted.train_on_batch(x, [y1, y2])
        with en.GradientTape() as tape:
            reg, cls = looped(x, training=True)
            loss = en.losses.mse(y1, reg).mean() + 0.5 * en.losses.BinaryCrossentropy()(y2, cls)
        opt.apply(tape.gradient(loss, looped.trainable_weights), looped.trainable_weights)
    for a, b in zip(fitted.get_weights(), looped.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_output_gradients_equal_the_loss_path(f64):
    en.utils.set_random_seed(13)
    model = en.Sequential([en.Input((4,)), L.Dense(5, activation="tanh"), L.Dense(2)])
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    with en.GradientTape(persistent=True) as tape:
        out = model(x, training=True)
        loss = en.losses.MeanSquaredError()(y, out)
    by_loss = tape.gradient(loss, model.trainable_weights)
    dl_dy = 2 * (np.asarray(out) - y) / out.size  # the loss's own gradient, written in NumPy
    by_vjp = tape.gradient(out, model.trainable_weights, output_gradients=dl_dy)
    for a, b in zip(by_loss, by_vjp):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_by_hand_update_equals_sgd(f64):
    fitted, looped = _twin_models(14)
    fitted.compile(optimizer=en.optimizers.SGD(0.05), loss="categorical_crossentropy")
    rng = np.random.default_rng(10)
    for _ in range(4):
        x = rng.normal(size=(12, 5))
        y = np.eye(3)[rng.integers(0, 3, size=12)]
        fitted.train_on_batch(x, y)
        with en.GradientTape() as tape:
            loss = en.losses.categorical_crossentropy(y, looped(x, training=True)).mean()
        for v, g in zip(looped.trainable_weights, tape.gradient(loss, looped.trainable_weights)):
            v.assign(v - 0.05 * g)  # W <- W - eta dJ/dW
    for a, b in zip(fitted.get_weights(), looped.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_errors_name_what_is_wrong():
    en.utils.set_random_seed(15)
    model = en.Sequential([en.Input((3,)), L.Dense(2)])
    other = en.Sequential([en.Input((3,)), L.Dense(2)])
    other.build((None, 3))
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    with en.GradientTape(persistent=True) as tape:
        out = model(x)
        numpy_loss = np.mean((out - y) ** 2)
        loss = en.losses.mse(y, out).mean()
    with pytest.raises(ValueError, match="NumPy's subtract.*output_gradients"):
        tape.gradient(np.mean((out - y) ** 2, axis=0), model.trainable_weights)
    with pytest.raises(ValueError, match="output_gradients"):
        tape.gradient(numpy_loss, model.trainable_weights)
    with pytest.raises(ValueError, match="does not depend on variable " + other.layers[0].name):
        tape.gradient(loss, other.trainable_weights)
    assert tape.gradient(loss, other.trainable_weights, unconnected_gradients="none") == [
        None,
        None,
    ]
    zeros = tape.gradient(loss, other.trainable_weights, unconnected_gradients="zero")
    assert [z.shape for z in zeros] == [(3, 2), (2,)] and not any(z.any() for z in zeros)
    with pytest.raises(ValueError, match="output_gradients must have the shape"):
        tape.gradient(out, model.trainable_weights, output_gradients=np.ones((4, 3)))
    with pytest.raises(TypeError, match="product of two losses"):
        loss * loss
    grads = tape.gradient(loss, model.trainable_weights)
    opt = en.optimizers.SGD()
    with pytest.raises(
        ValueError,
        match=r"gradient of .*kernel has shape \(2, 3\); the variable has shape \(3, 2\)",
    ):
        opt.apply_gradients(zip([grads[0].T, grads[1]], model.trainable_weights))
    with pytest.raises(ValueError, match="one gradient per variable"):
        opt.apply(grads[:1], model.trainable_weights)
    once = en.GradientTape()
    with once:
        loss2 = en.losses.mse(y, model(x)).mean()
    once.gradient(loss2, model.trainable_weights)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        once.gradient(loss2, model.trainable_weights)
    opt.apply_gradients(zip(grads, model.trainable_weights))
    with pytest.raises(RuntimeError, match="weights of this model changed"):
        tape.gradient(loss, model.trainable_weights)


def test_raw_core_refuses_bad_tape_arguments():
    en.utils.set_random_seed(16)
    model = en.Sequential([en.Input((3,)), L.Dense(2, activation="softmax")])
    model.build((None, 3))
    core = model._net.core
    with pytest.raises(ValueError, match="tape_forward first"):
        core.tape_gradient([], None, None, None, [], [True], False)
    core.tape_forward(np.ones((4, 3), "float32"), True)
    with pytest.raises(ValueError, match="out of range"):
        core.tape_gradient(
            [(3, "mean_squared_error", 1.0, 4.0, False)],
            np.ones((4, 2)),
            None,
            None,
            [],
            [True],
            False,
        )
    with pytest.raises(ValueError, match="Sparse labels"):
        core.tape_gradient(
            [(0, "sparse_categorical_crossentropy", 1.0, 4.0, False)],
            np.full((4, 1), 7.0),
            None,
            None,
            [],
            [True],
            False,
        )
    with pytest.raises(ValueError, match="4 rows"):
        core.tape_gradient(
            [(0, "mean_squared_error", 1.0, 4.0, False)],
            np.ones((5, 2)),
            None,
            None,
            [],
            [True],
            False,
        )
    with pytest.raises(ValueError, match="one flag per layer"):
        core.tape_gradient([], None, None, None, [], [True, False], False)
    with pytest.raises(ValueError, match="penalty|Penalty"):
        core.tape_gradient([], None, None, None, [(5, 1.0)], [True], False)
    # Activity terms name nodes with an activity regulariser (this model has none).
    assert core.activity_nodes == [] and core.activity_values().shape == (0,)
    for node in (0, 3, -1):
        with pytest.raises(ValueError, match="activity regulariser"):
            core.tape_gradient([], None, None, None, [], [True], False, [(node, 1.0)])
    with pytest.raises(ValueError, match="alpha has 3 weights, but the output has 2 classes"):
        core.tape_gradient(
            [
                (
                    0,
                    en._core.LossSpec("categorical_focal_crossentropy", class_alpha=[1, 2, 3]),
                    1.0,
                    4.0,
                    False,
                )
            ],
            np.ones((4, 2)),
            None,
            None,
            [],
            [True],
            False,
        )
    with pytest.raises(ValueError, match="alpha list"):
        en._core.LossSpec("mean_squared_error", class_alpha=[1.0])
    with pytest.raises(ValueError, match="not a range"):  # offset + size overflows int64
        core.apply_gradients(
            en.optimizers.SGD()._spec(),
            0,
            [(2**63 - 1, np.ones(30, "float32"), np.zeros(0, "float32"))],
        )
    with pytest.raises(ValueError, match="not a range"):
        core.apply_gradients(
            en.optimizers.SGD()._spec(), 0, [(7, np.ones(2, "float32"), np.zeros(0, "float32"))]
        )
    with pytest.raises(ValueError, match="slots must be"):
        core.apply_gradients(
            en.optimizers.Adam()._spec(), 0, [(0, np.ones(2, "float32"), np.zeros(3, "float32"))]
        )
    core.predict_array(np.ones((2, 3), "float32"), 2)
    with pytest.raises(ValueError, match="another forward pass"):
        core.tape_gradient([], None, None, None, [], [True], False)
    with pytest.raises(ValueError, match="another forward pass"):
        core.activity_values()


class _TapeModel(en.Model):
    """Keras's "customising what happens in fit", with the tape."""

    def train_step(self, data):
        x, y = data
        with en.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.steps_seen += 1
        return {"loss": float(loss), "twice": 2 * float(loss)}

    def test_step(self, data):
        x, y = data
        return {"loss": float(self.compute_loss(x, y, self(x)))}

    def predict_step(self, data):
        return 10 * np.asarray(self(data[0]))


def test_train_step_override_trains_as_fit_does(f64):
    def build(cls):
        en.utils.set_random_seed(17)
        inp = en.Input((4,))
        out = L.Dense(2)(L.Dense(6, activation="tanh", kernel_regularizer="l2")(inp))
        m = cls(inp, out)
        m.compile(optimizer=en.optimizers.Adam(0.01), loss="mse")
        return m

    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 2))
    plain, custom = build(en.Model), build(_TapeModel)
    custom.steps_seen = 0
    seen = []

    class Record(en.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, logs["loss"]))

    h1 = plain.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h2 = custom.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[Record()],
        validation_data=(x, y),
    )
    assert custom.steps_seen == 15 and [b for b, _ in seen] == list(range(5)) * 3
    for a, b in zip(plain.get_weights(), custom.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Keras logs an epoch with its last batch's values when train_step returns plain numbers.
    assert h2.history["loss"] == [seen[4][1], seen[9][1], seen[14][1]]
    assert h2.history["twice"] == [2 * v for v in h2.history["loss"]]
    assert len(h1.history["loss"]) == 3
    np.testing.assert_allclose(h2.history["val_loss"][-1], custom.evaluate(x, y, verbose=0))
    np.testing.assert_allclose(custom.predict(x, batch_size=7), 10 * plain.predict(x, verbose=0))


def test_input_gradients_of_a_two_input_model(f64):
    en.utils.set_random_seed(18)
    a_in, b_in = en.Input((3,), name="a"), en.Input((2,), name="b")
    h = L.Concatenate()([L.Dense(4, activation="tanh")(a_in), b_in])
    model = en.Model({"a": a_in, "b": b_in}, L.Dense(1)(h))
    rng = np.random.default_rng(12)
    a, b, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    loss_fn = en.losses.MeanSquaredError()
    with en.GradientTape() as tape:
        tape.watch([a, b])
        loss = loss_fn(y, model({"a": a, "b": b}))
    da, db = tape.gradient(loss, [a, b])
    for x, dx in ((a, da), (b, db)):
        fd = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            keep = x[i]
            x[i] = keep + 1e-6
            up = loss_fn(y, model.predict_on_batch({"a": a, "b": b}))
            x[i] = keep - 1e-6
            fd[i] = (up - loss_fn(y, model.predict_on_batch({"a": a, "b": b}))) / 2e-6
            x[i] = keep
        np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-9)


def test_replay_uses_the_recorded_input_even_if_the_array_changed(f64):
    en.utils.set_random_seed(19)
    model = en.Sequential([en.Input((3,)), L.Dense(2, activation="tanh")])
    x, y = np.random.default_rng(13).normal(size=(4, 3)), np.zeros((4, 2))
    with en.GradientTape(persistent=True) as tape:
        loss = en.losses.mse(y, model(x)).mean()
    want = tape.gradient(loss, model.trainable_weights)
    x[...] = 100.0  # the caller reuses its buffer
    model.predict_on_batch(x)  # and another pass overwrites the recorded activations
    for a, b in zip(tape.gradient(loss, model.trainable_weights), want):
        np.testing.assert_array_equal(a, b)


def test_watch_accessed_variables_false_follows_only_watched_variables(f64):
    en.utils.set_random_seed(20)
    model = en.Sequential([en.Input((3,)), L.Dense(2)])
    x, y = np.ones((4, 3)), np.zeros((4, 2))
    kernel, bias = model.trainable_weights
    with en.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(kernel)
        loss = en.losses.mse(y, model(x)).mean()
    g_kernel, g_bias = tape.gradient(loss, [kernel, bias], unconnected_gradients="none")
    assert g_kernel is not None and g_kernel.shape == (3, 2) and g_bias is None


def test_custom_loop_builds_the_optimizer_spec_once(monkeypatch):
    # The step's bookkeeping (plan, slots, iterations) keeps the cached spec: it is rebuilt when
    # a hyperparameter changes, not per batch.
    _, model = _twin_models(11, dropout=False, regularized=False)
    opt = en.optimizers.Adam(0.01)
    built = []
    new_spec = type(opt)._new_spec
    monkeypatch.setattr(type(opt), "_new_spec", lambda self: built.append(1) or new_spec(self))
    loss_fn = en.losses.CategoricalCrossentropy()
    rng = np.random.default_rng(2)

    def step():
        x = rng.normal(size=(8, 5)).astype(np.float32)
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=8)]
        with en.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply_gradients(
            zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights)
        )

    for _ in range(4):
        step()
    assert len(built) == 1
    opt.beta_1 = 0.5
    for _ in range(3):
        step()
    assert len(built) == 2 and opt.iterations == 7
