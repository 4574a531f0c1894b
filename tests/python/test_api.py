"""The Keras-shaped contract: names, defaults, shapes and return types."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en


def test_version_and_config():
    assert isinstance(en.__version__, str) and en.__version__.count(".") == 2
    assert en.config.floatx() == "float32"
    en.config.set_floatx("float64")
    assert en.config.floatx() == "float64"
    en.config.set_num_threads(2)
    assert en.config.num_threads() == 2
    assert en.config.device() == "cpu"
    if not en.config.cuda_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            en.config.set_device("cuda")
    en.config.set_device("cpu")


def test_functional_model_shapes_and_layers():
    x = en.Input(shape=(5,))
    assert x.shape == (None, 5)
    h = en.layers.Dense(7, activation="relu")(x)
    assert h.shape == (None, 7)
    y = en.layers.Dense(2)(h)
    model = en.Model(inputs=x, outputs=y)
    assert type(model.layers[0]).__name__ == "InputLayer"
    dense = model.layers[1]
    assert dense.kernel.shape == (5, 7) and dense.bias.shape == (7,)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(5, 7), (7,), (7, 2), (2,)]
    assert model.count_params() == 5 * 7 + 7 + 7 * 2 + 2
    out = model(np.ones((3, 5), dtype=np.float32))
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    assert model.input_shape == (None, 5) and model.output_shape == (None, 2)
    positional = en.Model(x, y)
    assert positional.count_params() == model.count_params()


def test_forward_matches_numpy(device):
    model = en.Sequential(
        [
            en.Input((4,)),
            en.layers.Dense(3, activation="tanh"),
            en.layers.Dense(2, activation="softmax"),
        ]
    )
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    k1, b1, k2, b2 = model.get_weights()
    h = np.tanh(x @ k1 + b1)
    z = h @ k2 + b2
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_sequential_builds_on_first_data_and_add():
    model = en.Sequential()
    model.add(en.layers.Dense(4, activation="relu"))
    model.add(en.layers.Dense(1))
    assert model.get_weights() == []
    with pytest.raises(ValueError, match="not yet been built"):
        model.count_params()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), verbose=0)
    assert model.get_weights()[0].shape == (3, 4)
    kernel = model.get_weights()[0]
    model.add(en.layers.Dense(2))
    np.testing.assert_array_equal(model.get_weights()[0], kernel)  # existing weights kept
    assert model.output_shape == (None, 2)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense", "Dense"]
    popped = model.pop()
    assert popped.units == 2 and model.output_shape == (None, 1)


def test_input_shape_keyword_on_first_layer():
    model = en.Sequential([en.layers.Dense(3, input_shape=(4,)), en.layers.Dense(1)])
    assert model.built and model.input_shape == (None, 4)


def test_layer_weights_are_variables_and_settable(device):
    # Keras 3: layer.kernel is a variable; numpy() and get_weights() give copies.
    model = en.Sequential([en.Input((2,)), en.layers.Dense(3)])
    layer = model.layers[0]
    k = layer.kernel.numpy()
    k[:] = 99
    assert not np.any(layer.kernel.numpy() == 99)
    assert layer.kernel.shape == (2, 3) and layer.kernel.path == f"{layer.name}/kernel"
    layer.set_weights([np.full((2, 3), 0.5), np.arange(3.0)])
    np.testing.assert_array_equal(layer.get_weights()[1], [0, 1, 2])
    np.testing.assert_allclose(model.predict(np.ones((1, 2)), verbose=0), [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="shape"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    # Keras's sentences.
    with pytest.raises(ValueError, match=r"weight shape \(2, 3\) is not compatible with provided"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="length 1, but the layer was expecting 2 weights"):
        layer.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match="length 1, but the layer was expecting 2 weights"):
        model.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"weight shape \(3,\) is not compatible"):
        model.set_weights([np.zeros((2, 3)), np.zeros(4)])


def test_layer_names_follow_keras():
    a, b = en.layers.Dense(1), en.layers.Dense(1)
    assert a.name.startswith("dense") and b.name != a.name
    assert en.layers.Dropout(0.1).name.startswith("dropout")
    assert en.layers.Dense(1, name="out").name == "out"


def test_eager_layer_call(device):
    layer = en.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    out = layer(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))
    np.testing.assert_allclose(out, [[6.0, 6.0]])
    np.testing.assert_allclose(layer(np.ones((1, 3), dtype=np.float32)), [[3.0, 3.0]])


def test_summary_layout():
    model = en.Sequential(
        [en.Input((784,)), en.layers.Dense(64, activation="relu"), en.layers.Dense(10)],
        name="mnist",
    )
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "mnist"'
    assert "Layer (type)" in lines[2] and "Output Shape" in lines[2] and "Param #" in lines[2]
    assert any("(None, 64)" in line and "50,240" in line for line in lines)
    assert lines[-3] == " Total params: 50,890 (198.79 KB)"


def test_initializers():
    model = en.Sequential(
        [
            en.Input((400,)),
            en.layers.Dense(
                300,
                kernel_initializer=en.initializers.RandomNormal(mean=1.0, stddev=2.0),
                bias_initializer="ones",
            ),
        ]
    )
    k, b = model.get_weights()
    assert abs(k.mean() - 1.0) < 0.02 and abs(k.std() - 2.0) < 0.02
    np.testing.assert_array_equal(b, 1.0)
    model = en.Sequential([en.Input((400,)), en.layers.Dense(300)])
    k = model.get_weights()[0]
    limit = np.sqrt(6 / 700)
    assert k.min() >= -limit and k.max() <= limit and k.max() > 0.95 * limit
    seeded = [
        en.Sequential(
            [
                en.Input((4,)),
                en.layers.Dense(3, kernel_initializer=en.initializers.HeNormal(seed=3)),
            ]
        ).get_weights()[0]
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*seeded)
    assert np.abs(seeded[0]).max() <= 2 * np.sqrt(2 / 4) / 0.87962566103423978 + 1e-6
    with pytest.raises(ValueError, match="Unknown initializer"):
        en.layers.Dense(2, kernel_initializer="nope")


def test_optimizer_defaults_follow_keras():
    sgd = en.optimizers.SGD()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    adam = en.optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    rms = en.optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon) == (0.001, 0.9, 0.0, 1e-7)
    ada = en.optimizers.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (0.001, 0.1, 1e-7)
    assert isinstance(en.optimizers.get("adam"), en.optimizers.Adam)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        en.optimizers.get("lbfgs")


def test_schedules():
    s = en.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(10) == pytest.approx(0.05) and s(5) == pytest.approx(0.1 * 0.5**0.5)
    st = en.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert st(9) == pytest.approx(0.1) and st(10) == pytest.approx(0.05)
    p = en.optimizers.schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [p(i) for i in (0, 2, 3, 5, 6)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    opt = en.optimizers.SGD(learning_rate=p)
    model = en.Sequential([en.Input((1,)), en.layers.Dense(1)])
    model.compile(optimizer=opt, loss="mse")
    model.fit(np.ones((4, 1)), np.ones((4, 1)), batch_size=1, epochs=1, verbose=0)
    assert opt.iterations == 4 and opt.learning_rate == 0.5
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.1


def test_loss_functions_are_per_sample():
    y_true = np.array([[0.0, 1.0], [1.0, 1.0]])
    y_pred = np.array([[1.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(en.losses.mean_squared_error(y_true, y_pred), [0.5, 0.5])
    np.testing.assert_allclose(en.losses.mae(y_true, y_pred), [0.5, 0.5])
    assert en.losses.MeanSquaredError()(y_true, y_pred) == pytest.approx(0.5)
    p = np.array([[0.2, 0.8]])
    np.testing.assert_allclose(en.losses.categorical_crossentropy([[0, 1]], p), [-np.log(0.8)])
    np.testing.assert_allclose(en.losses.sparse_categorical_crossentropy([1], p), [-np.log(0.8)])
    assert en.losses.BinaryCrossentropy(from_logits=True)([[1.0]], [[0.0]]) == pytest.approx(
        np.log(2)
    )
    with pytest.raises(ValueError, match="Unknown loss"):
        en.losses.get("sparse_categorical_focal_crossentropy")


@pytest.mark.parametrize(
    "loss, n_out, expected",
    [
        ("binary_crossentropy", 1, "binary_accuracy"),
        ("sparse_categorical_crossentropy", 3, "sparse_categorical_accuracy"),
        ("categorical_crossentropy", 3, "categorical_accuracy"),
        ("mse", 1, "binary_accuracy"),
    ],
)
def test_accuracy_resolves_like_keras(loss, n_out, expected):
    name, metric = en.metrics.resolve("accuracy", en.losses.get(loss).core_name, n_out)
    assert (name, metric.name, metric._core_kind) == ("accuracy", "accuracy", expected)


def test_evaluate_and_batch_methods_return_types(device):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=(10, 1)).astype(np.float32)
    model = en.Sequential([en.Input((3,)), en.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "mse"])
    r = model.evaluate(x, y, verbose=0)
    assert isinstance(r, list) and len(r) == 3
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(d) == {"loss", "accuracy", "mse"}
    pred = model.predict(x, verbose=0)
    assert abs(d["accuracy"] - np.mean((pred > 0.5) == y)) < 1e-6
    assert abs(d["mse"] - np.mean((pred - y) ** 2)) < 1e-6
    before = model.test_on_batch(x, y)
    trained = model.train_on_batch(x, y)
    assert before[0] == pytest.approx(trained[0])  # loss before the update
    assert model.test_on_batch(x, y)[0] < before[0]
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, verbose=0))


def test_progress_output_modes(capsys):
    model = en.Sequential([en.Input((2,)), en.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((64, 2)), np.ones((64, 1))
    model.fit(x, y, epochs=2, verbose="auto")  # stdout is not a terminal here: one line/epoch
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out
    lines = out.strip().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("2/2 - ") and "loss:" in lines[1]
    assert len(lines) == 4
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_regularizer_adds_penalty_to_loss(device):
    model = en.Sequential(
        [
            en.Input((2,)),
            en.layers.Dense(
                1,
                use_bias=False,
                kernel_initializer="ones",
                kernel_regularizer=en.regularizers.L1L2(l1=0.1, l2=0.2),
            ),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((3, 2)), np.zeros((3, 1))
    # mse is 0; penalty = 0.1 * 2 + 0.2 * 2.
    assert model.evaluate(x, y, verbose=0) == pytest.approx(0.6, rel=1e-6)
    assert en.regularizers.L2()(np.ones(3)) == pytest.approx(0.03)


def test_flatten_for_image_inputs(device, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((60, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 3, size=60)
    model = en.Sequential(
        [en.layers.Flatten(input_shape=(8, 8)), en.layers.Dense(3, activation="softmax")]
    )
    assert model.input_shape == (None, 8, 8) and model.count_params() == 64 * 3 + 3
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=1, verbose=0)
    kernel, bias = model.get_weights()
    z = images.reshape(60, 64) @ kernel + bias
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(n, 8, 8\)"):
        model.predict(images.reshape(60, 64), verbose=0)
    with pytest.raises(ValueError, match="Flatten"):
        en.Sequential([en.Input((8, 8)), en.layers.Dense(3)])
    inputs = en.Input((8, 8))
    functional = en.Model(inputs, en.layers.Dense(2)(en.layers.Flatten()(inputs)))
    assert functional(images).shape == (60, 2)
    model.save(tmp_path / "m.keras")
    restored = en.models.load_model(tmp_path / "m.keras")
    assert restored.input_shape == (None, 8, 8)
    np.testing.assert_array_equal(
        restored.predict(images, verbose=0), model.predict(images, verbose=0)
    )


def test_to_categorical():
    np.testing.assert_array_equal(
        en.utils.to_categorical([0, 2, 1]), [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    )
    assert en.utils.to_categorical(np.array([[1], [3]]), num_classes=5).shape == (2, 5)
    with pytest.raises(ValueError, match="num_classes=2"):
        en.utils.to_categorical([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="integer"):
        en.utils.to_categorical([0.5])
